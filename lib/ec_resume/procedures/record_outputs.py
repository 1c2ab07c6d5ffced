"""Step code of ResumableStep's last step, recordOutputs: after the command succeeded, the files its
`outputs` parameter names (paths or glob patterns relative to the workspace, one a line) are kept and
recorded, so that a restart that skips the command can restore them and check them.

Each matching file is copied to the keep directory (by default below the job's own workspace, [U] which
CD/RO keeps until the job is deleted; the plugin setting resume/outputStore can name a directory all
agents share) and recorded with its size and SHA-256 in ``ec_resume/outputs`` of the ResumableStep call.
A command that did not succeed, or was skipped by a resume (its files were restored), records nothing.
"""

from __future__ import annotations

import sys

from ..job_steps import JOB_STEPS_JOINER
from ..outputs import BadOutputs, keep_dir, match_files, parse_patterns, record
from ..plugin_settings import setting
from ..step_reuse import row_at, row_by_path
from .restore_outputs import COMMAND_STEP, MANIFEST, BadInput, ending_skipped
from .step_io import step_main, write_summary

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: see docs/ARCHITECTURE.md
    from typing import Any, List, Mapping, Optional, TextIO

PROG = "ResumableStep"
OUTPUT_STORE = "outputStore"
RECORDED_OUTCOMES = ("success", "warning")
SHOWN = 5


def run(client: Any, env: Mapping[str, str], out: TextIO) -> int:
    job_id = env.get("COMMANDER_JOBID", "").strip()
    own = env.get("COMMANDER_JOBSTEPID", "").strip()
    workspace = env.get("COMMANDER_WORKSPACE", "").strip()
    patterns = parse_patterns(client.get_property("outputs"))  # [U] the call's parameter, by relative name
    if not patterns:
        return 0
    if not job_id or not own or not workspace:
        raise BadInput("COMMANDER_JOBID, COMMANDER_JOBSTEPID or COMMANDER_WORKSPACE is not set: expected "
                       "to run as a job step")
    details = client.get_job_details(job_id)
    own_row = row_at(details, own)
    if own_row is None or JOB_STEPS_JOINER not in own_row.path:
        raise BadInput(f"job step {own} is not a step of a ResumableStep call in job {job_id}")
    call_path = own_row.path.rsplit(JOB_STEPS_JOINER, 1)[0]
    call_row = row_by_path(details, call_path)
    command = row_by_path(details, call_path + JOB_STEPS_JOINER + COMMAND_STEP)
    outcome = command.record.outcome.strip().lower() if command is not None else ""
    if call_row is None or outcome not in RECORDED_OUTCOMES:
        why = "restored from the job it resumes" if outcome == "skipped" else f"the command ended '{outcome}'"
        write_summary(client, PROG, f"Outputs not recorded: {why}.", out)
        return 0
    files, unmatched = match_files(workspace, patterns)
    keep = keep_dir(workspace, setting(client, OUTPUT_STORE) or "", job_id, call_row.record.job_step_id)
    manifest = record(workspace, files, keep, job_id, call_path)
    client.set_property(MANIFEST, manifest.to_text(), expandable=False, jobStepId=call_row.record.job_step_id)
    shown = ", ".join(f"{f.path} ({f.size} bytes, sha256 {f.sha256[:12]}…)" for f in manifest.files[:SHOWN])
    more = f" and {len(manifest.files) - SHOWN} more" if len(manifest.files) > SHOWN else ""
    lines = [f"Recorded {len(manifest.files)} output file(s) for a restart, kept in {keep}"
             + (f": {shown}{more}." if manifest.files else ".")]
    lines += [f"No file matches '{pattern}'." for pattern in unmatched]
    text = "\n".join(lines)
    print(text, file=out)
    write_summary(client, PROG, text, out)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    return step_main(PROG, ending_skipped(run), (BadInput, BadOutputs, OSError))


if __name__ == "__main__":
    sys.exit(main())
