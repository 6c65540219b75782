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
from typing import Any

import numpy as np
import numpy.typing as npt

from qa.core.kept import Kept
from qa.core.types import Evidence, Query
from qa.ingest.chunking import sentences
from qa.ingest.fences import fences_of, heads_a_table, only_links
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
# the columns written a block at a time: the crossed pairs, the neighboured and relative ones
_CROSS_A = [COLUMN[a] for i, a in enumerate(CROSSED) for _ in CROSSED[i:]]
_CROSS_B = [COLUMN[b] for i, _ in enumerate(CROSSED) for b in CROSSED[i:]]
_CROSS_OUT = [COLUMN[f"{a}*{b}"] for i, a in enumerate(CROSSED) for b in CROSSED[i:]]
_NEIGHBOURED = [COLUMN[name] for name in NEIGHBOURED]
_PREV, _NEXT, _CTX = (
    [COLUMN[f"{where}_{name}"] for name in NEIGHBOURED] for where in ("prev", "next", "ctx")
)
_RELATIVE = ("ms_mean", "ms_w", "cos_pool", "lex_idf")


@dataclass(frozen=True)
class Candidate:
    """A candidate answer sentence: ``evidence[rank].document.text[start:end]``."""

    rank: int  # its passage's place among the evidence, best first
    start: int
    end: int


@dataclass(frozen=True)
class Reading:
    """What a passage's sentences are, whatever the question: their spans and the features that
    depend on their text alone. A passage is immutable, so this is worked out once per passage
    (``Readings``) rather than once per question that hands it to the reader."""

    spans: tuple[tuple[int, int], ...]
    words: tuple[frozenset[str], ...]  # content words (stems) per sentence
    pairs: tuple[frozenset[tuple[str, str]], ...]  # their bigrams
    cues: tuple[tuple[float, ...], ...]  # per sentence, the values of CUES
    caps: tuple[frozenset[str], ...]  # capitalised words, lower-cased, per sentence


CUES = ("log_len", "has_year", "has_month", "has_digit", "has_numword", "has_unit")
ReadingKey = tuple[str, int, int]  # (the document's content hash, passage start, passage end)
Readings = Kept[ReadingKey, Reading]
KEPT_SENTENCES = 65_536  # sentences a reader keeps the readings of (a few hundred bytes each)


def new_readings() -> Readings:
    return Kept(KEPT_SENTENCES, lambda reading: max(1, len(reading.spans)))


def read_passage(item: Evidence) -> Reading:
    """A passage's sentences (a table's rows), but those that are markup alone (a fence line, a
    directive's option: where the model reads nothing of a sentence, ``Passage.view`` having
    blanked it, it is no answer), a table's header row (its column names answer nothing) and, in
    a Markdown document, a line of links alone (a menu says nothing of what it points at)."""
    text, passage = item.document.text, item.passage
    seen = passage.view
    markdown = item.document.metadata.get("structure") == "markdown"
    spans = tuple(
        (start, end)
        for start, end in _sentences(item)
        if (not seen or any(char.isalnum() for char in seen[start - passage.start : end - passage.start]))
        and not (passage.kind == "table" and heads_a_table(text, end))
        and not (markdown and only_links(text[start:end]))
    )
    read = [read_sentence(text[start:end]) for start, end in spans]
    words, pairs, cues, caps = (tuple(column) for column in zip(*read, strict=True)) if read else ((),) * 4
    return Reading(spans, words, pairs, cues, caps)


def _sentences(item: Evidence) -> list[tuple[int, int]]:
    """A passage's sentences; in a Markdown document, its prose joins its lines as CommonMark
    does (a line break inside a paragraph is no sentence end: "Commands added using the Flask
    app's cli or" was an answer), while its code blocks and tables are read a line at a time."""
    text, passage = item.document.text, item.passage
    if item.document.metadata.get("structure") != "markdown" or passage.kind == "table":
        return sentences(text, passage.start, passage.end)
    found: list[tuple[int, int]] = []
    position = passage.start
    # the document's fences, found from its start: a passage may begin inside one (a long block cut)
    fenced = fences_of(item.document).within(passage.start, passage.end)
    for low, high in [*fenced, (passage.end, passage.end)]:
        found += sentences(text, position, low, soft_breaks=True) if low > position else []
        found += sentences(text, low, high) if high > low else []
        position = high
    return found


def read_sentence(
    sentence: str,
) -> tuple[frozenset[str], frozenset[tuple[str, str]], tuple[float, ...], frozenset[str]]:
    """A sentence's content words, their bigrams, the values of ``CUES`` and its capitalised words."""
    words = en.content_words(sentence)
    patterns = (en.YEAR, en.MONTH, en.DIGIT, en.NUMBER_WORD, en.UNIT)
    cues = (math.log1p(len(words)), *(float(bool(p.search(sentence))) for p in patterns))
    caps = frozenset(w.lower() for w in en.CAPITALISED_WORD.findall(" " + sentence))
    return frozenset(words), frozenset(itertools.pairwise(words)), cues, caps


def readings_of(evidence: Sequence[Evidence], kept: Readings | None = None) -> list[Reading]:
    """Each passage's ``Reading``, from ``kept`` when it holds it (and put there when not)."""
    found = []
    for item in evidence:
        key = (item.document.content_hash, item.passage.start, item.passage.end)
        reading = kept.get(key) if kept is not None else None
        if reading is None:
            reading = read_passage(item)
            if kept is not None:
                kept.put(key, reading)
        found.append(reading)
    return found


def candidates(evidence: Sequence[Evidence], kept: Readings | None = None) -> list[Candidate]:
    """Every sentence of every passage, in passage order; a sentence two passages share is read once."""
    found: list[Candidate] = []
    seen: set[tuple[str, int, int]] = set()
    for rank, (item, reading) in enumerate(zip(evidence, readings_of(evidence, kept), strict=True)):
        doc_id = item.passage.doc_id
        for start, end in reading.spans:
            key = (doc_id, start, end)
            if key not in seen:
                seen.add(key)
                found.append(Candidate(rank, start, end))
    return found


def featurize(
    query: Query, evidence: Sequence[Evidence], found: Sequence[Candidate], kept: Readings | None = None
) -> F32:
    """One row of ``FEATURES`` per candidate of ``found`` (sentences of ``evidence``' passages,
    as :func:`candidates` finds them); ``kept`` holds passages' readings from earlier questions."""
    n = len(found)
    X = np.zeros((n, len(FEATURES)), dtype=np.float32)
    if not n:
        return X
    q_tok = np.asarray(query.tokens, dtype=np.float32)
    q_vec = np.asarray(query.vector, dtype=np.float32)
    width = max(len(q_tok), 1)
    readings = readings_of(evidence, kept)
    best_rows = np.zeros((n, width), dtype=np.float32)
    ms_rev, pool_dot, pool_norm = np.zeros(n, np.float32), np.zeros(n, np.float32), np.zeros(n, np.float32)
    cues = np.zeros((n, len(CUES)), dtype=np.float32)
    new_caps = np.zeros(n, dtype=np.float32)
    q_lower = query.text.lower()
    words_of: list[frozenset[str]] = [frozenset() for _ in range(n)]
    pairs_of: list[frozenset[tuple[str, str]]] = [frozenset() for _ in range(n)]
    ranks = np.fromiter((c.rank for c in found), dtype=np.int64, count=n)
    of_passage: dict[int, list[int]] = {}
    for i, c in enumerate(found):
        of_passage.setdefault(c.rank, []).append(i)
    for rank in sorted(of_passage):
        chosen = np.asarray(of_passage[rank])  # this passage's candidates, in order
        tok = np.asarray(evidence[rank].tokens, dtype=np.float32)
        sims = q_tok @ tok.T if len(q_tok) else np.zeros((0, len(tok)), np.float32)
        passage_pool = np.add.reduce(tok, axis=0) if len(tok) else np.zeros(q_vec.shape, np.float32)
        X[chosen, COLUMN["psg_ms_mean"]] = float(_mean(np.maximum.reduce(sims, axis=1))) if sims.size else 0.0
        X[chosen, COLUMN["psg_cos_pool"]] = float(
            passage_pool @ q_vec / (float(np.sqrt(passage_pool @ passage_pool)) + 1e-9)
        )
        reading = readings[rank]
        index = {span: at for at, span in enumerate(reading.spans)}
        spans = [(found[i].start, found[i].end) for i in chosen.tolist()]
        # ascending; context pieces are -1
        bounds = np.searchsorted(evidence[rank].starts, np.asarray(spans).ravel()).reshape(-1, 2)
        _late(sims, tok, q_vec, bounds, chosen, best_rows, (ms_rev, pool_dot, pool_norm))
        text = evidence[rank].document.text
        for i, span in zip(chosen.tolist(), spans, strict=True):
            at = index.get(span)
            if at is None:  # not one of the passage's sentences: read it now
                words_of[i], pairs_of[i], cues[i], caps = read_sentence(text[span[0] : span[1]])
            else:
                words_of[i], pairs_of[i], cues[i], caps = (
                    reading.words[at],
                    reading.pairs[at],
                    reading.cues[at],
                    reading.caps[at],
                )
            new_caps[i] = min(len([w for w in caps if w not in q_lower]), 10)
    X[:, COLUMN["ms_rev"]] = ms_rev
    denominator = (np.sqrt(pool_norm).astype(np.float64) + 1e-9).astype(np.float32)
    X[:, COLUMN["cos_pool"]] = pool_dot / denominator  # 0 where a sentence has no pieces
    X[:, [COLUMN[name] for name in CUES]] = cues
    X[:, COLUMN["new_caps"]] = new_caps
    X[:, COLUMN["passage_rank"]] = ranks
    positions = _positions(ranks)
    X[:, COLUMN["position"]] = np.minimum(positions, 10)
    X[:, COLUMN["is_first"]] = positions == 0
    _question_features(X, query.text, best_rows, words_of, pairs_of)
    _neighbours(X, ranks)
    X[:, _CROSS_OUT] = X[:, _CROSS_A] * X[:, _CROSS_B]  # pairwise products, all at once
    return X


def _late(
    sims: F32,
    tok: F32,
    q_vec: F32,
    bounds: npt.NDArray[np.int64],
    chosen: npt.NDArray[np.int64],
    best_rows: F32,
    out: tuple[F32, F32, F32],
) -> None:
    """Late-interaction features of one passage's candidate sentences (word pieces
    ``bounds[j, 0]:bounds[j, 1]`` for candidate ``chosen[j]``): the best match of each question
    piece (a max, so one ``reduceat`` for all), and per sentence the reverse direction and its
    pooled pieces' products with the question, summed exactly as the single-sentence code did."""
    ms_rev, pool_dot, pool_norm = out
    nonempty = bounds[:, 1] > bounds[:, 0]
    if not sims.size or not nonempty.any():
        return
    padded = np.concatenate([sims, np.full((len(sims), 1), -np.inf, np.float32)], axis=1)
    best = np.maximum.reduceat(padded, bounds[nonempty].ravel(), axis=1)[:, ::2]  # (q, sentences)
    best_rows[chosen[nonempty], : len(sims)] = best.T
    column_best = np.maximum.reduce(sims, axis=0)
    for i, (lo, hi) in zip(chosen[nonempty].tolist(), bounds[nonempty].tolist(), strict=True):
        ms_rev[i] = np.add.reduce(column_best[lo:hi]) / (hi - lo)  # what .mean() computes
        pool = np.add.reduce(tok[lo:hi], axis=0)
        pool_dot[i] = pool @ q_vec
        pool_norm[i] = pool @ pool


def _positions(ranks: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Each candidate's place among the earlier candidates of its passage (0 for the first)."""
    seen: dict[int, int] = {}
    positions = np.zeros(len(ranks), dtype=np.int64)
    for i, rank in enumerate(ranks.tolist()):
        positions[i] = seen[rank] = seen.get(rank, -1) + 1
    return positions


def _question_features(
    X: F32,
    question: str,
    best_rows: F32,
    words_of: list[frozenset[str]],
    pairs_of: list[frozenset[tuple[str, str]]],
) -> None:
    """The columns that compare the candidates with each other and with the question's words and class."""
    n = len(X)
    # per question piece: pieces that match every candidate (the subject) count little
    weight = np.maximum(1.0 - _mean(best_rows, 0), 0.05)
    X[:, COLUMN["ms_mean"]] = _mean(best_rows, 1)
    X[:, COLUMN["ms_w"]] = best_rows @ weight / np.add.reduce(weight)
    X[:, COLUMN["ms_min"]] = np.minimum.reduce(best_rows, axis=1)
    X[:, COLUMN["ms_max"]] = np.maximum.reduce(best_rows, axis=1)
    X[:, COLUMN["ms_std"]] = _std(best_rows, 1)
    X[:, COLUMN["ms_p80"]] = _mean(best_rows > 0.8, 1)
    X[:, COLUMN["ms_p60"]] = _mean(best_rows > 0.6, 1)
    q_words = en.content_words(question)
    _overlap(X, words_of, pairs_of, set(q_words), set(itertools.pairwise(q_words)))
    relative = X[:, [COLUMN[name] for name in _RELATIVE]]
    X[:, [COLUMN[f"{name}_rel"] for name in _RELATIVE]] = relative - np.maximum.reduce(relative, axis=0)
    v = X[:, COLUMN["ms_mean"]]
    X[:, COLUMN["ms_mean_z"]] = (v - _mean(v)) / (_std(v) + 1e-3)
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


def _mean(a: npt.NDArray[np.generic], axis: int | None = None, dtype: type | None = None) -> Any:
    """``a.mean(axis)`` by the same ufunc calls numpy's mean makes (booleans and integers summed
    in float64, as there): the same floats, without the argument handling that costs more than
    the sums of a reader's small arrays."""
    if dtype is None and a.dtype.kind in "biu":
        dtype = np.float64
    total = np.add.reduce(a, axis=axis, dtype=dtype)
    count = np.intp(a.size if axis is None else a.shape[axis])
    if isinstance(total, np.ndarray):
        return np.true_divide(total, count, out=total, casting="unsafe")
    return total.dtype.type(total / count)


def _std(a: npt.NDArray[np.floating], axis: int | None = None) -> Any:
    """``a.std(axis)`` of a float array, by the ufunc calls numpy's std makes (the same floats)."""
    count = np.intp(a.size if axis is None else a.shape[axis])
    centre = np.add.reduce(a, axis=axis, keepdims=True)
    np.true_divide(centre, count, out=centre, casting="unsafe")
    deviations = np.subtract(a, centre)
    np.square(deviations, out=deviations)
    total = np.add.reduce(deviations, axis=axis)
    if isinstance(total, np.ndarray):
        np.true_divide(total, count, out=total, casting="unsafe")
        return np.sqrt(total, out=total)
    variance = total.dtype.type(total / count)
    return variance.dtype.type(np.sqrt(variance))


def _neighbours(X: F32, ranks: npt.NDArray[np.int64]) -> None:
    """The previous and next sentence's scores within the same passage (0 at a passage's edge);
    ``ranks``: each candidate's passage."""
    follows = np.zeros(len(ranks), dtype=bool)
    follows[1:] = ranks[1:] == ranks[:-1]
    v = X[:, _NEIGHBOURED]  # (candidates, neighboured columns)
    before = np.zeros_like(v)
    before[1:] = np.where(follows[1:, None], v[:-1], 0.0)
    after = np.zeros_like(v)
    after[:-1] = np.where(follows[1:, None], v[1:], 0.0)
    X[:, _PREV] = before
    X[:, _NEXT] = after
    X[:, _CTX] = np.maximum(v, before)


def _overlap(
    X: F32,
    words_of: list[frozenset[str]],
    pairs_of: list[frozenset[tuple[str, str]]],
    q_set: set[str],
    q_bigrams: set[tuple[str, str]],
) -> None:
    """Word overlap with the question (``words_of``: each candidate's words, as sets), with an
    IDF over the candidates themselves."""
    n = len(words_of)
    df = {w: sum(w in ws for ws in words_of) for w in q_set}  # only the question's words are asked
    idf = {w: math.log((n + 1) / (df[w] + 0.5)) for w in q_set}
    total_idf = sum(idf.values()) or 1.0
    for i, (ws, pairs) in enumerate(zip(words_of, pairs_of, strict=True)):
        shared = q_set & ws
        X[i, COLUMN["lex_frac"]] = len(shared) / max(len(q_set), 1)
        X[i, COLUMN["lex_idf"]] = sum(idf[w] for w in shared) / total_idf
        X[i, COLUMN["lex_bigram"]] = len(q_bigrams & pairs) / max(len(q_bigrams), 1)
        X[i, COLUMN["new_words"]] = math.log1p(len(ws - q_set))
