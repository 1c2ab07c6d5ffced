"""`python3 build.py`: prove the built plugin on the embedded CD/RO emulator, the way a user would.

The knowledge-base scenario, end to end over HTTP: install and promote the jar over REST, define the
sample procedure (devtools/sample_procedure.py) through evalDsl, run it (it fails at step 5), fix step 5
with modifyStep, click the failed job's "Restart this job" link exactly as stored (with the session
cookie), and check from the jobs and the marker files that the restarted job skipped steps 1-4 and ran
5-10. `serve` leaves the same setup running for a person to explore.

The demo plays the user, so its calls go through the developer side's client (devtools/server_api.py);
the plugin's own client is exercised where it belongs, inside the jobs' steps. build.py builds the jar
and numbers the progress lines; this module proves the jar it is given.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence
from urllib.parse import quote, unquote, urljoin, urlsplit

import requests

from commander_emulator.server import Emulator, wait_until_interrupted
from devtools import sample_procedure as sample
from devtools.install import install_jar
from devtools.package import plugin_name_of
from devtools.server_api import JobTimeout, ServerApi, as_list

RESTART_LINK = "Restart this job"
JOB_PAGE = re.compile(r"/commander/link/jobDetails/jobs/([^/]+)$")
JOB_TIMEOUT = 120.0  # seconds; a demo step only echoes to a file, so this is reached only when stuck

Printer = Callable[[str], None]


class DemoError(Exception):
    """The scenario could not be carried out; str() is one line saying which stage and why."""


# --------------------------------------------------------------------------------- pure decisions


@dataclass(frozen=True)
class StepRow:
    """One top-level step of a job as the tables show it."""

    name: str
    outcome: str
    seconds: Optional[float]


@dataclass(frozen=True)
class Verdict:
    ok: bool
    text: str


def _instant(stamp: Any) -> Optional[datetime]:
    if not stamp:
        return None
    try:
        # CD/RO stamps look like 2024-01-31T12:34:56.789Z
        return datetime.strptime(str(stamp), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def step_rows(job: Mapping[str, Any]) -> List[StepRow]:
    """The job's top-level steps in order, with the outcome and duration the server reports."""
    rows = []
    for step in as_list(job.get("jobStep")):
        start, finish = _instant(step.get("start")), _instant(step.get("finish"))
        seconds = (finish - start).total_seconds() if start and finish else None
        rows.append(StepRow(str(step.get("stepName", "")), str(step.get("outcome") or ""), seconds))
    return rows


def format_table(title: str, job: Mapping[str, Any]) -> List[str]:
    """A compact table of one job: number (work steps only), step, outcome, duration."""
    numbers = {step.name: step.number for step in sample.STEPS}
    lines = [f"{title} {job.get('jobName', '?')}: outcome {job.get('outcome') or '?'}",
             f"  {'#':>2}  {'step':<22} {'outcome':<8} {'time':>7}"]
    for row in step_rows(job):
        number = str(numbers.get(row.name, ""))
        took = "-" if row.seconds is None else f"{row.seconds:.2f}s"
        lines.append(f"  {number:>2}  {row.name:<22} {row.outcome or '-':<8} {took:>7}")
    return lines


def _steps_phrase(numbers: Sequence[int]) -> str:
    return ("step " if len(numbers) == 1 else "steps ") + ", ".join(str(n) for n in numbers)


def judge(first: Mapping[str, Any], second: Mapping[str, Any], runs: Mapping[int, int]) -> Verdict:
    """Did the restarted job resume at the failed step? `runs`: how often each step's work ran in all."""
    first_outcomes = {row.name: row.outcome for row in step_rows(first)}
    second_outcomes = {row.name: row.outcome for row in step_rows(second)}
    failed = sample.FAILING_STEP
    for step in sample.STEPS[:failed]:
        wanted = "error" if step.number == failed else "success"
        got = first_outcomes.get(step.name, "")
        if got != wanted:
            return Verdict(False, f"NOT resumed: the first job did not fail at step {failed} as planned "
                                  f"(step {step.number} '{step.name}' ended '{got or 'missing'}', expected "
                                  f"'{wanted}')")
    before, after = sample.STEPS[:failed - 1], sample.STEPS[failed - 1:]
    again = [s.number for s in sample.STEPS if runs.get(s.number, 0) > 1
             or (s in before and second_outcomes.get(s.name) != "skipped")]
    if again:
        return Verdict(False, f"NOT resumed: {_steps_phrase(again)} ran again")
    missed = [s.number for s in after if runs.get(s.number, 0) == 0]
    if missed:
        return Verdict(False, f"NOT resumed: {_steps_phrase(missed)} never ran in the restarted job")
    bad = [s for s in after if second_outcomes.get(s.name) != "success"]
    if bad:
        return Verdict(False, f"NOT resumed: step {bad[0].number} '{bad[0].name}' ended "
                              f"'{second_outcomes.get(bad[0].name) or 'missing'}' in the restarted job")
    skipped = [s for s in sample.STEPS if second_outcomes.get(s.name) == "skipped"]
    first_run = min(s.number for s in sample.STEPS if s not in skipped)
    return Verdict(True, f"resumed at step {first_run}: {len(skipped)} steps skipped, "
                         f"{len(sample.STEPS) - len(skipped)} run")


def count_runs(markers: Path) -> Dict[int, int]:
    """How many times each sample step did its work (one marker line per run)."""
    runs = {}
    for step in sample.STEPS:
        path = markers / step.marker
        runs[step.number] = len(path.read_text().splitlines()) if path.exists() else 0
    return runs


# ----------------------------------------------------------------------------------- server side


def define_sample(api: ServerApi, markers: Path, broken: Optional[str]) -> None:
    api.rest("POST", "server/dsl", json={"dsl": sample.sample_dsl(markers, broken=broken)})


def fix_failing_step(api: ServerApi, markers: Path) -> None:
    step = sample.STEPS[sample.FAILING_STEP - 1]
    route = "projects/{}/procedures/{}/steps/{}".format(
        *(quote(part, safe="") for part in (sample.PROJECT, sample.PROCEDURE, step.name)))
    api.rest("PUT", route, json={"command": sample.fixed_step_command(markers)})


def run_sample(api: ServerApi) -> str:
    return api.run_procedure(sample.PROJECT, sample.PROCEDURE, {"jobToRestart": ""})


def restart_link(api: ServerApi, job_id: str) -> str:
    link = api.get_property(f"/jobs/{job_id}/report-urls/{RESTART_LINK}")
    if not link:
        raise DemoError(f"NOT resumed: job {job_id} has no '{RESTART_LINK}' link (see its "
                        f"'{sample.LINK_STEP}' step)")
    return link


def follow(api: ServerApi, link: str) -> str:
    """Click a stored link as `api`'s user; the id of the job it started (from the 302 to its page)."""
    # [U] the UI's run link answers 302 to /commander/link/jobDetails/jobs/<jobId> (KBEC-00160's form)
    try:
        answer = api.http.get(urljoin(api.base_url + "/", link), allow_redirects=False, timeout=60)
    except requests.RequestException as exc:
        raise DemoError(f"NOT resumed: '{RESTART_LINK}' {link}: {type(exc).__name__}") from None
    found = JOB_PAGE.search(urlsplit(answer.headers.get("Location", "")).path)
    if answer.status_code != 302 or not found:
        raise DemoError(f"NOT resumed: '{RESTART_LINK}' answered HTTP {answer.status_code}: expected 302 "
                        "to the new job's page")
    return unquote(found.group(1))


def _check_port(port: int) -> None:
    """A busy port as one line of ours: werkzeug would print two of its own and exit."""
    if port == 0:
        return
    with socket.socket() as probe:
        if os.name != "nt":  # as the HTTP server binds: a port in TIME_WAIT is free to it
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise DemoError(f"--port {port}: cannot listen on 127.0.0.1 ({exc.strerror or exc}): expected a "
                            "free port, or none for any free one") from None


def _started_emulator(port: int = 0) -> Emulator:
    _check_port(port)
    emulator = Emulator()
    emulator.start(port)
    return emulator


def _admin(emulator: Emulator) -> ServerApi:
    return ServerApi(emulator.url, emulator.admin_user, emulator.admin_password)


def run_demo(jar: Path, step: Printer, out: Printer, env: Optional[Mapping[str, str]] = None) -> int:
    """The whole scenario on a built jar; `step` prints progress, `out` both jobs' tables, the jar and
    the verdict. 0 when resumed."""
    broken = sample.break_mode(os.environ if env is None else env)
    step("starting the embedded CD/RO emulator")
    emulator = _started_emulator()
    markers = Path(tempfile.mkdtemp(prefix="ec-resume-demo-"))
    try:
        with _admin(emulator) as api:
            step(f"installing and promoting {plugin_name_of(jar)} at {emulator.url} over REST")
            install_jar(api, jar)
            define_sample(api, markers, broken)
            note = f" (resume broken on purpose: {broken})" if broken else ""
            step(f"running '{sample.PROCEDURE}' of '{sample.PROJECT}': {len(sample.STEPS)} steps, "
                 f"step {sample.FAILING_STEP} fails{note}")
            first = api.wait_for_job(run_sample(api), JOB_TIMEOUT)
            step(f"fixing step {sample.FAILING_STEP} (modifyStep) and clicking '{RESTART_LINK}'")
            fix_failing_step(api, markers)
            second: Optional[Dict[str, Any]] = None
            try:
                second = api.wait_for_job(follow(api, restart_link(api, first["jobId"])), JOB_TIMEOUT)
                verdict = judge(first, second, count_runs(markers))
            except (DemoError, JobTimeout) as exc:  # no restarted job to show: the verdict says why
                verdict = Verdict(False, str(exc))
        for title, job in (("first job", first), ("restarted job", second)):
            if job is not None:
                out("")
                out("\n".join(format_table(title, job)))
        out("")
        out(f"jar: {jar}")
        out(verdict.text)
        return 0 if verdict.ok else 1
    finally:
        emulator.stop()
        shutil.rmtree(markers, ignore_errors=True)


def serve_guide(url: str, user: str, password: str, failed: Mapping[str, Any], link: str,
                markers: Path) -> List[str]:
    """What to try against `build.py serve`: shell commands that work when pasted in the repository folder.

    `failed` is the sample job serve ran at start (it failed at its failing step) and `link` its stored
    restart link; the commands plan its restart, fix the step, click the link, or restart from the terminal.
    """
    job_id = str(failed.get("jobId", ""))
    step = sample.STEPS[sample.FAILING_STEP - 1]
    auth = shlex.quote(f"{user}:{password}")
    route = "/rest/v1.0/projects/{}/procedures/{}/steps/{}".format(
        *(quote(part, safe="") for part in (sample.PROJECT, sample.PROCEDURE, step.name)))
    fix_body = json.dumps({"command": sample.fixed_step_command(markers)})
    login = " ".join(f"{name}={shlex.quote(value)}" for name, value in
                     (("COMMANDER_URL", url), ("COMMANDER_USER", user), ("COMMANDER_PASSWORD", password)))
    cli = f"{login} PYTHONPATH=lib python3 -m ec_resume.cli"
    return [
        f"  job {job_id} ran it and failed at step {sample.FAILING_STEP} '{step.name}' "
        f"(page: {url}/commander/link/jobDetails/jobs/{job_id}).",
        "  Try, from this folder:",
        "    # what a restart would skip and run",
        f"    {cli} plan {job_id}",
        f"    # fix step {sample.FAILING_STEP} (the sample's cause of failure)",
        f"    curl -fsS -u {auth} -X PUT {shlex.quote(url + route)} -H 'Content-Type: application/json' "
        f"-d {shlex.quote(fix_body)}",
        f"    # click the job's stored '{RESTART_LINK}' link: prints the page of the job it started",
        f"    curl -fsS -u {auth} -o /dev/null -w '%header{{location}}\\n' {shlex.quote(url + link)}",
        "    # or restart it from the terminal and wait for the outcome",
        f"    {cli} restart {job_id} --wait",
    ]


def serve_bare(port: int, out: Printer) -> int:
    """Only the emulator, no plugin and no sample, until Ctrl-C or SIGTERM: the server of the test suite.

    Its first two lines are its address and login (devtools/test_servers.py reads them)."""
    emulator = _started_emulator(port)
    try:
        out(f"CloudBees CD/RO emulator at {emulator.url}")
        out(f"  user: {emulator.admin_user}   password: {emulator.admin_password}")
        wait_until_interrupted(out)
        return 0
    finally:
        emulator.stop()


def serve(jar: Path, port: int, step: Printer, out: Printer) -> int:
    """Run the emulator with `jar` and the sample procedure installed until Ctrl-C or SIGTERM."""
    step("starting the embedded CD/RO emulator")
    emulator = _started_emulator(port)
    markers = Path(tempfile.mkdtemp(prefix="ec-resume-serve-"))
    try:
        step(f"installing {plugin_name_of(jar)} and the sample procedure")
        with _admin(emulator) as api:
            name = install_jar(api, jar)
            define_sample(api, markers, None)
            failed = api.wait_for_job(run_sample(api), JOB_TIMEOUT)
            link = restart_link(api, failed["jobId"])
        url, user, password = emulator.url, emulator.admin_user, emulator.admin_password
        out(f"CloudBees CD/RO emulator at {url}")
        out(f"  user: {user}   password: {password}")
        out(f"  REST: {url}/rest/v1.0   XML API: {url}/commanderRequest")
        out(f"  plugin {name} promoted; project '{sample.PROJECT}', procedure '{sample.PROCEDURE}' "
            f"(markers in {markers})")
        for line in serve_guide(url, user, password, failed, link, markers):
            out(line)
        out("Press Ctrl-C to stop.")
        wait_until_interrupted(out)
        return 0
    finally:
        emulator.stop()
        shutil.rmtree(markers, ignore_errors=True)
