"""Query latency and throughput over HTTP, ours beside txtai's own API server, in one run.

usage: serving.py [SECONDS_PER_LEVEL]

Both servers hold the article's passages and the same bundled model, run under uvicorn on
loopback, and get the same load from a second process (bench/load.py): 1, 8 and 32 keep-alive
clients sending the benchmark questions back to back. Our answer cache is off
(QA_CACHE_SIZE=0) so every request reaches the model; a last run with the cache on shows what
repeated questions cost. In the same run, in this process, the bare ``encode([question])`` +
FAISS search time gives the floor that the concurrency-1 p50 is compared with. Cold start is the
time from spawning ``qa serve`` to ``/readyz`` = 200 (index already built), median of 3.
Writes bench/results/serving.json and .md.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from common import (  # noqa: E402
    ARTICLE,
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

LEVELS = (1, 8, 32)
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


def floor_ms(settings: Settings, rounds: int = 30) -> dict[str, float]:
    """Bare model encode + FAISS search of one question, in this process."""
    embedder = SentenceTransformerEncoder()
    model = embedder.sentence_transformer
    generation = load_generation(settings.index_dir, parameters_for(settings, embedder))
    index = vector_index(generation.vectors, "Flat")  # the bare baseline: one FAISS index
    encode, both = [], []
    for _ in range(rounds):
        for question in QUESTIONS:
            started = time.perf_counter()
            vector = model.encode([question], normalize_embeddings=True)
            encoded = time.perf_counter()
            index.search(vector, 5)
            done = time.perf_counter()
            encode.append((encoded - started) * 1000)
            both.append((done - started) * 1000)
    return {"bare_encode_p50": round(statistics.median(encode), 2), "p50": round(statistics.median(both), 2)}


def txtai_server(work: Path, settings: Settings) -> tuple[subprocess.Popen[bytes], str]:
    """txtai's API (uvicorn txtai.api:app) over the same passage texts, index saved beforehand."""
    from txtai import Embeddings

    embedder = SentenceTransformerEncoder()
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
    wait_ready(base, "/search?query=ready&limit=1")
    return server, base


def cold_start(settings: Settings, runs: int = 3) -> list[float]:
    seconds = []
    for _ in range(runs):
        started = time.monotonic()
        with qa_server(settings.corpus_dir, settings.index_dir) as _base:
            seconds.append(round(time.monotonic() - started, 2))
    return seconds


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 15.0
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        corpus = work / "corpus"
        corpus.mkdir()
        (corpus / ARTICLE.name).write_bytes(ARTICLE.read_bytes())
        settings = Settings(corpus_dir=corpus, index_dir=work / "index").resolved()
        build_index(settings, SentenceTransformerEncoder())
        floor = floor_ms(settings)
        ours: dict[str, Any] = {}
        with qa_server(corpus, settings.index_dir, QA_CACHE_SIZE="0") as base:
            load(base, 4, 3, OURS, work)  # warm-up
            for clients in LEVELS:
                ours[str(clients)] = load(base, clients, seconds, OURS, work)
        with qa_server(corpus, settings.index_dir) as base:
            load(base, 1, 2, OURS, work)
            cached = load(base, 32, seconds, OURS, work)
        server, base = txtai_server(work, settings)
        try:
            load(base, 4, 3, TXTAI, work)
            txtai = {str(clients): load(base, clients, seconds, TXTAI, work) for clients in LEVELS}
        finally:
            server.terminate()
            server.wait(timeout=30)
        cold = cold_start(settings)
    results = {
        "machine": machine(),
        "seconds_per_level": seconds,
        "floor_ms": floor,
        "ours": ours,
        "ours_cached_32": cached,
        "txtai": txtai,
        "cold_start_seconds": cold,
        "targets": {
            "c1_p50_over_floor": round(ours["1"]["p50"] / floor["p50"], 3),
            "c32_rps_over_c1_rps": round(ours["32"]["rps"] / ours["1"]["rps"], 2),
            "c32_rps_over_txtai_c32_rps": round(ours["32"]["rps"] / txtai["32"]["rps"], 2),
        },
    }
    rows = [
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
        f"| ours, repeated questions (cache on) | 32 | {cached['p50']} | {cached['p95']} | {cached['p99']} | "
        f"{cached['rps']} | {cached['errors']} |"
    )
    targets = results["targets"]
    rows += [
        "",
        "| target | measured |",
        "| --- | --- |",
        f"| c=1 p50 / (bare encode + search p50 {floor['p50']} ms) ≤ 1.25 | {targets['c1_p50_over_floor']} |",
        f"| req/s at c=32 / req/s at c=1 ≥ 2 | {targets['c32_rps_over_c1_rps']} |",
        f"| req/s at c=32, ours / txtai ≥ 2 | {targets['c32_rps_over_txtai_c32_rps']} |",
        f"| cold start, `qa serve` spawn to /readyz = 200 (median of 3) | {statistics.median(cold)} s |",
    ]
    write_results("serving", results, "\n".join(rows))


if __name__ == "__main__":
    main()
