"""How much of the CPU's float32 peak a build's passages per second are: the forward pass's
floating-point operations per passage, counted from the passages the chunker makes.

A MiniLM-style encoder layer costs, per passage of L word pieces ([CLS] and [SEP] included),
24·d²·L for its four attention projections and its feed-forward (4·d wide) plus 4·L²·d for the
attention scores and their weighted sum (multiply-adds counted as two operations). The peak is
cores × clock × 32 (two 256-bit fused multiply-adds a cycle, AVX2), the clock read from
/proc/cpuinfo.

usage: flops.py [DOCUMENTS] [--scifact FOLDER] [--rate PASSAGES_PER_S ...]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa.core.config import Settings  # noqa: E402
from qa.encoders.sbert import SentenceTransformerEncoder  # noqa: E402
from qa.evaluation.data import load_beir  # noqa: E402
from qa.index.build import _passages  # noqa: E402

LAYERS, WIDTH = 6, 384  # all-MiniLM-L6-v2
FLOPS_PER_CYCLE = 32  # float32, AVX2: two 8-wide fused multiply-adds


def clock_hz() -> float:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("cpu MHz"):
            return float(line.split(":")[1]) * 1e6
    raise SystemExit("no 'cpu MHz' in /proc/cpuinfo")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("documents", type=int, nargs="?", default=1500)
    parser.add_argument("--scifact", type=Path, default=ROOT.parent / "shared" / "data" / "scifact")
    parser.add_argument("--rate", type=float, nargs="*", default=[24.9, 26.2, 30.2])
    args = parser.parse_args()
    encoder, settings = SentenceTransformerEncoder(), Settings()
    # the abstracts bench/build.py builds (the first by doc_id), chunked by the build's own function
    documents = sorted(load_beir(args.scifact, "test").documents, key=lambda document: document.doc_id)
    texts = [
        passage.embedding_text
        for document in documents[: args.documents]
        for passage in _passages(document, settings, encoder)
    ]
    lengths = [count + 2 for count in encoder.count_tokens(texts)]
    per_passage = sum(LAYERS * (24 * WIDTH**2 * n + 4 * n * n * WIDTH) for n in lengths) / len(lengths)
    peak = (os.cpu_count() or 1) * clock_hz() * FLOPS_PER_CYCLE
    print(
        f"{len(texts)} passages of {args.documents} abstracts, "
        f"{sum(lengths) / len(lengths):.1f} word pieces on average"
    )
    print(
        f"{per_passage / 1e9:.2f} GFLOP a passage; "
        f"float32 peak {peak / 1e9:.0f} GFLOP/s ({os.cpu_count()} cores)"
    )
    for rate in args.rate:
        print(
            f"{rate} passages/s = {rate * per_passage / 1e9:.1f} GFLOP/s "
            f"= {rate * per_passage / peak:.2f} of peak"
        )


if __name__ == "__main__":
    main()
