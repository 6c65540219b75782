"""SciFact as files, through the path a user takes: `make serve` on a folder of .txt files, asked over HTTP.

usage: scifact_files.py [SCIFACT_FOLDER] [WORK_FOLDER] [BEIR_JSON]

Each of the 5,183 abstracts is written as ``<id>.txt`` (its title, a blank line, its text: what
``qa.evaluation.data.as_text_file`` gives the parser in `qa eval --beir`). `make serve` indexes the
folder (`qa index --if-needed`, a full build the first time) and serves it; every test query is
then asked with `GET /query?mode=...&k=50`, the cited files are pooled into a document ranking
(each at the rank of its best passage, as `qa eval --beir` pools), and nDCG@10 is scored by
``ir_measures`` against the qrels, whose judged ids ``load_beir`` gives as file names. 50 passages (the most a
query may ask for) hold far more than the 10 documents nDCG@10 looks at. R@100 needs 100
documents, which 50 passages cannot hold, so only the measures at depth 10 or less are given.

BEIR_JSON (default eval/scifact-test.json, what `make eval-scifact` writes) is the `qa eval --beir`
run to compare with: the difference per mode is printed and kept. Writes
bench/results/scifact-files.json and .md. A full build takes about 8 minutes on 2 quiet cores
(much longer on a loaded machine: the readiness wait allows 3 hours).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import ir_measures
from ir_measures import RR, R, nDCG

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from common import CACHE_OFF, ROOT, free_port, machine, write_results  # noqa: E402

from qa.evaluation.data import as_text_file, load_beir  # noqa: E402

K = 50  # passages asked for per query: the API's most
MODES = ("hybrid", "dense", "keyword")
MEASURES = {"nDCG@10": nDCG @ 10, "R@1": R @ 1, "R@3": R @ 3, "R@10": R @ 10, "RR@10": RR @ 10}
READY_SECONDS = 3 * 3600


def write_corpus(folder: Path, corpus: Path) -> int:
    corpus.mkdir(parents=True, exist_ok=True)
    written = 0
    with (folder / "corpus.jsonl").open(encoding="utf-8") as rows:
        for line in rows:
            row = json.loads(line)
            path = corpus / f"{row['_id']}.txt"
            text = as_text_file(row)
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
            written += 1
    return written


def wait_ready(base: str, server: subprocess.Popen[bytes], log: Path) -> float:
    started = time.monotonic()
    shown = 0.0
    while time.monotonic() - started < READY_SECONDS:
        if server.poll() is not None:
            raise RuntimeError(f"make serve exited with {server.returncode}; see {log}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        if time.monotonic() - shown > 60:  # the build's latest progress line
            lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
            print(lines[-1] if lines else "starting", flush=True)
            shown = time.monotonic()
        time.sleep(1)
    raise RuntimeError(f"{base} was not ready in {READY_SECONDS} s")


def ranking(http: httpx.Client, question: str, mode: str) -> dict[str, float]:
    """The cited documents in the order of their best passage, scored by rank for ir_measures."""
    response = http.get("/query", params={"q": question, "k": K, "mode": mode})
    response.raise_for_status()
    documents: dict[str, None] = {}
    for passage in response.json()["passages"]:
        documents.setdefault(passage["citation"]["doc_id"], None)  # "<id>.txt", as load_beir's qrels name it
    return {doc: float(len(documents) - rank) for rank, doc in enumerate(documents)}


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data" / "scifact"
    work = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("/tmp/scifact-files")
    beir_json = Path(sys.argv[3]) if len(sys.argv) > 3 else ROOT / "eval" / "scifact-test.json"
    corpus, index, log = work / "corpus", work / "index", work / "serve.log"
    files = write_corpus(folder, corpus)
    port = free_port()
    env = {
        **os.environ,
        "QA_CORPUS_DIR": str(corpus),
        "QA_INDEX_DIR": str(index),
        "QA_PORT": str(port),
        "QA_CACHE_SIZE": "0",
    }
    # -o: the virtual environment counts as installed (a checkout newer than it would reinstall)
    command = ["make", "--no-print-directory", "-o", ".venv/.installed", "serve"]
    base = f"http://127.0.0.1:{port}"
    data = load_beir(folder, "test")
    runs: dict[str, dict[str, dict[str, float]]] = {}
    with log.open("wb") as output:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            ready = wait_ready(base, server, log)
            with httpx.Client(base_url=base, timeout=120) as http:
                timings = {}
                for mode in MODES:
                    started = time.perf_counter()
                    runs[mode] = {qid: ranking(http, text, mode) for qid, text in data.queries.items()}
                    timings[mode] = time.perf_counter() - started
                index_info = http.get("/index").json()
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
    beir = json.loads(beir_json.read_text())["modes"] if beir_json.is_file() else {}
    modes: dict[str, Any] = {}
    for mode, run in runs.items():
        values = ir_measures.calc_aggregate(list(MEASURES.values()), data.qrels, run)
        metrics = {name: float(values[measure]) for name, measure in MEASURES.items()}
        theirs = beir.get(mode, {}).get("metrics", {}).get("nDCG@10")
        modes[mode] = {
            "metrics": metrics,
            "seconds": round(timings[mode], 1),
            "beir_nDCG@10": theirs,
            "difference": None if theirs is None else round(metrics["nDCG@10"] - theirs, 4),
        }
    report = {
        "machine": machine(),
        "load_average": os.getloadavg(),
        "files": files,
        "passages": index_info.get("passages"),
        "ready_seconds": round(ready, 1),
        "beir_run": str(beir_json.relative_to(ROOT)) if beir_json.is_relative_to(ROOT) else str(beir_json),
        "modes": modes,
    }
    rows = [
        f"| {mode} | {row['metrics']['nDCG@10']:.4f} | "
        + (f"{row['beir_nDCG@10']:.4f} | {row['difference']:+.4f} |" if row["beir_nDCG@10"] else "- | - |")
        for mode, row in modes.items()
    ]
    table = "| mode | nDCG@10 as files (HTTP) | `qa eval --beir` | difference |\n| --- | --- | --- | --- |\n"
    write_results("scifact-files", report, table + "\n".join(rows), CACHE_OFF)


if __name__ == "__main__":
    main()
