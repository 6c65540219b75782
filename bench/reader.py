"""What reading adds to a question, in process: the learned reader over the top passages.

usage: reader.py [ROUNDS]

Two corpora: the article (bench questions) and the held-out SQuAD slice of the tests (210
questions over two articles). Each question is embedded and searched once; then, each round:

- read: ``LearnedReader.read`` over the evidence already fetched (features, weights, calibration);
- search without a reader vs. with the reader (``Searcher.search_query``, the question already
  embedded), alternated, so that their difference is what reading adds on the query path,
  evidence fetching included.

The target (issue #16): reading adds at most 5 ms p50 per question. Writes bench/results/reader.json
and .md, with the load average (the machine may be shared).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ARTICLE, CACHE_UNUSED, QUESTIONS, machine, summary, write_results

from qa.answer.datasets import load_squad
from qa.answer.learned import LearnedReader
from qa.core.config import Settings
from qa.core.types import Document
from qa.encoders.sbert import SentenceTransformerEncoder
from qa.evaluation.runs import ensure_index
from qa.ingest.formats import load_file
from qa.search.searcher import ANSWER_PASSAGES, Searcher, embed_questions

SLICE = Path(__file__).resolve().parents[1] / "tests" / "data" / "squad2-heldout-slice.json"


def measure(
    name: str, documents: list[Document], questions: list[str], work: Path, rounds: int
) -> dict[str, Any]:
    encoder = SentenceTransformerEncoder()
    settings = Settings(index_dir=work / name).resolved()
    generation, _ = ensure_index(documents, settings, encoder)
    reader = LearnedReader()
    bare = Searcher(generation, encoder)
    reading = Searcher(generation, encoder, reader=reader)
    queries = embed_questions(encoder, questions)
    evidence = [bare.evidence([row for row, _ in bare.rank(q, ANSWER_PASSAGES, "hybrid")]) for q in queries]
    read_ms, read_cpu_ms, without, with_reader, sentences = [], [], [], [], []
    for query, items in zip(queries, evidence, strict=True):
        reader.read(query, items)  # warm
        sentences.append(len(reader.score(query, items)))
    for _ in range(rounds):
        for query, items in zip(queries, evidence, strict=True):
            wall, cpu = time.perf_counter(), time.process_time()
            reader.read(query, items)
            read_ms.append(1000 * (time.perf_counter() - wall))
            read_cpu_ms.append(1000 * (time.process_time() - cpu))
            started = time.perf_counter()
            bare.search_query(query, 5)
            without.append(1000 * (time.perf_counter() - started))
            started = time.perf_counter()
            reading.search_query(query, 5)
            with_reader.append(1000 * (time.perf_counter() - started))
    return {
        "questions": len(questions),
        "candidate_sentences_mean": round(statistics.mean(sentences), 1),
        "read_ms": summary(read_ms),
        "read_cpu_ms": summary(read_cpu_ms),
        "search_without_reader_ms": summary(without),
        "search_with_reader_ms": summary(with_reader),
        "added_p50_ms": round(statistics.median(with_reader) - statistics.median(without), 2),
    }


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    load_before = os.getloadavg()
    squad_documents, squad_questions = load_squad(SLICE)
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        results: dict[str, Any] = {
            "machine": {**machine(), "load_average_before": [round(v, 2) for v in load_before]},
            "rounds": rounds,
            "article": measure("article", [load_file(ARTICLE, ARTICLE.name)], QUESTIONS, work, rounds),
            "squad_slice": measure("squad", squad_documents, [q.text for q in squad_questions], work, rounds),
        }
    results["machine"]["load_average_after"] = [round(v, 2) for v in os.getloadavg()]
    rows = [
        "| corpus | questions | sentences read | read p50 / p95 ms | read CPU p50 ms | search p50 without "
        "/ with reader ms | added p50 ms |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name in ("article", "squad_slice"):
        r = results[name]
        rows.append(
            f"| {name} | {r['questions']} | {r['candidate_sentences_mean']} | {r['read_ms']['p50']} / "
            f"{r['read_ms']['p95']} | {r['read_cpu_ms']['p50']} | {r['search_without_reader_ms']['p50']} / "
            f"{r['search_with_reader_ms']['p50']} | {r['added_p50_ms']} |"
        )
    load = results["machine"]
    table = "\n".join(rows) + (
        f"\n\nLoad average before / after: {load['load_average_before']} / {load['load_average_after']}."
    )
    write_results("reader", results, table, CACHE_UNUSED)


if __name__ == "__main__":
    main()
