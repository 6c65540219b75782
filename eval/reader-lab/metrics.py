"""Evaluation: answer-sentence selection (MAP, MRR, P@1), answer triggering (question-level P/R/F1),
threshold choice for F1, and calibration (ECE with a 10-bin reliability table).

A *set* is one question's candidate sentences with 0/1 labels; ``scores`` are the reader's
probabilities for them. Definitions follow the WikiQA README: MAP/MRR over sets with at least one
correct and one wrong sentence; a question is answered correctly when the reader triggers
(confidence = top sentence's probability >= threshold) and its top sentence is labelled 1; precision
over triggered questions, recall over questions that have a correct sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]


def ranking(labels: Sequence[np.ndarray], scores: Sequence[np.ndarray]) -> dict[str, float]:
    """MAP, MRR and P@1 over the sets holding both a correct and a wrong sentence."""
    aps, rrs, p1 = [], [], []
    for y, s in zip(labels, scores, strict=True):
        if y.sum() == 0 or y.sum() == len(y):
            continue
        order = np.argsort(-s, kind="stable")
        hits = y[order].astype(bool)
        ranks = np.flatnonzero(hits) + 1
        aps.append(float(np.mean(np.arange(1, len(ranks) + 1) / ranks)))
        rrs.append(1.0 / ranks[0])
        p1.append(float(hits[0]))
    return {"MAP": float(np.mean(aps)), "MRR": float(np.mean(rrs)), "P@1": float(np.mean(p1)), "n": len(aps)}


def top_of(labels: Sequence[np.ndarray], scores: Sequence[np.ndarray]) -> tuple[Array, Array, Array]:
    """Per set: confidence (top probability), whether the top sentence is correct, whether the set has
    any correct sentence."""
    conf = np.array([float(s.max()) for s in scores])
    correct = np.array([float(y[int(np.argmax(s))]) for y, s in zip(labels, scores, strict=True)])
    has = np.array([float(y.any()) for y in labels])
    return conf, correct, has


def triggering(conf: Array, correct: Array, has: Array, threshold: float) -> dict[str, float]:
    fired = conf >= threshold
    right = float((fired * correct).sum())
    p = right / fired.sum() if fired.sum() else 0.0
    r = right / has.sum() if has.sum() else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"P": p, "R": r, "F1": f, "threshold": threshold, "triggered": int(fired.sum())}


def best_threshold(conf: Array, correct: Array, has: Array) -> float:
    """The threshold with the best triggering F1 (midpoint between neighbouring confidences)."""
    values = np.unique(conf)
    cands = np.concatenate([[0.0], (values[1:] + values[:-1]) / 2, [1.0]]) if len(values) > 1 else values
    f1 = [triggering(conf, correct, has, float(t))["F1"] for t in cands]
    return float(cands[int(np.argmax(f1))])


@dataclass
class Reliability:
    ece: float
    rows: list[tuple[str, int, float, float]]  # bin, count, mean confidence, accuracy

    def table(self) -> str:
        lines = ["| bin | n | mean confidence | accuracy |", "| --- | --- | --- | --- |"]
        for b, n, c, a in self.rows:
            lines.append(f"| {b} | {n} | {c:.3f} | {a:.3f} |" if n else f"| {b} | 0 | – | – |")
        return "\n".join(lines)


def reliability(prob: Array, outcome: Array, bins: int = 10) -> Reliability:
    """Expected calibration error over ``bins`` equal-width bins, and the reliability table."""
    prob = np.asarray(prob, dtype=np.float64)
    outcome = np.asarray(outcome, dtype=np.float64)
    which = np.minimum((prob * bins).astype(int), bins - 1)
    ece, rows = 0.0, []
    for b in range(bins):
        m = which == b
        n = int(m.sum())
        label = f"{b / bins:.1f}–{(b + 1) / bins:.1f}"
        if n:
            c, a = float(prob[m].mean()), float(outcome[m].mean())
            ece += n / len(prob) * abs(c - a)
            rows.append((label, n, c, a))
        else:
            rows.append((label, 0, 0.0, 0.0))
    return Reliability(ece, rows)


def report(labels: Sequence[np.ndarray], scores: Sequence[np.ndarray], threshold: float) -> dict[str, object]:
    """All figures for one evaluation set at a fixed threshold."""
    conf, correct, has = top_of(labels, scores)
    out: dict[str, object] = dict(ranking(labels, scores))
    out["top1_answerable"] = float(correct[has == 1].mean()) if has.any() else float("nan")
    out.update({f"trig_{k}": v for k, v in triggering(conf, correct, has, threshold).items()})
    out["ECE_answer"] = reliability(conf, correct).ece  # confidence of the answer vs. it being right
    allp = np.concatenate(list(scores))
    ally = np.concatenate(list(labels)).astype(float)
    out["ECE_sentence"] = reliability(allp, ally).ece  # every candidate's probability vs. its label
    out["sets"] = len(labels)
    return out
