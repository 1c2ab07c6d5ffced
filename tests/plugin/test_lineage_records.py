"""lineage: what a restart writes on the old and the new job, and the failure point, on a fake server."""

from __future__ import annotations

from typing import Any, Dict, List

from ec_resume.lineage import (
    CLI,
    LINK,
    RESTART_JOB,
    ensure_failure_point,
    read_lineage,
    record_lineage,
)
from fake_commander import FakeCommander


def job(job_id: str, steps: List[Dict[str, Any]] = ()) -> Dict[str, Any]:
    return {"jobId": job_id, "jobName": f"job_{job_id}", "projectName": "P", "procedureName": "Main",
            "status": "completed", "jobStep": list(steps)}


def links(fake: FakeCommander, job_id: str) -> Dict[str, str]:
    return fake.get_properties(f"/jobs/{job_id}/report-urls")


def test_both_ends_and_the_chain_root_across_three_jobs():
    fake = FakeCommander({n: job(n) for n in ("1", "2", "3")})
    record_lineage(fake, "2", "1", CLI)
    record_lineage(fake, "3", "2", RESTART_JOB)
    assert read_lineage(fake, "1").to_json()["resumedBy"] == {"2": CLI}
    two, three = read_lineage(fake, "2"), read_lineage(fake, "3")
    assert (two.resumes, two.chain_root, dict(two.resumed_by)) == ("1", "1", {"3": RESTART_JOB})
    assert (three.resumes, three.chain_root) == ("2", "1")  # a restart of a restart keeps the root
    assert links(fake, "3") == {"Resumes job_2": "/commander/link/jobDetails/jobs/2"}
    assert links(fake, "1") == {"Resumed by job_2": "/commander/link/jobDetails/jobs/2"}
    assert read_lineage(fake, "1").resumes == "" and read_lineage(fake, "1").chain_root == ""


def test_the_old_job_links_to_the_latest_and_keeps_every_entry():
    fake = FakeCommander({n: job(n) for n in ("1", "2", "3")})
    record_lineage(fake, "2", "1", CLI)
    record_lineage(fake, "3", "1", LINK)
    assert dict(read_lineage(fake, "1").resumed_by) == {"2": CLI, "3": LINK}
    assert links(fake, "1") == {"Resumed by job_3": "/commander/link/jobDetails/jobs/3"}
    record_lineage(fake, "2", "1", CLI)  # written again (idempotent): the latest link stays
    assert links(fake, "1") == {"Resumed by job_3": "/commander/link/jobDetails/jobs/3"}


def test_the_link_step_never_overwrites_how_a_job_was_launched_whichever_comes_first():
    fake = FakeCommander({n: job(n) for n in ("1", "2", "3")})
    record_lineage(fake, "2", "1", RESTART_JOB)
    record_lineage(fake, "2", "1", LINK)  # the new job's own CreateRestartLink, later
    record_lineage(fake, "3", "2", LINK)  # the new job's CreateRestartLink came first ...
    record_lineage(fake, "3", "2", CLI)  # ... then the CLI that launched it
    assert dict(read_lineage(fake, "1").resumed_by) == {"2": RESTART_JOB}
    assert dict(read_lineage(fake, "2").resumed_by) == {"3": CLI}


def test_the_link_step_racing_the_launcher_never_writes_over_its_word():
    """The launcher's write lands between the link step's read and its write: "link" must not win."""

    entry = "/jobs/1/ec_resume/resumedBy/2"

    class Racing(FakeCommander):
        """ec-resume's write lands right after the link step's first look at the entry, or before its
        first write."""

        def launcher_writes(self) -> None:
            self.properties.setdefault(entry, CLI)

        def get_property(self, path: str, *args: Any, **kwargs: Any) -> Any:
            value = super().get_property(path, *args, **kwargs)
            if path == entry:
                self.launcher_writes()
            return value

        def set_property(self, path: str, *args: Any, **kwargs: Any) -> None:
            if path == entry:
                self.launcher_writes()
            super().set_property(path, *args, **kwargs)

        def create_property(self, path: str, *args: Any, **kwargs: Any) -> bool:
            if path == entry:
                self.launcher_writes()
            return super().create_property(path, *args, **kwargs)

    fake = Racing({n: job(n) for n in ("1", "2")})
    record_lineage(fake, "2", "1", LINK)
    assert dict(read_lineage(fake, "1").resumed_by) == {"2": CLI}


def step(name: str, outcome: str, finish: str) -> Dict[str, Any]:
    return {"stepName": name, "outcome": outcome, "status": "completed", "start": finish, "finish": finish}


def test_the_failure_point_is_written_when_missing_or_changed_and_left_alone_when_right():
    failed = job("1", [step("build", "success", "2024-01-01T00:00:01.000Z"),
                       step("deploy", "error", "2024-01-01T00:00:02.000Z"),
                       step("smoke", "success", "2024-01-01T00:00:03.000Z")])
    fake = FakeCommander({"1": failed})
    point = ensure_failure_point(fake, failed)
    assert point is not None and point.path == "deploy"
    assert read_lineage(fake, "1").failed_step == "deploy"
    assert read_lineage(fake, "1").failed_at == "2024-01-01T00:00:02.000Z"
    writes = fake.count("setProperty")
    ensure_failure_point(fake, failed)
    assert fake.count("setProperty") == writes
    fake.properties["/jobs/1/ec_resume/failedStep"] = "build"  # stale: written while the job ran
    ensure_failure_point(fake, failed)
    assert read_lineage(fake, "1").failed_step == "deploy"
    clean = job("2", [step("build", "success", "2024-01-01T00:00:01.000Z")])
    fake.jobs["2"] = clean
    assert ensure_failure_point(fake, clean) is None
    lineage = read_lineage(fake, "2")
    assert (lineage.failed_at, lineage.failed_step) == ("", "")
    assert "/jobs/2/ec_resume/failedAt" in fake.properties  # written: empty means "no step failed"
