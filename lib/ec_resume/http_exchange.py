"""One HTTP/1.1 request and its answer, bounded by a deadline, on a socket.

It tells apart the two ways of getting no answer, because a caller that must not do a thing twice needs
to know: `ServerUnreachable` when no connection was made (the request never left), `ReplyLost` when the
connection was made and the answer did not come whole (the server may have acted). Every socket wait,
connecting, sending and each read, gets what is left of the deadline, so a server that accepts and then
trickles or never answers cannot hold the caller past it. Proxies from the usual environment variables
are honoured (``https_proxy``, ``http_proxy``, ``no_proxy``), as urllib does.

The request and the reading of the answer are those of http.client (the same request line and headers,
the same framing: Content-Length, chunked, or up to the close; 100 Continue passed over), written out
here because importing http.client loads the email package and ssl, about 15 ms of every plugin step;
ssl is imported only for an https server.
"""

from __future__ import annotations

import os
import re
import socket
import sys
import urllib.parse

from .client_errors import ReplyLost, ServerUnreachable, TlsRefused
from .records import record_type

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: see docs/ARCHITECTURE.md
    from typing import Any, Callable, List, Mapping, Optional, Tuple

CHUNK = 65536
MAX_LINE = 65536  # http.client's limits: a line of the answer's head, and the number of headers
MAX_HEADERS = 100
BODYLESS = ("POST", "PUT", "PATCH")  # methods whose request says Content-Length: 0 without a body
# What a request line's target or a header value may not hold (http.client refuses them too).
BAD_TARGET = re.compile("[\x00-\x20\x7f]")
BAD_VALUE = re.compile("\n(?![ \t])|\r(?![ \t\n])")


@record_type
class Answer:
    status: int
    body: bytes


# The ways an answer goes wrong after the request went out, named as http.client names them.
class RemoteDisconnected(ConnectionResetError):
    """The connection closed before the status line."""


class BadStatusLine(Exception):
    """Not an HTTP status line."""


class LineTooLong(Exception):
    """A line of the answer's head longer than MAX_LINE."""


class IncompleteRead(Exception):
    """The answer ended before its framing said it would."""


class HTTPException(Exception):
    """Any other answer that does not parse (too many headers)."""


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


def _host_header(host: str, port: int, default_port: int) -> str:
    try:
        host.encode("ascii")
        named = host
    except UnicodeEncodeError:
        named = host.encode("idna").decode("ascii")
    if ":" in host:  # an IPv6 address
        named = f"[{named}]"
    return named if port == default_port else f"{named}:{port}"


def _request_head(method: str, target: str, host: str, body: Optional[bytes],
                  headers: Mapping[str, str]) -> bytes:
    """The request line and headers as http.client writes them: Host, Accept-Encoding, Content-Length,
    then the caller's headers in order."""
    if BAD_TARGET.search(target) or BAD_TARGET.search(method):
        raise ValueError(f"URL can't contain control characters. {target!r}")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", "Accept-Encoding: identity"]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    elif method.upper() in BODYLESS:
        lines.append("Content-Length: 0")
    for name, value in headers.items():
        if BAD_VALUE.search(str(value)) or not name or BAD_TARGET.search(name) or ":" in name:
            raise ValueError(f"Invalid header {name!r}")
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _tunnel(sock: socket.socket, host: str, port: int) -> None:
    """CONNECT through the proxy to host:port (what http.client's set_tunnel does)."""
    sock.sendall(f"CONNECT {host}:{port} HTTP/1.0\r\nHost: {_host_header(host, port, 0)}\r\n\r\n"
                 .encode("ascii"))
    reader = sock.makefile("rb")
    try:
        status, reason = _status_line(reader)
        _headers(reader)
    except (OSError, BadStatusLine, LineTooLong, HTTPException, RemoteDisconnected) as exc:
        raise OSError(f"Tunnel connection failed: {exc}") from None
    finally:
        reader.close()
    if status != 200:
        raise OSError(f"Tunnel connection failed: {status} {reason.strip()}")


def _connect(secure: bool, host: str, port: int, proxy: Optional[Tuple[str, int]], timeout: float,
             context: Any) -> socket.socket:
    """A connected (and for https, TLS-wrapped) socket to the server, through the proxy if any."""
    name, number = proxy or (host, port)
    # An ASCII name goes to the resolver as bytes: as str, Python encodes it with the "idna" codec, whose
    # import (stringprep, unicodedata) costs a plugin step about 1.5 ms. A non-ASCII name still needs it.
    sock = socket.create_connection((name.encode("ascii") if name.isascii() else name, number), timeout)
    try:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        if secure:
            if proxy:
                _tunnel(sock, host, port)
            sock = context.wrap_socket(sock, server_hostname=host)
        return sock
    except BaseException:
        sock.close()
        raise


def _line(reader: Any) -> bytes:
    line = reader.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise LineTooLong("header line")
    return line  # type: ignore[no-any-return]


def _status_line(reader: Any) -> Tuple[int, str]:
    line = str(_line(reader), "iso-8859-1")
    if not line:
        raise RemoteDisconnected("Remote end closed connection without response")
    try:
        version, status, reason = line.split(None, 2)
    except ValueError:
        try:
            version, status = line.split(None, 1)
            reason = ""
        except ValueError:
            version = status = reason = ""
    if not version.startswith("HTTP/"):
        raise BadStatusLine(repr(line))
    try:
        code = int(status)
    except ValueError:
        raise BadStatusLine(repr(line)) from None
    if code < 100 or code > 999:
        raise BadStatusLine(repr(line))
    return code, reason


def _headers(reader: Any) -> List[Tuple[str, str]]:
    found = []
    while True:
        line = _line(reader)
        if line in (b"\r\n", b"\n", b""):
            return found
        if len(found) >= MAX_HEADERS:
            raise HTTPException(f"got more than {MAX_HEADERS} headers")
        name, _, value = str(line, "iso-8859-1").partition(":")
        found.append((name.strip().lower(), value.strip()))


def _read_answer(sock: socket.socket, reader: Any, method: str, left: Callable[[], float]) -> Answer:
    """Status, head and body of the answer, each socket wait bounded by what is left of the deadline."""
    while True:
        sock.settimeout(left())
        status, _ = _status_line(reader)
        sock.settimeout(left())
        head = _headers(reader)
        if status != 100:
            break
    fields = dict(head)  # the last of a repeated header, which is what framing reads here
    chunked = fields.get("transfer-encoding", "").lower() == "chunked"
    length: Optional[int] = None
    if not chunked and "content-length" in fields:
        try:
            length = int(fields["content-length"])
        except ValueError:
            length = None
        if length is not None and length < 0:
            length = None
    if status in (204, 304) or 100 <= status < 200 or method == "HEAD":
        return Answer(status, b"")
    chunks = []
    if chunked:
        while True:
            sock.settimeout(left())
            size_line = _line(reader).split(b";", 1)[0]
            try:
                size = int(size_line, 16)
            except ValueError:
                raise IncompleteRead("chunk size") from None
            if size == 0:
                while _line(reader) not in (b"\r\n", b"\n", b""):  # the trailer
                    sock.settimeout(left())
                return Answer(status, b"".join(chunks))
            while size:
                sock.settimeout(left())
                chunk = reader.read1(min(size, CHUNK))
                if not chunk:
                    raise IncompleteRead("chunk")
                chunks.append(chunk)
                size -= len(chunk)
            sock.settimeout(left())
            if len(reader.read(2)) < 2:  # the CRLF after the chunk
                raise IncompleteRead("chunk end")
    while length is None or length > 0:  # up to Content-Length, or to the close
        sock.settimeout(left())
        chunk = reader.read1(CHUNK if length is None else min(length, CHUNK))
        if not chunk:
            break  # as http.client: what came before the close is the answer
        chunks.append(chunk)
        if length is not None:
            length -= len(chunk)
    return Answer(status, b"".join(chunks))


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
    if isinstance(exc, RemoteDisconnected):
        return "the connection closed without an answer after the request was sent"
    if isinstance(exc, ConnectionResetError):
        return "the connection was reset after the request was sent"
    return f"the answer was cut off after the request was sent ({type(exc).__name__})"


def exchange(method: str, url: str, body: Optional[bytes], headers: Mapping[str, str], *,
             deadline: float, clock: Callable[[], float], context: Any = None) -> Answer:
    """Send one request and read its whole answer before `deadline` (a `clock` value). `context`: the
    ssl.SSLContext of an https server (a default one when not given).

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

    secure = parts.scheme == "https"
    try:  # a port that is no number, and the like
        host = parts.hostname or ""
        port = parts.port or (443 if secure else 80)
    except ValueError as exc:
        raise ServerUnreachable(f"the server address is malformed ({exc})") from None
    proxy = _proxy_for(parts.scheme, host)
    ssl: Any = None
    if secure:
        import ssl

        if context is None:
            context = ssl.create_default_context()
    absolute = proxy is not None and not secure  # a plain-http proxy takes the whole URL
    if absolute:
        host_header = parts.netloc
        target = url
    else:
        host_header = _host_header(host, port, 443 if secure else 80)
        target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
    request = _request_head(method, target, host_header, body, headers) + (body or b"")
    connect_port = proxy[1] if proxy else port  # the port messages name, as http.client's connection
    try:
        left()
        sock = _connect(secure, host, port, proxy, max(deadline - started, 0.001), context)
    except OSError as exc:
        if ssl is not None and isinstance(exc, ssl.SSLError):
            raise TlsRefused(f"TLS failed ({exc.reason or exc})") from None
        raise ServerUnreachable(_why_no_connection(exc, host, connect_port, clock() - started)) from None
    try:
        reader = sock.makefile("rb")
        try:
            sock.settimeout(left())
            sock.sendall(request)
            return _read_answer(sock, reader, method, left)
        except (OSError, BadStatusLine, LineTooLong, IncompleteRead, HTTPException) as exc:
            raise ReplyLost(_why_no_reply(exc, clock() - started)) from None
        finally:
            reader.close()
    finally:
        sock.close()
