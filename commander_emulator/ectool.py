"""`ectool` inside the emulator's job steps: the command a real CD/RO agent has on every step's PATH.

The engine writes a launcher (`install_launcher`) that runs this file as a script with the emulator's own
interpreter (`python -I -S`), and puts its folder first on each step process's PATH. It speaks the XML API
(`POST /commanderRequest`, one request per envelope) to `COMMANDER_SERVER:COMMANDER_PORT`, authenticated by
`COMMANDER_SESSIONID`; the property APIs get `jobStepId=$COMMANDER_JOBSTEPID` unless the call names an
object itself, as real ectool adds it (commander-api.md §1, "Implicit jobStepId"), so `/myJob`,
`/myJobStep` and relative names resolve against the calling step.

    ectool [--server HOST[:PORT]] [--port PORT] [--timeout SECONDS] <api> [positional ...] [--arg value ...]

Positional arguments follow real ectool's order (the required arguments of each API, e.g. setProperty
propertyName value); every argument may also be given as `--name value`. An answer with a known result
path prints that value (getProperty, incrementProperty: the value; expandString: the text; runProcedure:
the jobId); any other answer prints its `<response>` element [U]. A server error prints
`ectool error [<code>]: <message>` on stderr and exits 1.

It imports only a few standard modules, none of them the emulator's (their lxml and werkzeug would double
its start-up): the envelope is written by hand with flat string arguments, the reply read with pyexpat,
and the one HTTP exchange sent over a plain socket, since `http.client` alone takes longer to import than
the whole call. The envelope is the same `<requests>` document `wire_xml.request_envelope` writes.
"""

import os
import sys

# The required arguments of each API the emulator implements, in ectool's positional order (ectool v9's
# argument table, as chpock/ec-api-tcl ArgumentsList.tcl records it). Trailing ones may be left out where
# ectool allows it (setProperty's value, incrementProperty's incrementBy, ...).
POSITIONAL = {
    "abortJob": ("jobId",), "createCredential": ("projectName", "credentialName", "userName", "password"),
    "createFormalOutputParameter": ("projectName", "formalOutputParameterName"),
    "createFormalParameter": ("projectName", "procedureName", "formalParameterName"),
    "createProcedure": ("projectName", "procedureName"), "createProject": ("projectName",),
    "createProperty": ("propertyName",), "createStep": ("projectName", "procedureName", "stepName"),
    "deleteFormalOutputParameter": ("projectName", "formalOutputParameterName"),
    "deleteFormalParameter": ("projectName", "procedureName", "formalParameterName"),
    "deleteJob": ("jobId",), "deleteProcedure": ("projectName", "procedureName"),
    "deleteProject": ("projectName",), "deleteProperty": ("propertyName",),
    "deleteStep": ("projectName", "procedureName", "stepName"), "evalDsl": ("dsl",),
    "expandString": ("value",), "getCredential": ("projectName", "credentialName"),
    "getFormalOutputParameter": ("projectName", "formalOutputParameterName"),
    "getFormalOutputParameters": ("projectName",),
    "getFormalParameter": ("projectName", "procedureName", "formalParameterName"),
    "getFormalParameters": ("projectName",), "getJobDetails": ("jobId",), "getJobInfo": ("jobId",),
    "getJobStatus": ("jobId",), "getJobStepDetails": ("jobStepId",), "getJobs": (),
    "getOutputParameter": ("outputParameterName",), "getOutputParameters": (), "getPlugin": ("pluginName",),
    "getPlugins": (), "getProcedure": ("projectName", "procedureName"), "getProcedures": ("projectName",),
    "getProject": ("projectName",), "getProjects": (), "getProperties": (), "getProperty": ("propertyName",),
    "getServerStatus": (), "getStep": ("projectName", "procedureName", "stepName"),
    "getSteps": ("projectName", "procedureName"), "incrementProperty": ("propertyName", "incrementBy"),
    "installPlugin": ("url",), "login": ("userName", "password"), "logout": (),
    "modifyFormalOutputParameter": ("projectName", "formalOutputParameterName"),
    "modifyFormalParameter": ("projectName", "procedureName", "formalParameterName"),
    "modifyProcedure": ("projectName", "procedureName"), "modifyProject": ("projectName",),
    "modifyStep": ("projectName", "procedureName", "stepName"), "promotePlugin": ("pluginName",),
    "runProcedure": ("projectName",), "setOutputParameter": ("outputParameterName", "value"),
    "setProperty": ("propertyName", "value"),
}
# APIs that get the step's jobStepId when no object is named (ectool's "locator" APIs; setOutputParameter
# is not one in ectool v9's table, but the emulator needs a locator for it [U]).
LOCATOR_APIS = ("createProperty", "deleteProperty", "evalDsl", "expandString", "getProperties", "getProperty",
                "incrementProperty", "modifyProperty", "setOutputParameter", "setProperty")
# Arguments that name an object, so that no jobStepId is added (ectool's objectIdentifiers).
OBJECT_IDENTIFIERS = ("applicationName", "artifactName", "componentName", "credentialName", "gatewayName",
                      "groupName", "jobId", "jobStepId", "objectId", "procedureName", "processName",
                      "projectName", "propertySheetId", "repositoryName", "resourceName", "resourcePoolName",
                      "scheduleName", "stepName", "systemObjectName", "userName", "workspaceName", "zoneName")
# Where the printed value of an answer is, as ectool prints it (ArgumentsList.tcl's result paths).
RESULT_PATHS = {"getProperty": ("property", "value"), "incrementProperty": ("property", "value"),
                "expandString": ("value",), "runProcedure": ("jobId",)}
# Arguments read from a file named by `--<name>File`, as ectool's auxiliary arguments.
FILE_ARGUMENTS = {"valueFile": "value", "dslFile": "dsl", "commandFile": "command"}
RETRY_CODES = ("ServerNotReady",)  # retried with back-off, as ectool does (commander-api.md §1)
RETRY_FOR = 60.0  # seconds [U: ectool retries for up to 24 h inside a job step]
USAGE = ("usage: ectool [--server HOST[:PORT]] [--port PORT] [--timeout S] <command> [arguments] "
         "[--name value ...]")


class Failure(Exception):
    """One line for stderr; the exit status is 1."""


# ------------------------------------------------------------------------------------ the command line


def parse_command_line(argv):
    """(global options, api, [(name, value)]) from ectool's argument list; Failure when it is wrong."""
    options = {}
    rest = list(argv)
    while rest and rest[0] in ("--server", "--port", "--timeout"):
        if len(rest) < 2:
            raise Failure(f"ectool: option {rest[0]} needs a value")
        options[rest[0][2:]] = rest[1]
        rest = rest[2:]
    if not rest or rest[0] in ("-h", "--help", "help"):
        raise Failure(f"{USAGE}\ncommands: {' '.join(sorted(POSITIONAL))}")
    api, rest = rest[0], rest[1:]
    if api not in POSITIONAL:
        raise Failure(f"ectool error: unknown command '{api}' (this emulator's ectool knows "
                      f"{len(POSITIONAL)} commands; 'ectool --help' lists them)")
    positional, args = list(POSITIONAL[api]), []
    while rest:
        token, rest = rest[0], rest[1:]
        if not token.startswith("--"):
            if not positional:
                raise Failure(f"ectool {api}: unexpected argument '{token}' (positional arguments: "
                              f"{', '.join(POSITIONAL[api]) or 'none'})")
            args.append((positional.pop(0), token))
            continue
        name = token[2:]
        if not name.isidentifier():
            raise Failure(f"ectool {api}: '{token}' is not an argument name")
        if name == "actualParameter":  # --actualParameter name=value name2=value2 ...
            while rest and not rest[0].startswith("--"):
                args.append((name, _actual_parameter(api, rest.pop(0))))
            continue
        if not rest:
            raise Failure(f"ectool {api}: option {token} needs a value")
        value, rest = rest[0], rest[1:]
        if name in FILE_ARGUMENTS:
            name, value = FILE_ARGUMENTS[name], _read_file(api, value)
        if name in positional:
            positional.remove(name)
        args.append((name, value))
    return options, api, args


def _actual_parameter(api, text):
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise Failure(f"ectool {api}: --actualParameter expects name=value, got '{text}'")
    return {"actualParameterName": name, "value": value}


def _read_file(api, path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError as exc:
        raise Failure(f"ectool {api}: cannot read '{path}': {exc.strerror}") from None


def with_step_context(api, args, environ):
    """Add `jobStepId` from COMMANDER_JOBSTEPID to a locator API that names no object itself."""
    step = environ.get("COMMANDER_JOBSTEPID", "")
    if step and api in LOCATOR_APIS and not any(name in OBJECT_IDENTIFIERS for name, _ in args):
        return args + [("jobStepId", step)]
    return args


# ------------------------------------------------------------------------------------------ the envelope


def _escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def envelope(api, args, session_id=""):
    """The `<requests>` document of one call; each argument a string, or a dict of strings (one level)."""
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<requests xmlns:xsi="http://www.w3.org/2001/'
             'XMLSchema-instance" xsi:noNamespaceSchemaLocation="commander.xsd" version="2.2"']
    if session_id:
        parts.append(f' sessionId="{_escape(session_id)}"')
    parts.append(f'><request requestId="1"><{api}>')
    for name, value in args:
        if isinstance(value, dict):
            inner = "".join(f"<{k}>{_escape(v)}</{k}>" for k, v in value.items())
            parts.append(f"<{name}>{inner}</{name}>")
        else:
            parts.append(f"<{name}>{_escape(value)}</{name}>")
    parts.append(f"</{api}></request></requests>")
    return "".join(parts).encode("utf-8")


# ------------------------------------------------------------------------------------------- the reply


def parse_reply(body):
    """The reply's first `<response>` or `<error>` as an element [tag, attributes, children, text]."""
    import pyexpat

    root = ["", {}, [], ""]
    stack = [root]

    def start(tag, attributes):
        element = [tag, attributes, [], ""]
        stack[-1][2].append(element)
        stack.append(element)

    def end(tag):
        stack.pop()

    def text(data):
        stack[-1][3] += data

    parser = pyexpat.ParserCreate()
    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, text
    try:
        parser.Parse(body, True)
    except pyexpat.ExpatError as exc:
        raise Failure(f"ectool error [InvalidXml]: the server's reply is not XML ({exc})") from None
    responses = root[2][0] if root[2] else ["", {}, [], ""]
    answers = [c for c in responses[2] if c[0] in ("response", "error")]
    if not answers:
        raise Failure("ectool error [InvalidResponse]: the server's reply holds no <response>")
    return answers[0]


def child_text(element, *path):
    """The text at a path of child names, or None."""
    for name in path:
        found = [c for c in element[2] if c[0] == name]
        if not found:
            return None
        element = found[0]
    return element[3] if not element[2] else None


def to_xml(element):
    attributes = "".join(f' {k}="{_escape(v)}"' for k, v in element[1].items())
    inner = "".join(to_xml(c) for c in element[2]) if element[2] else _escape(element[3])
    return f"<{element[0]}{attributes}>{inner}</{element[0]}>" if inner else f"<{element[0]}{attributes}/>"


def error_line(error):
    code, message = child_text(error, "code") or "", child_text(error, "message") or ""
    details = child_text(error, "details") or ""
    return f"ectool error [{code}]: {message}" + (f" Details: {details}" if details else "")


# -------------------------------------------------------------------------------------------- HTTP


def server_address(options, environ):
    host = options.get("server") or environ.get("COMMANDER_SERVER") or "localhost"
    port = options.get("port") or environ.get("COMMANDER_PORT") or "8000"
    if ":" in host and not host.startswith("["):
        host, port = host.rsplit(":", 1)
    return host.strip("[]"), int(port)


def post(host, port, body, timeout):
    """One `POST /commanderRequest`: (HTTP status, reply body). OSError when the server is unreachable.

    The reply ends at its Content-Length, not when the server closes the connection (which werkzeug
    does some 10 ms later). `_socket` rather than `socket`: the latter's enum and selectors imports would
    be a third of the start-up."""
    import _socket

    request = (f"POST /commanderRequest HTTP/1.1\r\nHost: {host}:{port}\r\n"
               f"Content-Type: text/xml; charset=utf-8\r\nContent-Length: {len(body)}\r\n"
               f"Connection: close\r\n\r\n").encode("ascii") + body
    conn = _connect(_socket, host, port, timeout)
    try:
        conn.sendall(request)
        data, head, length = b"", None, None
        while head is None or length is None or len(data) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
            if head is None and b"\r\n\r\n" in data:
                head, _, data = data.partition(b"\r\n\r\n")
                headers = _headers(head)
                if "content-length" in headers and "chunked" not in headers.get("transfer-encoding", ""):
                    length = int(headers["content-length"])
    finally:
        conn.close()
    if head is None:
        raise OSError(0, "the connection closed before a complete HTTP answer")
    headers, status_line = _headers(head), head.split(b"\r\n", 1)[0].split()
    status = int(status_line[1]) if len(status_line) > 1 and status_line[1].isdigit() else 0
    if "chunked" in headers.get("transfer-encoding", "").lower():
        data = _unchunk(data)
    return status, data


def _connect(_socket, host, port, timeout):
    """A connected socket to the first address of host that answers (what socket.create_connection does)."""
    error = OSError(0, f"no address for {host}")
    for family, kind, protocol, _, address in _socket.getaddrinfo(host, port, 0, _socket.SOCK_STREAM):
        conn = _socket.socket(family, kind, protocol)
        conn.settimeout(timeout)
        try:
            conn.connect(address)
            return conn
        except OSError as exc:
            conn.close()
            error = exc
    raise error


def _headers(head):
    lines = head.decode("latin-1").split("\r\n")[1:]
    return {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}


def _unchunk(data):
    out, at = [], 0
    while True:
        line_end = data.find(b"\r\n", at)
        size = int(data[at:line_end].split(b";")[0] or b"0", 16) if line_end >= 0 else 0
        if size == 0:
            return b"".join(out)
        out.append(data[line_end + 2:line_end + 2 + size])
        at = line_end + 2 + size + 2


def call(api, args, options, environ):
    """Send one call, retrying ServerNotReady; the answer element. Failure on an error answer."""
    import time

    host, port = server_address(options, environ)
    timeout = float(options.get("timeout") or 180)
    body = envelope(api, args, environ.get("COMMANDER_SESSIONID", ""))
    deadline, delay = time.monotonic() + RETRY_FOR, 0.01
    while True:
        try:
            status, reply = post(host, port, body, timeout)
        except OSError as exc:
            raise Failure(f"ectool error [NetworkError]: cannot reach the server at {host}:{port}: "
                          f"{exc.strerror or exc}") from None
        if status == 204:
            return ["response", {}, [], ""]
        if not reply.lstrip().startswith(b"<"):
            raise Failure(f"ectool error [InternalFault]: HTTP {status} from {host}:{port}")
        answer = parse_reply(reply)
        if answer[0] == "error" and child_text(answer, "code") in RETRY_CODES and time.monotonic() < deadline:
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
            continue
        if answer[0] == "error":
            raise Failure(error_line(answer))
        return answer


def output_of(api, answer):
    """What ectool prints for an answer: the value at the API's result path, else the `<response>` XML."""
    path = RESULT_PATHS.get(api)
    if path is not None:
        value = child_text(answer, *path)
        if value is not None:
            return value
        found = child_text(answer, *path[:-1]) if len(path) > 1 else None
        if found is not None:
            return found
    return to_xml(answer)


def main(argv=None, environ=None):
    argv = sys.argv[1:] if argv is None else argv
    environ = os.environ if environ is None else environ
    try:
        options, api, args = parse_command_line(argv)
        answer = call(api, with_step_context(api, args, environ), options, environ)
    except Failure as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    sys.stdout.write(output_of(api, answer) + "\n")
    return 0


# ------------------------------------------------------------------------------------------ the launcher


def install_launcher(folder, python=None):
    """Write `<folder>/ectool` (a sh script running this file with `python`) and return `folder`.

    Written to a temporary name and renamed, so a step that starts meanwhile never runs half a file."""
    import shlex

    python = python or sys.executable
    # Imported rather than run as a script, so its compiled form in __pycache__ is reused: a script is
    # compiled anew on every run. `-I -S`: no site-packages, no PYTHON* variables of the step.
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    program = (f"import sys; sys.path.insert(0, {package_parent!r}); "
               "from commander_emulator.ectool import main; sys.exit(main())")
    os.makedirs(folder, exist_ok=True)
    target = os.path.join(folder, "ectool")
    temporary = f"{target}.{os.getpid()}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(f'#!/bin/sh\nexec {shlex.quote(python)} -I -S -c {shlex.quote(program)} "$@"\n')
    os.chmod(temporary, 0o755)
    os.replace(temporary, target)
    return folder


if __name__ == "__main__":
    sys.exit(main())
