"""Strict reader of the Groovy DSL subset that CD/RO plugins and users write.

The DSL is not executed against the store: `parse_dsl` turns DSL text into an ordered list of `DslOp`
records (ectool argument names, string values) that the API layer applies with create-or-modify
semantics. The reader is strict on purpose: anything outside the subset is an error naming the file,
the line and the construct, never a guess. Real Groovy is the reference (tests/conformance run the same
files under Debian's `groovy`), so what Groovy would refuse to compile is refused here too.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from .errors import CommanderError
from .model import ERROR_HANDLING

# [U] The error code CD/RO's evalDsl uses for a script that fails to compile or run.
DSL_ERROR_CODE = "InvalidScript"

OP_KINDS = ("project", "procedure", "formalParameter", "step", "property")

# ---------------------------------------------------------------------------------- argument names

PROJECT_ARGS = ("description",)
PROCEDURE_ARGS = ("description", "resourceName", "jobNameTemplate")
FORMAL_PARAMETER_ARGS = ("defaultValue", "required", "type", "description", "label", "expansionDeferred")
STEP_ARGS = (
    "command", "shell", "subprocedure", "subproject", "condition", "precondition", "alwaysRun", "parallel",
    "errorHandling", "resourceName", "workingDirectory", "workspaceName", "timeLimit", "timeLimitUnits",
    "logFileName", "postProcessor", "credentialName", "description", "comment", "broadcast", "exclusive",
    "exclusiveMode", "releaseExclusive", "releaseMode", "actualParameter",
)
PROPERTY_ARGS = ("value", "expandable", "description")

BOOLEAN_ARGS = frozenset(
    ("required", "expansionDeferred", "alwaysRun", "parallel", "broadcast", "exclusive", "releaseExclusive",
     "expandable")
)
# Enumerations from createStep's documented argument list (commander-api.md §5).
ENUM_ARGS: Dict[str, Tuple[str, ...]] = {
    "errorHandling": ERROR_HANDLING,
    "timeLimitUnits": ("hours", "minutes", "seconds"),
    "exclusiveMode": ("none", "job", "step", "call"),
    "releaseMode": ("none", "release", "releaseToJob"),
}

_UNSUPPORTED_KEYWORDS = frozenset(
    "if else while for do switch case default return try catch finally throw class interface enum break "
    "continue assert synchronized static final public private protected abstract this super in instanceof "
    "as package goto var".split()
)
_IDENT_START = re.compile(r"[A-Za-z_]")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DIGITS = re.compile(r"[0-9]+")
_DOTTED = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*")
_PUNCT = "(){}[],:=+.;"
_CLOSERS = {")": "(", "]": "[", "}": "{"}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "\\": "\\", "'": "'", '"': '"', "$": "$"}


class DslError(CommanderError):
    """A DSL file the reader refuses: names the file, the line and the construct."""

    def __init__(self, filename: str, line: int, message: str) -> None:
        super().__init__(DSL_ERROR_CODE, f"{filename}:{line}: {message}", where=f"{filename}:{line}")
        self.filename = filename
        self.line = line


@dataclass
class DslOp:
    """One create-or-modify operation: `kind` in OP_KINDS, `args` with ectool argument names."""

    kind: str
    args: Dict[str, Any]
    source: str  # "file:line" of the DSL statement, for error messages


def normalise_arg(name: str, value: Any) -> Optional[str]:
    """An argument value as CD/RO stores it: a string, booleans as "1"/"0"; None means "not given".

    Raises ValueError with a one-line reason for a value the argument cannot take.
    """
    if value is None:
        return None
    if name in BOOLEAN_ARGS:
        if isinstance(value, bool):
            return "1" if value else "0"
        text = str(value).strip().lower() if isinstance(value, (str, int)) else None
        if text in ("1", "true"):
            return "1"
        if text in ("0", "false"):
            return "0"
        raise ValueError(f"'{name}' expects true/false or 1/0, got {_show(value)}")
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (str, int)):
        text = str(value)
    else:
        raise ValueError(f"'{name}' expects a string, got {_show(value)}")
    allowed = ENUM_ARGS.get(name)
    if allowed is not None and text not in allowed:
        raise ValueError(f"'{name}' must be one of {', '.join(allowed)}; got '{text}'")
    return text


def _show(value: Any) -> str:
    if isinstance(value, _FileRef):
        return "a File (read it with .text)"
    if isinstance(value, dict):
        return "a map"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    return repr(value)


# ------------------------------------------------------------------------------------------ tokens


@dataclass
class _Interp:
    """`$a.b` / `${a.b}` inside a double-quoted string."""

    names: Tuple[str, ...]


@dataclass
class _Tok:
    kind: str  # NAME, STR, GSTR, INT, OP, NL, EOF
    value: Any
    line: int


def _describe(tok: _Tok) -> str:
    if tok.kind == "NAME":
        return f"'{tok.value}'"
    if tok.kind in ("STR", "GSTR"):
        return "a string"
    if tok.kind == "INT":
        return f"number {tok.value}"
    if tok.kind == "OP":
        return f"'{tok.value}'"
    return "end of line" if tok.kind == "NL" else "end of file"


class _Lexer:
    def __init__(self, text: str, filename: str) -> None:
        self.text = text
        self.filename = filename
        self.i = 0
        self.line = 1
        self.toks: List[_Tok] = []

    def fail(self, message: str, line: Optional[int] = None) -> DslError:
        return DslError(self.filename, line or self.line, message)

    def run(self) -> List[_Tok]:
        text, n = self.text, len(self.text)
        stack: List[Tuple[str, int]] = []  # open brackets; newlines count only at top level or inside {}
        line_start = True
        while self.i < n:
            c = text[self.i]
            if c == "\n":
                if not stack or stack[-1][0] == "{":
                    self.toks.append(_Tok("NL", None, self.line))
                self.line += 1
                self.i += 1
                line_start = True
                continue
            if c in " \t\r\f":
                self.i += 1
                continue
            if text.startswith("//", self.i):
                end = text.find("\n", self.i)
                self.i = n if end < 0 else end
                continue
            if text.startswith("/*", self.i):
                end = text.find("*/", self.i + 2)
                if end < 0:
                    raise self.fail("comment '/*' is never closed")
                self.line += text.count("\n", self.i, end)
                self.i = end + 2
                continue
            start_line = self.line
            if _IDENT_START.match(c):
                word = _IDENT.match(text, self.i).group(0)  # type: ignore[union-attr]
                self.i += len(word)
                if word == "import" and line_start:
                    end = text.find("\n", self.i)  # imports do not matter to the subset
                    self.i = n if end < 0 else end
                    continue
                self.toks.append(_Tok("NAME", word, start_line))
            elif c.isdigit():
                m = _DIGITS.match(text, self.i)
                digits = m.group(0)  # type: ignore[union-attr]
                self.i += len(digits)
                if self.i < n and (text[self.i] == "." and self.i + 1 < n and text[self.i + 1].isdigit()
                                   or text[self.i].isalpha()):
                    raise self.fail("only whole numbers are supported (no decimals or suffixes)")
                self.toks.append(_Tok("INT", int(digits), start_line))
            elif c in "'\"":
                self.toks.append(self._string(c))
            elif c in _PUNCT:
                if c == "=" and text.startswith("==", self.i):
                    raise self.fail("'==' comparisons are not supported")
                if c in "({[":
                    stack.append((c, self.line))
                elif c in _CLOSERS:
                    if not stack or stack[-1][0] != _CLOSERS[c]:
                        raise self.fail(f"'{c}' has no matching '{_CLOSERS[c]}'")
                    stack.pop()
                self.toks.append(_Tok("OP", c, start_line))
                self.i += 1
            else:
                raise self.fail(f"unexpected character '{c}' (not part of the supported DSL subset)")
            line_start = False
        if stack:
            opener, line = stack[-1]
            raise self.fail(f"'{opener}' opened here is never closed", line)
        self.toks.append(_Tok("NL", None, self.line))
        self.toks.append(_Tok("EOF", None, self.line))
        return self.toks

    def _string(self, quote: str) -> _Tok:
        text, n = self.text, len(self.text)
        start_line = self.line
        triple = text.startswith(quote * 3, self.i)
        self.i += 3 if triple else 1
        interpolate = quote == '"'
        parts: List[Any] = []
        buf: List[str] = []
        while True:
            if self.i >= n:
                raise self.fail("string is never closed", start_line)
            c = text[self.i]
            if triple and text.startswith(quote * 3, self.i):
                self.i += 3
                break
            if not triple and c == quote:
                self.i += 1
                break
            if c == "\n":
                if not triple:
                    raise self.fail("string is not closed on its line "
                                    "(use ''' or \"\"\" for multi-line text)")
                self.line += 1
                buf.append(c)
                self.i += 1
            elif c == "\\":
                buf.append(self._escape())
            elif c == "$" and interpolate:
                parts.append("".join(buf))
                buf = []
                parts.append(self._interpolation())
            else:
                buf.append(c)
                self.i += 1
        parts.append("".join(buf))
        parts = [p for p in parts if p != ""]
        if all(isinstance(p, str) for p in parts):
            return _Tok("STR", "".join(parts), start_line)
        return _Tok("GSTR", parts, start_line)

    def _escape(self) -> str:
        text = self.text
        nxt = text[self.i + 1] if self.i + 1 < len(text) else ""
        if nxt in _ESCAPES:
            self.i += 2
            return _ESCAPES[nxt]
        if nxt == "u":
            hex_digits = text[self.i + 2:self.i + 6]
            if not re.fullmatch(r"[0-9A-Fa-f]{4}", hex_digits):
                raise self.fail("'\\u' must be followed by four hex digits")
            self.i += 6
            return chr(int(hex_digits, 16))
        raise self.fail(f"unsupported escape '\\{nxt}' in a string")

    def _interpolation(self) -> _Interp:
        text = self.text
        nxt = text[self.i + 1] if self.i + 1 < len(text) else ""
        if nxt == "[":
            raise self.fail('"$[" inside a double-quoted string: Groovy reads $ as interpolation and '
                            "fails to compile; a $[...] property reference must sit in single quotes")
        if nxt == "{":
            end = text.find("}", self.i + 2)
            inner = text[self.i + 2:end] if end >= 0 else ""
            m = _DOTTED.fullmatch(inner)
            if end < 0 or "\n" in inner or m is None:
                raise self.fail("only ${name} or ${a.b} interpolation is supported, "
                                "not ${" + inner[:40] + "}")
            self.i = end + 1
            return _Interp(tuple(m.group(1).split(".")))
        if _IDENT_START.match(nxt):
            m = _IDENT.match(text, self.i + 1)
            names = [m.group(0)]  # type: ignore[union-attr]
            self.i = m.end()  # type: ignore[union-attr]
            # Groovy's "$a.b" reads the property b of a, as long as a name follows the dot.
            while text.startswith(".", self.i) and _IDENT_START.match(text[self.i + 1:self.i + 2]):
                m = _IDENT.match(text, self.i + 1)
                names.append(m.group(0))  # type: ignore[union-attr]
                self.i = m.end()  # type: ignore[union-attr]
            return _Interp(tuple(names))
        raise self.fail("'$' in a double-quoted string must start $name or ${name} (write \\$ for a dollar)")


# ------------------------------------------------------------------------------------------ values


@dataclass
class _FileRef:
    """`new File(...)`: only `.text` may be asked of it."""

    path: str
    shown: str  # the name used in messages: relative to pluginDir when inside it


class _Scope:
    def __init__(self, parent: Optional[_Scope] = None) -> None:
        self.vars: Dict[str, Any] = {}
        self.parent = parent

    def find(self, name: str) -> Optional[_Scope]:
        scope: Optional[_Scope] = self
        while scope is not None:
            if name in scope.vars:
                return scope
            scope = scope.parent
        return None


@dataclass
class _Block:
    """The object whose closure is being read, and the path context its children inherit."""

    kind: str  # top, project, procedure, step, property
    op: Optional[DslOp] = None
    project: Optional[str] = None
    procedure: Optional[str] = None
    step: Optional[str] = None
    prop_path: Optional[str] = None
    nested: int = 0  # nested properties created inside a property block

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
                "property": self.prop_path}[self.kind]
        return f"inside {self.kind} '{name}'"


@dataclass
class _Call:
    name: str
    line: int
    positional: List[Any] = field(default_factory=list)
    named: Dict[str, Tuple[Any, int]] = field(default_factory=dict)
    closure: Optional[int] = None  # token index of the closure's '{'


_FIELDS = {"project": PROJECT_ARGS, "procedure": PROCEDURE_ARGS, "step": STEP_ARGS, "property": PROPERTY_ARGS}
_KNOWN_METHODS = ("project", "procedure", "formalParameter", "step", "property", "actualParameter")


# ------------------------------------------------------------------------------------------ parser


class _Reader:
    def __init__(self, toks: List[_Tok], filename: str, binding: Dict[str, Any],
                 project_name: Optional[str]) -> None:
        self.toks = toks
        self.pos = 0
        self.filename = filename
        self.binding = binding
        self.project_name = project_name
        self.ops: List[DslOp] = []

    # ---- token helpers

    def fail(self, line: int, message: str) -> DslError:
        return DslError(self.filename, line, message)

    def peek(self, ahead: int = 0) -> _Tok:
        return self.toks[min(self.pos + ahead, len(self.toks) - 1)]

    def advance(self) -> _Tok:
        tok = self.toks[self.pos]
        self.pos += 1
        return tok

    def is_op(self, value: str, ahead: int = 0) -> bool:
        tok = self.peek(ahead)
        return tok.kind == "OP" and tok.value == value

    def expect_op(self, value: str, what: str) -> _Tok:
        tok = self.peek()
        if not self.is_op(value):
            raise self.fail(tok.line, f"expected '{value}' {what}, found {_describe(tok)}")
        return self.advance()

    def skip_newlines(self) -> None:
        while self.peek().kind == "NL":
            self.advance()

    def src(self, line: int) -> str:
        return f"{self.filename}:{line}"

    # ---- statements

    def read(self) -> List[DslOp]:
        root = _Scope(None)
        root.vars.update(self.binding)
        top = _Block("top", project=self.project_name)
        self.statements(top, _Scope(root), closing=False)
        return self.ops

    def statements(self, block: _Block, scope: _Scope, closing: bool) -> None:
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
                raise self.fail(end.line, f"unexpected {_describe(end)} after a complete statement")

    def statement(self, block: _Block, scope: _Scope) -> None:
        tok = self.advance()
        if tok.kind != "NAME":
            raise self.fail(tok.line, f"expected a DSL statement, found {_describe(tok)}")
        name = tok.value
        if name in _UNSUPPORTED_KEYWORDS or name == "new":
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
            raise self.fail(tok.line, f"'{name}.' member access or method call is not a DSL statement")
        if name not in _KNOWN_METHODS:
            raise self.fail(tok.line, f"unknown DSL method '{name}' {block.describe()}")
        allowed = self.allowed_methods(block)
        if name not in allowed:
            raise self.fail(tok.line, f"'{name}' is not allowed {block.describe()} "
                                      f"(allowed here: {', '.join(allowed) or 'nothing'})")
        call = self.call_args(tok, scope)
        getattr(self, "do_" + name)(call, block, scope)

    def allowed_methods(self, block: _Block) -> Tuple[str, ...]:
        if block.kind == "top":
            return ("project", "procedure", "property") if self.project_name else ("project",)
        return {"project": ("procedure", "property"),
                "procedure": ("formalParameter", "step", "property"),
                "step": ("actualParameter", "property"),
                "property": ("property",)}[block.kind]

    def definition(self, scope: _Scope) -> None:
        tok = self.advance()
        if tok.kind != "NAME" or tok.value in _UNSUPPORTED_KEYWORDS or tok.value in _KNOWN_METHODS:
            raise self.fail(tok.line, f"expected a variable name after 'def', found {_describe(tok)}")
        if tok.value in scope.vars:
            raise self.fail(tok.line, f"variable '{tok.value}' is already defined in this scope")
        self.expect_op("=", f"after 'def {tok.value}' (a definition needs a value)")
        self.skip_newlines()
        scope.vars[tok.value] = self.expr(scope)

    def assign(self, block: _Block, scope: _Scope, tok: _Tok, value: Any) -> None:
        name = tok.value
        owner = scope.find(name)
        if owner is not None and owner.parent is not None:  # a def'd variable (the root holds the binding)
            owner.vars[name] = value
            return
        if block.kind == "top" or block.op is None:
            raise self.fail(tok.line, f"assignment to undeclared variable '{name}' (declare it with def)")
        if name == "actualParameter":
            raise self.fail(tok.line, "set actual parameters with actualParameter 'name', 'value'")
        if name in _FIELDS[block.kind]:
            block.op.args[name] = self.arg_value(name, value, tok.line)
            if block.op.args[name] is None:
                del block.op.args[name]
            return
        # CD/RO's DSL turns an assignment to a name that is no field into a custom property of the object
        # (PluginWizard's BasePlugin relies on it: `ec_parameterForm = formXml.text` inside `procedure`).
        text = self.arg_value("value", value, tok.line)
        if text is None:
            raise self.fail(tok.line, f"property '{name}' needs a value, not null")
        self.ops.append(DslOp("property", {**block.context(), "propertyName": self.prop_name(block, name),
                                           "value": text}, self.src(tok.line)))
        block.nested += 1

    # ---- calls

    def call_args(self, tok: _Tok, scope: _Scope) -> _Call:
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

    def arg_list(self, call: _Call, scope: _Scope, in_parens: bool) -> None:
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

    def run_closure(self, call: _Call, block: _Block, scope: _Scope) -> None:
        if call.closure is None:
            return
        saved = self.pos
        self.pos = call.closure + 1
        self.statements(block, _Scope(scope), closing=True)
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

    def arg_value(self, name: str, value: Any, line: int) -> Optional[str]:
        try:
            return normalise_arg(name, value)
        except ValueError as exc:
            raise self.fail(line, str(exc)) from None

    def named_args(self, call: _Call, allowed: Tuple[str, ...], skip: Tuple[str, ...] = ()) -> Dict[str, str]:
        out: Dict[str, str] = {}
        for key, (value, line) in call.named.items():
            if key not in allowed:
                raise self.fail(line, f"unknown argument '{key}' for {call.name} "
                                      f"(allowed: {', '.join(allowed)})")
            if key in skip:
                continue
            text = self.arg_value(key, value, line)
            if text is not None:
                out[key] = text
        return out

    # ---- the DSL methods

    def do_project(self, call: _Call, block: _Block, scope: _Scope) -> None:
        name = self.name_of(call)
        args = {"projectName": name, **self.named_args(call, PROJECT_ARGS)}
        op = DslOp("project", args, self.src(call.line))
        self.ops.append(op)
        self.run_closure(call, _Block("project", op, project=name), scope)

    def do_procedure(self, call: _Call, block: _Block, scope: _Scope) -> None:
        name = self.name_of(call)
        op = DslOp("procedure", {"projectName": block.project, "procedureName": name,
                                 **self.named_args(call, PROCEDURE_ARGS)}, self.src(call.line))
        self.ops.append(op)
        self.run_closure(call, _Block("procedure", op, project=block.project, procedure=name), scope)

    def do_formalParameter(self, call: _Call, block: _Block, scope: _Scope) -> None:
        name = self.name_of(call)
        self.no_closure(call)
        self.ops.append(DslOp("formalParameter", {**block.context(), "formalParameterName": name,
                                                  **self.named_args(call, FORMAL_PARAMETER_ARGS)},
                              self.src(call.line)))

    def do_step(self, call: _Call, block: _Block, scope: _Scope) -> None:
        name = self.name_of(call)
        args: Dict[str, Any] = {**block.context(), "stepName": name,
                                **self.named_args(call, STEP_ARGS, skip=("actualParameter",))}
        op = DslOp("step", args, self.src(call.line))
        if "actualParameter" in call.named:
            value, line = call.named["actualParameter"]
            if not isinstance(value, dict):
                raise self.fail(line, f"actualParameter of step '{name}' must be a map [name: 'value'], "
                                      f"got {_show(value)}")
            for param, param_value in value.items():
                self.add_actual_parameter(op, str(param), param_value, line)
        self.ops.append(op)
        inner = _Block("step", op, project=block.project, procedure=block.procedure, step=name)
        self.run_closure(call, inner, scope)

    def do_actualParameter(self, call: _Call, block: _Block, scope: _Scope) -> None:
        self.no_closure(call)
        if call.named or len(call.positional) != 2 or not isinstance(call.positional[0], str):
            raise self.fail(call.line, "actualParameter takes two strings: actualParameter 'name', 'value'")
        assert block.op is not None
        self.add_actual_parameter(block.op, call.positional[0], call.positional[1], call.line)

    def add_actual_parameter(self, op: DslOp, name: str, value: Any, line: int) -> None:
        text = self.arg_value("value", value, line)
        if text is None:
            raise self.fail(line, f"actual parameter '{name}' needs a value, not null")
        params = op.args.setdefault("actualParameter", [])
        if any(p["actualParameterName"] == name for p in params):
            raise self.fail(line, f"actual parameter '{name}' given twice for step '{op.args['stepName']}'")
        params.append({"actualParameterName": name, "value": text})

    def do_property(self, call: _Call, block: _Block, scope: _Scope) -> None:
        name = self.name_of(call)
        if "/" in name:
            raise self.fail(call.line, f"property name '{name}' contains '/': nest property blocks instead "
                                       f"of writing a path")
        path = self.prop_name(block, name)
        op = DslOp("property", {**block.context(), "propertyName": path,
                                **self.named_args(call, PROPERTY_ARGS)}, self.src(call.line))
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

    # ---- expressions

    def expr(self, scope: _Scope) -> Any:
        left = self.postfix(scope)
        while self.is_op("+"):
            tok = self.advance()
            self.skip_newlines()
            left = self.plus(left, self.postfix(scope), tok.line)
        return left

    def plus(self, left: Any, right: Any, line: int) -> Any:
        if isinstance(left, str) or isinstance(right, str):
            return self.text_of(left, line) + self.text_of(right, line)
        if type(left) is int and type(right) is int:
            return left + right
        raise self.fail(line, f"'+' is not supported between {_show(left)} and {_show(right)}")

    def text_of(self, value: Any, line: int) -> str:
        """How Groovy renders a value inside a string; null and containers are refused, not guessed."""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (str, int)):
            return str(value)
        raise self.fail(line, f"cannot put {_show(value)} into a string")

    def postfix(self, scope: _Scope) -> Any:
        value = self.primary(scope)
        while self.is_op("."):
            dot = self.advance()
            member = self.advance()
            if member.kind != "NAME":
                raise self.fail(dot.line, f"expected a member name after '.', found {_describe(member)}")
            if self.is_op("("):
                raise self.fail(member.line, f"method call '.{member.value}(...)' is not supported")
            value = self.member(value, member.value, member.line)
        return value

    def member(self, value: Any, name: str, line: int) -> Any:
        if isinstance(value, _FileRef):
            if name != "text":
                raise self.fail(line, f"'.{name}' on a File is not supported (only .text)")
            return self.read_file(value, line)
        if isinstance(value, dict):
            if name not in value:
                raise self.fail(line, f"map has no key '{name}'")
            return value[name]
        raise self.fail(line, f"'.{name}' is not supported on {_show(value)}")

    def primary(self, scope: _Scope) -> Any:
        tok = self.advance()
        if tok.kind == "STR":
            return tok.value
        if tok.kind == "GSTR":
            return "".join(p if isinstance(p, str) else self.interpolate(p, scope, tok.line)
                           for p in tok.value)
        if tok.kind == "INT":
            return tok.value
        if tok.kind == "NAME":
            return self.name_value(tok, scope)
        if tok.kind == "OP" and tok.value == "[":
            return self.collection(scope)
        if tok.kind == "OP" and tok.value == "(":
            self.skip_newlines()
            value = self.expr(scope)
            self.skip_newlines()
            self.expect_op(")", "to close '('")
            return value
        if tok.kind == "OP" and tok.value == "{":
            raise self.fail(tok.line, "a closure is not allowed here (only as the last argument of project, "
                                      "procedure, step or property)")
        raise self.fail(tok.line, f"expected a value, found {_describe(tok)}")

    def name_value(self, tok: _Tok, scope: _Scope) -> Any:
        name = tok.value
        constants = {"true": True, "false": False, "null": None}
        if name in constants:
            return constants[name]
        if name == "new":
            return self.new_file(tok, scope)
        if name in _UNSUPPORTED_KEYWORDS or name == "def":
            raise self.fail(tok.line, f"'{name}' is not supported in an expression")
        if self.is_op("("):
            raise self.fail(tok.line, f"method call '{name}(...)' is not supported in an expression")
        owner = scope.find(name)
        if owner is None:
            raise self.fail(tok.line, f"unknown variable '{name}'")
        return owner.vars[name]

    def interpolate(self, part: _Interp, scope: _Scope, line: int) -> str:
        owner = scope.find(part.names[0])
        if owner is None:
            raise self.fail(line, f"unknown variable '{part.names[0]}' in a double-quoted string")
        value = owner.vars[part.names[0]]
        for name in part.names[1:]:
            value = self.member(value, name, line)
        return self.text_of(value, line)

    def collection(self, scope: _Scope) -> Any:
        self.skip_newlines()
        if self.is_op(":") and self.is_op("]", 1):
            self.advance()
            self.advance()
            return {}
        first = self.peek()
        is_map = first.kind in ("NAME", "STR") and self.is_op(":", 1)
        result: Any = {} if is_map else []
        while not self.is_op("]"):
            if is_map:
                key = self.advance()
                if key.kind not in ("NAME", "STR") or not self.is_op(":"):
                    raise self.fail(key.line, "map entries must be written key: value")
                self.advance()
                self.skip_newlines()
                if key.value in result:
                    raise self.fail(key.line, f"map key '{key.value}' given twice")
                result[key.value] = self.expr(scope)
            else:
                result.append(self.expr(scope))
            self.skip_newlines()
            if self.is_op(","):
                self.advance()
                self.skip_newlines()
            elif not self.is_op("]"):
                raise self.fail(self.peek().line, f"expected ',' or ']' in a list or map, "
                                                  f"found {_describe(self.peek())}")
        self.advance()
        return result

    def new_file(self, tok: _Tok, scope: _Scope) -> _FileRef:
        cls = self.advance()
        if cls.kind != "NAME" or cls.value != "File":
            raise self.fail(tok.line, f"only 'new File(...)' is supported, not 'new {cls.value}'")
        self.expect_op("(", "after 'new File'")
        parts = [self.expr(scope)]
        if self.is_op(","):
            self.advance()
            parts.append(self.expr(scope))
        self.expect_op(")", "to close 'new File(' (it takes a path, or a parent and a child)")
        texts = []
        for part in parts:
            if isinstance(part, _FileRef):
                texts.append(part.path)
            elif isinstance(part, str):
                texts.append(part)
            else:
                raise self.fail(tok.line, f"new File(...) expects strings, got {_show(part)}")
        path = os.path.join(*texts)
        plugin_dir = self.binding.get("pluginDir")
        if not os.path.isabs(path):
            if not isinstance(plugin_dir, str):
                raise self.fail(tok.line, f"new File('{path}'): a relative path needs pluginDir "
                                          f"in the binding")
            # [U] the server would resolve a relative path against its own working directory.
            path = os.path.join(plugin_dir, path)
        shown = path
        if isinstance(plugin_dir, str):
            rel = os.path.relpath(path, plugin_dir)
            if not rel.startswith(".."):
                shown = rel.replace(os.sep, "/")
        return _FileRef(path, shown)

    def read_file(self, ref: _FileRef, line: int) -> str:
        try:
            with open(ref.path, encoding="utf-8", newline="") as fh:
                return fh.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise self.fail(line, f"new File(...).text: file '{ref.shown}' does not exist") from None
        except UnicodeDecodeError:
            raise self.fail(line, f"new File(...).text: file '{ref.shown}' is not UTF-8 text") from None


def parse_dsl(text: str, filename: str = "<dsl>", binding: Optional[Dict[str, Any]] = None,
              project_name: Optional[str] = None) -> List[DslOp]:
    """The ordered create-or-modify operations a DSL text describes. Pure: reads no store.

    `binding` holds the script variables (pluginName, pluginKey, pluginDir, args, ...); `project_name` is
    the enclosing project for a file without a `project` block (a plugin's procedure.dsl).
    Raises DslError naming the file, line and construct for anything outside the subset.
    """
    toks = _Lexer(text, filename).run()
    return _Reader(toks, filename, dict(binding or {}), project_name).read()
