"""Build a generation from a corpus folder, re-embedding only what changed.

Each document's content hash is compared with the served generation's; unchanged documents
keep their passages and vectors, so adding one document to a large corpus costs one document's
embedding. A change of model or chunker parameters makes every stored vector stale, and the
build starts over (the summary says why).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from qa.config import Settings
from qa.documents import Document, Passage, load_corpus
from qa.embedding import Embedder, Vectors
from qa.passages import build_passages, sentence_spans
from qa.store import BuildParameters, Generation, IndexError_, TokenTable, load_generation, write_generation

Progress = Callable[[int, int], None]  # (done, total) passages embedded


@dataclass
class BuildSummary:
    generation: str
    documents: int
    passages: int
    seconds: float
    embedded: int  # texts (passages and sentences) embedded in this build
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    full_reason: str | None = None


def parameters_for(settings: Settings, embedder: Embedder) -> BuildParameters:
    return BuildParameters(
        model=settings.model,
        dimension=embedder.dimension,
        chunk_tokens=settings.chunk_tokens,
        chunk_min_chars=settings.chunk_min_chars,
    )


def embed_units(
    embedder: Embedder, passage_texts: Sequence[str], sentence_texts: Sequence[str], batch_size: int,
    progress: Progress | None = None,
) -> tuple[Vectors, list[Vectors], Vectors]:
    """Passage vectors with their word-piece vectors, then sentence vectors; ``progress`` hears
    (texts done, texts in all) after every slice."""
    total = len(passage_texts) + len(sentence_texts)
    step = max(batch_size * 8, 1)
    passage_parts: list[Vectors] = [np.zeros((0, embedder.dimension), dtype=np.float32)]
    tokens: list[Vectors] = []
    for offset in range(0, len(passage_texts), step):
        vectors, pieces = embedder.embed_with_tokens(passage_texts[offset : offset + step], batch_size)
        passage_parts.append(vectors)
        tokens.extend(pieces)
        if progress is not None:
            progress(min(offset + step, len(passage_texts)), total)
    sentence_parts: list[Vectors] = [np.zeros((0, embedder.dimension), dtype=np.float32)]
    for offset in range(0, len(sentence_texts), step):
        sentence_parts.append(embedder.embed(sentence_texts[offset : offset + step], batch_size))
        if progress is not None:
            progress(len(passage_texts) + min(offset + step, len(sentence_texts)), total)
    return np.concatenate(passage_parts), tokens, np.concatenate(sentence_parts)


def _previous(index_dir: Path, parameters: BuildParameters, full: bool) -> tuple[Generation | None, str | None]:
    """The served generation to reuse vectors from, or None with the reason for a full build."""
    if full:
        return None, "asked for a full rebuild"
    try:
        return load_generation(index_dir, parameters), None
    except IndexError_ as error:
        reason = str(error).split(". Run")[0]
        return None, None if "no index" in reason else reason


def build_documents(
    documents: Sequence[Document],
    settings: Settings,
    embedder: Embedder,
    full: bool = False,
    progress: Progress | None = None,
    skipped: Sequence[tuple[str, str]] = (),
) -> BuildSummary:
    """Index ``documents`` as the new generation, reusing the served generation's vectors."""
    started = time.perf_counter()
    parameters = parameters_for(settings, embedder)
    previous, full_reason = _previous(settings.index_dir, parameters, full)
    old_docs = previous.documents if previous else {}
    summary = BuildSummary("", len(documents), 0, 0.0, 0, skipped=list(skipped), full_reason=full_reason)
    passages: list[Passage] = []
    units: list[tuple[int, int, int]] = []  # (passage row, start, end)
    # per unit: its row in the previous generation's vectors, or -1 (passage) / -2 (sentence) to embed
    sources: list[int] = []
    passage_texts: list[str] = []
    sentence_texts: list[str] = []
    token_sources: list[int] = []  # per passage: its row in the previous generation, or -1
    for document in documents:
        old = old_docs.get(document.doc_id)
        if previous is not None and old is not None and old.content_hash == document.content_hash:
            summary.reused.append(document.doc_id)
            for old_row in previous.rows_of_doc[document.doc_id]:
                for unit in previous.unit_range(old_row):
                    units.append((len(passages), int(previous.units[unit, 1]), int(previous.units[unit, 2])))
                    sources.append(unit)
                token_sources.append(old_row)
                passages.append(replace(previous.passages[old_row], passage_id=len(passages)))
            continue
        (summary.changed if old is not None else summary.added).append(document.doc_id)
        new = build_passages(
            document, embedder.count_tokens, embedder.truncate, embedder.max_tokens,
            settings.chunk_tokens, settings.chunk_min_chars, first_id=len(passages),
        )
        for passage in new:
            spans = sentence_spans(document.text, passage)
            passage_texts.append(passage.embedding_text)
            sentence_texts.extend(document.text[s:e] for s, e in spans)
            units.append((passage.passage_id, passage.start, passage.end))
            units.extend((passage.passage_id, s, e) for s, e in spans)
            sources.extend([-1] + [-2] * len(spans))
            token_sources.append(-1)
        passages.extend(new)
    current_ids = {d.doc_id for d in documents}
    summary.removed = sorted(doc_id for doc_id in old_docs if doc_id not in current_ids)
    passage_vectors, fresh_tokens, sentence_vectors = embed_units(
        embedder, passage_texts, sentence_texts, settings.embed_batch_size, progress
    )
    source_rows = np.asarray(sources, dtype=np.int64)
    vectors = np.empty((len(units), embedder.dimension), dtype=np.float32)
    vectors[source_rows == -1] = passage_vectors
    vectors[source_rows == -2] = sentence_vectors
    if previous is not None and (source_rows >= 0).any():
        vectors[source_rows >= 0] = previous.vectors[source_rows[source_rows >= 0]]
    fresh_iter = iter(fresh_tokens)
    token_pieces = [next(fresh_iter) if row < 0 else previous.tokens.of(row) for row in token_sources]  # type: ignore[union-attr]
    unit_table = np.asarray(units, dtype=np.int32).reshape(-1, 3)
    tokens = TokenTable.stack(token_pieces, embedder.dimension)
    path = write_generation(settings.index_dir, documents, passages, unit_table, vectors, tokens, parameters)
    summary.generation = path.name
    summary.passages = len(passages)
    summary.embedded = len(passage_texts) + len(sentence_texts)
    summary.seconds = time.perf_counter() - started
    return summary


def build_index(
    settings: Settings, embedder: Embedder, full: bool = False, progress: Progress | None = None
) -> BuildSummary:
    """Load ``settings.corpus_dir`` and index it; unreadable files are skipped and reported."""
    if not settings.corpus_dir.is_dir():
        raise FileNotFoundError(f"corpus folder {settings.corpus_dir} does not exist")
    report = load_corpus(settings.corpus_dir)
    return build_documents(report.documents, settings, embedder, full, progress, report.skipped)
