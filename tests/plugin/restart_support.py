"""What the end-to-end restart suites share: the `ec-resume` CLI run in-process, markers, the job tree in
job order, and the one check that a restart plan came true.

A work step appends a line to its own marker file before doing anything else, so a marker's count says
how often the step really ran. The check compares `ec-resume plan --json` with the restarted job step by
step, in job order (two steps may share a path, e.g. a top-level step named `x/jobSteps/y` beside the
child `y` of a call step `x`, so paths alone cannot pair them).
"""

from __future__ import annotations

import io
import json
import re
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

import requests
from conftest import ApiError, as_list
from ec_resume.cli import main

PLUGIN = "subproject: '/plugins/EC-Resume/project'"
SETTINGS = "/plugins/EC-Resume/project/resume/"
SKIP, RUN = "skip", "run"
# The interpreter the plugin's property names: a step command that needs Python runs it, on any agent.
AGENT_PYTHON = "$[/plugins/EC-Resume/project/resume/pythonInterpreter]"
EXIT_REFUSED = 3


# ------------------------------------------------------------------------------------------ the CLI


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str

    def json(self) -> Dict[str, Any]:
        assert self.code == 0, (self.code, self.out, self.err)
        return json.loads(self.out)


@dataclass(frozen=True)
class Cli:
    """`ec-resume` as a terminal user runs it: server, user and password in the environment."""

    env: Mapping[str, str]

    def __call__(self, *argv: str) -> CliResult:
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = main(list(argv), dict(self.env))
        return CliResult(code, out.getvalue(), err.getvalue())

    def plan(self, job_id: str, *options: str) -> Dict[str, Any]:
        return self("plan", job_id, "--json", *options).json()

    def restart(self, job_id: str, *options: str) -> str:
        """The id of the job `ec-resume restart` started."""
        return str(self("restart", job_id, "--json", *options).json()["newJobId"])


def cli_env(server: Any) -> Dict[str, str]:
    return server.cli_env()


# -------------------------------------------------------------------------------------------- markers


def mark(markers: Path, key: str) -> str:
    """A shell command that records one run of the step owning `key` (tmp_path holds no spaces)."""
    return f"echo run >> {markers.as_posix()}/{key}"


def counts(markers: Path) -> Dict[str, int]:
    """How many times each marker-writing step ran, by marker key."""
    return {p.name: len(p.read_text().splitlines()) for p in markers.iterdir()
            if p.is_file() and "." not in p.name}


def delta(before: Mapping[str, int], after: Mapping[str, int]) -> Dict[str, int]:
    return {k: after.get(k, 0) - before.get(k, 0) for k in set(before) | set(after)
            if after.get(k, 0) != before.get(k, 0)}


# ---------------------------------------------------------------------------------------- job trees


def job_steps_in_order(job: Mapping[str, Any]) -> List[Tuple[str, Dict[str, Any]]]:
    """(path, job step) for every step of a getJobDetails job, depth first, in job order."""
    found: List[Tuple[str, Dict[str, Any]]] = []

    def walk(steps: Any, prefix: str) -> None:
        for step in as_list(steps):
            path = f"{prefix}/jobSteps/{step['stepName']}" if prefix else str(step["stepName"])
            found.append((path, step))
            walk(step.get("calledProcedure", {}).get("jobStep"), path)

    walk(job.get("jobStep"), "")
    return found


def outcomes(job: Mapping[str, Any]) -> Dict[str, str]:
    """Outcome by path (a path two steps share keeps the later one; see job_steps_in_order)."""
    return {path: str(step.get("outcome", "")) for path, step in job_steps_in_order(job)}


OWN_STEPS = ("/jobSteps/restoreOutputs", "/jobSteps/recordOutputs")  # ResumableStep's own, always skip


def actions(plan: Mapping[str, Any]) -> List[Tuple[str, str]]:
    """(path, action) of the plan's steps, leaving out the steps of ResumableStep around its command
    (they end skipped in every job; `assert_plan_came_true` still checks them)."""
    return [(s["path"], s["action"]) for s in plan["steps"] if not s["path"].endswith(OWN_STEPS)]


def reason_of(plan: Mapping[str, Any], path: str, occurrence: int = 0) -> str:
    return [s["reason"] for s in plan["steps"] if s["path"] == path][occurrence]


def assert_plan_came_true(plan: Mapping[str, Any], restarted_id: str, new_job: Mapping[str, Any],
                          ran: Mapping[str, int], marker_of: Sequence[Tuple[str, str]]) -> None:
    """The plan of restarting `restarted_id` is what `new_job` did.

    Step by step in job order: a planned skip is a skipped step, or a step never created because a call
    above it was skipped; a planned run is a step that ran. `ran` is the marker count delta of the
    restart; `marker_of` lists (path, marker key) in job order for every marker-writing step: a run step's
    marker grew by one, a skipped step's did not grow, and no other marker moved.
    """
    assert plan["jobId"] == restarted_id, plan["jobId"]
    planned = [(s["path"], s["action"]) for s in plan["steps"]]
    assert all(action in (SKIP, RUN) for _, action in planned), planned
    happened = [(path, str(step.get("outcome", ""))) for path, step in job_steps_in_order(new_job)]
    skipped_calls: List[str] = []
    i = 0
    for path, action in planned:
        if i < len(happened) and happened[i][0] == path:
            outcome = happened[i][1]
            i += 1
            if action == SKIP:
                assert outcome == "skipped", f"planned skip, but {path!r} ended {outcome!r}"
                skipped_calls.append(path + "/jobSteps/")
            else:
                assert outcome not in ("skipped", ""), f"planned run, but {path!r} ended {outcome!r}"
        else:
            assert action == SKIP and any(path.startswith(c) for c in skipped_calls), (
                f"planned {action} for {path!r}, which the new job does not have "
                f"(next in the job: {happened[i][0] if i < len(happened) else 'nothing'!r})")
    assert i == len(happened), f"the plan leaves out steps the job ran: {happened[i:]}"

    seen: Dict[str, int] = {}
    expected: Dict[str, int] = {}
    for path, key in marker_of:
        nth = seen.get(path, 0)
        seen[path] = nth + 1
        action = [a for p, a in planned if p == path][nth]
        expected[key] = 1 if action == RUN else 0
    assert {k: ran.get(k, 0) for k in expected} == expected, (ran, planned)
    assert set(ran) <= set(expected), f"markers of steps outside the plan moved: {ran}"


# ---------------------------------------------------------------------------------- jobs and links


def parameters(job: Mapping[str, Any]) -> Dict[str, str]:
    return {p["actualParameterName"]: p.get("value", "") for p in as_list(job.get("actualParameter"))}


def property_sheet(api: Any, path: str) -> Dict[str, str]:
    """The properties of the sheet at `path` by name, not expanded; {} when there is no such sheet."""
    try:
        sheet = api.call("getProperties", path=path, expand="0")["propertySheet"]
    except ApiError as exc:
        if exc.code.startswith("NoSuch"):
            return {}
        raise
    return {p["propertyName"]: p.get("value", "") for p in as_list(sheet.get("property"))}


def report_urls(api: Any, job_id: str) -> Dict[str, str]:
    """The job's report-urls links by name."""
    return property_sheet(api, f"/jobs/{job_id}/report-urls")


def click(api: Any, server: Any, stored: str) -> requests.Response:
    """GET a stored link exactly as stored (a path below the server, or a full URL), as the job's user."""
    url = stored if re.match(r"https?://", stored) else server.url + stored
    return requests.get(url, cookies={"sessionId": api.session_id}, allow_redirects=False, timeout=30)


def follow_restart_link(api: Any, server: Any, stored: str) -> Dict[str, Any]:
    """Click a stored restart link and wait for the job it starts."""
    answer = click(api, server, stored)
    assert answer.status_code == 302, (answer.status_code, answer.text)
    job_id = re.search(r"/jobs/([^/?#]+)$", answer.headers["Location"]).group(1)
    return api.wait_for_job(job_id, timeout=60)


def step_summaries(api: Any, job: Mapping[str, Any]) -> Dict[str, str]:
    """Each step's summary property by path (steps without one left out)."""
    found = {}
    for path, step in job_steps_in_order(job):
        value = raw_property(api, "summary", jobStepId=step["jobStepId"])
        if value:
            found[path] = value
    return found


def raw_property(api: Any, path: str, **locators: str) -> Optional[str]:
    """A property's stored text, not expanded (a summary may quote `$[...]`); None when missing."""
    try:
        answer = api.call("getProperty", propertyName=path, expand="0", **locators)
    except ApiError as exc:
        if exc.code == "NoSuchProperty":
            return None
        raise
    return str(answer["property"].get("value", ""))


def run_request_count(api: Any) -> int:
    return int(api.control("GET", "requests")["count"].get("runProcedure", "0"))


@contextmanager
def plugin_setting(api: Any, name: str, value: str) -> Iterator[None]:
    """The plugin property resume/<name> set to `value` for the block, then put back as it was."""
    path = SETTINGS + name
    before: Optional[str] = api.get_property(path)
    api.call("setProperty", propertyName=path, value=value)
    try:
        yield
    finally:
        if before is None:
            api.call("deleteProperty", propertyName=path)
        else:
            api.call("setProperty", propertyName=path, value=before)


# ------------------------------------------------------------------------------------------ RestartJob

# A user procedure that runs the plugin's RestartJob (its step runs inside this job, so /myJob is it).
RESTARTER = f"""
  procedure 'Restarter', {{
    formalParameter 'target', defaultValue: '', type: 'entry'
    formalParameter 'overrides', defaultValue: '', type: 'textarea'
    formalParameter 'fromStep', defaultValue: '', type: 'entry'
    formalParameter 'dryRun', defaultValue: 'false', type: 'checkbox'
    step 'restart', subprocedure: 'RestartJob', {PLUGIN}, {{
      actualParameter 'jobId', '$[target]'
      actualParameter 'parameters', '$[overrides]'
      actualParameter 'fromStep', '$[fromStep]'
      actualParameter 'dryRun', '$[dryRun]'
    }}
  }}
"""


def run_restart_job(api: Any, project: str, target: str, options: Sequence[str] = (),
                    dry_run: bool = False) -> Dict[str, Any]:
    """RestartJob for `target` in a job of `project`'s Restarter, with the CLI's --param/--from-step
    `options` as its parameters; the Restarter job, completed."""
    overrides: List[str] = []
    from_step = ""
    pairs = list(zip(options[::2], options[1::2]))
    for flag, value in pairs:
        if flag == "--param":
            overrides.append(value)
        elif flag == "--from-step":
            from_step = value
        else:
            raise ValueError(f"no RestartJob parameter for {flag}")
    return api.run_and_wait(project, "Restarter", {
        "target": target, "overrides": "\n".join(overrides), "fromStep": from_step,
        "dryRun": "true" if dry_run else "false"}, timeout=60)


def launched_by(api: Any, runner: Mapping[str, Any]) -> Dict[str, Any]:
    """The job a RestartJob run launched (its /myJob/ec_resume/launched), completed."""
    assert runner["outcome"] != "error", step_summaries(api, runner)
    new_id = api.get_property(f"/jobs/{runner['jobId']}/ec_resume/launched")
    assert new_id, "RestartJob wrote no ec_resume/launched"
    return api.wait_for_job(new_id, timeout=60)
