"""Index build throughput on SciFact, beside the bare encode of the same texts, optionally beside
another commit's build in the same run.

usage: build.py [DOCUMENTS] [--scifact FOLDER] [--rounds N] [--against TREE]

The first DOCUMENTS abstracts of SciFact by id (default 1,500; the whole corpus is 5,183) are indexed
in full by our pipeline: chunking by the tokenizer, embedding with word-piece vectors, FAISS and
BM25 indexes, a generation written and published. The bare encode of the backend in use
(``bare_encode``: tokenizer, forward pass, pooling; torch's ``SentenceTransformer.encode`` for
torch) then encodes exactly the strings our build embedded, with the same batch size.
Throughput is passages per second of the median run.

``--against TREE`` (a checkout of another commit, e.g. ``git archive 7ec898d | tar -x -C TREE``)
runs that tree's build on the same documents in the same run, each round alternating which goes
first, every build in a fresh process with the settings of the environment (QA_BACKEND, ...), so
the ratio holds on a loaded machine. Beside wall-clock passages per second it reports passages per
CPU-second of the build's process (every thread): other processes on a shared machine stretch the
wall clock of a build far more than its CPU time. Writes bench/results/build.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCIFACT = ROOT.parent / "shared" / "data" / "scifact"


def one_build(count: int, folder: Path) -> dict[str, Any]:
    """Build the first ``count`` abstracts with the ``qa`` on sys.path; seconds and passages, for
    the build and for the bare encode of the same texts (works on trees without ``bare_encode``)."""
    from qa.core.config import Settings
    from qa.encoders.sbert import SentenceTransformerEncoder
    from qa.evaluation.data import load_beir
    from qa.index.build import build_documents, parameters_for
    from qa.index.generations import load_generation

    # by doc_id: the same abstracts whichever tree's load_beir (named "<id>.txt" or "<id>") reads them
    documents = sorted(load_beir(folder, "test").documents, key=lambda document: document.doc_id)[:count]
    with tempfile.TemporaryDirectory() as work:
        settings = Settings(corpus_dir=Path(work), index_dir=Path(work) / "index", keep_generations=1)
        embedder = SentenceTransformerEncoder.from_settings(settings)
        cpu = time.process_time()  # every thread of this process: what a busy machine does not inflate
        summary = build_documents(documents, settings, embedder, full=True)
        build_cpu = time.process_time() - cpu
        generation = load_generation(settings.index_dir, parameters_for(settings, embedder))
        texts = [passage.embedding_text for passage in generation.passages]
        bare = getattr(embedder, "bare_encode", None)
        if bare is None:  # a tree from before bare_encode: torch's own encode
            model = embedder.sentence_transformer

            def bare(texts: list[str], batch_size: int) -> Any:
                return model.encode(texts, batch_size=batch_size, show_progress_bar=False)

        started, cpu = time.perf_counter(), time.process_time()
        bare(texts, settings.embed_batch_size)
        bare_seconds, bare_cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "backend": getattr(embedder, "backend", "torch"),
        "passages": len(texts),
        "build_seconds": summary.seconds,
        "bare_seconds": bare_seconds,
        "build_cpu_seconds": build_cpu,
        "bare_cpu_seconds": bare_cpu,
    }


def in_child(tree: Path, count: int, folder: Path) -> dict[str, Any]:
    """``one_build`` in a fresh process that imports ``qa`` from ``tree``."""
    python = tree / ".venv" / "bin" / "python"
    command = [str(python if python.exists() else sys.executable), str(HERE / "build.py"), "--child"]
    result = subprocess.run(
        [*command, str(count), "--scifact", str(folder)],
        env={**os.environ, "PYTHONPATH": str(tree)},
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def rate(runs: list[dict[str, Any]], key: str) -> float:
    if not all(key in run for run in runs):  # CPU seconds: not measured by an older bench
        return float("nan")
    return float(runs[0]["passages"] / statistics.median(run[key] for run in runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("documents", nargs="?", type=int, default=1500)
    parser.add_argument("--scifact", type=Path, default=SCIFACT)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--against", type=Path, help="another checkout to build beside this one")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if not arguments.scifact.is_dir():
        print(f"skipping the build benchmark: no SciFact folder at {arguments.scifact}")
        return
    if arguments.child:
        print(json.dumps(one_build(arguments.documents, arguments.scifact)))
        return
    sys.path.insert(0, str(HERE))
    from common import CACHE_UNUSED, machine, write_results

    started = machine()
    trees = {"this tree": ROOT, **({"against": arguments.against.resolve()} if arguments.against else {})}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
    for round_ in range(arguments.rounds):
        for name in list(trees) if round_ % 2 == 0 else list(trees)[::-1]:
            runs[name].append(in_child(trees[name], arguments.documents, arguments.scifact))
            print(name, runs[name][-1], flush=True)
    rates = {
        name: {
            "build": round(rate(found, "build_seconds"), 1),
            "bare": round(rate(found, "bare_seconds"), 1),
            "build_per_cpu_second": round(rate(found, "build_cpu_seconds"), 2),
            "bare_per_cpu_second": round(rate(found, "bare_cpu_seconds"), 2),
        }
        for name, found in runs.items()
    }
    results: dict[str, Any] = {
        "machine": started,
        "documents": arguments.documents,
        "trees": {name: str(tree) for name, tree in trees.items()},
        "runs": runs,
        "passages_per_second": rates,
    }
    rows = [
        f"| SciFact, first {arguments.documents} abstracts | backend | passages | build passages/s | "
        f"bare encode passages/s | build / bare | build passages per CPU-second | bare, per CPU-second |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, found in runs.items():
        build, bare = rates[name]["build"], rates[name]["bare"]
        rows.append(
            f"| {name} ({trees[name].name}) | {found[0]['backend']} | {found[0]['passages']} | {build} | "
            f"{bare} | {build / bare:.2f} | {rates[name]['build_per_cpu_second']} | "
            f"{rates[name]['bare_per_cpu_second']} |"
        )
    if arguments.against:
        ratio = rates["this tree"]["build"] / rates["against"]["build"]
        cpu_ratio = rates["this tree"]["build_per_cpu_second"] / rates["against"]["build_per_cpu_second"]
        results["build_ratio_to_against"] = round(ratio, 3)
        results["build_cpu_ratio_to_against"] = round(cpu_ratio, 3)
        rows += [
            "",
            f"| build passages/s, this tree / against (target ≥ 1.3) | {ratio:.2f} |",
            "| --- | --- |",
            f"| build passages per CPU-second, this tree / against (what a loaded machine inflates least) "
            f"| {cpu_ratio:.2f} |",
        ]
    write_results("build", results, "\n".join(rows), CACHE_UNUSED)


if __name__ == "__main__":
    main()
