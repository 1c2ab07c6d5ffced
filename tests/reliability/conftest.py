"""The reliability suite reuses the plugin tests' helpers (restart_support, the scenarios' restart
comparison) by the names the plugin tests import them under."""

import sys
from pathlib import Path

PLUGIN_TESTS = str(Path(__file__).resolve().parents[1] / "plugin")
if PLUGIN_TESTS not in sys.path:
    sys.path.insert(0, PLUGIN_TESTS)
