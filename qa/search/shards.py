"""Shards: where a question's candidates come from, and how their answers merge into one ranking.

A ``Searcher`` asks its ``Shards`` for three things: first-stage candidates (dense and keyword,
each shard's own top ``depth``), late-interaction scores of given rows, and the stored word-piece
vectors of given rows. The single-node service has one ``Partition`` covering the whole
generation; the Ray service (``qa.distributed``) has N shard actors, each holding a ``Partition``
of contiguous rows (pieces of segments). Merging lives in the ``Searcher``, the same code in both
cases, so the two return the same passages in the same order:

- dense: each segment's top ``depth`` by inner product (exact products, or the segment's own
  approximate index when it is large), tombstoned rows left out; the global top ``depth`` is
  among their union, so the merge is exact for exact search.
- keyword: BM25 with the statistics of every segment's live rows summed (``qa.index.keyword``),
  so every shard scores with corpus-wide IDF and average length.
- ties (equal scores) go to the lower row everywhere, so a merge cannot reorder them.
- a ``Filter`` (``qa.core.filters``) is applied inside each segment: its allowed rows are a mask
  (live rows of matching documents), the dense search's ID selector and a mask on keyword scores,
  so a shard returns its best ``depth`` allowed rows, not its best ``depth`` rows thinned out.
- keyword words the vocabulary has never seen are corrected first (``qa.search.spelling``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from qa.core.filters import Filter
from qa.core.kept import Kept
from qa.core.types import TokenVectors, Vectors
from qa.index.generations import Generation, search_selected, tune_for_search
from qa.index.keyword import LiveSegment, Statistics, best, length_norms, scores, statistics, stemmer, totals
from qa.index.segments import Segment
from qa.search.late import late_interaction, one_blas_thread
from qa.search.spelling import Speller, raw_words

Ranked = list[tuple[int, float]]  # (passage row in the generation, score), best first
Mask = npt.NDArray[np.bool_]
EXACT_BELOW = 4096  # allowed rows of a segment searched exactly rather than through its ANN index
KEPT_FILTERS = 32  # filters whose allowed rows a partition keeps, the latest used
DECODED_PIECES = 16384  # decoded word pieces a partition keeps (1.5 KB each: 25 MB)


@dataclass(frozen=True)
class FirstStage:
    """One shard's first-stage candidates."""

    dense: Ranked
    keyword: Ranked


class Shards(Protocol):
    """The parts of a generation a question is searched in, asked all at once."""

    def first_stage(
        self,
        vector: Vectors,
        text: str,
        depth: int,
        dense: bool,
        keyword: bool,
        only: Filter | None = None,
        fixable: Sequence[str] | None = None,
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


def segment_groups(generation: Generation, shards: int) -> list[int]:
    """Row boundaries of ``shards`` partitions that are groups of whole segments: each near-equal
    split point moves to the nearest segment boundary within half a share of it; only a segment
    larger than that is cut (searched exactly within the cut, see ``Partition.of``)."""
    size = len(generation.passages)
    edges = np.asarray(generation.bases, dtype=np.int64)
    bounds = []
    for point in split_points(size, shards):
        nearest = int(edges[np.argmin(np.abs(edges - point))]) if len(edges) else point
        bounds.append(nearest if 2 * shards * abs(nearest - point) <= size else point)
    return [max(bounds[: i + 1]) for i in range(len(bounds))]  # never decreasing


@dataclass(frozen=True)
class Piece:
    """Rows ``lo:hi`` of one segment, whose row 0 is row ``base`` of the generation."""

    segment: Segment
    base: int
    live: npt.NDArray[np.bool_]
    lo: int
    hi: int

    @property
    def whole(self) -> bool:
        return self.lo == 0 and self.hi == self.segment.size

    def dense(self, vector: Vectors, depth: int, allowed: Mask | None = None) -> Ranked:
        """Best ``depth`` live rows (of those ``allowed``, when given: a mask over the segment) by
        inner product: the segment's approximate index when it has one and this piece is all of
        it (with an ID selector for ``allowed``), exact products otherwise."""
        live = (self.live if allowed is None else allowed)[self.lo : self.hi]
        count = int(live.sum())
        depth = min(depth, count)
        if depth <= 0:
            return []
        if self.segment.ann is not None and self.whole:
            if allowed is None:
                wanted = min(depth + int((~live).sum()), self.segment.size)  # room for tombstoned rows
                scores, rows = self.segment.ann.search(vector.reshape(1, -1), wanted)
                pairs = zip(rows[0], scores[0], strict=True)
                return self._named([(int(r), float(s)) for r, s in pairs if r >= 0 and live[r]], depth)
            if count > EXACT_BELOW:
                with contextlib.suppress(RuntimeError):  # an index type without ID selectors
                    found = search_selected(self.segment.ann, vector, depth, live)
                    if len(found) >= depth:
                        return self._named(found, depth)
        # exact products: no index, a cut segment, few allowed rows, or the index fell short of them
        chosen = np.arange(len(live)) if allowed is None else np.flatnonzero(live)
        vectors = np.asarray(self.segment.vectors[self.lo : self.hi])
        products = (vectors if allowed is None else vectors[chosen]) @ np.asarray(vector, dtype=np.float32)
        if allowed is None:
            products[~live] = -np.inf
        top = np.argpartition(-products, depth - 1)[:depth] if depth < len(products) else range(len(products))
        return self._named([(int(chosen[r]), float(products[r])) for r in top], depth)

    def _named(self, found: Ranked, depth: int) -> Ranked:
        """Rows of this piece as rows of the generation, best first."""
        return merge([[(row + self.base + self.lo, score) for row, score in found]], depth)

    def keyword(
        self,
        stats: Statistics,
        words: Sequence[str],
        depth: int,
        allowed: Mask | None = None,
        norm: npt.NDArray[np.float32] | None = None,
    ) -> Ranked:
        assert self.segment.keyword is not None
        found = scores((self.segment.keyword, self.live), stats, words, norm)
        if allowed is not None:
            found[~allowed] = 0
        rows = np.arange(self.base + self.lo, self.base + self.hi, dtype=np.int64)
        return best(found[self.lo : self.hi], rows, depth)


def _pieces(generation: Generation, start: int, stop: int) -> list[Piece]:
    pieces = []
    for segment, base, live in zip(
        generation.segments, generation.bases.tolist(), generation.live, strict=False
    ):
        lo, hi = max(start - base, 0), min(stop - base, segment.size)
        if lo < hi:
            pieces.append(Piece(segment, base, live, lo, hi))
    return pieces


class Partition:
    """Rows ``start:start + size`` of a generation, as pieces of its segments; everything it
    returns names rows of the whole generation. Keyword scores use the statistics of every
    segment of the generation, not only this partition's, so they equal one index's."""

    def __init__(self, generation: Generation, start: int, stop: int) -> None:
        self.start, self.size = start, stop - start
        self.pieces = _pieces(generation, start, stop)
        self.statistics_of: list[LiveSegment] = [
            (segment.keyword, live)
            for segment, live in zip(generation.segments, generation.live, strict=True)
            if segment.keyword is not None
        ]
        self.stemmer = stemmer()
        self.speller = Speller(self.statistics_of, self.stemmer)
        self.spelling = True  # correct unknown keyword words (off: to measure what it changes)
        self.allowed_by: dict[Filter, list[Mask]] = {}  # per piece, the latest filters used
        # what keyword search asks of every question but is the same for all of a generation's:
        # live passages and their total length, and per piece BM25's length normalisation
        self.totals = totals(self.statistics_of)
        self._norms: dict[int, tuple[float, npt.NDArray[np.float32]]] = {}
        self._decoded: Kept[int, TokenVectors] = Kept(DECODED_PIECES, lambda tokens: len(tokens[1]))
        one_blas_thread()  # its products are small (qa.search.late.one_blas_thread)

    @classmethod
    def whole(cls, generation: Generation) -> Partition:
        """The whole generation as it was loaded (no copy)."""
        return cls(generation, 0, len(generation.passages))

    @classmethod
    def of(cls, generation: Generation, start: int, stop: int, ef_search: int) -> Partition:
        """Rows ``start:stop`` of the (memory-mapped) generation. A segment cut by the bounds is
        searched exactly within them; a whole one with its own approximate index, if it has one."""
        for piece in _pieces(generation, start, stop):
            if piece.segment.ann is not None:
                tune_for_search(piece.segment.ann, ef_search)
        return cls(generation, start, stop)

    def holds(self, row: int) -> bool:
        return self.start <= row < self.start + self.size

    def _locate(self, row: int) -> tuple[Piece, int] | None:
        for piece in self.pieces:
            if piece.base + piece.lo <= row < piece.base + piece.hi:
                return piece, row - piece.base
        return None

    def allowed(self, only: Filter | None) -> list[Mask | None]:
        """Per piece, the rows ``only`` allows (live rows of matching documents, a mask over the
        piece's segment), or None for each when nothing is filtered."""
        if not only:
            return [None] * len(self.pieces)
        masks = self.allowed_by.get(only)
        if masks is None:
            masks = []
            for piece in self.pieces:
                segment, mask = piece.segment, np.zeros(piece.segment.size, dtype=bool)
                fields = segment.fields
                for doc_id, entry in segment.entries.items():
                    if only.matches(doc_id, fields.get(doc_id, {})):
                        mask[entry.first : entry.first + entry.count] = True
                masks.append(mask & piece.live)
            while len(self.allowed_by) >= KEPT_FILTERS:
                self.allowed_by.pop(next(iter(self.allowed_by)))
            self.allowed_by[only] = masks
        return list(masks)

    def dense(self, vector: Vectors, depth: int, only: Filter | None = None) -> Ranked:
        allowed = self.allowed(only)
        pairs = zip(self.pieces, allowed, strict=True)
        return merge([piece.dense(vector, depth, mask) for piece, mask in pairs], depth)

    def keyword_words(self, text: str, fixable: Sequence[str] | None = None) -> list[str]:
        """The question's keyword words, stemmed, those the vocabulary lacks corrected (of the
        ``fixable`` ones, when given: ``qa.search.spelling.fixable``)."""
        raw = raw_words(text)
        stems: list[str] = self.stemmer.stemWords(raw)
        return self.speller.correct(raw, stems, fixable) if self.spelling else stems

    def keyword_search(
        self, text: str, depth: int, only: Filter | None = None, fixable: Sequence[str] | None = None
    ) -> Ranked:
        words = self.keyword_words(text, fixable)
        if not words or depth <= 0:
            return []
        stats = statistics(self.statistics_of, words, self.totals)
        allowed = self.allowed(only)
        found = [
            piece.keyword(stats, words, depth, mask, self._norm(number, stats.average_length))
            for number, (piece, mask) in enumerate(zip(self.pieces, allowed, strict=True))
        ]
        return merge(found, depth)

    def _norm(self, number: int, average_length: float) -> npt.NDArray[np.float32] | None:
        """Piece ``number``'s BM25 length normalisation at ``average_length`` (the generation's:
        worked out once, kept for the next question)."""
        segment = self.pieces[number].segment.keyword
        if segment is None:
            return None
        kept = self._norms.get(number)
        if kept is None or kept[0] != average_length:
            kept = (average_length, length_norms(segment, average_length))
            self._norms[number] = kept
        return kept[1]

    def first_stage(
        self,
        vector: Vectors,
        text: str,
        depth: int,
        dense: bool,
        keyword: bool,
        only: Filter | None = None,
        fixable: Sequence[str] | None = None,
    ) -> FirstStage:
        return FirstStage(
            self.dense(vector, depth, only) if dense else [],
            self.keyword_search(text, depth, only, fixable) if keyword else [],
        )

    def late(self, query_tokens: Vectors, rows: Sequence[int]) -> Ranked:
        """Late-interaction scores of the ``rows`` this partition holds (others are left out)."""
        found = self.token_vectors(rows)
        mine = [row for row in rows if row in found]
        pieces = [found[row][0] for row in mine]
        gathered = np.concatenate(pieces) if pieces else np.zeros((0, 1), dtype=np.float32)
        bounds = np.concatenate([[0], np.cumsum([len(p) for p in pieces])]).tolist()
        scores = late_interaction(query_tokens, gathered, bounds)
        return list(zip(mine, scores.tolist(), strict=True))

    def token_vectors(self, rows: Sequence[int]) -> dict[int, TokenVectors]:
        """Stored word-piece vectors (decoded to float32) and their document offsets, of the rows
        held here. The latest decoded rows are kept (``DECODED_PIECES`` word pieces at most): late
        interaction and the reader ask for the same rows, and questions asked together share most
        of their candidates. The arrays handed out are read-only, so no caller can change a kept one."""
        found: dict[int, TokenVectors] = {}
        decoded = self._decoded
        for row in rows:
            kept = decoded.get(row)
            if kept is not None:
                found[row] = kept
                continue
            located = self._locate(row) if self.holds(row) else None
            if located is not None:
                piece, local = located
                table = piece.segment.tokens
                vectors = table.decoded(local)
                starts = np.array(table.starts[table.rows(local)])
                vectors.flags.writeable = starts.flags.writeable = False
                found[row] = (vectors, starts)
                decoded.put(row, found[row])
        return found


class LocalShards:
    """Partitions in this process, asked one after the other (the embedded default: just one)."""

    def __init__(self, partitions: Sequence[Partition]) -> None:
        self.partitions = list(partitions)

    def first_stage(
        self,
        vector: Vectors,
        text: str,
        depth: int,
        dense: bool,
        keyword: bool,
        only: Filter | None = None,
        fixable: Sequence[str] | None = None,
    ) -> list[FirstStage]:
        return [
            part.first_stage(vector, text, depth, dense, keyword, only, fixable) for part in self.partitions
        ]

    def late(self, query_tokens: Vectors, rows: Sequence[int]) -> list[Ranked]:
        return [part.late(query_tokens, rows) for part in self.partitions]

    def tokens(self, rows: Sequence[int]) -> dict[int, TokenVectors]:
        found: dict[int, TokenVectors] = {}
        for part in self.partitions:
            found.update(part.token_vectors(rows))
        return found
