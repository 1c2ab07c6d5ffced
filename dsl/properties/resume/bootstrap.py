# EC-Resume agent bootstrap (@PLUGIN_NAME@): standard library only, python3 >= 3.8, safe under -I -S.
#
# A plugin step's command is this property followed by one call, e.g.
#     run_plugin_module("ec_resume.procedures.create_restart_link", "<sha256 of the agent code>")
# the digest being the expansion of resume/agentCodeDigest in the step's command. The plugin's agent code
# is loaded once per plugin build and cached on the agent:
#   1. the step's usual path, below: if <COMMANDER_PLUGINS or the temp dir>/@PLUGIN_NAME@/agent/
#      ec_resume-<digest>/ is whole (every file in its .files list with the size and modification time
#      it was unpacked with, as Python checks the bytecode it caches there), import from it and run main();
#   2. otherwise the loader (_ECR_LOADER, further down), with every server read bounded (30 s in all,
#      retries included, or COMMANDER_TIMEOUT): read resume/agentCodeDigest of the plugin project over
#      REST when the call did not give it; use ec_resume-<digest>.zip beside that folder if its bytes
#      still match the digest, else fetch resume/agentCode (base64), check the digest and write the zip
#      atomically (a temp file, then os.replace); unpack it into a temp folder renamed into place, so
#      that concurrent steps never see half of it; run main() from that folder (from the zip itself when
#      the folder cannot be made).
# The loader is a string compiled only when it is needed: Python compiles a step's whole script before it
# runs it, and compiling the loader cost every plugin step about 5 ms. A step ends by os._exit once its
# output is flushed, without the interpreter's teardown of a hundred modules (another 5 ms): the agent
# code starts no threads and registers nothing to run at exit.
# The loader duplicates a little of ec_resume.client on purpose: it is what loads that code. Its one kind
# of request, a GET of a property, is written on a socket (HTTP/1.0, read up to its Content-Length), so
# that a step's first run does not import urllib.request; urllib serves it only through a proxy that the
# environment names (http_proxy, https_proxy).
# The session id is sent as a cookie and never printed. Nothing here may contain a property reference,
# because the server expands this text before the step runs.

_ECR_FILES = ".files"  # in an unpacked folder: its digest, then "<size> <mtime_ns> <name>" per file


def _ecr_intact(folder, digest):
    """Whether `folder` holds the agent code of `digest` whole, as it was unpacked from the checked zip."""
    import os

    try:
        with open(os.path.join(folder, _ECR_FILES), encoding="utf-8") as handle:
            lines = handle.read().splitlines()
        if len(lines) < 2 or lines[0] != digest:
            return False
        for line in lines[1:]:
            size, mtime, name = line.split(" ", 2)
            info = os.stat(os.path.join(folder, name))
            if info.st_size != int(size) or info.st_mtime_ns != int(mtime):
                return False
        return True
    except (OSError, ValueError):
        return False


def _ecr_named_temp():
    """The temp dir the environment names (TMPDIR, TEMP or TMP; else /tmp on POSIX), or ""."""
    import os

    names = [os.environ.get(name, "").strip() for name in ("TMPDIR", "TEMP", "TMP")]
    given = [name for name in names if name] + (["/tmp"] if os.name == "posix" else [])
    return given[0] if given else ""


def _ecr_ready(digest):
    """The unpacked folder of the agent code `digest` where a step of this agent left it whole, else ""."""
    import os

    if len(digest) != 64 or digest.strip("0123456789abcdef"):
        return ""  # not given, or not expanded: the loader reads it
    for root in (os.environ.get("COMMANDER_PLUGINS", "").strip(), _ecr_named_temp()):
        folder = os.path.join(root, "@PLUGIN_NAME@", "agent", "ec_resume-" + digest)
        if root and _ecr_intact(folder, digest):
            return folder
    return ""


def _ecr_exit(main):
    """End the process with the exit code of main(), as sys.exit would, once its output is flushed."""
    import os
    import sys

    try:
        code = main()
    except SystemExit as exc:
        code = exc.code
    if code is None:
        code = 0
    elif not isinstance(code, int):
        sys.stderr.write(str(code) + "\n")
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            code = code or 120  # as the interpreter does when it cannot flush stdout at exit
    os._exit(code)


def run_plugin_module(module_name, digest=""):
    """Load the plugin's agent code and exit with the code of module_name's main(). `digest`: the agent
    code's sha256 as the step's command expanded it, or "" to read it from the server."""
    import sys

    digest = digest.strip().lower()
    folder = _ecr_ready(digest)
    if not folder:
        loader = {"__name__": "ec_resume_bootstrap_loader", "_ecr_intact": _ecr_intact,
                  "_ecr_named_temp": _ecr_named_temp, "_ECR_FILES": _ECR_FILES}
        exec(compile(_ECR_LOADER, "EC-Resume bootstrap loader", "exec"), loader)
        folder = loader["_ecr_unpacked"](loader["_ecr_agent_zip"](digest))
    sys.path.insert(0, folder)
    import gc

    # What importing makes lives as long as the step: the collector neither looks at it during the import
    # nor, frozen, ever after (each was a collection of about 1 ms).
    gc.disable()
    try:
        __import__(module_name)
    finally:
        gc.freeze()
        gc.enable()
    _ecr_exit(sys.modules[module_name].main)


# What a step runs when its agent code is not unpacked yet (or no longer whole), compiled only then.
_ECR_LOADER = r'''
def _ecr_fail(message):
    import sys

    sys.stderr.write("EC-Resume bootstrap: " + message + "\n")
    sys.exit(1)


def _ecr_server():
    import os

    env = os.environ
    server = env.get("COMMANDER_SERVER", "").strip()
    if not server:
        _ecr_fail("COMMANDER_SERVER is not set: expected to run inside a CD/RO job step")
    flag = env.get("COMMANDER_SECURE", "").strip()
    if flag:
        secure = flag not in ("0", "false", "False", "no")
    else:  # [U] agents set COMMANDER_SECURE; without it a lone COMMANDER_PORT means plain HTTP
        secure = not (env.get("COMMANDER_PORT") and not env.get("COMMANDER_HTTPS_PORT"))
    if "://" in server:
        return server.rstrip("/"), server.startswith("https:")
    host, port = server.split(":", 1) if server.count(":") == 1 else (server, "")
    if not port:
        port = env.get("COMMANDER_HTTPS_PORT" if secure else "COMMANDER_PORT", "")
        port = port.strip() or ("8443" if secure else "8000")
    return ("https" if secure else "http") + "://" + host + ":" + port, secure


def _ecr_timeout():
    """Seconds for one property read in all, retries included: COMMANDER_TIMEOUT, else 30."""
    import os

    try:
        value = float(os.environ.get("COMMANDER_TIMEOUT", "").strip() or "30")
    except ValueError:
        value = 30.0
    return value if 0 < value <= 3600 else 30.0


def _ecr_proxied(secure):
    """Whether the environment names a proxy for this scheme: then urllib reads through it, as before."""
    import os

    names = ("https_proxy", "HTTPS_PROXY") if secure else ("http_proxy", "HTTP_PROXY")
    return any(os.environ.get(name, "").strip() for name in names)


def _ecr_http_get(base_url, secure, target, headers, wait):
    """(status, body) of one GET on a fresh connection, every socket wait bounded by what is left of
    `wait`. HTTP/1.0, so that the answer is not chunked; it is read up to its Content-Length (a server
    may close a while after it has answered), else up to the close. Written out so that the first step
    on an agent does not import urllib.request (http.client and the email package, about 10 ms).
    [U] not yet tried against a real CD/RO server; one that answers an HTTP/1.0 request chunked anyway
    is decoded."""
    import socket
    import time

    deadline = time.monotonic() + wait

    def left():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("timed out")
        return remaining

    authority = base_url.split("://", 1)[1]
    host, _, port = authority.rpartition(":")
    host = host.strip("[]")  # an IPv6 address is written [addr]:port
    # bytes, so that Python does not import the "idna" codec for an ASCII name (about 1.5 ms)
    sock = socket.create_connection((host.encode("ascii") if host.isascii() else host, int(port)),
                                    timeout=left())
    try:
        if secure:
            sock = _ecr_tls_context().wrap_socket(sock, server_hostname=host)
        lines = ["GET " + target + " HTTP/1.0", "Host: " + authority, "Connection: close"]
        lines += [name + ": " + value for name, value in headers.items()]
        sock.settimeout(left())
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        answer, fields, whole = bytearray(), None, -1
        while len(answer) != whole:  # up to the Content-Length, else up to the close
            sock.settimeout(left())
            data = sock.recv(65536)
            if not data:
                break
            answer += data
            if fields is None and b"\r\n\r\n" in answer:
                head = answer.split(b"\r\n\r\n", 1)[0]
                fields = _ecr_header_fields(head)
                length = fields.get("content-length", "")
                if length.isdigit() and "transfer-encoding" not in fields:
                    whole = len(head) + 4 + int(length)
    finally:
        sock.close()
    head, found, body = answer.partition(b"\r\n\r\n")
    words = head.split(b"\r\n", 1)[0].decode("latin-1").split(None, 2)
    if not found or len(words) < 2 or not words[0].startswith("HTTP/") or not words[1].isdigit():
        raise ConnectionError("the answer is not HTTP or ended early")
    fields = _ecr_header_fields(head)
    if fields.get("transfer-encoding", "identity").lower() != "identity":
        body = _ecr_unchunked(body)
    length = fields.get("content-length", "")
    if length.isdigit() and len(body) != int(length):
        raise ConnectionError("the answer ended early (" + str(len(body)) + " of " + length + " bytes)")
    return int(words[1]), bytes(body)


def _ecr_header_fields(head):
    """The header fields of an answer's head (its status line left out), by lower-case name."""
    fields = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()
    return fields


def _ecr_unchunked(body):
    """The chunked body decoded: a server may frame its answer so even to an HTTP/1.0 request."""
    out = []
    while True:
        size_line, found, body = body.partition(b"\r\n")
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            size = -1
        if not found or size < 0 or len(body) < size:
            raise ConnectionError("the chunked answer ended early")
        if size == 0:
            return b"".join(out)
        out.append(body[:size])
        body = body[size + 2:]


def _ecr_tls_context():
    import os
    import ssl

    context = ssl.create_default_context()
    if os.environ.get("EC_RESUME_TLS_VERIFY", "1").strip() in ("0", "false", "no"):  # [U] opt-out
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _ecr_tls_refused(exc):
    import ssl

    return isinstance(exc, ssl.SSLCertVerificationError)


def _ecr_proxied_get(base_url, secure, target, headers, wait):
    """(status, body) of one GET through the proxy that the environment names, by urllib."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(base_url + target, headers=headers)
    context = _ecr_tls_context() if secure else None
    try:
        with urllib.request.urlopen(request, timeout=wait, context=context) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except urllib.error.URLError as exc:
        reason = exc.reason
        raise (reason if isinstance(reason, OSError) else OSError(str(reason))) from None


def _ecr_get_property(base_url, secure, path):
    import json
    import os
    import socket
    import time
    import urllib.parse

    query = {"expand": "0"}
    step_id = os.environ.get("COMMANDER_JOBSTEPID", "")
    if step_id:
        query["jobStepId"] = step_id
    # [U] the path goes in as written, slashes kept, exactly as ec_resume.client sends it
    target = ("/rest/v1.0/properties/" + urllib.parse.quote(path, safe="/") + "?"
              + urllib.parse.urlencode(query))
    headers = {"Accept": "application/json"}
    session = os.environ.get("COMMANDER_SESSIONID", "")
    if session:
        headers["Cookie"] = "sessionId=" + session
    get = _ecr_proxied_get if _ecr_proxied(secure) else _ecr_http_get
    last = ""
    limit = _ecr_timeout()
    deadline = time.monotonic() + limit
    attempt = 0
    while True:  # GET is idempotent: retry what may pass (no answer, 5xx but 501), within the deadline
        left = deadline - time.monotonic()
        if left <= 0:
            break
        # As ec_resume.client does: an attempt but the last gets an eighth of the timeout (at least 1 s),
        # so one stalled answer leaves time to ask again.
        wait = left if attempt >= 9 else min(left, max(limit / 8.0, 1.0))
        try:
            status, body = get(base_url, secure, target, headers, wait)
        except OSError as exc:  # no answer, or not a whole one
            reason = f"no answer within {wait:.3g} s" if isinstance(exc, socket.timeout) else str(exc)
            last = "cannot reach " + base_url + ": " + reason
            status = 0
            if secure and _ecr_tls_refused(exc):  # asking again cannot change the certificate
                attempt += 1
                break
        if status == 200:
            try:
                value = json.loads(body.decode("utf-8"))["property"]["value"]
            except (ValueError, KeyError, TypeError):
                _ecr_fail("reading " + path + ": the server's answer is not a property")
            return "" if value is None else str(value)
        if status:
            try:
                error = json.loads(body.decode("utf-8"))["error"]
                last = "[{}] {}".format(error.get("code"), " ".join(str(error.get("message")).split()))
            except Exception:
                last = "HTTP " + str(status)
            if status < 500 or status == 501:
                break
        attempt += 1
        if attempt >= 10:
            break
        time.sleep(max(0.0, min(0.1 * (2 ** attempt), 2.0, deadline - time.monotonic())))
    if session:
        last = last.replace(session, "***")
    tried = "once" if attempt <= 1 else f"{attempt} times"
    _ecr_fail(f"reading {path} from {base_url} failed (tried {tried} within {limit:g} s): {last}")


def _ecr_temp_root():
    """The temp dir that tempfile would name, read from TMPDIR, TEMP or TMP (else /tmp) without importing
    tempfile and shutil (about 3 ms of a step's first run); tempfile's own search when that is not a
    writable folder."""
    import os

    named = _ecr_named_temp()
    if named and os.path.isdir(named) and os.access(named, os.W_OK | os.X_OK):
        return os.path.abspath(named)
    import tempfile

    return tempfile.gettempdir()


def _ecr_roots_to_try(roots):
    """The cache roots to write in, in order: those given, then tempfile's own choice if it differs."""
    for root in roots:
        if root:
            yield root
    import tempfile

    last = tempfile.gettempdir()
    if last not in roots:
        yield last


def _ecr_part_name(folder):
    """A fresh name for a file or folder being written in `folder`, renamed into place once whole."""
    import binascii
    import os

    return os.path.join(folder, ".ec_resume-" + str(os.getpid()) + "-"
                        + binascii.hexlify(os.urandom(6)).decode("ascii") + ".part")


def _ecr_agent_zip(given=""):
    import hashlib
    import os
    import re

    base_url, secure = _ecr_server()
    digest = given.strip().lower()
    if not re.match(r"^[0-9a-f]{64}$", digest):  # not given (or not expanded): read it
        digest = _ecr_get_property(base_url, secure, "/myProject/resume/agentCodeDigest").strip().lower()
    if not re.match(r"^[0-9a-f]{64}$", digest):
        _ecr_fail("/myProject/resume/agentCodeDigest is not a sha256 hex digest: reinstall the plugin")
    def cached_in(root):
        cached = os.path.join(root, "@PLUGIN_NAME@", "agent", "ec_resume-" + digest + ".zip")
        try:
            with open(cached, "rb") as handle:
                return cached if hashlib.sha256(handle.read()).hexdigest() == digest else ""
        except OSError:
            return ""

    plugins = os.environ.get("COMMANDER_PLUGINS", "").strip()
    found = cached_in(plugins) if plugins else ""
    if found:
        return found
    import base64
    import binascii

    roots = [plugins, _ecr_temp_root()]
    found = cached_in(roots[1])
    if found:
        return found
    encoded = _ecr_get_property(base_url, secure, "/myProject/resume/agentCode")
    try:
        data = base64.b64decode("".join(encoded.split()), validate=True)
    except (binascii.Error, ValueError):
        _ecr_fail("/myProject/resume/agentCode is not base64: reinstall the plugin")
    actual = hashlib.sha256(data).hexdigest()
    if actual != digest:
        _ecr_fail("agent code from the server does not match its digest (expected " + digest + ", got "
                  + actual + "); refusing to run it: reinstall the plugin")
    problems = []
    for root in _ecr_roots_to_try(roots):  # the plugins directory first; a temp dir if it is not writable
        cache_dir = os.path.join(root, "@PLUGIN_NAME@", "agent")
        cached = os.path.join(cache_dir, "ec_resume-" + digest + ".zip")
        temp = ""
        try:
            os.makedirs(cache_dir, exist_ok=True)
            temp = _ecr_part_name(cache_dir)
            handle = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(data)  # no fsync: a torn file fails its digest check and is fetched again
                os.replace(temp, cached)
            except BaseException:
                if os.path.exists(temp):
                    os.unlink(temp)
                raise
            return cached
        except OSError as exc:
            problems.append(cache_dir + ": " + str(exc))
    _ecr_fail("cannot cache the agent code (" + "; ".join(problems) + ")")


def _ecr_zip_files(cached):
    """(name, bytes) of each file in the checked agent zip. Read with zipimport, which every Python has
    loaded at its start, by the list of names the build puts in the zip (AGENT-FILES): importing zipfile
    (shutil, bz2, lzma, threading) costs a step about 15-20 ms. zipfile reads a zip without that list."""
    import zipimport

    try:
        reader = zipimport.zipimporter(cached)
        names = reader.get_data("AGENT-FILES").decode("utf-8").splitlines()
        return [(name, reader.get_data(name)) for name in names if name]
    except (OSError, ImportError, ValueError):  # no list in it (ZipImportError is an ImportError)
        import zipfile

        with zipfile.ZipFile(cached) as archive:
            return [(name, archive.read(name)) for name in archive.namelist() if name != "AGENT-FILES"]


def _ecr_unpacked(cached):
    """The agent code unpacked beside its checked zip, as _ecr_intact checks it; the zip itself when the
    folder cannot be made (a read-only cache)."""
    import os

    folder = cached[: -len(".zip")]
    digest = os.path.basename(folder)[len("ec_resume-"):]
    if _ecr_intact(folder, digest):
        return folder
    temp = ""
    try:
        temp = _ecr_part_name(os.path.dirname(cached))
        os.mkdir(temp, 0o700)
        lines = [digest]
        for name, data in _ecr_zip_files(cached):
            parts = name.split("/")
            if name.endswith("/") or name.startswith("/") or ".." in parts or "\n" in name:
                continue
            target = os.path.join(temp, *parts)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as out:
                out.write(data)
            info = os.stat(target)  # a rename keeps it: what _ecr_intact compares
            lines.append(str(info.st_size) + " " + str(info.st_mtime_ns) + " " + name)
        with open(os.path.join(temp, _ECR_FILES), "w", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")
        if os.path.isdir(folder):
            if _ecr_intact(folder, digest):  # another step unpacked it meanwhile, and may import from it
                return folder
            _ecr_remove_tree(folder)  # one that no longer matches its list, or from an older bootstrap
        os.rename(temp, folder)  # another step may have won the race: its folder is as good
        temp = ""
    except Exception:  # noqa: BLE001 - whatever stops the unpacking, the zip itself serves
        pass
    finally:
        if temp:
            _ecr_remove_tree(temp)
    return folder if _ecr_intact(folder, digest) else cached


def _ecr_remove_tree(folder):
    import shutil  # only on this rare path: shutil costs a first run about 1.5 ms

    shutil.rmtree(folder, ignore_errors=True)
'''
