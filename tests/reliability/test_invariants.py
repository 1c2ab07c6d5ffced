"""Invariants of the resume rule over generated job trees (hypothesis): a step is skipped only when it is
done, and a step that is plainly done is skipped. The rule is the Python one that the plan uses; the
shared case table proves the run condition gives the same answers."""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from ec_resume.job_steps import JOB_STEPS_JOINER, is_odd_name
from ec_resume.resume_rule import NO_FAILURE, JobFacts, RuleSettings, StepFacts, decide
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

NAMES = st.sampled_from(["build", "test", "deploy", "smoke", "a b", "x/y", "[lead", "n$[x]", "ü"])
OUTCOMES = st.sampled_from(["success", "error", "warning", "skipped", "notRun", "", "SUCCESS"])
DONE = frozenset({"success"})
EXAMPLES = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def stamp(second: int) -> str:
    return f"2024-05-01T10:{second // 60:02d}:{second % 60:02d}.000Z"


@st.composite
def paths(draw: st.DrawFn) -> List[Tuple[str, ...]]:
    """Step paths in job order: top-level steps, some of them calls with steps of their own."""
    found: List[Tuple[str, ...]] = []

    def level(prefix: Tuple[str, ...], depth: int) -> None:
        for name in draw(st.lists(NAMES, min_size=1, max_size=4, unique=True)):
            found.append(prefix + (name,))
            if depth < 3 and draw(st.booleans()):
                level(prefix + (name,), depth + 1)

    level((), 1)
    return found


@st.composite
def worlds(draw: st.DrawFn) -> Tuple[JobFacts, JobFacts, RuleSettings, List[Tuple[str, ...]]]:
    """The job to restart (completed, same procedure, with any outcomes and start times, and a failure
    record that is a time, 'none' or missing) and the new job that restarts it."""
    tree = draw(paths())
    earlier: Dict[str, StepFacts] = {}
    for names in tree:
        outcome = draw(OUTCOMES)
        if outcome:
            start = draw(st.one_of(st.none(), st.integers(0, 300)))
            at = stamp(start) if start is not None else ""
            earlier[JOB_STEPS_JOINER.join(names)] = StepFacts(outcome, at)
    failed_at = draw(st.one_of(st.just(""), st.just(NO_FAILURE), st.integers(0, 300).map(stamp)))
    old = JobFacts(job_id="J1", project="P", procedure="Main", status="completed", steps=earlier,
                   failed_at=failed_at)
    current_steps = {JOB_STEPS_JOINER.join(n): StepFacts(job_step_id=f"id-{i}") for i, n in enumerate(tree)
                     if not any(is_odd_name(x) for x in n)}
    from_step = draw(st.one_of(st.just(""), st.sampled_from([JOB_STEPS_JOINER.join(n) for n in tree])))
    new = JobFacts(job_id="J2", project="P", procedure="Main", status="running", job_to_restart="J1",
                   steps=current_steps, from_step=from_step)
    rule = draw(st.sampled_from(["afterFailure", "perStep"]))
    return old, new, RuleSettings(DONE, 10, rule), tree


def decision(world: Tuple[JobFacts, JobFacts, RuleSettings, List[Tuple[str, ...]]], names: Tuple[str, ...],
             index: int) -> bool:
    old, new, rule_settings, _ = world
    return decide(names, f"id-{index}", new, {"J1": old}.get, rule_settings).done


def in_or_after_start_step(path: str, old: JobFacts, start_step: str) -> bool:
    if not start_step:
        return False
    if path == start_step or path.startswith(start_step + JOB_STEPS_JOINER) or \
            start_step.startswith(path + JOB_STEPS_JOINER):
        return True
    started = old.steps.get(start_step, StepFacts()).start
    own = old.steps.get(path, StepFacts())
    return not started or not own.start or own.start >= started


def plainly_done(old: JobFacts, path: str, names: Tuple[str, ...], rule: str, start_step: str) -> bool:
    """The spec, said directly: succeeded in the job it restarts, addressable, and (under afterFailure)
    started before a recorded failure; not at or after the start step."""
    facts = old.steps.get(path)
    if facts is None or facts.outcome.lower() not in DONE or any(is_odd_name(n) for n in names):
        return False
    if in_or_after_start_step(path, old, start_step):
        return False
    if rule == "perStep":
        return True
    return old.failed_at == NO_FAILURE or (old.failed_at != "" and bool(facts.start) and
                                            facts.start < old.failed_at)


@EXAMPLES
@given(worlds())
def test_a_step_is_skipped_exactly_when_it_is_done(world) -> None:
    old, new, rule_settings, tree = world
    for index, names in enumerate(tree):
        path = JOB_STEPS_JOINER.join(names)
        expected = plainly_done(old, path, names, rule_settings.rule, new.from_step)
        assert decision(world, names, index) == expected, (path, old.steps.get(path), old.failed_at)


@EXAMPLES
@given(worlds(), st.sampled_from(["error", "warning", "notRun", "skipped", ""]))
def test_a_step_that_did_not_succeed_always_runs(world, outcome: str) -> None:
    old, new, rule_settings, tree = world
    names = tree[0]
    path = JOB_STEPS_JOINER.join(names)
    steps = dict(old.steps)
    if outcome:
        steps[path] = StepFacts(outcome, stamp(1))
    else:
        steps.pop(path, None)
    changed = JobFacts(**{**old.__dict__, "steps": steps})
    assert not decide(names, "id-0", new, {"J1": changed}.get, rule_settings).done


def chain_world(outcomes: List[str], failed: List[Optional[int]]) -> Tuple[JobFacts, Dict[str, JobFacts]]:
    """Jobs J1 <- J2 <- ... each restarting the one before, with `build`'s outcome in each."""
    jobs = {}
    for i, (outcome, fail) in enumerate(zip(outcomes, failed), start=1):
        jobs[f"J{i}"] = JobFacts(job_id=f"J{i}", project="P", procedure="Main", status="completed",
                                 job_to_restart=f"J{i - 1}" if i > 1 else "",
                                 steps={"build": StepFacts(outcome, stamp(10))},
                                 failed_at=NO_FAILURE if fail is None else stamp(fail))
    new = JobFacts(job_id="NEW", project="P", procedure="Main", status="running",
                   job_to_restart=f"J{len(outcomes)}", steps={"build": StepFacts(job_step_id="id")})
    return new, jobs


@EXAMPLES
@given(st.lists(st.tuples(st.sampled_from(["success", "skipped", "error", "notRun"]),
                          st.one_of(st.none(), st.integers(0, 20))), min_size=1, max_size=12))
def test_through_a_chain_of_restarts_a_step_is_skipped_only_if_it_succeeded_at_the_end_of_its_skips(
        chain: List[Tuple[str, Optional[int]]]) -> None:
    outcomes, failed = [o for o, _ in chain], [f for _, f in chain]
    new, jobs = chain_world(outcomes, failed)
    skipped = decide(("build",), "id", new, jobs.get, RuleSettings(DONE, 10, "afterFailure")).done
    # Walk back from the newest job while build was skipped there (and it started before any failure).
    expected = False
    for depth, i in enumerate(range(len(chain) - 1, -1, -1), start=1):
        if depth > 10 or (failed[i] is not None and stamp(10) >= stamp(failed[i])):
            break
        if outcomes[i] == "success":
            expected = True
            break
        if outcomes[i] != "skipped" or i == 0:
            break
    assert skipped == expected, chain
