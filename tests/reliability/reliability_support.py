"""What the reliability tests share: running many things at once, and `ec-resume` as a real process."""

from __future__ import annotations

import concurrent.futures
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, List, Mapping, Sequence, Union

REPO = Path(__file__).resolve().parents[2]


def in_parallel(work: Callable[[Any], Any], items: Sequence[Any], width: int = 20) -> List[Any]:
    """`work` of each item, `width` at a time; the results in the order of `items`."""
    with concurrent.futures.ThreadPoolExecutor(width) as pool:
        return list(pool.map(work, items))


def run_cli(*argv: Union[bytes, str], env: Mapping[str, str], text: bool = False,
            timeout: float = 120) -> subprocess.CompletedProcess:
    """`ec-resume` in a process of its own, with `env` and nothing else of this one's environment, so that
    arguments can be bytes that are not UTF-8, as a shell passes them."""
    return subprocess.run([sys.executable, "-m", "ec_resume.cli", *argv], capture_output=True, text=text,
                          timeout=timeout, cwd=REPO,
                          env={**env, "PYTHONPATH": str(REPO / "lib"), "PATH": "/usr/bin:/bin"})
