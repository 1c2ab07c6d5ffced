"""Step code of the plugin procedure DisableResume: `adoption.disable` inside a job step.

Parameters: projectName, procedureName, dryRun. What was put back (and on a dry run the DSL diff) goes to
the log and the step summary; bad input is one line there and the step ends in error.
"""

from __future__ import annotations

import sys

from ..adoption import AdoptionInputError, AdoptionRefused, AdoptionRequest, disable
from .enable_resume import flag, parameter, report
from .step_io import step_main

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: see docs/ARCHITECTURE.md
    from typing import Any, List, Mapping, Optional, TextIO

PROG = "DisableResume"


def run(client: Any, env: Mapping[str, str], out: TextIO) -> int:
    request = AdoptionRequest(project=parameter(client, "projectName"),
                              procedure=parameter(client, "procedureName"), dry_run=flag(client, "dryRun"))
    return report(client, PROG, disable(client, request), out)


def main(argv: Optional[List[str]] = None) -> int:
    return step_main(PROG, run, (AdoptionInputError, AdoptionRefused))


if __name__ == "__main__":
    sys.exit(main())
