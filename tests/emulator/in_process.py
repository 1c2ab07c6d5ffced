"""An emulator inside the test process, for the emulator's own tests of its model or handler table."""

from __future__ import annotations

from typing import Iterator

import pytest

from commander_emulator.server import Emulator


@pytest.fixture(scope="module")
def in_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """An emulator inside the test process, for the few checks of its model or its handler table; every
    other test reaches the suite's server (an emulator process, or a live server) over HTTP only."""
    emulator = Emulator(workspace_root=str(tmp_path_factory.mktemp("in-process")))
    emulator.start()
    yield emulator
    emulator.stop()
