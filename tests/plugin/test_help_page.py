"""The plugin's help page, exactly as the built jar ships it, rendered by headless Chromium.

The jar's pages/ and htdocs/ are laid out the way CD/RO serves them ([U]: the help page at
/commander/pages/<KEY-VERSION>/help, plugin files at /commander/plugins/<KEY-VERSION>/), so the page's
relative stylesheet link is resolved as a browser on the server would. Chromium is driven by its own
command line only: --dump-dom for the rendered DOM, --screenshot for out/help.png (for people to look
at; the test reads one pixel of it to prove the stylesheet applied), --enable-logging=stderr for
console messages. The page is rendered twice: as XHTML (served as XML) and as HTML (served as
text/html), since which one CD/RO sends is [U].
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import lxml.html
import pytest
from conftest import RUN_CONDITION
from ec_resume.restart_link import PLACEHOLDERS
from lxml import etree

from commander_emulator.dsl import parse_dsl
from devtools.package import plugin_name_of

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "out" / "help.png"
WINDOW = (1200, 4000)  # tall enough for the whole page, example and requirements included
CHROMIUM_TIMEOUT = 60  # seconds; a render takes one or two
XHTML_NS = "http://www.w3.org/1999/xhtml"
NO_DEFAULT = "—"  # what a parameter table shows for an empty default
# resume/* properties that are not user settings: the condition has its own section, the rest is code.
NOT_SETTINGS = {"runCondition", "bootstrap", "agentCode", "agentCodeDigest"}
FORBIDDEN_ELEMENTS = ("script", "svg", "iframe", "object", "embed", "base")
CONSOLE_LINE = re.compile(r":CONSOLE[(:]")
CANARY_TEXT = "ec-resume-console-canary"

CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium; .ci/run does)")


# ------------------------------------------------------------------------------------ the built jar


@dataclass(frozen=True)
class ServedPlugin:
    """The jar's help page and plugin files, laid out below `root` the way the server serves them."""

    name: str  # KEY-VERSION
    page: Path
    htdocs: Path
    entries: Dict[str, bytes]

    def forms(self) -> Dict[str, etree._Element]:
        """procedure name -> its parsed form.xml."""
        found = {}
        for entry, data in self.entries.items():
            parts = entry.split("/")
            if len(parts) == 4 and parts[:2] == ["dsl", "procedures"] and parts[3] == "form.xml":
                found[parts[2]] = etree.fromstring(data)
        return found

    def settings(self) -> Dict[str, str]:
        """resume/<name> -> shipped default, for the properties a user may change."""
        prefix = "dsl/properties/resume/"
        found = {}
        for entry, data in self.entries.items():
            if entry.startswith(prefix) and "/" not in entry[len(prefix):]:
                name = entry[len(prefix):].split(".", 1)[0]
                if name not in NOT_SETTINGS:
                    found[name] = data.decode("utf-8").strip()
        return found


def serve_like_cdro(jar: Path, root: Path) -> ServedPlugin:
    """Unpack pages/ and htdocs/ of `jar` below `root` (which plays the server's /commander)."""
    name = plugin_name_of(jar)
    with zipfile.ZipFile(jar) as archive:
        entries = {info.filename: archive.read(info) for info in archive.infolist() if not info.is_dir()}
    help_name = (etree.fromstring(entries["META-INF/plugin.xml"]).findtext("help") or "").strip()
    assert help_name, "META-INF/plugin.xml has no <help>: expected the help page's name under pages/"
    assert f"pages/{help_name}" in entries, (
        f"plugin.xml names help page {help_name}; the jar has no pages/{help_name}")
    pages, htdocs = root / "pages" / name, root / "plugins" / name
    for entry, data in entries.items():
        for folder, target in (("pages/", pages), ("htdocs/", htdocs)):
            if entry.startswith(folder):
                path = target / entry[len(folder):]
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
    return ServedPlugin(name, pages / help_name, htdocs, entries)


@pytest.fixture(scope="module")
def served(built_jar: Path, tmp_path_factory: pytest.TempPathFactory) -> ServedPlugin:
    return serve_like_cdro(built_jar, tmp_path_factory.mktemp("served") / "commander")


# -------------------------------------------------------------------------------------- Chromium


@dataclass(frozen=True)
class Run:
    stdout: str
    console: List[str]  # Chromium's log lines for page console messages


def chromium_command(user_dir: Path, action: Sequence[str], url: str) -> List[str]:
    assert CHROMIUM is not None
    return [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--hide-scrollbars", f"--user-data-dir={user_dir}", "--enable-logging=stderr", "--v=0",
            f"--window-size={WINDOW[0]},{WINDOW[1]}", *action, url]


def run_chromium(jobs: Dict[str, Tuple[Sequence[str], Path]], scratch: Path) -> Dict[str, Run]:
    """Each job (action flags, page) in its own headless Chromium, all at once; fails on a bad exit."""
    started = {}
    for label, (action, page) in jobs.items():
        user_dir = scratch / f"profile-{label}"
        started[label] = subprocess.Popen(chromium_command(user_dir, action, page.as_uri()),
                                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE)
    runs = {}
    try:
        for label, process in started.items():
            out, err = process.communicate(timeout=CHROMIUM_TIMEOUT)
            stderr = err.decode("utf-8", "replace")
            assert process.returncode == 0, (
                f"chromium ({label}) exited {process.returncode}:\n{stderr[-3000:]}")
            console = [line for line in stderr.splitlines() if CONSOLE_LINE.search(line)]
            runs[label] = Run(out.decode("utf-8", "replace"), console)
    finally:
        for process in started.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    return runs


@dataclass(frozen=True)
class Rendered:
    doms: Dict[str, lxml.html.HtmlElement]  # "xhtml" / "html" -> the DOM Chromium built
    console: Dict[str, List[str]]  # every page render -> its console lines
    canary_console: List[str]
    screenshot: bytes


@pytest.fixture(scope="module")
def rendered(served: ServedPlugin, tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium; .ci/run does)")
    scratch = tmp_path_factory.mktemp("chromium")
    # The same bytes under an .html name: what a server that sends text/html makes of the page.
    as_html = served.page.with_name("help-as-text-html.html")
    as_html.write_bytes(served.page.read_bytes())
    # A page that does log to the console: proves this Chromium reports console messages on stderr,
    # so that "no console lines" about the help page means something.
    canary = served.page.with_name("console-canary.html")
    canary.write_text(f"<!DOCTYPE html><title>c</title><script>console.error('{CANARY_TEXT}')</script>",
                      encoding="utf-8")
    png = scratch / "help.png"
    runs = run_chromium({"screenshot": ([f"--screenshot={png}"], served.page),
                         "xhtml": (["--dump-dom"], served.page),
                         "html": (["--dump-dom"], as_html),
                         "canary": (["--dump-dom"], canary)}, scratch)
    assert png.is_file(), "chromium wrote no screenshot"
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=".help-", suffix=".png", dir=SCREENSHOT.parent)
    with os.fdopen(handle, "wb") as out:
        out.write(png.read_bytes())
    os.chmod(temp, 0o644)  # mkstemp makes it private; people are meant to open it
    os.replace(temp, SCREENSHOT)  # whole, even when several test workers write it
    doms = {mode: lxml.html.document_fromstring(runs[mode].stdout.encode("utf-8"))
            for mode in ("xhtml", "html")}
    return Rendered(doms, {label: runs[label].console for label in ("screenshot", "xhtml", "html")},
                    runs["canary"].console, png.read_bytes())


# ------------------------------------------------------------------------------------------ helpers


def text_of(element: lxml.html.HtmlElement) -> str:
    return " ".join(element.text_content().split())


def by_id(dom: lxml.html.HtmlElement, element_id: str) -> lxml.html.HtmlElement:
    found = dom.xpath("//*[@id=$id]", id=element_id)
    assert len(found) == 1, f"expected one element with id '{element_id}', found {len(found)}"
    return found[0]


def section_of(dom: lxml.html.HtmlElement, heading_id: str) -> lxml.html.HtmlElement:
    """The block an <h2 id=...> heads: its parent element."""
    heading = by_id(dom, heading_id)
    assert heading.tag == "h2", f"#{heading_id} is a <{heading.tag}>: expected an <h2>"
    return heading.getparent()


def table_rows(section: lxml.html.HtmlElement, table_class: str) -> List[List[str]]:
    tables = section.xpath(".//table[contains(concat(' ', @class, ' '), $c)]", c=f" {table_class} ")
    assert len(tables) == 1, f"expected one table.{table_class} in the section, found {len(tables)}"
    return [[text_of(cell) for cell in row.xpath("./td")] for row in tables[0].xpath(".//tbody/tr")]


def png_pixel(png: bytes, x: int, y: int) -> Tuple[int, int, int]:
    """The RGB of one pixel of an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium writes)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", b""
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        body = png[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, (
        f"unsupported PNG: depth {depth}, colour {colour}, interlace {interlace}")
    channels = 3 if colour == 2 else 4
    stride = width * channels
    raw = zlib.decompress(idat)
    previous = bytearray(stride)
    for row_number in range(y + 1):  # undo the row filters down to row y
        start = row_number * (stride + 1)
        kind, row = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            left = row[i - channels] if i >= channels else 0
            up, up_left = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                row[i] = (row[i] + left) & 0xFF
            elif kind == 2:
                row[i] = (row[i] + up) & 0xFF
            elif kind == 3:
                row[i] = (row[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                guess = left + up - up_left
                near = min((abs(guess - left), 0, left), (abs(guess - up), 1, up),
                           (abs(guess - up_left), 2, up_left))
                row[i] = (row[i] + near[2]) & 0xFF
        previous = row
    return tuple(previous[x * channels:x * channels + 3])  # type: ignore[return-value]


# -------------------------------------------------------------------------------- no browser needed


def test_every_form_element_is_documented(served: ServedPlugin) -> None:
    forms = served.forms()
    assert forms, "the jar has no dsl/procedures/*/form.xml"
    for procedure, form in forms.items():
        for element in form.iter("formElement"):
            name = element.findtext("property")
            assert (element.findtext("documentation") or "").strip(), (
                f"{procedure}/form.xml: parameter '{name}' has no <documentation>: "
                "expected a one-line help text")


def test_help_page_is_self_contained_xhtml(served: ServedPlugin) -> None:
    page = etree.fromstring(served.page.read_bytes())  # strict XML, as the build checks it
    assert page.tag == f"{{{XHTML_NS}}}html", f"help page root is {page.tag}: expected XHTML <html>"
    for tag in FORBIDDEN_ELEMENTS:
        assert not page.findall(f".//{{{XHTML_NS}}}{tag}"), f"help page has a <{tag}>: expected none"
    assert not page.xpath("//@style"), "help page has style attributes: styles belong in pluginhelp.css"
    for link in page.xpath("//@href | //@src"):
        assert not re.match(r"^[a-z][a-z0-9+.-]*:|^//", link, re.I), (
            f"help page links to {link}: expected no external resource")
        if not link.startswith("#"):
            target = (served.page.parent / link).resolve()
            assert target.is_file(), (
                f"help page links to {link}, which the jar does not ship where the server serves it")
    css = (served.htdocs / "pluginhelp.css").read_text(encoding="utf-8")
    assert not re.search(r"@import|url\(", css), "pluginhelp.css fetches something: expected plain rules only"


# ------------------------------------------------------------------------------------ rendered page


@needs_chromium
def test_page_renders_with_its_stylesheet_and_no_console_message(served: ServedPlugin,
                                                                  rendered: Rendered) -> None:
    assert any(CANARY_TEXT in line for line in rendered.canary_console), (
        "chromium reported no console message for a page that logs one: the check below would be blind")
    for label, lines in rendered.console.items():
        assert lines == [], f"help page ({label}) logged to the console:\n" + "\n".join(lines)
    css = (served.htdocs / "pluginhelp.css").read_text(encoding="utf-8")
    banner = re.search(r"\.banner\s*\{[^}]*background:\s*#([0-9a-fA-F]{6})", css)
    assert banner, "pluginhelp.css has no '.banner { background: #rrggbb }' rule"
    expected = tuple(bytes.fromhex(banner.group(1)))
    seen = png_pixel(rendered.screenshot, 10, 10)
    assert all(abs(a - b) <= 2 for a, b in zip(seen, expected)), (
        f"top-left pixel of the rendered page is {seen}: expected the banner colour {expected}, "
        "i.e. pluginhelp.css did not load")


@needs_chromium
@pytest.mark.parametrize("mode", ["xhtml", "html"])
def test_every_procedure_has_a_heading_and_its_parameters(served: ServedPlugin, rendered: Rendered,
                                                          mode: str) -> None:
    dom = rendered.doms[mode]
    forms = served.forms()
    headed = {h.get("id") for h in dom.xpath("//div[contains(concat(' ', @class, ' '), ' procedure ')]/h2")}
    assert headed == set(forms), (
        f"procedure headings {sorted(headed)}: expected one per procedure {sorted(forms)}")
    for procedure, form in forms.items():
        section = section_of(dom, procedure)
        assert text_of(section.find("h2")) == procedure
        documented = [(row[0], row[1], row[2]) for row in table_rows(section, "parameters")]
        shipped = [((e.findtext("property") or "").strip(),
                    "Yes" if (e.findtext("required") or "").strip() == "1" else "No",
                    (e.findtext("value") or "").strip() or NO_DEFAULT)
                   for e in form.iter("formElement")]
        assert documented == shipped, (
            f"help for {procedure} lists (parameter, required, default) {documented}: expected, as in its "
            f"form.xml, {shipped}")


@needs_chromium
def test_settings_are_documented_with_their_shipped_defaults(served: ServedPlugin,
                                                             rendered: Rendered) -> None:
    section = section_of(rendered.doms["xhtml"], "settings")
    rows = {row[0]: row for row in table_rows(section, "settings")}
    shipped = served.settings()
    assert set(rows) == set(shipped), f"settings documented {sorted(rows)}: expected {sorted(shipped)}"
    for name, default in shipped.items():
        assert rows[name][1] == default, (
            f"help shows default '{rows[name][1]}' for resume/{name}: the jar ships '{default}'")
    for placeholder in PLACEHOLDERS:
        assert f"{{{placeholder}}}" in rows["linkTemplate"][2], (
            f"linkTemplate placeholder {{{placeholder}}} is not documented")


@needs_chromium
def test_page_names_its_version_and_every_section(served: ServedPlugin, rendered: Rendered) -> None:
    dom = rendered.doms["xhtml"]
    version = served.name.rsplit("-", 1)[1]
    assert text_of(by_id(dom, "plugin-version")) == f"Plugin version {version}"
    for section in ("overview", "run-condition", "settings", "example", "agents"):
        section_of(dom, section)
    for anchor in dom.xpath("//a[starts-with(@href, '#')]/@href"):
        by_id(dom, anchor[1:])  # every in-page link lands somewhere
    assert RUN_CONDITION in [text_of(code) for code in section_of(dom, "run-condition").iter("code")]
    agents = text_of(section_of(dom, "agents"))
    assert "python3" in agents and "3.8" in agents and "pip" in agents


@needs_chromium
def test_dsl_example_makes_a_resumable_procedure(rendered: Rendered) -> None:
    example = by_id(rendered.doms["xhtml"], "dsl-example").text_content()
    ops = parse_dsl(example, "help page example")  # the emulator's strict reader; real Groovy agrees with it
    params = {op.args["formalParameterName"]: op.args for op in ops if op.kind == "formalParameter"}
    assert params.get("jobToRestart", {}).get("defaultValue") == "", (
        "the example has no formal parameter jobToRestart with an empty default")
    steps = [op.args for op in ops if op.kind == "step"]
    assert any(s.get("condition") == RUN_CONDITION for s in steps), "no example step uses the run condition"
    assert any(s.get("subprocedure") == "ResumableStep" for s in steps), "no example step calls ResumableStep"
    last = steps[-1]
    assert (last.get("subprocedure"), last.get("alwaysRun")) == ("CreateRestartLink", "1"), (
        f"the example's last step is {last}: expected an always-run CreateRestartLink call")
