"""What the benchmark scripts share: the machine's description, percentiles, a real `qa serve` on
a loopback port, and writing results as JSON plus a markdown table under bench/results/."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
ARTICLE = ROOT / "corpus" / "shanghai-declaration.txt"
# Questions a reader might ask of the article: the load the HTTP benchmarks send, round robin.
QUESTIONS = [
    "what did UNIDO announce?",
    "Where will the centre be housed?",
    "who wrote this article?",
    "what does the declaration say about AI safety?",
    "which ministry supports the centre?",
    "what did Li Qiang say?",
    "what is the AIM Global program?",
    "when was the article published?",
]


def machine() -> dict[str, Any]:
    import torch

    model = ""
    with contextlib.suppress(OSError):
        names = [
            line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")
        ]
        model = names[0].split(":", 1)[1].strip() if names else ""
    return {
        "platform": platform.platform(),
        "cpu": model,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_average": load_average(),
    }


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages: on a shared machine, what else was running."""
    return [round(value, 2) for value in os.getloadavg()]


# What every benchmark states about the answer cache (QA_CACHE_SIZE): repeated questions answered
# from memory measure nothing, so the headline figures are always with it off.
CACHE_OFF = "off (QA_CACHE_SIZE=0): every question reaches the model"
CACHE_UNUSED = "not involved (in process, below the Engine that holds it)"


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def summary(milliseconds: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99, and the spread as the interquartile range, in ms."""
    return {
        "p50": round(statistics.median(milliseconds), 2),
        "p95": round(percentile(milliseconds, 95), 2),
        "p99": round(percentile(milliseconds, 99), 2),
        "iqr": round(percentile(milliseconds, 75) - percentile(milliseconds, 25), 2),
        "n": len(milliseconds),
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_ready(base: str, path: str = "/readyz", timeout: float = 180) -> float:
    """Seconds until ``base + path`` answers 200."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if httpx.get(f"{base}{path}", timeout=2).status_code == 200:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{base} was not ready in {timeout:.0f} s")


@contextlib.contextmanager
def qa_server(corpus: Path, index: Path, **env: str) -> Iterator[str]:
    """A real `qa serve` subprocess over ``corpus``/``index`` on a free loopback port."""
    port = free_port()
    variables = {
        **os.environ,
        "QA_CORPUS_DIR": str(corpus),
        "QA_INDEX_DIR": str(index),
        "QA_PORT": str(port),
        **env,
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "qa", "serve"],
        env=variables,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def write_results(name: str, results: dict[str, Any], table: str, cache: str) -> None:
    """Write ``results`` (JSON) and ``table`` (markdown) under bench/results/ and print the table,
    with the machine, its load average at the start and the end, and ``cache``: whether the
    answer cache was on (``CACHE_OFF``, ``CACHE_UNUSED`` or what the run did)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    results = {**results, "answer_cache": cache, "load_average_end": load_average()}
    (RESULTS / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n")
    info = results.get("machine", {})
    footer = (
        f"\n\nAnswer cache: {cache}.\n"
        f"Machine: {info.get('cpus')} CPUs ({info.get('cpu')}), {info.get('when')}; load average "
        f"(1, 5, 15 min) {info.get('load_average')} at the start, {results['load_average_end']} at the end.\n"
    )
    (RESULTS / f"{name}.md").write_text(table + footer)
    print(table + footer)


# Words the synthetic corpora of the benchmarks are written from (bench/lifecycle.py, bench/segments.py).
WORDS = [
    "river",
    "harbour",
    "bridge",
    "council",
    "engineer",
    "cable",
    "tower",
    "budget",
    "repair",
    "steel",
    "city",
    "report",
    "vote",
    "mayor",
    "school",
    "library",
    "museum",
    "garden",
    "railway",
    "station",
    "tunnel",
    "ferry",
    "island",
    "market",
    "festival",
    "tax",
    "energy",
    "solar",
    "wind",
    "grid",
    "water",
    "supply",
    "flood",
    "storm",
    "coast",
    "port",
    "cargo",
    "airport",
    "runway",
    "pilot",
    "nurse",
    "doctor",
    "hospital",
    "clinic",
    "vaccine",
    "study",
    "trial",
    "patient",
    "data",
    "model",
    "network",
    "sensor",
    "satellite",
    "orbit",
    "launch",
]
