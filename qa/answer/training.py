"""``make train``: the learned reader's weights and calibration, from SQuAD 2.0 training articles.

    python -m qa.answer.training --squad ../shared/data/squad2/train-first10.json

It lives in the package, beside the reader it trains, because it must build the reader's inputs
exactly as the service does at question time: the articles are parsed, chunked, embedded and
indexed by the service's own build (``qa.index.build``), every question is searched by the
service's own hybrid search (``qa.search.searcher``), and the features come from the same
``qa.answer.features`` over the same stored word pieces. Only what is learned is written
(``qa/answer/weights/reader.json``: some 50 numbers); the base model is the bundled package.

Candidate sets, per question (all sentences of three passages):
- "search": the top three passages of the question over all the articles (what the service reads);
- "gold": the passage holding the answer (for an unanswerable question, its plausible answer)
  and the two best other passages of the search, so that every answerable question has a positive;
- "miss": the best three passages outside the question's paragraph: what the service reads when
  the documents do not hold the answer.
A sentence holding an answer's start is a positive; every other sentence, and every sentence of an
unanswerable question, a negative.

Whole articles are held out (``HELD_OUT``): the logistic regression never sees them; the Platt
calibration of the answer's confidence and the answer threshold (best answer-triggering F1) are fit
on their "search" sets, which is the distribution ``qa eval --squad`` measures. The held-out
figures recorded beside the weights are cross-fitted: the held-out questions are split in two
halves (seeded), each scored with the calibration and threshold fit on the other half.

Deterministic: Newton's method from zero weights, a fixed seed for the halves, no sampling.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from qa.answer.calibration import (
    Platt,
    best_threshold,
    fit_logistic,
    fit_platt,
    reliability,
    top_of,
    triggering,
)
from qa.answer.datasets import SquadQuestion, load_squad
from qa.answer.features import FEATURES, Candidate, candidates, featurize, new_readings
from qa.answer.learned import WEIGHTS
from qa.answer.readme import write_readme
from qa.core.config import Settings
from qa.core.types import Evidence, Query
from qa.index.generations import CHUNKER_VERSION
from qa.index.reuse import ensure_index
from qa.search.searcher import ANSWER_PASSAGES, Searcher, embed_questions

SEED = 0
L2 = 1.0  # the logistic regression's penalty on standardised features (scikit-learn's C = 1)
SEARCH_DEPTH = 20  # passages ranked per question, to pick the sets from
SETS_VERSION = "1"  # of how candidate sets are made: change it with ``candidate_sets``
HELD_OUT = ("Spectre_(2015_film)", "To_Kill_a_Mockingbird")  # whole articles, never trained on
ATTRIBUTION = (
    "Learned from SQuAD 2.0 (Rajpurkar, Jia and Liang, 'Know What You Don't Know: Unanswerable "
    "Questions for SQuAD', ACL 2018), train split, first 10 articles, licensed CC BY-SA 4.0, itself "
    "built on Wikipedia text (CC BY-SA). Base model: sentence-transformers/all-MiniLM-L6-v2 "
    "(Apache-2.0), not included."
)


@dataclass
class Sets:
    """Candidate sets: each set's features, labels and question."""

    X: list[npt.NDArray[np.float32]] = field(default_factory=list)
    y: list[npt.NDArray[np.int8]] = field(default_factory=list)
    question: list[int] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    answerable: list[bool] = field(default_factory=list)

    def add(
        self, X: npt.NDArray[np.float32], y: npt.NDArray[np.int8], question: int, kind: str, answerable: bool
    ) -> None:
        self.X.append(X)
        self.y.append(y)
        self.question.append(question)
        self.kind.append(kind)
        self.answerable.append(answerable)

    def has(self) -> npt.NDArray[np.float64]:
        """Whether each set's documents answer its question: an answerable question's search set
        (recall counts it also when the search did not bring the right sentence); never a miss
        set, whose documents lack the question's paragraph."""
        return np.array([a and k != "miss" for a, k in zip(self.answerable, self.kind, strict=True)], float)

    def subset(self, kinds: Sequence[str]) -> Sets:
        keep = [i for i, k in enumerate(self.kind) if k in kinds]
        return Sets(
            [self.X[i] for i in keep],
            [self.y[i] for i in keep],
            [self.question[i] for i in keep],
            [self.kind[i] for i in keep],
            [self.answerable[i] for i in keep],
        )


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def labels_of(
    evidence: Sequence[Evidence], found: Sequence[Candidate], question: SquadQuestion
) -> npt.NDArray[np.int8]:
    """1 for a sentence of the question's document holding one of its answers' starts."""
    if not question.answerable:
        return np.zeros(len(found), dtype=np.int8)
    return np.array(
        [
            evidence[c.rank].passage.doc_id == question.doc_id
            and any(c.start <= a < c.end for a in question.starts)
            for c in found
        ],
        dtype=np.int8,
    )


def _in_paragraph(searcher: Searcher, row: int, question: SquadQuestion) -> bool:
    passage = searcher.generation.passages[row]
    first, last = question.paragraph
    return passage.doc_id == question.doc_id and passage.start < last and passage.end > first


def candidate_sets(
    searcher: Searcher, queries: Sequence[Query], questions: Sequence[SquadQuestion], kinds: Sequence[str]
) -> Sets:
    """The ``kinds`` of candidate sets ("search", "gold", "miss") of every question, featurized."""
    sets = Sets()
    readings = new_readings()  # each passage read once, as the served reader does
    started = time.perf_counter()
    for number, (query, question) in enumerate(zip(queries, questions, strict=True)):
        rows = [row for row, _ in searcher.rank(query, SEARCH_DEPTH, "hybrid")]
        chosen: dict[str, list[int]] = {"search": rows[:ANSWER_PASSAGES]}
        holding = [
            row
            for row in rows
            if _in_paragraph(searcher, row, question)
            and any(
                searcher.generation.passages[row].start <= a < searcher.generation.passages[row].end
                for a in question.starts
            )
        ]
        if holding and "gold" in kinds:
            gold = holding[0]
            chosen["gold"] = [gold, *[row for row in rows if row != gold][: ANSWER_PASSAGES - 1]]
        chosen["miss"] = [row for row in rows if not _in_paragraph(searcher, row, question)][:ANSWER_PASSAGES]
        seen: list[list[int]] = []
        for kind in kinds:
            picked = chosen.get(kind)
            if not picked or picked in seen:
                continue  # the same passages as a set already taken
            seen.append(picked)
            evidence = searcher.evidence(picked)
            found = candidates(evidence, readings)
            if found:
                labels = labels_of(evidence, found, question)
                features = featurize(query, evidence, found, readings)
                sets.add(features, labels, number, kind, question.answerable)
        if number % 500 == 0 or number == len(questions) - 1:
            seconds = time.perf_counter() - started
            say(f"  candidate sets: {number + 1}/{len(questions)} questions ({seconds:.0f} s)")
    return sets


def standardised_fit(
    X: npt.NDArray[np.float32], y: npt.NDArray[np.int8]
) -> tuple[npt.NDArray[np.float64], float]:
    """Logistic regression on standardised features, folded back to weights on the raw features."""
    mean = X.mean(axis=0, dtype=np.float64)
    scale = X.std(axis=0, dtype=np.float64)
    scale[scale < 1e-9] = 1.0
    w, b = fit_logistic((X - mean) / scale, y, l2=L2)
    weights = w / scale
    return weights, float(b - (mean / scale) @ w)


def calibrate(
    raw: Sequence[npt.NDArray[Any]], labels: Sequence[npt.NDArray[Any]], has: npt.NDArray[Any]
) -> tuple[Platt, float]:
    """Platt scaling of each set's top score against whether that sentence is right, and the
    threshold on the calibrated confidence with the best triggering F1."""
    top, right, _ = top_of(labels, raw)
    platt = fit_platt(top, right)
    return platt, best_threshold(platt(top), right, has)


def figures(
    raw: Sequence[npt.NDArray[Any]],
    labels: Sequence[npt.NDArray[Any]],
    has: npt.NDArray[Any],
    platt: Platt,
    threshold: float,
) -> dict[str, Any]:
    top, right, _ = top_of(labels, raw)
    confidence = platt(top)
    answerable = has == 1
    table = reliability(confidence, right)
    return {
        "top1_holds_span": float(right[answerable].mean()) if answerable.any() else None,
        "triggering": triggering(confidence, right, has, threshold),
        "ECE": table.ece,
        "reliability": table.rows,
    }


def crossfit(
    raw: list[npt.NDArray[Any]],
    labels: list[npt.NDArray[Any]],
    answerable: npt.NDArray[Any],
    questions: Sequence[int],
    seed: int = SEED,
) -> dict[str, Any]:
    """Held-out figures with each half of the questions (all sets of a question in the same half)
    calibrated on the other half."""
    halves = (np.random.default_rng(seed).permutation(max(questions) + 1) % 2)[np.asarray(questions)]
    confidence, right, has, fired = [], [], [], []
    for half in (0, 1):
        fit_on = [i for i in range(len(raw)) if halves[i] != half]
        platt, threshold = calibrate(
            [raw[i] for i in fit_on], [labels[i] for i in fit_on], answerable[fit_on]
        )
        scored = [i for i in range(len(raw)) if halves[i] == half]
        top, r, _ = top_of([labels[i] for i in scored], [raw[i] for i in scored])
        h = answerable[scored]
        confidence.append(platt(top))
        right.append(r)
        has.append(h)
        fired.append(platt(top) >= threshold)
    c, r, h, f = (np.concatenate(v) for v in (confidence, right, has, fired))
    hits = float((f * r).sum())
    precision = hits / f.sum() if f.sum() else 0.0
    recall = hits / h.sum() if h.sum() else 0.0
    table = reliability(c, r)
    return {
        "top1_holds_span": float(r[h == 1].mean()),
        "triggering": {
            "precision": precision,
            "recall": recall,
            "F1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        },
        "ECE": table.ece,
        "reliability": table.rows,
        "questions": len(raw),
    }


FIT_KINDS = ("search", "gold", "miss")
HELD_KINDS = ("search", "miss")  # what the service reads when the documents hold the answer, and when not


def prepared(
    squad: Path, cache: Path, threads: int
) -> tuple[list[SquadQuestion], list[int], Sets, list[int], Sets]:
    """(questions, training question ids, their sets, held-out question ids, their sets); each part
    cached in ``cache`` under a key of the data, the kinds of sets, the chunker's version and the
    code of the features."""
    import pickle

    import qa.answer.features
    import qa.lang.en.answers

    key = hashlib.sha256(squad.read_bytes() + f"{SETS_VERSION} {CHUNKER_VERSION}".encode())
    for module in (qa.answer.features, qa.lang.en.answers):
        key.update(Path(str(module.__file__)).read_bytes())
    documents, questions = load_squad(squad)
    held = [q.article in HELD_OUT for q in questions]
    if not any(held) or all(held):
        raise SystemExit(f"{squad}: needs the held-out articles {HELD_OUT} and others to train on")
    say(f"{len(documents)} articles, {len(questions)} questions; held out: {', '.join(HELD_OUT)}")
    train_ids = [i for i, h in enumerate(held) if not h]
    held_ids = [i for i, h in enumerate(held) if h]
    parts: dict[str, Sets] = {}
    searcher: Searcher | None = None
    queries: list[Query] = []
    for part, ids, kinds in (("fit", train_ids, FIT_KINDS), ("held", held_ids, HELD_KINDS)):
        stored = cache / f"sets-{part}-{'-'.join(kinds)}-{key.hexdigest()[:16]}.pkl"
        if stored.exists():
            say(f"{part} candidate sets from {stored}")
            with stored.open("rb") as handle:
                parts[part] = pickle.load(handle)
            continue
        if searcher is None:
            from qa.encoders.sbert import SentenceTransformerEncoder

            encoder = SentenceTransformerEncoder(threads=threads)
            index_dir = cache / "squad-index"
            settings = Settings(index_dir=index_dir, corpus_dir=index_dir / "no-corpus").resolved()
            say(f"the index of {len(documents)} articles in {index_dir} (the service's own build)")
            searcher = Searcher(ensure_index(documents, settings, encoder)[0], encoder)
            for first in range(0, len(questions), 64):
                queries.extend(embed_questions(encoder, [q.text for q in questions[first : first + 64]]))
                if first % 1024 == 0:
                    say(f"  questions embedded: {min(first + 64, len(questions))}/{len(questions)}")
        say(f"{part} sets ({', '.join(kinds)}) of {len(ids)} questions")
        parts[part] = candidate_sets(searcher, [queries[i] for i in ids], [questions[i] for i in ids], kinds)
        cache.mkdir(parents=True, exist_ok=True)
        with stored.open("wb") as handle:
            pickle.dump(parts[part], handle, protocol=5)
    return questions, train_ids, parts["fit"], held_ids, parts["held"]


def train(squad: Path, cache: Path, out: Path, threads: int = 2) -> dict[str, Any]:
    started = time.perf_counter()
    np.random.seed(SEED)
    questions, train_ids, fit_sets, held_ids, held_sets = prepared(squad, cache, threads)
    X, y = np.concatenate(fit_sets.X), np.concatenate(fit_sets.y)
    say(f"fitting: {len(y)} sentences, {int(y.sum())} positive, {len(FEATURES)} features")
    weights, bias = standardised_fit(X, y)
    raw = [x @ weights + bias for x in held_sets.X]
    platt, threshold = calibrate(raw, held_sets.y, held_sets.has())
    search = held_sets.subset(("search",))
    search_raw = [x @ weights + bias for x in search.X]
    model = {
        "reader": "logistic regression over qa.answer.features, Platt-calibrated answer confidence",
        "features": list(FEATURES),
        "weights": [round(float(w), 8) for w in weights],
        "bias": round(bias, 8),
        "calibration": {
            "a": round(platt.a, 8),
            "b": round(platt.b, 8),
            "fit_on": "held-out articles: search and miss sets",
        },
        "threshold": threshold,
        "held_out_articles": list(HELD_OUT),
        "training": {
            "data": squad.name,
            "articles": sorted({questions[i].article for i in train_ids}),
            "questions": len(train_ids),
            "candidate_sets": len(fit_sets.y),
            "sentences": len(y),
            "positives": int(y.sum()),
            "l2": L2,
            "seed": SEED,
        },
        "held_out": {
            "questions": len(held_ids),
            "unanswerable": sum(not questions[i].answerable for i in held_ids),
            "sets": f"{', '.join(HELD_KINDS)}: the top passages of a search, and the best passages "
            "outside the question's paragraph (documents that do not answer it)",
            "crossfit_by_question_halves": crossfit(raw, held_sets.y, held_sets.has(), held_sets.question),
            "search_sets_only_crossfit": crossfit(search_raw, search.y, search.has(), search.question),
            "in_sample_calibration": figures(raw, held_sets.y, held_sets.has(), platt, threshold),
        },
        "attribution": ATTRIBUTION,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(model, indent=1, ensure_ascii=False) + "\n"
    out.write_text(text, encoding="utf-8")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    write_readme(out, model, digest)
    say(f"wrote {out} (sha256 {digest}) in {time.perf_counter() - started:.0f} s")
    return model


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m qa.answer.training", description=__doc__.split("\n")[0])
    parser.add_argument("--squad", type=Path, default=Path("../shared/data/squad2/train-first10.json"))
    parser.add_argument("--cache", type=Path, default=Path(".cache/train"))
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    train(args.squad, args.cache, args.out, args.threads)


if __name__ == "__main__":
    from qa.answer.training import main as run  # its classes pickled under their module's name

    run()
