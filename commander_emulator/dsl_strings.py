"""The string methods a DSL file may call, computed as the server's JVM computes them.

`'''...'''.stripIndent()` is the standard way to write a multi-line command, and what it yields depends
on the Java under the server's Groovy: from Java 15 on, `String.stripIndent()` is Java's own method (the
text-block algorithm of JEP 378) and Groovy's older GDK method of the same name is hidden behind it;
on an older Java, the GDK method runs. The two differ (Java also removes trailing blanks on each line, and
counts the line before the closing quotes), so both are here: `STRIP_INDENT_MODES`, chosen by the
emulator setting `stripIndent` ([U]: which Java a CD/RO server runs; default `java`, what Debian's groovy
on Java 17 does, which tests/conformance checks).
"""

from __future__ import annotations

import re
from typing import List

STRIP_INDENT_MODES = ("java", "groovy")
STRING_METHODS = ("stripIndent", "stripMargin", "trim")

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _java_whitespace(c: str) -> bool:
    """Character.isWhitespace: Unicode space separators except no-break spaces, and the ASCII controls."""
    return c in " \t\n\x0b\x0c\r\x1c\x1d\x1e\x1f" or (c.isspace() and c not in "\u00a0\u2007\u202f")


def _lines(text: str) -> List[str]:
    """Java's String.lines() / Groovy's readLines(): split at \\n, \\r\\n or \\r; no empty last line."""
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _leading_blanks(line: str) -> int:
    count = 0
    while count < len(line) and _java_whitespace(line[count]):
        count += 1
    return count


def _is_blank(line: str) -> bool:
    return _leading_blanks(line) == len(line)


def java_strip_indent(text: str) -> str:
    """java.lang.String.stripIndent() (Java 15+)."""
    if not text:
        return ""
    opt_out = text[-1] in "\r\n"  # a closing line break: the (empty) last line keeps the indent at 0
    lines = _lines(text)
    outdent = 0
    if not opt_out:
        indents = [_leading_blanks(line) for line in lines if not _is_blank(line)]
        if _is_blank(lines[-1]):
            indents.append(len(lines[-1]))
        outdent = min(indents)
    out = []
    for line in lines:
        first = _leading_blanks(line)
        if first == len(line):
            out.append("")
            continue
        last = len(line)
        while _java_whitespace(line[last - 1]):
            last -= 1
        out.append(line[min(outdent, first):last])
    return "\n".join(out) + ("\n" if opt_out else "")


def groovy_strip_indent(text: str) -> str:
    """Groovy's GDK StringGroovyMethods.stripIndent(CharSequence) (what runs on a Java before 15)."""
    if not text:
        return text
    indent = -1
    for line in _lines(text):
        if _is_blank(line):
            continue
        indent = min(len(line) if indent < 0 else indent, _leading_blanks(line))
        if indent == 0:
            break
    if indent <= 0:
        return text
    out = []
    for line in _lines(text):
        out.append("" if _is_blank(line) else line[indent:])
    joined = "\n".join(out) + "\n"
    return joined if text.endswith("\n") else joined[:-1]


def strip_margin(text: str, margin: str = "|") -> str:
    """Groovy's stripMargin: on each line, blanks up to and including `margin` go."""
    if not text:
        return text
    out = []
    for line in _lines(text):
        index = 0
        while index < len(line) and line[index] <= " ":
            index += 1
        out.append(line[index + 1:] if index < len(line) and line[index] == margin else line)
    joined = "\n".join(out) + "\n"
    return joined if text.endswith("\n") else joined[:-1]


def java_trim(text: str) -> str:
    """java.lang.String.trim(): characters up to U+0020 go from both ends."""
    start, end = 0, len(text)
    while start < end and text[start] <= " ":
        start += 1
    while end > start and text[end - 1] <= " ":
        end -= 1
    return text[start:end]


def strip_indent(text: str, mode: str) -> str:
    return java_strip_indent(text) if mode == "java" else groovy_strip_indent(text)
