"""`ectool` on the PATH of every job step, as a real agent has it: steps set and read properties through it
(`/myJob`, `/myJobStep`, relative names, nested sheets), a missing property fails the step with ectool's
error line in its log, and incrementProperty from parallel steps adds up exactly."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest
from conftest import ApiError, ServerApi, find_step, make_procedure

REPO = Path(__file__).resolve().parents[2]


def _run(api: ServerApi, steps: Dict[str, Dict[str, Any]]) -> Dict[str, Any]:
    project, procedure = make_procedure(api.call, steps, prefix="Ectool")
    return api.run_and_wait(project, procedure)


def _prop(api: ServerApi, job: Dict[str, Any], path: str) -> Any:
    return api.get_property(f"/jobs/{job['jobId']}/{path}")


def test_a_step_sets_a_job_property_and_a_later_step_reads_it_back(api: ServerApi) -> None:
    job = _run(api, {
        "set": {"command": "ectool setProperty /myJob/x hello"},
        "get": {"command": 'test "$(ectool getProperty /myJob/x)" = hello\n'
                           'ectool setProperty /myJob/copy "$(ectool getProperty /myJob/x) again"'},
    })
    assert job["outcome"] == "success", job
    assert _prop(api, job, "x") == "hello"
    assert _prop(api, job, "copy") == "hello again"


def test_relative_paths_resolve_against_the_calling_step(api: ServerApi) -> None:
    job = _run(api, {
        "mine": {"command": "ectool setProperty /myJobStep/note on-the-step\n"
                            "ectool setProperty relative written-relative\n"
                            'ectool setProperty --value "with spaces" --propertyName byOption\n'
                            'ectool setProperty onJob --value by-id --jobId "$COMMANDER_JOBID"\n'
                            'test "$(ectool getProperty relative)" = written-relative\n'
                            'test "$(ectool getProperty /myProject/projectName)" = '
                            '"$(ectool getProperty /myJob/projectName)"'},
        "other": {"command": 'ectool setProperty /myJob/seen "$(ectool getProperty '
                             '/myJob/jobSteps/mine/note)"'},
    })
    assert job["outcome"] == "success", job
    step = f"jobSteps/{find_step(job, 'mine')['jobStepId']}"
    assert api.get_property(f"/{step}/note") == "on-the-step"
    assert api.get_property(f"/{step}/relative") == "written-relative"  # the most specific object
    assert api.get_property(f"/{step}/byOption") == "with spaces"
    assert _prop(api, job, "onJob") == "by-id"
    assert _prop(api, job, "relative") is None
    assert _prop(api, job, "seen") == "on-the-step"


def test_nested_property_paths_create_their_sheets(api: ServerApi) -> None:
    job = _run(api, {
        "nest": {"command": "ectool setProperty /myJob/report/urls/main http://example.test/r\n"
                            'test "$(ectool getProperty /myJob/report/urls/main)" = http://example.test/r\n'
                            'ectool getProperties --path /myJob/report/urls > sheet.xml\n'
                            'ectool setProperty /myJob/sheet --valueFile sheet.xml'},
    })
    assert job["outcome"] == "success", job
    assert _prop(api, job, "report/urls/main") == "http://example.test/r"
    sheet = _prop(api, job, "sheet")
    assert "<propertyName>main</propertyName>" in sheet and "http://example.test/r" in sheet


def test_a_missing_property_fails_the_step_with_ectools_error_in_its_log(api: ServerApi) -> None:
    job = _run(api, {
        "missing": {"command": "ectool getProperty /myJob/nothing-here", "logFileName": "missing.log"},
        "report": {"command": 'ectool setProperty /myJob/missingLog "$(cat missing.log)"', "alwaysRun": "1"},
    })
    assert job["outcome"] == "error"
    missing = find_step(job, "missing")
    assert missing["outcome"] == "error" and missing["exitCode"] == "1", missing
    log = _prop(api, job, "missingLog")
    assert log.startswith("ectool error [NoSuchProperty]: "), log
    assert "nothing-here" in log and len(log.splitlines()) == 1


def test_an_unknown_command_is_one_line_and_exit_code_1(api: ServerApi) -> None:
    job = _run(api, {
        "unknown": {"command": 'out=$(ectool frobnicateProperty /myJob/x 2>&1); rc=$?\n'
                               'ectool setProperty /myJob/answer "$rc|$out"'},
        "bad": {"command": 'out=$(ectool getProperty /myJob/x extra 2>&1); rc=$?\n'
                           'ectool setProperty /myJob/extra "$rc|$out"'},
    })
    assert job["outcome"] == "success", job
    answer = _prop(api, job, "answer")
    assert answer.startswith("1|ectool error: unknown command 'frobnicateProperty'") and "\n" not in answer
    assert _prop(api, job, "extra").startswith("1|ectool getProperty: unexpected argument 'extra'")


PARALLEL_STEPS, INCREMENTS = 6, 5


def test_increment_property_from_parallel_steps_gives_the_exact_total(api: ServerApi) -> None:
    # Each step records every value incrementProperty answered: all of 1..N, each once, if it is atomic.
    loop = (f"for i in $(seq {INCREMENTS}); do\n"
            '  seen="$seen $(ectool incrementProperty /myJob/count)"\n'
            "done\n"
            'ectool setProperty "/myJob/seen/$(ectool getProperty /myJobStep/stepName)" "$seen"')
    steps: Dict[str, Dict[str, Any]] = {f"add{n}": {"command": loop, "parallel": "1"}
                                        for n in range(PARALLEL_STEPS)}
    steps["byTen"] = {"command": "ectool incrementProperty /myJob/tens 10\n"
                                 'test "$(ectool incrementProperty /myJob/tens 10)" = 20\n'
                                 'test "$(ectool incrementProperty /myJob/tens --incrementBy -5)" = 15'}
    job = _run(api, steps)
    assert job["outcome"] == "success", job
    total = PARALLEL_STEPS * INCREMENTS
    assert _prop(api, job, "count") == str(total)
    answered: List[int] = []
    for n in range(PARALLEL_STEPS):
        answered += [int(v) for v in _prop(api, job, f"seen/add{n}").split()]
    assert sorted(answered) == list(range(1, total + 1))
    assert _prop(api, job, "tens") == "15"


def test_increment_property_api_creates_at_the_amount_and_refuses_a_non_integer(api: ServerApi) -> None:
    project, _ = make_procedure(api.call, {}, prefix="Increment")
    where = {"projectName": project}
    first = api.xml("incrementProperty", propertyName="hits", incrementBy="3", **where)
    assert first["property"]["value"] == "3"
    second = api.call("incrementProperty", propertyName="hits", incrementBy="4", **where)
    assert second["property"]["value"] == "7"
    api.call("setProperty", propertyName="word", value="seven", **where)
    with pytest.raises(ApiError) as refused:
        api.call("incrementProperty", propertyName="word", incrementBy="1", **where)
    assert refused.value.code == "InvalidPropertyValue"
    with pytest.raises(ApiError) as bad_amount:
        api.call("incrementProperty", propertyName="hits", incrementBy="two", **where)
    assert bad_amount.value.code == "InvalidArgument"


# ------------------------------------------------------------------------ the emulator's ectool itself

_PROBE = """import sys, time
sys.path.insert(0, {repo!r})
from commander_emulator.ectool import main
code = main(sys.argv[1:], {env!r})
print(" ".join(sorted(sys.modules)), file=sys.stderr)
sys.exit(code)
"""


@pytest.mark.emulator_only
def test_ectool_outside_a_step_imports_little_and_starts_fast(api: ServerApi) -> None:
    host, port = api.base_url.split("//", 1)[1].split(":")
    env = {"COMMANDER_SERVER": host, "COMMANDER_PORT": port, "COMMANDER_SESSIONID": api.session_id}
    probe = _PROBE.format(repo=str(REPO), env=env)
    argv = [sys.executable, "-I", "-S", "-c", probe, "getServerStatus"]
    durations = []
    for _ in range(5):
        started = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, env=dict(os.environ))
        durations.append(time.perf_counter() - started)
        assert done.returncode == 0, done.stderr
    assert "<serverState>running</serverState>" in done.stdout
    modules = set(done.stderr.split())
    assert not modules & {"socket", "http", "http.client", "urllib", "lxml", "werkzeug", "xml.etree"}
    assert min(durations) < 0.5  # typically 20-40 ms; the bound only catches a heavy import creeping in


def test_a_session_error_is_ectools_error_line() -> None:
    from commander_emulator.ectool import error_line, parse_reply

    body = (b'<?xml version="1.0"?><responses><error><code>InvalidSession</code><message>No session'
            b'</message><details>log in</details></error></responses>')
    assert error_line(parse_reply(body)) == "ectool error [InvalidSession]: No session Details: log in"
