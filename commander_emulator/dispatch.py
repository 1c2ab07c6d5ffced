"""The one dispatcher: every API call of every wire (REST, XML, the UI link) goes through `Dispatcher.call`.

A call is an API name, a dict of arguments (strings, nested dicts, lists; bytes for an uploaded file)
and the caller's session, which the wire finds with `Dispatcher.authenticator`. The dispatcher applies
injected faults, looks the handler up in `HANDLERS`, checks the session, passes the arguments as the XML
wire would give them, counts the call in the request log, and guarantees that only `CommanderError`
leaves it (anything else becomes `InternalError`, with the traceback in the server log, never on the wire).
"""

from __future__ import annotations

import logging
import time
from typing import List, Optional

from .arguments import Args, normalize
from .authentication import Authenticator, invalid_session
from .engine import Engine
from .errors import CommanderError
from .faults import DroppedConnection, Fault, Faults, RequestLog
from .handlers import HANDLERS, NO_SESSION_APIS, Answer, Call
from .model import Session, Store

log = logging.getLogger("commander_emulator")


class Dispatcher:
    def __init__(self, store: Store, engine: Engine, faults: Faults, request_log: RequestLog,
                 plugins_root: str) -> None:
        self.store = store
        self.engine = engine
        self.faults = faults
        self.request_log = request_log
        self.plugins_root = plugins_root
        self.authenticator = Authenticator(store)

    def call(self, api: str, args: Optional[Args] = None, session: Optional[Session] = None,
             wire: str = "internal") -> Answer:
        """Run one API call; raises CommanderError (or DroppedConnection for an injected drop)."""
        try:
            fault = self._apply_fault(api, session, chaos=wire != "xml")  # an envelope draws once
            fn = HANDLERS.get(api)
            if fn is None:
                # [U] the code CD/RO uses for an unknown request name
                raise CommanderError("InvalidRequest", f"Unknown API '{api}'")
            if api not in NO_SESSION_APIS and not self.authenticator.is_current(session):
                raise invalid_session()
            call = Call(store=self.store, engine=self.engine, plugins_root=self.plugins_root, session=session)
            answer = fn(call, normalize(dict(args or {})))
            if fault is not None and fault.drop_after:
                raise DroppedConnection(api)  # the server acted; its reply never reaches the caller
            return answer
        except (CommanderError, DroppedConnection):
            raise
        except Exception:
            log.exception("internal error in API %s", api)
            raise CommanderError("InternalError", f"Internal error while processing {api}") from None
        finally:
            self.request_log.record(api, wire)

    def _job_of_session(self, session: Optional[Session]) -> str:
        """The job whose step session `session` is; "" for any other caller."""
        if session is None:
            return ""
        with self.store.lock:
            return next((j.id for j in self.store.jobs.values() if j.session_id == session.id), "")

    def record_exchange(self, wire: str, calls: int, session: Optional[Session]) -> None:
        """Log one HTTP round trip of `calls` API calls, with the job whose step session sent it."""
        self.request_log.record_exchange(wire, calls, self._job_of_session(session))

    def batch_fault(self, apis: List[str], session: Optional[Session]) -> None:
        """Chaos for a whole XML envelope: raises (an error for the envelope, or DroppedConnection) or
        stalls, as `_apply_fault` does for one call."""
        fault = self.faults.draw_for_batch(apis, lambda: bool(self._job_of_session(session)))
        if fault is not None:
            self._act(fault, "XML batch")

    def _apply_fault(self, api: str, session: Optional[Session] = None,
                     chaos: bool = True) -> Optional[Fault]:
        """Apply what an armed fault does before the call; the fault, for what it does after."""
        fault = self.faults.take(api, lambda: bool(self._job_of_session(session)), chaos)
        if fault is None:
            return None
        self._act(fault, api)
        return fault

    @staticmethod
    def _act(fault: Fault, api: str) -> None:
        if fault.latency:
            time.sleep(fault.latency)
        if fault.drop:
            raise DroppedConnection(api)
        if fault.error_code:
            raise CommanderError(fault.error_code, f"Injected fault for {api}", where="emulator")
