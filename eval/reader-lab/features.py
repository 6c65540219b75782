"""Features of a candidate answer sentence, from what the service has at question time: the question's
text, vector and word-piece vectors, and each retrieved passage's stored word-piece vectors (with
their character starts). No model call; no corpus statistics (the "IDF" is computed among the
question's own candidates, so words every candidate shares, like the page's subject, count little).

Nothing here names an entity or phrase of a document; answer types are soft features (the model
weighs them), never vetoes. Questions are lower-cased before any word rule (WikiQA has ALL-CAPS
questions; the model's tokenizer is uncased already).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Passage:
    """A retrieved passage: its text and stored word-piece vectors (L2-normalised; float16 is fine)
    with the character offset in ``text`` where each piece starts."""

    text: str
    tokens: npt.NDArray[Any]
    starts: npt.NDArray[np.int32]


@dataclass(frozen=True)
class Candidate:
    """A candidate answer sentence: ``passages[passage].text[start:end]``; passages in search order."""

    passage: int
    start: int
    end: int


STOP = frozenset(
    """a an the of in on at to for from by with about as into over after before between during under
    is are was were be been being am do does did done has have had having will would shall should can
    could may might must and or but if then than that this these those it its it's he she they them
    his her their there here what which who whom whose when where why how whats s t not no yes
    i you we me my your our us one ones also did does get got so such very just much many""".split()
)
WH = ("what", "which", "when", "where", "who", "why", "how", "how_quant", "other")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})s?\b")
_MONTH = re.compile(
    r"\b(january|february|march|april|may|june|july|august|september|october|november|december)\b", re.I
)
_NUMBER = re.compile(r"\d")
_NUMWORD = re.compile(r"\b(one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand|million|billion|dozen)\b", re.I)
_UNIT = re.compile(r"[%$€£]|\b(percent|per cent|dollars?|km|miles?|metres?|meters?|feet|kg|tons?)\b", re.I)
_CAP = re.compile(r"(?<=\s)[A-Z][\w\-]+")
_QUANT = re.compile(r"\bhow (many|much|long|old|far|big|large|tall|high|often|fast|deep|wide)\b")
_WHEN_WHAT = re.compile(r"\b(what|which) (year|date|day|month|century|decade|time|era|period)\b")


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer  # PyStemmer, already a dependency of the service

    return Stemmer.Stemmer("english")


def content_words(text: str) -> list[str]:
    words = [w for w in _WORD.findall(text.lower()) if w not in STOP]
    return list(_stemmer().stemWords(words))


def wh_class(question: str) -> str:
    q = question.lower()
    if _QUANT.search(q):
        return "how_quant"
    if _WHEN_WHAT.search(q):
        return "when"
    words = _WORD.findall(q)
    for w in words:
        if w in ("what", "which", "when", "where", "who", "whom", "whose", "why", "how"):
            return "who" if w in ("whom", "whose") else w
    return "other"


FEATURES = [
    "ms_mean", "ms_w", "ms_min", "ms_max", "ms_std", "ms_p80", "ms_p60", "ms_rev", "cos_pool",
    "psg_ms_mean", "psg_cos_pool", "ms_mean_rel", "ms_w_rel", "cos_pool_rel", "ms_mean_z", "ms_rank",
    "lex_frac", "lex_idf", "lex_idf_rel", "lex_bigram", "new_words", "log_len", "is_first", "position",
    "has_year", "has_month", "has_digit", "has_numword", "has_unit", "new_caps",
    *[f"wh_{w}" for w in WH],
    "when_x_date", "quant_x_num", "who_x_caps", "where_x_caps", "n_cands",
]


def featurize(
    question: str,
    q_vector: F32,
    q_tokens: npt.NDArray[Any],
    passages: Sequence[Passage],
    candidates: Sequence[Candidate],
) -> F32:
    """One row of ``FEATURES`` per candidate."""
    n = len(candidates)
    q_tok = np.asarray(q_tokens, dtype=np.float32)
    q_vec = np.asarray(q_vector, dtype=np.float32)
    lq = max(len(q_tok), 1)
    X = np.zeros((n, len(FEATURES)), dtype=np.float32)
    col = {name: i for i, name in enumerate(FEATURES)}
    # late interaction: question pieces x each passage's pieces, once per passage
    sims: dict[int, F32] = {}
    toks: dict[int, F32] = {}
    psg_pool: dict[int, float] = {}
    psg_ms: dict[int, float] = {}
    for p in {c.passage for c in candidates}:
        tok = np.asarray(passages[p].tokens, dtype=np.float32)  # once per passage (float16 in store)
        toks[p] = tok
        sims[p] = q_tok @ tok.T if len(q_tok) else np.zeros((0, len(tok)), np.float32)
        psg_ms[p] = float(sims[p].max(axis=1).mean()) if sims[p].size else 0.0
        pool = tok.mean(axis=0)
        psg_pool[p] = float(pool @ q_vec / (np.linalg.norm(pool) + 1e-9))
    ms_rows = np.zeros((n, lq), dtype=np.float32)
    positions: dict[int, int] = {}
    q_words = content_words(question)
    q_set = set(q_words)
    q_bigrams = set(zip(q_words, q_words[1:], strict=False))
    q_lower = question.lower()
    cand_words: list[list[str]] = []
    for i, c in enumerate(candidates):
        passage = passages[c.passage]
        lo, hi = np.searchsorted(passage.starts, (c.start, c.end))  # starts ascend
        s = sims[c.passage][:, lo:hi]
        text = passage.text[c.start : c.end]
        if s.size:
            best = s.max(axis=1)
            ms_rows[i, : len(best)] = best
            X[i, col["ms_rev"]] = float(s.max(axis=0).mean())
            pool = toks[c.passage][lo:hi].sum(axis=0)
            X[i, col["cos_pool"]] = float(pool @ q_vec / (float(np.sqrt(pool @ pool)) + 1e-9))
        X[i, col["psg_ms_mean"]] = psg_ms[c.passage]
        X[i, col["psg_cos_pool"]] = psg_pool[c.passage]
        positions[c.passage] = positions.get(c.passage, -1) + 1
        X[i, col["position"]] = min(positions[c.passage], 10)
        X[i, col["is_first"]] = float(positions[c.passage] == 0)
        words = content_words(text)
        cand_words.append(words)
        X[i, col["log_len"]] = math.log1p(len(words))
        X[i, col["has_year"]] = float(bool(_YEAR.search(text)))
        X[i, col["has_month"]] = float(bool(_MONTH.search(text)))
        X[i, col["has_digit"]] = float(bool(_NUMBER.search(text)))
        X[i, col["has_numword"]] = float(bool(_NUMWORD.search(text)))
        X[i, col["has_unit"]] = float(bool(_UNIT.search(text)))
        caps = {w.lower() for w in _CAP.findall(" " + text)}
        X[i, col["new_caps"]] = min(len([w for w in caps if w not in q_lower]), 10)
    # per-question-piece weights: pieces that match every candidate (the subject) count little
    weight = np.clip(1.0 - ms_rows.mean(axis=0), 0.05, None) if n else np.ones(lq)
    X[:, col["ms_mean"]] = ms_rows.mean(axis=1)
    X[:, col["ms_w"]] = ms_rows @ weight / weight.sum()
    X[:, col["ms_min"]] = ms_rows.min(axis=1)
    X[:, col["ms_max"]] = ms_rows.max(axis=1)
    X[:, col["ms_std"]] = ms_rows.std(axis=1)
    X[:, col["ms_p80"]] = (ms_rows > 0.8).mean(axis=1)
    X[:, col["ms_p60"]] = (ms_rows > 0.6).mean(axis=1)
    # lexical overlap with an IDF over the candidates themselves
    df: dict[str, int] = {}
    for words in cand_words:
        for w in set(words):
            df[w] = df.get(w, 0) + 1
    idf = {w: math.log((n + 1) / (df.get(w, 0) + 0.5)) for w in q_set}
    total_idf = sum(idf.values()) or 1.0
    for i, words in enumerate(cand_words):
        ws = set(words)
        shared = q_set & ws
        X[i, col["lex_frac"]] = len(shared) / max(len(q_set), 1)
        X[i, col["lex_idf"]] = sum(idf[w] for w in shared) / total_idf
        X[i, col["lex_bigram"]] = len(q_bigrams & set(zip(words, words[1:], strict=False))) / max(len(q_bigrams), 1)
        X[i, col["new_words"]] = math.log1p(len(ws - q_set))
    for name in ("ms_mean", "ms_w", "cos_pool", "lex_idf"):
        X[:, col[f"{name}_rel"]] = X[:, col[name]] - X[:, col[name]].max()
    v = X[:, col["ms_mean"]]
    X[:, col["ms_mean_z"]] = (v - v.mean()) / (v.std() + 1e-3)
    X[:, col["ms_rank"]] = np.argsort(np.argsort(-v, kind="stable"), kind="stable") / max(n - 1, 1)
    wh = wh_class(question)
    X[:, col[f"wh_{wh}"]] = 1.0
    date = np.maximum(X[:, col["has_year"]], X[:, col["has_month"]])
    num = np.maximum(X[:, col["has_digit"]], X[:, col["has_numword"]])
    caps = (X[:, col["new_caps"]] > 0).astype(np.float32)
    X[:, col["when_x_date"]] = date * (wh == "when")
    X[:, col["quant_x_num"]] = num * (wh == "how_quant")
    X[:, col["who_x_caps"]] = caps * (wh == "who")
    X[:, col["where_x_caps"]] = caps * (wh == "where")
    X[:, col["n_cands"]] = math.log(n)
    return X
