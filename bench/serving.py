"""Query latency and throughput over HTTP, ours beside txtai's own API server, in one run.

usage: serving.py [SECONDS_PER_LEVEL]

Both servers hold the article's passages and the same bundled model, run under uvicorn on
loopback, and get the same load from a second process (bench/load.py): 1, 8 and 32 keep-alive
clients sending the benchmark questions back to back, each level run on ours and then on txtai's,
so that drift on a shared machine hits both alike. Our answer cache is off (QA_CACHE_SIZE=0) for
every headline figure, so each request reaches the model; a last run with the cache on (the
default) shows what repeated questions cost, labelled as such.

In the same run, in this process, with the backend the server uses (QA_BACKEND, default auto:
ONNX Runtime): the bare encode of one question (``bare_encode``: tokenizer, forward pass,
pooling; the floor c=1 is held to), the batched-encode ceiling (questions per second when 32 are
encoded at once: the most c=32 could reach), and what one question costs inside the service,
step by step (encode with word pieces, search, the reader), so the answer's share of c=1 is
known; the bare encode is measured again just before and just after the HTTP c=1 level (the
server idle), and c=1 is also given against that, as the two halves of the first ratio may be
taken minutes apart under different load on a shared machine. Cold start is the time from
spawning ``qa serve`` to ``/readyz`` = 200 with the index built and the ONNX export cached,
median of 3. The targets' ratios are printed last; rerun the
same command on a quiet machine to judge them. Writes bench/results/serving.json and .md.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from common import (  # noqa: E402
    ARTICLE,
    CACHE_OFF,
    QUESTIONS,
    free_port,
    machine,
    qa_server,
    summary,
    wait_ready,
    write_results,
)

from qa.core.config import Settings  # noqa: E402
from qa.encoders.sbert import SentenceTransformerEncoder, bundled_model_path  # noqa: E402
from qa.index.build import build_index, parameters_for  # noqa: E402
from qa.index.generations import load_generation, vector_index  # noqa: E402
from qa.search.searcher import ANSWER_PASSAGES, embed_questions  # noqa: E402
from qa.service.engine import open_searcher  # noqa: E402

LEVELS = (1, 8, 32)
CEILING_BATCH = 32
OURS = "/query?k=5&q={q}"
TXTAI = "/search?limit=5&query={q}"


def load(base: str, clients: int, seconds: float, template: str, work: Path) -> dict[str, Any]:
    """Run the load generator in its own process; latency summary and requests per second."""
    log = work / f"load-{clients}.jsonl"
    subprocess.run(
        [sys.executable, str(HERE / "load.py"), base, str(clients), str(seconds), str(log), template],
        check=True,
        timeout=seconds + 120,
    )
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    span = max(r["t"] for r in rows) - min(r["t"] - r["ms"] / 1000 for r in rows)
    ok = [r["ms"] for r in rows if r["ok"]]
    return {**summary(ok), "rps": round(len(ok) / span, 1), "errors": len(rows) - len(ok)}


def bare_encodes(embedder: SentenceTransformerEncoder, rounds: int = 8) -> list[float]:
    """The bare encode of each benchmark question, ``rounds`` times (ms each): measured again right
    before and after the c=1 level, so that its ratio compares times taken under the same load."""
    return [timed_ms(lambda q=q: embedder.bare_encode([q])) for _ in range(rounds) for q in QUESTIONS]


def timed_ms(action: Any) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def in_process(settings: Settings, embedder: SentenceTransformerEncoder, rounds: int = 20) -> dict[str, Any]:
    """The floor, the ceiling and one question's steps, with the backend the server uses."""
    generation = load_generation(settings.index_dir, parameters_for(settings, embedder))
    index = vector_index(generation.vectors, "Flat")  # the bare baseline: one FAISS index
    searcher = open_searcher(generation, embedder, settings)
    batch = [QUESTIONS[i % len(QUESTIONS)] for i in range(CEILING_BATCH)]
    names = ("bare encode", "bare encode + FAISS search", "encode with word pieces", "search", "reader")
    steps: dict[str, list[float]] = {name: [] for name in names}
    batched: list[float] = []
    for _ in range(3):  # warm-up
        searcher.search(QUESTIONS[0], 5)
        embedder.bare_encode(batch, CEILING_BATCH)
    for _ in range(rounds):
        for question in QUESTIONS:
            steps["bare encode"].append(timed_ms(lambda q=question: embedder.bare_encode([q])))
            steps["bare encode + FAISS search"].append(
                timed_ms(lambda q=question: index.search(embedder.bare_encode([q]), 5))
            )
            started = time.perf_counter()
            (query,) = embed_questions(embedder, [question])
            encoded = time.perf_counter()
            ranked = searcher.rank(query, 5, "hybrid")
            evidence = searcher.evidence([row for row, _ in ranked[:ANSWER_PASSAGES]])
            searched = time.perf_counter()
            if searcher.reader is not None:
                searcher.reader.read(query, evidence)
            read = time.perf_counter()
            steps["encode with word pieces"].append((encoded - started) * 1000)
            steps["search"].append((searched - encoded) * 1000)
            steps["reader"].append((read - searched) * 1000)
        batched.append(timed_ms(lambda: embedder.bare_encode(batch, CEILING_BATCH)))
    return {
        "backend": embedder.backend,
        "backend_reason": embedder.backend_reason,
        "reader": searcher.reader.name if searcher.reader is not None else None,
        "steps_ms": {name: summary(values) for name, values in steps.items()},
        "ceiling_rps": round(CEILING_BATCH / (statistics.median(batched) / 1000), 1),
    }


@contextlib.contextmanager
def txtai_server(work: Path, settings: Settings, embedder: SentenceTransformerEncoder) -> Iterator[str]:
    """txtai's API (uvicorn txtai.api:app) over the same passage texts, index saved beforehand."""
    from txtai import Embeddings

    passages = load_generation(settings.index_dir, parameters_for(settings, embedder)).passages
    embeddings = Embeddings({"path": str(bundled_model_path()), "content": True})
    embeddings.index([(i, passage.text, None) for i, passage in enumerate(passages)])
    embeddings.save(str(work / "txtai-index"))
    config = work / "txtai.yml"
    # an existing index at `path` is loaded; the `embeddings` section switches the search routes on
    config.write_text(
        f"path: {work / 'txtai-index'}\nwritable: false\n"
        f"embeddings:\n  path: {bundled_model_path()}\n  content: true\n"
    )
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "txtai.api:app", "--host", "127.0.0.1", "--port", str(port)],
        env={**os.environ, "CONFIG": str(config)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, "/search?query=ready&limit=1")
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def cold_start(settings: Settings, runs: int = 3) -> list[float]:
    seconds = []
    for _ in range(runs):
        started = time.monotonic()
        with qa_server(settings.corpus_dir, settings.index_dir) as _base:
            seconds.append(round(time.monotonic() - started, 2))
    return seconds


def ratios(ours: dict[str, Any], txtai: dict[str, Any], inside: dict[str, Any]) -> dict[str, float]:
    steps = inside["steps_ms"]
    return {
        "c1_p50_over_txtai_c1_p50": round(ours["1"]["p50"] / txtai["1"]["p50"], 3),
        "c1_p50_over_bare_encode_p50": round(ours["1"]["p50"] / steps["bare encode"]["p50"], 3),
        "c1_p50_over_bare_encode_beside_it_p50": round(
            ours["1"]["p50"] / inside["bare_encode_beside_c1_ms"]["p50"], 3
        ),
        "c32_rps_over_txtai_c32_rps": round(ours["32"]["rps"] / txtai["32"]["rps"], 2),
        "c32_rps_over_batched_encode_ceiling": round(ours["32"]["rps"] / inside["ceiling_rps"], 3),
        "reader_share_of_c1_p50": round(steps["reader"]["p50"] / ours["1"]["p50"], 3),
    }


def table(results: dict[str, Any]) -> str:
    ours, txtai, cached = results["ours"], results["txtai"], results["ours_cached_32"]
    inside, targets, cold = results["in_process"], results["targets"], results["cold_start_seconds"]
    rows = [
        f"Backend: {inside['backend']} ({inside['backend_reason']}); reader: {inside['reader']}.",
        "",
        "| HTTP, k=5 | clients | p50 ms | p95 ms | p99 ms | req/s | errors |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, runs in (("ours (cache off)", ours), ("txtai API", txtai)):
        for clients, run in runs.items():
            rows.append(
                f"| {name} | {clients} | {run['p50']} | {run['p95']} | {run['p99']} | "
                f"{run['rps']} | {run['errors']} |"
            )
    rows.append(
        f"| ours, repeated questions (cache on; not a headline) | 32 | {cached['p50']} | {cached['p95']} | "
        f"{cached['p99']} | {cached['rps']} | {cached['errors']} |"
    )
    rows += ["", "| in process, one question, same backend | p50 ms | p95 ms |", "| --- | --- | --- |"]
    for name, step in inside["steps_ms"].items():
        rows.append(f"| {name} | {step['p50']} | {step['p95']} |")
    beside = inside["bare_encode_beside_c1_ms"]
    rows.append(
        f"| bare encode, just before and after the HTTP c=1 level | {beside['p50']} | {beside['p95']} |"
    )
    ceiling = inside["ceiling_rps"]
    rows.append(f"| batched-encode ceiling, {CEILING_BATCH} questions a call | {ceiling} q/s | |")
    rows += [
        "",
        "| target (ratio in this run) | measured |",
        "| --- | --- |",
        f"| HTTP c=1 p50 / txtai API c=1 p50 ≤ 0.7 | {targets['c1_p50_over_txtai_c1_p50']} |",
        f"| HTTP c=1 p50 / bare encode p50 ≤ 1.25 | {targets['c1_p50_over_bare_encode_p50']} |",
        f"| the same, against the bare encode just before and after the c=1 level | "
        f"{targets['c1_p50_over_bare_encode_beside_it_p50']} |",
        f"| c=32 req/s / txtai c=32 req/s ≥ 4 | {targets['c32_rps_over_txtai_c32_rps']} |",
        f"| c=32 req/s / batched-encode ceiling ≥ 0.6 | {targets['c32_rps_over_batched_encode_ceiling']} |",
        f"| the reader's share of c=1 p50 | {targets['reader_share_of_c1_p50']:.1%} |",
        f"| cold start, `qa serve` spawn to /readyz = 200 ≤ 6 s (median of 3: {cold}) | "
        f"{statistics.median(cold)} s |",
    ]
    return "\n".join(rows)


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 15.0
    started = machine()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        corpus = work / "corpus"
        corpus.mkdir()
        (corpus / ARTICLE.name).write_bytes(ARTICLE.read_bytes())
        settings = Settings(corpus_dir=corpus, index_dir=work / "index").resolved()
        embedder = SentenceTransformerEncoder.from_settings(settings)
        build_index(settings, embedder)
        inside = in_process(settings, embedder)
        ours: dict[str, Any] = {}
        txtai: dict[str, Any] = {}
        with (
            qa_server(corpus, settings.index_dir, QA_CACHE_SIZE="0") as base,
            txtai_server(work, settings, embedder) as txtai_base,
        ):
            load(base, 4, 3, OURS, work)  # warm-up
            load(txtai_base, 4, 3, TXTAI, work)
            for clients in LEVELS:  # each level on both, back to back
                adjacent = bare_encodes(embedder) if clients == 1 else []
                ours[str(clients)] = load(base, clients, seconds, OURS, work)
                if clients == 1:
                    inside["bare_encode_beside_c1_ms"] = summary(adjacent + bare_encodes(embedder))
                txtai[str(clients)] = load(txtai_base, clients, seconds, TXTAI, work)
        with qa_server(corpus, settings.index_dir) as base:
            load(base, 1, 2, OURS, work)
            cached = load(base, 32, seconds, OURS, work)
        cold = cold_start(settings)
    results = {
        "machine": started,
        "seconds_per_level": seconds,
        "in_process": inside,
        "ours": ours,
        "ours_cached_32": cached,
        "txtai": txtai,
        "cold_start_seconds": cold,
        "targets": ratios(ours, txtai, inside),
    }
    write_results("serving", results, table(results), CACHE_OFF + " (the last HTTP row alone: on)")


if __name__ == "__main__":
    main()
