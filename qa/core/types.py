"""Documents and passages, and loading a corpus folder into documents.

A document's ``text`` is the exact text that citations index into: for .txt and .md files it
is the file's own text, character for character (non-breaking spaces, curly quotes and CRLF
included); for HTML it is the main text trafilatura extracts; for PDF the pages' text joined by
blank lines, with each page's start offset kept in ``metadata["page_starts"]``.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES

RESERVED_METADATA = frozenset({"title", "layout", "page_starts", "body_start"})
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


@dataclass(frozen=True)
class Document:
    doc_id: str
    title: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @functools.cached_property
    def content_hash(self) -> str:  # hashed once: builds, duplicate checks and fingerprints all ask
        return content_hash(self.text)


@dataclass(frozen=True)
class Passage:
    """A span of a document. ``text == document.text[start:end]``, always.

    ``context`` is what the embedding sees besides the span (title, section heading, the sentence
    before); it never changes what is cited.
    """

    passage_id: int
    doc_id: str
    start: int
    end: int
    text: str
    context: str = ""
    kind: str = "body"

    @property
    def embedding_text(self) -> str:
        return f"{self.context}\n{self.text}" if self.context else self.text


class DocumentError(ValueError):
    """A file that cannot be turned into a document; the message says which and why."""


@dataclass
class LoadReport:
    documents: list[Document] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (doc_id, reason)


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def line_of(text: str, offset: int) -> int:
    """1-based line number of the character at ``offset`` (``\\r\\n`` counts as one break)."""
    return text.count("\n", 0, offset) + 1


def page_of(document: Document, offset: int) -> int | None:
    """1-based PDF page of ``offset``, or None for documents without pages."""
    starts = document.metadata.get("page_starts")
    if not starts:
        return None
    page = 0
    for number, start in enumerate(starts):
        if offset >= start:
            page = number
    return page + 1


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
    for line in text[start:].splitlines():
        stripped = line.strip().lstrip("#").strip()
        if stripped:
            return stripped[:200]
    return ""


def parse_text(doc_id: str, text: str) -> Document:
    fields, body_start = split_front_matter(text)
    title = fields.get("title") or title_from_text(text, body_start) or doc_id
    # keys the pipeline itself sets are not taken from the file
    metadata: dict[str, Any] = {k: v for k, v in fields.items() if k not in RESERVED_METADATA}
    if body_start:
        metadata["body_start"] = body_start
    return Document(doc_id=doc_id, title=title, text=text, metadata=metadata)


def parse_html(doc_id: str, raw: bytes) -> Document:
    import trafilatura  # heavy import kept to the one place that needs it

    html = raw.decode("utf-8", errors="replace")
    try:
        extracted = trafilatura.bare_extraction(html, include_comments=False, with_metadata=True)
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


def parse_pdf(doc_id: str, path: Path) -> Document:
    from pypdf import PdfReader

    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text() or "" for page in reader.pages]
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
    metadata: dict[str, Any] = {"page_starts": page_starts}
    if info.get("/Author"):
        metadata["author"] = str(info["/Author"])
    return Document(doc_id=doc_id, title=title, text=text, metadata=metadata)


def load_file(path: Path, doc_id: str) -> Document:
    suffix = path.suffix.lower()
    if suffix in PDF_SUFFIXES:
        return parse_pdf(doc_id, path)
    raw = path.read_bytes()
    if suffix in HTML_SUFFIXES:
        return parse_html(doc_id, raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DocumentError(f"{doc_id}: not valid UTF-8 (byte {error.start})") from error
    return parse_text(doc_id, text.removeprefix("\ufeff"))


def corpus_files(corpus_dir: Path) -> Iterator[tuple[str, Path]]:
    """(doc_id, path) for every supported file under ``corpus_dir``, in a stable order."""
    for path in sorted(corpus_dir.rglob("*")):
        relative = path.relative_to(corpus_dir)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_file() and path.suffix.lower() in SUPPORTED_SUFFIXES:
            yield relative.as_posix(), path


def load_corpus(corpus_dir: Path) -> LoadReport:
    """Every readable document under ``corpus_dir``; files that cannot be read are reported, not fatal."""
    report = LoadReport()
    for doc_id, path in corpus_files(corpus_dir):
        try:
            report.documents.append(load_file(path, doc_id))
        except (DocumentError, OSError) as error:
            reason = str(error).removeprefix(f"{doc_id}: ")
            log.warning("skipped %s: %s", doc_id, reason)
            report.skipped.append((doc_id, reason))
    return report
