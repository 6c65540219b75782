"""Keyword search with bm25s: stop words out, Snowball-stemmed (by the language), saved with the vectors."""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from qa.lang.en import ENGLISH

logging.getLogger("bm25s").setLevel(logging.ERROR)


def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer(ENGLISH.stemmer)


class KeywordIndex:
    """BM25 over passages; row ``i`` of the index is the ``i``-th text it was built from."""

    def __init__(self, retriever: Any, size: int) -> None:
        self._retriever = retriever
        self._stemmer = _stemmer()
        self.size = size

    @classmethod
    def build(cls, texts: Sequence[str]) -> KeywordIndex:
        import bm25s

        if not texts:
            return cls(None, 0)  # an empty corpus: bm25s cannot index nothing, and nothing matches
        stemmer = _stemmer()
        tokens = bm25s.tokenize(
            list(texts), stopwords=ENGLISH.stopwords, stemmer=stemmer, show_progress=False
        )
        retriever = bm25s.BM25()
        retriever.index(tokens, show_progress=False)
        return cls(retriever, len(texts))

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        if self._retriever is None:
            return
        self._retriever.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path, size: int) -> KeywordIndex:
        import bm25s

        if size == 0:
            return cls(None, 0)
        return cls(bm25s.BM25.load(str(folder), mmap=False, show_progress=False), size)

    def search(self, query: str, k: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Row numbers and BM25 scores of the best ``k`` rows with a positive score, best first.

        Ties go to the lower row, whatever the index's size: a shard holding a slice of the rows
        (``subset``) then ranks its rows exactly as the whole index does, so merged shard results
        equal the single index's, boundary ties included."""
        import bm25s

        k = min(k, self.size)
        words = bm25s.tokenize(
            [query], stopwords=ENGLISH.stopwords, stemmer=self._stemmer, show_progress=False, return_ids=False
        )
        ids = self._retriever.get_tokens_ids(words[0]) if k > 0 and words and words[0] else []
        if not ids:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        scores = np.asarray(self._retriever.get_scores_from_ids(ids), dtype=np.float32)
        rows = np.flatnonzero(scores > 0)
        if len(rows) > k:
            kth = np.partition(scores[rows], len(rows) - k)[len(rows) - k]
            rows = rows[scores[rows] >= kth]
        rows = rows[np.lexsort((rows, -scores[rows]))][:k]
        return rows.astype(np.int64), scores[rows]

    def subset(self, start: int, stop: int) -> KeywordIndex:
        """Rows ``start:stop`` (renumbered from 0) scored with the WHOLE index's statistics.

        bm25s stores each (word, row) pair's final BM25 score, IDF and length normalisation
        already applied with corpus-wide document frequencies and average length; keeping the
        pairs of these rows keeps those global statistics, so a shard's scores equal the
        single index's to the bit (the query's words are summed in the same order)."""
        if self._retriever is None or start >= stop:
            return KeywordIndex(None, 0)
        scores = self._retriever.scores
        indices = np.asarray(scores["indices"])
        keep = (indices >= start) & (indices < stop)
        kept_before = np.concatenate([[0], np.cumsum(keep)])
        sliced = copy.copy(self._retriever)
        sliced.scores = {
            "data": np.asarray(scores["data"])[keep],
            "indices": (indices[keep] - start).astype(indices.dtype),
            "indptr": kept_before[np.asarray(scores["indptr"])].astype(np.asarray(scores["indptr"]).dtype),
            "num_docs": stop - start,
        }
        return KeywordIndex(sliced, stop - start)
