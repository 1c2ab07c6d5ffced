"""The evaluation context of an API call or an expansion: who asks, and from where.

CD/RO resolves relative property names and `/my*` shortcuts against the object the call names
(jobStepId, jobId, projectName/procedureName, ...). Inside a job step the client adds the step's id
implicitly (commander-api.md §1, "Implicit jobStepId"), so most agent calls arrive with a jobStepId.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional

from .model import Job, JobStep, Store


@dataclass
class Context:
    store: Store
    user_name: Optional[str] = None
    job: Optional[Job] = None
    job_step: Optional[JobStep] = None
    project_name: Optional[str] = None
    procedure_name: Optional[str] = None

    @classmethod
    def from_args(cls, store: Store, args: Dict[str, Any], user_name: Optional[str] = None) -> Context:
        """Build the context from an API call's locator arguments (jobStepId, jobId, projectName, ...)."""
        ctx = cls(store=store, user_name=user_name)
        if args.get("jobStepId"):
            ctx.job_step = store.job_step(str(args["jobStepId"]))
            ctx.job = ctx.job_step.job
            ctx.project_name = ctx.job_step.project_name
            ctx.procedure_name = ctx.job_step.procedure_name
        elif args.get("jobId"):
            ctx.job = store.job(str(args["jobId"]))
            ctx.project_name = ctx.job.project_name
            ctx.procedure_name = ctx.job.procedure_name
        if args.get("projectName"):
            ctx.project_name = str(args["projectName"])
        if args.get("procedureName"):
            ctx.procedure_name = str(args["procedureName"])
        return ctx

    @classmethod
    def for_job_step(cls, job_step: JobStep, user_name: Optional[str] = None) -> Context:
        return cls(store=_store_of(job_step), user_name=user_name or job_step.job.launched_by,
                   job=job_step.job, job_step=job_step, project_name=job_step.project_name,
                   procedure_name=job_step.procedure_name)


def _store_of(job_step: JobStep) -> Store:
    store = job_step.job.store
    if store is None:
        raise RuntimeError("job has no store attached; the engine sets job.store when it creates a job")
    return store
