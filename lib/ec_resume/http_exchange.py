"""One HTTP request and its answer, bounded by a deadline, on http.client.

It tells apart the two ways of getting no answer, because a caller that must not do a thing twice needs
to know: `ServerUnreachable` when no connection was made (the request never left), `ReplyLost` when the
connection was made and the answer did not come whole (the server may have acted). Every socket wait,
connecting, sending and each read, gets what is left of the deadline, so a server that accepts and then
trickles or never answers cannot hold the caller past it. Proxies from the usual environment variables
are honoured (``https_proxy``, ``http_proxy``, ``no_proxy``), as urllib does.
"""

from __future__ import annotations

import http.client
import os
import socket
import ssl
import sys
import urllib.parse
from typing import Callable, Mapping, Optional, Tuple

from .client_errors import ReplyLost, ServerUnreachable, TlsRefused
from .records import record_type

CHUNK = 65536


@record_type
class Answer:
    status: int
    body: bytes


def _proxy_for(scheme: str, host: str) -> Optional[Tuple[str, int]]:
    if sys.platform not in ("darwin", "win32") and not any(k.lower().endswith("_proxy") for k in os.environ):
        return None  # urllib reads only the environment here, and would find none: spare its import
    import urllib.request

    proxies = urllib.request.getproxies()
    proxy = proxies.get(scheme)
    if not proxy or urllib.request.proxy_bypass_environment(host, proxies):
        return None
    parts = urllib.parse.urlsplit(proxy if "://" in proxy else "http://" + proxy)
    if not parts.hostname:
        return None
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


def _connection(parts: urllib.parse.SplitResult, timeout: float,
                context: Optional[ssl.SSLContext]) -> Tuple[http.client.HTTPConnection, bool]:
    """The connection for `parts`, and whether the request line must carry the absolute URL."""
    secure = parts.scheme == "https"
    host = parts.hostname or ""
    port = parts.port or (443 if secure else 80)
    proxy = _proxy_for(parts.scheme, host)
    if secure:
        if proxy:
            conn = http.client.HTTPSConnection(proxy[0], proxy[1], timeout=timeout, context=context)
            conn.set_tunnel(host, port)
            return conn, False
        return http.client.HTTPSConnection(host, port, timeout=timeout, context=context), False
    if proxy:
        return http.client.HTTPConnection(proxy[0], proxy[1], timeout=timeout), True
    return http.client.HTTPConnection(host, port, timeout=timeout), False


def _why_no_connection(exc: OSError, host: str, port: int, waited: float) -> str:
    if isinstance(exc, socket.timeout):
        return f"no connection within {waited:.3g} s"
    if isinstance(exc, socket.gaierror):
        return f"host name '{host}' cannot be resolved ({exc.strerror or exc})"
    if isinstance(exc, ConnectionRefusedError):
        return f"nothing accepts connections at {host}:{port} (connection refused)"
    return f"no connection to {host}:{port} ({exc.strerror or exc})"


def _why_no_reply(exc: Exception, waited: float) -> str:
    if isinstance(exc, socket.timeout):
        return f"no answer within {waited:.3g} s after the request was sent"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "the connection closed without an answer after the request was sent"
    if isinstance(exc, ConnectionResetError):
        return "the connection was reset after the request was sent"
    return f"the answer was cut off after the request was sent ({type(exc).__name__})"


def exchange(method: str, url: str, body: Optional[bytes], headers: Mapping[str, str], *,
             deadline: float, clock: Callable[[], float],
             context: Optional[ssl.SSLContext] = None) -> Answer:
    """Send one request and read its whole answer before `deadline` (a `clock` value).

    Raises ServerUnreachable (nothing sent), ReplyLost (sent, no whole answer) or TlsRefused; the
    message says why in a few words, without the URL (the caller names what it tried).
    """
    parts = urllib.parse.urlsplit(url)
    started = clock()

    def left() -> float:
        remaining = deadline - clock()
        if remaining <= 0:
            raise socket.timeout("deadline")
        return remaining

    try:
        conn, absolute = _connection(parts, max(deadline - started, 0.001), context)
    except ValueError as exc:  # a port that is no number, and the like
        raise ServerUnreachable(f"the server address is malformed ({exc})") from None
    host, port = parts.hostname or "", conn.port
    try:
        try:
            left()
            conn.connect()
        except ssl.SSLError as exc:
            raise TlsRefused(f"TLS failed ({exc.reason or exc})") from None
        except OSError as exc:
            raise ServerUnreachable(_why_no_connection(exc, host, port, clock() - started)) from None
        target = url if absolute else (parts.path or "/") + ("?" + parts.query if parts.query else "")
        try:
            sock = conn.sock
            sock.settimeout(left())
            conn.request(method, target, body=body, headers=dict(headers))
            sock.settimeout(left())
            response = conn.getresponse()
            chunks = []
            while not response.isclosed():  # it closes itself at the end of the answer
                sock.settimeout(left())
                chunk = response.read1(CHUNK)  # what has come, so the deadline is checked often
                if not chunk:
                    break
                chunks.append(chunk)
            return Answer(response.status, b"".join(chunks))
        except (OSError, http.client.HTTPException) as exc:
            raise ReplyLost(_why_no_reply(exc, clock() - started)) from None
    finally:
        conn.close()
