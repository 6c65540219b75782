"""Fitting and judging a reader's probabilities: logistic regression, Platt scaling, the answer
threshold with the best triggering F1, and the expected calibration error with its table.

Plain numpy, deterministic (Newton's method from zero weights: no random start, no solver choice),
so ``make train`` gives the same numbers on every machine up to float rounding.

Answer triggering follows the WikiQA paper, at question level: a question is answered correctly
when the reader triggers (its answer's confidence reaches the threshold) and the answer sentence
is right; precision is over the questions it triggered on, recall over the questions that have a
right sentence among the candidates it read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


def sigmoid(x: Any) -> F64:
    return 1.0 / (1.0 + np.exp(-np.clip(np.asarray(x, dtype=np.float64), -40, 40)))


def fit_logistic(
    X: npt.NDArray[Any], y: npt.NDArray[Any], l2: float = 1.0, iterations: int = 50
) -> tuple[F64, float]:
    """Weights and bias minimising the log loss plus ``l2``/2 times the squared weights (the bias
    unpenalised), by Newton's method: what scikit-learn's LogisticRegression(C=1/l2) fits."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    A = np.hstack([X, np.ones((len(X), 1))])
    w = np.zeros(A.shape[1])
    penalty = np.full(A.shape[1], l2)
    penalty[-1] = 0.0
    for _ in range(iterations):
        p = sigmoid(A @ w)
        gradient = A.T @ (p - y) + penalty * w
        hessian = (A * (p * (1 - p))[:, None]).T @ A + np.diag(penalty) + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if float(np.abs(step).max()) < 1e-10:
            break
    return w[:-1], float(w[-1])


@dataclass(frozen=True)
class Platt:
    """A raw score to a probability: sigmoid(a * raw + b)."""

    a: float
    b: float

    def __call__(self, raw: Any) -> F64:
        return sigmoid(self.a * np.asarray(raw, dtype=np.float64) + self.b)


def fit_platt(raw: npt.NDArray[Any], outcome: npt.NDArray[Any]) -> Platt:
    (a,), b = fit_logistic(np.asarray(raw, dtype=np.float64).reshape(-1, 1), outcome, l2=1e-4)
    return Platt(float(a), b)


def top_of(labels: Sequence[npt.NDArray[Any]], scores: Sequence[npt.NDArray[Any]]) -> tuple[F64, F64, F64]:
    """Per question: its answer's score (the top one), whether that sentence is right, and whether
    any of its candidates is right. A question without candidates scores 0 and is not right."""
    conf = np.array([float(s.max()) if len(s) else 0.0 for s in scores])
    right = np.array(
        [float(y[int(np.argmax(s))]) if len(s) else 0.0 for y, s in zip(labels, scores, strict=True)]
    )
    has = np.array([float(np.any(y)) for y in labels])
    return conf, right, has


def triggering(conf: F64, right: F64, has: F64, threshold: float) -> dict[str, float]:
    """Question-level precision, recall and F1 of answering when ``conf >= threshold``."""
    fired = conf >= threshold
    hits = float((fired * right).sum())
    precision = hits / fired.sum() if fired.sum() else 0.0
    recall = hits / has.sum() if has.sum() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "F1": f1,
        "threshold": threshold,
        "triggered": int(fired.sum()),
        "questions": len(conf),
        "with_right_sentence": int(has.sum()),
    }


def best_threshold(conf: F64, right: F64, has: F64) -> float:
    """The threshold with the best triggering F1: a midpoint between neighbouring confidences,
    rounded to 3 places (the first of equals, so the lowest)."""
    values = np.unique(conf)
    cuts = np.round(np.concatenate([(values[1:] + values[:-1]) / 2, [1.0]]), 3) if len(values) > 1 else values
    f1 = [triggering(conf, right, has, float(t))["F1"] for t in cuts]
    return float(cuts[int(np.argmax(f1))])


@dataclass(frozen=True)
class Reliability:
    ece: float
    rows: list[dict[str, Any]]  # bin, n, mean confidence, accuracy

    def markdown(self) -> str:
        lines = ["| bin | n | mean confidence | accuracy |", "| --- | --- | --- | --- |"]
        for row in self.rows:
            if row["n"]:
                lines.append(
                    f"| {row['bin']} | {row['n']} | {row['confidence']:.3f} | {row['accuracy']:.3f} |"
                )
            else:
                lines.append(f"| {row['bin']} | 0 | – | – |")
        return "\n".join(lines)


def reliability(prob: Any, outcome: Any, bins: int = 10) -> Reliability:
    """Expected calibration error over ``bins`` equal-width bins of the confidence, and the table."""
    prob = np.asarray(prob, dtype=np.float64)
    outcome = np.asarray(outcome, dtype=np.float64)
    which = np.minimum((prob * bins).astype(int), bins - 1)
    ece, rows = 0.0, []
    for b in range(bins):
        inside = which == b
        n = int(inside.sum())
        row: dict[str, Any] = {"bin": f"{b / bins:.1f}-{(b + 1) / bins:.1f}", "n": n}
        if n:
            confidence, accuracy = float(prob[inside].mean()), float(outcome[inside].mean())
            ece += n / len(prob) * abs(confidence - accuracy)
            row.update(confidence=round(confidence, 4), accuracy=round(accuracy, 4))
        rows.append(row)
    return Reliability(float(ece), rows)
