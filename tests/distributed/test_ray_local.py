"""``qa serve --ray`` on this machine with its default flags: the command starts its own local Ray
cluster, sizes the CPU requests of its shards and replica to it, becomes ready, takes a write and
swaps to it with no failed query, and stops (cluster included) on SIGTERM; a cluster too small
for what is asked fails fast, naming the CPUs missing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO

import httpx
import numpy as np
import pytest

from qa.core.config import Settings
from qa.search.shards import segment_groups
from tests.conftest import article_copy, port_below_ephemeral

pytest.importorskip("ray", reason="the Ray extra is not installed: pip install -e '.[ray]'")

TOKEN = "ray-write-token-for-tests"
START_SECONDS = 300  # a local Ray cluster, Serve and the model on a loaded 2-core machine
FERRY = "# Ferry\n\nThe night ferry to the islands leaves at 23:40 from pier seven, every day but Sunday.\n"


def local_environment(settings: Settings, port: int, **extra: str) -> dict[str, str]:
    """No cluster address, no CPU setting: the defaults a user gets."""
    variables = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "QA_RAY_"))}
    return {
        **variables,
        "QA_CORPUS_DIR": str(settings.corpus_dir),
        "QA_INDEX_DIR": str(settings.index_dir),
        "QA_PORT": str(port),
        "QA_API_TOKEN": TOKEN,
        "QA_RELOAD_SECONDS": "0.5",
        **extra,
    }


def wait_ready(process: subprocess.Popen[bytes], base: str, output: IO[bytes]) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output.seek(0)
            pytest.fail(f"qa serve --ray exited early:\n{output.read().decode(errors='replace')[-3000:]}")
        try:
            if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    pytest.fail(f"qa serve --ray did not become ready in {START_SECONDS} s")


def write_and_wait_for_it(base: str) -> None:
    """POST a document through the Ray replica; wait until it serves it."""
    first = httpx.get(f"{base}/index", timeout=30).json()["generation"]
    response = httpx.post(
        f"{base}/documents",
        json={"doc_id": "ferry.md", "text": FERRY},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=120,
    )
    assert response.status_code == 201, response.text
    deadline = time.monotonic() + 60
    while httpx.get(f"{base}/index", timeout=30).json()["generation"] == first:
        assert time.monotonic() < deadline, "the replica did not swap to the written generation"
        time.sleep(0.3)
    hit = httpx.get(f"{base}/query", params={"q": "when does the night ferry leave?", "k": 1}, timeout=60)
    assert hit.json()["passages"][0]["citation"]["doc_id"] == "ferry.md"
    time.sleep(1.0)


def test_shards_are_groups_of_whole_segments() -> None:
    class Segmented:  # segment_groups reads the row count and each segment's first row
        def __init__(self, sizes: list[int]) -> None:
            self.bases = np.concatenate([[0], np.cumsum(sizes)])
            self.passages = range(int(self.bases[-1]))

    many = Segmented([65_536] * 15 + [16_960])  # a 1M-passage build
    for shards in (2, 3, 4):
        bounds = segment_groups(many, shards)  # type: ignore[arg-type]
        assert bounds[0] == 0 and bounds[-1] == 1_000_000 and bounds == sorted(bounds)
        assert set(bounds) <= set(many.bases.tolist()), "whole segments only"
    one = Segmented([1000])  # one segment larger than a share is cut
    assert segment_groups(one, 2) == [0, 500, 1000]  # type: ignore[arg-type]
    assert segment_groups(Segmented([10, 10, 980]), 2) == [0, 500, 1000]  # type: ignore[arg-type]
    assert segment_groups(Segmented([480, 30, 490]), 2) == [0, 510, 1000]  # type: ignore[arg-type]


def test_default_ray_serve_becomes_ready_takes_a_write_and_stops_on_sigterm(tmp_path: Path) -> None:
    from qa.index.build import build_index
    from tests.conftest import real_embedder

    settings = article_copy(tmp_path)
    build_index(settings, real_embedder())
    port = port_below_ephemeral()
    failures: list[str] = []
    answered = 0
    stop = threading.Event()

    def ask_forever(base: str) -> None:
        nonlocal answered
        with httpx.Client(base_url=base, timeout=60) as client:
            while not stop.is_set():
                try:
                    response = client.get("/query", params={"q": "what did UNIDO announce?", "k": 3})
                    if response.status_code != 200:
                        failures.append(f"{response.status_code}: {response.text[:200]}")
                    answered += 1
                except httpx.HTTPError as error:
                    failures.append(repr(error))

    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "qa", "serve", "--ray"],
            env=local_environment(settings, port),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_ready(process, base, output)
            worker = threading.Thread(target=ask_forever, args=(base,))
            worker.start()
            try:
                write_and_wait_for_it(base)
            finally:
                stop.set()
                worker.join(timeout=120)
            assert not failures, failures[:3]
            assert answered >= 3  # a loaded machine answers few; what matters is that none failed
            began = time.monotonic()  # SIGTERM: the command stops, the local cluster it started too
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
            took = time.monotonic() - began
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        output.seek(0)
        log = output.read().decode(errors="replace")
    print(f"\nqa serve --ray stopped {took:.1f} s after SIGTERM")
    assert took <= 10, log[-2000:]
    assert "Traceback" not in log, log[-2000:]


def test_a_cluster_too_small_fails_fast_naming_the_cpus(tmp_path: Path) -> None:
    from qa.index.build import build_index
    from tests.conftest import real_embedder

    settings = article_copy(tmp_path)
    build_index(settings, real_embedder())
    began = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "qa", "serve", "--ray", "--replicas", "3"],
        env=local_environment(settings, port_below_ephemeral(), QA_RAY_ACTOR_CPUS="8"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    took = time.monotonic() - began
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert "CPUs" in result.stderr and "QA_RAY_ACTOR_CPUS" in result.stderr, result.stderr[-2000:]
    print(f"\nrefused in {took:.1f} s")
    assert took <= 30  # refused before a local cluster is started
