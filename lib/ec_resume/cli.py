"""`ec-resume`: see, plan and start the restart of a CloudBees CD/RO procedure job from a terminal.

    ec-resume status JOB                      the job's steps, outcomes and durations
    ec-resume plan JOB                        what "Restart this job" would skip and run, without running it
    ec-resume restart JOB [--param N=V ...] [--all] [--wait]

Connection: --server URL (or COMMANDER_URL) and --user U (or COMMANDER_USER), the password from
COMMANDER_PASSWORD or a prompt, never from an argument; inside a job step, the agent's environment.
Exit status: 0 done, 1 the server refused or failed (or a --wait job ended in error), 2 bad usage.
Errors are one line on stderr; the session id and the password are never printed.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, TextIO, Tuple

from . import __version__
from .client import DEFAULT_TIMEOUT, CommanderApiError, CommanderClient, NotFound
from .job_steps import actual_parameters
from .report import build_plan, job_label, render_plan, render_status
from .restart_parameters import CREDENTIAL, NOT_FORMAL, credential_names, formal_names, restart_parameters
from .resume_rule import JOB_TO_RESTART, JobView, parse_done_outcomes, parse_max_depth

PROG = "ec-resume"
PLUGIN_SETTINGS = "/plugins/EC-Resume/project/resume/"
DONE_OUTCOMES_PARAMETER = "resumeDoneOutcomes"
EXIT_OK, EXIT_SERVER, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
CREDENTIAL_LEFT_OUT = ("a credential parameter cannot be carried into a new job; give it when you run "
                       "the job yourself")
NOT_A_PARAMETER = "no longer a parameter of the procedure"
LEFT_OUT_REASONS = {CREDENTIAL: CREDENTIAL_LEFT_OUT, NOT_FORMAL: NOT_A_PARAMETER}


class CliError(Exception):
    """One line for stderr and the exit status that goes with it."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(" ".join(message.split()))
        self.exit_code = exit_code


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad command line as one line, not usage text plus a line."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        raise CliError(f"{message} (see '{PROG} --help')")


# ------------------------------------------------------------------------------------------ connection


@dataclass(frozen=True)
class Connection:
    """Where and as whom to connect. `url` None means the job step's own environment."""

    url: Optional[str]
    user: Optional[str] = None
    password: Optional[str] = field(default=None, repr=False)
    verify_tls: bool = True
    timeout: float = DEFAULT_TIMEOUT


def timeout_from(option: Optional[str], env: Mapping[str, str]) -> float:
    """--timeout, else COMMANDER_TIMEOUT, else the default: seconds for one server call, retries included."""
    text, source = option, "--timeout"
    if option is None:
        text, source = env.get("COMMANDER_TIMEOUT"), "COMMANDER_TIMEOUT"
    if text is None or not str(text).strip():
        return DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 3600:
        raise CliError(f"{source} '{text}': expected a number of seconds above 0 and at most 3600")
    return value


def connection_from(server: Optional[str], user: Optional[str], insecure: bool,
                    env: Mapping[str, str], timeout: float = DEFAULT_TIMEOUT) -> Connection:
    """Command-line options first, then the environment; inside a job step, the step's own session."""
    url = (server or env.get("COMMANDER_URL") or "").strip()
    if url:
        name = (user or env.get("COMMANDER_USER") or "").strip()
        if not name:
            raise CliError("no user name: give --user U or set COMMANDER_USER")
        return Connection(url=url, user=name, password=env.get("COMMANDER_PASSWORD"), verify_tls=not insecure,
                          timeout=timeout)
    if env.get("COMMANDER_SERVER") and env.get("COMMANDER_SESSIONID"):
        return Connection(url=None, verify_tls=not insecure, timeout=timeout)
    raise CliError("no server: give --server URL or set COMMANDER_URL (or run inside a CD/RO job step)")


def is_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def connect(conn: Connection, env: Mapping[str, str],
            prompt: Callable[[str], str] = getpass.getpass) -> CommanderClient:
    if conn.url is None:
        kwargs: Dict[str, Any] = {"timeout": conn.timeout}
        if not conn.verify_tls:
            kwargs["verify_tls"] = False
        return CommanderClient.from_environment(env, **kwargs)
    try:
        client = CommanderClient(conn.url, verify_tls=conn.verify_tls, timeout=conn.timeout)
    except CommanderApiError as exc:
        raise CliError(f"--server '{conn.url}': {exc.message}") from None
    password = conn.password
    if password is None:
        if not is_terminal():  # getpass would fall back to reading stdin, with a warning
            raise CliError("no password: set COMMANDER_PASSWORD, or run from a terminal to be asked")
        try:
            password = prompt(f"Password for {conn.user} at {client.base_url}: ")
        except (EOFError, OSError):
            raise CliError("no password: set COMMANDER_PASSWORD or run from a terminal") from None
    client.login(conn.user or "", password)
    return client


# ----------------------------------------------------------------------------------------------- reads


def fetch_job(client: CommanderClient, ref: str) -> Dict[str, Any]:
    """getJobDetails of a job id or name; a missing job is one line naming it."""
    if not ref.strip():
        raise CliError("JOB is empty: expected a job id or job name")
    try:
        return client.get_job_details(ref.strip())  # [U] /jobs/<ref> takes a job name as well as an id
    except NotFound:
        raise CliError(f"job '{ref}' not found", EXIT_SERVER) from None


def _optional_property(client: CommanderClient, path: str) -> Optional[str]:
    try:
        return client.get_property(path)
    except NotFound:  # plugin not installed, or an older one without the setting
        return None


def resume_settings(client: CommanderClient, job: Mapping[str, Any]) -> Tuple[frozenset, int]:
    """Done outcomes and chain depth as the run condition would read them in the restarted job.

    The new job carries this job's parameters, so its resumeDoneOutcomes parameter wins, as in the
    run condition's /myJob/resumeDoneOutcomes; a job property of that name is not carried [U].
    """
    own = dict(actual_parameters(job)).get(DONE_OUTCOMES_PARAMETER, "").strip()
    done_text = own or _optional_property(client, PLUGIN_SETTINGS + "doneOutcomes")
    depth_text = _optional_property(client, PLUGIN_SETTINGS + "maxChainDepth")
    # The run condition compares outcomes in lower case.
    return parse_done_outcomes((done_text or "").lower()), parse_max_depth(depth_text)


def fetch_chain(client: CommanderClient, job: Dict[str, Any],
                max_depth: int) -> Tuple[List[Dict[str, Any]], Dict[str, JobView]]:
    """`job` and the jobs it restarted, at most `max_depth` in all, and their views for `decide`.

    A view is filed under its id and under the jobToRestart value that led to it (which may be a name).
    A job that no longer exists ends the chain: the decision then says it was not found.
    """
    chain = [job]
    views: Dict[str, JobView] = {}
    view = JobView.from_job_details(job)
    views[view.job_id] = view
    while len(chain) < max_depth and view.job_to_restart and view.job_to_restart not in views:
        ref = view.job_to_restart
        try:
            earlier = client.get_job_details(ref)
        except NotFound:
            break
        view = JobView.from_job_details(earlier)
        if view.job_id in views:  # a loop through names and ids: decide reports it
            views[ref] = views[view.job_id]
            break
        chain.append(earlier)
        views[view.job_id] = view
        views[ref] = view
    return chain, views


# -------------------------------------------------------------------------------------------- restart


@dataclass
class RestartRequest:
    parameters: Dict[str, str]
    left_out: List[Tuple[str, str]] = field(default_factory=list)


def parse_param_options(options: Sequence[str]) -> List[Tuple[str, str]]:
    """--param NAME=VALUE, in order; the value may hold '=' and may be empty."""
    pairs = []
    for option in options:
        name, sep, value = option.partition("=")
        if not sep or not name.strip():
            raise CliError(f"--param '{option}': expected NAME=VALUE")
        pairs.append((name.strip(), value))
    return pairs


def restart_request(job: Mapping[str, Any], formal_parameters: Sequence[Mapping[str, Any]],
                    overrides: Sequence[Tuple[str, str]], run_all: bool) -> RestartRequest:
    """The parameters of the new job: the job's own, minus what cannot travel, plus the overrides."""
    project, procedure = job.get("projectName", ""), job.get("procedureName", "")
    found = restart_parameters(actual_parameters(job), formal_parameters)
    formal = set(formal_names(formal_parameters))
    credentials = set(credential_names(formal_parameters))
    if not found.has_job_to_restart and not run_all:
        raise CliError(f"procedure '{procedure}' of project '{project}' has no '{JOB_TO_RESTART}' parameter, "
                       f"so a restart cannot skip anything: add formalParameter '{JOB_TO_RESTART}' with an "
                       "empty default to it (see 'Making a procedure resumable' in the README), or use --all")
    for name, _ in overrides:
        if name not in formal:
            raise CliError(f"--param {name}: procedure '{procedure}' has no parameter '{name}'; it has "
                           + (", ".join(sorted(formal)) or "none"))
        if name in credentials:
            raise CliError(f"--param {name}: '{name}' is a credential parameter; it cannot be given on the "
                           "command line")
        if name == JOB_TO_RESTART:
            raise CliError(f"--param {name}: ec-resume sets it to JOB (or empty with --all)")
    request = RestartRequest(parameters=dict(found.carried),
                             left_out=[(item.name, LEFT_OUT_REASONS[item.why]) for item in found.left_out])
    request.parameters.update(overrides)
    if found.has_job_to_restart:
        request.parameters[JOB_TO_RESTART] = "" if run_all else str(job.get("jobId", ""))
    return request


def wait_for_job(client: CommanderClient, job_id: str, sleep: Callable[[float], None] = time.sleep,
                 first_delay: float = 0.1, max_delay: float = 2.0) -> Dict[str, Any]:
    """Poll getJobStatus until the job completes (quickly at first, then every `max_delay` s)."""
    delay = first_delay
    while str(client.get_job_status(job_id).get("status", "")) != "completed":
        sleep(delay)
        delay = min(max_delay, delay * 1.5)
    return client.get_job_details(job_id)


# -------------------------------------------------------------------------------------------- commands


def cmd_status(client: CommanderClient, args: argparse.Namespace, out: TextIO) -> int:
    out.write(render_status(fetch_job(client, args.job)))
    return EXIT_OK


def cmd_plan(client: CommanderClient, args: argparse.Namespace, out: TextIO) -> int:
    job = fetch_job(client, args.job)
    done, depth = resume_settings(client, job)
    chain, views = fetch_chain(client, job, depth)
    out.write(render_plan(build_plan(chain, views, done, depth)))
    return EXIT_OK


def cmd_restart(client: CommanderClient, args: argparse.Namespace, out: TextIO) -> int:
    overrides = parse_param_options(args.param or [])
    job = fetch_job(client, args.job)
    project, procedure = str(job.get("projectName", "")), str(job.get("procedureName", ""))
    formals = client.get_formal_parameters(project, procedure)
    request = restart_request(job, formals, overrides, args.all)
    new_id = client.run_procedure(project, procedure, request.parameters)
    what = "running all steps again" if args.all else "skipping the steps done there"
    out.write(f"started job {new_id}\n")
    out.write(f"a new run of {project}/{procedure} with the parameters of {job_label(job)}, {what}\n")
    carried = ", ".join(request.parameters) or "none"
    out.write(f"parameters: {carried}\n")
    for name, reason in request.left_out:
        out.write(f"left out {name}: {reason}\n")
    out.flush()
    if not args.wait:
        return EXIT_OK
    finished = wait_for_job(client, new_id)
    out.write(render_status(finished))
    if finished.get("outcome") == "error":
        raise CliError(f"job {job_label(finished)} finished with outcome error", EXIT_SERVER)
    return EXIT_OK


def _add_connection_options(parser: argparse.ArgumentParser, default: Any) -> None:
    """On the main parser and on each command, so they may come before or after the command."""
    group = parser.add_argument_group("connection")
    group.add_argument("--server", metavar="URL", default=default,
                       help="CD/RO server, e.g. https://cd.example.com (default: $COMMANDER_URL)")
    group.add_argument("--user", metavar="U", default=default, help="user name (default: $COMMANDER_USER); "
                       "the password comes from $COMMANDER_PASSWORD or a prompt")
    group.add_argument("--insecure", action="store_true", default=default,
                       help="do not verify the server's TLS certificate")
    group.add_argument("--timeout", metavar="SECONDS", default=default,
                       help=f"give up on a server call after this long, retries included (default: "
                            f"$COMMANDER_TIMEOUT or {DEFAULT_TIMEOUT:g})")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Plan, start and follow the restart of a failed CloudBees "
                     "CD/RO procedure job at its failed step (EC-Resume).")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    _add_connection_options(parser, None)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    def command(name: str, text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=text, description=text)
        sub.add_argument("job", metavar="JOB", help="job id or job name")
        _add_connection_options(sub, argparse.SUPPRESS)
        return sub

    command("status", "the job's steps (indented by nesting), their outcomes and durations")
    command("plan", "what 'Restart this job' would skip and run, and why, without running anything")
    restart = command("restart", "run the job's procedure again with its parameters, skipping what is done")
    restart.add_argument("--param", action="append", metavar="NAME=VALUE",
                         help="give a parameter a new value (repeatable)")
    restart.add_argument("--all", action="store_true", help="run every step again (empty jobToRestart)")
    restart.add_argument("--wait", action="store_true", help="wait for the new job and print its status")
    return parser


COMMANDS: Dict[str, Callable[[CommanderClient, argparse.Namespace, TextIO], int]] = {
    "status": cmd_status, "plan": cmd_plan, "restart": cmd_restart}


def main(argv: Optional[Sequence[str]] = None, env: Optional[Mapping[str, str]] = None) -> int:
    """Run one command; returns the exit status. Never raises, never prints a traceback."""
    environment = os.environ if env is None else env
    out, err = sys.stdout, sys.stderr
    try:
        args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
        conn = connection_from(args.server, args.user, bool(args.insecure), environment,
                               timeout_from(args.timeout, environment))
        if args.command == "restart":
            parse_param_options(args.param or [])  # a malformed option is refused before any connection
        client = connect(conn, environment)
        return COMMANDS[args.command](client, args, out)
    except CliError as exc:
        err.write(f"{PROG}: {exc}\n")
        return exc.exit_code
    except CommanderApiError as exc:
        err.write(f"{PROG}: {exc}\n")  # the client already scrubbed secrets from the message
        return EXIT_SERVER
    except KeyboardInterrupt:
        err.write(f"{PROG}: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_SERVER
    except SystemExit as exc:  # --help and --version end here
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    except Exception as exc:  # a bug must still be one line, and never leak a traceback with secrets in it
        err.write(f"{PROG}: internal error: {type(exc).__name__}: {' '.join(str(exc).split())}\n")
        return EXIT_SERVER


if __name__ == "__main__":
    sys.exit(main())
