"""Segmented indexes at scale: write, add, delete, load, query and merge at 10k, 100k (and 1M)
passages, with the real tokenizer and stand-in vectors (the model would take hours).

The stand-in encoder tokenizes with the bundled model's own tokenizer (real word-piece counts,
offsets and chunking) and gives each word piece a fixed random unit vector per token id (a
passage's vector is the normalised mean of its pieces): the index stores exactly what it would
with the model. Each step runs in a fresh process, so its peak RSS is its own. Printed per size:
bytes per passage, disk with three generations kept against one, full write (time, peak RSS),
one-document add as a write makes it (``POST /documents``: the document parsed and indexed
alone; time, peak RSS, bytes written), the same add found by ``qa index`` (the corpus folder
read again), delete, warm load, hybrid query p50/p99 and one tiered merge of eight one-document
segments (after eight adds). Each step's figures are printed as it ends (stderr), so a run cut
short still reports what it measured.

usage: segments.py [PASSAGES ...]   (default 10000 100000; add 1000000 for the full run)
"""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from common import WORDS as COMMON_WORDS  # noqa: E402

from qa.core.config import Settings  # noqa: E402
from qa.core.types import TokenVectors, Vectors  # noqa: E402
from qa.index.build import build_change, build_index, build_lock  # noqa: E402
from qa.index.generations import load_generation  # noqa: E402
from qa.index.merge import MERGE_FACTOR, merge_all  # noqa: E402
from qa.ingest.uploads import parse_document  # noqa: E402

WORDS = COMMON_WORDS[:29]  # the vocabulary its committed results were measured with
PARAGRAPHS = 10  # a document of ten paragraphs gives about ten passages


class StandInEncoder:
    """The bundled model's tokenizer with fixed random vectors per token id (see the docstring)."""

    name = "stand-in"
    dimension = 384
    max_tokens = 254
    passage_precision = "float32"

    def __init__(self) -> None:
        from transformers import AutoTokenizer

        from qa.encoders.sbert import bundled_model_path

        self.tokenizer = AutoTokenizer.from_pretrained(str(bundled_model_path()))
        table = np.random.default_rng(0).standard_normal((self.tokenizer.vocab_size, self.dimension))
        self.table = (table / np.linalg.norm(table, axis=1, keepdims=True)).astype(np.float32)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(ids) for ids in self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]]

    def truncate(self, text: str, budget: int) -> str:
        spans = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        return text if len(spans) <= budget else text[: spans[budget - 1][1]]

    def embed(self, texts: Sequence[str], batch_size: int = 64) -> Vectors:
        return self.embed_with_tokens(texts, batch_size, offsets=False)[0]

    def embed_with_tokens(
        self, texts: Sequence[str], batch_size: int = 64, offsets: bool = True
    ) -> tuple[Vectors, list[TokenVectors]]:
        encoded = self.tokenizer(
            list(texts),
            add_special_tokens=False,
            return_offsets_mapping=True,
            truncation=True,
            max_length=254,
        )
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        tokens: list[TokenVectors] = []
        for row, (ids, spans) in enumerate(zip(encoded["input_ids"], encoded["offset_mapping"], strict=True)):
            pieces = self.table[ids] if ids else np.zeros((0, self.dimension), np.float32)
            mean = pieces.sum(axis=0)
            vectors[row] = mean / max(float(np.linalg.norm(mean)), 1e-9)
            starts = np.asarray([s for s, _ in spans] if offsets else [-1] * len(ids), dtype=np.int32)
            tokens.append((pieces, starts))
        return vectors, tokens


def document_text(seed: int) -> str:
    rng = random.Random(seed)
    body = "\n\n".join(
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(60, 90))).capitalize() + "."
        for _ in range(PARAGRAPHS)
    )
    return f"Report {seed}\n\n{body}\n"


def write_document(folder: Path, name: str, seed: int) -> None:
    (folder / name).write_text(document_text(seed), encoding="utf-8")


def add_one(settings: Settings, encoder: StandInEncoder, name: str, seed: int) -> None:
    """One document added as ``POST /documents`` adds it: stored, parsed, indexed alone."""
    write_document(settings.corpus_dir, name, seed)
    document = parse_document(name, (settings.corpus_dir / name).read_bytes())
    with build_lock(settings.index_dir):
        build_change(settings, encoder, added=[document])  # type: ignore[arg-type]


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def step(kind: str, work: Path, passages: int) -> dict[str, Any]:
    """One measured step, in this (fresh) process."""
    settings = Settings(corpus_dir=work / "corpus", index_dir=work / "index", embed_batch_size=64).resolved()
    encoder = StandInEncoder()
    before = folder_bytes(settings.index_dir) if settings.index_dir.exists() else 0
    started = time.perf_counter()
    result: dict[str, Any] = {}
    if kind == "write":
        settings.corpus_dir.mkdir(parents=True, exist_ok=True)
        for number in range(max(passages // PARAGRAPHS, 1)):
            write_document(settings.corpus_dir, f"doc-{number:07d}.txt", number)
        started = time.perf_counter()
        result["passages"] = build_index(settings, encoder, full=True).passages  # type: ignore[arg-type]
    elif kind == "add":
        add_one(settings, encoder, "added-0.txt", 10**9)
    elif kind == "rescan":
        write_document(settings.corpus_dir, "added-rescan.txt", 10**9 + 1)
        build_index(settings, encoder)  # type: ignore[arg-type]
    elif kind == "merge":
        for number in range(MERGE_FACTOR):
            add_one(settings, encoder, f"added-merge-{number}.txt", 10**9 + 2 + number)
        before, started = folder_bytes(settings.index_dir), time.perf_counter()
        with build_lock(settings.index_dir):
            result["merged"] = len(merge_all(settings.index_dir, settings))
    elif kind == "delete":
        doc_id = next(settings.corpus_dir.glob("doc-*.txt")).name
        (settings.corpus_dir / doc_id).unlink()
        with build_lock(settings.index_dir):
            build_change(settings, encoder, removed=[doc_id])  # type: ignore[arg-type]
    elif kind == "load":
        load_generation(settings.index_dir)  # once: verified and recorded; then warm
        started = time.perf_counter()
        result["segments"] = len(load_generation(settings.index_dir).segments)
    elif kind == "query":
        from qa.service.engine import open_searcher

        searcher = open_searcher(load_generation(settings.index_dir), encoder)  # type: ignore[arg-type]
        rng = random.Random(5)
        times = []
        for _ in range(200):
            question = " ".join(rng.choice(WORDS) for _ in range(6))
            began = time.perf_counter()
            searcher.search(question, 10, "hybrid")
            times.append((time.perf_counter() - began) * 1000)
        times.sort()
        result |= {"p50_ms": round(statistics.median(times), 1), "p99_ms": round(times[int(0.99 * 199)], 1)}
    result["seconds"] = round(time.perf_counter() - started, 2)
    result["peak_rss_mb"] = round(peak_rss_mb())
    result["bytes_written"] = folder_bytes(settings.index_dir) - before
    return result


def run(kind: str, work: Path, passages: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--step", kind, str(work), str(passages)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def measure(passages: int) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="qa-segments-"))
    try:
        figures: dict[str, Any] = {}
        for kind in ("write", "add", "rescan", "delete", "load", "query", "merge"):
            figures[kind] = run(kind, work, passages)
            print(f"{passages:,} passages, {kind}: {json.dumps(figures[kind])}", file=sys.stderr, flush=True)
            if kind == "query":  # three generations kept by now
                one = figures["write"]["bytes_written"]
                figures["three_generations_over_one"] = round(folder_bytes(work / "index") / one, 3)
        figures["bytes_per_passage"] = round(one / figures["write"]["passages"])
        return figures
    finally:
        shutil.rmtree(work, ignore_errors=True)


def row(f: dict[str, Any]) -> str:
    write, add, query = f["write"], f["add"], f["query"]
    return (
        f"| {write['passages']:,} | {f['bytes_per_passage']:,} | {f['three_generations_over_one']} | "
        f"{write['seconds']} ({write['peak_rss_mb']}) | {add['seconds']} "
        f"({add['peak_rss_mb']}, {add['bytes_written']:,}) | {f['rescan']['seconds']} "
        f"({f['rescan']['peak_rss_mb']}) | {f['delete']['seconds']} | {f['load']['seconds']} | "
        f"{query['p50_ms']}/{query['p99_ms']} | {f['merge']['seconds']} ({f['merge']['peak_rss_mb']}) | "
        f"{f.get('load_average', '')} |"
    )


def main() -> None:
    if sys.argv[1:2] == ["--step"]:
        print(json.dumps(step(sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]))))
        return
    sizes = [int(arg) for arg in sys.argv[1:]] or [10_000, 100_000]
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    try:  # sizes measured before (a 1M run is made apart) stay in the table
        results = {int(k): v for k, v in json.loads((out / "segments.json").read_text()).items()}
        results = {k: v for k, v in results.items() if "rescan" in v}
    except (OSError, ValueError):
        results = {}
    for size in sizes:
        results[size] = measure(size)
        results[size]["load_average"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
        print(row(results[size]), flush=True)
    lines = [
        "| passages | bytes/passage | 3 gens / 1 | write s (RSS MB) | add s (RSS MB, bytes) | "
        "add by qa index s (RSS MB) | delete s | load s | query p50/p99 ms | merge of 8 s (RSS MB) | "
        "load average |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        *(row(results[size]) for size in sorted(results)),
    ]
    (out / "segments.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "segments.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
