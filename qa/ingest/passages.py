"""From a document to the passages that get embedded and cited.

A passage's cited span stays tight (a paragraph, or a few short ones merged); what the embedding
sees is the span under its section heading. Measured on the article question set, adding the
document title or the previous sentence to every passage made retrieval worse (the shared words
drown what tells passages apart), while the heading helped; so only the heading is carried.

Metadata that a reader asks about (author, date, the author's bio) becomes passages of their
own, citing the byline or the bio.
"""

from __future__ import annotations

from collections.abc import Callable

from qa.core.types import Document, Passage
from qa.ingest.chunking import Block, Chunk, TokenCounter, chunk_blocks, sentences, split_to_limit, trim
from qa.ingest.layout import Layout, analyse
from qa.lang.en import ENGLISH

Truncate = Callable[[str, int], str]


def _referent(text: str, layout: Layout, start: int) -> str:
    """When the text at ``start`` opens with a pronoun ("It will be located in…"), the subject of
    the sentence before it ("The new Center of Excellence"), so the embedding knows what "it" is.
    Only the subject: the whole sentence would lend this passage its neighbour's facts."""
    if not ENGLISH.anaphor.match(text[start : start + 20]):
        return ""
    before = [block for block in layout.blocks if block.kind == "body" and block.start < start]
    spans = sentences(text, before[-1].start, min(before[-1].end, start)) if before else []
    if not spans:
        return ""
    previous = " ".join(text[spans[-1][0] : spans[-1][1]].split())
    end = ENGLISH.subject_end.search(previous)
    subject = previous[: end.start()] if end else previous
    words = subject.split()
    return " ".join(words) if 0 < len(words) <= 8 else ""


def _speaker(text: str, layout: Layout, start: int) -> str:
    """When the text at ``start`` opens a paragraph that goes on quoting the speaker of the
    paragraph before ("“With our new joint centre, we will…” after "…,” said Jane Smith,
    the agency’s director general."), who speaks, so the embedding knows whose words these are."""
    if not ENGLISH.quote_open.match(text[start : start + 1]):
        return ""
    before = [block for block in layout.blocks if block.kind == "body" and block.end <= start]
    if not before:
        return ""
    said = list(ENGLISH.attribution.finditer(text, before[-1].start, before[-1].end))
    return f"{said[-1].group('speaker')} said" if said else ""


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


def _chunks_by_page(
    document: Document, layout: Layout, count: TokenCounter, limit: int, min_chars: int, heading: str
) -> list[Chunk]:
    """Chunks that never cross a PDF page break, so every citation names one page."""
    breaks = [*document.metadata.get("page_starts", [])[1:], len(document.text) + 1]
    chunks: list[Chunk] = []
    page_start = 0
    for page_end in breaks:
        blocks = [
            Block(max(b.start, page_start), min(b.end, page_end), b.kind)
            for b in layout.blocks
            if b.start < page_end and b.end > page_start
        ]
        page_chunks = chunk_blocks(document.text, blocks, count, limit, min_chars, heading)
        heading = page_chunks[-1].heading if page_chunks else heading
        chunks.extend(page_chunks)
        page_start = page_end
    return chunks


def build_passages(
    document: Document,
    count: TokenCounter,
    truncate: Truncate,
    model_tokens: int,
    chunk_tokens: int,
    min_chars: int,
    first_id: int = 0,
) -> list[Passage]:
    """Passages of ``document`` with ids from ``first_id``; each embedding text fits ``model_tokens``
    (except in the "whole" layout, kept to reproduce published whole-document baselines)."""
    body_start = int(document.metadata.get("body_start", 0))
    if document.metadata.get("layout") == "whole":
        start, end = trim(document.text, body_start, len(document.text))
        text = document.text[start:end]
        return [Passage(first_id, document.doc_id, start, end, text, document.title)] if text else []
    plain = document.metadata.get("layout") == "plain"
    # a plain document (an abstract, a record) has no page furniture, and its title stands in
    # for the section heading it lacks
    layout = (
        Layout(blocks=[Block(body_start, len(document.text))])
        if plain
        else analyse(document.text, body_start)
    )
    first_heading = document.title if plain else ""
    limit = min(chunk_tokens, model_tokens)
    spans: list[tuple[int, int, str, str]] = []
    for chunk in _chunks_by_page(document, layout, count, limit, min_chars, first_heading):
        start = chunk.start
        referent = _referent(document.text, layout, start) or _speaker(document.text, layout, start)
        context = " | ".join(part for part in (chunk.heading, referent) if part)
        spans.append((chunk.start, chunk.end, context, "body"))
    for start, end, context in _metadata_passages(document, layout):
        pieces = split_to_limit(document.text, start, end, count, limit)
        spans.extend((piece_start, piece_end, context, "metadata") for piece_start, piece_end in pieces)
    texts = [document.text[start:end] for start, end, _, _ in spans]
    text_tokens = count(texts)
    passages: list[Passage] = []
    for offset, ((start, end, context, kind), text, used) in enumerate(
        zip(spans, texts, text_tokens, strict=True)
    ):
        # the newline between context and text costs no word piece; one is kept spare all the same
        context = truncate(context, model_tokens - used - 1)
        passages.append(Passage(first_id + offset, document.doc_id, start, end, text, context, kind))
    return passages
