"""The learned reader: every sentence of the top passages scored by a logistic regression over
cheap features (``qa.answer.features``), calibrated to a probability that it answers the question.

The weights and the calibration (``qa/answer/weights/reader.json``, a few KB of numbers) were
learned by ``make train`` (``qa.answer.training``) from SQuAD 2.0 training articles: a sentence
holding an answer span is a positive, every other candidate a negative. The answer is the most
probable sentence that is not itself a question; its ``score`` is that probability (the
confidence), and the passages count as answering the question when it reaches the threshold
(``QA_ANSWER_THRESHOLD``, by default the one with the best answer-triggering F1 on held-out
training articles). The citation is the sentence's exact span of its document, running on over
the code block, list or table the sentence introduces when it is a lead-in ending in a colon
(``qa.ingest.introduced``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from qa.answer.calibration import Platt
from qa.answer.features import FEATURES, Candidate, candidates, featurize, new_readings
from qa.core.types import Answer, Evidence, Passage, Query, cite
from qa.ingest.fences import Fences, fences_of
from qa.ingest.introduced import introduced_end, lead_in_of, term_of
from qa.ingest.markdown import code_view, view
from qa.lang.en import answers as en

WEIGHTS = Path(__file__).with_name("weights") / "reader.json"


@dataclass(frozen=True)
class Scored:
    """A candidate sentence and the probability that it answers the question."""

    candidate: Candidate
    probability: float


class ReaderModelError(RuntimeError):
    """The weights file is missing, unreadable, or made for other features."""


def load_model(path: Path = WEIGHTS) -> dict[str, Any]:
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ReaderModelError(
            f"cannot read the reader's weights at {path} ({error}); run `make train`"
        ) from error
    if tuple(spec.get("features", ())) != FEATURES:
        raise ReaderModelError(
            f"{path} was trained for other features than qa.answer.features; run `make train`"
        )
    return dict(spec)


def as_read(passage: Passage, text: str, start: int, end: int, fences: Fences | None = None) -> str:
    """``text[start:end]`` as ``passage`` reads it (its ``view``, markup blanked, the same length)
    where the span lies inside the passage; where a Markdown document's answer runs on past it (a
    lead-in's block; ``fences``: the document's code blocks), as ``markdown.view`` reads the rest,
    and a code block it ends inside of as ``markdown.code_view`` reads the whole block; "" when
    that is the text itself."""
    if not passage.view or start >= passage.end or end <= passage.start:
        return ""
    lo, hi = max(start, passage.start), min(end, passage.end)
    read = text[start:lo] + passage.view[lo - passage.start : hi - passage.start]
    if hi < end and fences is not None:
        block = fences.around(hi)
        stop = min(block[1], end) if block else hi
        read += code_view(text, block[0], stop)[hi - block[0] :] if block else ""
        read += view(text, stop, end) if stop < end else ""
    else:
        read += text[hi:end]
    return "" if read == text[start:end] else read


def top_answer(evidence: Sequence[Evidence], scored: Sequence[Scored]) -> int | None:
    """Which of ``scored`` is the answer: the most probable candidate (the first of equals, so the
    higher-ranked passage's) that does not ask a question. A question ("So how do you register
    that blueprint?") asserts nothing; it is scored like every sentence, as in training, since
    the other candidates' features are relative to it, but never chosen."""
    best: int | None = None
    for at, item in enumerate(scored):
        if best is not None and item.probability <= scored[best].probability:
            continue
        c = item.candidate
        if not en.asks(evidence[c.rank].document.text[c.start : c.end]):
            best = at
    return best


class LearnedReader:
    """Reads with learned weights; safe to share between threads: besides numbers it holds only
    what it read of passages (their sentences and the features of their text alone), kept by the
    document's content hash and the passage's span, so a passage is split once, not per question."""

    def __init__(self, threshold: float | None = None, path: Path = WEIGHTS) -> None:
        spec = load_model(path)
        self.weights = np.asarray(spec["weights"], dtype=np.float32)
        self.bias = float(spec["bias"])
        self.platt = Platt(float(spec["calibration"]["a"]), float(spec["calibration"]["b"]))
        self.threshold = float(spec["threshold"] if threshold is None else threshold)
        self.sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
        self.name = f"learned-lr/{self.sha256[:12]}"
        self.readings = new_readings()

    def raw(
        self, query: Query, evidence: Sequence[Evidence], found: Sequence[Candidate]
    ) -> npt.NDArray[np.float32]:
        """The model's uncalibrated score (a logit) of each candidate."""
        features = featurize(query, evidence, found, self.readings)
        scores: npt.NDArray[np.float32] = features @ self.weights + self.bias
        return scores

    def score(self, query: Query, evidence: Sequence[Evidence]) -> list[Scored]:
        """Every candidate sentence of ``evidence`` with its calibrated probability, in passage order."""
        found = candidates(evidence, self.readings)
        if not found:
            return []
        probabilities = self.platt(self.raw(query, evidence, found))
        return [Scored(c, float(p)) for c, p in zip(found, probabilities, strict=True)]

    def best(self, query: Query, evidence: Sequence[Evidence]) -> Answer | None:
        """The most probable sentence as an answer, whatever its confidence (None without one)."""
        scored = self.score(query, evidence)
        chosen = top_answer(evidence, scored)
        if chosen is None:
            return None
        top = scored[chosen]
        document, passage = evidence[top.candidate.rank].document, evidence[top.candidate.rank].passage
        start, end = top.candidate.start, top.candidate.end
        fences = None
        if document.metadata.get("structure") == "markdown":  # a lead-in carries its example
            fences = fences_of(document)
            lead_in = lead_in_of(document.text, passage.start, passage.end, start, end, fences)
            if lead_in is None:
                term = term_of(document.text, passage.start, start)  # a description: its term with it
                lead_in = (start if term is None else term, introduced_end(document.text, start, end, fences))
            start, end = lead_in
        read = as_read(passage, document.text, start, end, fences)
        return Answer(document.text[start:end], top.probability, cite(document, start, end), read)

    def read(self, query: Query, evidence: Sequence[Evidence]) -> Answer | None:
        """The best sentence when its confidence reaches the threshold, else None."""
        answer = self.best(query, evidence)
        return answer if answer is not None and answer.score >= self.threshold else None
