"""The lexer of the DSL reader: Groovy DSL text into tokens, with the strings' escapes and GString
interpolations decoded, and the errors that name the file and the line.

Newlines are tokens at the top level and inside `{}` (they end statements there), not inside `()` or `[]`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, List, Optional, Tuple

from .errors import CommanderError

# [U] The error code CD/RO's evalDsl uses for a script that fails to compile or run.
DSL_ERROR_CODE = "InvalidScript"

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
class Interpolation:
    """`$a.b` / `${a.b}` inside a double-quoted string."""

    names: Tuple[str, ...]


@dataclass
class Token:
    kind: str  # NAME, STR, GSTR, INT, OP, NL, EOF
    value: Any
    line: int


def describe(tok: Token) -> str:
    if tok.kind == "NAME":
        return f"'{tok.value}'"
    if tok.kind in ("STR", "GSTR"):
        return "a string"
    if tok.kind == "INT":
        return f"number {tok.value}"
    if tok.kind == "OP":
        return f"'{tok.value}'"
    return "end of line" if tok.kind == "NL" else "end of file"


class Lexer:
    def __init__(self, text: str, filename: str) -> None:
        self.text = text
        self.filename = filename
        self.i = 0
        self.line = 1
        self.toks: List[Token] = []

    def fail(self, message: str, line: Optional[int] = None) -> DslError:
        return DslError(self.filename, line or self.line, message)

    def run(self) -> List[Token]:
        text, n = self.text, len(self.text)
        stack: List[Tuple[str, int]] = []  # open brackets; newlines count only at top level or inside {}
        line_start = True
        while self.i < n:
            c = text[self.i]
            if c == "\n":
                if not stack or stack[-1][0] == "{":
                    self.toks.append(Token("NL", None, self.line))
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
                self.toks.append(Token("NAME", word, start_line))
            elif c.isdigit():
                m = _DIGITS.match(text, self.i)
                digits = m.group(0)  # type: ignore[union-attr]
                self.i += len(digits)
                if self.i < n and (text[self.i] == "." and self.i + 1 < n and text[self.i + 1].isdigit()
                                   or text[self.i].isalpha()):
                    raise self.fail("only whole numbers are supported (no decimals or suffixes)")
                self.toks.append(Token("INT", int(digits), start_line))
            elif c in "'\"":
                self.toks.append(self._string(c))
            elif text.startswith("->", self.i):  # a closure's parameters end: { name, value -> ... }
                self.toks.append(Token("OP", "->", start_line))
                self.i += 2
            elif c == "?":
                if not text.startswith("?:", self.i):
                    raise self.fail("only the elvis operator '?:' is supported (not '?.' or 'a ? b : c')")
                self.toks.append(Token("OP", "?:", start_line))
                self.i += 2
            elif c in _PUNCT:
                if c == "=" and text.startswith("==", self.i):
                    raise self.fail("'==' comparisons are not supported")
                if c in "({[":
                    stack.append((c, self.line))
                elif c in _CLOSERS:
                    if not stack or stack[-1][0] != _CLOSERS[c]:
                        raise self.fail(f"'{c}' has no matching '{_CLOSERS[c]}'")
                    stack.pop()
                self.toks.append(Token("OP", c, start_line))
                self.i += 1
            else:
                raise self.fail(f"unexpected character '{c}' (not part of the supported DSL subset)")
            line_start = False
        if stack:
            opener, line = stack[-1]
            raise self.fail(f"'{opener}' opened here is never closed", line)
        self.toks.append(Token("NL", None, self.line))
        self.toks.append(Token("EOF", None, self.line))
        return self.toks

    def _string(self, quote: str) -> Token:
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
            if c == "\r" and triple:  # Groovy reads a multi-line string's CR LF or CR line break as LF
                self.i += 2 if text.startswith("\r\n", self.i) else 1
                self.line += text[self.i - 1] == "\n"
                buf.append("\n")
            elif c == "\n":
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
            return Token("STR", "".join(parts), start_line)
        return Token("GSTR", parts, start_line)

    def _escape(self) -> str:
        text = self.text
        nxt = text[self.i + 1] if self.i + 1 < len(text) else ""
        if nxt in _ESCAPES:
            self.i += 2
            return _ESCAPES[nxt]
        if nxt in ("\r", "\n"):  # a backslash at the end of a line joins the next line to it: '''\
            self.i += 3 if text.startswith("\r\n", self.i + 1) else 2
            self.line += text[self.i - 1] == "\n"
            return ""
        if nxt == "u":
            hex_digits = text[self.i + 2:self.i + 6]
            if not re.fullmatch(r"[0-9A-Fa-f]{4}", hex_digits):
                raise self.fail("'\\u' must be followed by four hex digits")
            self.i += 6
            return chr(int(hex_digits, 16))
        raise self.fail(f"unsupported escape '\\{nxt}' in a string")

    def _interpolation(self) -> Interpolation:
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
            return Interpolation(tuple(m.group(1).split(".")))
        if _IDENT_START.match(nxt):
            m = _IDENT.match(text, self.i + 1)
            names = [m.group(0)]  # type: ignore[union-attr]
            self.i = m.end()  # type: ignore[union-attr]
            # Groovy's "$a.b" reads the property b of a, as long as a name follows the dot.
            while text.startswith(".", self.i) and _IDENT_START.match(text[self.i + 1:self.i + 2]):
                m = _IDENT.match(text, self.i + 1)
                names.append(m.group(0))  # type: ignore[union-attr]
                self.i = m.end()  # type: ignore[union-attr]
            return Interpolation(tuple(names))
        raise self.fail("'$' in a double-quoted string must start $name or ${name} (write \\$ for a dollar)")


def tokenize(text: str, filename: str) -> List[Token]:
    """The tokens of a DSL text, ending with NL and EOF; DslError for what the subset cannot hold."""
    return Lexer(text, filename).run()
