"""The types every layer shares: documents and their passages, questions, hits and answers.

A document's ``text`` is the exact text that citations index into: for .txt and .md files it
is the file's own text, character for character (non-breaking spaces, curly quotes and CRLF
included); for HTML it is the main text trafilatura extracts; for PDF the pages' text joined by
blank lines, with each page's start offset kept in ``metadata["page_starts"]``. Which parser made
it is ``qa.ingest.formats``' business; these types only carry the result.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]
# word-piece vectors (pieces, dimension) and the character offset in the text where each starts
TokenVectors = tuple[npt.NDArray[np.float32], npt.NDArray[np.int32]]


@dataclass(frozen=True)
class Document:
    doc_id: str
    title: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @functools.cached_property
    def content_hash(self) -> str:  # hashed once: builds, duplicate checks and fingerprints all ask
        return content_hash(self.text)

    @functools.cached_property
    def line_breaks(self) -> list[int]:
        """Offsets of the text's line breaks, found once: every citation of the document asks
        for line numbers, which counting from the start made cost a scan of the text each."""
        breaks, at = [], self.text.find("\n")
        while at >= 0:
            breaks.append(at)
            at = self.text.find("\n", at + 1)
        return breaks

    @functools.cached_property
    def derived(self) -> dict[str, Any]:
        """What the layers above work out of the text once and keep with the document, which goes
        when it goes (its code blocks' spans: ``qa.ingest.fences.fences_of``)."""
        return {}

    def line_at(self, offset: int) -> int:
        """1-based line number of the character at ``offset`` (``\\r\\n`` counts as one break)."""
        return bisect.bisect_left(self.line_breaks, offset) + 1


@dataclass(frozen=True)
class Passage:
    """A span of a document. ``text == document.text[start:end]``, always.

    ``context`` is what the embedding sees besides the span (title, section heading, the sentence
    before); it never changes what is cited. ``view`` is the text as the model reads it when that
    differs from ``text`` (markup blanked out, a hyphenated line break joined): the same length as
    ``text``, so the word pieces the model finds in it keep their document offsets; "" means ``text``.
    """

    passage_id: int
    doc_id: str
    start: int
    end: int
    text: str
    context: str = ""
    kind: str = "body"
    view: str = ""

    @property
    def embedding_text(self) -> str:
        read = self.view or self.text
        return f"{self.context}\n{read}" if self.context else read


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def page_of(document: Document, offset: int) -> int | None:
    """1-based page of ``offset`` (a PDF's, or a plain text's split by form feeds), or None for
    documents without pages."""
    starts = document.metadata.get("page_starts")
    if not starts:
        return None
    page = 0
    for number, start in enumerate(starts):
        if offset >= start:
            page = number
    return page + 1


@dataclass(frozen=True)
class Query:
    """A question, embedded once: its vector and its word-piece vectors."""

    text: str
    vector: Vectors
    tokens: Vectors


@dataclass(frozen=True)
class Citation:
    doc_id: str
    title: str
    start: int
    end: int
    line_start: int
    line_end: int
    page: int | None = None


def cite(document: Document, start: int, end: int) -> Citation:
    return Citation(
        doc_id=document.doc_id,
        title=document.title,
        start=start,
        end=end,
        line_start=document.line_at(start),
        line_end=document.line_at(max(start, end - 1)),
        page=page_of(document, start),
    )


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float
    citation: Citation


@dataclass(frozen=True)
class Evidence:
    """One of the top passages, as a reader sees it: the passage, its document, and the passage's
    stored word-piece vectors with the document offset each starts at."""

    row: int
    passage: Passage
    document: Document
    tokens: npt.NDArray[Any]
    starts: npt.NDArray[Any]


@dataclass(frozen=True)
class Answer:
    """The sentence a reader chose, cited, with its score. ``view`` is ``text`` as its passage's
    ``view`` reads it (markup blanked, the same length; "" when it is ``text`` itself); an answer
    that runs on past its passage (a lead-in carrying its block) reads that part as Markdown does."""

    text: str
    score: float
    citation: Citation
    view: str = ""


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]
    answer: Answer | None
    answerable: bool
    message: str | None = None  # why nothing was searched (no document matches the filter)
