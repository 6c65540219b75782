"""In-process query steps on a real documentation corpus, not the article: eval/docs (105 pages of
httpx, Flask, Click and Starlette docs, about 1,300 passages), asked its 95 development questions.

usage: query_docs.py [ROUNDS] [--index-dir DIR] [--one-document]

On the article every passage's word pieces stay decoded in memory after the first question, so
the article's benchmarks never pay for decoding them; on a corpus of this size a question's 40
re-ranked passages are mostly not in the kept rows, and decoding the residual2 codes is most of
its search. Per question and round: embed (text and word-piece vectors), rank (hybrid: first
stage, fusion, late interaction), read (the learned reader over the top 3 passages), p50 and p95
over all rounds. The decoded rows are kept between questions as in a server (its default size);
the first round starts with none kept. The index is built in DIR (default .cache/eval/docs, the
one `make eval` uses) when it is missing. Writes bench/results/query-docs.json and .md.

``--one-document``: the same pages' Markdown (the .md files, 0.5 MB) written into one document,
indexed in a temporary folder, for what a long document costs (the reader once re-read the
document from its start for each passage it read); writes query-docs-one-document.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
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
    parser.add_argument("--index-dir", type=Path, default=None)
    parser.add_argument("--one-document", action="store_true", help="the pages' Markdown as one document")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="qa-one-document-") as work:
        corpus, index_dir = DOCS / "corpus", args.index_dir or ROOT / ".cache" / "eval" / "docs"
        if args.one_document:
            corpus, index_dir = Path(work) / "corpus", args.index_dir or Path(work) / "index"
            corpus.mkdir()
            pages = sorted((DOCS / "corpus").rglob("*.md"))
            (corpus / "all.md").write_text("\n\n".join(p.read_text(encoding="utf-8") for p in pages), "utf-8")
        output = "query-docs-one-document" if args.one_document else "query-docs"
        measure(args.rounds, corpus, index_dir, output)


def measure(rounds: int, corpus: Path, index_dir: Path, output: str) -> None:
    from qa.service.engine import open_engine

    engine = open_engine(corpus_dir=corpus, index_dir=index_dir)
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
    names = ("embed", "rank", "read", "total", "read, first round")
    steps: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(rounds):
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
            if round_ == 0:  # no passage read before: each is split into sentences and read anew
                steps["read, first round"].append(1000 * (done - ranked_at))
    figures = {name: summary(values) for name, values in steps.items()}
    generation = searcher.generation
    results = {
        "machine": machine(),
        "passages": len(generation.passages),
        "questions": len(questions),
        "rounds": rounds,
        "documents": len(generation.documents.owners),
        "steps_ms": figures,
    }
    rows = "\n".join(f"| {step} | {f['p50']} | {f['p95']} |" for step, f in figures.items())
    table = (
        f"eval/docs: {results['documents']} documents, {len(generation.passages)} passages, {len(questions)} "
        f"questions x {rounds} rounds, in process\n\n| step | p50 ms | p95 ms |\n| --- | --- | --- |\n" + rows
    )
    write_results(output, results, table, "not involved (in process, below the Engine that holds it)")


if __name__ == "__main__":
    main()
