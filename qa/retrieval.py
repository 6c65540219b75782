"""Dense, keyword and hybrid search over a generation, and the choice of an answer sentence.

Hybrid search fuses the two rankings by reciprocal rank fusion (RRF): it needs no score
calibration between cosine similarities and BM25 scores, which live on unrelated scales.
The answer is the sentence of the top passages closest to the question in embedding space,
with a small preference for higher-ranked passages; it is extractive, never generated.
Whether the documents answer at all is judged from the best sentence's and passage's cosine
similarity to the question, which all-MiniLM-L6-v2 keeps low for unrelated text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qa.config import SearchMode
from qa.documents import Document, Passage, line_of, page_of
from qa.embedding import Embedder, Vectors
from qa.store import Generation

RRF_K = 60
CANDIDATES = 100  # per ranking, before fusion
ANSWER_PASSAGES = 3
ANSWERABLE_SENTENCE = 0.40
ANSWERABLE_PASSAGE = 0.35
RANK_PENALTY = 0.03


@dataclass(frozen=True)
class Citation:
    doc_id: str
    title: str
    start: int
    end: int
    line_start: int
    line_end: int
    page: int | None = None


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float
    citation: Citation


@dataclass(frozen=True)
class AnswerSpan:
    text: str
    score: float
    citation: Citation


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]
    answer: AnswerSpan | None
    answerable: bool


def cite(document: Document, start: int, end: int) -> Citation:
    return Citation(
        doc_id=document.doc_id,
        title=document.title,
        start=start,
        end=end,
        line_start=line_of(document.text, start),
        line_end=line_of(document.text, max(start, end - 1)),
        page=page_of(document, start),
    )


def reciprocal_rank_fusion(rankings: Sequence[Sequence[int]], k: int = RRF_K) -> dict[int, float]:
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, row in enumerate(ranking):
            fused[row] = fused.get(row, 0.0) + 1.0 / (k + rank + 1)
    return fused


class Searcher:
    """Answers questions from one generation with one embedder; safe to share between threads."""

    def __init__(self, generation: Generation, embedder: Embedder) -> None:
        self.generation = generation
        self.embedder = embedder

    def dense(self, query_vector: Vectors, depth: int) -> tuple[list[int], list[float]]:
        """Passage rows by their best unit's cosine similarity, best first."""
        generation = self.generation
        depth = min(depth, len(generation.passages))
        if depth == 0:
            return [], []
        units_per_passage = len(generation.units) / len(generation.passages)
        unit_depth = min(len(generation.units), int(depth * units_per_passage * 2) + 8)
        scores, ids = generation.index.search(query_vector.reshape(1, -1), unit_depth)
        best: dict[int, float] = {}
        for unit, score in zip(ids[0].tolist(), scores[0].tolist(), strict=True):
            if unit >= 0:
                row = int(generation.units[unit, 0])
                best.setdefault(row, score)  # units come best first
        ranked = sorted(best.items(), key=lambda item: -item[1])[:depth]
        return [row for row, _ in ranked], [score for _, score in ranked]

    def keyword(self, question: str, depth: int) -> tuple[list[int], list[float]]:
        rows, scores = self.generation.keyword.search(question, depth)
        return rows.tolist(), scores.tolist()

    def rank(self, question: str, query_vector: Vectors | None, depth: int, mode: SearchMode) -> list[tuple[int, float]]:
        """(row, score) best first, at most ``depth`` of them."""
        if mode == "keyword":
            rows, scores = self.keyword(question, depth)
            return list(zip(rows, scores, strict=True))
        assert query_vector is not None
        if mode == "dense":
            rows, scores = self.dense(query_vector, depth)
            return list(zip(rows, scores, strict=True))
        dense_rows, _ = self.dense(query_vector, max(depth, CANDIDATES))
        keyword_rows, _ = self.keyword(question, max(depth, CANDIDATES))
        fused = reciprocal_rank_fusion([dense_rows, keyword_rows])
        return sorted(fused.items(), key=lambda item: -item[1])[:depth]

    def hit(self, row: int, score: float) -> Hit:
        passage = self.generation.passages[row]
        document = self.generation.documents[passage.doc_id]
        return Hit(passage, score, cite(document, passage.start, passage.end))

    def ranked_passages(self, question: str, depth: int, mode: SearchMode = "hybrid") -> list[tuple[int, float]]:
        """(passage row, score) pairs, best first: what evaluation pools into document rankings."""
        query_vector = None if mode == "keyword" else self.embedder.embed([question])[0]
        return self.rank(question, query_vector, depth, mode)

    def search(self, question: str, k: int, mode: SearchMode = "hybrid") -> SearchResult:
        query_vector = self.embedder.embed([question])[0]
        ranked = self.rank(question, query_vector, k, mode)
        hits = [self.hit(row, score) for row, score in ranked]
        answer, answerable = self.answer(query_vector, [row for row, _ in ranked[:ANSWER_PASSAGES]])
        return SearchResult(hits, answer if answerable else None, answerable)

    def answer(self, query_vector: Vectors, rows: Sequence[int]) -> tuple[AnswerSpan | None, bool]:
        """The best sentence among the passages at ``rows`` and whether it answers the question.

        Sentence vectors were computed at index time, so this costs one small matrix product.
        """
        generation = self.generation
        candidates: list[tuple[int, int]] = []  # (rank, unit)
        for rank, row in enumerate(rows):
            units = generation.unit_range(row)
            sentence_units = units[1:] if len(units) > 1 else units
            candidates.extend((rank, unit) for unit in sentence_units)
        if not candidates:
            return None, False
        unit_ids = [unit for _, unit in candidates]
        similarities = np.asarray(generation.vectors[unit_ids] @ query_vector)
        scores = similarities - RANK_PENALTY * np.array([rank for rank, _ in candidates])
        best = int(np.argmax(scores))
        unit = unit_ids[best]
        row, start, end = (int(value) for value in generation.units[unit])
        document = generation.documents[generation.passages[row].doc_id]
        passage_similarity = float(generation.vectors[generation.unit_range(rows[0])[0]] @ query_vector)
        similarity = float(similarities[best])
        answerable = similarity >= ANSWERABLE_SENTENCE or passage_similarity >= ANSWERABLE_PASSAGE
        return AnswerSpan(document.text[start:end], similarity, cite(document, start, end)), answerable
