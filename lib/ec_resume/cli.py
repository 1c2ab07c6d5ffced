"""`ec-resume`: see, plan and start the restart of a CloudBees CD/RO procedure job from a terminal.

    ec-resume status JOB [--json]              the job's steps, outcomes, summaries, and its lineage
    ec-resume plan JOB [--param N=V]... [--from-step PATH] [--json]
                                               what a restart would skip and run, and why
    ec-resume restart JOB [--param N=V]... [--from-step PATH] [--dry-run] [--wait] [--all] [--json]
    ec-resume enable PROJECT PROCEDURE [--exclude STEP]... [--wrap-conditions] [--subprocedures] [--dry-run]
                                               make an existing procedure resumable (EnableResume)
    ec-resume disable PROJECT PROCEDURE [--dry-run]   undo it exactly (DisableResume)

Connection: --server URL (or COMMANDER_URL) and --user U (or COMMANDER_USER), the password from
COMMANDER_PASSWORD or a prompt, never from an argument; inside a job step, the agent's environment.
--timeout SECONDS (or COMMANDER_TIMEOUT; inside a job step also the plugin's resume/timeout) bounds each
server call, retries included (default 30).
Exit status: 0 done, 1 the server refused or failed (or a --wait job ended in error), 2 bad usage,
3 the restart (or an enable) was refused. Errors are one line on stderr; the session id and password
are never printed.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import time

from . import __version__
from .adoption import (
    AdoptionInputError,
    AdoptionRefused,
    AdoptionRequest,
    disable,
    enable,
    outcome_json,
    parse_exclude,
)
from .client import DEFAULT_TIMEOUT, CommanderApiError, CommanderClient, parse_timeout, server_root
from .enable_resume import EnableOptions
from .job_steps import step_rows
from .lineage import CLI, read_lineage
from .plugin_settings import apply_timeout_setting
from .provenance import status_section
from .records import field, record_type
from .report import RestartPlan, job_label, render_plan
from .restart import (
    BadRequest,
    JobNotFound,
    LaunchUnknown,
    Refused,
    RestartRequest,
    fetch_job,
    parse_overrides,
    restart,
)
from .status_view import render_status, status_json, step_statuses

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: see docs/ARCHITECTURE.md
    from typing import Any, Callable, Dict, Mapping, Optional, Sequence, TextIO

PROG = "ec-resume"
EXIT_OK, EXIT_SERVER, EXIT_USAGE, EXIT_REFUSED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
ENVIRONMENT = ("COMMANDER_URL", "COMMANDER_USER", "COMMANDER_PASSWORD", "COMMANDER_TIMEOUT")


class CliError(Exception):
    """One line for stderr and the exit status that goes with it."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(" ".join(message.split()))
        self.exit_code = exit_code


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad command line as one line, not usage text plus a line."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        raise CliError(f"{message} (see '{PROG} --help')")


def check_text(argv: Sequence[str], env: Mapping[str, str]) -> None:
    """Arguments and settings that are not UTF-8 (undecodable bytes arrive as lone surrogates)."""
    for n, arg in enumerate(argv, start=1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            shown = arg.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
            raise CliError(f"argument {n} ('{shown}') is not UTF-8 text") from None
    for name in ENVIRONMENT:
        try:
            env.get(name, "").encode("utf-8")
        except UnicodeEncodeError:
            raise CliError(f"{name} is not UTF-8 text") from None


# ------------------------------------------------------------------------------------------ connection


@record_type
class Connection:
    """Where and as whom to connect. `url` None means the job step's own environment."""

    url: Optional[str]
    user: Optional[str] = None
    password: Optional[str] = field(default=None, repr=False)
    verify_tls: bool = True
    timeout: Optional[float] = None  # None: not given; the plugin setting or the default applies
    source: str = "--server"


def timeout_from(option: Optional[str], env: Mapping[str, str]) -> Optional[float]:
    """--timeout, else COMMANDER_TIMEOUT; None when neither is given."""
    text, source = option, "--timeout"
    if option is None:
        text, source = env.get("COMMANDER_TIMEOUT"), "COMMANDER_TIMEOUT"
    if text is None or not str(text).strip():
        return None
    try:
        return parse_timeout(text, source)
    except CommanderApiError as exc:
        raise CliError(exc.message) from None


def connection_from(server: Optional[str], user: Optional[str], insecure: bool,
                    env: Mapping[str, str], timeout: Optional[float] = None) -> Connection:
    """Command-line options first, then the environment; inside a job step, the step's own session."""
    url = (server or env.get("COMMANDER_URL") or "").strip()
    if url:
        source = "--server" if server else "COMMANDER_URL"
        try:
            server_root(url)
        except CommanderApiError as exc:
            raise CliError(exc.message.replace("server URL", source, 1)) from None
        name = (user or env.get("COMMANDER_USER") or "").strip()
        if not name:
            raise CliError("no user name: give --user U or set COMMANDER_USER")
        return Connection(url=url, user=name, password=env.get("COMMANDER_PASSWORD"), verify_tls=not insecure,
                          timeout=timeout, source=source)
    if env.get("COMMANDER_SERVER") and env.get("COMMANDER_SESSIONID"):
        return Connection(url=None, verify_tls=not insecure, timeout=timeout)
    raise CliError("no server: give --server URL or set COMMANDER_URL (or run inside a CD/RO job step)")


def is_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


TLS_OFF_WARNING = (f"{PROG}: warning: the server's TLS certificate is not verified (--insecure or "
                   "EC_RESUME_TLS_VERIFY=0): anyone between you and the server can read the session")


def connect(conn: Connection, env: Mapping[str, str],
            prompt: Callable[[str], str] = getpass.getpass) -> CommanderClient:
    timeout = conn.timeout or DEFAULT_TIMEOUT
    if not conn.verify_tls or env.get("EC_RESUME_TLS_VERIFY", "1").strip().lower() in ("0", "false", "no"):
        sys.stderr.write(TLS_OFF_WARNING + "\n")  # an explicit choice, said every time
    if conn.url is None:
        kwargs: Dict[str, Any] = {"timeout": timeout}
        if not conn.verify_tls:
            kwargs["verify_tls"] = False
        client = CommanderClient.from_environment(env, **kwargs)
        if conn.timeout is None:  # inside a job step the plugin's setting applies, as in plugin steps
            warning = apply_timeout_setting(client)
            if warning:
                sys.stderr.write(f"{PROG}: warning: {warning}\n")
        return client
    client = CommanderClient(conn.url, verify_tls=conn.verify_tls, timeout=timeout)
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


# ------------------------------------------------------------------------------------------- output


@record_type(frozen=False)
class Output:
    out: TextIO
    err: TextIO
    as_json: bool

    def text(self, text: str) -> None:
        """Words for people: stdout, or stderr when stdout carries the JSON."""
        stream = self.err if self.as_json else self.out
        stream.write(text if text.endswith("\n") else text + "\n")
        stream.flush()

    def json(self, data: Mapping[str, Any]) -> None:
        self.out.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
        self.out.flush()


@record_type(frozen=False)
class Started:
    """The job a restart started, kept for the message when the user interrupts after the launch."""

    job_id: str = ""


# -------------------------------------------------------------------------------------------- commands


def step_summaries(client: CommanderClient, job: Mapping[str, Any]) -> Dict[str, str]:
    """Summary by job step id, of every step that started (one that never did has none)."""
    found = {}
    for row in step_rows(job):
        if row.record.job_step_id and row.record.start:
            text = client.get_property("summary", expand=False, jobStepId=row.record.job_step_id)
            if text:
                found[row.record.job_step_id] = text
    return found


def job_labels(client: CommanderClient, ids: Sequence[str]) -> Dict[str, str]:
    labels = {}
    for job_id in dict.fromkeys(i for i in ids if i):
        labels[job_id] = (client.get_property(f"/jobs/{job_id}/jobName") or "").strip() or job_id
    return labels


def cmd_status(client: CommanderClient, args: argparse.Namespace, show: Output, started: Started) -> int:
    try:
        job = fetch_job(client, args.job)
    except JobNotFound as exc:  # not a refusal here: there is nothing to restart, only nothing to show
        raise CliError(str(exc), EXIT_SERVER) from None
    show_status(client, job, show)
    return EXIT_OK


def show_status(client: CommanderClient, job: Mapping[str, Any], show: Output) -> None:
    """The job's steps with outcomes and summaries, and its lineage (`status`, and the end of --wait)."""
    steps = step_statuses(job, step_summaries(client, job))
    lineage = read_lineage(client, str(job.get("jobId", "")))
    reused, reused_json = status_section(client, str(job.get("jobId", "")))  # lossless resume
    if show.as_json:
        show.json({**status_json(job, steps, lineage), "reused": reused_json})
    else:
        labels = job_labels(client, [lineage.resumes, lineage.chain_root, *lineage.resumed_by])
        text = render_status(job, steps, lineage, labels).splitlines()
        show.out.write("\n".join(text[:-1] + reused + text[-1:]) + "\n")


def _request(args: argparse.Namespace, env: Mapping[str, str], dry_run: bool) -> RestartRequest:
    overrides = parse_overrides(args.param or [], what=lambda item: f"--param '{item}'")
    holder = f"{CLI}:{env.get('COMMANDER_USER') or env.get('USER') or 'user'}".replace(" ", "_")
    return RestartRequest(job_ref=args.job, overrides=tuple(overrides), from_step=args.from_step or "",
                          dry_run=dry_run, run_all=bool(getattr(args, "all", False)), how=CLI, holder=holder,
                          own_job_id=env.get("COMMANDER_JOBID", "").strip())


def cmd_plan(client: CommanderClient, args: argparse.Namespace, show: Output, started: Started,
             env: Mapping[str, str]) -> int:
    launch = restart(client, _request(args, env, dry_run=True), lambda plan: None)
    _show_plan(show, launch.plan)
    return EXIT_OK


def _show_plan(show: Output, plan: Optional[RestartPlan], **extra: Any) -> None:
    if plan is None:
        return
    if show.as_json:
        show.json({**plan.to_json(), **extra})
    else:
        show.out.write(render_plan(plan))


def wait_for_job(client: CommanderClient, job_id: str, progress: Callable[[str], None],
                 sleep: Callable[[float], None] = time.sleep, first_delay: float = 0.1,
                 max_delay: float = 2.0) -> Dict[str, Any]:
    """Poll the job until it completes, saying each time how many of its steps have completed."""
    delay, said = first_delay, ""
    while True:
        job = client.get_job_details(job_id)
        rows = step_rows(job)
        done = sum(1 for row in rows if row.record.status == "completed")
        status = str(job.get("status") or "")
        line = f"waiting for {job_label(job)}: {status or '?'}, {done} of {len(rows)} steps completed"
        if line != said:
            progress(line)
            said = line
        if status == "completed":
            return job
        sleep(delay)
        delay = min(max_delay, delay * 1.5)


def cmd_restart(client: CommanderClient, args: argparse.Namespace, show: Output, started: Started,
                env: Mapping[str, str]) -> int:
    request = _request(args, env, dry_run=bool(args.dry_run))

    def on_plan(plan: RestartPlan) -> None:
        if not show.as_json:
            show.out.write(render_plan(plan))
            show.out.flush()

    def on_launched(job_id: str) -> None:
        started.job_id = job_id

    launch = restart(client, request, on_plan, on_launched)
    if request.dry_run:
        if show.as_json:
            _show_plan(show, launch.plan)
        else:
            show.out.write("dry run: nothing started\n")
        return EXIT_OK
    if not show.as_json:
        what = "running all steps again" if request.run_all else "skipping the steps done there"
        lines = [f"started job {launch.new_job_id}",
                 f"a new run of {launch.project}/{launch.procedure} with the parameters of "
                 f"{job_label(launch.job)}, {what}",
                 "parameters: " + (", ".join([*launch.parameters, *(r["name"] for r in
                                                                   launch.credential_references)]) or "none")]
        if launch.found_after_lost_reply:
            lines.append("(the server's answer to the launch was lost; the job it started was found)")
        lines += [f"left out {name}: {reason}" for name, reason in launch.left_out]
        show.text("\n".join(lines))
    if not args.wait:
        if show.as_json:
            _show_plan(show, launch.plan, newJobId=launch.new_job_id)
        return EXIT_OK
    finished = wait_for_job(client, launch.new_job_id, show.text)
    outcome = str(finished.get("outcome") or "")
    if show.as_json:
        _show_plan(show, launch.plan, newJobId=launch.new_job_id, outcome=outcome)
    else:
        show_status(client, finished, show)
    if outcome == "error":
        raise CliError(f"job {job_label(finished)} finished with outcome error", EXIT_SERVER)
    return EXIT_OK


def cmd_adopt(client: CommanderClient, args: argparse.Namespace, show: Output) -> int:
    """`enable` and `disable`: the core of EnableResume and DisableResume, its lines (and diff) printed."""
    if args.command == "enable":
        options = EnableOptions(exclude=parse_exclude(args.exclude or []), wrap=bool(args.wrap_conditions),
                                subprocedures=bool(args.subprocedures))
        outcome = enable(client, AdoptionRequest(args.project, args.procedure, options, bool(args.dry_run)))
    else:
        outcome = disable(client, AdoptionRequest(args.project, args.procedure, dry_run=bool(args.dry_run)))
    if show.as_json:
        show.json(outcome_json(outcome))
    else:
        show.out.write(outcome.text() if outcome.text().endswith("\n") else outcome.text() + "\n")
    return EXIT_OK


# ---------------------------------------------------------------------------------------------- parser


def _add_connection_options(parser: argparse.ArgumentParser, default: Any) -> None:
    """On the main parser and on each command, so they may come before or after the command."""
    group = parser.add_argument_group("connection")
    group.add_argument("--server", metavar="URL", default=default,
                       help="CD/RO server root, e.g. https://cd.example.com (default: $COMMANDER_URL)")
    group.add_argument("--user", metavar="U", default=default, help="user name (default: $COMMANDER_USER); "
                       "the password comes from $COMMANDER_PASSWORD or a prompt")
    group.add_argument("--insecure", action="store_true", default=default,
                       help="do not verify the server's TLS certificate")
    group.add_argument("--timeout", metavar="SECONDS", default=default,
                       help=f"give up on a server call after this long, retries included (default: "
                            f"$COMMANDER_TIMEOUT, in a job step resume/timeout, else {DEFAULT_TIMEOUT:g})")
    group.add_argument("--json", action="store_true", default=default,
                       help="print one JSON object instead of text")


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

    def planning(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--param", action="append", metavar="NAME=VALUE",
                         help="give a parameter a new value (repeatable)")
        sub.add_argument("--from-step", metavar="PATH", help="run this step and every step after it again, "
                         "e.g. deploy or deploy/jobSteps/upload")

    command("status", "the job's steps (indented by nesting), outcomes, durations, summaries; its lineage")
    planning(command("plan", "what a restart would skip and run, and why, without running anything"))
    restart_cmd = command("restart", "run the job's procedure again with its parameters, skipping what is "
                                     "done; prints the plan first")
    planning(restart_cmd)
    restart_cmd.add_argument("--dry-run", action="store_true", help="print the plan and start nothing")
    restart_cmd.add_argument("--all", action="store_true", help="run every step again (empty jobToRestart)")
    restart_cmd.add_argument("--wait", action="store_true", help="follow the new job until it completes")
    for name, text in (("enable", "make a procedure resumable: jobToRestart, CarryOver first, the run "
                                  "condition on its steps, CreateRestartLink last (EnableResume)"),
                       ("disable", "undo what enable recorded on the procedure, exactly (DisableResume)")):
        sub = commands.add_parser(name, help=text, description=text)
        sub.add_argument("project", metavar="PROJECT")
        sub.add_argument("procedure", metavar="PROCEDURE")
        sub.add_argument("--dry-run", action="store_true", help="print the change as a diff of the "
                         "procedure's DSL and change nothing")
        _add_connection_options(sub, argparse.SUPPRESS)
        if name == "enable":
            sub.add_argument("--exclude", action="append", metavar="STEP", help="leave this step alone "
                             "(repeatable)")
            sub.add_argument("--wrap-conditions", action="store_true", help="keep a step's own run "
                             "condition and add the resume rule to it (both must say run)")
            sub.add_argument("--subprocedures", action="store_true", help="enable the procedures it calls "
                             "too")
    return parser


def _run(argv: Sequence[str], env: Mapping[str, str], show: Output, started: Started) -> int:
    check_text(argv, env)
    args = build_parser().parse_args(list(argv))
    show.as_json = bool(args.json)
    conn = connection_from(args.server, args.user, bool(args.insecure), env, timeout_from(args.timeout, env))
    if args.command in ("plan", "restart"):  # a malformed option is refused before any connection
        parse_overrides(args.param or [], what=lambda item: f"--param '{item}'")
    client = connect(conn, env)
    if args.command in ("enable", "disable"):
        return cmd_adopt(client, args, show)
    if args.command == "status":
        return cmd_status(client, args, show, started)
    if args.command == "plan":
        return cmd_plan(client, args, show, started, env)
    return cmd_restart(client, args, show, started, env)


def main(argv: Optional[Sequence[str]] = None, env: Optional[Mapping[str, str]] = None) -> int:
    """Run one command; returns the exit status. Never raises, never prints a traceback."""
    environment = os.environ if env is None else env
    show = Output(sys.stdout, sys.stderr, as_json=False)
    started = Started()
    err = sys.stderr
    try:
        return _run(list(sys.argv[1:] if argv is None else argv), environment, show, started)
    except CliError as exc:
        err.write(f"{PROG}: {exc}\n")
        return exc.exit_code
    except (BadRequest, AdoptionInputError) as exc:
        err.write(f"{PROG}: {' '.join(str(exc).split())}\n")
        return EXIT_USAGE
    except (Refused, AdoptionRefused) as exc:
        err.write(f"{PROG}: refused: {' '.join(str(exc).split())}\n")
        return EXIT_REFUSED
    except LaunchUnknown as exc:
        err.write(f"{PROG}: {' '.join(str(exc).split())}\n")
        return EXIT_SERVER
    except CommanderApiError as exc:
        err.write(f"{PROG}: {exc}\n")  # the client already scrubbed secrets from the message
        return EXIT_SERVER
    except KeyboardInterrupt:
        if started.job_id:
            err.write(f"{PROG}: interrupted; job {started.job_id} was already started and goes on running "
                      f"(see it with '{PROG} status {started.job_id}')\n")
        else:
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
