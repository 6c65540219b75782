"""Token codecs compared on a real index: bytes per passage and the error of late-interaction
scores, float16 against residual2 (ColBERTv2-style: a centroid and 2 bits a dimension).

The index given (built with float16 word pieces) is copied, and the copy's rows are rewritten into
one segment through the residual codec (no embedding: ``qa.index.merge.rewrite``). For every
question, the first stage's top 40 passages (those late interaction re-scores) are scored over the
float16 and the residual word pieces; printed: bytes per passage of each index, mean and maximum
absolute error of the scores, and how often the late-interaction order of the top passage changes.
nDCG and answers are then measured by `qa eval` on both folders (printed at the end).

usage: codec.py INDEX_DIR OUT_DIR QUESTIONS [LIMIT]   (a BEIR queries.jsonl or a question set)
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa.core.config import Settings  # noqa: E402
from qa.encoders.sbert import SentenceTransformerEncoder  # noqa: E402
from qa.index.codec import ResidualCodec  # noqa: E402
from qa.index.generations import SEGMENTS, Generation, load_generation  # noqa: E402
from qa.index.merge import rewrite  # noqa: E402
from qa.search.searcher import RERANK, Searcher  # noqa: E402
from qa.search.shards import Partition  # noqa: E402


def bytes_per_passage(index_dir: Path, generation: Generation) -> float:
    folders = [index_dir / SEGMENTS / entry["name"] for entry in generation.manifest["segments"]]
    total = sum(path.stat().st_size for folder in folders for path in folder.rglob("*") if path.is_file())
    return total / max(generation.live_passages, 1)


def questions(path: Path, limit: int) -> list[str]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [row.get("text") or row.get("question") for row in rows][:limit]


def main() -> None:
    source, out, asked = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    limit = int(sys.argv[4]) if len(sys.argv) > 4 else 10**9
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(source, out)
    settings = Settings(index_dir=out).resolved()
    original = load_generation(source)
    step = max(1, original.live_passages // 2000)  # about 2,000 passages' word pieces to learn from
    sample = np.concatenate([s.tokens.decoded(r) for s in original.segments for r in range(0, s.size, step)])
    rewrite(out, settings, ResidualCodec.train(sample))
    compressed = load_generation(out)
    encoder = SentenceTransformerEncoder()
    searcher = Searcher(original, encoder)
    partitions = [Partition.whole(original), Partition.whole(compressed)]
    keys = [{(p.doc_id, p.start): row for row, p in enumerate(g.passages)} for g in (original, compressed)]
    errors, flips = [], 0
    for text in questions(asked, limit):
        query = searcher.embed(text)
        head = [row for row, _ in searcher.rank(query, RERANK, "hybrid")]
        theirs = [keys[1][(original.passages[r].doc_id, original.passages[r].start)] for r in head]
        exact = dict(partitions[0].late(query.tokens, head))
        coded = dict(partitions[1].late(query.tokens, theirs))
        pairs = [(exact[a], coded[b]) for a, b in zip(head, theirs, strict=True)]
        errors += [abs(x - y) for x, y in pairs]
        flips += int(np.argmax([x for x, _ in pairs]) != np.argmax([y for _, y in pairs]))
    count = len(questions(asked, limit))
    print(
        f"bytes per passage: float16 {bytes_per_passage(source, original):,.0f}, "
        f"residual2 {bytes_per_passage(out, compressed):,.0f}"
    )
    print(
        f"late-interaction score error over {len(errors):,} (question, passage) pairs: "
        f"mean {np.mean(errors):.5f}, p99 {np.quantile(errors, 0.99):.5f}, max {np.max(errors):.5f}; "
        f"top passage by late interaction changed for {flips} of {count} questions"
    )


if __name__ == "__main__":
    main()
