"""Which of a job's parameters a restart carries: one rule for the restart links and the CLI alike.

A restart carries the job's actual parameters that are still formal parameters of its procedure, in the
procedure's order, with the first value of a name winning. It leaves out credential parameters (their
value names a credential the job was given, which a new run must be given anew) and parameters the
procedure no longer has (runProcedure would refuse them). ``jobToRestart`` is never carried: each
caller sets it anew (this job's id, or empty to run all steps again).
"""

from __future__ import annotations

from .records import record_type
from .resume_rule import JOB_TO_RESTART

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: see docs/ARCHITECTURE.md
    from typing import Any, Dict, List, Mapping, Sequence, Tuple

CREDENTIAL = "credential"  # a credential parameter
NOT_FORMAL = "not formal"  # no longer a parameter of the procedure


@record_type
class LeftOut:
    name: str
    why: str  # CREDENTIAL or NOT_FORMAL


@record_type
class CarriedParameters:
    carried: Tuple[Tuple[str, str], ...]  # (name, value), in formal parameter order; no jobToRestart
    left_out: Tuple[LeftOut, ...]  # the formal ones first, in formal order, then the others in job order
    has_job_to_restart: bool  # whether the procedure has a jobToRestart formal parameter at all


def formal_names(formal_parameters: Sequence[Mapping[str, Any]]) -> List[str]:
    return [str(f.get("formalParameterName", "")) for f in formal_parameters]


def credential_names(formal_parameters: Sequence[Mapping[str, Any]]) -> List[str]:
    return [str(f.get("formalParameterName", "")) for f in formal_parameters
            if str(f.get("type", "")).lower() == "credential"]


def restart_parameters(actual_parameters: Sequence[Tuple[str, str]],
                       formal_parameters: Sequence[Mapping[str, Any]],
                       job_to_restart_param: str = JOB_TO_RESTART) -> CarriedParameters:
    """What a new run of the job's procedure takes over from the job (see the module docstring)."""
    actual: Dict[str, str] = {}
    for name, value in actual_parameters:
        actual.setdefault(str(name), "" if value is None else str(value))
    formal = list(dict.fromkeys(formal_names(formal_parameters)))
    credentials = set(credential_names(formal_parameters))
    carried: List[Tuple[str, str]] = []
    left_out: List[LeftOut] = []
    for name in formal:
        if name not in actual or name == job_to_restart_param:
            continue
        if name in credentials:
            left_out.append(LeftOut(name, CREDENTIAL))
        else:
            carried.append((name, actual[name]))
    left_out += [LeftOut(name, NOT_FORMAL) for name in actual
                 if name not in formal and name != job_to_restart_param]
    return CarriedParameters(tuple(carried), tuple(left_out), job_to_restart_param in formal)
