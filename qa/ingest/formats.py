"""Parsers by format: the bytes of a file and its name to a ``Document``.

Each parser is a ``qa.core.protocols.Parser``; ``PARSERS`` maps a file suffix to one, and the
manifest records the name and version of each so that an index says how it was made.
"""

from __future__ import annotations

import io
import logging
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from qa.core.errors import DocumentError
from qa.core.protocols import Parser
from qa.core.types import Document
from qa.ingest import (
    emails,
    epub,
    html,
    markdown,
    mdx,
    notebooks,
    pdf,
    plaintext,
    renderers,
    slides,
    spreadsheets,
    terminal,
)

# keys the pipeline itself sets; "layout" is the one a file may set (front matter "layout: plain")
RESERVED_METADATA = frozenset(
    {"title", "page_starts", "body_start", "structure", "furniture", "pdf_headings"}
)
MARKDOWN = {"structure": "markdown"}  # passages follow the Markdown structure (qa.ingest.markdown)
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


def split_front_matter(text: str) -> tuple[dict[str, str], int]:
    """Front matter fields and the offset where the body starts (0 when there is none)."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, 0
    fields: dict[str, str] = {}
    for line in match.group(1).splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            fields[key.strip().lower()] = value.strip().strip("\"'")
    return fields, match.end()


def title_from_text(text: str, start: int = 0) -> str:
    """The first line with words, as a terminal shows it (control sequences left out)."""
    for line in text[start:].splitlines():
        stripped = terminal.visible(line).strip().lstrip("#").strip()
        if stripped:
            return stripped[:200]
    return ""


def parse_text(doc_id: str, text: str, structure: dict[str, str] | None = None, title: str = "") -> Document:
    """Plain text and Markdown, as written: the text is the file's own, front matter included.

    The title is ``title`` when given (what a renderer knows), else the front matter's
    ``title``, else (Markdown) the first heading or the first line of prose with its markup
    removed, else (plain text) the first line that is no furniture (``plaintext.title``). A plain
    text's pages, furniture and headings are found too (``plaintext.analyse``)."""
    fields, body_start = split_front_matter(text)
    # plain text: its pages, their furniture and its headings
    found, set_out = ({}, False) if structure else plaintext.analyse(text)
    if not title:  # a given title spares reading the text for one (a parse of all of it)
        first = (
            markdown.title(text, body_start)
            if structure
            else plaintext.title(
                text, body_start, found.get("furniture", []), found.get("pdf_headings", []), set_out
            )
        )
        title = fields.get("title") or first
    title = title or doc_id
    # keys the pipeline itself sets are not taken from the file
    metadata: dict[str, Any] = {k: v for k, v in fields.items() if k not in RESERVED_METADATA}
    metadata.update(structure or {})
    if body_start:
        metadata["body_start"] = body_start
    metadata.update(found)
    return Document(doc_id=doc_id, title=title, text=text, metadata=metadata)


def parse_html(doc_id: str, raw: bytes) -> Document:
    """A page by its structure, rendered to Markdown (``html.render_html``), unless its markup
    marks it as an article (``html.is_article``): then the main text trafilatura extracts, under
    its title, byline and date. Trafilatura reads dates from markup only (``extensive_search``
    off), so a copyright year in the text is never a date."""
    tree = html.parse_tree(doc_id, raw)
    if not html.is_article(tree):  # a page of its own structure: no guessed byline or date
        rendered, page_title = html.render_html(doc_id, tree)
        if rendered.strip():
            document = parse_text(doc_id, rendered, MARKDOWN)
            title = page_title or document.title
            return replace(document, title=title, metadata={**document.metadata, **html.metadata(tree)})
    return _article(doc_id, raw)


def _article(doc_id: str, raw: bytes) -> Document:
    import trafilatura  # heavy import kept to the one place that needs it

    try:
        extracted = trafilatura.bare_extraction(
            raw.decode("utf-8", errors="replace"),
            include_comments=False,
            with_metadata=True,
            date_extraction_params={"extensive_search": False, "original_date": True},
        )
    except Exception as error:  # a parser failure on odd markup is a bad document, not a crash
        raise DocumentError(f"{doc_id}: the HTML could not be parsed ({type(error).__name__})") from error
    if extracted is None:
        raise DocumentError(f"{doc_id}: no main text found in the HTML")
    data = extracted.as_dict() if hasattr(extracted, "as_dict") else dict(extracted)
    text = data.get("text") or ""
    if not text.strip():
        raise DocumentError(f"{doc_id}: no main text found in the HTML")
    metadata = {
        key: data[key]
        for key in ("author", "date", "sitename", "hostname", "url", "description")
        if data.get(key)
    }
    title = str(data.get("title") or title_from_text(text) or doc_id)
    # the page's own header, rendered as text, so a byline/date passage can cite it
    byline = f"By {metadata['author']}" if "author" in metadata else ""
    header = [title, byline, str(metadata.get("date", ""))]
    text = "\n\n".join(part for part in header if part) + "\n\n" + text
    return Document(doc_id=doc_id, title=title, text=text, metadata=metadata)


def parse_pdf(doc_id: str, data: bytes) -> Document:
    from pypdf import PdfReader  # heavy import kept to the one place that needs it

    try:
        reader = PdfReader(io.BytesIO(data))
        pages, sizes = [], []
        for page in reader.pages:
            runs: list[tuple[str, float, bool]] = []
            pages.append((page.extract_text(visitor_text=_run_sizes(runs)) or "").translate(pdf.LIGATURES))
            sizes.append(pdf.line_sizes(runs))
        info: Any = reader.metadata or {}
    except Exception as error:  # pypdf raises many types on malformed or encrypted files
        raise DocumentError(f"{doc_id}: not a readable PDF ({type(error).__name__}: {error})") from error
    page_starts: list[int] = []
    parts: list[str] = []
    offset = 0
    for page_text in pages:
        page_starts.append(offset)
        parts.append(page_text)
        offset += len(page_text) + 2
    text = "\n\n".join(parts)
    if not text.strip():
        raise DocumentError(f"{doc_id}: the PDF has no extractable text")
    title = str(info.get("/Title") or "") or title_from_text(text) or doc_id
    furniture = pdf.furniture(text, page_starts)
    metadata: dict[str, Any] = {"page_starts": page_starts, "furniture": furniture}
    if found := pdf.headings(text, page_starts, sizes, furniture):
        metadata["pdf_headings"] = found
    if info.get("/Author"):
        metadata["author"] = str(info["/Author"])
    return Document(doc_id=doc_id, title=title, text=text, metadata=metadata)


def _run_sizes(runs: list[tuple[str, float, bool]]) -> Any:
    """A pypdf text visitor that appends each run's text, its type size as set on the page (the
    font size scaled by the text and page matrices' vertical scale) and whether its font is bold."""

    def visit(text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        scale = math.hypot(tm[2], tm[3]) * math.hypot(cm[2], cm[3])
        runs.append((text, float(size) * (scale or 1.0), pdf.bold(font)))

    return visit


def decode_text(doc_id: str, raw: bytes) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DocumentError(f"{doc_id}: not valid UTF-8 (byte {error.start})") from error
    return text.removeprefix("\ufeff")


@dataclass(frozen=True)
class TextParser:
    """.txt: the file's text, character for character; its pages, their furniture, its headings
    and its title found (``qa.ingest.plaintext``), its terminal escape sequences not read
    (``qa.ingest.terminal``)."""

    name: str = "text"
    version: int = 3  # 3: pages by form feeds, furniture, headings, titles, escape sequences

    def parse(self, doc_id: str, data: bytes) -> Document:
        return parse_text(doc_id, decode_text(doc_id, data))


@dataclass(frozen=True)
class MarkdownParser:
    """.md: the file's text, character for character, read by its Markdown structure."""

    name: str = "markdown-it"
    version: int = 1

    def parse(self, doc_id: str, data: bytes) -> Document:
        return parse_text(doc_id, decode_text(doc_id, data), MARKDOWN)


@dataclass(frozen=True)
class MdxParser:
    """.mdx: Markdown with JSX (Docusaurus, Nextra, Starlight): its import and export statements
    and JSX comments left out (``mdx.render_mdx``, lines kept), then read as Markdown."""

    name: str = "mdx-markdown-it"
    version: int = 1

    def parse(self, doc_id: str, data: bytes) -> Document:
        return parse_text(doc_id, mdx.render_mdx(decode_text(doc_id, data)), MARKDOWN)


@dataclass(frozen=True)
class HtmlParser:
    """.html: an article (its markup names an author or a publication date) as the main text
    trafilatura extracts, under its title, byline and date; any other page by its structure,
    rendered to Markdown (``qa.ingest.html``)."""

    name: str = "html-trafilatura-or-structure"
    version: int = 4  # 4: a list of links beside their section or page numbers is navigation

    def parse(self, doc_id: str, data: bytes) -> Document:
        return parse_html(doc_id, data)


@dataclass(frozen=True)
class PdfParser:
    """.pdf: each page's text (pypdf), pages joined by blank lines, page starts kept; running
    headers, footers, page labels, contents and index lines marked as furniture, headings found
    by type size (``qa.ingest.pdf``)."""

    name: str = "pdf-pypdf"
    # 3: page labels and chapters' running headers are furniture; 4: headings by type size;
    # 5: ligatures spelled out, contents entries without leaders, bold lines as headings
    version: int = 5

    def parse(self, doc_id: str, data: bytes) -> Document:
        return parse_pdf(doc_id, data)


def _rendered(doc_id: str, text: str, title: str) -> Document:
    return parse_text(doc_id, text, MARKDOWN, title)


def _paged(doc_id: str, text: str, title: str, starts: list[int]) -> Document:
    """A rendered document whose pages (slides, sheets) start at ``starts``: its citations name them."""
    document = _rendered(doc_id, text, title)
    return replace(document, metadata={**document.metadata, "page_starts": starts})


@dataclass(frozen=True)
class DocxParser:
    """.docx: headings, paragraphs, lists and tables (python-docx), rendered to Markdown."""

    name: str = "docx-python-docx"
    version: int = 3  # 2: a paragraph in bold throughout, short and no sentence, is a heading;
    # 3: text that looks like markup ("<Enter>", a backtick) escaped, read as written

    def parse(self, doc_id: str, data: bytes) -> Document:
        return _rendered(doc_id, *renderers.render_docx(doc_id, data))


@dataclass(frozen=True)
class RstParser:
    """.rst: reStructuredText (docutils) rendered to Markdown; Sphinx-only directives left out."""

    name: str = "rst-docutils"
    version: int = 6  # 2: admonition and topic titles as text; 3: Sphinx directives' options, code, names;
    # 4: include, raw and domain module markers no text, an option's value wrapped onto more lines one;
    # 5: roles as Sphinx shows them (a :doc: path keeps its ".."), version notes with Sphinx's labels,
    # autodoc directives with no prose under them no text; 6: text that looks like a tag is a code span

    def parse(self, doc_id: str, data: bytes) -> Document:
        return _rendered(doc_id, *renderers.render_rst(doc_id, decode_text(doc_id, data)))


@dataclass(frozen=True)
class NotebookParser:
    """.ipynb: Markdown cells as written, code cells as fenced code, each followed by its text
    output (the nbformat JSON; ``qa.ingest.notebooks``)."""

    name: str = "ipynb-json"
    version: int = 2  # 2: code cells' text outputs

    def parse(self, doc_id: str, data: bytes) -> Document:
        return _rendered(doc_id, notebooks.render_notebook(doc_id, data), "")


@dataclass(frozen=True)
class EpubParser:
    """.epub: the chapters in reading order, each read as an HTML page by its structure
    (``qa.ingest.epub``), under the book's title; its author and language kept."""

    name: str = "epub-html"
    version: int = 1

    def parse(self, doc_id: str, data: bytes) -> Document:
        text, title, found = epub.render_epub(doc_id, data)
        document = _rendered(doc_id, text, title)
        return replace(document, metadata={**found, **document.metadata})


@dataclass(frozen=True)
class PptxParser:
    """.pptx: a section a slide under its title, the slide's number its citations' page,
    text, code, tables and speaker notes (python-pptx; ``qa.ingest.slides``)."""

    name: str = "pptx-python-pptx"
    version: int = 1

    def parse(self, doc_id: str, data: bytes) -> Document:
        return _paged(doc_id, *slides.render_pptx(doc_id, data))


@dataclass(frozen=True)
class XlsxParser:
    """.xlsx: a section a worksheet under its name, its place among the worksheets its citations'
    page, its cells one table as Excel shows them (openpyxl; ``qa.ingest.spreadsheets``)."""

    name: str = "xlsx-openpyxl"
    version: int = 1

    def parse(self, doc_id: str, data: bytes) -> Document:
        return _paged(doc_id, *spreadsheets.render_xlsx(doc_id, data))


@dataclass(frozen=True)
class EmlParser:
    """.eml: a saved e-mail message, its From, To, Cc and Date lines and every text part that is no
    attachment (of alternatives the plain text, else the HTML by its structure), titled by its
    subject, its attachments named (Python's ``email``; ``qa.ingest.emails``)."""

    name: str = "eml-email"
    version: int = 1

    def parse(self, doc_id: str, data: bytes) -> Document:
        text, title, markdown_body = emails.render_eml(doc_id, data)
        return parse_text(doc_id, text, MARKDOWN if markdown_body else None, title or Path(doc_id).stem)


@dataclass(frozen=True)
class CsvParser:
    """.csv and .tsv: the rows as one table, the first the header (``renderers.render_csv``),
    titled by the file's name; the separator guessed for .csv, a tab for .tsv."""

    name: str = "csv-stdlib"
    version: int = 1
    delimiter: str | None = None

    def parse(self, doc_id: str, data: bytes) -> Document:
        text = renderers.render_csv(doc_id, decode_text(doc_id, data), self.delimiter)
        return _rendered(doc_id, text, Path(doc_id).stem)


PARSERS: dict[str, Parser] = {
    ".txt": TextParser(),
    ".md": MarkdownParser(),
    ".markdown": MarkdownParser(),
    ".mdx": MdxParser(),
    ".html": HtmlParser(),
    ".htm": HtmlParser(),
    ".pdf": PdfParser(),
    ".docx": DocxParser(),
    ".rst": RstParser(),
    ".ipynb": NotebookParser(),
    ".epub": EpubParser(),
    ".pptx": PptxParser(),
    ".xlsx": XlsxParser(),
    ".eml": EmlParser(),
    ".csv": CsvParser(),
    ".tsv": CsvParser(delimiter="\t"),
}
SUPPORTED_SUFFIXES = frozenset(PARSERS)


def parse(doc_id: str, data: bytes, suffix: str) -> Document:
    """``data`` parsed by the parser of ``suffix``; DocumentError for an unsupported one, and for
    any failure of a parser's library on odd input (the file is skipped with that reason, an
    upload refused; the traceback goes to the debug log)."""
    parser = PARSERS.get(suffix.lower())
    if parser is None:
        raise DocumentError(f"{doc_id}: {suffix or 'no suffix'} is not a supported format")
    try:
        return parser.parse(doc_id, data)
    except DocumentError:
        raise
    except Exception as error:  # a library's own error on a file it cannot read
        logging.getLogger(__name__).debug("%s could not be parsed", doc_id, exc_info=True)
        raise DocumentError(
            f"{doc_id}: could not be read as {suffix.lower()} ({type(error).__name__})"
        ) from error


def load_file(path: Path, doc_id: str) -> Document:
    return parse(doc_id, path.read_bytes(), path.suffix)


def components() -> dict[str, str]:
    """Suffix -> parser name and version, as the manifest records them."""
    return {suffix: f"{parser.name}/{parser.version}" for suffix, parser in sorted(PARSERS.items())}
