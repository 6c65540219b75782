"""Which parts of a document are content, which are headings, and which are page furniture.

Text copied from a news page carries a byline, a date, a reading time, an image caption, "Related:"
links, an author bio, a newsletter promo and "You May Also Like". Only content and headings become
answer passages; the byline, date and bio become metadata (with their spans, so a metadata passage
can cite them); the rest is left out of the index but stays in the document text.

The rules are line-shape heuristics that hold for web articles in general, not for one site:
a header zone before the first real paragraph, link lines with a "Related:"-style prefix, and a
footer that starts at an "About the author" or promo line. A document with no such shape (a
markdown note, an abstract) comes out as body and headings only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from qa.ingest.chunking import Block, paragraphs, trim
from qa.lang.en import ENGLISH

_TERMINAL = re.compile(r"[.!?:;\"'\u201d\u2019)]$")  # a line that ends a sentence or clause


@dataclass(frozen=True)
class Field:
    """A metadata value and the span of the document that states it."""

    value: str
    start: int
    end: int


@dataclass
class Layout:
    blocks: list[Block] = field(default_factory=list)  # body and heading blocks, in order, none overlapping
    fields: dict[str, Field] = field(default_factory=dict)  # author, role, date, bio
    furniture: list[tuple[int, int, str]] = field(default_factory=list)  # left-out spans and why


def _lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    cursor = start
    for line in text[start:end].split("\n"):
        line_start, line_end = trim(text, cursor, cursor + len(line))
        if line_end > line_start:
            spans.append((line_start, line_end))
        cursor += len(line) + 1
    return spans


def _is_prose(paragraph: str) -> bool:
    """A real paragraph: long enough and ending like a sentence."""
    flat = " ".join(paragraph.split())
    return len(flat) >= 100 and bool(_TERMINAL.search(flat)) and flat.count(" ") >= 12


def _is_heading(paragraph: str) -> bool:
    flat = " ".join(paragraph.split())
    if flat.startswith("#"):
        return True
    return (
        "\n" not in paragraph.strip()
        and 0 < len(flat) <= 90
        and flat[:1].isupper()
        and not _TERMINAL.search(flat)
        and len(flat.split()) <= 12
    )


def _header_zone(text: str, spans: list[tuple[int, int]], layout: Layout) -> int:
    """Classify the paragraphs before the first prose paragraph; return where the body starts."""
    first_prose = next((i for i, (s, e) in enumerate(spans) if _is_prose(text[s:e])), 0)
    if first_prose == 0:
        return 0
    for index, (start, end) in enumerate(spans[:first_prose]):
        if index == 0:
            layout.furniture.append((start, end, "title"))
            continue
        paragraph = text[start:end]
        if "\n" not in paragraph and len(paragraph) > 60 and paragraph.count(" ") >= 8:
            layout.blocks.append(Block(start, end, "body"))  # a standfirst: content
            continue
        for line_start, line_end in _lines(text, start, end):
            _classify_header_line(text, line_start, line_end, layout)
    return first_prose


def _classify_header_line(text: str, start: int, end: int, layout: Layout) -> None:
    line = " ".join(text[start:end].split())
    if ENGLISH.date_line.match(line) and "date" not in layout.fields:
        layout.fields["date"] = Field(line, start, end)
        return
    if ENGLISH.read_time.match(line):
        layout.furniture.append((start, end, "reading time"))
        return
    byline = ENGLISH.byline.match(line)
    if byline and "author" not in layout.fields and len(line) <= 80:
        layout.fields["author"] = Field(byline.group("name"), start, end)
        if byline.group("role"):
            layout.fields["role"] = Field(byline.group("role").strip(), start, end)
        return
    layout.furniture.append((start, end, "caption"))


def _footer(text: str, spans: list[tuple[int, int]], first: int, layout: Layout) -> int:
    """Classify the footer, if any; return the index of the first footer paragraph."""
    footer = next(
        (i for i in range(first, len(spans)) if ENGLISH.footer_start.match(text[spans[i][0] : spans[i][1]])),
        len(spans),
    )
    in_bio = False
    bio: list[tuple[int, int]] = []
    for start, end in spans[footer:]:
        paragraph = " ".join(text[start:end].split())
        if ENGLISH.author_heading.match(paragraph):
            in_bio = True
            layout.furniture.append((start, end, "author heading"))
        elif in_bio and _is_prose(text[start:end]) and not ENGLISH.promo.search(paragraph):
            bio.append((start, end))
        elif in_bio and not _is_prose(text[start:end]) and not ENGLISH.footer_start.match(paragraph):
            layout.furniture.append((start, end, "author name"))
        else:
            in_bio = False
            layout.furniture.append((start, end, "promo"))
    if bio:
        layout.fields["bio"] = Field(" ".join(text[bio[0][0] : bio[-1][1]].split()), bio[0][0], bio[-1][1])
    return footer


def analyse(text: str, start: int = 0) -> Layout:
    """Split ``text[start:]`` into body blocks, headings, metadata fields and left-out furniture."""
    layout = Layout()
    spans = paragraphs(text, start)
    if not spans:
        return layout
    body_start = _header_zone(text, spans, layout)
    body_end = _footer(text, spans, body_start, layout)
    for paragraph_start, paragraph_end in spans[body_start:body_end]:
        paragraph = text[paragraph_start:paragraph_end]
        if ENGLISH.link_line.match(paragraph):
            layout.furniture.append((paragraph_start, paragraph_end, "related link"))
        elif _is_heading(paragraph) and paragraph_start != spans[-1][0]:
            layout.blocks.append(Block(paragraph_start, paragraph_end, "heading"))
        else:
            layout.blocks.append(Block(paragraph_start, paragraph_end, "body"))
    return layout
