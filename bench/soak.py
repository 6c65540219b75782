"""A bounded soak: a real `qa serve` on loopback, and from this (second) process N concurrent
clients for T seconds after a warm-up. Reports requests, errors, latency percentiles and the
server's resident memory after the warm-up and at the end (psutil), and writes
bench/results/soak.json and soak.md. Exits 1 on any error or on memory growth above the bound.

usage: soak.py [--clients 32] [--seconds 60] [--warmup 10] [--max-growth 0.10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from common import CACHE_OFF, QUESTIONS, load_average  # noqa: E402  (the questions every benchmark asks)

RESULTS = ROOT / "bench" / "results"


@dataclass
class Tally:
    latencies_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    by_route: dict[str, int] = field(default_factory=dict)

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def request_for(number: int) -> tuple[str, str, dict[str, Any]]:
    """A mix shaped like real use: mostly questions (GET and POST, every mode), some listings."""
    question = QUESTIONS[number % len(QUESTIONS)]
    slot = number % 20
    if slot < 12:
        mode = ("hybrid", "dense", "keyword")[number % 3]
        return "GET", "/query", {"params": {"q": question, "k": 5, "mode": mode}}
    if slot < 17:
        return "POST", "/query", {"json": {"question": question, "k": 3}}
    if slot < 18:
        return "GET", "/documents", {}
    if slot < 19:
        return "GET", "/index", {}
    return "GET", "/readyz", {}


async def client(http: httpx.AsyncClient, offset: int, deadline: float, tally: Tally | None) -> None:
    number = offset * 7
    while time.monotonic() < deadline:
        method, url, extra = request_for(number)
        number += 1
        started = time.perf_counter()
        try:
            response = await http.request(method, url, **extra)
        except httpx.HTTPError as error:
            if tally is not None:
                tally.error(type(error).__name__)
            continue
        if tally is None:
            continue
        tally.latencies_ms.append((time.perf_counter() - started) * 1000)
        tally.by_route[f"{method} {url}"] = tally.by_route.get(f"{method} {url}", 0) + 1
        if response.status_code != 200:
            tally.error(f"HTTP {response.status_code}")


async def load(base: str, clients: int, seconds: float, tally: Tally | None) -> None:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(client(http, offset, deadline, tally) for offset in range(clients)))


def start_server(port: int, log: Path) -> subprocess.Popen[bytes]:
    # the answer cache off: every question reaches the model, the path whose memory must hold still
    env = {**os.environ, "QA_PORT": str(port), "HF_HUB_OFFLINE": "1", "QA_CACHE_SIZE": "0"}
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "qa", "serve"], cwd=ROOT, env=env, stdout=sink, stderr=sink
        )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"qa serve exited early:\n{log.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    server.kill()
    raise SystemExit("qa serve did not become ready")


def percentile(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 1) if values else 0.0


def report(args: argparse.Namespace, tally: Tally, rss: tuple[int, int], seconds: float) -> dict[str, Any]:
    after_warmup, at_end = rss
    growth = (at_end - after_warmup) / after_warmup
    return {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "clients": args.clients,
        "seconds": round(seconds, 1),
        "warmup_seconds": args.warmup,
        "requests": len(tally.latencies_ms)
        + sum(v for k, v in tally.errors.items() if not k.startswith("HTTP")),
        "requests_per_second": round(len(tally.latencies_ms) / seconds, 1),
        "errors": sum(tally.errors.values()),
        "error_kinds": tally.errors,
        "by_route": tally.by_route,
        "p50_ms": percentile(tally.latencies_ms, 50),
        "p95_ms": percentile(tally.latencies_ms, 95),
        "p99_ms": percentile(tally.latencies_ms, 99),
        "max_ms": round(max(tally.latencies_ms, default=0.0), 1),
        "rss_after_warmup_mib": round(after_warmup / 2**20, 1),
        "rss_at_end_mib": round(at_end / 2**20, 1),
        "rss_growth": round(growth, 4),
        "max_growth": args.max_growth,
        "cpus": os.cpu_count(),
    }


def markdown(result: dict[str, Any]) -> str:
    rows = [
        (
            "clients / seconds (after warm-up)",
            f"{result['clients']} / {result['seconds']} ({result['warmup_seconds']} s)",
        ),
        ("requests (per second)", f"{result['requests']} ({result['requests_per_second']})"),
        ("errors", f"{result['errors']} {result['error_kinds'] or ''}".strip()),
        (
            "p50 / p95 / p99 / max ms",
            f"{result['p50_ms']} / {result['p95_ms']} / {result['p99_ms']} / {result['max_ms']}",
        ),
        (
            "server RSS after warm-up / at end",
            f"{result['rss_after_warmup_mib']} / {result['rss_at_end_mib']} MiB",
        ),
        ("RSS growth (bound)", f"{result['rss_growth']:.1%} ({result['max_growth']:.0%})"),
    ]
    lines = [
        f"Soak, {result['measured_at']}, {result['cpus']} CPUs",
        "",
        "| measure | value |",
        "| --- | --- |",
    ]
    return "\n".join(lines + [f"| {name} | {value} |" for name, value in rows]) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=10)
    parser.add_argument("--max-growth", type=float, default=0.10)
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    (ROOT / ".cache").mkdir(exist_ok=True)
    server = start_server(port, ROOT / ".cache" / "soak-server.log")
    base = f"http://127.0.0.1:{port}"
    try:
        process = psutil.Process(server.pid)
        asyncio.run(load(base, args.clients, args.warmup, None))
        after_warmup = process.memory_info().rss
        tally = Tally()
        started = time.monotonic()
        asyncio.run(load(base, args.clients, args.seconds, tally))
        seconds = time.monotonic() - started
        at_end = process.memory_info().rss
    finally:
        server.terminate()
        server.wait(timeout=30)
    result = report(args, tally, (after_warmup, at_end), seconds)
    (RESULTS / "soak.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (RESULTS / "soak.md").write_text(markdown(result), encoding="utf-8")
    print(markdown(result))
    print(f"answer cache: {CACHE_OFF}; load average (1, 5, 15 min) {load_average()}")
    if result["errors"] or result["rss_growth"] > args.max_growth:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
