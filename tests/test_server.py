"""The real thing: `qa serve` (uvicorn) on a free loopback port, queried over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from qa.config import Settings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server(article_settings: Settings) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "QA_CORPUS_DIR": str(article_settings.corpus_dir),
        "QA_INDEX_DIR": str(article_settings.index_dir),
        "QA_PORT": str(port),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "qa", "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if process.poll() is not None:
                output = process.stdout.read().decode() if process.stdout else ""
                pytest.fail(f"qa serve exited early:\n{output}")
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        else:
            pytest.fail("qa serve did not become ready in 120 s")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_query_over_http_cites_exact_characters(server: str) -> None:
    response = httpx.get(f"{server}/query", params={"q": "what did UNIDO announce?"}, timeout=30)
    assert response.status_code == 200
    body = response.json()
    top = body["passages"][0]
    assert "UNIDO" in top["text"] and "center of excellence" in top["text"]
    citation = top["citation"]
    document = httpx.get(f"{server}/documents/{citation['doc_id']}", timeout=30).json()
    assert document["text"][citation["start"] : citation["end"]] == top["text"]
    for passage in body["passages"]:
        cited = passage["citation"]
        assert document["text"][cited["start"] : cited["end"]] == passage["text"]


def test_bad_input_over_http_is_a_clear_4xx(server: str) -> None:
    response = httpx.get(f"{server}/query", params={"q": " ", "k": 3}, timeout=30)
    assert response.status_code == 422 and "empty" in response.json()["detail"]
    assert httpx.get(f"{server}/documents/missing.txt", timeout=30).status_code == 404
