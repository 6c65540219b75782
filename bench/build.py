"""Index build throughput on SciFact, beside the bare model's encode throughput on the same texts.

usage: build.py [DOCUMENTS] [SCIFACT_FOLDER]

The first DOCUMENTS abstracts of SciFact (default 1,500; the whole corpus is 5,183 and takes
about 12 minutes on 2 cores) are indexed in full by our pipeline: chunking by the tokenizer,
embedding with word-piece vectors, FAISS and BM25 indexes, a generation written and published.
The bare model then encodes exactly the strings our build embedded, with the same batch size.
Each is run twice, interleaved; throughput is passages per second of the median run.
Writes bench/results/build.json and .md.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from common import ROOT, machine, write_results  # noqa: E402

from qa.core.config import Settings  # noqa: E402
from qa.encoders.sbert import SentenceTransformerEncoder  # noqa: E402
from qa.evaluation.data import load_beir  # noqa: E402
from qa.index.build import build_documents, parameters_for  # noqa: E402
from qa.index.generations import load_generation  # noqa: E402


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1500
    folder = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT.parent / "shared" / "data" / "scifact"
    if not folder.is_dir():
        print(f"skipping the build benchmark: no SciFact folder at {folder}")
        return
    documents = load_beir(folder, "test").documents[:count]
    embedder = SentenceTransformerEncoder()
    model = embedder.sentence_transformer
    ours: list[float] = []
    bare: list[float] = []
    with tempfile.TemporaryDirectory() as work:
        settings = Settings(corpus_dir=Path(work), index_dir=Path(work) / "index", keep_generations=1)
        for _ in range(2):
            summary = build_documents(documents, settings, embedder, full=True)
            ours.append(summary.seconds)
            generation = load_generation(settings.index_dir, parameters_for(settings, embedder))
            texts = [passage.embedding_text for passage in generation.passages]
            started = time.perf_counter()
            model.encode(texts, batch_size=settings.embed_batch_size, show_progress_bar=False)
            bare.append(time.perf_counter() - started)
    passages = len(texts)
    ours_rate = passages / statistics.median(ours)
    bare_rate = passages / statistics.median(bare)
    results = {
        "machine": machine(),
        "documents": len(documents),
        "passages": passages,
        "ours_seconds": [round(s, 2) for s in ours],
        "bare_encode_seconds": [round(s, 2) for s in bare],
        "ours_passages_per_second": round(ours_rate, 1),
        "bare_passages_per_second": round(bare_rate, 1),
        "ratio": round(ours_rate / bare_rate, 3),
    }
    table = "\n".join(
        [
            f"| SciFact, first {len(documents)} abstracts ({passages} passages) | s, 2 runs | passages/s |",
            "| --- | --- | --- |",
            f"| bare `model.encode` of the same texts, batch {settings.embed_batch_size} | "
            f"{', '.join(f'{s:.1f}' for s in bare)} | {bare_rate:.1f} |",
            f"| our full build (chunk, embed + word pieces, FAISS, BM25, write) | "
            f"{', '.join(f'{s:.1f}' for s in ours)} | {ours_rate:.1f} |",
            f"| ours / bare (target ≥ 0.9) | | {ours_rate / bare_rate:.2f} |",
        ]
    )
    write_results("build", results, table)


if __name__ == "__main__":
    main()
