"""Retrieval quality, measured: BEIR datasets and question sets, scored by ``ir_measures``.

A BEIR dataset is judged per document while the index ranks passages, so a document counts at
the rank of its best passage (max pooling, order kept). We ask for more passages than documents
(300 for a depth of 100) because one long document can fill several of the top places.

A question set names no document, only a gold span: a passage is relevant when its text holds
the gold span exactly. A gold span that a passage boundary cuts is relevant nowhere, so the
question scores 0 and is counted in ``gold_unreachable``: a chunker change that hides answers
shows up instead of being averaged away. "Recall@k" there is the share of questions with a gold
passage in the top k (ir_measures' ``Success@k``), the usual meaning in question answering.

The rankings go to ir_measures with scores made from ranks: fused scores can tie, and trec_eval
breaks ties by document id, which would silently reorder what the searcher returned.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ir_measures
from ir_measures import RR, R, Success, nDCG

from qa.core.config import SearchMode
from qa.core.protocols import Encoder
from qa.evaluation.data import BeirData, Qrels, Question
from qa.index.generations import Generation
from qa.search.searcher import Searcher
from qa.service.engine import open_searcher

PASSAGE_DEPTH = 300  # passages asked for per BEIR query at least, pooled into ...
DOCUMENT_DEPTH = 100  # ... this many documents
QUESTION_DEPTH = 10  # passages asked for per question

BEIR_MEASURES: dict[str, Any] = {
    "nDCG@10": nDCG @ 10,
    "R@1": R @ 1,
    "R@3": R @ 3,
    "R@10": R @ 10,
    "R@100": R @ 100,
    "RR@10": RR @ 10,
}
QUESTION_MEASURES: dict[str, Any] = {
    "Recall@1": Success @ 1,
    "Recall@3": Success @ 3,
    "Recall@10": Success @ 10,
    "MRR@10": RR @ 10,
}
UNREACHABLE = "\x00gold-not-in-any-passage"  # a relevant id no ranking contains: the question scores 0

Run = dict[str, dict[str, float]]
Progress = Callable[[int, int], None]


@dataclass
class ModeResult:
    mode: SearchMode
    metrics: dict[str, float | None]
    seconds: float
    queries: int
    details: list[dict[str, Any]] = field(default_factory=list)  # per question, for question sets

    def as_json(self) -> dict[str, Any]:
        ms = 1000 * self.seconds / self.queries if self.queries else 0.0
        row: dict[str, Any] = {"metrics": self.metrics, "seconds": round(self.seconds, 3)}
        row["ms_per_query"] = round(ms, 2)
        if self.details:
            row["questions"] = self.details
        return row


def _ranked_scores(ids: Sequence[str]) -> dict[str, float]:
    """Scores that keep the given order whatever ties the searcher's scores had."""
    return {item: float(len(ids) - rank) for rank, item in enumerate(ids)}


def pool_documents(generation: Generation, ranked: Sequence[tuple[int, float]], depth: int) -> list[str]:
    """Document ids in the order of their best passage, at most ``depth`` of them."""
    doc_ids: dict[str, None] = {}
    for row, _ in ranked:
        doc_ids.setdefault(generation.passages[row].doc_id, None)
        if len(doc_ids) >= depth:
            break
    return list(doc_ids)


def _aggregate(measures: dict[str, Any], qrels: Qrels, run: Run) -> dict[str, float | None]:
    values = ir_measures.calc_aggregate(list(measures.values()), qrels, run)
    # a measure is missing when no query has a relevant document; None says so, 0.0 would not
    return {name: float(values[m]) if m in values else None for name, m in measures.items()}


def passage_depth(generation: Generation, document_depth: int = DOCUMENT_DEPTH) -> int:
    """Passages to ask for so that pooling usually still leaves ``document_depth`` documents:
    twice the average passages per document, and never fewer than ``PASSAGE_DEPTH``."""
    per_document = len(generation.passages) / max(len(generation.documents), 1)
    return max(PASSAGE_DEPTH, int(2 * per_document * document_depth))


def evaluate_beir(
    searcher: Searcher,
    data: BeirData,
    modes: Sequence[SearchMode],
    document_depth: int = DOCUMENT_DEPTH,
) -> dict[str, ModeResult]:
    """nDCG@10, R@1/3/10/100 and RR@10 of each mode over the dataset's judged queries."""
    depth = passage_depth(searcher.generation, document_depth)
    results: dict[str, ModeResult] = {}
    for mode in modes:
        started = time.perf_counter()
        run: Run = {}
        for query_id, text in data.queries.items():
            ranked = searcher.ranked_passages(text, depth, mode)
            run[query_id] = _ranked_scores(pool_documents(searcher.generation, ranked, document_depth))
        seconds = time.perf_counter() - started
        metrics = _aggregate(BEIR_MEASURES, data.qrels, run)
        results[mode] = ModeResult(mode, metrics, seconds, len(data.queries))
    return results


def _fraction(flags: Sequence[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def evaluate_questions(
    searcher: Searcher,
    questions: Sequence[Question],
    modes: Sequence[SearchMode],
    depth: int = QUESTION_DEPTH,
) -> dict[str, ModeResult]:
    """Gold-passage recall and MRR, answer and answerability checks, for each mode."""
    passages = searcher.generation.passages
    answerable = [q for q in questions if q.answerable and q.gold]
    qrels: Qrels = {}
    for question in answerable:
        gold = question.gold or ""
        relevant = {str(p.passage_id): 1 for p in passages if gold in p.text}
        qrels[question.id] = relevant or {UNREACHABLE: 1}
    results: dict[str, ModeResult] = {}
    for mode in modes:
        started = time.perf_counter()
        details = [_ask(searcher, question, depth, mode) for question in questions]
        seconds = time.perf_counter() - started
        by_id = {row["id"]: row for row in details}
        run: Run = {q.id: _ranked_scores(by_id[q.id]["hit_ids"]) for q in answerable}
        metrics = _aggregate(QUESTION_MEASURES, qrels, run) if qrels else dict.fromkeys(QUESTION_MEASURES)
        metrics["answer_contains_gold"] = _fraction([by_id[q.id]["answer_contains_gold"] for q in answerable])
        metrics["answerable_kept"] = _fraction([by_id[q.id]["flagged_answerable"] for q in answerable])
        metrics["unanswerable_flagged"] = _fraction(
            [not by_id[q.id]["flagged_answerable"] for q in questions if not q.answerable]
        )
        top_lengths = [row["top_chars"] for row in details if row["top_chars"] is not None]
        metrics["top_passage_median_chars"] = float(statistics.median(top_lengths)) if top_lengths else None
        metrics["gold_unreachable"] = float(sum(UNREACHABLE in relevant for relevant in qrels.values()))
        for row in details:
            del row["hit_ids"], row["top_chars"]
        results[mode] = ModeResult(mode, metrics, seconds, len(questions), details)
    return results


def _ask(searcher: Searcher, question: Question, depth: int, mode: SearchMode) -> dict[str, Any]:
    """One question's outcome; ``hit_ids`` and ``top_chars`` are for the aggregates, not the report."""
    result = searcher.search(question.question, depth, mode)
    gold = (question.gold if question.answerable else None) or ""
    ranks = (rank for rank, hit in enumerate(result.hits, 1) if gold and gold in hit.passage.text)
    return {
        "id": question.id,
        "category": question.category,
        "answerable": question.answerable,
        "flagged_answerable": result.answerable,
        "gold_rank": next(ranks, None),
        "answer": result.answer.text if result.answer else None,
        "answer_contains_gold": bool(gold and result.answer and gold in result.answer.text),
        "hit_ids": [str(hit.passage.passage_id) for hit in result.hits],
        "top_chars": len(result.hits[0].passage.text) if result.hits else None,
    }


def _index_json(generation: Generation) -> dict[str, Any]:
    manifest = generation.manifest
    keys = (
        "generation",
        "model",
        "dimension",
        "chunk_tokens",
        "chunk_min_chars",
        "chunker_version",
        "documents",
        "passages",
        "faiss_factory",
        "built_at",
        "corpus_fingerprint",
    )
    return {"path": _shown(generation.path.parent), **{key: manifest.get(key) for key in keys}}


def _shown(path: Path) -> str:
    """``path`` relative to the working folder when it is inside it, so reports do not name a machine."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def beir_report(
    data: BeirData,
    generation: Generation,
    embedder: Encoder,
    modes: Sequence[SearchMode],
    build_seconds: float = 0.0,
) -> dict[str, Any]:
    """Evaluate ``modes`` on a loaded BEIR split and describe the run as JSON-ready data."""
    results = evaluate_beir(open_searcher(generation, embedder), data, modes)
    return {
        "kind": "beir",
        "dataset": data.name,
        "split": data.split,
        "queries": len(data.queries),
        "corpus_documents": len(data.documents),
        "model": generation.manifest.get("model"),
        "index": _index_json(generation),
        "depth": {"passages": passage_depth(generation), "documents": DOCUMENT_DEPTH},
        "modes": {mode: result.as_json() for mode, result in results.items()},
        "timing": _timing(results, build_seconds),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def question_report(
    path: Path,
    questions: Sequence[Question],
    generation: Generation,
    embedder: Encoder,
    modes: Sequence[SearchMode],
    build_seconds: float = 0.0,
) -> dict[str, Any]:
    """Evaluate ``modes`` on a question set over ``generation`` and describe the run as JSON-ready data."""
    results = evaluate_questions(open_searcher(generation, embedder), questions, modes)
    return {
        "kind": "questions",
        "dataset": path.stem,
        "split": None,
        "queries": len(questions),
        "answerable": sum(q.answerable for q in questions),
        "model": generation.manifest.get("model"),
        "index": _index_json(generation),
        "depth": {"passages": QUESTION_DEPTH},
        "modes": {mode: result.as_json() for mode, result in results.items()},
        "timing": _timing(results, build_seconds),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _timing(results: dict[str, ModeResult], build_seconds: float) -> dict[str, float]:
    return {
        "index_seconds": round(build_seconds, 3),
        "search_seconds": round(sum(result.seconds for result in results.values()), 3),
    }


def write_report(path: Path, report: dict[str, Any]) -> None:
    """Write ``report`` as JSON through a temporary file and a rename, so a reader never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.tmp")
    staging.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(staging, path)
