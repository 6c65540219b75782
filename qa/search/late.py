"""Late interaction: each question word piece's best match among a text's word pieces, averaged.

The stored word pieces come decoded to float32 (``qa.index.segments.TokenTable.decoded``). A text
that writes out an acronym of the question ("research and development" for "R&D") is credited for
it (``credit``): the model's word pieces for "R", "&" and "D" resemble nothing in those words.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from threadpoolctl import threadpool_limits

from qa.core.types import Vectors

# How well a word piece of the question matches the same word in a passage: acronyms of the
# development set matched their own occurrences at 0.66-0.92 (median 0.86).
ACRONYM_MATCH = 0.8


# variables that, set in the environment, say how many threads BLAS may use: an explicit one wins
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def one_blas_thread() -> None:
    """Let numpy's BLAS use one thread in this process, unless the environment says otherwise.

    A question's products are small (a few thousand stored pieces by a dozen question pieces);
    a second BLAS thread saves a fraction of a millisecond on an idle machine, but OpenBLAS's
    workers spin after every call, so on a busy one (or beside the encoder's own threads) they
    steal the cores the next step needs: on two shared cores a question's search took 5-11 ms
    with two BLAS threads against 1.2-1.7 ms with one. Process-wide and lasting (OpenBLAS has no
    per-thread setting); called where searchers and partitions are made, so a process that only
    builds (``qa index``) keeps its threads, and one that has searched (a server building what
    POST /documents adds, training, evaluation) builds with one BLAS thread too. That limits
    numpy's and FAISS's OpenBLAS (the token codec's k-means), not the forward passes, which run
    in ONNX Runtime's or torch's own thread pools."""
    if not any(os.environ.get(name) for name in BLAS_THREAD_VARIABLES):
        threadpool_limits(limits=1, user_api="blas")


def late_interaction(query_tokens: Vectors, tokens: npt.NDArray[Any], bounds: Sequence[int]) -> Vectors:
    """MaxSim per segment: for each query word piece its best match among the segment's word
    pieces, averaged. Segment i is ``tokens[bounds[i]:bounds[i + 1]]``; an empty one scores 0, and
    so does every one for a question without word pieces (e.g. only a zero-width space)."""
    if len(bounds) < 2:
        return np.zeros(0, dtype=np.float32)
    if not len(query_tokens):
        return np.zeros(len(bounds) - 1, dtype=np.float32)
    similarities = inner_products(tokens, query_tokens)  # (pieces, query pieces)
    scores = np.zeros(len(bounds) - 1, dtype=np.float32)
    starts = np.asarray(bounds[:-1])
    nonempty = np.asarray(bounds[1:]) > starts
    if nonempty.any() and len(similarities):
        best = np.maximum.reduceat(similarities, starts[nonempty], axis=0)
        scores[nonempty] = best.mean(axis=1)
    return scores


def inner_products(tokens: npt.NDArray[Any], query_tokens: Vectors) -> Vectors:
    """``tokens @ query_tokens.T`` in float32. The stored pieces reach here decoded to float32
    (``TokenTable.decoded``), so this is one product; numpy, so that no question imports torch."""
    stored = np.asarray(tokens, dtype=np.float32)
    return stored @ np.asarray(query_tokens, dtype=np.float32).T


def best_matches(query_tokens: Vectors, texts: Sequence[npt.NDArray[Any]]) -> npt.NDArray[np.float32]:
    """For each text's word pieces, each question piece's best match among them (0 for a text
    without pieces): the rows whose means are late-interaction scores. One product for all."""
    best = np.zeros((len(texts), len(query_tokens)), dtype=np.float32)
    lengths = np.array([len(pieces) for pieces in texts])
    if not len(query_tokens) or not lengths.any():
        return best
    similarities = inner_products(np.concatenate(texts), query_tokens)  # (pieces, question pieces)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    nonempty = lengths > 0
    best[nonempty] = np.maximum.reduceat(similarities, starts[nonempty], axis=0)
    return best


def credited(query_tokens: Vectors, pieces: npt.NDArray[Any], acronym_pieces: Sequence[slice]) -> float:
    """Late interaction of a text that writes out acronyms of the question (:func:`credit`)."""
    if not len(pieces) or not len(query_tokens):
        return 0.0
    best = best_matches(query_tokens, [pieces])[0]
    credit(best, acronym_pieces)
    return float(best.mean())


def credit(best: npt.NDArray[np.float32], acronym_pieces: Sequence[slice]) -> None:
    """Raise, in place, a text's best matches for the question's word pieces of acronyms the text
    writes out: they match at least as well as the same word would (``ACRONYM_MATCH``), since the
    model cannot see that "R&D" and "research and development" are the same words."""
    for piece_range in acronym_pieces:
        best[piece_range] = np.maximum(best[piece_range], ACRONYM_MATCH)
