"""Who is calling: the one rule by which every wire (REST, the XML API, the UI link) finds a session.

A request may carry, in this order of preference: an explicit session id (the XML envelope's
`sessionId` attribute), the cookie `sessionId=<id>`, the newer cookie `session=<urlencoded JSON
{"username", "sessionId"}>`, or `Authorization: Basic`. A session that is not (or no longer) in the store
does not count.
"""

from __future__ import annotations

import json
import threading
from typing import Any, Dict, Optional
from urllib.parse import unquote

from .errors import CommanderError
from .model import Session, Store


def invalid_session() -> CommanderError:
    return CommanderError("InvalidSession", "No valid session: log in or send credentials")


def session_cookie_id(raw: Optional[str]) -> Optional[str]:
    """The sessionId inside the newer `session=<urlencoded JSON>` cookie; None when absent or unreadable."""
    if not raw:
        return None
    try:
        data = json.loads(unquote(raw))
    except ValueError:
        return None
    return str(data.get("sessionId")) if isinstance(data, dict) and data.get("sessionId") else None


class Authenticator:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._basic_sessions: Dict[str, str] = {}  # user name -> the session Basic auth reuses
        self._basic_lock = threading.Lock()

    def session_for(self, request: Any, explicit_id: Optional[str] = None) -> Optional[Session]:
        """The session of a werkzeug request (see the module docstring); None when it has no valid one."""
        for session_id in (explicit_id, request.cookies.get("sessionId"),
                           session_cookie_id(request.cookies.get("session"))):
            session = self.store.sessions.get(session_id) if session_id else None
            if session is not None:
                return session
        auth = request.authorization
        if auth is not None and auth.type == "basic":
            return self.basic(auth.username, auth.password)
        return None

    def basic(self, user_name: Optional[str], password: Optional[str]) -> Optional[Session]:
        """The session for a user name and password checked on every request, or None if they are wrong."""
        if user_name is None or password is None:
            return None
        if not self.store.check_password(user_name, password):
            return None
        # Reuse one session per user rather than growing the store by one per request.
        with self._basic_lock:
            known = self._basic_sessions.get(user_name)
            if known and known in self.store.sessions:
                return self.store.sessions[known]
            session = self.store.new_session(user_name)
            self._basic_sessions[user_name] = session.id
            return session

    def is_current(self, session: Optional[Session]) -> bool:
        """Whether a session may call: it exists and has not logged out."""
        return session is not None and session.id in self.store.sessions
