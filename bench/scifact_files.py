"""SciFact as files, through the path a user takes: the score must equal `qa eval --beir`'s.

usage: scifact_files.py [SCIFACT_FOLDER] [WORK_FOLDER]

Each of the 5,183 abstracts is written as ``<id>.txt`` (its title, a blank line, its text: what
``qa.evaluation.data.as_text_file`` gives the parser in `qa eval --beir`), the folder is indexed
by the `qa index` command with its output piped (so its progress lines show), and the test
queries are scored on that index by the same searcher and measures as `qa eval --beir`, with
the judged ids read as file names. Writes bench/results/scifact-files.json and .md. A full build
takes about 8 minutes on 2 cores.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from common import CACHE_UNUSED, ROOT, machine, write_results  # noqa: E402

from qa.core.config import Settings  # noqa: E402
from qa.encoders.sbert import SentenceTransformerEncoder  # noqa: E402
from qa.evaluation.data import BeirData, as_text_file, load_beir  # noqa: E402
from qa.evaluation.runs import evaluate_beir  # noqa: E402
from qa.index.generations import load_generation  # noqa: E402
from qa.service.engine import open_searcher  # noqa: E402


def write_corpus(folder: Path, corpus: Path) -> int:
    import json

    corpus.mkdir(parents=True, exist_ok=True)
    written = 0
    with (folder / "corpus.jsonl").open(encoding="utf-8") as rows:
        for line in rows:
            row = json.loads(line)
            (corpus / f"{row['_id']}.txt").write_text(as_text_file(row), encoding="utf-8")
            written += 1
    return written


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data" / "scifact"
    work = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("/tmp/scifact-files")
    corpus, index = work / "corpus", work / "index"
    files = write_corpus(folder, corpus)
    env = {**os.environ, "QA_CORPUS_DIR": str(corpus), "QA_INDEX_DIR": str(index)}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "qa", "index"], env=env, check=True)
    seconds = time.perf_counter() - started
    data = load_beir(folder, "test")
    as_files = BeirData(
        data.name,
        data.split,
        [],
        data.queries,
        {
            query: {f"{doc}.txt": grade for doc, grade in judged.items()}
            for query, judged in data.qrels.items()
        },
    )
    searcher = open_searcher(load_generation(index), SentenceTransformerEncoder.from_settings(Settings()))
    results = evaluate_beir(searcher, as_files, ["dense", "keyword", "hybrid"])
    report = {
        "machine": machine(),
        "files": files,
        "index_seconds": round(seconds, 1),
        "modes": {mode: result.metrics for mode, result in results.items()},
    }
    rows = [f"| {mode} | {result.metrics['nDCG@10']:.4f} |" for mode, result in results.items()]
    table = "| mode | nDCG@10 |\n| --- | --- |\n" + "\n".join(rows)
    write_results("scifact-files", report, table, CACHE_UNUSED)


if __name__ == "__main__":
    main()
