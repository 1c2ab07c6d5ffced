"""An in-memory stand-in for CommanderClient, for unit tests of the agent's restart, lineage and CLI code.

Properties live in one dict by absolute path; a sheet is every path below it. Jobs are getJobDetails
records; runProcedure appends a new one (and can be told to lose its reply after acting). Every call is
logged as (api, argument), so a test can count launches and writes.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from ec_resume.client_errors import NotFound, PropertyNotFound, ReplyLost


def param_list(params: Mapping[str, str]) -> List[Dict[str, str]]:
    return [{"actualParameterName": k, "value": v} for k, v in params.items()]


class FakeCommander:
    def __init__(self, jobs: Optional[Dict[str, Dict[str, Any]]] = None,
                 formals: Optional[Dict[Tuple[str, str], List[Dict[str, Any]]]] = None,
                 properties: Optional[Dict[str, str]] = None) -> None:
        self.jobs: Dict[str, Dict[str, Any]] = dict(jobs or {})
        self.formals = dict(formals or {})
        self.properties: Dict[str, str] = dict(properties or {})
        self.credentials: Dict[Tuple[str, str], bool] = {}
        self.log: List[Tuple[str, Any]] = []
        self.lose_launch_replies = 0  # runProcedure acts, then raises ReplyLost, this many times
        self.on_launch: Optional[Callable[[str], None]] = None
        self.base_url = "http://fake:8000"
        self.timeout = 30.0
        self._next = 100

    # ------------------------------------------------------------------------------------ properties

    def get_property(self, path: str, expand: bool = True, **locator: Any) -> Optional[str]:
        self.log.append(("getProperty", path))
        if path.startswith("/jobs/"):
            job_id, _, rest = path[len("/jobs/"):].partition("/")
            job = self.jobs.get(job_id)
            if rest in ("jobName", "jobId", "projectName", "procedureName", "status") and job is not None:
                return str(job.get(rest, ""))
        return self.properties.get(path)

    def set_property(self, path: str, value: str, expandable: Optional[bool] = None, **locator: Any) -> None:
        self.log.append(("setProperty", path))
        self.properties[path] = value

    def create_property(self, path: str, value: str, **locator: Any) -> bool:
        self.log.append(("createProperty", path))
        if path in self.properties:
            return False
        self.properties[path] = value
        return True

    def delete_property(self, path: str, **locator: Any) -> bool:
        self.log.append(("deleteProperty", path))
        below = [p for p in self.properties if p == path or p.startswith(path + "/")]
        for p in below:
            del self.properties[p]
        return bool(below)

    def get_properties(self, path: str, expand: bool = False, **locator: Any) -> Dict[str, str]:
        self.log.append(("getProperties", path))
        prefix = path.rstrip("/") + "/"
        return {p[len(prefix):]: v for p, v in self.properties.items()
                if p.startswith(prefix) and "/" not in p[len(prefix):]}

    # ------------------------------------------------------------------------------------------ jobs

    def get_job_details(self, job_id: str) -> Dict[str, Any]:
        self.log.append(("getJobDetails", job_id))
        for job in self.jobs.values():
            if job_id in (job["jobId"], job.get("jobName")):
                return job
        raise NotFound("NoSuchJob", f"Job '{job_id}' does not exist", 404)

    def get_job_status(self, job_id: str) -> Dict[str, Any]:
        job = self.get_job_details(job_id)
        return {"jobId": job["jobId"], "status": job.get("status", ""), "outcome": job.get("outcome", "")}

    def get_formal_parameters(self, project: str, procedure: str) -> List[Dict[str, Any]]:
        self.log.append(("getFormalParameters", (project, procedure)))
        if (project, procedure) not in self.formals:
            raise NotFound("NoSuchProcedure", f"Procedure '{procedure}' does not exist", 404)
        return self.formals[(project, procedure)]

    def get_jobs(self, project: str, procedure: str,
                 max_results: Optional[int] = None) -> List[Dict[str, Any]]:
        self.log.append(("getJobs", (project, procedure)))
        found = [j for j in reversed(list(self.jobs.values()))
                 if j.get("projectName") == project and j.get("procedureName") == procedure]
        return found if max_results is None else found[:max_results]

    def credential_exists(self, project: str, credential: str) -> Optional[bool]:
        return self.credentials.get((project, credential), False)

    def run_procedure(self, project: str, procedure: str, params: Mapping[str, str],
                      credential_references: Sequence[Mapping[str, str]] = ()) -> str:
        self.log.append(("runProcedure", dict(params)))
        self._next += 1
        job_id = str(self._next)
        actual = dict(params)
        actual.update({r["name"]: r["value"] for r in credential_references})
        self.jobs[job_id] = {"jobId": job_id, "jobName": f"job_{job_id}", "projectName": project,
                             "procedureName": procedure, "status": "running", "outcome": "",
                             "actualParameter": param_list(actual), "jobStep": []}
        if self.on_launch:
            self.on_launch(job_id)
        if self.lose_launch_replies:
            self.lose_launch_replies -= 1
            raise ReplyLost("runProcedure: cannot reach http://fake:8000: the connection closed without an "
                            "answer after the request was sent")
        return job_id

    def call(self, api: str, http_method: str, path: str, params: Any = None, body: Any = None,
             **kwargs: Any) -> Dict[str, Any]:
        self.log.append((api, path))
        raise PropertyNotFound("NoSuchProperty", f"{api} is not faked", 404)

    def count(self, api: str) -> int:
        return sum(1 for name, _ in self.log if name == api)

