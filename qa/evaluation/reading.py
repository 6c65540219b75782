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
  holds the start of a gold answer; unanswerable questions have no right sentence. Where the
  answerable questions' answers are lost is reported beside it: the share whose gold span is in
  the passages read at all (the ceiling the reader cannot pass), the reader's share among those, and
  the share whose answer sentence holds a gold answer's text wherever it is (SQuAD labels only the
  question's own paragraph, so another paragraph's sentence that answers counts wrong above).
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from qa.answer.calibration import reliability, triggering
from qa.answer.datasets import load_squad, load_wikiqa
from qa.answer.learned import LearnedReader, top_answer
from qa.answer.training import labels_of
from qa.core.config import Settings
from qa.core.protocols import Encoder
from qa.core.types import Query
from qa.index.reuse import ensure_index
from qa.search.searcher import ANSWER_PASSAGES, Searcher, embed_questions
from qa.service.engine import open_searcher

BATCH = 64  # questions embedded per model call
SEARCH_DEPTH = 20  # passages ranked per SQuAD question, the best outside its paragraph read as a miss


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
        best, best_p = None, 0.0
        chosen = top_answer(evidence, scored)
        for at, item in enumerate(scored):
            c = item.candidate
            overlaps = [max(0, min(c.end, e) - max(c.start, b)) for b, e in question.spans]
            j = int(np.argmax(overlaps)) if overlaps and max(overlaps) > 0 else None
            if j is not None:
                s[j] = max(s[j], item.probability)
            if at == chosen:
                best, best_p = j, item.probability
        labels.append(y)
        scores.append(s)
        confidence.append(best_p)
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
    read_ms: list[float] = []
    gold_read: list[float] = []  # answerable questions: their gold span is in the passages read
    holds_text: list[float] = []  # ... and their answer sentence holds a gold answer's text
    # per population: (confidence, right, documents answer it)
    found: dict[str, tuple[list[float], list[float], list[float]]] = {
        "search": ([], [], []),
        "miss": ([], [], []),
    }
    for question, query in zip(asked, _queries(encoder, [q.text for q in asked]), strict=True):
        rows = [row for row, _ in searcher.rank(query, SEARCH_DEPTH, "hybrid")]
        outside = [row for row in rows if not _in_paragraph(generation.passages[row], question)]
        for population, chosen in (("search", rows), ("miss", outside)):
            evidence = searcher.evidence(chosen[:ANSWER_PASSAGES])
            started = time.perf_counter()
            scored = reader.score(query, evidence)
            read_ms.append(1000 * (time.perf_counter() - started))
            confidence, right, has = found[population]
            has.append(float(question.answerable and population == "search"))
            top = top_answer(evidence, scored)
            if top is None:
                confidence.append(0.0)
                right.append(0.0)
                if question.answerable and population == "search":
                    gold_read.append(0.0)
                    holds_text.append(0.0)
                continue
            labels = labels_of(evidence, [item.candidate for item in scored], question)
            confidence.append(scored[top].probability)
            right.append(float(labels[top]))
            if question.answerable and population == "search":
                gold_read.append(float(labels.any()))
                best = scored[top].candidate
                sentence = evidence[best.rank].document.text[best.start : best.end]
                holds_text.append(float(_holds_text(sentence, question.texts)))
    arrays = {name: tuple(np.array(v) for v in values) for name, values in found.items()}
    c, r, h = (np.concatenate([arrays["search"][k], arrays["miss"][k]]) for k in range(3))
    search_c, search_r, search_h = arrays["search"]
    return {
        "kind": "squad",
        "dataset": path.name,
        "articles": list(articles),
        "documents": len(documents),
        "questions": len(asked),
        "unanswerable": int(sum(not q.answerable for q in asked)),
        "populations": "each question read twice: in the top passages of a hybrid search over every "
        "article (search), and in the best passages outside its own paragraph (miss: documents that do "
        "not answer it)",
        "answer_holds_gold_span": float(search_r[search_h == 1].mean()) if search_h.any() else None,
        "where_answers_are_lost": _lost(search_r[search_h == 1], gold_read, holds_text),
        **_answers(c, r, h, reader.threshold),
        "search_only": _answers(search_c, search_r, search_h, reader.threshold),
        **_describe(reader, read_ms),
    }


def _normal(text: str) -> str:
    return " " + " ".join(re.findall(r"[^\W_]+", text.lower())) + " "


def _holds_text(sentence: str, texts: Sequence[str]) -> bool:
    """Whether ``sentence`` holds one of ``texts`` as whole words, case and punctuation aside."""
    return any(_normal(text).strip() and _normal(text) in _normal(sentence) for text in texts)


def _lost(right: np.ndarray, gold_read: list[float], holds_text: list[float]) -> dict[str, Any] | None:
    """The answerable questions' answer sentence, decomposed: retrieval, then the reader's choice."""
    if not gold_read:
        return None
    read = np.array(gold_read) == 1
    return {
        "gold_span_in_passages_read": float(read.mean()),
        "answer_holds_gold_span_when_read": float(right[read].mean()) if read.any() else None,
        "answer_holds_a_gold_answer_text": float(np.mean(holds_text)),
        "questions": len(gold_read),
    }


def _in_paragraph(passage: Any, question: Any) -> bool:
    first, last = question.paragraph
    return bool(passage.doc_id == question.doc_id and passage.start < last and passage.end > first)


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
        lost = report.get("where_answers_are_lost")
        if lost:
            lines.append(
                f"  gold span in the passages read: {lost['gold_span_in_passages_read']:.3f}; "
                f"answer holds it when read: {lost['answer_holds_gold_span_when_read']:.3f}"
            )
            text = lost["answer_holds_a_gold_answer_text"]
            lines.append(f"  answer holds a gold answer's text, any paragraph: {text:.3f}")
        only = report["search_only"]
        lines.append(
            f"search sets only: F1 {only['triggering']['F1']:.3f}, ECE {only['ECE']:.3f}; "
            "search + miss sets below"
        )
    lines.append(
        f"answer triggering at {trig['threshold']}: P {trig['precision']:.3f}  R {trig['recall']:.3f}  "
        f"F1 {trig['F1']:.3f}  ({trig['triggered']} triggered)"
    )
    lines.append(f"ECE {report['ECE']:.3f}; reading {report['read_ms_p50']} ms p50 per question")
    lines.append(report["reliability_table"])
    return "\n".join(lines)
