"""Shards: where a question's candidates come from, and how their answers merge into one ranking.

A ``Searcher`` asks its ``Shards`` for three things: first-stage candidates (dense and keyword,
each shard's own top ``depth``), late-interaction scores of given rows, and the stored word-piece
vectors of given rows. The single-node service has one ``Partition`` covering the whole
generation; the Ray service (``qa.distributed``) has N shard actors, each holding a ``Partition``
of contiguous rows. Merging lives in the ``Searcher``, the same code in both cases, so the two
return the same passages in the same order:

- dense: each shard's top ``depth`` by inner product; the global top ``depth`` is among their
  union, so the merge is exact for exact (Flat) indexes. A shard of an HNSW generation builds
  its own HNSW over its rows: approximate either way, and not the same approximation.
- keyword: a shard keeps the whole index's precomputed BM25 pair scores for its rows
  (``KeywordIndex.subset``), so it scores with corpus-wide IDF and average length.
- ties (equal scores) go to the lower row everywhere, so a merge cannot reorder them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from qa.core.types import TokenVectors, Vectors
from qa.index.generations import Generation, TokenTable, tune_for_search, vector_index
from qa.index.keyword import KeywordIndex
from qa.search.late import late_interaction

Ranked = list[tuple[int, float]]  # (passage row in the generation, score), best first


@dataclass(frozen=True)
class FirstStage:
    """One shard's first-stage candidates."""

    dense: Ranked
    keyword: Ranked


class Shards(Protocol):
    """The parts of a generation a question is searched in, asked all at once."""

    def first_stage(
        self, vector: Vectors, text: str, depth: int, dense: bool, keyword: bool
    ) -> list[FirstStage]: ...

    def late(self, query_tokens: Vectors, rows: Sequence[int]) -> list[Ranked]: ...

    def tokens(self, rows: Sequence[int]) -> dict[int, TokenVectors]: ...


def merge(rankings: Sequence[Ranked], depth: int) -> Ranked:
    """The best ``depth`` of several rankings: higher score first, the lower row on a tie."""
    pooled = [item for ranking in rankings for item in ranking]
    return sorted(pooled, key=lambda item: (-item[1], item[0]))[:depth]


def split_points(size: int, shards: int) -> list[int]:
    """Row boundaries of ``shards`` contiguous, near-equal partitions of ``size`` rows."""
    return [size * part // shards for part in range(shards + 1)]


@dataclass
class Partition:
    """Rows ``start:start + size`` of a generation: their FAISS index, keyword index and word pieces.
    Everything it returns names rows of the whole generation."""

    start: int
    size: int
    index: Any  # faiss.Index over these rows, ids from 0
    keyword: KeywordIndex
    tokens: TokenTable

    @classmethod
    def whole(cls, generation: Generation) -> Partition:
        """The whole generation as it was loaded (no copy)."""
        return cls(0, len(generation.passages), generation.index, generation.keyword, generation.tokens)

    @classmethod
    def of(cls, generation: Generation, start: int, stop: int, ef_search: int) -> Partition:
        """Rows ``start:stop`` of the (memory-mapped) generation. The vectors are copied into a
        vector index rebuilt with the generation's own FAISS factory; the word pieces stay
        memory-mapped views (the biggest part of a generation; the page cache keeps what is hot)."""
        vectors = np.ascontiguousarray(generation.vectors[start:stop], dtype=np.float32)
        index = vector_index(vectors, str(generation.manifest.get("faiss_factory", "Flat")))
        tune_for_search(index, ef_search)
        table = generation.tokens
        first, last = int(table.offsets[start]), int(table.offsets[stop])
        tokens = TokenTable(
            table.vectors[first:last],
            table.starts[first:last],
            np.asarray(table.offsets[start : stop + 1]) - first,
        )
        return cls(start, stop - start, index, generation.keyword.subset(start, stop), tokens)

    def holds(self, row: int) -> bool:
        return self.start <= row < self.start + self.size

    def dense(self, vector: Vectors, depth: int) -> Ranked:
        depth = min(depth, self.size)
        if depth == 0:
            return []
        scores, rows = self.index.search(vector.reshape(1, -1), depth)
        found = [(int(r) + self.start, float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]
        return merge([found], depth)

    def keyword_search(self, text: str, depth: int) -> Ranked:
        rows, scores = self.keyword.search(text, depth)
        return [(row + self.start, score) for row, score in zip(rows.tolist(), scores.tolist(), strict=True)]

    def first_stage(self, vector: Vectors, text: str, depth: int, dense: bool, keyword: bool) -> FirstStage:
        return FirstStage(
            self.dense(vector, depth) if dense else [], self.keyword_search(text, depth) if keyword else []
        )

    def late(self, query_tokens: Vectors, rows: Sequence[int]) -> Ranked:
        """Late-interaction scores of the ``rows`` this partition holds (others are left out)."""
        mine = [row for row in rows if self.holds(row)]
        pieces = [self.tokens.rows(row - self.start) for row in mine]
        gathered = (
            np.concatenate([np.asarray(self.tokens.vectors[s]) for s in pieces])
            if pieces
            else np.zeros((0, 1))
        )
        bounds = np.concatenate([[0], np.cumsum([s.stop - s.start for s in pieces])]).tolist()
        scores = late_interaction(query_tokens, gathered, bounds)
        return list(zip(mine, scores.tolist(), strict=True))

    def token_vectors(self, rows: Sequence[int]) -> dict[int, TokenVectors]:
        """Stored word-piece vectors (float16) and their document offsets, of the rows held here."""
        found: dict[int, TokenVectors] = {}
        for row in rows:
            if self.holds(row):
                piece = self.tokens.rows(row - self.start)
                found[row] = (np.asarray(self.tokens.vectors[piece]), np.asarray(self.tokens.starts[piece]))
        return found


class LocalShards:
    """Partitions in this process, asked one after the other (the embedded default: just one)."""

    def __init__(self, partitions: Sequence[Partition]) -> None:
        self.partitions = list(partitions)

    def first_stage(
        self, vector: Vectors, text: str, depth: int, dense: bool, keyword: bool
    ) -> list[FirstStage]:
        return [part.first_stage(vector, text, depth, dense, keyword) for part in self.partitions]

    def late(self, query_tokens: Vectors, rows: Sequence[int]) -> list[Ranked]:
        return [part.late(query_tokens, rows) for part in self.partitions]

    def tokens(self, rows: Sequence[int]) -> dict[int, TokenVectors]:
        found: dict[int, TokenVectors] = {}
        for part in self.partitions:
            found.update(part.token_vectors(rows))
        return found
