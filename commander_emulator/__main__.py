"""`python -m commander_emulator [--port N] [--plugin JAR]`: run the emulator until Ctrl-C."""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

EMULATOR_PACKAGES = ("werkzeug", "lxml", "dukpy")
INSTALL_HINT = "pip install 'ec-resume[emulator]'"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m commander_emulator",
                                     description="Run the embedded CloudBees CD/RO emulator on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="TCP port (default: a free one)")
    parser.add_argument("--plugin", metavar="JAR", help="plugin jar to install and promote at start")
    args = parser.parse_args(argv)
    try:
        from .server import serve_forever  # needs the emulator extra; checked here for one clear line
    except ImportError as exc:
        missing = exc.name if exc.name in EMULATOR_PACKAGES else ", ".join(EMULATOR_PACKAGES)
        print(f"python -m commander_emulator: {missing} is not installed: run {INSTALL_HINT} "
              "(or python3 build.py serve in a checkout)", file=sys.stderr)
        return 2
    return serve_forever(port=args.port, plugin_jar=args.plugin)


if __name__ == "__main__":
    sys.exit(main())
