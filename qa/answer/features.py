"""What the learned reader knows of a candidate sentence: numbers computed from what search already
holds at question time, with no model call.

The inputs are the question (text, vector, word-piece vectors) and the top passages' ``Evidence``
(their stored word-piece vectors, placed at document offsets). Each candidate sentence of those
passages gets one row of ``FEATURES``:

- late interaction (max-sim) between the question's pieces and the sentence's pieces: mean, a mean
  weighted by how specific each question piece is among the candidates (a piece that matches every
  candidate, such as the document's subject, counts little), min, max, spread, share above 0.6 and
  0.8, and the reverse direction; the cosine of the sentence's mean-pooled pieces with the question;
- the same for the sentence's whole passage, and each score relative to the best candidate;
- word overlap with the question (stems, with an IDF computed over the candidates themselves),
  bigrams, new words, length and position in the passage;
- soft answer-type cues (a year, a month, a digit, a number word, a unit, capitalised words the
  question lacks) and their products with the question's class (``qa.lang.en.answers``).

Nothing vetoes a sentence: the weights (``qa.answer.weights``) decide how much each cue counts.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from qa.core.types import Evidence, Query
from qa.ingest.chunking import sentences
from qa.lang.en import answers as en

F32 = npt.NDArray[np.float32]

BASE_FEATURES: tuple[str, ...] = (
    "ms_mean", "ms_w", "ms_min", "ms_max", "ms_std", "ms_p80", "ms_p60", "ms_rev", "cos_pool",
    "psg_ms_mean", "psg_cos_pool", "ms_mean_rel", "ms_w_rel", "cos_pool_rel", "ms_mean_z", "ms_rank",
    "lex_frac", "lex_idf", "lex_idf_rel", "lex_bigram", "new_words", "log_len", "is_first", "position",
    "passage_rank",
    "has_year", "has_month", "has_digit", "has_numword", "has_unit", "new_caps",
    *(f"wh_{name}" for name in en.QUESTION_CLASSES),
    "when_x_date", "quant_x_num", "who_x_caps", "where_x_caps", "n_cands",
)  # fmt: skip
# the sentence before and after in the same passage ("It reaches 212 metres" after the sentence that
# names the lake), and the better of a sentence and the one before it
NEIGHBOURED = ("ms_mean", "ms_w", "lex_idf", "ms_max")
# pairwise products of the strongest signals: a linear model's only way to weigh them together
CROSSED = ("ms_mean", "ms_w", "lex_idf", "ms_mean_rel", "cos_pool", "psg_ms_mean")
FEATURES: tuple[str, ...] = (
    *BASE_FEATURES,
    *(f"{where}_{name}" for name in NEIGHBOURED for where in ("prev", "next", "ctx")),
    *(f"{a}*{b}" for i, a in enumerate(CROSSED) for b in CROSSED[i:]),
)
COLUMN = {name: i for i, name in enumerate(FEATURES)}


@dataclass(frozen=True)
class Candidate:
    """A candidate answer sentence: ``evidence[rank].document.text[start:end]``."""

    rank: int  # its passage's place among the evidence, best first
    start: int
    end: int


def candidates(evidence: Sequence[Evidence]) -> list[Candidate]:
    """Every sentence of every passage, in passage order; a sentence two passages share is read once."""
    found: list[Candidate] = []
    seen: set[tuple[str, int, int]] = set()
    for rank, item in enumerate(evidence):
        passage = item.passage
        for start, end in sentences(item.document.text, passage.start, passage.end):
            key = (passage.doc_id, start, end)
            if key not in seen:
                seen.add(key)
                found.append(Candidate(rank, start, end))
    return found


def featurize(query: Query, evidence: Sequence[Evidence], found: Sequence[Candidate]) -> F32:
    """One row of ``FEATURES`` per candidate of ``found``."""
    n = len(found)
    X = np.zeros((n, len(FEATURES)), dtype=np.float32)
    if not n:
        return X
    q_tok = np.asarray(query.tokens, dtype=np.float32)
    q_vec = np.asarray(query.vector, dtype=np.float32)
    width = max(len(q_tok), 1)
    # question pieces x each passage's pieces, once per passage
    sims: dict[int, F32] = {}
    tokens: dict[int, F32] = {}
    passage_ms: dict[int, float] = {}
    passage_pool: dict[int, float] = {}
    for rank in sorted({c.rank for c in found}):
        tok = np.asarray(evidence[rank].tokens, dtype=np.float32)
        tokens[rank] = tok
        sims[rank] = q_tok @ tok.T if len(q_tok) else np.zeros((0, len(tok)), np.float32)
        passage_ms[rank] = float(sims[rank].max(axis=1).mean()) if sims[rank].size else 0.0
        pool = tok.sum(axis=0) if len(tok) else np.zeros(q_vec.shape, np.float32)
        passage_pool[rank] = float(pool @ q_vec / (float(np.sqrt(pool @ pool)) + 1e-9))
    best_rows = np.zeros((n, width), dtype=np.float32)
    positions: dict[int, int] = {}
    question = query.text
    q_words = en.content_words(question)
    q_set = set(q_words)
    q_bigrams = set(itertools.pairwise(q_words))
    q_lower = question.lower()
    words_of: list[list[str]] = []
    for i, c in enumerate(found):
        item = evidence[c.rank]
        lo, hi = np.searchsorted(item.starts, (c.start, c.end))  # ascending; context pieces are -1
        s = sims[c.rank][:, lo:hi]
        text = item.document.text[c.start : c.end]
        if s.size:
            best = s.max(axis=1)
            best_rows[i, : len(best)] = best
            X[i, COLUMN["ms_rev"]] = float(s.max(axis=0).mean())
            pool = tokens[c.rank][lo:hi].sum(axis=0)
            X[i, COLUMN["cos_pool"]] = float(pool @ q_vec / (float(np.sqrt(pool @ pool)) + 1e-9))
        X[i, COLUMN["psg_ms_mean"]] = passage_ms[c.rank]
        X[i, COLUMN["psg_cos_pool"]] = passage_pool[c.rank]
        X[i, COLUMN["passage_rank"]] = c.rank
        positions[c.rank] = positions.get(c.rank, -1) + 1
        X[i, COLUMN["position"]] = min(positions[c.rank], 10)
        X[i, COLUMN["is_first"]] = float(positions[c.rank] == 0)
        words = en.content_words(text)
        words_of.append(words)
        X[i, COLUMN["log_len"]] = math.log1p(len(words))
        X[i, COLUMN["has_year"]] = float(bool(en.YEAR.search(text)))
        X[i, COLUMN["has_month"]] = float(bool(en.MONTH.search(text)))
        X[i, COLUMN["has_digit"]] = float(bool(en.DIGIT.search(text)))
        X[i, COLUMN["has_numword"]] = float(bool(en.NUMBER_WORD.search(text)))
        X[i, COLUMN["has_unit"]] = float(bool(en.UNIT.search(text)))
        caps = {w.lower() for w in en.CAPITALISED_WORD.findall(" " + text)}
        X[i, COLUMN["new_caps"]] = min(len([w for w in caps if w not in q_lower]), 10)
    # per question piece: pieces that match every candidate (the subject) count little
    weight = np.clip(1.0 - best_rows.mean(axis=0), 0.05, None)
    X[:, COLUMN["ms_mean"]] = best_rows.mean(axis=1)
    X[:, COLUMN["ms_w"]] = best_rows @ weight / weight.sum()
    X[:, COLUMN["ms_min"]] = best_rows.min(axis=1)
    X[:, COLUMN["ms_max"]] = best_rows.max(axis=1)
    X[:, COLUMN["ms_std"]] = best_rows.std(axis=1)
    X[:, COLUMN["ms_p80"]] = (best_rows > 0.8).mean(axis=1)
    X[:, COLUMN["ms_p60"]] = (best_rows > 0.6).mean(axis=1)
    _overlap(X, words_of, q_set, q_bigrams)
    for name in ("ms_mean", "ms_w", "cos_pool", "lex_idf"):
        X[:, COLUMN[f"{name}_rel"]] = X[:, COLUMN[name]] - X[:, COLUMN[name]].max()
    v = X[:, COLUMN["ms_mean"]]
    X[:, COLUMN["ms_mean_z"]] = (v - v.mean()) / (v.std() + 1e-3)
    X[:, COLUMN["ms_rank"]] = np.argsort(np.argsort(-v, kind="stable"), kind="stable") / max(n - 1, 1)
    kind = en.question_class(question)
    X[:, COLUMN[f"wh_{kind}"]] = 1.0
    date = np.maximum(X[:, COLUMN["has_year"]], X[:, COLUMN["has_month"]])
    number = np.maximum(X[:, COLUMN["has_digit"]], X[:, COLUMN["has_numword"]])
    named = (X[:, COLUMN["new_caps"]] > 0).astype(np.float32)
    X[:, COLUMN["when_x_date"]] = date * (kind == "when")
    X[:, COLUMN["quant_x_num"]] = number * (kind == "how_quant")
    X[:, COLUMN["who_x_caps"]] = named * (kind == "who")
    X[:, COLUMN["where_x_caps"]] = named * (kind == "where")
    X[:, COLUMN["n_cands"]] = math.log(n)
    _neighbours(X, found)
    for i, a in enumerate(CROSSED):
        for b in CROSSED[i:]:
            X[:, COLUMN[f"{a}*{b}"]] = X[:, COLUMN[a]] * X[:, COLUMN[b]]
    return X


def _neighbours(X: F32, found: Sequence[Candidate]) -> None:
    """The previous and next sentence's scores within the same passage (0 at a passage's edge)."""
    n = len(found)
    follows = np.array([i > 0 and found[i - 1].rank == found[i].rank for i in range(n)], dtype=bool)
    for name in NEIGHBOURED:
        v = X[:, COLUMN[name]]
        before = np.zeros(n, dtype=np.float32)
        before[1:] = np.where(follows[1:], v[:-1], 0.0)
        after = np.zeros(n, dtype=np.float32)
        after[:-1] = np.where(follows[1:], v[1:], 0.0)
        X[:, COLUMN[f"prev_{name}"]] = before
        X[:, COLUMN[f"next_{name}"]] = after
        X[:, COLUMN[f"ctx_{name}"]] = np.maximum(v, before)


def _overlap(X: F32, words_of: list[list[str]], q_set: set[str], q_bigrams: set[tuple[str, str]]) -> None:
    """Word overlap with the question, with an IDF over the candidates themselves."""
    n = len(words_of)
    df: dict[str, int] = {}
    for words in words_of:
        for w in set(words):
            df[w] = df.get(w, 0) + 1
    idf = {w: math.log((n + 1) / (df.get(w, 0) + 0.5)) for w in q_set}
    total_idf = sum(idf.values()) or 1.0
    for i, words in enumerate(words_of):
        ws = set(words)
        shared = q_set & ws
        X[i, COLUMN["lex_frac"]] = len(shared) / max(len(q_set), 1)
        X[i, COLUMN["lex_idf"]] = sum(idf[w] for w in shared) / total_idf
        pairs = set(itertools.pairwise(words))
        X[i, COLUMN["lex_bigram"]] = len(q_bigrams & pairs) / max(len(q_bigrams), 1)
        X[i, COLUMN["new_words"]] = math.log1p(len(ws - q_set))
