"""The object store: the CD/RO objects the emulator knows, as plain records, and one lock around them.

This module holds data only. Path resolution lives in `properties`, job execution in `engine`, the wire
formats in `wire_rest`/`wire_xml`. Every mutation of shared state happens under `Store.lock`.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional

from .errors import CommanderError, no_such

ERROR_HANDLING = ("failProcedure", "abortProcedure", "abortProcedureNow", "abortJob", "abortJobNow", "ignore")
OUTCOMES = ("success", "warning", "error", "skipped", "notRun")
# What a step an abort never reached gets ([U], varies by version: Settings.unreached_outcome).
UNREACHED_OUTCOMES = ("skipped", "notRun")
# What `myJobStep.parent` of a top-level step is ([U], see Settings.top_level_parent).
TOP_LEVEL_PARENTS = ("none", "job", "rootStep")
# abortStatus after abortJob: force=1 is FORCE_ABORT; [U] the value of a normal abort.
ABORT, FORCE_ABORT = "ABORT", "FORCE_ABORT"
PARAMETER_TYPES = ("entry", "textarea", "checkbox", "select", "radio", "credential", "project", "header")


def new_id() -> str:
    """CD/RO object ids are UUIDs."""
    return str(uuid.uuid4())


def now_iso() -> str:
    """CD/RO timestamps look like 2024-01-31T12:34:56.789Z."""
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int((t % 1) * 1000):03d}Z"


# --------------------------------------------------------------------------------------------- properties


@dataclass
class Property:
    """One property: a string value, or a nested sheet when `sheet` is set."""

    name: str
    value: Optional[str] = None
    sheet: Optional[PropertySheet] = None
    expandable: bool = True
    description: str = ""
    id: str = field(default_factory=new_id)

    @property
    def is_sheet(self) -> bool:
        return self.sheet is not None


class PropertySheet:
    """An ordered map of custom properties. Names are case-preserving but looked up case-insensitively."""

    def __init__(self) -> None:
        self._items: OrderedDict[str, Property] = OrderedDict()
        self.id = new_id()

    def get(self, name: str) -> Optional[Property]:
        return self._items.get(name.lower())

    def __contains__(self, name: str) -> bool:
        return name.lower() in self._items

    def __iter__(self) -> Iterator[Property]:
        return iter(list(self._items.values()))

    def __len__(self) -> int:
        return len(self._items)

    def set_value(self, name: str, value: str, expandable: Optional[bool] = None) -> Property:
        """Create or overwrite a string property (an existing sheet of that name is replaced)."""
        prop = self._items.get(name.lower())
        if prop is None or prop.is_sheet:
            prop = Property(name=name)
            self._items[name.lower()] = prop
        prop.value = value
        prop.sheet = None
        if expandable is not None:
            prop.expandable = expandable
        return prop

    def ensure_sheet(self, name: str) -> PropertySheet:
        """The nested sheet `name`, created if missing. A string property of that name is an error."""
        prop = self._items.get(name.lower())
        if prop is None:
            prop = Property(name=name, sheet=PropertySheet())
            self._items[name.lower()] = prop
        if prop.sheet is None:
            raise CommanderError("InvalidPropertyValue", f"Property '{name}' is not a property sheet")
        return prop.sheet

    def delete(self, name: str) -> None:
        if self._items.pop(name.lower(), None) is None:
            raise CommanderError("NoSuchProperty", f"Property '{name}' does not exist")


# ------------------------------------------------------------------------------------ definitions


@dataclass
class FormalParameter:
    name: str
    type: str = "entry"
    required: bool = False
    default_value: Optional[str] = None
    description: str = ""
    label: str = ""
    expansion_deferred: bool = False
    order_index: Optional[str] = None
    checked_value: Optional[str] = None
    unchecked_value: Optional[str] = None
    depends_on: Optional[str] = None
    render_condition: Optional[str] = None
    simple_list: Optional[str] = None
    id: str = field(default_factory=new_id)


@dataclass
class FormalOutputParameter:
    """An output parameter a procedure declares (formalOutputParameter); its steps set the values."""

    name: str
    description: str = ""
    id: str = field(default_factory=new_id)


@dataclass
class Step:
    """A procedure step: every createStep field of commander-api.md §5."""

    name: str
    command: Optional[str] = None
    shell: Optional[str] = None
    subprocedure: Optional[str] = None
    subproject: Optional[str] = None
    actual_parameters: OrderedDict[str, str] = field(default_factory=OrderedDict)
    condition: Optional[str] = None
    precondition: Optional[str] = None
    always_run: bool = False
    parallel: bool = False
    error_handling: str = "failProcedure"
    time_limit: Optional[str] = None
    time_limit_units: Optional[str] = None
    resource_name: Optional[str] = None
    workspace_name: Optional[str] = None
    working_directory: Optional[str] = None
    log_file_name: Optional[str] = None
    post_processor: Optional[str] = None
    credential_name: Optional[str] = None
    broadcast: bool = False
    exclusive: bool = False
    exclusive_mode: Optional[str] = None
    release_exclusive: bool = False
    release_mode: Optional[str] = None
    comment: str = ""
    description: str = ""
    properties: PropertySheet = field(default_factory=PropertySheet)
    id: str = field(default_factory=new_id)


@dataclass
class Procedure:
    name: str
    project_name: str
    description: str = ""
    resource_name: Optional[str] = None
    workspace_name: Optional[str] = None
    job_name_template: Optional[str] = None
    credential_name: Optional[str] = None
    time_limit: Optional[str] = None  # stored, not enforced on a job (see README, deliberately left out)
    time_limit_units: Optional[str] = None
    steps: List[Step] = field(default_factory=list)
    formal_parameters: OrderedDict[str, FormalParameter] = field(default_factory=OrderedDict)
    formal_output_parameters: OrderedDict[str, FormalOutputParameter] = field(default_factory=OrderedDict)
    properties: PropertySheet = field(default_factory=PropertySheet)
    id: str = field(default_factory=new_id)

    def step(self, name: str) -> Step:
        for s in self.steps:
            if s.name == name:
                return s
        raise no_such("Step", name)

    def formal_parameter(self, name: str) -> FormalParameter:
        param = self.formal_parameters.get(name)
        if param is None:
            raise no_such("FormalParameter", name)
        return param

    def formal_output_parameter(self, name: str) -> FormalOutputParameter:
        param = self.formal_output_parameters.get(name)
        if param is None:
            raise no_such("FormalOutputParameter", name)
        return param


@dataclass
class Credential:
    name: str
    project_name: str
    user_name: str = ""
    password: str = ""
    description: str = ""
    id: str = field(default_factory=new_id)


@dataclass
class Project:
    name: str
    description: str = ""
    resource_name: Optional[str] = None
    workspace_name: Optional[str] = None
    credential_name: Optional[str] = None
    tracked: bool = False  # change tracking (stored; the emulator tracks no changes)
    procedures: OrderedDict[str, Procedure] = field(default_factory=OrderedDict)
    credentials: OrderedDict[str, Credential] = field(default_factory=OrderedDict)
    properties: PropertySheet = field(default_factory=PropertySheet)
    plugin_key: Optional[str] = None  # set on a plugin's project
    id: str = field(default_factory=new_id)

    def procedure(self, name: str) -> Procedure:
        proc = self.procedures.get(name)
        if proc is None:
            raise no_such("Procedure", name)
        return proc


@dataclass
class User:
    name: str
    password: str
    full_name: str = ""
    email: str = ""
    properties: PropertySheet = field(default_factory=PropertySheet)


@dataclass
class Session:
    id: str
    user_name: str
    created: float = field(default_factory=time.time)


@dataclass
class Plugin:
    key: str
    version: str
    label: str = ""
    description: str = ""
    author: str = ""
    category: str = ""
    jar_path: Optional[str] = None
    plugin_dir: Optional[str] = None  # where the jar was unpacked
    promoted: bool = False

    @property
    def name(self) -> str:
        """CD/RO's plugin name (and its project's name) is KEY-VERSION."""
        return f"{self.key}-{self.version}"


# ------------------------------------------------------------------------------------------- runtime


@dataclass
class JobStep:
    """One step of a running or finished job. A subprocedure call holds its children in `children`."""

    step_name: str
    job: Job
    parent: Optional[JobStep]
    step: Step  # the procedure step this was made from (as defined when the job reached it)
    project_name: str  # project of the procedure that owns this step
    procedure_name: str  # procedure that owns this step
    id: str = field(default_factory=new_id)
    status: str = "pending"
    outcome: Optional[str] = None
    exit_code: Optional[int] = None
    start: Optional[str] = None
    finish: Optional[str] = None
    start_monotonic: Optional[float] = None
    finish_monotonic: Optional[float] = None
    command: Optional[str] = None  # as run, after expansion: read effective_command
    shell: Optional[str] = None  # as run, after expansion: read effective_shell
    condition: Optional[str] = None  # as the job reached it: read effective_condition
    run_condition_result: Optional[str] = None
    resource_name: str = "local"
    log_path: Optional[str] = None
    properties: PropertySheet = field(default_factory=PropertySheet)
    # For a subprocedure call: what it called and with which actual parameters.
    called_project: Optional[str] = None
    called_procedure: Optional[str] = None
    call_parameters: OrderedDict[str, str] = field(default_factory=OrderedDict)
    children: List[JobStep] = field(default_factory=list)
    aborted: bool = False
    error_message: Optional[str] = None
    # A step process may set its own outcome (setProperty /myJobStep/outcome); it wins over the exit code.
    outcome_override: Optional[str] = None
    # setOutputParameter: a call step holds those set by the steps it runs (name -> value, in order).
    output_parameters: OrderedDict[str, str] = field(default_factory=OrderedDict)

    @property
    def is_call(self) -> bool:
        return self.called_procedure is not None

    # What a job step shows for its command, shell and condition: what it ran, else what its step defines.

    @property
    def effective_command(self) -> Optional[str]:
        return self.command if self.command is not None else self.step.command

    @property
    def effective_shell(self) -> Optional[str]:
        return self.shell if self.shell is not None else self.step.shell

    @property
    def effective_condition(self) -> Optional[str]:
        return self.condition if self.condition is not None else self.step.condition

    def path(self) -> str:
        """Step names from the top of the job, joined the way property paths address them."""
        names = []
        node: Optional[JobStep] = self
        while node is not None:
            names.append(node.step_name)
            node = node.parent
        return "/jobSteps/".join(reversed(names))


@dataclass
class Job:
    name: str
    project_name: str
    procedure_name: str
    launched_by: str
    id: str = field(default_factory=new_id)
    actual_parameters: OrderedDict[str, str] = field(default_factory=OrderedDict)
    credentials: OrderedDict[str, Credential] = field(default_factory=OrderedDict)
    status: str = "pending"
    outcome: Optional[str] = None
    start: Optional[str] = None
    finish: Optional[str] = None
    properties: PropertySheet = field(default_factory=PropertySheet)
    output_parameters: OrderedDict[str, str] = field(default_factory=OrderedDict)  # of top-level steps
    steps: List[JobStep] = field(default_factory=list)
    workspace: Optional[str] = None
    session_id: Optional[str] = None  # COMMANDER_SESSIONID of its steps
    abort_requested: bool = False
    abort_status: Optional[str] = None  # what getJobDetails shows after abortJob (ABORT_STATUSES)
    # The id of the job's root step: shown only when settings.top_level_parent is "rootStep".
    root_step_id: str = field(default_factory=new_id)
    done: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)
    store: Optional[Store] = field(default=None, repr=False, compare=False)

    def walk(self) -> Iterator[JobStep]:
        """Every job step, depth first, in order."""
        stack = list(reversed(self.steps))
        while stack:
            js = stack.pop()
            yield js
            stack.extend(reversed(js.children))


# --------------------------------------------------------------------------------------------- store


@dataclass
class Settings:
    """Emulator settings for behaviour that varies between CD/RO versions or is unverified ([U])."""

    # Outcome recorded for a step that an abort never reached: "skipped" or "notRun" ([U], varies by version).
    unreached_outcome: str = "skipped"
    # Where step processes reach the server back (COMMANDER_SERVER / COMMANDER_PORT); set by server.py.
    server_host: str = "127.0.0.1"
    server_port: int = 0
    default_shell: str = "sh"  # [U] a step without a shell uses its resource's shell; ours is POSIX sh
    # What the parent of a top-level job step is ([U]: the docs speak of a job's "root step"): "none"
    # (nothing), "job" (the job), or "rootStep" (a job step named after the procedure that holds the
    # top-level steps). Property paths and JavaScript see the same parent. The default is "job", what
    # /myParent is at the top level, so that myJobStep.parent and /myParent agree there.
    top_level_parent: str = "job"
    # Whose String.stripIndent() a DSL file's '...'.stripIndent() runs ([U]: the server's Java): "java"
    # (Java 15+, its own method) or "groovy" (the GDK method, older Java). See dsl_strings.
    strip_indent: str = "java"


class Store:
    """All emulator state. Callers take `lock` around any read-modify-write."""

    def __init__(self, workspace_root: str) -> None:
        self.lock = threading.RLock()
        self.settings = Settings()
        self.workspace_root = workspace_root
        self.projects: OrderedDict[str, Project] = OrderedDict()
        self.jobs: OrderedDict[str, Job] = OrderedDict()
        self.job_steps: Dict[str, JobStep] = {}
        self.users: Dict[str, User] = {}
        self.sessions: Dict[str, Session] = {}
        self.plugins: OrderedDict[str, Plugin] = OrderedDict()  # by plugin name KEY-VERSION
        self.server_properties = PropertySheet()
        self._job_counter = itertools.count(1)

    # ---- lookups that raise the CD/RO error when missing

    def project(self, name: str) -> Project:
        proj = self.projects.get(name)
        if proj is None:
            raise no_such("Project", name)
        return proj

    def procedure(self, project_name: str, procedure_name: str) -> Procedure:
        return self.project(project_name).procedure(procedure_name)

    def job(self, id_or_name: str) -> Job:
        """A job by its id, else by its name: the one lookup of getJobDetails, /jobs/<id> and /jobs/<name>."""
        job = self.jobs.get(id_or_name)
        if job is None:
            job = next((j for j in self.jobs.values() if j.name == id_or_name), None)
        if job is None:
            raise no_such("Job", id_or_name)
        return job

    def job_step(self, job_step_id: str) -> JobStep:
        js = self.job_steps.get(job_step_id)
        if js is None:
            raise no_such("JobStep", job_step_id)
        return js

    def user(self, name: str) -> User:
        user = self.users.get(name)
        if user is None:
            raise no_such("User", name)
        return user

    def check_password(self, user_name: str, password: str) -> bool:
        user = self.users.get(user_name)
        return user is not None and user.password == password

    def plugin(self, name_or_key: str, promoted_only: bool = False) -> Plugin:
        """The one plugin lookup: by its name KEY-VERSION, else by its key: the promoted version, else
        (unless `promoted_only`) the newest installed."""
        with self.lock:
            exact = self.plugins.get(name_or_key)
            if exact is not None:
                return exact
            same_key = [p for p in self.plugins.values() if p.key == name_or_key]
            found = [p for p in same_key if p.promoted] or ([] if promoted_only else same_key)
            if found:
                return found[-1]
        raise no_such("Plugin", name_or_key)

    def promoted_plugin(self, key: str) -> Plugin:
        """What `/plugins/<key>` names: the promoted version of the key (or that exact KEY-VERSION)."""
        return self.plugin(key, promoted_only=True)

    # ---- creation helpers shared by the backend, the engine and plugin promotion

    def add_user(self, name: str, password: str, full_name: str = "") -> User:
        with self.lock:
            user = User(name=name, password=password, full_name=full_name or name)
            self.users[name] = user
            return user

    def new_session(self, user_name: str) -> Session:
        with self.lock:
            session = Session(id=new_id().replace("-", "").upper(), user_name=user_name)
            self.sessions[session.id] = session
            return session

    def ensure_project(self, name: str) -> Project:
        with self.lock:
            proj = self.projects.get(name)
            if proj is None:
                proj = Project(name=name)
                self.projects[name] = proj
            return proj

    def next_job_name(self) -> str:
        # CD/RO's default job name template is job_<counter>_<timestamp> [U exact template].
        return f"job_{next(self._job_counter)}_{time.strftime('%Y%m%d%H%M%S', time.gmtime())}"

    def register_job(self, job: Job) -> None:
        with self.lock:
            self.jobs[job.id] = job

    def register_job_step(self, js: JobStep) -> None:
        with self.lock:
            self.job_steps[js.id] = js
