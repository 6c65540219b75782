"""Single-node against sharded-on-Ray: HTTP query latency, and the build time of a SciFact slice.

Run with `.venv/bin/python bench/ray_bench.py [DOCUMENTS] [QUERIES]` (not part of `make test`; needs
the Ray extra and ../shared/data/scifact). Writes bench/results/ray.json and .md.

1. Build. The first DOCUMENTS abstracts of SciFact (default 1,000) are indexed single-node
   (one model, this process) and with `RayEncoder` (one model per worker actor, two workers on a
   local two-node cluster). Model loads are timed apart from the build.
2. Queries. The slice's index is served by `qa serve` (uvicorn) and by `qa serve --ray` with
   2 shards and 1, then 2 replicas; QUERIES SciFact test questions (default 200, hybrid, k=10)
   are asked one at a time (p50/p99), then by 4 concurrent clients (throughput).
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa.core.config import Settings  # noqa: E402
from qa.encoders.sbert import SentenceTransformerEncoder  # noqa: E402
from qa.evaluation.data import load_beir  # noqa: E402
from qa.index.build import build_documents  # noqa: E402

RESULTS = ROOT / "bench" / "results"
SCIFACT = ROOT.parent / "shared" / "data" / "scifact"
CLIENTS = 4


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 2)


def build_times(documents: list[Any], base: Path, address: str) -> dict[str, Any]:
    """Seconds to build the slice single-node and on Ray (model loads apart)."""
    from qa.distributed import RayEncoder, connect

    started = time.perf_counter()
    local = SentenceTransformerEncoder()
    load_seconds = time.perf_counter() - started
    single = Settings(corpus_dir=base / "unused", index_dir=base / "single").resolved()
    summary = build_documents(documents, single, local)
    connect(address)
    started = time.perf_counter()
    remote = RayEncoder(local, workers=2, cpus=1.0)
    remote.embed_with_tokens(["warm up"] * 2)  # both actors have loaded their model
    workers_seconds = time.perf_counter() - started
    on_ray = Settings(corpus_dir=base / "unused", index_dir=base / "ray").resolved()
    ray_summary = build_documents(documents, on_ray, remote)
    remote.close()
    import ray

    ray.shutdown()
    return {
        "documents": len(documents),
        "passages": summary.passages,
        "single_node_build_s": round(summary.seconds, 2),
        "single_node_model_load_s": round(load_seconds, 2),
        "ray_build_s": round(ray_summary.seconds, 2),
        "ray_workers_start_s": round(workers_seconds, 2),
        "ray_workers": 2,
        "index_dir": str(single.index_dir),
    }


def fan_out_cost(index_dir: str, questions: list[str], address: str) -> dict[str, Any]:
    """Per question, in one process: embedding, then ranking + answer in process against the
    same over two Ray shard actors (the fan-out's own cost, without HTTP)."""
    import ray

    from qa.distributed import ShardServer, connect, open_sharded
    from qa.index.generations import load_generation
    from qa.service.engine import open_searcher

    connect(address)
    embedder = SentenceTransformerEncoder()
    actor = ray.remote(ShardServer)
    handles = [
        actor.options(num_cpus=1, scheduling_strategy="SPREAD").remote(index_dir, shard, 2)
        for shard in (0, 1)
    ]
    single = open_searcher(load_generation(Path(index_dir)), embedder)
    sharded = open_sharded(
        Settings(index_dir=Path(index_dir)).resolved(), embedder, single.generation.name, handles
    )
    timings: dict[str, list[float]] = {
        "embed": [],
        "rank+answer, in process": [],
        "rank+answer, 2 Ray shards": [],
    }
    for question in questions:
        started = time.perf_counter()
        query = single.embed(question)
        timings["embed"].append((time.perf_counter() - started) * 1000)
        for name, searcher in (("rank+answer, in process", single), ("rank+answer, 2 Ray shards", sharded)):
            started = time.perf_counter()
            searcher.search_query(query, 10, "hybrid")
            timings[name].append((time.perf_counter() - started) * 1000)
    ray.shutdown()
    return {
        name: {"p50_ms": percentile(v, 0.5), "p99_ms": percentile(v, 0.99)} for name, v in timings.items()
    }


def wait_ready(base: str, process: subprocess.Popen[bytes], seconds: float = 400) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the server exited before it was ready")
        try:
            if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(1)
    raise RuntimeError("the server was not ready in time")


def measure(base: str, questions: list[str]) -> dict[str, Any]:
    """Sequential p50/p99 over HTTP, then throughput with concurrent clients."""
    with httpx.Client(base_url=base, timeout=120) as http:
        for question in questions[:5]:  # warm-up
            http.get("/query", params={"q": question, "k": 10})
        latencies = []
        for question in questions:
            started = time.perf_counter()
            response = http.get("/query", params={"q": question, "k": 10})
            latencies.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()

    def ask(question: str) -> None:
        httpx.get(f"{base}/query", params={"q": question, "k": 10}, timeout=120).raise_for_status()

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(ask, questions))
    elapsed = time.perf_counter() - started
    return {
        "p50_ms": percentile(latencies, 0.5),
        "p99_ms": percentile(latencies, 0.99),
        "mean_ms": round(statistics.fmean(latencies), 2),
        f"throughput_qps_{CLIENTS}_clients": round(len(questions) / elapsed, 2),
    }


def serve_and_measure(
    arguments: list[str], index_dir: str, questions: list[str], **extra_env: str
) -> dict[str, Any]:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "QA_INDEX_DIR": index_dir,
        "QA_PORT": str(port),
        "QA_RAY_ACTOR_CPUS": "1",
        "QA_CACHE_SIZE": "0",  # every question reaches the model (see results["answer_cache"])
        **extra_env,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "qa", "serve", *arguments],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, process)
        return measure(base, questions)
    finally:
        process.terminate()
        process.wait(timeout=60)


def write(results: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ray.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    build = results["build"]
    lines = [
        f"# Ray scale-out benchmark ({results['machine']}, {results['date']})",
        "",
        f"SciFact slice: {build['documents']} documents, {build['passages']} passages; "
        f"{results['queries']} SciFact test questions, hybrid, k=10, over HTTP on loopback.",
        "",
        "| service | p50 ms | p99 ms | mean ms | throughput q/s (4 clients) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, row in results["serving"].items():
        lines.append(
            f"| {name} | {row['p50_ms']} | {row['p99_ms']} | {row['mean_ms']} | "
            f"{row[f'throughput_qps_{CLIENTS}_clients']} |"
        )
    lines += ["", "| step (one question, hybrid, k=10) | p50 ms | p99 ms |", "| --- | --- | --- |"]
    for name, row in results["fan_out_in_process"].items():
        lines.append(f"| {name} | {row['p50_ms']} | {row['p99_ms']} |")
    lines += [
        "",
        "| build | seconds |",
        "| --- | --- |",
        f"| single-node build | {build['single_node_build_s']} "
        f"(model load {build['single_node_model_load_s']}) |",
        f"| Ray build, {build['ray_workers']} workers | {build['ray_build_s']} "
        f"(workers start and load models {build['ray_workers_start_s']}) |",
    ]
    (RESULTS / "ray.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    from ray.cluster_utils import Cluster

    documents_wanted = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    queries_wanted = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    data = load_beir(SCIFACT, "test")
    documents = data.documents[:documents_wanted]
    questions = list(data.queries.values())[:queries_wanted]
    node = {"num_cpus": 3, "object_store_memory": 200 * 1024**2}
    cluster = Cluster(initialize_head=True, head_node_args={**node, "include_dashboard": False})
    cluster.add_node(**node)
    cluster.wait_for_nodes(timeout=120)
    try:
        with tempfile.TemporaryDirectory(prefix="qa-ray-bench-") as folder:
            build = build_times(documents, Path(folder), cluster.address)
            index_dir = build.pop("index_dir")
            fan_out = fan_out_cost(index_dir, questions, cluster.address)
            serving = {
                "single node (uvicorn)": serve_and_measure([], index_dir, questions),
                # Ray starts each actor with OMP_NUM_THREADS = its CPUs (1); the same for uvicorn
                "single node (uvicorn), OMP_NUM_THREADS=1": serve_and_measure(
                    [], index_dir, questions, OMP_NUM_THREADS="1"
                ),
            }
            for replicas in (1, 2):
                arguments = ["--ray", "--address", cluster.address, "--shards", "2"]
                serving[f"Ray, 2 shards, {replicas} replica{'s' if replicas > 1 else ''}"] = (
                    serve_and_measure([*arguments, "--replicas", str(replicas)], index_dir, questions)
                )
    finally:
        import ray

        ray.shutdown()  # a driver still connected to the head node blocks the cluster's shutdown
        cluster.shutdown()
    results = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "date": time.strftime("%Y-%m-%d"),
        "queries": len(questions),
        "build": build,
        "fan_out_in_process": fan_out,
        "serving": serving,
    }
    write(results)
    results["answer_cache"] = "off (QA_CACHE_SIZE=0): every question reaches the model"
    results["load_average"] = [round(value, 2) for value in os.getloadavg()]
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
