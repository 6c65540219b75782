"""Index lifecycle benchmarks: incremental vs full builds, and a hot swap under query load.

Run with `make bench` (or `.venv/bin/python bench/lifecycle.py`). Prints a table and writes
bench/results/lifecycle.json and .md. Figures are medians of measured runs on this machine.

1. Build cost. A generated corpus of at least 10,000 passages (1,000 documents of twelve short
   paragraphs, words drawn from a fixed vocabulary with a fixed seed) is indexed in full; then one
   document is added and the index rebuilt incrementally. Target: the incremental add takes under
   5% of the full build, because only the new document's passages are embedded.
2. Hot swap. A real `qa serve` on a loopback port answers a steady load from a second process
   (a bounded number of concurrent clients for a bounded time); halfway through, a rebuild
   publishes a new generation and the server swaps to it. Reported: failed queries (target 0),
   p50/p99 latency at rest and during the swap window.
"""

from __future__ import annotations

import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "bench"))
from common import CACHE_OFF, load_average, percentile, wait_ready  # noqa: E402
from common import WORDS as COMMON_WORDS  # noqa: E402

from qa.core.config import Settings  # noqa: E402
from qa.encoders.sbert import SentenceTransformerEncoder  # noqa: E402
from qa.index.build import build_index  # noqa: E402

RESULTS = ROOT / "bench" / "results"
WORDS = COMMON_WORDS


def make_corpus(folder: Path, documents: int, paragraphs: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(documents):
        body = "\n\n".join(
            " ".join(rng.choice(WORDS) for _ in range(rng.randint(18, 30))).capitalize() + "."
            for _ in range(paragraphs)
        )
        (folder / f"doc-{number:05d}.txt").write_text(f"Report {number}\n\n{body}\n", encoding="utf-8")


def build_costs(work: Path, embedder: SentenceTransformerEncoder) -> dict[str, float]:
    corpus = work / "corpus"
    make_corpus(corpus, documents=1000, paragraphs=12)
    settings = Settings(corpus_dir=corpus, index_dir=work / "index").resolved()
    full = build_index(settings, embedder, full=True)
    make_corpus(work / "extra", documents=1, paragraphs=10, seed=99)
    shutil.copy(work / "extra" / "doc-00000.txt", corpus / "added.txt")
    incremental = build_index(settings, embedder)
    return {
        "passages": full.passages,
        "full_seconds": round(full.seconds, 2),
        "full_embedded": full.embedded,
        "incremental_seconds": round(incremental.seconds, 2),
        "incremental_embedded": incremental.embedded,
        "incremental_share": round(incremental.seconds / full.seconds, 4),
    }


def hot_swap(
    work: Path, embedder: SentenceTransformerEncoder, clients: int = 8, seconds: float = 20.0
) -> dict[str, float]:
    corpus = work / "article"
    corpus.mkdir()
    shutil.copy(ROOT / "corpus" / "shanghai-declaration.txt", corpus)
    settings = Settings(corpus_dir=corpus, index_dir=work / "article-index").resolved()
    build_index(settings, embedder)
    port = 18000 + os.getpid() % 1000
    env = {
        **os.environ,
        "QA_CORPUS_DIR": str(corpus),
        "QA_INDEX_DIR": str(settings.index_dir),
        "QA_PORT": str(port),
        "QA_RELOAD_SECONDS": "0.2",
        "QA_CACHE_SIZE": "0",  # every query reaches the model: the load a swap must not disturb
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "qa", "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    log = work / "load.jsonl"
    try:
        wait_ready(f"http://127.0.0.1:{port}")
        load = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "bench" / "load.py"),
                f"http://127.0.0.1:{port}",
                str(clients),
                str(seconds),
                str(log),
            ]
        )
        time.sleep(seconds / 2)
        (corpus / "harbour.md").write_text("# Harbour\n\nThe harbour bridge reopened after repairs.\n")
        swap_start = time.time()
        build_index(settings, embedder)
        _wait_generation(f"http://127.0.0.1:{port}", settings)
        swap_end = time.time() + 1.0
        load.wait(timeout=seconds + 120)
    finally:
        server.terminate()
        server.wait(timeout=30)
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    at_rest = [r["ms"] for r in rows if r["ok"] and r["t"] < swap_start]
    during = [r["ms"] for r in rows if r["ok"] and swap_start <= r["t"] <= swap_end]
    return {
        "clients": clients,
        "seconds": seconds,
        "queries": len(rows),
        "failed": sum(not r["ok"] for r in rows),
        "p50_ms_at_rest": round(statistics.median(at_rest), 1),
        "p99_ms_at_rest": round(percentile(at_rest, 99), 1),
        "p50_ms_during_swap": round(statistics.median(during), 1) if during else None,
        "p99_ms_during_swap": round(percentile(during, 99), 1) if during else None,
        "swap_window_queries": len(during),
    }


def _wait_generation(base: str, settings: Settings) -> None:
    import httpx

    from qa.index.generations import current_generation

    wanted = current_generation(settings.index_dir)
    deadline = time.monotonic() + 60
    while httpx.get(f"{base}/index", timeout=10).json()["generation"] != wanted:
        if time.monotonic() > deadline:
            raise RuntimeError("server did not swap")
        time.sleep(0.1)


def main() -> None:
    embedder = SentenceTransformerEncoder()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        results = {
            "machine": {
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
            },
            "build": build_costs(work, embedder),
            "hot_swap": hot_swap(work, embedder),
        }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "lifecycle.json").write_text(json.dumps(results, indent=2) + "\n")
    build, swap = results["build"], results["hot_swap"]
    table = "\n".join(
        [
            "| measure | value |",
            "| --- | --- |",
            f"| passages in the generated corpus | {build['passages']} |",
            f"| full build | {build['full_seconds']} s ({build['full_embedded']} passages embedded) |",
            f"| add one document, incremental build | {build['incremental_seconds']} s "
            f"({build['incremental_embedded']} passages embedded) |",
            f"| incremental / full | {build['incremental_share']:.1%} (target < 5%) |",
            f"| hot swap under load: failed queries | {swap['failed']} of {swap['queries']} "
            f"({swap['clients']} clients, {swap['seconds']:.0f} s) |",
            f"| p50 / p99 at rest | {swap['p50_ms_at_rest']} / {swap['p99_ms_at_rest']} ms |",
            f"| p50 / p99 during the swap | {swap['p50_ms_during_swap']} / {swap['p99_ms_during_swap']} ms |",
        ]
    )
    table += f"\n\nAnswer cache: {CACHE_OFF}. Load average (1, 5, 15 min) at the end: {load_average()}.\n"
    (RESULTS / "lifecycle.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
