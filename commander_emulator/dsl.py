"""Strict reader of the Groovy DSL subset that CD/RO plugins and users write.

The DSL is not executed against the store: `parse_dsl` turns DSL text into an ordered list of `DslOp`
records (ectool argument names, string values) that the backend applies with create-or-modify
semantics. The reader is strict on purpose: anything outside the subset is an error naming the file,
the line and the construct, never a guess. Real Groovy is the reference (tests/conformance run the same
files under Debian's `groovy`), so what Groovy would refuse to compile is refused here too. The fields
each object takes, and their booleans and enumerations, are those of `schema`, as for createX/modifyX.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from .dsl_expressions import UNSUPPORTED_KEYWORDS, ExpressionReader, Scope
from .dsl_lexer import DslError, Token, describe, tokenize
from .schema import (
    FORMAL_OUTPUT_PARAMETER,
    FORMAL_PARAMETER,
    PROCEDURE,
    PROJECT,
    PROPERTY,
    SCHEMAS,
    STEP,
    FieldValueError,
    ObjectSchema,
    argument_text,
    describe_value,
    text_value,
)

__all__ = ["UNSUPPORTED_OBJECTS", "DslError", "DslOp", "parse_dsl"]

OP_KINDS = tuple(SCHEMAS)


@dataclass
class DslOp:
    """One create-or-modify operation: `kind` in OP_KINDS, `args` with ectool argument names."""

    kind: str
    args: Dict[str, Any]
    source: str  # "file:line" of the DSL statement, for error messages


@dataclass
class _Block:
    """The object whose closure is being read, and the path context its children inherit."""

    kind: str  # top, project, procedure, step, property, formalParameter, formalOutputParameter
    op: Optional[DslOp] = None
    project: Optional[str] = None
    procedure: Optional[str] = None
    step: Optional[str] = None
    prop_path: Optional[str] = None
    nested: int = 0  # nested properties created inside a property block
    children: int = 0  # objects created inside this block (projectName may be set only before them)
    name: Optional[str] = None  # a formal (output) parameter's name

    def context(self) -> Dict[str, str]:
        ctx: Dict[str, str] = {}
        if self.project is not None:
            ctx["projectName"] = self.project
        if self.procedure is not None:
            ctx["procedureName"] = self.procedure
        if self.step is not None:
            ctx["stepName"] = self.step
        return ctx

    def describe(self) -> str:
        if self.kind == "top":
            return "at the top level"
        name = {"project": self.project, "procedure": self.procedure, "step": self.step,
                "property": self.prop_path}.get(self.kind, self.name)
        return f"inside {self.kind} '{name}'"


@dataclass
class _Call:
    name: str
    line: int
    positional: List[Any] = field(default_factory=list)
    named: Dict[str, Tuple[Any, int]] = field(default_factory=dict)
    closure: Optional[int] = None  # token index of the closure's '{'


_KNOWN_METHODS = OP_KINDS + ("actualParameter",)
_STEP_ONLY_ARGS = ("actualParameter",)  # a step's named argument that is no field
# Blocks whose unknown assignments are custom properties of the object; elsewhere they are errors.
_WITH_PROPERTIES = ("project", "procedure", "step", "property")
# CD/RO DSL methods outside the subset: refused by name, so a real file's refusal says what to remove.
UNSUPPORTED_OBJECTS = frozenset(
    "emailNotifier attachParameter attachCredential detachParameter acl aclEntry credential resource "
    "resourcePool workspace schedule trigger pipeline stage task gate release application applicationTier "
    "component process processStep processDependency environment environmentTier cluster service "
    "snapshot catalog catalogItem dashboard report reportObjectType widget user group persona "
    "customEditorData emailConfig pluginConfiguration workflow workflowDefinition stateDefinition "
    "transitionDefinition tierMap serviceAccount deployerApplication deployerService devOpsInsightServer "
    "jobStep job artifact artifactVersion hook".split()
)


# ------------------------------------------------------------------------------------------ parser


class _Reader(ExpressionReader):
    """Statements and the DSL methods; each method call becomes DslOps in the order they are read."""

    def __init__(self, toks: List[Token], filename: str, binding: Dict[str, Any],
                 project_name: Optional[str], strip_indent: str) -> None:
        super().__init__(toks, filename, binding, strip_indent)
        self.project_name = project_name
        self.ops: List[DslOp] = []

    def src(self, line: int) -> str:
        return f"{self.filename}:{line}"

    # ---- statements

    def read(self) -> List[DslOp]:
        root = Scope(None)
        root.vars.update(self.binding)
        top = _Block("top", project=self.project_name)
        self.statements(top, Scope(root), closing=False)
        return self.ops

    def statements(self, block: _Block, scope: Scope, closing: bool) -> None:
        while True:
            tok = self.peek()
            if tok.kind == "NL" or self.is_op(";"):
                self.advance()
                continue
            if tok.kind == "EOF":
                return
            if self.is_op("}"):
                if not closing:
                    raise self.fail(tok.line, "'}' without an open block")
                self.advance()
                return
            self.statement(block, scope)
            end = self.peek()
            if not (end.kind in ("NL", "EOF") or self.is_op(";") or self.is_op("}")):
                raise self.fail(end.line, f"unexpected {describe(end)} after a complete statement")

    def statement(self, block: _Block, scope: Scope) -> None:
        tok = self.advance()
        if tok.kind == "OP" and tok.value == "[":  # a list or map literal: [...].each { ... }
            self.each_statement(tok, self.collection(scope), "[...]", block, scope)
            return
        if tok.kind != "NAME":
            raise self.fail(tok.line, f"expected a DSL statement, found {describe(tok)}")
        name = tok.value
        if name in UNSUPPORTED_KEYWORDS or name == "new":
            raise self.fail(tok.line, f"'{name}' is not supported by the DSL subset")
        if name == "def":
            self.definition(scope)
            return
        if name == "import":
            raise self.fail(tok.line, "'import' must start its own line")
        if self.is_op("="):
            self.advance()
            self.skip_newlines()
            self.assign(block, scope, tok, self.expr(scope))
            return
        if self.is_op(":"):
            raise self.fail(tok.line, f"statement label '{name}:' does nothing in Groovy; "
                                      f"set a field with '{name} = ...'")
        if self.is_op("."):
            self.each_statement(tok, self.name_value(tok, scope), name, block, scope)
            return
        if name in UNSUPPORTED_OBJECTS:
            raise self.fail(tok.line, f"'{name}' {block.describe()}: this CD/RO DSL object is not supported "
                                      f"by the emulator (it reads project, procedure, step, formalParameter, "
                                      f"formalOutputParameter, actualParameter and property)")
        if name not in _KNOWN_METHODS:
            raise self.fail(tok.line, f"unknown DSL method '{name}' {block.describe()}")
        allowed = self.allowed_methods(block)
        if name not in allowed:
            hint = ""
            if block.kind == "top" and name in ("step", "formalParameter", "formalOutputParameter"):
                hint = (f"; put it inside procedure '...' (a {name} file of EC-DslDeploy's layout is read "
                        f"inside its procedure by that plugin, which the emulator does not run)")
            raise self.fail(tok.line, f"'{name}' is not allowed {block.describe()} "
                                      f"(allowed here: {', '.join(allowed) or 'nothing'}){hint}")
        call = self.call_args(tok, scope)
        getattr(self, "do_" + name)(call, block, scope)

    def allowed_methods(self, block: _Block) -> Tuple[str, ...]:
        if block.kind == "top":
            # A top-level procedure without a project must name it: projectName = '...' (generateDsl).
            return ("project", "procedure", "property") if self.project_name else ("project", "procedure")
        return {"project": ("procedure", "property"),
                "procedure": ("formalParameter", "formalOutputParameter", "step", "property"),
                "step": ("actualParameter", "property"),
                "property": ("property",)}.get(block.kind, ())

    def each_statement(self, tok: Token, value: Any, path: str, block: _Block, scope: Scope) -> None:
        """`list.each { item -> ... }` / `map.each { key, value -> ... }` (or `{ entry -> }`, or `it`): the
        closure's statements run in this block once per item, in order. No other method is a statement."""
        while True:
            self.expect_op(".", f"after '{path}'")
            member = self.advance()
            if member.kind != "NAME":
                raise self.fail(member.line, f"expected a member name after '.', found {describe(member)}")
            if member.value == "each" and self.is_op("{"):
                break
            if self.is_op("(") or self.is_op("{"):
                raise self.fail(member.line, f"'.{member.value}' is not a DSL statement (of the methods on a "
                                             f"list or map, only .each {{ ... }} is supported)")
            value = self.known(self.member(value, member.value, member.line))
            path += "." + member.value
            if not self.is_op("."):
                raise self.fail(member.line, f"'{path}' is a value, not a DSL statement")
        start = self.pos
        self.skip_closure()
        end = self.pos
        names, body = self.closure_parameters(start, end)
        if isinstance(value, dict):
            items = [[k, v] for k, v in value.items()] if len(names) == 2 else \
                [[{"key": k, "value": v}] for k, v in value.items()]
        elif isinstance(value, list):
            items = [[item] for item in value]
        else:
            raise self.fail(member.line, f"'.each' needs a list or a map, got {describe_value(value)}")
        if len(names) > (2 if isinstance(value, dict) else 1):
            gives = ("a map gives (key, value) or (entry)" if isinstance(value, dict)
                     else "a list gives one item")
            raise self.fail(member.line, f"the '.each' closure takes {len(names)} parameters; {gives}")
        for item in items:
            inner = Scope(scope)
            inner.vars.update(zip(names or ["it"], item))
            self.pos = body
            self.statements(block, inner, closing=True)
        self.pos = end

    def closure_parameters(self, start: int, end: int) -> Tuple[List[str], int]:
        """The parameter names of the closure opening at token `start` and where its body begins."""
        pos = start + 1
        while self.toks[pos].kind == "NL":
            pos += 1
        names: List[str] = []
        scan = pos
        while scan < end and self.toks[scan].kind == "NAME":
            names.append(self.toks[scan].value)
            scan += 1
            if self.toks[scan].kind == "OP" and self.toks[scan].value == ",":
                scan += 1
                continue
            break
        if names and self.toks[scan].kind == "OP" and self.toks[scan].value == "->":
            return names, scan + 1
        return [], start + 1

    def definition(self, scope: Scope) -> None:
        tok = self.advance()
        if tok.kind != "NAME" or tok.value in UNSUPPORTED_KEYWORDS or tok.value in _KNOWN_METHODS:
            raise self.fail(tok.line, f"expected a variable name after 'def', found {describe(tok)}")
        if tok.value in scope.vars:
            raise self.fail(tok.line, f"variable '{tok.value}' is already defined in this scope")
        self.expect_op("=", f"after 'def {tok.value}' (a definition needs a value)")
        self.skip_newlines()
        scope.vars[tok.value] = self.expr(scope)

    def assign(self, block: _Block, scope: Scope, tok: Token, value: Any) -> None:
        name = tok.value
        owner = scope.find(name)
        if owner is not None and owner.parent is not None:  # a def'd variable (the root holds the binding)
            owner.vars[name] = value
            return
        if block.kind == "top" or block.op is None:
            raise self.fail(tok.line, f"assignment to undeclared variable '{name}' (declare it with def)")
        if name == "actualParameter":
            if block.kind != "step" or not isinstance(value, dict):
                raise self.fail(tok.line, "set actual parameters with actualParameter 'name', 'value' or, "
                                          "in a step, actualParameter = [name: 'value', ...]")
            block.op.args["actualParameter"] = []  # [U] the assignment sets the whole list ([:] clears it)
            for param, param_value in value.items():
                self.add_actual_parameter(block.op, str(param), param_value, tok.line)
            return
        if name == "projectName":
            self.set_project(block, value, tok.line)
            return
        schema = SCHEMAS[block.kind]
        if name in schema.args:
            text = self.field_value(schema, name, value, tok.line)
            if text is None:  # [U] `field = null` (generateDsl writes it for unset fields): not given
                block.op.args.pop(name, None)
            else:
                block.op.args[name] = text
            return
        if block.kind not in _WITH_PROPERTIES:
            raise self.fail(tok.line, f"'{name}' is not a field of {block.kind} '{block.name}' "
                                      f"(fields: {', '.join(schema.args + ('projectName',))})")
        self.check_project(block, tok.line)
        # CD/RO's DSL turns an assignment to a name that is no field into a custom property of the object
        # (PluginWizard's BasePlugin relies on it: `ec_parameterForm = formXml.text` inside `procedure`).
        text = self.text(name, value, tok.line)
        if text is None:
            raise self.fail(tok.line, f"property '{name}' needs a value, not null")
        self.ops.append(DslOp("property", {**block.context(), "propertyName": self.prop_name(block, name),
                                           "value": text}, self.src(tok.line)))
        block.nested += 1

    def set_project(self, block: _Block, value: Any, line: int) -> None:
        """`projectName = '...'` inside a block, as generateDsl writes it: it names the project the object
        is in. [U] It must agree with the enclosing project; a top-level procedure without one takes it,
        as long as nothing has been created inside the procedure yet."""
        project = self.text("projectName", value, line)
        if not project:
            raise self.fail(line, "projectName needs a project name")
        if block.project is not None:
            if project != block.project:
                raise self.fail(line, f"projectName '{project}' {block.describe()} differs from its "
                                      f"project '{block.project}' (moving an object to another project is "
                                      f"not supported)")
            return
        if block.kind != "procedure" or block.children:
            raise self.fail(line, f"projectName must be set before anything is created {block.describe()}")
        assert block.op is not None
        block.project = project
        block.op.args["projectName"] = project

    def check_project(self, block: _Block, line: int) -> None:
        """An object inside a procedure needs the procedure's project to be known by now."""
        block.children += 1
        if block.project is None:
            raise self.fail(line, f"procedure '{block.procedure}' at the top level has no project yet: set "
                                  f"projectName = '...' first in its closure, or put it inside project '...'")

    # ---- calls

    def call_args(self, tok: Token, scope: Scope) -> _Call:
        call = _Call(tok.value, tok.line)
        if self.is_op("("):
            self.advance()
            self.skip_newlines()
            if not self.is_op(")"):
                self.arg_list(call, scope, in_parens=True)
            self.expect_op(")", f"to close the arguments of {call.name}")
            if self.is_op("{"):
                if call.closure is not None:
                    raise self.fail(self.peek().line, f"{call.name} has two closures")
                call.closure = self.skip_closure()
        else:
            end = self.peek()
            if not (end.kind in ("NL", "EOF") or self.is_op(";") or self.is_op("}")):
                self.arg_list(call, scope, in_parens=False)
        return call

    def arg_list(self, call: _Call, scope: Scope, in_parens: bool) -> None:
        while True:
            tok = self.peek()
            if call.closure is not None:
                raise self.fail(tok.line, f"the closure must be the last argument of {call.name}")
            if self.is_op("{"):
                call.closure = self.skip_closure()
            elif tok.kind in ("NAME", "STR") and self.is_op(":", 1):
                self.advance()
                self.advance()
                self.skip_newlines()
                if tok.value in call.named:
                    raise self.fail(tok.line, f"argument '{tok.value}' given twice to {call.name}")
                call.named[tok.value] = (self.expr(scope), tok.line)
            else:
                call.positional.append(self.expr(scope))
            if not self.is_op(","):
                return
            self.advance()
            self.skip_newlines()
            if in_parens and self.is_op(")"):
                return

    def skip_closure(self) -> int:
        start = self.pos
        depth = 0
        while True:
            tok = self.advance()
            if tok.kind == "OP" and tok.value == "{":
                depth += 1
            elif tok.kind == "OP" and tok.value == "}":
                depth -= 1
                if depth == 0:
                    return start

    def run_closure(self, call: _Call, block: _Block, scope: Scope) -> None:
        if call.closure is None:
            return
        saved = self.pos
        self.pos = call.closure + 1
        self.statements(block, Scope(scope), closing=True)
        self.pos = saved

    def no_closure(self, call: _Call) -> None:
        if call.closure is not None:
            line = self.toks[call.closure].line
            raise self.fail(line, f"a closure is not allowed after {call.name}")

    def name_of(self, call: _Call) -> str:
        if len(call.positional) != 1 or not isinstance(call.positional[0], str) or not call.positional[0]:
            raise self.fail(call.line, f"{call.name} expects one name (a non-empty string) before its "
                                       f"named arguments")
        return call.positional[0]

    def field_value(self, schema: ObjectSchema, name: str, value: Any, line: int) -> Optional[str]:
        """A field's value as an argument string, checked by the schema; None for null (not given)."""
        if value is None:
            return None
        try:
            return argument_text(schema.field(name), value)
        except FieldValueError as exc:
            raise self.fail(line, exc.message) from None

    def text(self, name: str, value: Any, line: int) -> Optional[str]:
        """A string value (a property's or an actual parameter's); None for null."""
        if value is None:
            return None
        try:
            return text_value(name, value)
        except FieldValueError as exc:
            raise self.fail(line, exc.message) from None

    def named_args(self, call: _Call, schema: ObjectSchema, extra: Tuple[str, ...] = ()) -> Dict[str, str]:
        """The named arguments that are fields of `schema`; `extra` ones are allowed, left to the caller."""
        out: Dict[str, str] = {}
        allowed = schema.args + extra
        for key, (value, line) in call.named.items():
            if key not in allowed:
                raise self.fail(line, f"unknown argument '{key}' for {call.name} "
                                      f"(allowed: {', '.join(allowed)})")
            if key in extra:
                continue
            text = self.field_value(schema, key, value, line)
            if text is not None:
                out[key] = text
        return out

    # ---- the DSL methods

    def do_project(self, call: _Call, block: _Block, scope: Scope) -> None:
        name = self.name_of(call)
        args = {"projectName": name, **self.named_args(call, PROJECT)}
        op = DslOp("project", args, self.src(call.line))
        self.ops.append(op)
        self.run_closure(call, _Block("project", op, project=name), scope)

    def do_procedure(self, call: _Call, block: _Block, scope: Scope) -> None:
        name = self.name_of(call)
        op = DslOp("procedure", {"projectName": block.project, "procedureName": name,
                                 **self.named_args(call, PROCEDURE, extra=("projectName",))},
                   self.src(call.line))
        self.ops.append(op)
        inner = _Block("procedure", op, project=block.project, procedure=name)
        if "projectName" in call.named:
            value, line = call.named["projectName"]
            self.set_project(inner, value, line)
        self.run_closure(call, inner, scope)
        if inner.project is None:
            raise self.fail(call.line, f"procedure '{name}' at the top level needs a project: put it inside "
                                       f"project '...', or set projectName = '...' in its closure")

    def do_formalParameter(self, call: _Call, block: _Block, scope: Scope) -> None:
        self.parameter(call, block, scope, FORMAL_PARAMETER)

    def do_formalOutputParameter(self, call: _Call, block: _Block, scope: Scope) -> None:
        self.parameter(call, block, scope, FORMAL_OUTPUT_PARAMETER)

    def parameter(self, call: _Call, block: _Block, scope: Scope, schema: ObjectSchema) -> None:
        """formalParameter / formalOutputParameter 'name', field: value, ..., { field = value ... }"""
        name = self.name_of(call)
        self.check_project(block, call.line)
        op = DslOp(schema.kind, {**block.context(), schema.name_arg: name, **self.named_args(call, schema)},
                   self.src(call.line))
        self.ops.append(op)
        inner = _Block(schema.kind, op, project=block.project, procedure=block.procedure, name=name)
        self.run_closure(call, inner, scope)

    def do_step(self, call: _Call, block: _Block, scope: Scope) -> None:
        name = self.name_of(call)
        self.check_project(block, call.line)
        args: Dict[str, Any] = {**block.context(), "stepName": name,
                                **self.named_args(call, STEP, extra=_STEP_ONLY_ARGS)}
        op = DslOp("step", args, self.src(call.line))
        if "actualParameter" in call.named:
            value, line = call.named["actualParameter"]
            if not isinstance(value, dict):
                raise self.fail(line, f"actualParameter of step '{name}' must be a map [name: 'value'], "
                                      f"got {describe_value(value)}")
            for param, param_value in value.items():
                self.add_actual_parameter(op, str(param), param_value, line)
        self.ops.append(op)
        inner = _Block("step", op, project=block.project, procedure=block.procedure, step=name)
        self.run_closure(call, inner, scope)

    def do_actualParameter(self, call: _Call, block: _Block, scope: Scope) -> None:
        self.no_closure(call)
        if call.named or len(call.positional) != 2 or not isinstance(call.positional[0], str):
            raise self.fail(call.line, "actualParameter takes two strings: actualParameter 'name', 'value'")
        assert block.op is not None
        self.add_actual_parameter(block.op, call.positional[0], call.positional[1], call.line)

    def add_actual_parameter(self, op: DslOp, name: str, value: Any, line: int) -> None:
        text = self.text("value", value, line)
        if text is None:
            raise self.fail(line, f"actual parameter '{name}' needs a value, not null")
        params = op.args.setdefault("actualParameter", [])
        if any(p["actualParameterName"] == name for p in params):
            raise self.fail(line, f"actual parameter '{name}' given twice for step '{op.args['stepName']}'")
        params.append({"actualParameterName": name, "value": text})

    def do_property(self, call: _Call, block: _Block, scope: Scope) -> None:
        name = self.name_of(call)
        if "/" in name:
            raise self.fail(call.line, f"property name '{name}' contains '/': nest property blocks instead "
                                       f"of writing a path")
        self.check_project(block, call.line)
        path = self.prop_name(block, name)
        op = DslOp("property", {**block.context(), "propertyName": path,
                                **self.named_args(call, PROPERTY)}, self.src(call.line))
        self.ops.append(op)
        block.nested += 1
        if call.closure is None:
            return
        inner = _Block("property", op, project=block.project, procedure=block.procedure, step=block.step,
                       prop_path=path)
        self.run_closure(call, inner, scope)
        if inner.nested:
            if "value" in op.args:
                raise self.fail(call.line, f"property '{path}' has both a value and nested properties")
            op.args["sheet"] = "1"
        elif "value" not in op.args:
            op.args["sheet"] = "1"  # `property 'x', { }` makes an empty sheet

    @staticmethod
    def prop_name(block: _Block, name: str) -> str:
        return f"{block.prop_path}/{name}" if block.kind == "property" else name



def parse_dsl(text: str, filename: str = "<dsl>", binding: Optional[Dict[str, Any]] = None,
              project_name: Optional[str] = None, strip_indent: str = "java") -> List[DslOp]:
    """The ordered create-or-modify operations a DSL text describes. Pure: reads no store.

    `binding` holds the script variables (pluginName, pluginKey, pluginDir, args, ...); `project_name` is
    the enclosing project for a file without a `project` block (a plugin's procedure.dsl); `strip_indent`
    whose String.stripIndent() runs (`dsl_strings.STRIP_INDENT_MODES`, the emulator setting stripIndent).
    Raises DslError naming the file, line and construct for anything outside the subset.
    """
    toks = tokenize(text, filename)
    return _Reader(toks, filename, dict(binding or {}), project_name, strip_indent).read()
