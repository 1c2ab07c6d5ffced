"""Step code of the plugin procedure EnableResume: `adoption.enable` inside a job step.

Parameters (the step's own properties): projectName, procedureName, exclude (step names, one per line),
wrapConditions, enableSubprocedures, dryRun. The lines (and on a dry run the DSL diff) go to the log and
the step summary; bad input or a refusal is one line there and the step ends in error, nothing changed.
"""

from __future__ import annotations

import sys

from ..adoption import AdoptionInputError, AdoptionRefused, AdoptionRequest, enable, parse_exclude
from ..enable_resume import EnableOptions, Outcome
from .step_io import step_main, write_summary

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: see docs/ARCHITECTURE.md
    from typing import Any, List, Mapping, Optional, TextIO

PROG = "EnableResume"
TRUE_WORDS = ("1", "true", "yes", "on")


def parameter(client: Any, name: str) -> str:
    return (client.get_property(name) or "").strip()


def flag(client: Any, name: str) -> bool:
    return parameter(client, name).lower() in TRUE_WORDS


def read_request(client: Any) -> AdoptionRequest:
    exclude = parse_exclude([client.get_property("exclude") or ""])
    options = EnableOptions(exclude=exclude, wrap=flag(client, "wrapConditions"),
                            subprocedures=flag(client, "enableSubprocedures"))
    return AdoptionRequest(project=parameter(client, "projectName"),
                           procedure=parameter(client, "procedureName"), options=options,
                           dry_run=flag(client, "dryRun"))


def report(client: Any, prog: str, outcome: Outcome, out: TextIO) -> int:
    print(outcome.text(), file=out, end="" if outcome.text().endswith("\n") else "\n", flush=True)
    # The diff quotes the procedure's own $[...] references: shown as they are, never expanded.
    write_summary(client, prog, outcome.text().rstrip("\n"), out, expandable=False)
    return 0


def run(client: Any, env: Mapping[str, str], out: TextIO) -> int:
    return report(client, PROG, enable(client, read_request(client)), out)


def main(argv: Optional[List[str]] = None) -> int:
    return step_main(PROG, run, (AdoptionInputError, AdoptionRefused))


if __name__ == "__main__":
    sys.exit(main())
