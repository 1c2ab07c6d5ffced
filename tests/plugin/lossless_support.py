"""What the lossless-resume suites share: a step tool that talks to the server as a user's step does
(set a property, an output parameter, a summary), markers, and the restart through the stored link."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Dict

from restart_support import follow_restart_link, report_urls

RESTART_LINK = "Restart this job"
PLUGIN = "subproject: '/plugins/EC-Resume/project'"

TOOL = r'''"""step tool: prop PATH VALUE | output NAME VALUE | mark FILE | fail-unless FILE"""
import json, os, sys, urllib.request

def call(api, body, method="POST", path="/outputParameters"):
    base = "http://" + os.environ["COMMANDER_SERVER"] + ":" + os.environ["COMMANDER_PORT"] + "/rest/v1.0"
    body = dict(body, jobStepId=os.environ["COMMANDER_JOBSTEPID"])
    request = urllib.request.Request(base + path + "?request=" + api, data=json.dumps(body).encode(),
                                     method=method, headers={"Content-Type": "application/json",
                                     "Cookie": "sessionId=" + os.environ["COMMANDER_SESSIONID"]})
    urllib.request.urlopen(request).read()

verb, args = sys.argv[1], sys.argv[2:]
if verb == "prop":
    call("setProperty", {"value": args[1]}, "PUT", "/properties/" + args[0])
elif verb == "output":
    call("setOutputParameter", {"outputParameterName": args[0], "value": args[1]})
elif verb == "mark":
    print("run", file=open(args[0], "a"))
elif verb == "fail-unless":
    sys.exit(0 if os.path.exists(args[0]) else 1)
'''


def tool(markers: Path) -> str:
    """The command prefix that runs the step tool (tmp_path holds no spaces)."""
    path = markers / "steptool.py"
    if not path.exists():
        path.write_text(TOOL, encoding="utf-8")
    return f"{sys.executable} -I -S {path.as_posix()}"


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
