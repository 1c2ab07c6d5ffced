"""The run links of CD/RO's UI (issue 14), each with and without runNow and with and without numParameters:
`/commander/runProcedure.php?...` and `/commander/link/runProcedure/projects/<p>/procedures/<proc>?...`.
With runNow=1 a link runs the procedure; without it, it shows the filled-in run form and starts nothing,
and the form's Run button then runs it with the values shown.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import quote, urlencode

import pytest
import requests
from conftest import ServerApi, as_list, make_procedure

PARAMS = {"branch": "feature/a&b=c #1", "note": "zwei Wörter + 'quotes' <b>"}
FORMS = ["php", "link"]


def run_link(base: str, form: str, project: str, procedure: str, params: Dict[str, str], run_now: bool,
             count: bool) -> str:
    query: List[Tuple[str, str]] = [("runNow", "1")] if run_now else []
    if form == "php":
        query += [("projectName", project), ("procedureName", procedure)]
    if count:
        query.append(("numParameters", str(len(params))))
    for i, (name, value) in enumerate(params.items(), start=1):
        query += [(f"parameters{i}_name", name), (f"parameters{i}_value", value)]
    encoded = urlencode(query, quote_via=quote)
    if form == "php":
        return f"{base}/commander/runProcedure.php?{encoded}"
    return (f"{base}/commander/link/runProcedure/projects/{quote(project, safe='')}/procedures/"
            f"{quote(procedure, safe='')}?{encoded}")


def jobs_of(api: ServerApi, project: str) -> List[Dict[str, Any]]:
    return as_list(api.call("getJobs", projectName=project).get("job"))


def params_of(job: Dict[str, Any]) -> Dict[str, str]:
    return {p["actualParameterName"]: p["value"] for p in as_list(job["actualParameter"])}


class FormReader(HTMLParser):
    """The run form's action and the fields its Run button posts."""

    def __init__(self) -> None:
        super().__init__()
        self.action: Optional[str] = None
        self.method: Optional[str] = None
        self.fields: List[Tuple[str, str]] = []
        self.buttons: List[str] = []

    def handle_starttag(self, tag: str, attrs: List[Tuple[str, Optional[str]]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action, self.method = found.get("action"), found.get("method")
        elif tag == "input" and "name" in found:
            self.fields.append((found["name"], found.get("value", "")))
        elif tag == "button":
            self.buttons.append(found.get("id", ""))


@pytest.mark.parametrize("count", [True, False], ids=["numParameters", "no-numParameters"])
@pytest.mark.parametrize("form", FORMS)
def test_run_now_links_run_the_procedure_with_the_parameters(server: Any, api: ServerApi, form: str,
                                                              count: bool) -> None:
    project, procedure = make_procedure(api.call, {"s": {"command": "exit 0"}}, list(PARAMS))
    url = run_link(server.url, form, project, procedure, PARAMS, run_now=True, count=count)
    response = api.http.get(url, allow_redirects=False)
    assert response.status_code == 302, response.text
    job = api.wait_for_job(response.headers["Location"].rsplit("/", 1)[1])
    assert params_of(job) == PARAMS and job["procedureName"] == procedure


@pytest.mark.parametrize("count", [True, False], ids=["numParameters", "no-numParameters"])
@pytest.mark.parametrize("form", FORMS)
def test_links_without_run_now_open_the_filled_in_form_and_its_run_button_runs_it(
        server: Any, api: ServerApi, form: str, count: bool) -> None:
    project, procedure = make_procedure(api.call, {"s": {"command": "exit 0"}}, [*PARAMS, "extra"])
    url = run_link(server.url, form, project, procedure, PARAMS, run_now=False, count=count)
    page = api.http.get(url, allow_redirects=False)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert jobs_of(api, project) == []  # opening the form starts nothing
    reader = FormReader()
    reader.feed(page.text)
    fields = dict(reader.fields)
    assert procedure in page.text and project in page.text and reader.buttons == ["run"]
    shown = {fields[f"parameters{i}_name"]: fields[f"parameters{i}_value"]
             for i in range(1, int(fields["numParameters"]) + 1)}
    assert shown == {**PARAMS, "extra": ""}
    assert (reader.method, reader.action, fields["runNow"]) == ("post", "/commander/runProcedure.php", "1")
    ran = api.http.post(server.url + reader.action, data=reader.fields, allow_redirects=False)
    assert ran.status_code == 302, ran.text
    job = api.wait_for_job(ran.headers["Location"].rsplit("/", 1)[1])
    assert params_of(job) == {**PARAMS, "extra": ""}


def test_the_link_form_carries_names_that_hold_slashes_and_ampersands(server: Any, api: ServerApi) -> None:
    project, _ = make_procedure(api.call, {})
    procedure = "Build/Deploy & Test"
    api.call("createProcedure", projectName=project, procedureName=procedure)
    api.call("createStep", projectName=project, procedureName=procedure, stepName="s", command="exit 0")
    url = run_link(server.url, "link", project, procedure, {}, run_now=True, count=False)
    response = api.http.get(url, allow_redirects=False)
    assert response.status_code == 302, response.text
    assert api.wait_for_job(response.headers["Location"].rsplit("/", 1)[1])["procedureName"] == procedure


def test_the_form_shows_a_credential_parameter_without_a_field(server: Any, api: ServerApi) -> None:
    project, procedure = make_procedure(api.call, {"s": {"command": "exit 0"}}, ["branch"])
    api.call("createFormalParameter", projectName=project, procedureName=procedure,
             formalParameterName="login", type="credential")
    page = api.http.get(run_link(server.url, "link", project, procedure, {"branch": "x"}, False, True))
    reader = FormReader()
    reader.feed(page.text)
    assert "login" in page.text and "credential" in page.text
    assert [value for name, value in reader.fields if name.endswith("_name")] == ["branch"]


@pytest.mark.parametrize("form", FORMS)
def test_links_need_a_session(server: Any, form: str) -> None:
    for run_now in (True, False):
        url = run_link(server.url, form, "p", "q", {}, run_now=run_now, count=True)
        response = requests.get(url, allow_redirects=False)
        assert response.status_code == 401 and "WWW-Authenticate" in response.headers


@pytest.mark.parametrize("tail, expected", [
    ("projects/p?runNow=1", "expected /commander/link/runProcedure/projects/<project>/procedures/<proc"),
    ("projects/p/procedures/q?runNow=maybe", "runNow: expected 1 or 0, got 'maybe'"),
    ("projects/p/procedures/q?runNow=1&parameters2_name=a&parameters2_value=b", "parameters1_name is missi"),
])
def test_a_malformed_link_is_one_line_naming_the_problem(server: Any, api: ServerApi, tail: str,
                                                         expected: str) -> None:
    response = api.http.get(f"{server.url}/commander/link/runProcedure/{tail}", allow_redirects=False)
    assert response.status_code == 400 and expected in response.text and response.text.count("\n") == 1


@pytest.mark.parametrize("run_now", [True, False])
def test_a_link_to_a_missing_procedure_says_so(server: Any, api: ServerApi, run_now: bool) -> None:
    project, _ = make_procedure(api.call, {})
    response = api.http.get(run_link(server.url, "link", project, "Nope", {}, run_now, True),
                            allow_redirects=False)
    assert response.status_code == 404 and "NoSuchProcedure" in response.text
