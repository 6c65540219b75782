"""Shared fixtures: the real bundled model, loaded once, and a real index of the article."""

from __future__ import annotations

import contextlib
import functools
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx
import pytest
from fastapi.testclient import TestClient

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from qa.core.config import Settings
from qa.encoders.sbert import SentenceTransformerEncoder
from qa.http.app import create_app
from qa.index.build import build_index

ROOT = Path(__file__).resolve().parents[1]
ARTICLE = ROOT / "corpus" / "shanghai-declaration.txt"
DATA = Path(__file__).resolve().parent / "data"


@functools.cache
def real_embedder() -> SentenceTransformerEncoder:
    """The bundled all-MiniLM-L6-v2; loaded once per test session (hypothesis tests call it too)."""
    return SentenceTransformerEncoder()


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEncoder:
    return real_embedder()


def article_copy(base: Path) -> Settings:
    """Settings over ``base/corpus`` holding a private copy of the article, index in ``base/index``."""
    corpus = base / "corpus"
    corpus.mkdir()
    shutil.copy(ARTICLE, corpus / ARTICLE.name)
    return Settings(corpus_dir=corpus, index_dir=base / "index").resolved()


@pytest.fixture(scope="session")
def article_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings over a private copy of the corpus, with the index already built."""
    settings = article_copy(tmp_path_factory.mktemp("article"))
    build_index(settings, real_embedder())
    return settings


@pytest.fixture(scope="session")
def client(article_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(article_settings, real_embedder())) as test_client:
        yield test_client


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_below_ephemeral() -> int:
    """A free port under Linux's ephemeral range (32768-60999), for a server that starts Ray:
    Ray's own exporters take ephemeral ports as they start, and one took a port that
    ``free_port`` had just found free before ``qa serve --ray`` bound it (GET /index answered
    with Ray's autoscaler metrics)."""
    chooser = random.Random()
    for _ in range(200):
        port = chooser.randrange(20000, 32000)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    return free_port()


@contextlib.contextmanager
def running_server(
    settings: Settings, *arguments: str, start_seconds: float = 120, **env: str
) -> Iterator[str]:
    """`qa serve [arguments]` in a subprocess on a free loopback port; yields its base URL once
    /readyz is 200 (within ``start_seconds``)."""
    port = free_port()
    variables = {
        **os.environ,
        "QA_CORPUS_DIR": str(settings.corpus_dir),
        "QA_INDEX_DIR": str(settings.index_dir),
        "QA_PORT": str(port),
        **env,
    }
    # The server logs every request: its output goes to a file, since a pipe nobody reads fills
    # up and then blocks the server on its next log line.
    with tempfile.TemporaryFile() as output:
        yield from _serve_until_done([*arguments], variables, port, output, start_seconds)


def _serve_until_done(
    arguments: list[str], variables: dict[str, str], port: int, output: IO[bytes], start_seconds: float
) -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "qa", "serve", *arguments],
        env=variables,
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_seconds
        while time.monotonic() < deadline:
            if process.poll() is not None:
                output.seek(0)
                pytest.fail(f"qa serve exited early:\n{output.read().decode(errors='replace')}")
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        else:
            pytest.fail(f"qa serve did not become ready in {start_seconds:.0f} s")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)  # a Ray deployment takes a while to shut down
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def library_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings over documents in folders, some with front matter (``tests.library``), built."""
    from tests.library import library_copy

    settings = library_copy(tmp_path_factory.mktemp("library"))
    build_index(settings, real_embedder())
    return settings
