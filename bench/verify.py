"""What checksum verification adds to loading a generation: a synthetic generation of N passages
(random vectors, 60 word pieces a passage, 250-character texts) is written once, then loaded with
and without checking every file against the manifest, best of 3 each.

usage: verify.py [PASSAGES]   (default 10000)
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from qa.core.types import Document, Passage
from qa.index.generations import SEGMENTS, BuildParameters, TokenTable, load_generation, write_generation
from qa.index.storage import RECORD

DIMENSION = 384
PIECES = 60


def synthetic(folder: Path, passages: int) -> None:
    rng = np.random.default_rng(0)
    documents, rows = [], []
    for number in range(passages // 10):
        text = " ".join(f"word{number}-{i}" for i in range(10 * 30))
        documents.append(Document(f"doc-{number}.txt", f"Document {number}", text, {}))
        for part in range(10):
            start = part * 25 * 10
            rows.append(
                Passage(len(rows), f"doc-{number}.txt", start, start + 250, text[start : start + 250])
            )
    vectors = rng.standard_normal((len(rows), DIMENSION)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    pieces = [
        (rng.standard_normal((PIECES, DIMENSION)).astype(np.float16), np.arange(PIECES, dtype=np.int32))
        for _ in rows
    ]
    parameters = BuildParameters("synthetic", DIMENSION, 200, 120)
    write_generation(folder, documents, rows, vectors, TokenTable.stack(pieces, DIMENSION), parameters)


def best_of(runs: int, action: object) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        action()  # type: ignore[operator]
        timings.append(time.perf_counter() - started)
    return min(timings)


def main() -> None:
    passages = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        synthetic(folder, passages)
        records = [folder / SEGMENTS / name / RECORD for name in os.listdir(folder / SEGMENTS)]

        def first_load() -> None:  # as a process that never verified these segments
            for record in records:
                record.unlink(missing_ok=True)
            load_generation(folder)

        generation = load_generation(folder)
        size = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
        total = best_of(3, first_load)
        warm = best_of(3, lambda: load_generation(folder))
    print(f"{len(generation.passages)} passages, {size / 2**20:.1f} MiB on disk")
    print(f"load: {total:.3f} s verifying every checksum, {warm:.3f} s once verified (recorded)")


if __name__ == "__main__":
    main()
