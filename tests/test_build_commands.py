"""`python3 build.py` and its sub-commands, run as a user runs them: a process in a fresh copy of the repo.

Each test copies the repository's files (tracked, plus untracked ones git does not ignore) into a
scratch folder and links the existing `.venv` into it, so build.py's requirements stamp matches and no
second pip install happens. What is checked is what the user sees: exit codes, the verdict, the tables,
one-line errors, the jar on disk, and a server that answers.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
import requests

from devtools.demo import judge

REPO = Path(__file__).resolve().parents[1]
PYTHON = shutil.which("python3") or sys.executable  # the user's python3: build.py re-runs itself in .venv
VERDICT = "resumed at step 5: 4 steps skipped, 6 run"
TIMEOUT = 180  # seconds; only reached when something hangs


# ------------------------------------------------------------------------------------------ helpers


def _repo_files() -> List[str]:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs git and a git checkout to know which files a fresh clone holds")
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, capture_output=True, check=True).stdout.decode("utf-8")
    return [name for name in listed.split("\0") if name]


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A scratch copy of the repository sharing the existing .venv (read-only use)."""
    venv = REPO / ".venv"
    stamp = venv / ".requirements.sha256"
    wanted = hashlib.sha256((REPO / "requirements.txt").read_bytes()).hexdigest()
    if not stamp.is_file() or stamp.read_text().strip() != wanted:
        # build.py would pip install into the shared .venv: not something a test may do
        pytest.skip(".venv is missing or older than requirements.txt: run `python3 build.py` once")
    root = tmp_path / "clone"
    for name in _repo_files():
        source = REPO / name
        if source.is_file():  # a tracked file deleted in the work tree is not in a fresh clone either
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    (root / ".venv").symlink_to(venv, target_is_directory=True)
    return root


def _environment(**extra: str) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("COMMANDER_PASSWORD", "EC_RESUME_DEMO_BREAK", "PYTHONPATH", "VIRTUAL_ENV")}
    env.update(extra)
    return env


def build_py(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "build.py", *args], cwd=root, env=_environment(**env),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT)


def tables(stdout: str) -> Dict[str, Dict[str, str]]:
    """{"first job": {step: outcome}, "restarted job": {...}} from the demo's output."""
    found: Dict[str, Dict[str, str]] = {}
    current: Optional[Dict[str, str]] = None
    for line in stdout.splitlines():
        title = next((t for t in ("first job", "restarted job") if line.startswith(t + " ")), None)
        if title:
            current = found.setdefault(title, {})
        elif not line.strip():
            current = None
        elif current is not None and not line.lstrip().startswith("#"):
            # "   5  deploy to staging      error      0.00s": the step name may hold spaces
            words = line.split()
            if words[0].isdigit():
                words = words[1:]
            current[" ".join(words[:-2])] = words[-2]
    return found


WORK = ["checkout", "compile", "unit tests", "package", "deploy to staging", "smoke tests",
        "deploy to production", "verify production", "tag release", "announce"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _no_traceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stdout + result.stderr


# ------------------------------------------------------------------------------------ the demo


@pytest.mark.slow
def test_build_py_alone_builds_and_proves_the_resume(clone: Path) -> None:
    result = build_py(clone)

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == VERDICT
    assert lines[-2] == f"jar: {clone / 'out' / 'EC-Resume.jar'}"
    assert "[1/5] building out/EC-Resume.jar ..." in lines
    jobs = tables(result.stdout)
    assert [jobs["first job"][s] for s in WORK[:5]] == ["success"] * 4 + ["error"]
    assert jobs["first job"]["restart links"] == "success"
    assert [jobs["restarted job"][s] for s in WORK] == ["skipped"] * 4 + ["success"] * 6
    with zipfile.ZipFile(clone / "out" / "EC-Resume.jar") as jar:
        assert "META-INF/plugin.xml" in jar.namelist()


@pytest.mark.slow
def test_build_py_says_so_when_resume_is_broken(clone: Path) -> None:
    result = build_py(clone, EC_RESUME_DEMO_BREAK="no-run-condition")

    assert result.returncode != 0
    verdict = result.stdout.splitlines()[-1]
    # steps 1 and 3 are the plain commands that lost their run condition; 2 and 4 are ResumableStep calls
    assert verdict == "NOT resumed: steps 1, 3 ran again"
    assert tables(result.stdout)["restarted job"]["checkout"] == "success"
    _no_traceback(result)


@pytest.mark.slow
def test_build_py_test_runs_pytest_and_reports_its_result(clone: Path) -> None:
    """The README's second quick-start command, on one small test file (the whole suite runs in CI)."""
    passing = build_py(clone, "test", "tests/plugin/test_restart_link.py", "-q", "-p", "no:cacheprovider")
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert " passed" in passing.stdout.splitlines()[-1]

    broken = clone / "tests" / "plugin" / "test_restart_link.py"
    broken.write_text(broken.read_text() + "\n\ndef test_that_fails():\n    assert 1 == 2\n")
    failing = build_py(clone, "test", str(broken.relative_to(clone)), "-q", "-p", "no:cacheprovider")
    assert failing.returncode == 1
    assert "1 failed" in failing.stdout.splitlines()[-1]


@pytest.mark.slow
@pytest.mark.parametrize("options", [["-p", "no:xdist"], ["-n", "0"], ["-n0"], ["--numprocesses", "1"]])
def test_build_py_test_passes_pytest_options_through_without_a_clash(clone: Path, options: List[str]) -> None:
    result = build_py(clone, "test", "tests/test_architecture.py", "-q", "-p", "no:cacheprovider", *options)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout.splitlines()[-1]


@pytest.mark.slow
def test_an_unknown_breakage_is_refused_in_one_line(clone: Path) -> None:
    result = build_py(clone, EC_RESUME_DEMO_BREAK="everything")

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "build.py: EC_RESUME_DEMO_BREAK='everything': expected one of no-run-condition or nothing"]


# ---------------------------------------------------------------------- the verdict, as a decision


def _job(outcomes: List[str]) -> Dict[str, object]:
    return {"jobStep": [{"stepName": name, "outcome": outcome} for name, outcome in zip(WORK, outcomes)]}


FIRST = _job(["success"] * 4 + ["error"] + ["skipped"] * 5)
RESUMED = _job(["skipped"] * 4 + ["success"] * 6)
ONCE = {n: 1 for n in range(1, 11)}


def test_verdict_of_a_proper_resume() -> None:
    assert judge(FIRST, RESUMED, ONCE).text == VERDICT
    assert judge(FIRST, RESUMED, ONCE).ok


def test_verdict_names_a_skipped_step_whose_work_ran_again() -> None:
    verdict = judge(FIRST, RESUMED, {**ONCE, 2: 2})
    assert not verdict.ok and verdict.text == "NOT resumed: step 2 ran again"


def test_verdict_names_a_step_that_failed_after_the_restart() -> None:
    second = _job(["skipped"] * 4 + ["success", "success", "error"] + ["success"] * 3)
    verdict = judge(FIRST, second, ONCE)
    assert not verdict.ok and "step 7 'deploy to production' ended 'error'" in verdict.text


def test_verdict_when_the_first_job_did_not_fail() -> None:
    verdict = judge(_job(["success"] * 10), RESUMED, ONCE)
    assert not verdict.ok and "did not fail at step 5" in verdict.text


# ------------------------------------------------------------------------------ jar, serve, install


@pytest.mark.slow
def test_jar_command_builds_and_validates_the_jar(clone: Path) -> None:
    result = build_py(clone, "jar")

    assert result.returncode == 0, result.stderr
    jar = clone / "out" / "EC-Resume.jar"
    assert str(jar) in result.stdout
    with zipfile.ZipFile(jar) as archive:
        assert "dsl/properties/resume/agentCode" in archive.namelist()


@pytest.mark.slow
def test_jar_command_names_a_broken_form_in_one_line(clone: Path) -> None:
    form = clone / "dsl" / "procedures" / "ResumableStep" / "form.xml"
    form.write_text("<editor><formElement><type>entry</type>\n")  # cut off mid-file

    result = build_py(clone, "jar")

    assert result.returncode == 1
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1 and "dsl/procedures/ResumableStep/form.xml" in errors[0]
    _no_traceback(result)
    assert not (clone / "out" / "EC-Resume.jar").exists()


def _read_until(process: subprocess.Popen, prefix: str) -> List[str]:
    """stdout lines up to and including the first that starts with `prefix` (all of them if it never does)."""
    lines: List[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        if line.startswith(prefix):
            break
    return lines


def _paste_commands(clone: Path, guide: List[str]) -> List[subprocess.CompletedProcess]:
    """Run every command line of serve's guide, as pasted into a shell in the repository folder."""
    commands = [line.strip() for line in guide[guide.index("  Try, from this folder:") + 1:-1]
                if line.strip() and not line.strip().startswith("#")]
    results = []
    for command in commands:
        result = subprocess.run(["sh", "-c", command], cwd=clone, env=_environment(), capture_output=True,
                                text=True, timeout=TIMEOUT)
        assert result.returncode == 0, (command, result.stdout, result.stderr)
        results.append(result)
    return results


def api_wait(url: str, user: str, password: str, job_id: str) -> Dict[str, Any]:
    """getJobDetails of `job_id` once it completed."""
    for _ in range(600):
        job = requests.get(f"{url}/rest/v1.0/jobs/{job_id}", auth=(user, password), timeout=30).json()["job"]
        if job["status"] == "completed":
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not complete")


@pytest.mark.slow
def test_serve_runs_the_emulator_with_the_plugin_and_the_sample(clone: Path) -> None:
    port = _free_port()
    process = subprocess.Popen([PYTHON, "build.py", "serve", "--port", str(port)], cwd=clone,
                               env=_environment(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(TIMEOUT, process.kill)  # a hung start must not hang the suite
    watchdog.start()
    try:
        lines = _read_until(process, "CloudBees CD/RO emulator at ")
        assert lines and lines[-1].startswith("CloudBees CD/RO emulator at "), lines
        url = lines[-1].split(" at ", 1)[1].strip()
        assert url == f"http://127.0.0.1:{port}"
        login = _read_until(process, "  user: ")[-1].split()
        user, password = login[1], login[3]

        status = requests.get(f"{url}/rest/v1.0/server/status", auth=(user, password), timeout=30)
        assert status.status_code == 200 and "serverStatus" in status.json()
        steps = requests.get(f"{url}/rest/v1.0/projects/EC-Resume%20Demo/procedures/Release/steps",
                             auth=(user, password), timeout=30)
        assert steps.status_code == 200, steps.text
        assert [s["stepName"] for s in steps.json()["step"]] == WORK + ["restart links"]
        wrong = requests.get(f"{url}/rest/v1.0/server/status", auth=(user, password + "x"), timeout=30)
        assert wrong.status_code == 401

        guide = _read_until(process, "Press Ctrl-C")
        results = _paste_commands(clone, guide)
        plan, fix, click, restart = results
        # counted as the demo counts (VERDICT): the work steps, not EC-Resume's restart-link step
        assert "would skip 4 steps and run 6" in plan.stdout, plan.stdout
        assert VERDICT.endswith(": 4 steps skipped, 6 run")
        assert '"command"' in fix.stdout and "step5" in fix.stdout
        page = click.stdout.strip()
        assert page.startswith("/commander/link/jobDetails/jobs/"), click.stdout
        assert password not in click.stdout + plan.stdout + restart.stdout  # no secret in what they print
        clicked = page.rsplit("/", 1)[1]
        job = api_wait(url, user, password, clicked)
        assert job["outcome"] == "success"
        assert restart.stdout.strip().endswith("outcome: success"), restart.stdout
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        finally:
            watchdog.cancel()
            process.kill()
            process.communicate()
    assert process.returncode == 0  # SIGTERM stops it cleanly, like Ctrl-C


@pytest.mark.slow
def test_serve_on_a_busy_port_fails_in_one_line(clone: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = build_py(clone, "serve", "--port", str(port))

    assert result.returncode == 1
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith(f"build.py: --port {port}: cannot listen"), result.stderr
    _no_traceback(result)


@pytest.fixture
def other_server():
    """A CD/RO server of the test's own, standing in for a real one (the shared emulator has the plugin)."""
    from commander_emulator.server import Emulator

    server = Emulator()
    server.start()
    yield server
    server.stop()


@pytest.mark.slow
@pytest.mark.parametrize("form", [["install"], []], ids=["install --server", "--server"])
def test_install_uploads_and_promotes_on_a_server(clone: Path, other_server, form: List[str]) -> None:
    result = build_py(clone, *form, "--server", other_server.url,
                      COMMANDER_PASSWORD=other_server.admin_password)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "EC-Resume-1.0.0 installed and promoted" in result.stdout
    assert "resumed at" not in result.stdout  # --server skips the demo
    auth = (other_server.admin_user, other_server.admin_password)
    plugin = requests.get(f"{other_server.url}/rest/v1.0/plugins/EC-Resume-1.0.0", auth=auth, timeout=30)
    assert plugin.json()["plugin"]["promoted"] == "1"
    condition = requests.get(f"{other_server.url}/rest/v1.0/properties//plugins/EC-Resume/project/resume/"
                             "runCondition", auth=auth, timeout=30)
    assert condition.status_code == 200, condition.text


@pytest.mark.slow
def test_install_with_a_wrong_password_fails_in_one_line(clone: Path, other_server) -> None:
    result = build_py(clone, "install", "--server", other_server.url, COMMANDER_PASSWORD="not-the-password")

    assert result.returncode == 1
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("build.py: login as admin failed"), result.stderr
    _no_traceback(result)
    plugins = requests.get(f"{other_server.url}/rest/v1.0/plugins",
                           auth=(other_server.admin_user, other_server.admin_password), timeout=30).json()
    assert "EC-Resume" not in str(plugins)
