"""Build a generation from a corpus folder, re-embedding only what changed.

Each document's content hash is compared with the served generation's; unchanged documents
keep their passages and vectors, so adding one document to a large corpus costs one document's
embedding. A change of model or chunker parameters makes every stored vector stale, and the
build starts over (the summary says why).
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock, Timeout

from qa.core.config import Settings
from qa.core.errors import BuildInProgress, EmptyCorpus, IndexError_, IndexNotFound
from qa.core.protocols import Encoder, TokenCodec
from qa.core.types import Document, Passage, TokenVectors, Vectors
from qa.index.codec import FLOAT16, codec_for, learns
from qa.index.generations import (
    CHUNKER_VERSION,
    BuildParameters,
    Generation,
    GenerationWriter,
    choose_factory,
    manifest_body,
    read_manifest,
)
from qa.index.merge import merge_all
from qa.index.previous import Previous, open_previous, read_documents
from qa.index.segments import SEGMENT_PASSAGES, SegmentWriter
from qa.ingest import formats
from qa.ingest.corpus import Parsed, load_corpus, supported_formats
from qa.ingest.passages import build_passages
from qa.lang.en import ENGLISH

Progress = Callable[[int, int], None]  # (done, total) passages embedded


@dataclass
class BuildSummary:
    generation: str
    documents: int
    passages: int
    seconds: float
    embedded: int  # passages embedded in this build
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    full_reason: str | None = None
    merged: list[str] = field(default_factory=list)  # generations published by merges after the build
    empty: list[str] = field(default_factory=list)  # parsed documents with nothing to search in them


def components(settings: Settings, encoder: Encoder) -> dict[str, Any]:
    """What makes an index, by name and version: the manifest records it, ``GET /index`` shows it."""
    return {
        "parsers": formats.components(),
        # Markdown by its structure; text as a news page only when it looks like one (two signals),
        # else plain; front matter "layout:" or QA_LAYOUT forces one
        "layout": f"structured-article-or-plain/2 ({settings.layout})",
        "language": ENGLISH.code,
        "encoder": {
            "model": encoder.name,
            "backend": getattr(encoder, "backend", settings.backend),  # the one in use (auto resolved)
            "dimension": encoder.dimension,
            "max_tokens": encoder.max_tokens,
            "passages": encoder.passage_precision,
        },
        "token_codec": settings.token_codec,
        "chunker": CHUNKER_VERSION,
        "keyword": "bm25s",
    }


def parameters_for(settings: Settings, embedder: Encoder) -> BuildParameters:
    return BuildParameters(
        model=embedder.name,  # the settings' model, marked when quantized
        dimension=embedder.dimension,
        chunk_tokens=settings.chunk_tokens,
        chunk_min_chars=settings.chunk_min_chars,
        layout=settings.layout,
        passage_precision=embedder.passage_precision,
    )


def embed_passages(
    embedder: Encoder, passages: Sequence[Passage], batch_size: int, progress: Progress | None = None
) -> tuple[Vectors, list[TokenVectors]]:
    """Passage vectors and word-piece vectors, the word pieces placed at document offsets (-1 for
    the context line); ``progress`` hears (done, total) after every slice.

    Passages are embedded longest first, so each batch holds texts of similar length and pads
    little; the results are put back in the order given."""
    step = max(batch_size * 8, 1)
    order = sorted(range(len(passages)), key=lambda i: -len(passages[i].embedding_text))
    vectors = np.zeros((len(passages), embedder.dimension), dtype=np.float32)
    tokens: list[TokenVectors | None] = [None] * len(passages)
    for offset in range(0, len(passages), step):
        rows = order[offset : offset + step]
        batch = [passages[row] for row in rows]
        embedded, pieces = embedder.embed_with_tokens([p.embedding_text for p in batch], batch_size)
        vectors[rows] = embedded
        for row, passage, (piece_vectors, starts) in zip(rows, batch, pieces, strict=True):
            text_start = len(passage.embedding_text) - len(passage.text)
            in_text = starts >= text_start
            tokens[row] = (
                piece_vectors,
                np.where(in_text, starts - text_start + passage.start, -1).astype(np.int32),
            )
        if progress is not None:
            progress(min(offset + step, len(passages)), len(passages))
    return vectors, [pieces for pieces in tokens if pieces is not None]


def _previous(index_dir: Path, parameters: BuildParameters, full: bool) -> tuple[Previous | None, str | None]:
    """The served generation's segments to keep, or None with the reason for a full build."""
    if full:
        return None, "asked for a full rebuild"
    try:
        return open_previous(index_dir, parameters), None
    except IndexNotFound:
        return None, None  # a first build is full by nature, not for a reason worth printing
    except IndexError_ as error:
        return None, str(error).split(". Run")[0]


@contextmanager
def build_lock(index_dir: Path, wait: float = 0) -> Iterator[None]:
    """Hold ``index_dir``'s build lock (one writer at a time, across processes), or raise
    ``BuildInProgress`` if another build still holds it after ``wait`` seconds (at once by
    default)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(index_dir / ".build.lock")
    try:
        lock.acquire(timeout=wait)
    except Timeout as error:
        raise BuildInProgress(f"another build of {index_dir} is running; try again when it ends") from error
    try:
        yield
    finally:
        lock.release()


def build_documents(
    documents: Sequence[Document],
    settings: Settings,
    embedder: Encoder,
    full: bool = False,
    progress: Progress | None = None,
    skipped: Sequence[tuple[str, str]] = (),
    locked: bool = False,
    merge: bool = True,
) -> BuildSummary:
    """Index ``documents`` as the new generation, reusing the served generation's segments; then,
    with ``merge``, merge segments until their tiers are in order (``qa.index.merge``).

    One writer at a time, across processes: a second build raises ``BuildInProgress`` at once.
    ``locked`` says the caller already holds ``build_lock`` (to change the corpus under it too)."""
    with build_lock(settings.index_dir) if not locked else contextlib.nullcontext():
        summary = _build(documents, settings, embedder, full, progress, skipped)
        if merge:
            summary.merged = merge_segments(settings)
            summary.generation = (summary.merged or [summary.generation])[-1]
        return summary


def merge_segments(settings: Settings) -> list[str]:
    """Merge the published generation's segments until their tiers are in order (the caller holds
    the build lock); the generations published."""
    return merge_all(settings.index_dir, settings)


def _batches(
    planned: Sequence[tuple[Document, list[Passage]]], step: int
) -> Iterator[list[tuple[int, Document, list[Passage]]]]:
    """Documents (numbered by position) with their passages, in groups of about ``step`` passages."""
    batch: list[tuple[int, Document, list[Passage]]] = []
    size = 0
    for number, (document, mine) in enumerate(planned):
        batch.append((number, document, mine))
        size += len(mine)
        if size >= step:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _hashed(doc_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(doc_id.encode(), digest_size=8).digest(), "big")


def _spread(planned: Sequence[tuple[Document, list[Passage]]], step: int) -> list[int]:
    """Positions of about ``step`` passages' documents spread over the whole build, whatever order
    the documents come in: those whose doc_id hashes to 0 modulo k, for k that makes the expected
    sample ``step`` passages, in doc_id order (so two orders of one corpus learn the same codec);
    every k-th document when the hash picks none."""
    total = sum(len(mine) for _, mine in planned)
    every = max(1, -(-total // max(step, 1)))
    picked = [number for number, (document, _) in enumerate(planned) if _hashed(document.doc_id) % every == 0]
    return sorted(picked or range(0, len(planned), every), key=lambda number: planned[number][0].doc_id)


def _encoded(codec: TokenCodec, tokens: list[TokenVectors]) -> list[TokenVectors]:
    """Word pieces as ``codec`` stores them, all of them in one call (one product with the
    centroids for a whole batch, not one per document), split back by passage."""
    if not tokens:
        return tokens
    stored = codec.encode(np.concatenate([pieces for pieces, _ in tokens]))
    ends = np.cumsum([len(starts) for _, starts in tokens])[:-1]
    return [(rows, starts) for rows, (_, starts) in zip(np.split(stored, ends), tokens, strict=True)]


def _sampled(
    planned: Sequence[tuple[Document, list[Passage]]], settings: Settings, embedder: Encoder, total: int
) -> tuple[TokenCodec, dict[int, tuple[Vectors, list[TokenVectors]]]]:
    """The codec the build's segments are written with, and, when it learns, the documents of its
    sample already embedded and encoded (by position in ``planned``)."""
    if not learns(settings.token_codec, total):
        return FLOAT16, {}
    sample = _spread(planned, max(settings.embed_batch_size * 8, 1))
    vectors, tokens = embed_passages(
        embedder, [p for number in sample for p in planned[number][1]], settings.embed_batch_size
    )
    pieces = np.concatenate([t for t, _ in tokens]) if tokens else np.zeros((0, embedder.dimension))
    codec = codec_for(settings.token_codec, total, pieces)
    tokens = _encoded(codec, tokens)
    early, first = {}, 0
    for number in sample:
        rows = slice(first, first + len(planned[number][1]))
        early[number] = (vectors[rows], tokens[rows])
        first = rows.stop
    return codec, early


def _write_fresh(
    writer: GenerationWriter,
    fresh: Sequence[Document],
    settings: Settings,
    embedder: Encoder,
    progress: Progress | None,
    empty: list[str] | None = None,
) -> int:
    """Parse, embed and write ``fresh`` into new segments, a batch of documents at a time (memory
    holds one batch); a segment is sealed every ``SEGMENT_PASSAGES`` passages. Passages embedded;
    the doc_ids of documents without a passage go to ``empty``.

    A learning codec (residual2) learns from a sample spread over the whole build, embedded
    first: documents picked by a hash of their doc_id, about one batch of passages (``_spread``).
    When it learnt from the first batch instead, the corpus order decided what taught it, and that
    moved SciFact's nDCG@10 by 0.005. The sample's vectors and encoded word pieces (98 bytes a piece) wait for
    their documents' turn, so memory holds about two batches' passages, not the build's."""
    planned = [(d, _passages(d, settings, embedder)) for d in fresh]
    if empty is not None:
        empty.extend(document.doc_id for document, passages in planned if not passages)
    total, done = sum(len(p) for _, p in planned), 0
    codec, early = _sampled(planned, settings, embedder, total)
    segment: SegmentWriter | None = None
    for batch in _batches(planned, max(settings.embed_batch_size * 8, 1)):
        passages = [p for number, _, mine in batch if number not in early for p in mine]
        vectors, tokens = embed_passages(embedder, passages, settings.embed_batch_size)
        tokens, first = _encoded(codec, tokens), 0
        if segment is None:
            segment = writer.segment(codec)
        for number, document, mine in batch:
            if number in early:
                segment.add(document, mine, *early.pop(number), encoded=True)
                continue
            rows = slice(first, first + len(mine))
            segment.add(document, mine, vectors[rows], tokens[rows], encoded=True)
            first = rows.stop
        done += sum(len(mine) for _, _, mine in batch)
        if progress is not None:
            progress(done, total)
        if segment.size >= SEGMENT_PASSAGES:
            writer.finish(
                segment, choose_factory(settings.index_factory, segment.size, settings.ann_threshold)
            )
            segment = writer.segment(codec)
    if segment is not None and segment.entries:
        writer.finish(segment, choose_factory(settings.index_factory, segment.size, settings.ann_threshold))
    elif segment is not None:
        segment.close()
    return total


def _passages(document: Document, settings: Settings, embedder: Encoder) -> list[Passage]:
    return build_passages(
        document,
        embedder.count_tokens,
        embedder.truncate,
        embedder.max_tokens,
        settings.chunk_tokens,
        settings.chunk_min_chars,
        layout=settings.layout,
    )


def _build(
    documents: Sequence[Document],
    settings: Settings,
    embedder: Encoder,
    full: bool,
    progress: Progress | None,
    skipped: Sequence[tuple[str, str]],
) -> BuildSummary:
    started = time.perf_counter()
    parameters = parameters_for(settings, embedder)
    previous, full_reason = _previous(settings.index_dir, parameters, full)
    known = previous.documents if previous is not None else read_documents(settings.index_dir)
    summary = BuildSummary("", len(documents), 0, 0.0, 0, skipped=list(skipped), full_reason=full_reason)
    fresh: list[Document] = []
    current_ids = {d.doc_id for d in documents}
    summary.removed = sorted(doc_id for doc_id in known if doc_id not in current_ids)
    for document in documents:
        unchanged = known.get(document.doc_id) == document.content_hash
        if not unchanged:
            (summary.changed if document.doc_id in known else summary.added).append(document.doc_id)
        if unchanged and previous is not None and document.doc_id in previous.owners:
            summary.reused.append(document.doc_id)
        else:
            fresh.append(document)
    kept, passages = previous.without([d.doc_id for d in fresh] + summary.removed) if previous else ([], 0)
    factory = choose_factory(settings.index_factory, len(documents), settings.ann_threshold)
    with GenerationWriter(settings.index_dir, embedder.dimension) as writer:
        summary.embedded = _write_fresh(writer, fresh, settings, embedder, progress, summary.empty)
        summary.passages = passages + summary.embedded
        segments = [*kept, *writer.segments]
        body = manifest_body(
            parameters,
            documents,
            segments,
            factory,
            components(settings, embedder),
            summary.passages,
            summary.skipped,
        )
        path = writer.publish(body, settings.keep_generations)
    summary.generation = path.name
    summary.seconds = time.perf_counter() - started
    return summary


NOTHING_TO_SEARCH = "nothing to search: no text but markup, links or page furniture"


def left_out(generation: Generation) -> list[dict[str, str]]:
    """What ``GET /index`` and ``/metrics`` list as not indexed: the corpus files the build left
    out, with why, and the documents it read that hold no passage (nothing a question can find)."""
    listed = [item for item in generation.manifest.get("skipped", []) if isinstance(item, dict)]
    return listed + [
        {"doc_id": doc_id, "reason": NOTHING_TO_SEARCH}
        for doc_id, rows in sorted(generation.rows_of_doc.items())
        if not rows
    ]


def _skipped(index_dir: Path) -> list[tuple[str, str]]:
    """The corpus files the published generation left out, with why (none when unreadable)."""
    listed = (read_manifest(index_dir) or {}).get("skipped", [])
    return [(str(item["doc_id"]), str(item["reason"])) for item in listed if isinstance(item, dict)]


def build_change(
    settings: Settings,
    embedder: Encoder,
    added: Sequence[Document] = (),
    removed: Sequence[str] = (),
    progress: Progress | None = None,
) -> BuildSummary:
    """One write's change to the published generation, without reading the corpus: ``added`` (new
    or replacing documents, already parsed) and the doc_ids ``removed``; only ``added`` is parsed
    into passages and embedded. The caller holds the build lock; ``IndexError_`` when there is no
    generation to change as it is (then build the corpus instead)."""
    started = time.perf_counter()
    parameters = parameters_for(settings, embedder)
    previous = open_previous(settings.index_dir, parameters)
    hashes = {**previous.documents, **{d.doc_id: d.content_hash for d in added}}
    for doc_id in removed:
        hashes.pop(doc_id, None)
    summary = BuildSummary("", len(hashes), 0, 0.0, 0, removed=sorted(removed))
    for document in added:
        (summary.changed if document.doc_id in previous.documents else summary.added).append(document.doc_id)
    kept, passages = previous.without([*(d.doc_id for d in added), *removed])
    changed = {d.doc_id for d in added} | set(removed)
    summary.skipped = [(doc_id, why) for doc_id, why in _skipped(settings.index_dir) if doc_id not in changed]
    with GenerationWriter(settings.index_dir, embedder.dimension) as writer:
        summary.embedded = _write_fresh(writer, added, settings, embedder, progress, summary.empty)
        summary.passages = passages + summary.embedded
        factory = choose_factory(settings.index_factory, summary.passages, settings.ann_threshold)
        segments = [*kept, *writer.segments]
        body = manifest_body(
            parameters,
            hashes,
            segments,
            factory,
            components(settings, embedder),
            summary.passages,
            summary.skipped,
        )
        summary.generation = writer.publish(body, settings.keep_generations).name
    summary.seconds = time.perf_counter() - started
    return summary


def build_index(
    settings: Settings,
    embedder: Encoder,
    full: bool = False,
    progress: Progress | None = None,
    locked: bool = False,
    parsed: Parsed | None = None,
    merge: bool = True,
) -> BuildSummary:
    """Load ``settings.corpus_dir`` and index it; unreadable files are skipped and reported, and
    a folder with nothing to index raises ``EmptyCorpus``. ``parsed`` hears documents parsed."""
    if not settings.corpus_dir.is_dir():
        raise FileNotFoundError(f"corpus folder {settings.corpus_dir} does not exist")
    report = load_corpus(settings.corpus_dir, parsed)
    if not report.documents:
        found = f"; {len(report.skipped)} files skipped" if report.skipped else ""
        raise EmptyCorpus(
            f"no document to index in {settings.corpus_dir}{found} "
            f"(supported formats: {supported_formats()})",
            report.skipped,
        )
    return build_documents(
        report.documents, settings, embedder, full, progress, report.skipped, locked, merge
    )
