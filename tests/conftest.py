"""Shared fixtures: the real bundled model, loaded once, and a real index of the article."""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from qa.api import create_app
from qa.config import Settings
from qa.embedding import SentenceTransformerEmbedder
from qa.indexer import build_index

ROOT = Path(__file__).resolve().parents[1]
ARTICLE = ROOT / "corpus" / "shanghai-declaration.txt"
DATA = Path(__file__).resolve().parent / "data"


@functools.cache
def real_embedder() -> SentenceTransformerEmbedder:
    """The bundled all-MiniLM-L6-v2; loaded once per test session (hypothesis tests call it too)."""
    return SentenceTransformerEmbedder()


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    return real_embedder()


@pytest.fixture(scope="session")
def article_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings over a private copy of the corpus, with the index already built."""
    base = tmp_path_factory.mktemp("article")
    corpus = base / "corpus"
    corpus.mkdir()
    shutil.copy(ARTICLE, corpus / ARTICLE.name)
    settings = Settings(corpus_dir=corpus, index_dir=base / "index").resolved()
    build_index(settings, real_embedder())
    return settings


@pytest.fixture(scope="session")
def client(article_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(article_settings, real_embedder())) as test_client:
        yield test_client
