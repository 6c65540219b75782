"""The reader, measured through the service's own path: WikiQA (answer-sentence selection and
answer triggering) and SQuAD-format files (held-out training articles).

Both index their documents with the service's build (``ensure_index``), embed questions as the
service does, and hand the searcher's evidence to the served reader (``open_searcher``'s default).

- **WikiQA**: one document per question (its page summary). The question's own document is the
  corpus it is asked against: its passages are ranked by the service's late interaction and the
  top ``ANSWER_PASSAGES`` read, as a search restricted to that document would. Each labelled
  sentence scores the best probability of the candidate sentences overlapping it (a sentence the
  reader never saw ranks last, in page order). MAP, MRR and P@1 over the filtered questions (at
  least one right and one wrong sentence: the standard set-up); answer triggering at question
  level over all questions (WikiQA paper); ECE of the answer's confidence vs. the answer being right.
- **SQuAD**: every article of the file is indexed; the chosen articles' questions are searched
  (hybrid, as served) and the reader reads the top passages. The answer is right when its sentence
  holds the start of a gold answer; unanswerable questions have no right sentence.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from qa.answer.calibration import reliability, triggering
from qa.answer.datasets import load_squad, load_wikiqa
from qa.answer.learned import LearnedReader
from qa.answer.training import labels_of
from qa.core.config import Settings
from qa.core.protocols import Encoder
from qa.core.types import Query
from qa.evaluation.runs import ensure_index
from qa.search.searcher import ANSWER_PASSAGES, Searcher, embed_questions
from qa.service.engine import open_searcher

BATCH = 64  # questions embedded per model call


def ranking(labels: Sequence[np.ndarray], scores: Sequence[np.ndarray]) -> dict[str, Any]:
    """MAP, MRR and P@1 over the questions holding both a right and a wrong sentence."""
    aps, rrs, firsts = [], [], []
    for y, s in zip(labels, scores, strict=True):
        if y.sum() == 0 or y.sum() == len(y):
            continue
        hits = y[np.argsort(-s, kind="stable")].astype(bool)
        ranks = np.flatnonzero(hits) + 1
        aps.append(float(np.mean(np.arange(1, len(ranks) + 1) / ranks)))
        rrs.append(1.0 / ranks[0])
        firsts.append(float(hits[0]))
    return {
        "MAP": float(np.mean(aps)),
        "MRR": float(np.mean(rrs)),
        "P@1": float(np.mean(firsts)),
        "questions": len(aps),
    }


def _reader(searcher: Searcher) -> LearnedReader:
    reader = searcher.reader
    if not isinstance(reader, LearnedReader):
        raise TypeError("reading evaluation needs a reader that scores every sentence (qa.answer.learned)")
    return reader


def _queries(encoder: Encoder, texts: Sequence[str]) -> list[Query]:
    queries: list[Query] = []
    for first in range(0, len(texts), BATCH):
        queries.extend(embed_questions(encoder, list(texts[first : first + BATCH])))
    return queries


def _answers(confidence: np.ndarray, right: np.ndarray, has: np.ndarray, threshold: float) -> dict[str, Any]:
    table = reliability(confidence, right)
    return {
        "triggering": triggering(confidence, right, has, threshold),
        "ECE": table.ece,
        "reliability": table.rows,
        "reliability_table": table.markdown(),
    }


def _describe(reader: LearnedReader, read_ms: list[float]) -> dict[str, Any]:
    return {
        "reader": reader.name,
        "weights_sha256": reader.sha256,
        "threshold": reader.threshold,
        "read_ms_p50": round(statistics.median(read_ms), 3) if read_ms else None,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def wikiqa_report(path: Path, settings: Settings, encoder: Encoder) -> dict[str, Any]:
    documents, questions = load_wikiqa(path)
    generation, _ = ensure_index(documents, settings, encoder)
    searcher = open_searcher(generation, encoder, settings)
    reader = _reader(searcher)
    rows_of: dict[str, list[int]] = {}
    for row, passage in enumerate(generation.passages):
        rows_of.setdefault(passage.doc_id, []).append(row)
    labels, scores, confidence, right, read_ms = [], [], [], [], []
    queries = _queries(encoder, [q.text for q in questions])
    for question, query in zip(questions, queries, strict=True):
        ranked = searcher.late(query, rows_of.get(question.doc_id, []))[:ANSWER_PASSAGES]
        evidence = searcher.evidence([row for row, _ in ranked])
        started = time.perf_counter()
        scored = reader.score(query, evidence)
        read_ms.append(1000 * (time.perf_counter() - started))
        y = np.array(question.labels, dtype=np.int8)
        s = np.full(len(y), -1.0)
        best, best_p = None, -1.0
        for item in scored:
            c = item.candidate
            overlaps = [max(0, min(c.end, e) - max(c.start, b)) for b, e in question.spans]
            j = int(np.argmax(overlaps)) if overlaps and max(overlaps) > 0 else None
            if j is not None:
                s[j] = max(s[j], item.probability)
            if item.probability > best_p:
                best, best_p = j, item.probability
        labels.append(y)
        scores.append(s)
        confidence.append(max(best_p, 0.0))
        right.append(float(best is not None and y[best] == 1))
    has = np.array([float(y.any()) for y in labels])
    report = {
        "kind": "wikiqa",
        "dataset": path.name,
        "questions": len(questions),
        "with_right_sentence": int(has.sum()),
        "ranking": ranking(labels, scores),
        **_answers(np.array(confidence), np.array(right), has, reader.threshold),
        **_describe(reader, read_ms),
    }
    return report


def squad_report(path: Path, articles: Sequence[str], settings: Settings, encoder: Encoder) -> dict[str, Any]:
    documents, questions = load_squad(path)
    known = {q.article for q in questions}
    missing = [a for a in articles if a not in known]
    if missing:
        raise ValueError(f"{path}: no article titled {', '.join(missing)}")
    asked = [q for q in questions if q.article in set(articles)]
    generation, _ = ensure_index(documents, settings, encoder)
    searcher = open_searcher(generation, encoder, settings)
    reader = _reader(searcher)
    confidence, right, read_ms = [], [], []
    for question, query in zip(asked, _queries(encoder, [q.text for q in asked]), strict=True):
        ranked = searcher.rank(query, ANSWER_PASSAGES, "hybrid")
        evidence = searcher.evidence([row for row, _ in ranked])
        started = time.perf_counter()
        scored = reader.score(query, evidence)
        read_ms.append(1000 * (time.perf_counter() - started))
        if not scored:
            confidence.append(0.0)
            right.append(0.0)
            continue
        top = max(range(len(scored)), key=lambda i: scored[i].probability)
        labels = labels_of(evidence, [item.candidate for item in scored], question)
        confidence.append(scored[top].probability)
        right.append(float(labels[top]))
    has = np.array([float(q.answerable) for q in asked])
    r = np.array(right)
    return {
        "kind": "squad",
        "dataset": path.name,
        "articles": list(articles),
        "documents": len(documents),
        "questions": len(asked),
        "unanswerable": int((has == 0).sum()),
        "answer_holds_gold_span": float(r[has == 1].mean()) if has.any() else None,
        **_answers(np.array(confidence), r, has, reader.threshold),
        **_describe(reader, read_ms),
    }


def summary(report: dict[str, Any]) -> str:
    """A few lines for the console."""
    trig = report["triggering"]
    lines = [
        f"{report['kind']} {report['dataset']}: {report['questions']} questions, reader {report['reader']}"
    ]
    if report["kind"] == "wikiqa":
        rank = report["ranking"]
        lines.append(
            f"MAP {rank['MAP']:.3f}  MRR {rank['MRR']:.3f}  P@1 {rank['P@1']:.3f}  "
            f"({rank['questions']} filtered)"
        )
    else:
        lines.append(f"answer sentence holds the gold span: {report['answer_holds_gold_span']:.3f}")
    lines.append(
        f"answer triggering at {trig['threshold']}: P {trig['precision']:.3f}  R {trig['recall']:.3f}  "
        f"F1 {trig['F1']:.3f}  ({trig['triggered']} triggered)"
    )
    lines.append(f"ECE {report['ECE']:.3f}; reading {report['read_ms_p50']} ms p50 per question")
    lines.append(report["reliability_table"])
    return "\n".join(lines)
