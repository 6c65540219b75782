"""In-process query steps on a real documentation corpus, not the article: eval/docs (105 pages of
httpx, Flask, Click and Starlette docs, about 1,300 passages), asked its 95 development questions.

usage: query_docs.py [ROUNDS] [--index-dir DIR]

On the article every passage's word pieces stay decoded in memory after the first question, so
the article's benchmarks never pay for decoding them; on a corpus of this size a question's 40
re-ranked passages are mostly not in the kept rows, and decoding the residual2 codes is most of
its search. Per question and round: embed (text and word-piece vectors), rank (hybrid: first
stage, fusion, late interaction), read (the learned reader over the top 3 passages), p50 and p95
over all rounds. The decoded rows are kept between questions as in a server (its default size);
the first round starts with none kept. The index is built in DIR (default .cache/eval/docs, the
one `make eval` uses) when it is missing. Writes bench/results/query-docs.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import ROOT, machine, summary, write_results

DOCS = ROOT / "eval" / "docs"
SETS = ("questions", "questions-click", "questions-starlette", "questions-unanswerable")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rounds", nargs="?", type=int, default=3)
    parser.add_argument("--index-dir", type=Path, default=ROOT / ".cache" / "eval" / "docs")
    args = parser.parse_args()
    from qa.service.engine import open_engine

    engine = open_engine(corpus_dir=DOCS / "corpus", index_dir=args.index_dir)
    if not engine.ready:
        engine.build()
        engine.load()
    searcher = engine.ready_searcher()
    reader = searcher.reader
    assert reader is not None
    questions = [
        json.loads(line)["question"]
        for name in SETS
        for line in (DOCS / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    steps: dict[str, list[float]] = {"embed": [], "rank": [], "read": [], "total": []}
    for _ in range(args.rounds):
        for question in questions:
            started = time.perf_counter()
            query = searcher.embed(question)
            embedded = time.perf_counter()
            ranked = searcher.rank(query, 5, "hybrid")
            ranked_at = time.perf_counter()
            reader.read(query, searcher.evidence([row for row, _ in ranked[:3]]))
            done = time.perf_counter()
            for name, seconds in (
                ("embed", embedded - started),
                ("rank", ranked_at - embedded),
                ("read", done - ranked_at),
                ("total", done - started),
            ):
                steps[name].append(1000 * seconds)
    figures = {name: summary(values) for name, values in steps.items()}
    generation = searcher.generation
    results = {
        "machine": machine(),
        "passages": len(generation.passages),
        "questions": len(questions),
        "rounds": args.rounds,
        "steps_ms": figures,
    }
    rows = "\n".join(f"| {name} | {f['p50']} | {f['p95']} |" for name, f in figures.items())
    table = (
        f"eval/docs: {len(generation.passages)} passages, {len(questions)} questions x {args.rounds} rounds, "
        "in process\n\n| step | p50 ms | p95 ms |\n| --- | --- | --- |\n" + rows
    )
    write_results("query-docs", results, table, "not involved (in process, below the Engine that holds it)")


if __name__ == "__main__":
    main()
