"""Word, reStructuredText and CSV files rendered to Markdown, the text their citations index
(Jupyter notebooks: ``qa.ingest.notebooks``).

Each is read by the library made for it (python-docx, docutils, Python's csv module for comma-
or tab-separated values) and
written out as Markdown: headings as ``#`` lines, lists as ``-``/``1.`` items, tables as pipe
tables, code as fenced blocks, definition lists as ``term`` / ``: description``. The result is
then read like any Markdown file (``qa.ingest.markdown``), so the structure rules are one set.
A citation cites the rendered text, which is what ``GET /documents/{doc_id}`` returns.
"""

from __future__ import annotations

import csv
import io
import re
import textwrap
from collections.abc import Iterator
from typing import Any

from qa.core.errors import DocumentError
from qa.ingest import archives
from qa.ingest.escaping import LINE_START, escape, tags_as_code

_LEADING_MARKER = re.compile(r"^(?:(?=[-*+>#](?:\s|$))|(\d{1,9})(?=[.)](?:\s|$)))")
_ROLE = re.compile(r":([\w:.+-]+):`(?:([^`<]*?)\s*<[^`>]*>|([^`]*))`")
# Sphinx roles that mark words up, no cross-reference: a "!" or "~" in them is their text
_TEXT_ROLES = frozenset(
    {"abbr", "command", "dfn", "file", "guilabel", "kbd", "mailheader", "makevar", "manpage"}
    | {"menuselection", "mimetype", "newsgroup", "program", "regexp", "samp"}
)
_OBJECT_DOMAINS = frozenset({"py", "js", "c", "cpp"})  # whose roles read "~" and a leading "."
_OBJECT_ROLES = frozenset({"attr", "class", "const", "data", "exc", "func", "meth", "mod", "obj", "type"})
_DIRECTIVE = re.compile(r"\.\.\s+([\w:.+-]+)::[ \t]*(.*)")
# Sphinx directives whose body is no prose: a table of contents, file inclusion, module markers
_NO_PROSE = frozenset(
    {"toctree", "autosummary", "currentmodule", "module", "highlight", "literalinclude", "include", "raw"}
)  # include and raw: docutils' own, disabled here (no file read, no HTML passed through)
_CODE_DIRECTIVES = frozenset({"code", "code-block", "sourcecode"})  # code whatever their options
_TRANSPARENT = frozenset({"only", "ifconfig"})  # a condition on the build: the body is the page's own
# options that say how to show a directive, not what it says ("caption" is read, as text)
_DISPLAY_OPTIONS = frozenset(
    {"class", "name", "linenos", "lineno-start", "emphasize-lines", "dedent", "force", "encoding"}
    | {"noindex", "no-index", "no-index-entry", "no-contents-entry", "no-typesetting", "nocontentsentry"}
)
# Sphinx's notes of a version, by the label it shows (Sphinx 7.3 on; "New in version" before)
_VERSION_LABELS = {
    "versionadded": "Added in version",
    "versionchanged": "Changed in version",
    "deprecated": "Deprecated since version",
    "versionremoved": "Removed in version",
}
_OPTION = re.compile(r"[ \t]+:([\w-]+):(?:[ \t]+(.*))?$")  # a field marker ends at a space


def _escape_start(text: str) -> str:
    """A paragraph that would read as a list item, heading, fence, thematic break or link
    definition, escaped so it stays a paragraph."""
    escaped = _LEADING_MARKER.sub(lambda m: f"{m.group(1)}\\" if m.group(1) else "\\", text, count=1)
    return "\\" + text if escaped == text and LINE_START.match(text) else escaped


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def pipe_table(rows: list[list[str]]) -> str:
    """Rows of cell texts as a GFM pipe table, the first row the header."""
    if not rows:
        return ""
    width = max(len(row) for row in rows)
    lines = ["| " + " | ".join(_cell(c) for c in [*row, *[""] * (width - len(row))]) + " |" for row in rows]
    lines.insert(1, "|" + " --- |" * width)
    return "\n".join(lines)


def fence(code: str, language: str = "") -> str:
    ticks = "`" * max(3, max((len(m) for m in re.findall(r"`+", code)), default=0) + 1)
    return f"{ticks}{language}\n{code.rstrip()}\n{ticks}"


# Word


DOCX_HEADING_CHARS = 120  # a bold paragraph longer than this is emphasis, not a heading
# styles that make a heading or a list item already, and those whose bold makes no heading (Word's
# own Caption and Intense Quote are bold)
NOT_HAND_MADE = (
    *("Title", "Heading", "List"),
    *("Caption", "Quote", "Intense Quote", "TOC", "toc", "Table", "Header", "Footer", "Footnote"),
)
_NUMBERED = re.compile(r"\d{1,3}(?:\.\d{1,3})*\.?\s")  # "2. ", "2.1 ", in any script's digits


def _docx_blocks(document: Any) -> Iterator[tuple[str, str]]:
    """(kind, Markdown) per paragraph or table of a python-docx document, in order."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    # style id -> (style name, whether it sets bold): python-docx looks a style up by scanning
    # every style the file defines, so each id is looked up once
    names: dict[str | None, tuple[str, bool]] = {}
    bold = _CharacterBold()
    depth = 1  # the level of the last heading a style made ("#" the title)
    for element in document.element.body.iterchildren():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "tbl":
            table = Table(element, document)
            yield "table", pipe_table([[escape(cell.text) for cell in row.cells] for row in table.rows])
        elif tag == "p":
            paragraph = Paragraph(element, document)
            text = " ".join(paragraph.text.split())
            if text:
                style_id = paragraph._p.style
                if style_id not in names:
                    style = paragraph.style
                    names[style_id] = ((style.name or "") if style else "", bool(style and style.font.bold))
                name, style_bold = names[style_id]
                hand_made = not name.startswith(NOT_HAND_MADE) and _bold_heading(
                    paragraph, text, style_bold, bold
                )
                kind, markdown = _docx_paragraph(paragraph, text, name, depth, hand_made)
                if kind == "heading":
                    depth = len(markdown) - len(markdown.lstrip("#"))
                yield ("heading" if kind == "bold" else kind), markdown


def _docx_paragraph(paragraph: Any, raw: str, style: str, depth: int, hand_made: bool) -> tuple[str, str]:
    level = re.match(r"Heading (\d)", style)
    text = escape(raw)  # Word's text is text: "<Enter>" or a backtick is no markup
    if style == "Title":
        return "heading", f"# {text}"
    if level:
        return "heading", "#" * min(int(level.group(1)) + 1, 6) + " " + text
    numbered = paragraph._p.pPr is not None and paragraph._p.pPr.numPr is not None
    if style.startswith("List Number"):
        return "item", f"1. {text}"
    if style.startswith("List") or numbered:
        return "item", f"- {text}"
    if hand_made:  # one level under the last heading a style made, two when numbered ("2. Schema")
        return "bold", "#" * min(depth + 1 + bool(_NUMBERED.match(raw)), 6) + " " + text
    return "paragraph", _escape_start(text)


def _bold_heading(paragraph: Any, text: str, style_bold: bool, bold: _CharacterBold) -> bool:
    """A paragraph set in bold throughout, short and not a sentence: a heading made by hand (a
    report's "Part 2: Building the database" in Normal style), not a lead-in ("Objectives:")."""
    if len(text) > DOCX_HEADING_CHARS or text.rstrip("\"'”’»)]")[-1:] in (*".,;:!?", ""):
        return False
    runs = []
    for item in paragraph.iter_inner_content():  # runs, and the runs of its links
        runs += [run for run in getattr(item, "runs", [item]) if run.text.strip()]
    return bool(runs) and all(bold(run, style_bold) for run in runs)


class _CharacterBold:
    """Whether a run is set in bold: its own formatting, else its character style's (each style
    looked up once), else its paragraph style's."""

    def __init__(self) -> None:
        self.styles: dict[str, bool | None] = {}

    def __call__(self, run: Any, style_bold: bool) -> bool:
        if run.bold is not None:
            return bool(run.bold)
        style_id = run._r.style
        if style_id is None:
            return style_bold
        if style_id not in self.styles:
            style = run.style
            self.styles[style_id] = style.font.bold if style is not None else None
        found = self.styles[style_id]
        return style_bold if found is None else found


def render_docx(doc_id: str, data: bytes) -> tuple[str, str]:
    """(Markdown text, title) of a .docx file."""
    import docx

    archives.check_inflation(doc_id, data, "a Word document")
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as error:  # python-docx raises zip, XML and key errors on a broken file
        raise DocumentError(f"{doc_id}: not a readable Word file ({type(error).__name__})") from error
    parts: list[str] = []
    previous = ""
    for kind, text in _docx_blocks(document):
        separator = "\n" if kind == previous == "item" else "\n\n"
        parts.append((separator if parts else "") + text)
        previous = kind
    return "".join(parts) + "\n", str(document.core_properties.title or "")


# reStructuredText


def _role_text(match: re.Match[str]) -> str:
    """The words an interpreted-text role shows, as Sphinx shows them: its title if it has one;
    a cross-reference's leading "!" (no link) dropped, once; an object's ("py", "js", "c" and
    "cpp" domains, and the default one's object roles) without a leading "." (a relative name)
    and "~a.b.c" as "c". Anything else as written: ``:doc:`../index``` keeps its ".."."""
    role, titled, written = match.group(1).lower(), match.group(2), match.group(3)
    shown = (titled if titled is not None else written or "").strip()
    domain, _, name = role.rpartition(":")
    if not domain and name in _TEXT_ROLES:
        return shown
    if shown.startswith("!") or titled is not None:
        return shown.removeprefix("!")
    if domain in _OBJECT_DOMAINS or (not domain and name in _OBJECT_ROLES):
        shown = shown.lstrip(".")
        return re.split(r"\.|::", shown[1:])[-1] if shown.startswith("~") else shown
    return shown


def _rst_text(node: Any) -> str:
    """A node's words; inline literals (````__call__()````, ````**kwargs````) as Markdown code
    spans, so that their characters read as code, not as emphasis markers. Roles docutils does
    not know (Sphinx's ``:meth:`x```) show their text, read in each text node alone (a literal
    that looks like a role, ````:doc:````, is a literal); docutils' error messages are left out."""
    return _rst_inline(node)


def _rst_inline(node: Any) -> str:
    from docutils import nodes

    if isinstance(node, nodes.literal):
        text = node.astext()
        ticks = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
        padding = " " if text.startswith("`") or text.endswith("`") else ""
        return f"{ticks}{padding}{text}{padding}{ticks}"
    if isinstance(node, nodes.system_message | nodes.image):
        return ""
    if isinstance(node, nodes.Text) or not node.children:
        return tags_as_code(_ROLE.sub(_role_text, str(node.astext())))
    if isinstance(node, nodes.Element) and not isinstance(node, nodes.TextElement):  # blocks in a cell
        return " ".join(part for child in node.children if (part := _rst_inline(child)))
    return "".join(_rst_inline(child) for child in node.children)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _version_note(label: str, argument: str, body: str, depth: int) -> list[str]:
    """A note of a version as Sphinx shows it ("Changed in version 2.5: Added the foo option."):
    the label opens its first paragraph, the explanation written on the directive's line (and
    the lines right under it) or its body's; a note that says nothing more ends in a period."""
    from docutils import nodes

    version, said = [*argument.split(None, 1), "", ""][:2]
    label = f"{label} {version}".strip()
    source = f"{said}\n{body}".strip()
    children = list(_doctree("", source).children) if source else []
    if not children:
        return [f"{label}."]
    if isinstance(children[0], nodes.paragraph):
        first, children = f"{label}: {_rst_text(children[0])}", children[1:]
    else:
        first = f"{label}:"
    return [first, *(block for child in children for block in _rst_blocks(child, depth))]


def _unknown_directive(source: str, depth: int) -> list[str]:
    """A directive docutils does not know (Sphinx's ``py:data``, ``confval``...): its argument
    as a term and its body, read as reStructuredText, as the description; a note of a version
    as Sphinx words it (``_version_note``)."""
    lines = source.splitlines()
    head = _DIRECTIVE.match(lines[0]) if lines else None
    if head is None or head.group(1).rsplit(":", 1)[-1] in _NO_PROSE:  # "py:currentmodule" too
        return []
    options: list[list[str]] = []  # its ":name: value" lines right after its own, as docutils reads them
    shown, option_line = 1, 0
    while shown < len(lines):
        option = _OPTION.match(lines[shown])
        if option:
            options.append([option.group(1), (option.group(2) or "").strip()])
            option_line = shown
        elif options and lines[shown].strip() and _indent(lines[shown]) > _indent(lines[option_line]):
            options[-1][1] += " " + lines[shown].strip()  # a value wrapped onto the next lines
        else:
            break
        shown += 1
    said = [
        f"{name}: {_ROLE.sub(_role_text, value)}"
        for name, value in options
        if value and name not in _DISPLAY_OPTIONS
    ]  # what options say ("type: str", "default: 'alabaster'", "caption: app.py"), as a line
    blocks = [_escape_start("; ".join(said))] if said else []
    text = textwrap.dedent("\n".join(lines[shown:])).strip("\n")
    name, argument = head.group(1).rsplit(":", 1)[-1], head.group(2).strip()
    if name in _VERSION_LABELS:
        return _version_note(_VERSION_LABELS[name], argument, text, depth)
    if head.group(1) in _CODE_DIRECTIVES:  # a code block with options docutils does not take
        return blocks + ([fence(text, argument)] if text.strip() else [])
    body = _rst_children(_doctree("", text.strip()), depth) if text.strip() else []
    if name.startswith("auto") and not body and "(" not in argument:
        return []  # autodoc's (and its kin's) text is made from code the corpus lacks: a name says nothing
    blocks += body
    if head.group(1) in _TRANSPARENT:
        return blocks
    term = argument if argument and not re.match(r"[\d.]+$", argument) else f"{name} {argument}".strip()
    if not blocks:  # a name alone ("py:data DEBUG", a signature "f(x)") is still said
        return [_escape_start(term)]
    return [f"{term}\n: " + textwrap.indent("\n\n".join(blocks), "  ").lstrip()]


def _rst_children(node: Any, depth: int) -> list[str]:
    return [block for child in node.children for block in _rst_blocks(child, depth)]


def _rst_list(node: Any, depth: int, marker: str) -> list[str]:
    items = []
    for item in node.children:
        body = "\n\n".join(_rst_children(item, depth))
        items.append(marker + textwrap.indent(body, " " * len(marker)).lstrip())
    return ["\n".join(items)]


def _rst_blocks(node: Any, depth: int) -> list[str]:
    """Markdown blocks for one docutils node."""
    from docutils import nodes

    if isinstance(node, nodes.section):
        return _rst_children(node, depth + 1)
    if isinstance(node, nodes.topic) and "contents" in node.get("classes", []):
        return []  # a page's table of contents
    if isinstance(node, nodes.title) and not isinstance(node.parent, nodes.section | nodes.document):
        return [_escape_start(_rst_text(node))]  # an admonition's or a topic's: its first line, no heading
    if isinstance(node, nodes.title):
        return ["#" * min(depth, 6) + " " + " ".join(_rst_text(node).split())]
    if isinstance(node, nodes.literal_block | nodes.doctest_block):
        classes = [c for c in node.get("classes", []) if c != "code"]
        return [fence(node.astext(), classes[0] if classes else "")]
    if isinstance(node, nodes.paragraph | nodes.line_block | nodes.rubric):
        return [_escape_start(_rst_text(node))]
    if isinstance(node, nodes.bullet_list):
        return _rst_list(node, depth, "- ")
    if isinstance(node, nodes.enumerated_list):
        return _rst_list(node, depth, "1. ")
    if isinstance(node, nodes.definition_list | nodes.field_list | nodes.option_list):
        return [_rst_definitions(node, depth)]
    if isinstance(node, nodes.table):
        return [_rst_table(node)]
    if isinstance(node, nodes.system_message):
        found = list(node.findall(nodes.literal_block))
        return _unknown_directive(found[0].astext(), depth) if found else []
    if isinstance(node, nodes.comment | nodes.target | nodes.substitution_definition):
        return []
    if isinstance(node, nodes.Text | nodes.raw | nodes.image | nodes.transition):
        return []
    return _rst_children(node, depth)


def _rst_definitions(node: Any, depth: int) -> str:
    entries = []
    for entry in node.children:
        term = " ".join(_rst_text(entry.children[0]).split())
        body = "\n\n".join(block for child in entry.children[1:] for block in _rst_children(child, depth))
        entries.append(f"{term}\n: " + textwrap.indent(body, "  ").lstrip())
    return "\n\n".join(entries)


def _rst_table(node: Any) -> str:
    from docutils import nodes

    rows = [[_rst_text(entry) for entry in row.children] for row in node.findall(nodes.row)]
    if rows and not any(True for _ in node.findall(nodes.thead)):
        rows.insert(0, [""] * max(len(row) for row in rows))  # no header: an empty one, no row made one
    return pipe_table(rows)


def _doctree(doc_id: str, text: str) -> Any:
    from docutils.core import publish_doctree

    overrides = {
        "report_level": 5,
        "halt_level": 5,
        "file_insertion_enabled": False,
        "raw_enabled": False,
        "input_encoding": "unicode",
    }
    try:
        return publish_doctree(text, source_path=doc_id or None, settings_overrides=overrides)
    except Exception as error:  # docutils raises its own types on badly broken markup
        raise DocumentError(f"{doc_id}: the reStructuredText could not be parsed ({error})") from error


def render_rst(doc_id: str, text: str) -> tuple[str, str]:
    """(Markdown text, title) of reStructuredText; Sphinx directives it does not know are read as
    a term and its description, tables of contents left out."""
    tree = _doctree(doc_id, text)
    title = " ".join(_rst_text(tree[0]).split()) if len(tree) and tree[0].tagname == "title" else ""
    body = "\n\n".join(block for block in _rst_children(tree, 1) if block.strip())
    return body + "\n", title


# CSV

CSV_DELIMITERS = ",;\t|"  # what a .csv file's separator is guessed among (csv.Sniffer)
CSV_SAMPLE = 4096  # characters it is guessed from: the sniffer's regular expressions grow with
# the square of the sample on odd input (64 KB of quotes and commas took 23 s, 4 KB 0.1 s)


def _csv_options(text: str) -> dict[str, Any]:
    """The separator and whether spaces follow it, guessed from the file's first lines, else
    Excel's commas. Quotes are always ``"`` (RFC 4180): a guessed ``'`` turns apostrophes into
    quoting."""
    sample = text[:CSV_SAMPLE]
    if len(text) > CSV_SAMPLE and "\n" in sample:
        sample = sample[: sample.rindex("\n")]  # whole lines only
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=CSV_DELIMITERS)
    except csv.Error:  # one column, or nothing to tell by
        return {"delimiter": ","}
    return {"delimiter": sniffed.delimiter, "skipinitialspace": sniffed.skipinitialspace}


def _csv_rows(text: str, options: dict[str, Any], strict: bool = True) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=strict, **options)
    return [[cell.strip() for cell in row] for row in reader if any(cell.strip() for cell in row)]


def render_csv(doc_id: str, text: str, delimiter: str | None = None) -> str:
    """A CSV file as one pipe table, its first row the header: every passage of it then carries
    the header's names (``qa.ingest.structured``), and rows are cut between (a row over the window
    alone is split within). A given ``delimiter`` (a .tsv's tab) splits every line with quotes
    read as text, as tab-separated values have no quoting; otherwise the separator is guessed
    (``_csv_options``) and quoted fields are read. A stray quote (``"To be" or not``) is kept as
    text; a quote left open would swallow every row after it into one cell, so then the file is
    read with all quotes as text. Blank rows are left out; short rows are padded to the widest."""
    options = {"delimiter": delimiter, "quoting": csv.QUOTE_NONE} if delimiter else _csv_options(text)
    try:
        try:
            rows = _csv_rows(text, options)
        except csv.Error:
            rows = _csv_rows(text, options, strict=False)
            if rows and "\n" in rows[-1][-1]:  # an open quote ran to the end of the file
                rows = _csv_rows(text, {**options, "quoting": csv.QUOTE_NONE})
    except csv.Error as error:  # a field over the csv module's size limit
        raise DocumentError(f"{doc_id}: not readable as CSV ({error})") from error
    return pipe_table(rows) + "\n" if rows else ""
