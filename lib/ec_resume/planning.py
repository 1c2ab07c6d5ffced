"""What a restart will do, step by step, read from the server: the plan behind `ec-resume plan`,
RestartJob's plan and CreateRestartLink's summary.

(First cut: delegates to report.build_plan over the restart chain; the walk of the current procedure
definition replaces it.)
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

from .client import CommanderClient, NotFound
from .job_steps import JOB_STEPS_JOINER, job_step_records
from .report import RestartPlan, build_plan
from .resume_rule import JobView, parse_done_outcomes, parse_max_depth

PLUGIN_SETTINGS = "/plugins/EC-Resume/project/resume/"
DONE_OUTCOMES_PARAMETER = "resumeDoneOutcomes"


def _setting(client: CommanderClient, name: str) -> Optional[str]:
    try:
        return client.get_property(PLUGIN_SETTINGS + name)
    except NotFound:  # plugin not installed, or an older one without the setting
        return None


def plan_restart(client: CommanderClient, job: Mapping[str, Any], new_parameters: Mapping[str, str],
                 from_step: str = "") -> RestartPlan:
    """What a new job of `job`'s procedure with `new_parameters` will skip and run."""
    own = (new_parameters.get(DONE_OUTCOMES_PARAMETER) or "").strip()
    done_text = own or _setting(client, "doneOutcomes")
    done = parse_done_outcomes((done_text or "").lower())
    depth = parse_max_depth(_setting(client, "maxChainDepth"))
    chain: List[Mapping[str, Any]] = [job]
    view = JobView.from_job_details(job)
    views: Dict[str, JobView] = {view.job_id: view}
    while len(chain) < depth and view.job_to_restart and view.job_to_restart not in views:
        ref = view.job_to_restart
        try:
            earlier = client.get_job_details(ref)
        except NotFound:
            break
        view = JobView.from_job_details(earlier)
        views[ref] = views.get(view.job_id, view)
        if view.job_id in views and views[view.job_id] is not view:
            break
        views[view.job_id] = view
        chain.append(earlier)
    return build_plan(chain, views, done, depth)


def validate_from_step(job: Mapping[str, Any], from_step: str) -> Optional[str]:
    """An error line when `from_step` is not a step path of `job`; None when it is (or is empty)."""
    wanted = (from_step or "").strip()
    if not wanted:
        return None
    paths = [record.path for record in job_step_records(job)]
    if wanted in paths:
        return None
    tops = ", ".join(p for p in paths if JOB_STEPS_JOINER not in p) or "none"
    return (f"start step '{wanted}': not a step of job {job.get('jobId', '')}; expected a step path such "
            f"as deploy{JOB_STEPS_JOINER}upload (top-level steps: {tops})")
