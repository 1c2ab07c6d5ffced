"""The steps and parameters of a getJobDetails `job` object, read in one walk of its tree.

A step is identified across jobs by its *path*: the step names from the top of the job down through
subprocedure calls, joined by "/jobSteps/" (``deploy/jobSteps/upload``), which is also how a property
path addresses it (``/jobs/<id>/jobSteps/deploy/jobSteps/upload/outcome``).
"""

from __future__ import annotations

import gc
from collections import abc

from .records import record_type
from .rest_json import as_list

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: see docs/ARCHITECTURE.md
    from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple

JOB_STEPS_JOINER = "/jobSteps/"
# A name with one of these cannot be addressed by a property path without ambiguity ("x/jobSteps/y" is
# also call x's child y) or at all ("[lead" is an invalid property name).
ODD_CHARACTERS = frozenset("/[]$")


def is_odd_name(name: str) -> bool:
    """A step name a property path cannot address (such a step always runs)."""
    return not ODD_CHARACTERS.isdisjoint(name)


def is_mapping(value: Any) -> bool:
    """isinstance(value, Mapping), quick for the dicts of a REST answer (a typing alias checks slowly)."""
    return type(value) is dict or isinstance(value, abc.Mapping)


@record_type(slots=True)
class StepRecord:
    """What the resume rule knows of a step: where it sits and how it ended."""

    path: str
    step_name: str
    outcome: str
    status: str
    job_step_id: str
    start: str = ""  # the server's timestamps as given ("" when the step never started / finished)
    finish: str = ""


@record_type(slots=True)
class StepRow:
    """One job step with what the tables need besides its record: depth, raw object, owning project."""

    record: StepRecord
    depth: int  # 0 for a top-level step
    raw: Mapping[str, Any]
    project: str  # project of the procedure the step belongs to ("" when the server does not say)

    @property
    def path(self) -> str:
        return self.record.path


class no_cycle_collection:  # lower case: used as a function, `with no_cycle_collection():`
    """The cyclic garbage collector off while it lasts. What plans and reports build per step (records,
    lines, rows) holds no reference cycles; left on, the collector goes through every object again each few
    thousand made, so that 100,000 steps cost 20 times 10,000 instead of 10.
    (A class, not contextlib.contextmanager: contextlib would cost every plugin step 0.5 ms to import.)"""

    def __enter__(self) -> None:
        self._collecting = gc.isenabled()
        gc.disable()

    def __exit__(self, *_: Any) -> None:
        if self._collecting:
            gc.enable()


def walk_steps(job: Mapping[str, Any]) -> Iterator[Tuple[str, str, int, Mapping[str, Any], str]]:
    """(path, name, depth, step, project) for every step of `job`, depth first in job order: the one walk of
    a job tree. `step` is the step's own object of `job`, `project` that of the procedure the step belongs
    to ("" when the server does not say). step_rows makes its rows of it; a plan's walks of the restarted
    job take the tuples as they come, with no record per step, so that 100,000 steps leave nothing behind.

    A stack of the levels' iterators, not a function that calls itself: a generator per call step would
    cost each step of each level below it a resume."""
    levels = [(iter(as_list(job.get("jobStep"))), "", 0, str(job.get("projectName") or ""))]
    while levels:
        steps, above, depth, project = levels[-1]
        for step in steps:
            if type(step) is not dict and not isinstance(step, abc.Mapping):
                continue
            get = step.get
            name = str(get("stepName", ""))
            path = above + name
            yield path, name, depth, step, project
            called = get("calledProcedure")
            if called is not None and (type(called) is dict or isinstance(called, abc.Mapping)):
                levels.append((iter(as_list(called.get("jobStep"))), path + JOB_STEPS_JOINER if path else "",
                               depth + 1, str(called.get("projectName") or "")))
                break  # the call's steps next; this level goes on where it stopped once they are done
        else:
            levels.pop()


def step_record(path: str, name: str, step: Mapping[str, Any]) -> StepRecord:
    get = step.get
    return StepRecord(path, name, str(get("outcome") or ""), str(get("status") or ""),
                      str(get("jobStepId") or ""), str(get("start") or ""), str(get("finish") or ""))


def step_rows(job: Mapping[str, Any]) -> List[StepRow]:
    """Every step of `job`, depth first in job order, as rows."""
    return [StepRow(step_record(path, name, step), depth, step, project)
            for path, name, depth, step, project in walk_steps(job)]


def job_step_records(job: Mapping[str, Any]) -> List[StepRecord]:
    """Every step of `job`, depth first in job order, with its path."""
    return [row.record for row in step_rows(job)]


def addressable_steps(job: Mapping[str, Any]) -> Dict[str, StepRecord]:
    """The steps of `job` a property path reaches, by path: none with an odd name on its way down.

    So a top-level step named "x/jobSteps/y" never stands in for the child y of call x, as on the server.
    """
    return _addressable(job, False)


def addressable_raw_steps(job: Mapping[str, Any]) -> Mapping[str, Mapping[str, Any]]:
    """`addressable_steps` with each step's own object of `job` in place of its record: what a plan holds of
    the restarted job (the job must not change while the result is used).

    A job whose step names are all plain (`_plainly_named`) is answered path by path, each level of its
    tree indexed by name when a path first goes through it: a plan asks for the few steps it decides, and
    so holds no path per step of the job. Any other job is indexed whole, as `addressable_steps` does."""
    if _plainly_named(job):
        return _StepsByPath(job)
    return _addressable(job, True)


def _is_step(value: Any) -> bool:
    return type(value) is dict or isinstance(value, abc.Mapping)


def _plainly_named(job: Mapping[str, Any]) -> bool:
    """No step name with an odd character, and no top-level call named "" (whose steps' paths would read
    as top-level ones). Then no step is kept from a path by an odd name, a step's path is its names joined
    by JOB_STEPS_JOINER, and splitting a path at the joiner gives those names back (a name has no "/")."""
    clean = ODD_CHARACTERS.isdisjoint
    levels = [(job, True)]
    while levels:
        container, top = levels.pop()
        for step in as_list(container.get("jobStep")):
            if not _is_step(step):
                continue
            name = str(step.get("stepName", ""))  # as walk_steps reads it
            if not clean(name):
                return False
            called = step.get("calledProcedure")
            if called is not None and _is_step(called):
                if top and name == "":
                    return False
                levels.append((called, False))
    return True


class _StepsByPath(abc.Mapping):
    """The addressable steps of a plainly named job (see addressable_raw_steps) by path, found by their names
    level by level: the first step in job order whose names are the path's, as the whole index would keep.
    Iterating (which a plan does not) indexes the job whole."""

    __slots__ = ("_job", "_levels", "_whole")

    def __init__(self, job: Mapping[str, Any]) -> None:
        self._job = job
        self._levels: Dict[int, Dict[str, List[Mapping[str, Any]]]] = {}  # by id of the level's container
        self._whole: Optional[Dict[str, Mapping[str, Any]]] = None

    def _named(self, container: Mapping[str, Any]) -> Dict[str, List[Mapping[str, Any]]]:
        """The steps of one level (the job's top, or a call's), by name, in job order."""
        named = self._levels.get(id(container))  # the job holds the container: its id stays its own
        if named is None:
            named = {}
            for step in as_list(container.get("jobStep")):
                if _is_step(step):
                    named.setdefault(str(step.get("stepName", "")), []).append(step)
            self._levels[id(container)] = named
        return named

    def get(self, path: str, default: Any = None) -> Any:
        names = path.split(JOB_STEPS_JOINER)
        last = len(names) - 1
        # Depth first in job order through the steps named as the path says: the first found is the first
        # in job order. A stack of (depth, candidates left) rather than a function that calls itself.
        stack = [(0, iter(self._named(self._job).get(names[0], ())))]
        while stack:
            depth, candidates = stack[-1]
            for step in candidates:
                if depth == last:
                    return step
                called = step.get("calledProcedure")
                if called is not None and _is_step(called):
                    stack.append((depth + 1, iter(self._named(called).get(names[depth + 1], ()))))
                    break
            else:
                stack.pop()
        return default

    def __getitem__(self, path: str) -> Mapping[str, Any]:
        found = self.get(path)
        if found is None:
            raise KeyError(path)
        return found  # type: ignore[no-any-return]

    def __contains__(self, path: object) -> bool:
        return isinstance(path, str) and self.get(path) is not None

    def _all(self) -> Dict[str, Mapping[str, Any]]:
        if self._whole is None:
            self._whole = _addressable(self._job, True)
        return self._whole

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


def _addressable(job: Mapping[str, Any], raw: bool) -> Dict[str, Any]:
    found: Dict[str, Any] = {}
    odd: List[str] = []  # paths of the steps with odd names: what lies below them is not reached either
    clean = ODD_CHARACTERS.isdisjoint
    for path, name, _, step, _ in walk_steps(job):
        if not clean(name) or (odd and any(path.startswith(p + JOB_STEPS_JOINER) for p in odd)):
            odd.append(path)
        elif path not in found:
            found[path] = step if raw else step_record(path, name, step)
    return found


def outcome_property_path(job_id: str, step_path: str) -> str:
    return f"/jobs/{job_id}/jobSteps/{step_path}/outcome"


def actual_parameters(job: Mapping[str, Any]) -> List[Tuple[str, str]]:
    """The job's actual parameters as (name, value) pairs, in the order the server lists them."""
    pairs = []
    for item in as_list(job.get("actualParameter")):
        if is_mapping(item) and item.get("actualParameterName"):
            pairs.append((str(item["actualParameterName"]), str(item.get("value") or "")))
    return pairs
