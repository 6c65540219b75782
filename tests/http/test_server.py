"""The real thing: `qa serve` (uvicorn) on a free loopback port, queried over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from qa.core.config import Settings
from tests.conftest import running_server


@pytest.fixture(scope="module")
def server(article_settings: Settings) -> Iterator[str]:
    with running_server(article_settings) as base:
        yield base


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
