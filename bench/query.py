"""In-process query latency, ours beside the bare model and beside txtai, in one run.

usage: query.py [ROUNDS]

Over the article (the same passages for everyone), each round asks every benchmark question once
through each contender, contenders in a shuffled order each round, so that drift on a shared
machine hits all of them alike:

- bare encode: ``bare_encode([question])`` of the backend in use (QA_BACKEND, default auto: ONNX
  Runtime; torch's ``SentenceTransformer.encode`` for torch): the floor;
- bare encode + search: that, plus a FAISS search of the vector (what a minimal service does);
- ours, per mode: embed (text and word-piece vectors) + search + fusion + late-interaction
  re-ranking + answer selection, i.e. ``Searcher.search``;
- txtai ``Embeddings`` over the same passage texts with the same bundled model: dense, and
  hybrid (its BM25 + dense), ``embeddings.search(question, 5)``.

Index build time of the article is measured for ours (chunking, embedding with word pieces,
FAISS, keyword index, writing a generation) and for txtai (``Embeddings.index``).
Writes bench/results/query.json and .md.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ARTICLE, CACHE_UNUSED, QUESTIONS, machine, summary, write_results

from qa.core.config import Settings
from qa.encoders.sbert import SentenceTransformerEncoder, bundled_model_path
from qa.index.build import build_index, parameters_for
from qa.index.generations import load_generation, vector_index
from qa.search.searcher import Searcher
from qa.service.engine import open_searcher


def timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def build_ours(work: Path, embedder: SentenceTransformerEncoder, repeats: int = 5) -> tuple[Searcher, float]:
    corpus = work / "corpus"
    corpus.mkdir()
    (corpus / ARTICLE.name).write_bytes(ARTICLE.read_bytes())
    settings = Settings(corpus_dir=corpus, index_dir=work / "index", keep_generations=1).resolved()
    seconds = [build_index(settings, embedder, full=True).seconds * 1000 for _ in range(repeats)]
    generation = load_generation(settings.index_dir, parameters_for(settings, embedder))
    return open_searcher(generation, embedder), statistics.median(seconds)


def build_txtai(texts: list[str], hybrid: bool, repeats: int = 5) -> tuple[Any, float]:
    from txtai import Embeddings

    config = {"path": str(bundled_model_path()), "content": True, "hybrid": hybrid}
    times = []
    for _ in range(repeats):
        embeddings = Embeddings(config)
        times.append(timed(lambda e=embeddings: e.index([(i, t, None) for i, t in enumerate(texts)])))
    return embeddings, statistics.median(times)


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    embedder = SentenceTransformerEncoder.from_settings(Settings())
    with tempfile.TemporaryDirectory() as folder:
        searcher, our_build_ms = build_ours(Path(folder), embedder)
        texts = [passage.text for passage in searcher.generation.passages]
        txtai_dense, txtai_dense_build = build_txtai(texts, hybrid=False)
        txtai_hybrid, txtai_hybrid_build = build_txtai(texts, hybrid=True)
        index = vector_index(searcher.generation.vectors, "Flat")  # the bare baseline: one FAISS index

        def bare_and_search(question: str) -> None:
            index.search(embedder.bare_encode([question]), 5)

        contenders: dict[str, Callable[[str], Any]] = {
            "bare encode": lambda q: embedder.bare_encode([q]),
            "bare encode + FAISS search": bare_and_search,
            "ours, hybrid (default)": lambda q: searcher.search(q, 5, "hybrid"),
            "ours, dense": lambda q: searcher.search(q, 5, "dense"),
            "ours, keyword": lambda q: searcher.search(q, 5, "keyword"),
            "txtai, dense": lambda q: txtai_dense.search(q, 5),
            "txtai, hybrid": lambda q: txtai_hybrid.search(q, 5),
        }
        for action in contenders.values():  # warm-up
            for question in QUESTIONS:
                action(question)
        times: dict[str, list[float]] = {name: [] for name in contenders}
        order = list(contenders)
        shuffler = random.Random(7)
        for _ in range(rounds):
            shuffler.shuffle(order)  # no contender always runs right after another's model
            for name in order:
                action = contenders[name]
                for question in QUESTIONS:
                    times[name].append(timed(lambda a=action, q=question: a(q)))  # type: ignore[misc]
    stats = {name: summary(values) for name, values in times.items()}
    floor = stats["bare encode + FAISS search"]["p50"]
    results = {
        "machine": machine(),
        "backend": embedder.backend,
        "passages": len(texts),
        "questions": len(QUESTIONS) * rounds,
        "latency_ms": stats,
        "ratio_to_bare_encode_and_search": {name: round(s["p50"] / floor, 3) for name, s in stats.items()},
        "build_ms": {
            "ours": round(our_build_ms, 1),
            "txtai dense": round(txtai_dense_build, 1),
            "txtai hybrid": round(txtai_hybrid_build, 1),
        },
    }
    rows = [
        "| in-process, per question | p50 ms | p95 ms | p99 ms | IQR ms | p50 / (bare encode + search) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, s in stats.items():
        rows.append(
            f"| {name} | {s['p50']} | {s['p95']} | {s['p99']} | {s['iqr']} | "
            f"{results['ratio_to_bare_encode_and_search'][name]:.2f}× |"  # type: ignore[index]
        )
    rows += [
        "",
        f"| index build of the article ({len(texts)} passages), median of 5 | ms |",
        "| --- | --- |",
        f"| ours (chunk, embed with word pieces, FAISS + BM25, write a generation) | {our_build_ms:.1f} |",
        f"| txtai dense (`Embeddings.index`, in memory) | {txtai_dense_build:.1f} |",
        f"| txtai hybrid (`Embeddings.index`, in memory) | {txtai_hybrid_build:.1f} |",
    ]
    rows.insert(0, f"Backend: {embedder.backend} ({embedder.backend_reason}).\n")
    write_results("query", results, "\n".join(rows), CACHE_UNUSED)


if __name__ == "__main__":
    main()
