"""Keyword search: BM25 over per-segment term statistics, summed at query time (the Lucene way).

Texts are tokenized by bm25s' tokenizer (stop words out, Snowball-stemmed by the language); the
scoring is our own, a few lines of numpy. bm25s stores each (word, passage) pair's *final* score,
IDF and length normalisation already applied with the statistics of the corpus it was built on,
so an index of one segment cannot be combined with another's: the document frequencies and the
average length of the union are not recoverable from it. A segment here keeps raw counts
instead (per word its postings: passage row and term frequency; per passage its length), and a
query sums the counts of the live rows of every segment, so the scores equal those of one bm25s
index over the same passages (bm25s' defaults: Lucene's BM25, k1 = 1.5, b = 0.75).
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from qa.index.storage import read_array
from qa.lang.en import ENGLISH

logging.getLogger("bm25s").setLevel(logging.ERROR)

K1 = 1.5
B = 0.75
Ranked = list[tuple[int, float]]


def stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer(ENGLISH.stemmer)


def words_of(texts: Sequence[str], snowball: Any = None) -> list[list[str]]:
    """Each text's keyword tokens (possibly none: a text of symbols has no words); ``snowball``
    is a stemmer to reuse (making one costs more than tokenizing a question)."""
    import bm25s

    if not texts:
        return []
    tokens = bm25s.tokenize(
        list(texts),
        stopwords=ENGLISH.stopwords,
        stemmer=snowball or stemmer(),
        show_progress=False,
        return_ids=False,
    )
    return [list(words) for words in tokens]


class KeywordWriter:
    """Collects the term counts of a segment's passages, batch after batch, as compact arrays
    (a word's id, a row, a count per pair), then writes them sorted by word."""

    def __init__(self) -> None:
        self.stemmer = stemmer()
        self.ids: dict[str, int] = {}
        self.pairs: list[npt.NDArray[np.int64]] = []  # (word id, row, count) rows per batch
        self.lengths: list[int] = []

    def add(self, texts: Sequence[str]) -> None:
        triples: list[tuple[int, int, int]] = []
        for words in words_of(texts, self.stemmer):
            row = len(self.lengths)
            self.lengths.append(len(words))
            for word, count in Counter(words).items():
                triples.append((self.ids.setdefault(word, len(self.ids)), row, count))
        if triples:
            self.pairs.append(np.asarray(triples, dtype=np.int64))

    def save(self, folder: Path) -> dict[str, Any]:
        """Write vocabulary, postings and lengths; return their shapes for the segment's record."""
        folder.mkdir(parents=True, exist_ok=True)
        pairs = np.concatenate(self.pairs) if self.pairs else np.zeros((0, 3), dtype=np.int64)
        order = np.lexsort((pairs[:, 1], pairs[:, 0]))  # by word, then row
        pointer = np.zeros(len(self.ids) + 1, dtype=np.int64)
        np.cumsum(np.bincount(pairs[:, 0], minlength=len(self.ids)), out=pointer[1:])
        (folder / "vocabulary.json").write_text(
            json.dumps(list(self.ids), ensure_ascii=False), encoding="utf-8"
        )
        pairs[order, 1].astype("<i4").tofile(folder / "rows.i32")
        pairs[order, 2].astype("<i4").tofile(folder / "tfs.i32")
        pointer.astype("<i8").tofile(folder / "pointer.i64")
        np.asarray(self.lengths, dtype="<i4").tofile(folder / "lengths.i32")
        return {"vocabulary": len(self.ids), "postings": len(pairs)}


@dataclass
class KeywordSegment:
    """One segment's term statistics: postings by word, and each passage's length in words."""

    vocabulary: dict[str, int]
    pointer: npt.NDArray[np.int64]
    rows: npt.NDArray[np.int32]
    tfs: npt.NDArray[np.int32]
    lengths: npt.NDArray[np.int32]

    @classmethod
    def load(cls, folder: Path, shape: dict[str, Any], size: int) -> KeywordSegment:
        words = json.loads((folder / "vocabulary.json").read_text(encoding="utf-8"))
        postings = int(shape["postings"])
        # plain arrays over the mapped files (np.asarray makes no copy): a slice of a memmap is a
        # memmap, whose making costs more than a question's whole BM25 sum on a small corpus
        return cls(
            {word: number for number, word in enumerate(words)},
            np.asarray(read_array(folder / "pointer.i64", "<i8", (len(words) + 1,))),
            np.asarray(read_array(folder / "rows.i32", "<i4", (postings,))),
            np.asarray(read_array(folder / "tfs.i32", "<i4", (postings,))),
            np.asarray(read_array(folder / "lengths.i32", "<i4", (size,))),
        )

    def postings(self, word: str) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
        number = self.vocabulary.get(word)
        if number is None:
            return np.zeros(0, np.int32), np.zeros(0, np.int32)
        span = slice(int(self.pointer[number]), int(self.pointer[number + 1]))
        return np.asarray(self.rows[span]), np.asarray(self.tfs[span])


# A segment as a query sees it: its statistics and which of its rows are live (not tombstoned).
LiveSegment = tuple[KeywordSegment, npt.NDArray[np.bool_]]


@dataclass(frozen=True)
class Statistics:
    """The corpus-wide figures BM25 needs for one query: over the live rows of every segment."""

    average_length: float
    idf: dict[str, float]


def totals(segments: Sequence[LiveSegment]) -> tuple[int, int]:
    """Live passages and their summed length in words, over ``segments``: the same for every
    question of a generation, so a searcher works them out once."""
    passages = sum(int(live.sum()) for _, live in segments)
    return passages, sum(int(part.lengths[live].sum()) for part, live in segments)


def statistics(
    segments: Sequence[LiveSegment], words: Sequence[str], counted: tuple[int, int] | None = None
) -> Statistics:
    """Live passages, their mean length and each word's document frequency, summed over segments
    (``counted``: their :func:`totals`, when already known)."""
    passages, total = counted if counted is not None else totals(segments)
    idf = {}
    for word in set(words):
        frequency = sum(int(live[part.postings(word)[0]].sum()) for part, live in segments)
        if frequency:
            idf[word] = math.log(1 + (passages - frequency + 0.5) / (frequency + 0.5))
    return Statistics(total / passages if total else 1.0, idf)  # no words anywhere: nothing scores


def length_norms(segment: KeywordSegment, average_length: float) -> npt.NDArray[np.float32]:
    """BM25's length normalisation of every row of ``segment``, k1 * (1 - b + b * length / average)."""
    norm: npt.NDArray[np.float32] = np.float32(K1) * (
        1 - B + B * segment.lengths.astype(np.float32) / np.float32(average_length)
    )
    return norm


def scores(
    part: LiveSegment, stats: Statistics, words: Sequence[str], norm: npt.NDArray[np.float32] | None = None
) -> npt.NDArray[np.float32]:
    """BM25 score of every row of one segment (0 for tombstoned rows and rows without the words);
    a word the question repeats counts each time, as in bm25s. ``norm``: the segment's
    :func:`length_norms` at ``stats.average_length``, when already known."""
    segment, live = part
    total = np.zeros(len(segment.lengths), dtype=np.float32)
    if norm is None:
        norm = length_norms(segment, stats.average_length)
    for word in words:
        if word not in stats.idf:
            continue
        rows, tfs = segment.postings(word)
        tf = tfs.astype(np.float32)
        total[rows] += np.float32(stats.idf[word]) * tf / (tf + norm[rows])
    total[~live] = 0
    return total


def best(found: npt.NDArray[np.float32], rows: npt.NDArray[np.int64], k: int) -> Ranked:
    """The ``k`` highest positive scores as (row, score), best first, the lower row on a tie."""
    positive = np.flatnonzero(found > 0)
    if len(positive) > k:
        kth = np.partition(found[positive], len(positive) - k)[len(positive) - k]
        positive = positive[found[positive] >= kth]
    chosen = positive[np.lexsort((rows[positive], -found[positive]))][:k]
    return list(zip(rows[chosen].tolist(), found[chosen].astype(float).tolist(), strict=True))
