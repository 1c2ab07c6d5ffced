"""What the lossless-resume suites share: a step tool that talks to the server as a user's step does
(set a property, an output parameter, a summary), markers, and the restart through the stored link."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

from restart_support import follow_restart_link, report_urls

RESTART_LINK = "Restart this job"
PLUGIN = "subproject: '/plugins/EC-Resume/project'"

# The step tool, in sh with ectool (on every agent's PATH, and the emulator's).
TOOL = r'''# step tool: prop PATH VALUE | output NAME VALUE | mark FILE | fail-unless FILE
verb=$1; shift
case "$verb" in
  prop) ectool setProperty "$1" "$2" > /dev/null ;;
  output) ectool setOutputParameter "$1" "$2" > /dev/null ;;
  mark) echo run >> "$1" ;;
  fail-unless) test -f "$1" ;;
  *) echo "steptool: unknown verb $verb" >&2; exit 2 ;;
esac
'''


def tool(markers: Path) -> str:
    """The command prefix that runs the step tool (tmp_path holds no spaces)."""
    path = markers / "steptool.sh"
    if not path.exists():
        path.write_text(TOOL, encoding="utf-8")
    return f"sh {path.as_posix()}"


def marker_count(markers: Path, name: str) -> int:
    path = markers / name
    return len(path.read_text().splitlines()) if path.exists() else 0


def restart_by_link(api: Any, server: Any, job: Dict[str, Any]) -> Dict[str, Any]:
    """Click the job's stored "Restart this job" link and wait for the new job."""
    links = report_urls(api, job["jobId"])
    assert RESTART_LINK in links, links
    return follow_restart_link(api, server, links[RESTART_LINK])


def raw(api: Any, path: str, **locator: str) -> str:
    return str(api.call("getProperty", propertyName=path, expand="0", **locator)["property"]["value"])
