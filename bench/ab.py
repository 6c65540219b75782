"""Two commits of qa served side by side, asked alternately: a code change's HTTP cost, measured
under the same load for both (on a shared machine, runs minutes apart measure the load instead).

usage: ab.py OLD_TREE NEW_TREE [ROUNDS]

Each tree is a checkout (``git worktree add --detach /tmp/old COMMIT``) whose ``.venv`` runs it
(a link to this checkout's works: ``PYTHONPATH`` points each server at its own tree). Both index
the article and serve it on loopback with the answer cache off. Then: c=1, one request to each in
turn per benchmark question (the order swapped every round); c=32, bursts of 192 requests from 32
threads, the two servers alternating. Prints p50/p90 at c=1 and req/s per burst at c=32, with the
ratios new/old (the median of each and the median of adjacent pairs).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ARTICLE, CACHE_OFF, QUESTIONS, free_port, load_average

BURST = 192


def serve(tree: str, work: Path) -> tuple[subprocess.Popen[bytes], int]:
    corpus = work / "corpus"
    corpus.mkdir(parents=True)
    shutil.copy(ARTICLE, corpus)
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": tree,
        "QA_CORPUS_DIR": str(corpus),
        "QA_INDEX_DIR": str(work / "index"),
        "QA_CACHE_SIZE": "0",
        "QA_PORT": str(port),
        "HF_HUB_OFFLINE": "1",
        "QA_RATE_LIMIT": "100000/minute",
    }
    python = f"{tree}/.venv/bin/python"
    subprocess.run([python, "-m", "qa", "index"], env=env, check=True, capture_output=True)
    server = subprocess.Popen(
        [python, "-m", "qa", "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    for _ in range(240):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz")
            return server, port
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"{tree}: the server did not become ready")


def ask(port: int, question: str) -> None:
    urllib.request.urlopen(f"http://127.0.0.1:{port}/query?q={urllib.parse.quote(question)}&k=5").read()


def burst(port: int) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(32) as pool:
        list(pool.map(lambda i: ask(port, QUESTIONS[i % len(QUESTIONS)]), range(BURST)))
    return BURST / (time.perf_counter() - started)


def main() -> None:
    old, new = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    work = Path(tempfile.mkdtemp())
    servers = {"old": serve(old, work / "old"), "new": serve(new, work / "new")}
    latency: dict[str, list[float]] = {"old": [], "new": []}
    rates: dict[str, list[float]] = {"old": [], "new": []}
    try:
        for round_ in range(rounds + 1):  # round 0 warms up
            for question in QUESTIONS:
                for name in ("old", "new") if round_ % 2 == 0 else ("new", "old"):
                    started = time.perf_counter()
                    ask(servers[name][1], question)
                    if round_:
                        latency[name].append((time.perf_counter() - started) * 1000)
        for round_ in range(16):
            for name in ("old", "new") if round_ % 2 == 0 else ("new", "old"):
                rates[name].append(burst(servers[name][1]))
    finally:
        for server, _ in servers.values():
            server.terminate()
    print(f"answer cache: {CACHE_OFF}; load average (1, 5, 15 min) {load_average()}")
    for name in ("old", "new"):
        values = latency[name]
        print(
            f"c=1 {name}: n {len(values)}, p50 {statistics.median(values):.2f} ms, "
            f"p90 {statistics.quantiles(values, n=10)[-1]:.2f} ms"
        )
    print(f"c=1 p50 new/old {statistics.median(latency['new']) / statistics.median(latency['old']):.3f}")
    print("c=32 req/s per burst:", {name: [round(r, 1) for r in v] for name, v in rates.items()})
    pairs = [b / a for a, b in zip(rates["old"], rates["new"], strict=True)]
    print(
        f"c=32 median new/old {statistics.median(rates['new']) / statistics.median(rates['old']):.3f}, "
        f"median of adjacent pairs {statistics.median(pairs):.3f}"
    )


if __name__ == "__main__":
    main()
