"""A procedure's definition rendered as CD/RO DSL (the shape `ectool generateDsl` writes: one closure per
object, its fields as `name = 'value'`), and the unified diff of two renderings: what EnableResume's and
DisableResume's dry runs print. Pure functions of `enable_resume.ProcedureDef`."""

from __future__ import annotations

import difflib

from .enable_resume import KEPT_CONDITION, RECORD_SHEET, ProcedureDef, StepDef

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: see docs/ARCHITECTURE.md
    from typing import List

    from .enable_resume import Fields

INDENT = "  "


def groovy_string(text: str) -> str:
    """A Groovy literal holding `text` as is: single quotes (no interpolation of `$`), triple single
    quotes for text with line breaks."""
    escaped = text.replace("\\", "\\\\")
    if "\n" in text:
        return "'''" + escaped.replace("'''", "\\'\\'\\'") + "'''"
    return "'" + escaped.replace("'", "\\'") + "'"


def _field_lines(fields: Fields, depth: int) -> List[str]:
    pad = INDENT * depth
    return [f"{pad}{name} = {groovy_string(value)}" for name, value in fields]


def _step_lines(step: StepDef) -> List[str]:
    lines = [f"{INDENT}step {groovy_string(step.name)}, {{"]
    lines += _field_lines(step.fields, 2)
    lines += [f"{INDENT * 2}actualParameter {groovy_string(k)}, {groovy_string(v)}"
              for k, v in step.actual_parameters]
    if step.kept_condition is not None:
        sheet, name = KEPT_CONDITION.split("/", 1)
        lines += [f"{INDENT * 2}property {groovy_string(sheet)}, {{",
                  f"{INDENT * 3}property {groovy_string(name)}, value: {groovy_string(step.kept_condition)}",
                  f"{INDENT * 2}}}"]
    elif step.has_sheet:
        lines.append(f"{INDENT * 2}property {groovy_string(RECORD_SHEET)}, {{ }}")
    return lines + [f"{INDENT}}}"]


def render(proc: ProcedureDef) -> str:
    """The procedure as DSL text, one line per field; the same definition always renders the same."""
    lines = [f"project {groovy_string(proc.project)}, {{", f"procedure {groovy_string(proc.name)}, {{"]
    lines += _field_lines(proc.fields, 1)
    for param in proc.parameters:
        lines.append(f"{INDENT}formalParameter {groovy_string(param.name)}, {{")
        lines += _field_lines(param.fields, 2)
        lines.append(f"{INDENT}}}")
    for step in proc.steps:
        lines.append("")
        lines += _step_lines(step)
    return "\n".join(lines + ["}", "}", ""])


def dsl_diff(before: ProcedureDef, after: ProcedureDef, context: int = 3) -> str:
    """The unified diff of the two renderings ("" when they are the same). Lines every step has (such as
    `alwaysRun = '0'`) anchor the diff too: difflib's "popular line" heuristic is off."""
    label = f"{before.project}/{before.name}"
    old, new = render(before).splitlines(), render(after).splitlines()
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    out: List[str] = []
    for group in matcher.get_grouped_opcodes(context):
        if not out:
            out += [f"--- {label} (now)", f"+++ {label} (after)"]
        first, last = group[0], group[-1]
        out.append(f"@@ -{first[1] + 1},{last[2] - first[1]} +{first[3] + 1},{last[4] - first[3]} @@")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out += [" " + line for line in old[i1:i2]]
                continue
            out += ["-" + line for line in old[i1:i2]]
            out += ["+" + line for line in new[j1:j2]]
    return "\n".join(out) + "\n" if out else ""
