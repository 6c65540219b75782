"""Filters over HTTP: GET ``doc=`` (repeatable) and ``meta.KEY=VALUE``, POST ``"doc"``/``"meta"``;
bad filters and unknown parameters are a 422 saying what to write; a filter matching nothing is a
200 with no passages and a message; the answer cache keeps filtered answers apart."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from qa.core.config import Settings
from qa.core.filters import NO_MATCH
from qa.http.app import create_app
from tests.conftest import real_embedder

QUESTION = "How do I set a timeout for a single request?"


@pytest.fixture(scope="module")
def library(library_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(library_settings, real_embedder())) as client:
        yield client


def doc_ids(body: dict[str, object]) -> list[str]:
    return [p["citation"]["doc_id"] for p in body["passages"]]  # type: ignore[attr-defined, index]


def test_get_with_repeated_doc_globs_and_meta_fields(library: TestClient) -> None:
    plain = library.get("/query", params={"q": QUESTION, "k": 5}).json()
    assert all(doc_id.startswith("httpx/") for doc_id in doc_ids(plain))
    response = library.get(
        "/query", params=[("q", QUESTION), ("k", "5"), ("doc", "flask/*"), ("doc", "notes/**")]
    )
    assert response.status_code == 200, response.text
    found = doc_ids(response.json())
    assert len(found) == 5 and all(d.startswith(("flask/", "notes/")) for d in found)
    by_author = library.get(
        "/query", params={"q": "when does the night ferry leave?", "meta.author": "Grace"}
    )
    assert set(doc_ids(by_author.json())) == {"notes/trips/bridge.md"}


def test_post_takes_doc_and_meta_in_the_body(library: TestClient) -> None:
    body = {
        "question": "when does the night ferry leave?",
        "k": 3,
        "doc": ["notes/**"],
        "meta": {"status": "draft"},
    }
    response = library.post("/query", json=body)
    assert response.status_code == 200, response.text
    assert set(doc_ids(response.json())) == {"notes/ferry.md"} and response.json()["message"] is None
    single = library.post("/query", json={"question": QUESTION, "doc": "flask/config.rst"}).json()
    assert set(doc_ids(single)) == {"flask/config.rst"}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": QUESTION, "doc_id": "notes/ferry.md"}, "unknown parameter 'doc_id'"),
        ({"q": QUESTION, "doc": ""}, "doc glob is empty"),
        ({"q": QUESTION, "doc": "notes/***"}, "not ***"),
        ({"q": QUESTION, "meta.": "x"}, "meta key is empty"),
        ({"q": QUESTION, "meta.a b": "x"}, "front-matter field name"),
        ({"q": QUESTION, "meta.author": ""}, "meta.author is empty"),
    ],
)
def test_bad_filters_on_get_are_422_saying_what_to_write(
    library: TestClient, params: dict[str, str], message: str
) -> None:
    response = library.get("/query", params=params)
    assert response.status_code == 422 and message in response.json()["detail"], response.text


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"doc": [""]}, "doc glob is empty"),
        ({"doc": 3}, "doc"),
        ({"meta": {"author": 3}}, "meta"),
        ({"meta": ["author=Ada"]}, "meta"),
        ({"doc_id": "notes/ferry.md"}, "doc_id"),
    ],
)
def test_bad_filters_in_a_post_are_422(library: TestClient, extra: dict[str, object], message: str) -> None:
    response = library.post("/query", json={"question": QUESTION, **extra})
    assert response.status_code == 422 and message in response.json()["detail"], response.text


def test_a_filter_matching_nothing_is_200_with_a_message(library: TestClient) -> None:
    for params in ({"doc": "nowhere/**"}, {"meta.author": "Nobody"}):
        response = library.get("/query", params={"q": QUESTION, **params})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["passages"] == [] and body["answer"] is None and not body["answerable"]
        assert body["message"].startswith(NO_MATCH)


def test_the_answer_cache_keys_on_the_filter(library: TestClient) -> None:
    for _ in range(2):  # the second round is answered from the cache
        flask = library.get("/query", params={"q": QUESTION, "doc": "flask/**"}).json()
        httpx_pages = library.get("/query", params={"q": QUESTION, "doc": "httpx/**"}).json()
        unfiltered = library.get("/query", params={"q": QUESTION}).json()
        assert all(d.startswith("flask/") for d in doc_ids(flask))
        assert all(d.startswith("httpx/") for d in doc_ids(httpx_pages))
        assert doc_ids(unfiltered) == doc_ids(httpx_pages)
