"""The vector layer at scale: exact vs approximate search on synthetic 384-d vectors.

For each size, vectors come from a 48-dimensional latent space mapped into 384 dimensions plus
isotropic noise, then L2-normalised (sentence embeddings have a low intrinsic dimension; i.i.d.
noise in 384-d would make every neighbour a near-tie); 500 held-out queries are drawn the same way.
Reported per index: build seconds, single-query search p50/p99 (ms), recall@10
against exact search, and index bytes against the raw float32 vectors.

usage: vectors.py [SIZE ...]   (default 10000 100000; add 1000000 for the full run)
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import faiss
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa.index.generations import EF_SEARCH, tune_for_search, vector_index  # noqa: E402

DIMENSION = 384
QUERIES = 500
FACTORIES = ["Flat", "HNSW32", "IVF1024,SQ8"]


LATENT = 48
MIXING = np.random.default_rng(1).standard_normal((LATENT, DIMENSION)).astype(np.float32)


def synthetic(size: int, rng: np.random.Generator) -> np.ndarray:
    vectors = np.empty((size, DIMENSION), dtype=np.float32)
    for start in range(0, size, 100_000):  # in slices, to keep the temporaries small at 1M
        count = min(100_000, size - start)
        latent = rng.standard_normal((count, LATENT)).astype(np.float32)
        noise = 0.1 * np.sqrt(LATENT) * rng.standard_normal((count, DIMENSION)).astype(np.float32)
        vectors[start : start + count] = latent @ MIXING + noise
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def measure(vectors: np.ndarray, queries: np.ndarray, truth: np.ndarray, factory: str) -> dict[str, float]:
    started = time.perf_counter()
    index = vector_index(vectors, factory)
    build = time.perf_counter() - started
    tune_for_search(index, EF_SEARCH)
    faiss.omp_set_num_threads(1)  # one query at a time, as a request would
    times, found = [], []
    for query in queries:
        began = time.perf_counter()
        _, ids = index.search(query.reshape(1, -1), 10)
        times.append((time.perf_counter() - began) * 1000)
        found.append(ids[0])
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    recall = float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)]))
    times.sort()
    return {
        "build_s": round(build, 2),
        "p50_ms": round(statistics.median(times), 3),
        "p99_ms": round(times[int(0.99 * (len(times) - 1))], 3),
        "recall_at_10": round(recall, 4),
        "memory_ratio": round(faiss.serialize_index(index).nbytes / vectors.nbytes, 3),
    }


def main() -> None:
    sizes = [int(arg) for arg in sys.argv[1:]] or [10_000, 100_000]
    rng = np.random.default_rng(3)
    results: dict[str, object] = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "sizes": {},
    }
    lines = [
        "| vectors | index | build s | search p50 ms | p99 ms | recall@10 | bytes / raw float32 |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for size in sizes:
        vectors, queries = synthetic(size, rng), synthetic(QUERIES, rng)
        _, truth = vector_index(vectors, "Flat").search(queries, 10)
        per_factory = {factory: measure(vectors, queries, truth, factory) for factory in FACTORIES}
        results["sizes"][str(size)] = per_factory  # type: ignore[index]
        for factory, row in per_factory.items():
            lines.append(
                f"| {size:,} | {factory} | {row['build_s']} | {row['p50_ms']} | {row['p99_ms']} | "
                f"{row['recall_at_10']} | {row['memory_ratio']} |"
            )
            print(lines[-1], flush=True)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "vectors.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "vectors.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
