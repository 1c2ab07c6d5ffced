"""`python -m commander_emulator [--port N] [--plugin JAR]`: run the emulator until Ctrl-C."""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from .server import serve_forever


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m commander_emulator",
                                     description="Run the embedded CloudBees CD/RO emulator on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="TCP port (default: a free one)")
    parser.add_argument("--plugin", metavar="JAR", help="plugin jar to install and promote at start")
    args = parser.parse_args(argv)
    return serve_forever(port=args.port, plugin_jar=args.plugin)


if __name__ == "__main__":
    sys.exit(main())
