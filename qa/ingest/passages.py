"""From a document to the passages that get embedded and cited.

A passage's cited span stays tight (a paragraph, or a few short ones merged); what the embedding
sees is the span under its section heading. Measured on the article question set, adding the
document title or the previous sentence to every passage made retrieval worse (the shared words
drown what tells passages apart), while the heading helped; so only the heading is carried.

Metadata that a reader asks about (author, date, the author's bio) becomes passages of their
own, citing the byline or the bio.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Callable
from dataclasses import replace

from qa.core.types import Document, Passage
from qa.ingest import markdown, pdf, plaintext, terminal
from qa.ingest.chunking import (
    Block,
    Chunk,
    SentenceIndex,
    TokenCounter,
    chunk_blocks,
    paragraphs,
    split_to_limit,
    trim,
)
from qa.ingest.fences import fences_of
from qa.ingest.layout import Layout, analyse
from qa.ingest.structured import PATH_SEPARATOR, chunk_parts
from qa.lang.en import ENGLISH

LAYOUTS = ("auto", "article", "plain", "whole")
MAX_TITLE_WORDS = 12  # a front matter title set over heading paths: a page's name, not a sentence
_LEVEL_ONE = re.compile(r"^ {0,3}#[ \t]+\S|^ {0,3}=+[ \t]*$", re.MULTILINE)  # "# Name", or setext's "===="

Truncate = Callable[[str, int], str]


class _Bodies:
    """A layout's body blocks, found by position: the last that opens, or ends, before an offset
    (by bisection: a layout's blocks are in order and never overlap, as ``Layout`` keeps them);
    and what is read of a block once for all the passages that look back into it."""

    def __init__(self, text: str, layout: Layout) -> None:
        self.text = text
        self.blocks = [block for block in layout.blocks if block.kind == "body"]
        self.starts = [block.start for block in self.blocks]
        self.ends = [block.end for block in self.blocks]
        self._sentences: dict[Block, SentenceIndex] = {}
        self._speakers: dict[Block, str] = {}

    def sentences(self, block: Block) -> SentenceIndex:
        if block not in self._sentences:
            self._sentences[block] = SentenceIndex(self.text, block.start, block.end)
        return self._sentences[block]

    def speaker(self, block: Block) -> str:
        """Who the last attribution in ``block`` names ("Jane Smith, the agency's director"), or ""."""
        if block not in self._speakers:
            said = list(ENGLISH.attribution.finditer(self.text, block.start, block.end))
            self._speakers[block] = said[-1].group("speaker") if said else ""
        return self._speakers[block]

    def opened_before(self, offset: int) -> Block | None:
        found = bisect.bisect_left(self.starts, offset)
        return self.blocks[found - 1] if found else None

    def ended_by(self, offset: int) -> Block | None:
        found = bisect.bisect_right(self.ends, offset)
        return self.blocks[found - 1] if found else None


def _referent(text: str, bodies: _Bodies, start: int) -> str:
    """When the text at ``start`` opens with a pronoun ("It will be located in…"), the subject of
    the sentence before it ("The new Center of Excellence"), so the embedding knows what "it" is.
    Only the subject: the whole sentence would lend this passage its neighbour's facts. Only the
    paragraph holding that sentence is split, however long the block (a plain layout's is the
    whole body), and only as far back as that sentence starts."""
    if not ENGLISH.anaphor.match(text[start : start + 20]):
        return ""
    block = bodies.opened_before(start)
    if block is None:
        return ""
    stop = min(block.end, start)
    _, last = trim(text, block.start, stop)
    span = bodies.sentences(block).sentence_before(last, stop) if last > block.start else None
    if span is None:
        return ""
    previous = " ".join(text[span[0] : span[1]].split())
    end = ENGLISH.subject_end.search(previous)
    subject = previous[: end.start()] if end else previous
    words = subject.split()
    return " ".join(words) if 0 < len(words) <= 8 else ""


def _speaker(text: str, bodies: _Bodies, start: int) -> str:
    """When the text at ``start`` opens a paragraph that goes on quoting the speaker of the
    paragraph before ("“With our new joint centre, we will…” after "…,” said Jane Smith,
    the agency’s director general."), who speaks, so the embedding knows whose words these are."""
    if not ENGLISH.quote_open.match(text[start : start + 1]):
        return ""
    block = bodies.ended_by(start)
    speaker = bodies.speaker(block) if block is not None else ""
    return f"{speaker} said" if speaker else ""


def _metadata_passages(document: Document, layout: Layout) -> list[tuple[int, int, str]]:
    """(start, end, context) for the byline/date and the bio, when the document states them."""
    fields = layout.fields
    found: list[tuple[int, int, str]] = []
    byline = [fields[name] for name in ("author", "date") if name in fields]
    if byline:
        parts = []
        if "author" in fields:
            role = f" ({fields['role'].value})" if "role" in fields else ""
            parts.append(f"Byline: written by {fields['author'].value}{role}, the author of this article.")
        if "date" in fields:
            parts.append(f"Date: published on {fields['date'].value}.")
        found.append((min(f.start for f in byline), max(f.end for f in byline), " ".join(parts)))
    if "bio" in fields:
        author = fields["author"].value if "author" in fields else "the author"
        found.append((fields["bio"].start, fields["bio"].end, f"About the author, {author}:"))
    return found


def _cut(blocks: list[Block], spans: list[tuple[int, int]]) -> list[Block]:
    """``blocks`` with ``spans`` (sorted by start) taken out of them; each block looks only at the
    spans that can reach it (found by bisection), so the cost is linear, not blocks times spans."""
    if not spans:
        return blocks
    reach = list(itertools.accumulate((end for _, end in spans), max))  # the furthest end so far
    kept: list[Block] = []
    for block in blocks:
        start = block.start
        # the spans before the first that reaches past the block's start end by it; from one that
        # opens at or after the block's end on, every span opens after it
        for index in range(bisect.bisect_right(reach, block.start), len(spans)):
            cut_start, cut_end = spans[index]
            if cut_start >= block.end:
                break
            if cut_end <= start:
                continue
            if cut_start > start:
                kept.append(replace(block, start=start, end=cut_start))
            start = max(start, cut_end)
        if start < block.end:
            kept.append(replace(block, start=start))
    return kept


def _chunks_by_page(
    document: Document, layout: Layout, count: TokenCounter, limit: int, min_chars: int, heading: str
) -> list[Chunk]:
    """Chunks that never cross a PDF page break, so every citation names one page, nor hold
    the page furniture the parser marked (running headers, contents and index lines)."""
    breaks = [*document.metadata.get("page_starts", [])[1:], len(document.text) + 1]
    cuts = sorted((int(start), int(end)) for start, end in document.metadata.get("furniture", []))
    kept = _cut(layout.blocks, cuts)  # in order of their starts
    starts = [block.start for block in kept]
    reach = list(itertools.accumulate((block.end for block in kept), max))
    chunks: list[Chunk] = []
    page_start = 0
    for page_end in breaks:
        # the blocks before ``first`` end by the page's start, those from ``stop`` on open after its end
        first, stop = bisect.bisect_right(reach, page_start), bisect.bisect_left(starts, page_end)
        blocks = [
            replace(b, start=max(b.start, page_start), end=min(b.end, page_end))
            for b in kept[first:stop]
            if b.start < page_end and b.end > page_start
        ]
        page_chunks = chunk_blocks(document.text, blocks, count, limit, min_chars, heading)
        heading = page_chunks[-1].heading if page_chunks else heading
        after = page_chunks[-1].end if page_chunks else page_start
        closing = [b for b in blocks if b.kind == "heading" and b.start >= after]
        heading = closing[-1].heading(document.text) if closing else heading  # a page's last line
        chunks.extend(page_chunks)
        page_start = page_end
    return chunks


ARTICLE_SIGNALS = 2  # distinct news-page signals a text needs to get the news-page layout


def looks_like_article(layout: Layout) -> bool:
    """Whether the news-page rules found a web article's shape: at least two distinct signals among
    a byline, a date line, a reading time, "Related:" links, a promo footer and an author box.
    Measured (eval/layout.md): the article and news pages have 4-5, abstracts and docs 0-1."""
    reasons = {reason for _, _, reason in layout.furniture} & {
        "reading time",
        "related link",
        "promo",
        "author heading",
    }
    return len(reasons) + len(set(layout.fields) & {"author", "date", "bio"}) >= ARTICLE_SIGNALS


def choose_layout(document: Document, setting: str) -> str:
    """ "article", "plain", "structured" or "whole": front matter first, then the setting, then
    the document's own shape."""
    forced = str(document.metadata.get("layout") or "")
    chosen = forced if forced in LAYOUTS else setting
    if chosen in ("article", "plain", "whole"):
        return chosen
    if document.metadata.get("structure") == "markdown":
        return "structured"
    body_start = int(document.metadata.get("body_start", 0))
    return "article" if looks_like_article(analyse(document.text, body_start)) else "plain"


def _plain_layout(document: Document, body_start: int) -> tuple[Layout, str]:
    """The whole body as one block, and the heading its passages carry: a first line that stands
    alone and is the title (as the parser cut it) is that heading, in full, and not body text."""
    spans = paragraphs(document.text, body_start)
    heading = document.title
    if len(spans) > 1:
        first = document.text[spans[0][0] : spans[0][1]]
        if "\n" not in first and terminal.visible(first).strip().lstrip("#").strip()[:200] == document.title:
            body_start, heading = spans[1][0], first.strip()
    return Layout(blocks=[Block(body_start, len(document.text))]), heading


def _structured_spans(
    document: Document, count: TokenCounter, window: int
) -> list[tuple[int, int, str, str, str]]:
    found, headings = markdown.parts(document.text)
    body_start = int(document.metadata.get("body_start", 0))
    found = [part for part in found if part.start >= body_start]
    name = markdown.plain(document.title)
    if (
        body_start
        and len(name.split()) <= MAX_TITLE_WORDS
        and name not in headings[:1]
        and not _named(document)
    ):
        found = [_under(part, name) for part in found]  # titled in front matter, sections "## Syntax"
    seen = markdown.reading(document.text, found)
    spans: list[tuple[int, int, str, str, str]] = []
    for piece in chunk_parts(document.text, seen, found, count, window, document.title):
        view, text = seen[piece.start : piece.end], document.text[piece.start : piece.end]
        if not view.strip():
            continue  # markup alone (a fence line, the end of a link's target cut off): nothing to read
        spans.append((piece.start, piece.end, piece.context, piece.kind, "" if view == text else view))
    return spans


def _named(document: Document) -> bool:
    """Whether the document has a heading of level 1 (outside code), which names it."""
    fences = fences_of(document)
    return any(not fences.holds(match.start()) for match in _LEVEL_ONE.finditer(document.text))


def _under(part: markdown.Part, title: str) -> markdown.Part:
    """``part`` with the document's title over its heading path (a part under no heading has the
    title alone as its context already)."""
    if not part.path:
        return part
    return replace(part, path=(title, *part.path), code=tuple(_under(code, title) for code in part.code))


def _with_headings(document: Document, layout: Layout) -> Layout:
    """A PDF's or a plain text's layout with the headings its parser found (``pdf.headings`` by
    type size, ``plaintext.analyse`` by underline, number or indentation) as heading blocks, each
    labelled with its path (larger type or a shorter number above), the body cut at them. A plain
    text's passages are labelled with its title, when that is a name (``MAX_TITLE_WORDS``), and
    their section's heading ("tar - an archiving utility > Operation mode"): which text and which
    section, short (measured on RFC 2616 and manual pages, the whole path under the title ranked
    the right passage first less often, docs/evaluation.md)."""
    found = [(int(s), int(e), int(level)) for s, e, level in document.metadata.get("pdf_headings", [])]
    opening = min((block.start for block in layout.blocks), default=len(document.text))
    found = [heading for heading in found if heading[0] >= opening]
    if not found:
        return layout
    title = " ".join(document.title.split())
    root = [] if _from_pdf(document) or len(title.split()) > MAX_TITLE_WORDS else [title]
    path: list[tuple[int, str]] = []
    headings: list[Block] = []
    for start, end, level in found:
        path = [(depth, name) for depth, name in path if depth < level]
        path.append((level, " ".join(terminal.visible(document.text[start:end]).split())))
        names = [name for _, name in path]
        if root:  # the text's name and the section's: "tar - an archiving utility > Operation mode"
            names = [*root, names[-1]] if names[-1] != title else root
        headings.append(Block(start, end, "heading", PATH_SEPARATOR.join(names)))
    body = _cut(layout.blocks, [(start, end) for start, end, _ in found])
    return replace(layout, blocks=sorted(body + headings, key=lambda block: block.start))


def _from_pdf(document: Document) -> bool:
    """Whether the PDF parser made ``document`` (a plain text's line-end hyphens are its own:
    "octet-aligned", "man-db")."""
    return document.doc_id.lower().endswith(".pdf")


def _opened_by_headings(document: Document, chunks: list[Chunk]) -> list[Chunk]:
    """A plain text's chunks, each that opens a section (the first after a heading the parser
    found, on the same page) running back over its heading line: the heading is read in the
    section's first passage as well as in every passage's context, as the text sets it there
    ("10.3.5 304 Not Modified" over "If the client has performed a conditional GET request")."""
    heads = sorted((int(start), int(end)) for start, end, _ in document.metadata.get("pdf_headings", []))
    if not heads:
        return chunks
    breaks = document.metadata.get("page_starts", [])
    starts = [chunk.start for chunk in chunks]
    opened = list(chunks)
    for index, (start, end) in enumerate(heads):
        after = bisect.bisect_left(starts, end)
        following = heads[index + 1][0] if index + 1 < len(heads) else len(document.text)
        if after == len(chunks) or chunks[after].start >= following:
            continue  # the section is empty
        if bisect.bisect_right(breaks, start) != bisect.bisect_right(breaks, chunks[after].start):
            continue  # a citation names one page
        between = [line for line in document.text[end : chunks[after].start].split("\n") if line.strip()]
        if any(not plaintext.rule(line) for line in between):
            continue  # only blank lines or the heading's underline: no furniture read over
        opened[after] = replace(chunks[after], start=start)
    return opened


def _layout_spans(
    document: Document, layout: Layout, heading: str, count: TokenCounter, limit: int, min_chars: int
) -> list[tuple[int, int, str, str, str]]:
    spans: list[tuple[int, int, str, str, str]] = []
    layout = _with_headings(document, layout)
    cuts = sorted((int(low), int(high)) for low, high in document.metadata.get("furniture", []))
    # what a passage looks back into for a referent is never furniture (a heading's underline)
    bodies = _Bodies(document.text, replace(layout, blocks=_cut(layout.blocks, cuts)) if cuts else layout)
    reach = list(itertools.accumulate((high for _, high in cuts), max))  # the furthest end so far
    opens = [low for low, _ in cuts]
    pdf_text = _from_pdf(document)
    # what a terminal shows of a plain text, read once: a chunk's edge may fall inside a word
    shown = document.text if pdf_text else terminal.read(document.text)
    chunks = _chunks_by_page(document, layout, count, limit, min_chars, heading)
    for chunk in chunks if pdf_text else _opened_by_headings(document, chunks):
        start = chunk.start
        referent = _referent(document.text, bodies, start) or _speaker(document.text, bodies, start)
        context = terminal.visible(" | ".join(part for part in (chunk.heading, referent) if part))
        text = document.text[chunk.start : chunk.end]
        # a PDF's broken words joined; a plain text's control sequences not read; furniture not read
        seen = pdf.join_hyphens(text) if pdf_text else shown[chunk.start : chunk.end]
        if cuts:
            # those that can reach into the chunk, found by bisection (a scan of all was quadratic)
            furniture = cuts[bisect.bisect_right(reach, chunk.start) : bisect.bisect_left(opens, chunk.end)]
            seen = pdf.blank(seen, chunk.start, furniture)
        if not seen.strip():  # escape sequences alone ("ESC[0m" after the last paragraph)
            continue
        spans.append((chunk.start, chunk.end, context, "body", "" if seen == text else seen))
    for start, end, context in _metadata_passages(document, layout):
        pieces = split_to_limit(document.text, start, end, count, limit)
        spans.extend((piece_start, piece_end, context, "metadata", "") for piece_start, piece_end in pieces)
    return spans


def build_passages(
    document: Document,
    count: TokenCounter,
    truncate: Truncate,
    model_tokens: int,
    chunk_tokens: int,
    min_chars: int,
    first_id: int = 0,
    layout: str = "auto",
) -> list[Passage]:
    """Passages of ``document`` with ids from ``first_id``; each embedding text fits ``model_tokens``
    (except in the "whole" layout, kept to reproduce published whole-document baselines).
    ``layout`` is the setting: "auto" (by the document's shape), "article" or "plain"."""
    body_start = int(document.metadata.get("body_start", 0))
    chosen = choose_layout(document, layout)
    if chosen == "whole":
        start, end = trim(document.text, body_start, len(document.text))
        text = document.text[start:end]
        return [Passage(first_id, document.doc_id, start, end, text, document.title)] if text else []
    limit = min(chunk_tokens, model_tokens)
    if chosen == "structured":
        spans = _structured_spans(document, count, model_tokens)
    elif chosen == "plain":
        # a plain document (an abstract, a record) has no page furniture, and its title stands in
        # for the section heading it lacks
        plain, heading = _plain_layout(document, body_start)
        spans = _layout_spans(document, plain, heading, count, limit, min_chars)
    else:
        spans = _layout_spans(document, analyse(document.text, body_start), "", count, limit, min_chars)
    texts = [document.text[start:end] for start, end, _, _, _ in spans]
    text_tokens = count([seen or text for (_, _, _, _, seen), text in zip(spans, texts, strict=True)])
    passages: list[Passage] = []
    for offset, ((start, end, context, kind, seen), text, used) in enumerate(
        zip(spans, texts, text_tokens, strict=True)
    ):
        # the newline between context and text costs no word piece; one is kept spare all the same
        context = truncate(context, model_tokens - used - 1)
        passages.append(Passage(first_id + offset, document.doc_id, start, end, text, context, kind, seen))
    return passages
