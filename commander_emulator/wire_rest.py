"""REST v1.0: `/rest/v1.0/...`, JSON in and out (commander-api.md §2).

A URL names an API by its resource route and HTTP method, or explicitly with `?request=<api>`, which
works on any URL. Arguments are the query parameters, then the JSON (or form) body, then the path
parameters, later ones winning. Answers are the dispatcher's dict as JSON; an error is the HTTP status of
its code with `{"error": {"code", "message", "details", "where"}}` [U shape].

Without a valid session (see `authentication`) every API but login answers 401.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Optional, Tuple

from werkzeug.exceptions import NotFound
from werkzeug.routing import Map, RequestRedirect, Rule
from werkzeug.wrappers import Request, Response

from .arguments import json_object
from .dispatch import Dispatcher
from .errors import CommanderError

PREFIX = "/rest/v1.0"
_PROC = "/projects/<projectName>/procedures/<procedureName>"

# route -> {HTTP method: API}; variable names are the API argument names they fill.
ROUTES: Dict[str, Dict[str, str]] = {
    "/sessions": {"POST": "login", "DELETE": "logout"},
    "/properties": {"GET": "getProperties", "POST": "createProperty"},
    "/properties/<path:propertyName>": {"GET": "getProperty", "PUT": "setProperty", "POST": "createProperty",
                                        "DELETE": "deleteProperty"},
    "/expandString": {"POST": "expandString", "GET": "expandString"},
    "/projects": {"GET": "getProjects", "POST": "createProject"},
    "/projects/<projectName>": {"GET": "getProject", "PUT": "modifyProject", "DELETE": "deleteProject"},
    "/projects/<projectName>/credentials": {"POST": "createCredential"},
    "/projects/<projectName>/credentials/<credentialName>": {"GET": "getCredential"},
    "/projects/<projectName>/procedures": {"GET": "getProcedures", "POST": "createProcedure"},
    _PROC: {"GET": "getProcedure", "PUT": "modifyProcedure", "DELETE": "deleteProcedure"},
    _PROC + "/steps": {"GET": "getSteps", "POST": "createStep"},
    _PROC + "/steps/<stepName>": {"GET": "getStep", "PUT": "modifyStep", "DELETE": "deleteStep"},
    _PROC + "/formalParameters": {"GET": "getFormalParameters", "POST": "createFormalParameter"},
    _PROC + "/formalParameters/<formalParameterName>": {
        "GET": "getFormalParameter", "PUT": "modifyFormalParameter", "DELETE": "deleteFormalParameter"},
    # [U] shaped like formalParameters; not found in the REST reference read here
    _PROC + "/formalOutputParameters": {"GET": "getFormalOutputParameters",
                                        "POST": "createFormalOutputParameter"},
    _PROC + "/formalOutputParameters/<formalOutputParameterName>": {
        "GET": "getFormalOutputParameter", "PUT": "modifyFormalOutputParameter",
        "DELETE": "deleteFormalOutputParameter"},
    "/jobs": {"GET": "getJobs", "POST": "runProcedure"},
    "/jobs/<jobId>": {"GET": "getJobDetails", "DELETE": "deleteJob"},
    "/jobSteps/<jobStepId>": {"GET": "getJobStepDetails"},
    # [U] the REST resource of output parameters; ?request=setOutputParameter works on any URL anyway
    "/outputParameters": {"GET": "getOutputParameters", "POST": "setOutputParameter"},
    "/server/dsl": {"POST": "evalDsl"},
    "/server/status": {"GET": "getServerStatus"},
    "/plugins": {"GET": "getPlugins", "POST": "installPlugin"},
    "/plugins/<pluginName>": {"GET": "getPlugin", "DELETE": "uninstallPlugin"},  # DELETE [U]
}
_PROPERTY_ROUTE = "/properties/<path:propertyName>"
_PROPERTY_PATH = PREFIX + "/properties/"
_URLS = Map([Rule(PREFIX + route, endpoint=route) for route in ROUTES], strict_slashes=False)


# ------------------------------------------------------------------------------------------ rendering


def json_response(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, ensure_ascii=False), status=status,
                    content_type="application/json; charset=utf-8")


def error_response(error: CommanderError) -> Response:
    response = json_response({"error": error.as_dict()}, error.http_status)
    if error.http_status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="CloudBees CD"'
    return response


# --------------------------------------------------------------------------------------------- routing


def _simple(multi: Any) -> Dict[str, Any]:
    """A MultiDict as arguments: one value stays a string, a repeated name becomes a list."""
    out: Dict[str, Any] = {}
    for key in multi.keys():
        values = multi.getlist(key)
        out[key] = values[0] if len(values) == 1 else values
    return out


def _body_args(request: Request) -> Dict[str, Any]:
    if request.files:
        args = _simple(request.form)
        upload = request.files.get("file") or next(iter(request.files.values()))
        args["file"] = upload.read()
        return args
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return _simple(request.form)
    raw = request.get_data()
    if not raw.strip():
        return {}
    return json_object(raw, "request body")


def resolve(request: Request) -> Tuple[str, Dict[str, Any]]:
    """The API a REST request names and its path parameters; CommanderError when it names none."""
    path_args: Dict[str, Any] = {}
    route: Optional[str] = None
    if request.path.startswith(_PROPERTY_PATH):
        # A property path keeps its own slashes: clients send absolute paths unencoded, as in
        # /rest/v1.0/properties//myJob/summary (EFClient.groovy does); routing would merge or redirect them.
        route, path_args = _PROPERTY_ROUTE, {"propertyName": request.path[len(_PROPERTY_PATH):]}
    else:
        try:
            route, path_args = _URLS.bind("localhost").match(request.path, method=request.method)
        except (NotFound, RequestRedirect):
            pass
    explicit = request.args.get("request")
    if explicit:
        return explicit, path_args
    if route is None:
        # A real server answers a path it has no route for with "501, Not Implemented" (the Jenkins CD/RO
        # plugin's tests against real servers expect it: jenkinsci/electricflow-plugin); [U] the error code.
        raise CommanderError("NotImplemented", f"No REST resource at {request.path}")
    api = ROUTES[route].get(request.method)
    if api is None:
        allowed = ", ".join(sorted(ROUTES[route]))
        raise CommanderError("InvalidRequest", f"{request.method} {request.path}: expected one of {allowed}, "
                                               "or ?request=<api>")
    return api, path_args


def handle_rest(dispatcher: Dispatcher, request: Request) -> Response:
    """Answer one REST request. DroppedConnection (an injected fault) propagates to the server."""
    try:
        api, path_args = resolve(request)
        args = _simple(request.args)
        args.pop("request", None)
        args.update(_body_args(request))
        args.update(path_args)
        session = dispatcher.authenticator.session_for(request) if api != "login" else None
        dispatcher.record_exchange("rest", 1, session)
        result = dispatcher.call(api, args, session, wire="rest")
    except CommanderError as exc:
        return error_response(exc)
    response = json_response(result)
    if api == "login" and result.get("sessionId"):
        response.set_cookie("sessionId", result["sessionId"], httponly=True, path="/")
    return response
