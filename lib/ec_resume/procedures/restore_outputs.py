"""Step code of ResumableStep's first step, restoreOutputs: in a resumed job, before the command's own
step (runCommand) decides whether to run.

When the resume rule will skip runCommand (it is done in an earlier job of the chain), this step makes
the skip lossless, or turns it into a run:
1. the files the earlier run recorded (its `outputs`) are copied from where that run kept them into this
   job's workspace and each is checked against its size and SHA-256; a missing or changed file writes
   ``/myJob/ec_resume/runAgain/<runCommand's path>``, which makes the run condition run the command again,
   and the reason goes into the summary of the ResumableStep call;
2. otherwise the call step and runCommand get what they had in that run: custom properties, output
   parameters, summaries, with their provenance.
When the rule runs the command anyway, runAgain is written too, so this step and the run condition can
never disagree into a skip with nothing restored. Anything that fails here ends in runAgain; only when
even that cannot be written does the step fail, and its errorHandling (abortProcedure) keeps the command
from being skipped.
"""

from __future__ import annotations

import os
import sys

from ..carry_over import write_all
from ..client_errors import RequestRefused
from ..job_steps import JOB_STEPS_JOINER, is_odd_name
from ..outputs import Manifest, restore
from ..report import explain
from ..step_reuse import ResumedJob, call_parameter_names, copy_step, row_at, row_by_path, run_again_path
from .step_io import step_main, write_summary

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: see docs/ARCHITECTURE.md
    from typing import Any, List, Mapping, Optional, TextIO

PROG = "ResumableStep"
COMMAND_STEP = "runCommand"
MANIFEST = "ec_resume/outputs"


class BadInput(Exception):
    """Input the step cannot work with; str() is the one line the user sees."""


def _run_again(client: Any, job_id: str, command_path: str, reason: str) -> None:
    """Make the run condition run the command. A path with an odd name cannot be written, and needs
    not be: the run condition always runs such a step."""
    if not any(is_odd_name(name) for name in command_path.split(JOB_STEPS_JOINER)):
        client.set_property(run_again_path(job_id, command_path), reason, expandable=False)


def _tell(client: Any, out: TextIO, lines: List[str], call_step_id: str = "") -> None:
    text = "\n".join(lines)
    print(text, file=out)
    write_summary(client, PROG, text, out)
    if call_step_id:
        try:
            client.set_property("summary", text, jobStepId=call_step_id)
        except Exception as exc:  # the decision is written; a summary is only words
            print(f"{PROG}: warning: the call's summary could not be written: {exc}", file=out)


def _declared_outputs(client: Any) -> bool:
    """Whether this call names outputs ([U] the call's parameter, read by its relative name); a read that
    fails counts as yes, so that a skip never goes ahead without its files."""
    try:
        return bool((client.get_property("outputs") or "").strip())
    except RequestRefused:
        return True


def run(client: Any, env: Mapping[str, str], out: TextIO) -> int:
    job_id = env.get("COMMANDER_JOBID", "").strip()
    own = env.get("COMMANDER_JOBSTEPID", "").strip()
    if not job_id or not own:
        raise BadInput("COMMANDER_JOBID or COMMANDER_JOBSTEPID is not set: expected to run as a job step")
    try:
        ref = (client.get_property(f"/jobs/{job_id}/jobToRestart") or "").strip()
    except RequestRefused:  # e.g. it does not expand: the run condition reads it as empty and runs
        ref = ""
    if not ref:
        return 0  # a fresh run: nothing to restore
    details = client.get_job_details(job_id)
    own_row = row_at(details, own)
    if own_row is None or JOB_STEPS_JOINER not in own_row.path:
        raise BadInput(f"job step {own} is not a step of a ResumableStep call in job {job_id}")
    call_path = own_row.path.rsplit(JOB_STEPS_JOINER, 1)[0]
    command_path = call_path + JOB_STEPS_JOINER + COMMAND_STEP
    try:
        return _restore(client, env, out, details, call_path, command_path)
    except Exception as exc:  # whatever went wrong, the command runs rather than being skipped blind
        reason = f"outputs and properties could not be restored ({' '.join(str(exc).split())})"
        _run_again(client, job_id, command_path, reason)
        _tell(client, out, [f"{command_path} runs again: {reason}."])
        return 0


def _restore(client: Any, env: Mapping[str, str], out: TextIO, details: Mapping[str, Any], call_path: str,
             command_path: str) -> int:
    job_id = str(details.get("jobId") or "")
    call_row, command_row = row_by_path(details, call_path), row_by_path(details, command_path)
    if call_row is None or command_row is None:
        # [U] the server creates a call's steps (pending) when the call starts, as the emulator does
        _run_again(client, job_id, command_path, f"{COMMAND_STEP} is not in the job yet")
        _tell(client, out, [f"{command_path} runs: it is not in the job yet, so nothing could be restored."])
        return 0
    resumed = ResumedJob(client, details)
    decision = resumed.decide(command_row)
    if not decision.done:
        words = explain(decision, {})
        _run_again(client, job_id, command_path, f"the resume runs it: {words}")
        _tell(client, out, [f"{command_path} runs ({words}): nothing to restore."])
        return 0
    source_job = decision.job_id
    source_call, source_command = (resumed.source_row(source_job, call_path),
                                   resumed.source_row(source_job, command_path))
    if source_call is None or source_command is None:
        raise RuntimeError(f"step {call_path} is not in job {source_job}")
    files = []
    text = client.get_property(MANIFEST, expand=False, jobStepId=source_call.record.job_step_id)
    if text:
        manifest = Manifest.from_text(text)
        problems = restore(manifest, env.get("COMMANDER_WORKSPACE", "").strip() or os.getcwd())
        if problems:
            label = resumed.label(source_job)
            reason = f"its outputs from job {label} did not pass the check: " + "; ".join(problems)
            _run_again(client, job_id, command_path, reason)
            _tell(client, out, [f"{call_path} runs again: {reason}."], call_row.record.job_step_id)
            return 0
        files = [f.to_json() for f in manifest.files]
    elif _declared_outputs(client):
        reason = f"job {resumed.label(source_job)} holds no record of its outputs"
        _run_again(client, job_id, command_path, reason)
        _tell(client, out, [f"{call_path} runs again: {reason}."], call_row.record.job_step_id)
        return 0
    call_copy = copy_step(client, resumed, source_job, source_call, call_row,
                          also_exclude=call_parameter_names(source_call), files=files)
    command_copy = copy_step(client, resumed, source_job, source_command, command_row, index=False)
    written = write_all(client, [*call_copy.requests, *command_copy.requests])
    lines = [call_copy.provenance.line(), *call_copy.provenance.problems]
    lines += [f"not written: {what}: {why}" for what, why in written.failed]
    _tell(client, out, lines)
    return 0


def ending_skipped(work: Any) -> Any:
    """ResumableStep's own steps end skipped when they succeed, so that the call's outcome is the
    command's (a call whose command was skipped by the resume is itself skipped). [U] A step may give
    itself the outcome skipped, as the emulator allows."""
    def wrapped(client: Any, env: Mapping[str, str], out: TextIO) -> int:
        code = work(client, env, out)
        if code == 0:
            client.set_property("/myJobStep/outcome", "skipped")
        return code

    return wrapped


def main(argv: Optional[List[str]] = None) -> int:
    return step_main(PROG, ending_skipped(run), (BadInput,))


if __name__ == "__main__":
    sys.exit(main())
