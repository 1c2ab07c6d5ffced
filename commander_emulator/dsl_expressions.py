"""Groovy expressions as the DSL reader evaluates them: strings and GStrings, whole numbers, `+`, lists,
maps, variables and their `.member`s, `new File(...).text`, and the string methods `.stripIndent()`,
`.stripMargin()` and `.trim()` (computed by `dsl_strings`). Anything else is a DslError naming the line,
never a guess.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from .dsl_lexer import DslError, Interpolation, Token, describe
from .dsl_strings import STRING_METHODS, groovy_strip_indent, java_trim, strip_indent, strip_margin
from .schema import describe_value

UNSUPPORTED_KEYWORDS = frozenset(
    "if else while for do switch case default return try catch finally throw class interface enum break "
    "continue assert synchronized static final public private protected abstract this super in instanceof "
    "as package goto var".split()
)


@dataclass(repr=False)
class FileRef:
    """`new File(...)`: only `.text` may be asked of it."""

    path: str
    shown: str  # the name used in messages: relative to pluginDir when inside it

    def __repr__(self) -> str:  # how messages show it (describe_value falls back to repr)
        return "a File (read it with .text)"


@dataclass
class MissingKey:
    """`map.key` for a key the map lacks: Groovy's null, allowed only before `?:` (`args.x ?: 'default'`);
    anywhere else the reader refuses it, stricter than Groovy."""

    name: str
    line: int


def groovy_truth(value: Any) -> bool:
    """Groovy truth: null, false, 0, "" and an empty list or map are false."""
    if value is None or isinstance(value, MissingKey):
        return False
    if isinstance(value, (bool, int, str, list, dict)):
        return bool(value)
    return True


class GStringValue(str):
    """The value of a double-quoted string with `$` interpolation: a GString, not a java.lang.String, so
    its methods are Groovy's (its stripIndent() is the GDK one whatever the Java)."""


class Scope:
    """The variables one block sees: its own `def`s, then its enclosing blocks', then the binding."""

    def __init__(self, parent: Optional[Scope] = None) -> None:
        self.vars: Dict[str, Any] = {}
        self.parent = parent

    def find(self, name: str) -> Optional[Scope]:
        scope: Optional[Scope] = self
        while scope is not None:
            if name in scope.vars:
                return scope
            scope = scope.parent
        return None


class ExpressionReader:
    """A cursor over the tokens of one file, and the evaluation of the expressions found there."""

    def __init__(self, toks: List[Token], filename: str, binding: Dict[str, Any],
                 strip_indent_mode: str = "java") -> None:
        self.toks = toks
        self.pos = 0
        self.filename = filename
        self.binding = binding
        self.strip_indent_mode = strip_indent_mode  # whose String.stripIndent() runs (dsl_strings)

    # ---- token helpers

    def fail(self, line: int, message: str) -> DslError:
        return DslError(self.filename, line, message)

    def peek(self, ahead: int = 0) -> Token:
        return self.toks[min(self.pos + ahead, len(self.toks) - 1)]

    def advance(self) -> Token:
        tok = self.toks[self.pos]
        self.pos += 1
        return tok

    def is_op(self, value: str, ahead: int = 0) -> bool:
        tok = self.peek(ahead)
        return tok.kind == "OP" and tok.value == value

    def expect_op(self, value: str, what: str) -> Token:
        tok = self.peek()
        if not self.is_op(value):
            raise self.fail(tok.line, f"expected '{value}' {what}, found {describe(tok)}")
        return self.advance()

    def skip_newlines(self) -> None:
        while self.peek().kind == "NL":
            self.advance()


    # ---- expressions

    def expr(self, scope: Scope) -> Any:
        left = self.postfix(scope)
        while self.is_op("+"):
            tok = self.advance()
            self.skip_newlines()
            left = self.plus(self.known(left), self.known(self.postfix(scope)), tok.line)
        if self.is_op("?:"):  # elvis: the left value unless it is Groovy-false
            self.advance()
            self.skip_newlines()
            right = self.expr(scope)
            return left if groovy_truth(left) else right
        return self.known(left)

    def known(self, value: Any) -> Any:
        if isinstance(value, MissingKey):
            raise self.fail(value.line, f"map has no key '{value.name}' (write map.{value.name} ?: 'default' "
                                        f"for a default)")
        return value

    def plus(self, left: Any, right: Any, line: int) -> Any:
        if isinstance(left, str) or isinstance(right, str):
            text = self.text_of(left, line) + self.text_of(right, line)
            return GStringValue(text) if isinstance(left, GStringValue) else text  # GString.plus: a GString
        if type(left) is int and type(right) is int:
            return left + right
        raise self.fail(line, f"'+' is not supported between {describe_value(left)} "
                              f"and {describe_value(right)}")

    def text_of(self, value: Any, line: int) -> str:
        """How Groovy renders a value inside a string; null and containers are refused, not guessed."""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (str, int)):
            return str(value)
        raise self.fail(line, f"cannot put {describe_value(value)} into a string")

    def postfix(self, scope: Scope) -> Any:
        value = self.primary(scope)
        while self.is_op("."):
            self.known(value)  # no member of a missing key (Groovy: a NullPointerException)
            dot = self.advance()
            member = self.advance()
            if member.kind != "NAME":
                raise self.fail(dot.line, f"expected a member name after '.', found {describe(member)}")
            if self.is_op("("):
                value = self.method(value, member, scope)
            else:
                value = self.member(value, member.value, member.line)
        return value

    def method(self, value: Any, member: Token, scope: Scope) -> str:
        """`.stripIndent()`, `.stripMargin()` / `.stripMargin('c')` or `.trim()` on a string."""
        name, line = member.value, member.line
        if not isinstance(value, str) or name not in STRING_METHODS:
            raise self.fail(line, f"method call '.{name}(...)' on {describe_value(value)} is not supported "
                                  f"(only {', '.join(m + '()' for m in STRING_METHODS)} on a string)")
        self.advance()
        self.skip_newlines()
        args = []
        while not self.is_op(")"):
            args.append(self.expr(scope))
            self.skip_newlines()
            if not self.is_op(","):
                break
            self.advance()
            self.skip_newlines()
        self.expect_op(")", f"to close the arguments of .{name}(")
        if name == "stripMargin" and len(args) == 1 and isinstance(args[0], str) and len(args[0]) == 1:
            return strip_margin(value, args[0])
        if args:
            raise self.fail(line, f"'.{name}(...)' with arguments is not supported (write .{name}()"
                                  + (" or .stripMargin('c')" if name == "stripMargin" else "") + ")")
        if name == "trim":
            return java_trim(value)
        if name == "stripMargin":
            return strip_margin(value)
        if isinstance(value, GStringValue):
            return groovy_strip_indent(value)
        return strip_indent(value, self.strip_indent_mode)

    def member(self, value: Any, name: str, line: int) -> Any:
        if isinstance(value, FileRef):
            if name != "text":
                raise self.fail(line, f"'.{name}' on a File is not supported (only .text)")
            return self.read_file(value, line)
        if isinstance(value, dict):
            if name not in value:
                return MissingKey(name, line)
            return value[name]
        raise self.fail(line, f"'.{name}' is not supported on {describe_value(value)}")

    def primary(self, scope: Scope) -> Any:
        tok = self.advance()
        if tok.kind == "STR":
            return tok.value
        if tok.kind == "GSTR":
            return GStringValue("".join(p if isinstance(p, str) else self.interpolate(p, scope, tok.line)
                                        for p in tok.value))
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
        raise self.fail(tok.line, f"expected a value, found {describe(tok)}")

    def name_value(self, tok: Token, scope: Scope) -> Any:
        name = tok.value
        constants = {"true": True, "false": False, "null": None}
        if name in constants:
            return constants[name]
        if name == "new":
            return self.new_file(tok, scope)
        if name in UNSUPPORTED_KEYWORDS or name == "def":
            raise self.fail(tok.line, f"'{name}' is not supported in an expression")
        if self.is_op("("):
            raise self.fail(tok.line, f"method call '{name}(...)' is not supported in an expression")
        owner = scope.find(name)
        if owner is None:
            raise self.fail(tok.line, f"unknown variable '{name}'")
        return owner.vars[name]

    def interpolate(self, part: Interpolation, scope: Scope, line: int) -> str:
        owner = scope.find(part.names[0])
        if owner is None:
            raise self.fail(line, f"unknown variable '{part.names[0]}' in a double-quoted string")
        value = owner.vars[part.names[0]]
        for name in part.names[1:]:
            value = self.member(self.known(value), name, line)
        return self.text_of(self.known(value), line)

    def collection(self, scope: Scope) -> Any:
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
                                                  f"found {describe(self.peek())}")
        self.advance()
        return result

    def new_file(self, tok: Token, scope: Scope) -> FileRef:
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
            if isinstance(part, FileRef):
                texts.append(part.path)
            elif isinstance(part, str):
                texts.append(part)
            else:
                raise self.fail(tok.line, f"new File(...) expects strings, got {describe_value(part)}")
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
        return FileRef(path, shown)

    def read_file(self, ref: FileRef, line: int) -> str:
        try:
            with open(ref.path, encoding="utf-8", newline="") as fh:
                return fh.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise self.fail(line, f"new File(...).text: file '{ref.shown}' does not exist") from None
        except UnicodeDecodeError:
            raise self.fail(line, f"new File(...).text: file '{ref.shown}' is not UTF-8 text") from None
