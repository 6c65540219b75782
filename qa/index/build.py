"""Build a generation from a corpus folder, re-embedding only what changed.

Each document's content hash is compared with the served generation's; unchanged documents
keep their passages and vectors, so adding one document to a large corpus costs one document's
embedding. A change of model or chunker parameters makes every stored vector stale, and the
build starts over (the summary says why).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock, Timeout

from qa.core.config import Settings
from qa.core.errors import BuildInProgress, EmptyCorpus, IndexError_, IndexNotFound
from qa.core.protocols import Encoder
from qa.core.types import Document, Passage, TokenVectors, Vectors
from qa.index.codec import FLOAT16
from qa.index.generations import (
    CHUNKER_VERSION,
    BuildParameters,
    Generation,
    TokenTable,
    choose_factory,
    indexed_hashes,
    load_generation,
    write_generation,
)
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
            "backend": settings.backend,
            "dimension": encoder.dimension,
            "max_tokens": encoder.max_tokens,
        },
        "token_codec": FLOAT16.name,
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


def _stored_tokens(previous: Generation | None, row: int) -> TokenVectors:
    assert previous is not None
    rows = previous.tokens.rows(row)
    return np.asarray(previous.tokens.vectors[rows]), np.asarray(previous.tokens.starts[rows])


def _previous(
    index_dir: Path, parameters: BuildParameters, full: bool
) -> tuple[Generation | None, str | None]:
    """The served generation to reuse vectors from, or None with the reason for a full build."""
    if full:
        return None, "asked for a full rebuild"
    try:
        return load_generation(index_dir, parameters), None
    except IndexNotFound:
        return None, None  # a first build is full by nature, not for a reason worth printing
    except IndexError_ as error:
        return None, str(error).split(". Run")[0]


@contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Hold ``index_dir``'s build lock (one writer at a time, across processes), or raise
    ``BuildInProgress`` at once if another build holds it."""
    index_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(index_dir / ".build.lock")
    try:
        lock.acquire(timeout=0)
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
) -> BuildSummary:
    """Index ``documents`` as the new generation, reusing the served generation's vectors.

    One writer at a time, across processes: a second build raises ``BuildInProgress`` at once.
    ``locked`` says the caller already holds ``build_lock`` (to change the corpus under it too)."""
    if locked:
        return _build(documents, settings, embedder, full, progress, skipped)
    with build_lock(settings.index_dir):
        return _build(documents, settings, embedder, full, progress, skipped)


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
    known = indexed_hashes(settings.index_dir)
    previous, full_reason = _previous(settings.index_dir, parameters, full)
    summary = BuildSummary("", len(documents), 0, 0.0, 0, skipped=list(skipped), full_reason=full_reason)
    passages: list[Passage] = []
    reused_rows: list[int] = []  # per passage: its row in the previous generation, or -1 if new
    fresh: list[Passage] = []
    for document in documents:
        unchanged = known.get(document.doc_id) == document.content_hash
        if not unchanged:
            (summary.changed if document.doc_id in known else summary.added).append(document.doc_id)
        if unchanged and previous is not None and document.doc_id in previous.documents:
            summary.reused.append(document.doc_id)
            for old_row in previous.rows_of_doc.get(document.doc_id, []):  # none for an empty document
                reused_rows.append(old_row)
                passages.append(replace(previous.passages[old_row], passage_id=len(passages)))
            continue
        new = build_passages(
            document,
            embedder.count_tokens,
            embedder.truncate,
            embedder.max_tokens,
            settings.chunk_tokens,
            settings.chunk_min_chars,
            first_id=len(passages),
            layout=settings.layout,
        )
        passages.extend(new)
        fresh.extend(new)
        reused_rows.extend([-1] * len(new))
    current_ids = {d.doc_id for d in documents}
    summary.removed = sorted(doc_id for doc_id in known if doc_id not in current_ids)
    fresh_vectors, fresh_tokens = embed_passages(embedder, fresh, settings.embed_batch_size, progress)
    sources = np.asarray(reused_rows, dtype=np.int64)
    vectors = np.empty((len(passages), embedder.dimension), dtype=np.float32)
    vectors[sources < 0] = fresh_vectors
    if previous is not None and (sources >= 0).any():
        vectors[sources >= 0] = previous.vectors[sources[sources >= 0]]
    fresh_iter = iter(fresh_tokens)
    token_pieces = [next(fresh_iter) if row < 0 else _stored_tokens(previous, row) for row in reused_rows]
    tokens = TokenTable.stack(token_pieces, embedder.dimension)
    factory = choose_factory(settings.index_factory, len(passages), settings.ann_threshold)
    path = write_generation(
        settings.index_dir,
        documents,
        passages,
        vectors,
        tokens,
        parameters,
        settings.keep_generations,
        factory,
        components(settings, embedder),
        summary.skipped,
    )
    summary.generation = path.name
    summary.passages = len(passages)
    summary.embedded = len(fresh)
    summary.seconds = time.perf_counter() - started
    return summary


def build_index(
    settings: Settings,
    embedder: Encoder,
    full: bool = False,
    progress: Progress | None = None,
    locked: bool = False,
    parsed: Parsed | None = None,
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
    return build_documents(report.documents, settings, embedder, full, progress, report.skipped, locked)
