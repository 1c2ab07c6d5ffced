"""EnableResume and DisableResume decided: pure functions from a procedure's definition to the edits that
make it resumable, the record of them, and the edits that undo exactly what that record says was done.

Enabling a top-level procedure:
1. the formal parameter ``jobToRestart`` (empty default) unless it has one;
2. a call of the plugin's CarryOver placed first (lossless resume needs it before any resumable step);
3. the shared run condition on every step that has none, except steps the user excludes and EC-Resume's
   own calls (CarryOver, CreateRestartLink, ResumableStep: ResumableStep decides inside itself);
4. a last, always-run call of CreateRestartLink.
A step with a run condition of its own is refused unless the user asks to wrap it: then its condition is
`WRAPPED_CONDITION`, and the old text is kept on the step (`KEPT_CONDITION`), where the wrapper reads it.
A subprocedure (`top_level=False`) only gets the run conditions. Nothing is decided from a step's name
beyond the exclude list; a step is never given a condition that could skip it where its old one ran it,
except by the resume rule itself.

The record (`EnableRecord`, JSON in the procedure property `RECORD_PROPERTY`) says what was added and each
changed step's condition before and after, so that `plan_disable` puts back exactly that, and leaves a
step alone (with a note) whose condition someone changed since.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace

from .report import PLUGIN_RUN_CONDITION, has_resume_condition
from .resume_rule import JOB_TO_RESTART, is_plugin_project

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: see docs/ARCHITECTURE.md
    from typing import Any, List, Mapping, Optional, Sequence, Tuple, Union

PLUGIN_PROJECT_PATH = "/plugins/EC-Resume/project"
CARRY_OVER, RESTART_LINK, RESUMABLE_STEP = "CarryOver", "CreateRestartLink", "ResumableStep"
CARRY_OVER_STEP, RESTART_LINK_STEP = "EC-Resume carry over", "EC-Resume restart link"
RECORD_SHEET = "ec_resume"
RECORD_PROPERTY = "ec_resume/enableResume"  # on the procedure
KEPT_CONDITION = "ec_resume/originalCondition"  # on a step whose own condition was wrapped
RECORD_VERSION = 1
ODD_NAME = re.compile(r"[/\[\]$]")  # a name a property path cannot address

# A step's own condition and the resume rule, both: the resume rule is expanded into the script (it is
# always "true" or "false"); the old condition is read from the step, expanded as the server expands any
# value, and its text is the answer unless the rule skips the step, so the server decides on it exactly
# as it did on the old Run Condition field. Its failure fails the step as before; a missing copy runs the
# step. ES5, no square brackets but the one inner reference (the server's reference scanner).
# [U] /myStep names the procedure step of the job step whose condition is evaluated, and getProperty in
# a run condition's script expands a stored value in that job step's context, as the server expands the
# Run Condition field itself (the emulator does both; the CD/RO docs list /myStep and getProperty).
WRAPPED_CONDITION = (
    "$[/javascript // EC-Resume: this step's own run condition and the resume rule must both say run.\n"
    "// Its own condition, as it was, is the step property " + KEPT_CONDITION + ", expanded here as the\n"
    "// server expands the Run Condition field; DisableResume puts it back.\n"
    "(function () {\n"
    "    var resume = \"" + PLUGIN_RUN_CONDITION + "\";\n"
    "    var own = getProperty(\"/myStep/" + KEPT_CONDITION + "\");\n"
    "    if (resume === \"false\") {\n"
    "        return \"false\";\n"
    "    }\n"
    "    if (own === undefined || own === null) {\n"
    "        return \"true\";\n"
    "    }\n"
    "    return String(own);\n"
    "}());]")


class AdoptionInputError(Exception):
    """Input EnableResume/DisableResume cannot work with; str() is the one line the user sees."""


class AdoptionRefused(Exception):
    """The change would lose something (a step's own condition); str() says what and how to go on."""


# ----------------------------------------------------------------------------------- the definition


if TYPE_CHECKING:
    Fields = Tuple[Tuple[str, str], ...]


def _get(fields: Fields, name: str) -> Optional[str]:
    return next((value for key, value in fields if key == name), None)


def _set(fields: Fields, name: str, value: Optional[str]) -> Fields:
    """`fields` with `name` set (kept in place, or added last), or removed when value is None."""
    if value is None:
        return tuple((k, v) for k, v in fields if k != name)
    if _get(fields, name) is None:
        return fields + ((name, value),)
    return tuple((k, value if k == name else v) for k, v in fields)


@dataclass(frozen=True)
class StepDef:
    """A procedure step as getSteps shows it (its fields in the server's order), and what EnableResume
    keeps on it."""

    name: str
    fields: Fields = ()
    actual_parameters: Fields = ()
    kept_condition: Optional[str] = None  # the step property KEPT_CONDITION, unexpanded
    has_sheet: bool = False  # the step has a property sheet RECORD_SHEET

    @property
    def condition(self) -> Optional[str]:
        return _get(self.fields, "condition")

    @property
    def subprocedure(self) -> str:
        return (_get(self.fields, "subprocedure") or "").strip()

    @property
    def subproject(self) -> str:
        return (_get(self.fields, "subproject") or "").strip()


@dataclass(frozen=True)
class ParameterDef:
    name: str
    fields: Fields = ()


@dataclass(frozen=True)
class ConditionChange:
    """A step's run condition as it was (None: none) and as EnableResume set it."""

    step: str
    original: Optional[str]
    applied: str
    kept: bool = False  # the original is kept in the step property KEPT_CONDITION
    sheet_created: bool = False  # EnableResume created the step's RECORD_SHEET for it


@dataclass(frozen=True)
class EnableRecord:
    added_parameter: bool = False
    added_steps: Tuple[str, ...] = ()
    conditions: Tuple[ConditionChange, ...] = ()
    sheet_created: bool = False  # EnableResume created the procedure's RECORD_SHEET
    subprocedures: Tuple[Tuple[str, str], ...] = ()  # (project, procedure) enabled along with it

    def to_json(self) -> str:
        return json.dumps({
            "version": RECORD_VERSION, "addedParameter": self.added_parameter,
            "addedSteps": list(self.added_steps), "sheetCreated": self.sheet_created,
            "conditions": [{"step": c.step, "original": c.original, "applied": c.applied, "kept": c.kept,
                            "sheetCreated": c.sheet_created} for c in self.conditions],
            "subprocedures": [list(pair) for pair in self.subprocedures]}, ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> EnableRecord:
        """The record; AdoptionInputError when it is not one EnableResume wrote."""
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("version") != RECORD_VERSION:
                raise ValueError("not a version 1 record")
            return cls(added_parameter=bool(data["addedParameter"]),
                       added_steps=tuple(str(n) for n in data["addedSteps"]),
                       sheet_created=bool(data["sheetCreated"]),
                       conditions=tuple(ConditionChange(step=str(c["step"]), original=c["original"],
                                                        applied=str(c["applied"]), kept=bool(c["kept"]),
                                                        sheet_created=bool(c["sheetCreated"]))
                                        for c in data["conditions"]),
                       subprocedures=tuple((str(p), str(q)) for p, q in data["subprocedures"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise AdoptionInputError(f"the procedure property {RECORD_PROPERTY} is not a record EnableResume "
                                     f"wrote ({exc}): nothing changed") from None


@dataclass(frozen=True)
class ProcedureDef:
    project: str
    name: str
    fields: Fields = ()
    parameters: Tuple[ParameterDef, ...] = ()
    steps: Tuple[StepDef, ...] = ()
    record: Optional[EnableRecord] = None
    has_sheet: bool = False  # the procedure has a property sheet RECORD_SHEET

    @property
    def label(self) -> str:
        return f"{self.project}/{self.name}"

    def step(self, name: str) -> Optional[StepDef]:
        return next((s for s in self.steps if s.name == name), None)

    def parameter(self, name: str) -> Optional[ParameterDef]:
        return next((p for p in self.parameters if p.name == name), None)


# ----------------------------------------------------------------------------------------- the edits


@dataclass(frozen=True)
class AddParameter:
    name: str = JOB_TO_RESTART
    fields: Fields = (("defaultValue", ""), ("required", "0"), ("type", "entry"),
                      ("description", "Set by a restart: the job this run resumes. Empty: run every step."))


@dataclass(frozen=True)
class AddStep:
    name: str
    subprocedure: str
    before: str = ""  # the step it goes before; "" for last
    always_run: bool = False

    @property
    def fields(self) -> Fields:
        extra: Fields = (("alwaysRun", "1"),) if self.always_run else ()
        return (("subprocedure", self.subprocedure), ("subproject", PLUGIN_PROJECT_PATH)) + extra


@dataclass(frozen=True)
class SetCondition:
    step: str
    condition: Optional[str]  # None: no condition
    keep: Optional[str] = None  # write this as the step's KEPT_CONDITION
    drop_kept: bool = False  # delete the step's KEPT_CONDITION
    drop_sheet: bool = False  # then delete the step's RECORD_SHEET


@dataclass(frozen=True)
class RemoveStep:
    name: str


@dataclass(frozen=True)
class RemoveParameter:
    name: str


if TYPE_CHECKING:
    Edit = Union[AddParameter, AddStep, SetCondition, RemoveStep, RemoveParameter]


@dataclass(frozen=True)
class EnableOptions:
    exclude: Tuple[str, ...] = ()
    wrap: bool = False  # wrap a step's own run condition instead of refusing
    subprocedures: bool = False  # enable the subprocedures it calls too


@dataclass(frozen=True)
class AdoptionPlan:
    """What EnableResume or DisableResume does to one procedure."""

    procedure: ProcedureDef
    edits: Tuple[Edit, ...] = ()
    record: Optional[EnableRecord] = None  # the record to write first (enable), None: delete it (disable)
    notes: Tuple[str, ...] = ()
    refusals: Tuple[str, ...] = ()
    calls: Tuple[Tuple[str, str], ...] = ()  # (subproject as written, subprocedure) of its call steps
    subprocedures: Tuple[Tuple[str, str], ...] = ()  # disable: the subprocedures to undo along with it

    @property
    def changed(self) -> bool:
        return bool(self.edits)


def is_plugin_subproject(subproject: str) -> bool:
    """Whether a call step's subproject names EC-Resume (its plugin path, or its project by name)."""
    text = subproject.strip().rstrip("/")
    if text.startswith("/plugins/"):
        return re.fullmatch(r"/plugins/EC-Resume(-[^/]+)?/project", text) is not None
    return is_plugin_project(text)


def calls_plugin(step: StepDef, *procedures: str) -> bool:
    return step.subprocedure in procedures and is_plugin_subproject(step.subproject)


def _free_name(wanted: str, taken: Sequence[str]) -> str:
    name, n = wanted, 1
    while name in taken:
        n += 1
        name = f"{wanted} {n}"
    return name


def addressable(*names: str) -> bool:
    return not any(ODD_NAME.search(name) for name in names)


def plan_enable(proc: ProcedureDef, options: EnableOptions, top_level: bool = True) -> AdoptionPlan:
    """The edits that make `proc` resumable (none when it is already), with notes and refusals.

    Raises AdoptionInputError for a step in `options.exclude` the procedure does not have (top level).
    """
    if is_plugin_project(proc.project):
        raise AdoptionInputError(f"{proc.label} is a procedure of the plugin EC-Resume itself: not changed")
    names = [s.name for s in proc.steps]
    exclude = options.exclude if top_level else ()
    missing = [name for name in exclude if name not in names]
    if missing:
        raise AdoptionInputError(f"exclude names {_quoted(missing)}, which {proc.label} does not have "
                                 f"(its steps: {_quoted(names) or 'none'})")
    edits: List[Edit] = []
    notes: List[str] = []
    refusals: List[str] = []
    if top_level:
        _top_level_edits(proc, edits, notes, refusals)
    own: List[str] = []
    for step in proc.steps:
        if step.name in exclude or calls_plugin(step, CARRY_OVER, RESTART_LINK, RESUMABLE_STEP):
            continue
        condition = step.condition
        if condition and has_resume_condition(condition, proc.project):
            continue
        if not condition or not condition.strip():  # [U] a blank condition runs the step, as none does
            edits.append(SetCondition(step.name, PLUGIN_RUN_CONDITION))
        elif not options.wrap:
            own.append(step.name)
        elif not addressable(proc.project, proc.name, step.name):
            notes.append(f"{step.name}: its run condition is left alone (a property path cannot name the "
                         "step, so the resume rule always runs it anyway)")
        else:
            edits.append(SetCondition(step.name, WRAPPED_CONDITION, keep=condition))
    if own:
        has = "has a run condition of its own" if len(own) == 1 else "have run conditions of their own"
        refusals.append(f"{proc.label}: {_quoted(own)} {has}"
                        ": give wrapConditions (ec-resume: --wrap-conditions) to keep each and "
                        "add the resume rule to it (both must say run)"
                        + (", or list them in exclude" if top_level else ""))
    calls = tuple((s.subproject, s.subprocedure) for s in proc.steps
                  if s.subprocedure and not is_plugin_subproject(s.subproject))
    record = merge_record(proc, edits) if edits else proc.record
    return AdoptionPlan(procedure=proc, edits=tuple(edits), record=record, notes=tuple(notes),
                        refusals=tuple(refusals), calls=calls)


def _top_level_edits(proc: ProcedureDef, edits: List[Edit], notes: List[str], refusals: List[str]) -> None:
    param = proc.parameter(JOB_TO_RESTART)
    if param is None:
        edits.append(AddParameter())
    elif (_get(param.fields, "defaultValue") or "") != "":
        refusals.append(f"{proc.label}: its parameter {JOB_TO_RESTART} has the default value "
                        f"'{_get(param.fields, 'defaultValue')}', so every run would resume that job: make "
                        "its default empty first")
    names = [s.name for s in proc.steps]
    carry = [s for s in proc.steps if calls_plugin(s, CARRY_OVER)]
    if not carry:
        edits.append(AddStep(_free_name(CARRY_OVER_STEP, names), CARRY_OVER,
                             before=proc.steps[0].name if proc.steps else ""))
    elif carry[0] is not proc.steps[0]:
        notes.append(f"{carry[0].name}: the CarryOver call is not the first step, so the steps before it "
                     "run before the resumed job's properties arrive")
    if not any(calls_plugin(s, RESTART_LINK) for s in proc.steps):
        edits.append(AddStep(_free_name(RESTART_LINK_STEP, names), RESTART_LINK, always_run=True))


def merge_record(proc: ProcedureDef, edits: Sequence[Edit]) -> EnableRecord:
    """The procedure's record with `edits` added: a step changed again keeps its latest original."""
    old = proc.record or EnableRecord(sheet_created=not proc.has_sheet)
    conditions = {c.step: c for c in old.conditions}
    added = list(old.added_steps)
    added_parameter = old.added_parameter
    for edit in edits:
        if isinstance(edit, AddParameter):
            added_parameter = True
        elif isinstance(edit, AddStep):
            added.append(edit.name)
        elif isinstance(edit, SetCondition) and edit.condition is not None:
            step = proc.step(edit.step)
            had_sheet = step.has_sheet if step is not None else False
            original = step.condition if step is not None else None
            conditions[edit.step] = ConditionChange(edit.step, original, edit.condition,
                                                    kept=edit.keep is not None,
                                                    sheet_created=edit.keep is not None and not had_sheet)
    return replace(old, added_parameter=added_parameter, added_steps=tuple(dict.fromkeys(added)),
                   conditions=tuple(conditions.values()))


def with_subprocedures(record: EnableRecord, enabled: Sequence[Tuple[str, str]]) -> EnableRecord:
    return replace(record, subprocedures=tuple(dict.fromkeys([*record.subprocedures, *enabled])))


def plan_disable(proc: ProcedureDef) -> AdoptionPlan:
    """The edits that undo the procedure's record: what EnableResume added goes, each condition it set
    goes back to what it was, unless someone changed it since (then it stays, with a note)."""
    record = proc.record
    if record is None:
        return AdoptionPlan(procedure=proc, notes=(f"{proc.label} has no record of EnableResume "
                                                   f"({RECORD_PROPERTY}): nothing to undo",))
    edits: List[Edit] = []
    notes: List[str] = []
    for change in record.conditions:
        step = proc.step(change.step)
        if step is None:
            notes.append(f"{change.step}: no longer in the procedure")
            continue
        kept_here = change.kept and step.kept_condition is not None
        if step.condition == change.applied:
            edits.append(SetCondition(change.step, change.original, drop_kept=kept_here,
                                      drop_sheet=kept_here and change.sheet_created))
        elif step.condition == change.original:
            if kept_here:
                edits.append(SetCondition(change.step, change.original, drop_kept=True,
                                          drop_sheet=change.sheet_created))
        else:
            notes.append(f"{change.step}: its run condition was changed after EnableResume: left as it is")
    edits += [RemoveStep(name) for name in record.added_steps if proc.step(name) is not None]
    if record.added_parameter and proc.parameter(JOB_TO_RESTART) is not None:
        edits.append(RemoveParameter(JOB_TO_RESTART))
    return AdoptionPlan(procedure=proc, edits=tuple(edits), record=None, notes=tuple(notes),
                        subprocedures=record.subprocedures)


# -------------------------------------------------------------------------------- applied, in memory


def apply_edits(proc: ProcedureDef, edits: Sequence[Edit]) -> ProcedureDef:
    """The definition as the server will hold it after `edits` (for the dry run's diff)."""
    steps = list(proc.steps)
    params = list(proc.parameters)
    for edit in edits:
        if isinstance(edit, AddParameter):
            params.append(ParameterDef(edit.name, edit.fields))
        elif isinstance(edit, RemoveParameter):
            params = [p for p in params if p.name != edit.name]
        elif isinstance(edit, AddStep):
            new = StepDef(edit.name, edit.fields)
            index = next((i for i, s in enumerate(steps) if edit.before and s.name == edit.before),
                         len(steps))
            steps.insert(index, new)
        elif isinstance(edit, RemoveStep):
            steps = [s for s in steps if s.name != edit.name]
        else:
            steps = [_set_condition(s, edit) if s.name == edit.step else s for s in steps]
    return replace(proc, steps=tuple(steps), parameters=tuple(params))


def _set_condition(step: StepDef, edit: SetCondition) -> StepDef:
    kept = step.kept_condition
    if edit.keep is not None:
        kept = edit.keep
    elif edit.drop_kept:
        kept = None
    return replace(step, fields=_set(step.fields, "condition", edit.condition), kept_condition=kept,
                   has_sheet=(step.has_sheet or edit.keep is not None) and not edit.drop_sheet)


# ------------------------------------------------------------------------------------------- words


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


def describe(edit: Edit) -> str:
    """One line for an edit, as the summary and the CLI print it."""
    if isinstance(edit, AddParameter):
        return f"added the parameter {edit.name} (empty default)"
    if isinstance(edit, RemoveParameter):
        return f"removed the parameter {edit.name}"
    if isinstance(edit, AddStep):
        where = f"before '{edit.before}'" if edit.before else "last, always run"
        return f"added the step '{edit.name}' ({edit.subprocedure}), {where}"
    if isinstance(edit, RemoveStep):
        return f"removed the step '{edit.name}'"
    if edit.keep is not None:
        return f"'{edit.step}': kept its own run condition and added the resume rule (both must say run)"
    if edit.condition == PLUGIN_RUN_CONDITION:
        return f"'{edit.step}': run condition set to the resume rule"
    if edit.condition is None:
        return f"'{edit.step}': run condition removed (it had none)"
    return f"'{edit.step}': its own run condition put back"


@dataclass(frozen=True)
class Outcome:
    """What a run did (or would do), over every procedure it touched, in words."""

    lines: Tuple[str, ...] = ()
    diff: str = ""
    changed: bool = False

    def text(self) -> str:
        return "\n".join(self.lines) + ("\n" + self.diff if self.diff else "")


def plan_lines(plan: AdoptionPlan, verb: str) -> List[str]:
    """The lines of one procedure's plan: `verb` ("Enabled", "Would enable") then the edits and notes."""
    if not plan.changed:
        head = [f"{plan.procedure.label}: nothing to change."]
    else:
        head = [f"{verb} {plan.procedure.label}:"]
    return head + [f"  {describe(e)}" for e in plan.edits] + [f"  note: {n}" for n in plan.notes]


def read_fields(record: Mapping[str, Any], skip: Sequence[str]) -> Fields:
    """A REST record's plain fields in the server's order, without its names, ids and times."""
    meta = {"createTime", "modifyTime", "lastModifiedBy", "owner", "propertySheetId", "acl", *skip}
    return tuple((str(k), str(v)) for k, v in record.items()
                 if k not in meta and not k.endswith("Id") and isinstance(v, (str, int, float)))
