"""Lone UTF-16 surrogates in JSON request bodies: a ``\\ud800`` escape without its pair is valid
JSON to some parsers, but no UTF-8 can carry it, so the tokenizer, the response serialiser and
the corpus writer each failed on it with a 500. Every string of every POST body, field names
included, is refused with a 422 naming the field, and no refusal echoes the surrogate itself.
Real model, real index, a real ``qa serve`` over HTTP; the Python API's edges are checked too."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from qa.core.config import Settings
from qa.core.errors import InvalidFilter, InvalidQuestion
from qa.core.filters import make_filter
from qa.index.build import build_index
from qa.service.asking import clean_question
from tests.conftest import article_copy, real_embedder, running_server
from tests.http.test_write_api import corpus_state

TOKEN = "surrogate-token"
AUTH = {"Authorization": f"Bearer {TOKEN}", "content-type": "application/json"}

# case -> (path, the raw JSON body: its \ud800-\udfff escapes are unpaired, field the detail names)
CASES: dict[str, tuple[str, str, str]] = {
    "question": ("/query", '{"question": "what is \\udfff Pin?"}', "question contains"),
    "question-high-half": ("/query", '{"question": "what did \\ud800 UNIDO announce?"}', "question"),
    "doc": ("/query", '{"question": "x", "doc": "\\ud800"}', "doc contains"),
    "doc-list": ("/query", '{"question": "x", "doc": ["*.txt", "a\\udc00"]}', "doc[1] contains"),
    "meta-value": ("/query", '{"question": "x", "meta": {"author": "\\ud800"}}', "meta.author contains"),
    "meta-list": ("/query", '{"question": "x", "meta": {"tag": ["a", "\\udfff"]}}', "meta.tag[1] contains"),
    "meta-key": ("/query", '{"question": "x", "meta": {"\\ud800": "Ada"}}', "a field name in meta"),
    "unknown-field": ("/query", '{"question": "x", "\\ud800": 1}', "a field name contains"),
    "mode": ("/query", '{"question": "x", "mode": "\\ud800"}', "mode contains"),
    "text": ("/documents", '{"doc_id": "a.md", "text": "ferry \\ud800 at 23:40"}', "text contains"),
    "title": ("/documents", '{"title": "Ferry \\udfff", "text": "ferry at 23:40"}', "title contains"),
    "doc-id": ("/documents", '{"doc_id": "\\ud800.md", "text": "ferry at 23:40"}', "doc_id contains"),
    "rebuild-field": ("/index/rebuild", '{"full": true, "\\udfff": 1}', "a field name contains"),
    "rebuild-value": ("/index/rebuild", '{"full": "\\udfff"}', "full contains"),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, Settings]]:
    settings = article_copy(tmp_path_factory.mktemp("surrogates"))
    build_index(settings, real_embedder())
    with (
        running_server(settings, QA_API_TOKEN=TOKEN) as base,
        httpx.Client(base_url=base, timeout=120) as http,
    ):
        yield http, settings


@pytest.mark.parametrize("case", list(CASES))
def test_a_lone_surrogate_in_a_body_is_a_422_naming_the_field(
    server: tuple[httpx.Client, Settings], case: str
) -> None:
    http, settings = server
    path, body, fragment = CASES[case]
    before = corpus_state(settings)
    response = http.post(path, content=body.encode("ascii"), headers=AUTH)
    assert response.status_code == 422, response.text[:500]
    response.content.decode("utf-8")  # the reply itself is valid UTF-8
    detail = response.json()["detail"]
    assert fragment in detail and "unpaired surrogate" in detail, detail
    assert not any("\ud800" <= char <= "\udfff" for char in detail), "no refusal echoes a surrogate"
    assert "Traceback" not in response.text
    assert corpus_state(settings) == before
    paired = http.post("/query", json={"question": "what did UNIDO announce? \U0001f600"})  # a real pair
    assert paired.status_code == 200 and "UNIDO" in paired.json()["passages"][0]["text"]


def test_the_python_api_edges_refuse_a_lone_surrogate_too() -> None:
    with pytest.raises(InvalidQuestion, match="unpaired surrogate"):
        clean_question("what is \udfff Pin?", 2000)
    with pytest.raises(InvalidFilter, match="doc glob contains an unpaired surrogate"):
        make_filter(doc=["\ud800"])
    with pytest.raises(InvalidFilter, match=r"meta\.author contains an unpaired surrogate"):
        make_filter(meta={"author": "A\udc00"})


@pytest.mark.parametrize("path", ["/documents", "/index/rebuild"])
def test_a_body_nested_past_the_parsers_depth_is_a_422(
    server: tuple[httpx.Client, Settings], path: str
) -> None:
    """Invalid JSON is read again only to look for a surrogate; a body nested too deep for that
    second parser is still the 422 it was, never a 500."""
    http, settings = server
    before = corpus_state(settings)
    response = http.post(path, content=b"[" * 5000 + b"]" * 5000, headers=AUTH)
    assert response.status_code == 422, response.text[:500]
    assert "Traceback" not in response.text
    assert corpus_state(settings) == before
