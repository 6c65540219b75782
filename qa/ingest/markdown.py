"""Markdown by its structure: markdown-it-py's block tokens to the parts passages are made of.

The document text stays the file's own; markdown-it reads a copy in which directive lines are
blanked and admonition bodies dedented. Both edits keep every line where it was, and a block
token's ``map`` is a range of lines, so each part is a span of whole source lines.

Parts are body text (paragraphs, quotes, definition lists), lists (with their items), code
(fenced or indented, with its lines) and tables (with their rows, the header first). HTML
comments, link reference definitions, anchors, rules and directive lines (mdBook
``{{#include}}``, Liquid/Jinja tags, MkDocs admonition and tab markers, snippet markers) are left
out: they are markup, not text anyone asks about; inside a code block only include lines are (a
bare "///" there is a doc comment). Navigation (a list or paragraph of nothing but links to the
site's own pages: a book's SUMMARY.md) is no part either.

``view`` blanks markup out of a span (backticks, emphasis markers, link targets, tags, list and
heading markers, table pipes, template expressions, alert markers) with spaces, so that what the
model reads is the words while every character keeps its offset; an HTML entity is read as its
character, padded with spaces.
"""

from __future__ import annotations

import functools
import html
import re
from dataclasses import dataclass, replace

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.deflist import deflist_plugin
from mdit_py_plugins.front_matter import front_matter_plugin

from qa.ingest.chunking import trim
from qa.ingest.fences import FENCE, INCLUDE, LINE_BREAK, code_fences, fence_after, unquoted
from qa.ingest.inline import (
    ENTITY,
    blank,
    code_and_comments,
    console_styling,
    emphasis_stars,
    indexes_and_macros,
    not_text,
    within,
    without_macros,
)

_DIRECTIVE = re.compile(
    r"^[ \t]*(?:\{\{#.*\}\}|\{%.*%\}|--8<--.*|:::.*|\[TOC\]|\[\[_TOC_\]\]"
    r"|/{3,}(?:[ \t]+[a-z][\w-]*(?:[ \t]*\|.*)?)?"  # a pymdownx block's fence: "/// tip | Title"
    r"|\{\*[ \t]*[\w./-]+\.\w+\b[^\n]*\*\}"  # a file's lines included: "{* src/app.py hl[3] *}"
    r"|\([\w:.-]+\)=)[ \t]*$",  # the last: a MyST target, "(label)="
    re.IGNORECASE,
)
_AUTODOC = re.compile(r"[ \t]*:::[ \t]+[\w.:-]+[ \t]*$")  # mkdocstrings: "::: package.module.Class"
# A MyST directive is a fence whose info string is "{name}"; the names whose body is prose
_PROSE_DIRECTIVES = frozenset(
    {"note", "warning", "tip", "hint", "caution", "attention", "danger", "error", "important", "seealso"}
    | {"admonition", "versionadded", "versionchanged", "deprecated", "topic", "sidebar", "dropdown"}
)
# lines of a directive's body that are markup: its options (":depth: 2") and reST directives
_DIRECTIVE_MARKUP = re.compile(r"^[ \t]*(?::[\w-]+:(?:[ \t].*)?|\.\.[ \t]+[\w:.+-]+::.*)$", re.MULTILINE)
# a titled block's marker line, its title kept: pymdownx "/// tip | Title", MyST ":::{admonition} Title"
_BLOCK_TITLE = re.compile(
    r"^[ \t]*(?::{3,}[ \t]*\{([\w-]+)\}|/{3,}[ \t]+([a-z][\w-]*)[ \t]*\|)[ \t]*(\S(?:.*\S)?)[ \t]*$", re.I
)
_CONTAINER = re.compile(r"^[ \t]*(?:!!!|\?\?\?\+?|===)[ \t]+\S")  # admonition or tab, body indented
# its title, when quoted: '!!! warning "Thread safety"', a tab's '=== "Python"'
_CONTAINER_TITLE = re.compile(r'^[ \t]*(?:!!!|\?\?\?\+?|===)[ \t]+[^"\n]*"([^\n]*\w[^\n]*)"[ \t]*$')


def _block_title(line: str) -> tuple[int, int] | None:
    """Where the title of a titled block's marker line is ("/// tip | Title"), if it has one and
    its kind is one whose argument is a title (an admonition's, a tab's; not "/// html | div")."""
    marker = _BLOCK_TITLE.match(line)
    kind = marker and (marker.group(1) or marker.group(2) or "").lower()
    if not marker or kind not in _PROSE_DIRECTIVES - {"versionadded", "versionchanged", "deprecated"} | {
        "details",
        "tab",
        "caption",
    }:
        return None
    return marker.span(3)


OFF_SITE = re.compile(r"[a-z][\w+.-]*:|//|www\.", re.IGNORECASE)  # https:, mailto:, //cdn..., www....
_SEPARATORS = " \t,;|·•-–—/"
_TAG = re.compile(r"(?<!(?<!\\)\\)</?[A-Za-z][\w:-]*(?:\s[^<>]*)?/?>")
_SAID = re.compile(r"\s(?:caption|label)=\"([^\"<>]*)\"")  # a tag's attributes written for readers
_MATH = re.compile(
    r"\$\$(?=[^$]*[^$\s])[^$]{1,4000}\$\$|(?<![\\$\w])\$(?=\S)[^$\n]+(?<=\S)\$(?![\w$])"
)  # display or inline TeX
_ESCAPED = re.compile(r"\\[!-/:-@\[-`{-~]")  # a backslash escape and the character it makes text
_HTML_CODE = re.compile(r"<(?:code|kbd|samp|tt)\b[^<>]*>([^<]*)</(?:code|kbd|samp|tt)\s*>", re.IGNORECASE)
_LINE = re.compile(r"[^\r\n]+")
_INLINE = frozenset("`*_~[]!\\")  # inline markers, which sit inside or against a word
_MARKUP = re.compile(
    r"!(?=\[)"  # an image
    r"|\]\((?:[^()\s]*(?:\([^()]*\)[^()\s]*)*(?:\s+\"[^\"]*\")?)\)"  # a link's target
    r"|\]\([ \t]*\{\{[<%][^{}\n]*[>%]\}\}[^()\n]*\)"  # ... a Hugo shortcode's: ({{< relref "x" >}} "title")
    r"|\]\[[^\]]*\]"  # a reference link's label
    r"|\\(?=[!-/:-@\[-`{-~]|\r?\n)"  # a backslash escape, or a hard line break
    r"|\{\{[^{}\n]*\}\}"  # a template's expression: "{{ version }}"
    r"|\[![A-Za-z]+\](?=[ \t]*(?:\r?\n|$))"  # a GitHub alert's marker: "> [!NOTE]"
    r"|\{[\w:.-]+\}(?=`)"  # a MyST role's name, as in {func}`name`
    r"|\{:?[ \t]*[#.][\w-][^{}\n]*\}(?=[ \t]*(?:\r?\n|$))"  # an attribute list ending a line
    r"|\[\^[^\]\s]+\]:?"  # a footnote's reference or label: "[^note]"
    r"|\[(?=[^\[\]]*(?:\[[^\[\]]*\][^\[\]]*)*\][(\[])|\](?=[(\[])"  # a link's brackets, not "v[i]"
    r"|`+|~~|(?<!\w)_+|_+(?!\w)|\|"  # asterisks: inline.emphasis_stars
)
_LINE_MARKUP = re.compile(
    r"^[ \t]*(?:#{1,6}(?=\s)|[-*+](?:[ \t]+:)?(?=\s)|\d{1,9}[.)](?=\s)|:(?=\s)|\[[ xX]\](?=\s))"
    r"|[ \t]#+[ \t]*$"  # a closing heading sequence
    r"|^[ \t]*(?:`{3,}|~{3,})\{[^}\n]*\}|^[ \t]*(?:`{3,}|~{3,})[ \t]*$"  # a MyST directive's fences
    r"|^[ \t]*:[\w-]+:(?:[ \t].*)?$"  # a directive's option line
    r"|^[ \t]*(?:[=-]+[ \t]*|[-:|](?=[^\n]*-{3})[-:| \t]*)$",  # a setext underline, a table delimiter row
    re.MULTILINE,
)


@dataclass(frozen=True)
class Part:
    """A region of a Markdown document: ``units`` are the pieces it may be split at (list items,
    code lines, table rows with the header first), ``path`` the headings above it."""

    start: int
    end: int
    kind: str  # "body", "list" (lists and definition lists), "code" or "table"
    path: tuple[str, ...] = ()
    units: tuple[tuple[int, int], ...] = ()
    code: tuple[Part, ...] = ()  # a list's code blocks (kind "code", their lines as units)


@functools.cache
def _parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    return parser.use(front_matter_plugin).use(deflist_plugin)


def line_starts(text: str) -> list[int]:
    """The offset each line starts at, plus ``len(text)`` as the end of the last."""
    return [0, *(match.end() for match in LINE_BREAK.finditer(text)), len(text)]


def _parse_copy(text: str) -> str:
    """The text markdown-it reads: directive lines blanked (inside a code fence only include
    lines; a mkdocstrings "::: name" line with its indented options block), admonition and tab
    bodies dedented by four spaces a level so they parse as Markdown, not as indented code, their
    quoted titles plain lines (escaped: never read as a heading or a list). Lines stay where they
    were."""
    lines = LINE_BREAK.split(text)
    bodies: list[int] = []  # the indentation of each open admonition's or tab's body, outermost first
    fence = ""
    options = -1  # the indentation of a mkdocstrings "::: module.Name" line whose options follow
    for number, raw in enumerate(lines):
        stripped = raw.lstrip(" \t")
        indent = len(raw[: len(raw) - len(stripped)].expandtabs(4))
        if options >= 0 and (not stripped or indent > options):  # its indented YAML options block
            lines[number] = ""
            continue
        options = indent if not fence and _AUTODOC.match(raw) else -1
        if stripped:
            while bodies and indent < bodies[-1]:  # a line less indented than a body ends it
                bodies.pop()
                fence = ""  # and the code fence open in it
        line = " " * max(indent - 4 * len(bodies), 0) + stripped if stripped else ""
        in_code, fence = bool(fence), fence_after(line, fence)
        if not (in_code or fence) and (titled_block := _block_title(line)):
            lines[number] = f"{' ' * (len(line) - len(stripped))}\\{line[titled_block[0] : titled_block[1]]}"
        elif (INCLUDE if in_code else _DIRECTIVE).match(line):
            lines[number] = ""
        elif not (in_code or fence) and _CONTAINER.match(line):  # its title (if any) a line of text
            titled = _CONTAINER_TITLE.match(line)
            own = " " * (len(line) - len(stripped))
            lines[number] = f"{own}\\{titled.group(1)}" if titled else ""
            bodies.append(indent + 4)
        else:
            lines[number] = line
    return "\n".join(lines)


def view(text: str, start: int, end: int, quoted: bool = True) -> str:
    """``text[start:end]`` with its markup replaced by spaces: the same length, offsets kept. An
    inline code span's content is kept as written (``<Tabs>``, ``__main__.py``, ``**kwargs``),
    only its backticks blanked (``inline.code_and_comments``). ``quoted``: blockquote markers
    are read as such (not in a heading's own words: "# >>> usage")."""
    span = unquoted(text[start:end]) if quoted else text[start:end]
    chars = list(span)
    code, comments = code_and_comments(span)
    hidden = sorted(comments + not_text(span, sorted(code + comments)))  # never read
    kept = [*code, *hidden]  # what an HTML code element or TeX inside would not change
    elements = [m.span(1) for m in _HTML_CODE.finditer(span) if not within(sorted(kept), m.start())]
    kept = sorted(kept + elements)
    maths = [
        m.span() for m in _MATH.finditer(span) if not (within(kept, m.start()) or within(kept, m.end() - 1))
    ]
    calls, indexes, shown = indexes_and_macros(span, sorted(kept + maths))
    for call in calls:
        blank(chars, *call)
    code = sorted(code + elements + maths + indexes)  # read as written: code, TeX, "m[i][j]"
    for low, high in hidden:
        blank(chars, low, high)
    for match in _TAG.finditer(span):  # its words that people read kept: <Listing caption="...">
        blank(chars, match.start(), match.end())
        for said in () if within(hidden, match.start()) else _SAID.finditer(span, match.start(), match.end()):
            chars[said.start(1) : said.end(1)] = span[said.start(1) : said.end(1)]
    for line in _LINE.finditer(span):
        if _DIRECTIVE.match(line.group(0)):
            title = _block_title(line.group(0)) or (0, 0)
            blank(chars, line.start(), line.start() + title[0])
            blank(chars, line.start() + title[1], line.end())
        elif _CONTAINER.match(line.group(0)):  # its marker blanked, its title (if any) kept
            titled = _CONTAINER_TITLE.match(line.group(0))
            title = (titled.start(1), titled.end(1)) if titled else (0, 0)
            blank(chars, line.start(), line.start() + title[0])
            blank(chars, line.start() + title[1], line.end())
    escapes = [
        m.start() for m in _ESCAPED.finditer(span) if chars[m.start()] == "\\" and not within(code, m.start())
    ]
    for pattern in (_LINE_MARKUP, _MARKUP):
        for match in pattern.finditer(span):
            blank(chars, match.start(), match.end())
    for low, high in emphasis_stars(span, sorted(code + hidden)):
        blank(chars, low, high)
    for position in escapes:  # "\*" reads as "*": an escaped character is text, only its backslash goes
        chars[position + 1] = span[position + 1]
    for low, high in code + shown:  # a macro's words: its entities read below ("&lt;color&gt;")
        chars[low:high] = span[low:high]
    for low, high in code_fences(span, 0, len(span)):  # a quoted code block: its fence lines not read
        first = span[low:high].split("\n", 1)[0].rstrip("\r")
        directive = _DIRECTIVE_MARK.match(first)  # a MyST directive's fence: its title read
        blank(chars, low, low + (directive.end() if directive else len(first)))
        closing = span.rfind("\n", low, high) + 1
        if closing > low and not fence_after(span[closing:high], fence_after(first, "")):
            blank(chars, closing, high)
    for match in ENTITY.finditer(span):  # "&lt;" read as "<" and three spaces, where it is read
        low, high = match.span()
        character = html.unescape(match.group(0))
        if within(code, low) or "".join(chars[low:high]) != match.group(0) or len(character) != 1:
            continue  # in code it is as written; in a link's target, a tag or a comment, blanked
        if character.isspace() or not character.isprintable():
            character = " "  # "&#10;", "&nbsp;": no line break where the text has none
        chars[low:high] = character + " " * (high - low - 1)
    return "".join(chars)


_DIRECTIVE_MARK = re.compile(r"[ \t]*(?:`{3,}|~{3,})\{[^}\n]*\}")  # a MyST directive fence's marker and name
_FENCE_LINE = re.compile(r"^[ \t]*(?:`{3,}|~{3,})[ \t]*$", re.MULTILINE)


def code_view(text: str, start: int, end: int) -> str:
    """A code block as the model reads it: its lines as written, its fences (with their info
    strings, "```rust,ignore") not; include lines ("{{#include f.rs}}") are markup,
    and so, in a MyST directive fence (```{eval-rst}, ```{code-block} python), are the fences,
    the option lines and the reST directive lines, blanked like ``view``'s; a terminal session's
    colouring HTML is not read (``inline.console_styling``)."""
    span = text[start:end]
    chars = list(span)
    first = span.split("\n", 1)[0]
    if _DIRECTIVE_MARK.match(first):
        blank(chars, 0, len(first))
        for pattern in (_DIRECTIVE_MARKUP, _FENCE_LINE):
            for match in pattern.finditer(span, len(first)):
                blank(chars, match.start(), match.end())
    elif FENCE.match(first):
        blank(chars, 0, len(first))
        last = span.rstrip().rfind("\n") + 1
        if last and _FENCE_LINE.fullmatch(span.rstrip(), last):
            blank(chars, last, len(span.rstrip()))
    for line in _LINE.finditer(span):
        if INCLUDE.match(line.group(0)):
            blank(chars, line.start(), line.end())
    console_styling(chars, span)
    return "".join(chars)


def reading(text: str, found: list[Part]) -> str:
    """What the model reads of a whole document: each part's words (``view``), code as written
    (``code_view``; a list's code blocks too), and everything between parts (markup left out of
    every part) blanked; the same length as ``text``, so every passage's view is a slice of it."""
    chars = [char if char in "\r\n" else " " for char in text]
    for part in found:
        if part.kind == "code":
            chars[part.start : part.end] = code_view(text, part.start, part.end)
            continue
        edges = [part.start, *(edge for code in part.code for edge in (code.start, code.end)), part.end]
        for low, high in zip(edges[::2], edges[1::2], strict=True):  # around a list's code blocks
            chars[low:high] = view(text, low, high)
        for code in part.code:
            chars[code.start : code.end] = code_view(text, code.start, code.end)
    return "".join(chars)


def plain(text: str, quoted: bool = True) -> str:
    """Markup-free words of a short Markdown string (a heading, a title), on one line: inline
    markers go without a trace ("Executing `Future`s" reads "Executing Futures"), other markup
    (a link's target, a tag) as a space. ``quoted``: see ``view`` (a heading's text is not)."""
    seen = view(text, 0, len(text), quoted=quoted)
    return " ".join(
        "".join(s for s, o in zip(seen, text, strict=True) if s != " " or o not in _INLINE).split()
    )


@dataclass(frozen=True)
class _Source:
    """The text, where each of its lines starts, and which lines markdown-it read as blank."""

    text: str
    starts: list[int]
    blank: list[bool]

    def span(self, first: int, last: int) -> tuple[int, int]:
        """Lines ``[first, last)`` as a trimmed character span, blanked directive lines left out."""
        last = min(last, len(self.blank))
        while last > first and self.blank[last - 1]:
            last -= 1
        while first < last and self.blank[first]:
            first += 1
        return trim(self.text, self.starts[first], self.starts[last]) if last > first else (0, 0)


def _table_rows(source: _Source, lines: list[int]) -> tuple[tuple[int, int], ...]:
    """The header line, then each body line; the delimiter row is not a unit."""
    rows = [source.span(n, n + 1) for n in range(*lines)]
    return tuple(row for index, row in enumerate(rows) if index != 1 and row[1] > row[0])


def _code_lines(source: _Source, token: Token) -> Part:
    """A code block's part: its span, and its lines as the units it may be split between."""
    first, last = token.map or (0, 0)
    start, end = source.span(first, last)
    lines = (source.span(n, n + 1) for n in range(first, last))
    return Part(start, end, "code", units=tuple(line for line in lines if line[1] > line[0]))


def _units(
    tokens: list[Token], index: int, source: _Source
) -> tuple[tuple[tuple[int, int], ...], tuple[Part, ...]]:
    """The items of the list opened at ``tokens[index]`` (its own list items, or for a definition
    list each term with its descriptions, from one term's first line to the next's), and the code
    blocks inside them (not those quoted inside them: a quote's lines open with its markers)."""
    level = tokens[index].level + 1
    opened = "dt_open" if tokens[index].type == "dl_open" else "list_item_open"
    lines: list[int] = []
    code: list[Part] = []
    quoted = 0
    for position in range(index + 1, len(tokens)):  # not a slice: that would copy the rest per list
        token = tokens[position]
        if token.level < level:
            break
        if token.type == opened and token.level == level and token.map:
            lines.append(token.map[0])
        quoted += {"blockquote_open": 1, "blockquote_close": -1}.get(token.type, 0)
        if token.type in ("fence", "code_block") and token.map and not quoted and not _directive(token):
            code.append(_code_lines(source, token))
    whole = tokens[index].map
    ends = [*lines[1:], whole[1] if whole else len(source.blank)]
    items = [source.span(first, end) for first, end in zip(lines, ends, strict=True)]
    return tuple(item for item in items if item[1] > item[0]), tuple(part for part in code if part.units)


def _navigation(tokens: list[Token], index: int) -> bool:
    """Whether the list opened at ``tokens[index]`` is nothing but links to the site's own pages
    (a book's table of contents, a page's menu): no words outside its links, no link off the
    site (a list of other projects' links names them, which a question may ask for)."""
    level = tokens[index].level
    for position in range(index + 1, len(tokens)):
        token = tokens[position]
        if token.level <= level:
            return True
        if token.type in ("fence", "code_block", "html_block", "table_open"):
            return False
        depth = 0
        for child in token.children or () if token.type == "inline" else ():
            depth += {"link_open": 1, "link_close": -1}.get(child.type, 0)
            local = child.type != "link_open" or not OFF_SITE.match(str(child.attrs.get("href", "")))
            outside = child.type not in ("link_open", "link_close", "softbreak") and not depth
            if not local or (
                outside and (child.type != "text" or without_macros(child.content).strip(_SEPARATORS))
            ):
                return False
    return True


def _has_words(text: str, start: int, end: int) -> bool:
    return bool(view(text, start, end).strip())


def _directive(token: Token) -> str:
    """The name of the MyST directive a fence opens ("note" for ```{note}), else ""."""
    info = token.info.strip()
    return info[1 : info.index("}")].strip().lower() if info.startswith("{") and "}" in info else ""


def parts(text: str) -> tuple[list[Part], list[str]]:
    """The parts of a Markdown ``text`` in order, and the headings (markup removed) in order."""
    copy = _parse_copy(text)
    tokens = _parser().parse(copy)
    source = _Source(text, line_starts(text), [not line.strip() for line in copy.split("\n")])
    path: list[tuple[int, str]] = []
    found: list[Part] = []
    headings: list[str] = []
    for index, token in enumerate(tokens):
        if token.level != 0 or token.nesting == -1 or not token.map:
            continue
        start, end = source.span(*token.map)
        if end <= start:
            continue
        kind = token.type
        if kind == "heading_open":
            title = plain(tokens[index + 1].content, quoted=False)
            if title:
                depth = int(token.tag[1:])
                path = [(level, name) for level, name in path if level < depth] + [(depth, title)]
                headings.append(title)
            continue
        here = tuple(name for _, name in path)
        if kind == "fence" and not token.content.strip():
            continue  # a fence of nothing but include lines (blanked in the copy), or empty
        directive = _directive(token) if kind == "fence" else ""
        if directive and not _DIRECTIVE_MARKUP.sub("", token.content).strip():
            continue  # a directive without a body: a table of contents, a module marker
        if directive in _PROSE_DIRECTIVES:
            found.append(Part(start, end, "body", here))
        elif kind in ("fence", "code_block"):
            found.append(replace(_code_lines(source, token), path=here))
        elif kind == "table_open":
            found.append(Part(start, end, "table", here, _table_rows(source, token.map)))
        elif kind in ("bullet_list_open", "ordered_list_open", "paragraph_open") and _navigation(
            tokens, index
        ):
            continue  # navigation: what the links lead to is the text, not their names
        elif kind in ("bullet_list_open", "ordered_list_open", "dl_open"):
            items, code = _units(tokens, index, source)
            found.append(Part(start, end, "list", here, items, code))
        elif kind in ("paragraph_open", "blockquote_open", "html_block") and _has_words(text, start, end):
            found.append(Part(start, end, "body", here))
    return found, headings


def title(text: str, body_start: int = 0) -> str:
    """The first heading, else the first line of prose; markup removed, never a comment."""
    found, headings = parts(text)
    if headings:
        return headings[0][:200]
    for part in found:
        if part.start >= body_start and part.kind in ("body", "list"):
            for line in view(text, part.start, part.end).splitlines():
                if line.strip():
                    return " ".join(line.split())[:200]
    return ""
