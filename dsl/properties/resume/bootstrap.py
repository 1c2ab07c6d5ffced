# EC-Resume agent bootstrap (@PLUGIN_NAME@): standard library only, python3 >= 3.8, safe under -I -S.
#
# A plugin step's command is this property followed by one call, e.g.
#     run_plugin_module("ec_resume.procedures.create_restart_link")
# It loads the plugin's agent code once per plugin build and caches it on the agent (every server read
# bounded: 30 s in all, retries included, or COMMANDER_TIMEOUT):
#   1. read resume/agentCodeDigest of the plugin project over REST (the sha256 of the code zip), unless
#      the call gives it: run_plugin_module(module, digest), the digest being the expansion of that
#      property in the step's command, which saves the step a round trip;
#   2. use <COMMANDER_PLUGINS or the temp dir>/@PLUGIN_NAME@/agent/ec_resume-<digest>.zip if its bytes
#      still match that digest; otherwise fetch resume/agentCode (base64), check the digest, and write
#      the cache atomically (temp file, then os.replace) so concurrent steps never see half a file;
#   3. unpack the zip beside itself once (ec_resume-<digest>/, each file's sha256 in its .sums, checked on
#      every run), so that Python keeps the modules it compiled there and later steps do not compile
#      them again; put that folder (or the zip, when it cannot be) first on sys.path and run main().
# It duplicates a little of ec_resume.client on purpose: it is what loads that code.
# The session id is sent as a cookie and never printed. Nothing here may contain a property reference,
# because the server expands this text before the step runs.


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


def _ecr_get_property(base_url, secure, path):
    import json
    import os
    import socket
    import ssl
    import time
    import urllib.error
    import urllib.parse
    import urllib.request

    query = {"expand": "0"}
    step_id = os.environ.get("COMMANDER_JOBSTEPID", "")
    if step_id:
        query["jobStepId"] = step_id
    # [U] the path goes in as written, slashes kept, exactly as ec_resume.client sends it
    url = (base_url + "/rest/v1.0/properties/" + urllib.parse.quote(path, safe="/") + "?"
           + urllib.parse.urlencode(query))
    headers = {"Accept": "application/json"}
    session = os.environ.get("COMMANDER_SESSIONID", "")
    if session:
        headers["Cookie"] = "sessionId=" + session
    context = None
    if secure:
        context = ssl.create_default_context()
        if os.environ.get("EC_RESUME_TLS_VERIFY", "1").strip() in ("0", "false", "no"):  # [U] opt-out
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
    request = urllib.request.Request(url, headers=headers)
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
            with urllib.request.urlopen(request, timeout=wait, context=context) as response:
                body = json.loads(response.read().decode("utf-8"))
            value = body["property"]["value"]
            return "" if value is None else str(value)
        except urllib.error.HTTPError as exc:
            try:
                error = json.loads(exc.read().decode("utf-8"))["error"]
                last = "[{}] {}".format(error.get("code"), " ".join(str(error.get("message")).split()))
            except Exception:
                last = "HTTP " + str(exc.code)
            if exc.code < 500 or exc.code == 501:
                break
        except (ValueError, KeyError, TypeError):
            _ecr_fail("reading " + path + ": the server's answer is not a property")
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, socket.timeout) or isinstance(exc, socket.timeout):
                reason = f"no answer within {wait:.3g} s"
            last = "cannot reach " + base_url + ": " + str(reason)
        attempt += 1
        if attempt >= 10:
            break
        time.sleep(max(0.0, min(0.1 * (2 ** attempt), 2.0, deadline - time.monotonic())))
    if session:
        last = last.replace(session, "***")
    tried = "once" if attempt <= 1 else f"{attempt} times"
    _ecr_fail(f"reading {path} from {base_url} failed (tried {tried} within {limit:g} s): {last}")


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
    import tempfile

    roots = [plugins, tempfile.gettempdir()]
    cache_dirs = [os.path.join(root, "@PLUGIN_NAME@", "agent") for root in roots if root]
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
    for cache_dir in cache_dirs:  # the plugins directory first; the temp dir if that is not writable
        cached = os.path.join(cache_dir, "ec_resume-" + digest + ".zip")
        try:
            os.makedirs(cache_dir, exist_ok=True)
            handle, temp = tempfile.mkstemp(prefix=".ec_resume-", suffix=".part", dir=cache_dir)
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(temp, cached)
            except BaseException:
                if os.path.exists(temp):
                    os.unlink(temp)
                raise
            return cached
        except OSError as exc:
            problems.append(cache_dir + ": " + str(exc))
    _ecr_fail("cannot cache the agent code (" + "; ".join(problems) + ")")


def _ecr_unpacked(cached):
    """The agent code unpacked beside its checked zip, every file matching the sums written with it; the
    zip itself when the folder cannot be made (a read-only cache) or a file in it no longer matches."""
    import hashlib
    import os

    folder = cached[: -len(".zip")]
    digest = os.path.basename(folder)[len("ec_resume-"):]
    sums = os.path.join(folder, ".sums")

    def intact():
        try:
            with open(sums, encoding="utf-8") as handle:
                lines = handle.read().splitlines()
            if not lines or lines[0] != digest:
                return False
            for line in lines[1:]:
                want, name = line.split(" ", 1)
                with open(os.path.join(folder, name), "rb") as handle:
                    if hashlib.sha256(handle.read()).hexdigest() != want:
                        return False
            return True
        except (OSError, ValueError):
            return False

    if intact():
        return folder
    import shutil
    import tempfile
    import zipfile

    temp = ""
    try:
        temp = tempfile.mkdtemp(prefix=".ec_resume-", suffix=".part", dir=os.path.dirname(cached))
        lines = [digest]
        with zipfile.ZipFile(cached) as archive:
            for name in archive.namelist():
                parts = name.split("/")
                if name.endswith("/") or name.startswith("/") or ".." in parts:
                    continue
                data = archive.read(name)
                target = os.path.join(temp, *parts)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with open(target, "wb") as out:
                    out.write(data)
                lines.append(hashlib.sha256(data).hexdigest() + " " + name)
        with open(os.path.join(temp, ".sums"), "w", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")
        if os.path.isdir(folder):
            if intact():  # another step unpacked it meanwhile, and may be importing from it: keep it
                return folder
            shutil.rmtree(folder, ignore_errors=True)  # one that no longer matches its sums
        os.rename(temp, folder)  # another step may have won the race: its folder is as good
        temp = ""
    except (OSError, zipfile.BadZipFile):
        pass
    finally:
        if temp:
            shutil.rmtree(temp, ignore_errors=True)
    return folder if intact() else cached


def run_plugin_module(module_name, digest=""):
    """Load the plugin's agent code and exit with the code of module_name's main(). `digest`: the agent
    code's sha256 as the step's command expanded it, or "" to read it from the server."""
    import importlib
    import sys

    sys.path.insert(0, _ecr_unpacked(_ecr_agent_zip(digest)))
    module = importlib.import_module(module_name)
    sys.exit(module.main() or 0)
