"""HTML pages read by their structure (lxml) and rendered to Markdown, the text their citations index.

``render_html`` writes a page's main element (``role="main"``, else ``<main>``, else
``<article>``, else ``<body>``) as Markdown: headings as ``#`` lines, paragraphs, lists, definition
lists (``term`` / ``: description``), data tables as pipe tables, ``<pre>`` as fenced blocks, and
``<code>``/``<tt>``/``<kbd>``/``<samp>`` as code spans, whose characters the Markdown reader keeps as
written. Other text is escaped where it would change how the Markdown reads (a backtick, a line
that would open a list, heading, fence or thematic break; a run that reads as a tag, "<string>",
becomes a code span); a ``<br>`` is a line break. Left out: navigation,
headers, footers, asides, forms and their controls, scripts, hidden elements, permalink anchors
(an in-page link whose text has no word, such as a heading's "¶" or "#"), and blocks that are only
links within the site (a skip link, a table of contents, a "Next: …, Up: …" line), with the
container that held them when only a short caption is left in it, and a ``<pre>`` of line numbers.
A table of one row, or whose cells hold blocks (two paragraphs, lists, code, other tables), lays
the page out: its cells are read as containers, in order, and a nested table's rows never join the
outer one. Bytes that decode as UTF-8 are read as UTF-8, whatever the page declares.

``is_article`` tells a news or blog article by its explicit markup (``og:type`` article, a
publication date in the page's metadata, ``itemprop``, or a ``<time>`` in an ``<article>``,
with an author or an ``<article>``): such a page is read by trafilatura instead
(``qa.ingest.formats.parse_html``), a documentation page never (a copyright year is no date).
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

from qa.core.errors import DocumentError
from qa.ingest.escaping import LINE_START, code_span, escape
from qa.ingest.escaping import words as _words
from qa.ingest.markdown import OFF_SITE
from qa.ingest.renderers import fence, pipe_table

HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
BLOCK_TAGS = HEADINGS | frozenset(
    {"p", "div", "section", "article", "main", "pre", "ul", "ol", "dl", "table", "blockquote", "body"}
    | {"li", "dd", "dt", "hr", "center", "figure", "figcaption", "address", "html", "details", "summary"}
    | {"tr", "td", "th", "thead", "tbody", "tfoot", "caption", "fieldset", "legend", "menu", "dialog"}
)
SKIPPED_TAGS = frozenset(
    {"script", "style", "nav", "footer", "form", "noscript", "head", "template"}
    | {"button", "input", "select", "textarea", "option", "iframe", "object", "canvas", "svg", "dialog"}
)
_SECTION_PARTS = frozenset({"header", "aside"})  # left out unless within one of these:
_SECTIONING = frozenset({"article", "main", "section"})
SKIPPED_ROLES = frozenset({"navigation", "banner", "contentinfo", "search", "complementary", "button"})
CODE_TAGS = frozenset({"code", "tt", "kbd", "samp"})
# a table is data when no cell holds one of these, nor two paragraphs; otherwise it lays the page out
_LAYOUT_CONTENT = HEADINGS | frozenset({"pre", "ul", "ol", "dl", "table", "blockquote", "section", "form"})
_WORD = re.compile(r"\w")
_NUMBER = re.compile(r"\d{1,4}(?:\.\d{1,4})*\.?$")  # a section or page number beside a contents entry
_CAPTION_WORDS = 5
_ANY_TAG = re.compile(rb"<[A-Za-z!/]")
_XML_DECLARATION = re.compile(r"\A\ufeff?\s*<\?xml[^>]*\?>")  # lxml refuses one in a str
_DATE_KEYS = ("date", "dc.date", "dc.date.issued", "dcterms.date", "dcterms.created", "datepublished")


def _tag(element: Any) -> str:
    return element.tag if isinstance(element.tag, str) else ""


def _local_link(element: Any) -> bool:
    href = element.get("href")
    return href is not None and not OFF_SITE.match(href.strip())


def _skipped(element: Any) -> bool:
    tag = _tag(element)
    if tag in SKIPPED_TAGS or str(element.get("role") or "") in SKIPPED_ROLES:
        return True
    if element.get("hidden") is not None or str(element.get("aria-hidden") or "") == "true":
        return True
    if tag in _SECTION_PARTS:  # the page's own header or aside, not one of an article or section
        return not any(_tag(up) in _SECTIONING or up.get("role") == "main" for up in element.iterancestors())
    # a permalink: an in-page link whose text has no word ("¶", "#", "§", an icon)
    href = str(element.get("href") or "")
    return tag == "a" and href.startswith("#") and not _WORD.search(element.text_content())


def _pre_text(element: Any, out: list[str]) -> None:
    """A ``<pre>``'s text as written: a ``<br>`` a line break, block-level children on lines of their own."""
    out.append(element.text or "")
    for child in element:
        tag = _tag(child)
        if tag == "br":
            out.append("\n")
        elif tag and not _skipped(child):
            if (tag in BLOCK_TAGS or tag in CODE_TAGS) and not _ends_line(out):
                out.append("\n")  # two <code> or <div> lines of one <pre> are two lines
            _pre_text(child, out)
        out.append(child.tail or "")


def _ends_line(out: list[str]) -> bool:
    """Whether the text so far ends a line (or is empty)."""
    last = next((piece for piece in reversed(out) if piece), "")
    return not last or last.endswith("\n")


class _Renderer:
    def __init__(self, root: Any) -> None:
        self.dropped = 0  # navigation blocks left out so far
        self.holds_blocks: set[Any] = set()  # elements with a block among their descendants
        for element in root.iter():
            if _tag(element) in BLOCK_TAGS and element is not root:
                parent = element.getparent()
                while parent is not None and parent not in self.holds_blocks:
                    self.holds_blocks.add(parent)
                    parent = parent.getparent()

    def is_block(self, element: Any) -> bool:
        return _tag(element) in BLOCK_TAGS or element in self.holds_blocks

    # inline

    def inline(self, element: Any, out: list[str]) -> None:
        """Markdown of an element's inline content, appended to ``out`` ("\\n" for a line break)."""
        out.append(escape(element.text or ""))
        for child in element:
            tag = _tag(child)
            if tag == "br":
                out.append("\n")
            elif tag in CODE_TAGS and not _skipped(child):
                out.append(code_span(child.text_content()))
            elif tag and not _skipped(child):
                block = tag in BLOCK_TAGS  # a block flattened into one line keeps a break around it
                out.append("\n" if block else "")
                self.inline(child, out)
                out.append("\n" if block else "")
            out.append(escape(child.tail or ""))

    @staticmethod
    def paragraph(pieces: list[str]) -> str:
        lines = [_words(line) for line in "".join(pieces).split("\n")]
        kept = []
        for line in lines:
            if line:
                kept.append("\\" + line if LINE_START.match(line) else line)
        return "\n".join(kept)

    def one_line(self, element: Any) -> str:
        pieces: list[str] = []
        self.inline(element, pieces)
        return _words(" ".join("".join(pieces).split("\n")))

    # navigation

    @staticmethod
    def _outside_links(element: Any, outside: list[str], links: list[Any]) -> None:
        if _tag(element) == "a" and element.get("href") is not None:
            links.append(element)
            return
        outside.append(element.text or "")
        for child in element:
            if _tag(child) and not _skipped(child):
                _Renderer._outside_links(child, outside, links)
            outside.append(child.tail or "")

    @staticmethod
    def navigation(texts: list[str], links: list[Any], numbered: bool = False) -> bool:
        """Whether content is only links within the site: no words outside them but labels
        ("Next:") and separators, and in a ``numbered`` list (a contents page) at most one section
        or page number a link ("1.2.15")."""
        if not links or not all(_local_link(link) for link in links):
            return False
        tokens = [
            token for token in " ".join(texts).split() if token.endswith(":") or not _WORD.search(token)
        ]
        numbers = [token for token in " ".join(texts).split() if numbered and _NUMBER.match(token)]
        return len(tokens) + len(numbers) == len(" ".join(texts).split()) and len(numbers) <= len(links)

    def is_navigation(self, element: Any) -> bool:
        outside: list[str] = []
        links: list[Any] = []
        self._outside_links(element, outside, links)
        return self.navigation(outside, links, numbered=_tag(element) in ("ul", "ol", "menu"))

    # blocks

    def children(self, element: Any) -> list[str]:
        """Blocks of a container: its block children, and the loose inline content between them
        as paragraphs (one that is only links within the site left out). A container that held
        navigation and keeps only a short line besides (a table of contents and its caption) is
        left out whole."""
        dropped = self.dropped
        blocks: list[str] = []
        pieces: list[str] = [escape(element.text or "")]
        outside: list[str] = [element.text or ""]
        links: list[Any] = []

        def flush() -> None:
            text = self.paragraph(pieces)
            if self.navigation(outside, links):  # links alone, with words or only images
                self.dropped += 1
            elif text:
                blocks.append(text)
            pieces.clear()
            outside.clear()
            links.clear()

        for child in element:
            tag = _tag(child)
            if tag and _skipped(child):
                if tag in BLOCK_TAGS | _SECTION_PARTS or tag in SKIPPED_TAGS - {
                    "button",
                    "input",
                    "select",
                    "textarea",
                }:
                    flush()
            elif tag and self.is_block(child):
                flush()
                blocks.extend(self.blocks(child))
            elif tag == "br":
                pieces.append("\n")
            elif tag in CODE_TAGS:
                pieces.append(code_span(child.text_content()))
                outside.append(child.text_content())
            elif tag:
                self.inline(child, pieces)
                self._outside_links(child, outside, links)
            pieces.append(escape(child.tail or ""))
            outside.append(child.tail or "")
        flush()
        if self.dropped > dropped and len(blocks) == 1 and _caption(blocks[0]):
            return []
        return blocks

    def body(self, element: Any) -> str:
        return "\n\n".join(self.children(element))

    def blocks(self, element: Any) -> list[str]:
        tag = _tag(element)
        if tag in HEADINGS:
            words = self.one_line(element)
            return [f"{'#' * int(tag[1])} {words}"] if words else []
        if tag == "pre":
            out: list[str] = []
            _pre_text(element, out)
            code = "".join(out)
            return [fence(code.strip("\n"))] if code.strip() and not _line_numbers(code) else []
        if tag in ("ul", "ol", "menu", "dl", "table") and self.is_navigation(element):
            self.dropped += 1
            return []
        if tag in ("ul", "ol", "menu"):
            bodies = [body for item in element if _tag(item) == "li" and (body := self.body(item))]
            first = int(element.get("start")) if str(element.get("start") or "").isdigit() else 1
            markers = [f"{first + n}. " if tag == "ol" else "- " for n in range(len(bodies))]
            items = [
                mark + textwrap.indent(body, " " * len(mark)).lstrip()
                for mark, body in zip(markers, bodies, strict=True)
            ]
            return ["\n".join(items)] if items else []
        if tag == "dl":
            return self.definitions(element)
        if tag == "table":
            return self.table(element)
        if tag == "hr":
            return []
        return self.children(element)

    def definitions(self, element: Any) -> list[str]:
        entries: list[str] = []
        for child in element:
            tag = _tag(child)
            if tag == "dt":
                entries.append(self.one_line(child))
            elif tag == "dd":
                body = self.body(child)
                if not entries or entries[-1].startswith(": ") or "\n: " in entries[-1]:
                    entries.append("")
                entries[-1] += "\n: " + textwrap.indent(body, "  ").lstrip()
            elif tag == "div":  # HTML allows a <div> around each term and its descriptions
                entries.extend(self.definitions(child))
        text = "\n\n".join(entry.strip("\n") for entry in entries if entry.strip())
        return [text] if text else []

    def table(self, element: Any) -> list[str]:
        rows = _rows(element)
        cells = [cell for row in rows for cell in row]
        texts = [[self.one_line(cell) for cell in row] for row in rows]
        texts = [row for row in texts if any(row)]
        if len(texts) < 2 or any(_lays_out(cell) for cell in cells):  # a layout table, or a bar
            return [block for cell in cells for block in self.children(cell)]
        caption = element.find("caption")
        found = [self.one_line(caption)] if caption is not None and self.one_line(caption) else []
        return [*found, pipe_table(texts)] if texts else found


def _lays_out(cell: Any) -> bool:
    """Whether a table cell holds a page's blocks (a heading, a list, code, another table, two
    paragraphs) rather than one value."""
    if any(_tag(inner) in _LAYOUT_CONTENT for inner in cell.iterdescendants()):
        return True
    return sum(_tag(child) in BLOCK_TAGS for child in cell) > 1


def _line_numbers(code: str) -> bool:
    """Whether a ``<pre>`` holds only a code block's line numbers (1, 2, 3, … in a cell beside it)."""
    words = code.split()
    if len(words) < 2 or not words[0].isdigit():
        return False
    first = int(words[0])
    return all(word == str(first + n) for n, word in enumerate(words))


def _caption(block: str) -> bool:
    """Whether a block is a short line that only names what follows (no heading, no sentence)."""
    return "\n" not in block and not block.startswith("#") and len(block.split()) <= _CAPTION_WORDS


def _rows(table: Any) -> list[list[Any]]:
    """The cells of a table's own rows (in ``<thead>``/``<tbody>``/``<tfoot>`` or directly), never
    those of a table nested in a cell."""
    rows = []
    for child in table:
        for row in [child] if _tag(child) == "tr" else [r for r in child if _tag(r) == "tr"]:
            if _tag(child) in ("tr", "thead", "tbody", "tfoot"):
                rows.append([cell for cell in row if _tag(cell) in ("td", "th")])
    return rows


def parse_tree(doc_id: str, raw: bytes) -> Any:
    """The page's element tree; a ``DocumentError`` for bytes that are no HTML (binary, or text
    without a single tag)."""
    import lxml.html

    if b"\x00" in raw or not _ANY_TAG.search(raw):
        raise DocumentError(f"{doc_id}: no main text found in the HTML (not HTML: binary, or no tag)")
    try:  # UTF-8 when it decodes as such, whatever the page declares; else the declared charset
        page: str | bytes = _XML_DECLARATION.sub("", raw.decode("utf-8"), count=1)
    except UnicodeDecodeError:
        page = raw
    try:
        return lxml.html.document_fromstring(page)
    except Exception as error:  # lxml raises its own types on empty or binary input
        raise DocumentError(f"{doc_id}: the HTML could not be parsed ({type(error).__name__})") from error


def _meta(tree: Any) -> dict[str, str]:
    found: dict[str, str] = {}
    for meta in tree.iter("meta"):
        key = str(meta.get("property") or meta.get("name") or meta.get("itemprop") or "").strip().lower()
        if key and meta.get("content"):
            found.setdefault(key, str(meta.get("content")).strip())
    return found


def is_article(tree: Any) -> bool:
    """Whether the page marks itself as an article: ``og:type`` article, or a publication date in
    its markup (a ``<meta>`` date, ``itemprop="datePublished"``, a ``<time datetime>`` in an
    ``<article>``) with an author (``<meta name="author">``, ``rel``/``itemprop`` author) or an
    ``<article>`` element. A date written in the text (a copyright line) is no such mark."""
    meta = _meta(tree)
    if meta.get("og:type", "").lower() == "article" or "article:published_time" in meta:
        return True
    dated = any(key in meta for key in _DATE_KEYS)
    dated = dated or bool(tree.xpath("//*[@itemprop='datePublished'] | //article//time[@datetime]"))
    authored = "author" in meta or bool(tree.xpath("//*[@rel='author'] | //*[@itemprop='author']"))
    return dated and (authored or bool(tree.xpath("//article")))


def metadata(tree: Any) -> dict[str, str]:
    """What a page's markup says of it: its author, description, site name and address."""
    meta = _meta(tree)
    found = {
        "author": meta.get("author", ""),
        "description": meta.get("description") or meta.get("og:description", ""),
        "sitename": meta.get("og:site_name", ""),
        "url": meta.get("og:url") or next(iter(tree.xpath("//link[@rel='canonical']/@href")), ""),
    }
    return {key: str(value).strip() for key, value in found.items() if str(value).strip()}


def render_html(doc_id: str, raw: bytes | Any) -> tuple[str, str]:
    """(Markdown text, title) of an HTML page (bytes, or a tree from ``parse_tree``)."""
    tree = parse_tree(doc_id, raw) if isinstance(raw, bytes) else raw
    found = tree.xpath("//*[@role='main']") or tree.xpath("//main") or tree.xpath("//article")
    main = next(iter(found or tree.xpath("//body") or [tree]))
    title = _words(next(iter(tree.xpath("//title/text()")), ""))
    body = "\n\n".join(block for block in _Renderer(main).blocks(main) if block.strip())
    return body + "\n", title
