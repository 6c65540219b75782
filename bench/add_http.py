"""One-document adds over HTTP to a running `qa serve`: the time from POST /documents to its 201
(the document stored, parsed, embedded, written as a segment, published and served), median of
several, on an index already built (SciFact as files: ``bench/scifact_files.py`` writes the
corpus; `qa index` builds it).

usage: add_http.py CORPUS_DIR INDEX_DIR [ADDS]   (default 7 adds; each a new abstract-sized text)

Prints each add's seconds, the median, the server's peak RSS (VmHWM) and the load average.
The documents added are deleted afterwards (DELETE /documents), so the index is left as found.
"""

from __future__ import annotations

import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from common import WORDS  # noqa: E402

TOKEN = "bench-add-http-token"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def abstract(seed: int) -> str:
    """About 250 words in three paragraphs: the size of a SciFact abstract."""
    rng = random.Random(seed)
    paragraphs = [" ".join(rng.choice(WORDS) for _ in range(85)).capitalize() + "." for _ in range(3)]
    return f"Measured finding {seed}\n\n" + "\n\n".join(paragraphs) + "\n"


def main() -> None:
    corpus, index = Path(sys.argv[1]), Path(sys.argv[2])
    adds = int(sys.argv[3]) if len(sys.argv) > 3 else 7
    port = free_port()
    env = {
        **os.environ,
        "QA_CORPUS_DIR": str(corpus),
        "QA_INDEX_DIR": str(index),
        "QA_PORT": str(port),
        "QA_API_TOKEN": TOKEN,
        "HF_HUB_OFFLINE": "1",
    }
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "qa", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.5)
            passages = httpx.get(f"{base}/index", timeout=30).json()["passages"]
            seconds = []
            with httpx.Client(base_url=base, timeout=300, headers=auth) as client:
                for number in range(adds):
                    doc_id = f"bench-add-{number}.txt"
                    began = time.perf_counter()
                    response = client.post("/documents", json={"doc_id": doc_id, "text": abstract(number)})
                    seconds.append(time.perf_counter() - began)
                    assert response.status_code == 201, response.text
                    print(f"add {number + 1}: {seconds[-1]:.2f} s", flush=True)
                    time.sleep(1.0)  # the background merge, if one is due, runs here as it would
                for number in range(adds):
                    client.delete(f"/documents/bench-add-{number}.txt")
            status = Path(f"/proc/{server.pid}/status").read_text()
            peak = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))
        finally:
            server.terminate()
            server.wait(timeout=60)
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"{adds} one-document adds over HTTP to {passages:,} passages: "
        f"median {statistics.median(seconds):.2f} s, "
        f"min {min(seconds):.2f}, max {max(seconds):.2f}; server peak RSS {int(peak) / 1024:.0f} MB; "
        f"load average {load}"
    )


if __name__ == "__main__":
    main()
