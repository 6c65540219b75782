"""The bad-input catalogue of issue 6: one case per kind of bad input, each answered with a clear
4xx whose JSON ``detail`` says what was wrong, carrying a request id, and leaving the corpus files,
the index folder and the served generation exactly as they were. Real model, real index, real
HTTP through the ASGI app (TestClient); the write cases send the real token."""

from __future__ import annotations

import gzip
import io
import json
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from qa.core.config import Settings
from qa.http.app import create_app
from qa.index.build import build_index
from tests.conftest import ARTICLE, article_copy, real_embedder
from tests.http.test_write_api import corpus_state

TOKEN = "bad-input-catalogue-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
UPLOAD_LIMIT = 50_000
FERRY = "The night ferry to the islands now leaves at 23:40 from pier seven.\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" + bytes(range(256))
Send = Callable[[TestClient], httpx.Response]


def zip_bomb() -> bytes:
    """A zip archive of 20 MB of zeros that weighs about 20 kB."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.txt", b"\x00" * 20_000_000)
    return buffer.getvalue()


def gzip_bomb() -> bytes:
    """A JSON document body that inflates from about 50 kB to 50 MB."""
    return gzip.compress(b'{"text": "' + b" " * 50_000_000 + b'"}')


def get_query(**params: Any) -> Send:
    return lambda client: client.get("/query", params=params)


def raw_get(url: str) -> Send:
    return lambda client: client.get(url)


def post_query(content: bytes, media_type: str = "application/json") -> Send:
    return lambda client: client.post("/query", content=content, headers={"content-type": media_type})


def upload(name: str, data: bytes, doc_id: str | None = None) -> Send:
    form = {"doc_id": doc_id} if doc_id is not None else None
    return lambda client: client.post("/documents", files={"file": (name, data)}, data=form, headers=AUTH)


def post_document(body: dict[str, Any]) -> Send:
    return lambda client: client.post("/documents", json=body, headers=AUTH)


def raw_document(content: bytes, headers: dict[str, str]) -> Send:
    return lambda client: client.post("/documents", content=content, headers={**AUTH, **headers})


MEGABYTE_QUESTION = "what did UNIDO announce? " * 40_000  # 1,000,000 characters

# case -> (request, status, a fragment the detail must hold)
CATALOGUE: dict[str, tuple[Send, int, str]] = {
    "empty-question": (get_query(q=""), 422, "empty"),
    "empty-question-post": (post_query(b'{"question": ""}'), 422, "empty"),
    "whitespace-question": (get_query(q=" \t\n  "), 422, "empty"),
    # a URL is capped at 64 kB by the client library; the full megabyte goes in the POST bodies
    "long-question": (get_query(q=MEGABYTE_QUESTION[:60_000]), 422, "60000 characters"),
    "megabyte-question-post": (
        post_query(json.dumps({"question": MEGABYTE_QUESTION}).encode()),
        422,
        "1000000 characters",
    ),
    "nul-in-question": (get_query(q="what did\x00 UNIDO announce?"), 422, "NUL"),
    "control-characters": (get_query(q="what did\x07 UNIDO\x1b announce?"), 422, "control character"),
    "invalid-utf8-query": (raw_get("/query?q=what%20did%20%FF%FE%20announce"), 400, "UTF-8"),
    "invalid-utf8-body": (post_query(b'{"question": "what \xff\xfe announce?"}'), 400, "UTF-8"),
    "huge-k": (get_query(q="what did UNIDO announce?", k=10**30), 422, "k:"),
    "negative-k": (get_query(q="what did UNIDO announce?", k=-3), 422, "k:"),
    "fractional-k": (get_query(q="what did UNIDO announce?", k=2.5), 422, "k:"),
    "word-k": (get_query(q="what did UNIDO announce?", k="many"), 422, "k:"),
    "non-json-body": (post_query(b"what did UNIDO announce?"), 422, "JSON"),
    "wrong-content-type-query": (post_query(b'{"question": "hi"}', "text/plain"), 422, "application/json"),
    "wrong-content-type-document": (
        raw_document(FERRY.encode(), {"content-type": "text/plain"}),
        415,
        "application/json",
    ),
    "binary-as-txt": (upload("photo.txt", PNG), 415, "binary"),
    "zip-bomb-as-txt": (upload("bomb.txt", zip_bomb()), 415, "binary"),
    "zip-bomb-as-zip": (upload("bomb.zip", zip_bomb()), 415, "not one qa reads"),
    "gzip-bomb-body": (
        raw_document(gzip_bomb(), {"content-type": "application/json", "content-encoding": "gzip"}),
        415,
        "Content-Encoding",
    ),
    "oversized-upload": (upload("big.txt", b"a" * (UPLOAD_LIMIT + 1)), 413, "limit"),
    "oversized-query-body": (
        post_query(b'{"question": "' + b"a" * 2_000_000 + b'"}'),
        413,
        "larger than",
    ),
    "doc-id-dot-dot": (post_document({"doc_id": "../escape.txt", "text": FERRY}), 422, "'..'"),
    "doc-id-dot-dot-upload": (upload("x.txt", FERRY.encode(), doc_id="notes/../../x.txt"), 422, "'..'"),
    "doc-id-absolute": (post_document({"doc_id": "/etc/cron.d/x.txt", "text": FERRY}), 422, "absolute"),
    "duplicate-upload": (upload("copy.txt", ARTICLE.read_bytes()), 409, ARTICLE.name),
    "delete-unknown": (lambda client: client.delete("/documents/nope.txt", headers=AUTH), 404, "nope.txt"),
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Settings]]:
    copy = article_copy(tmp_path_factory.mktemp("bad-input"))
    settings = Settings(
        corpus_dir=copy.corpus_dir, index_dir=copy.index_dir, api_token=TOKEN, max_upload_bytes=UPLOAD_LIMIT
    )
    build_index(settings, real_embedder())
    with TestClient(create_app(settings, real_embedder())) as client:
        yield client, settings


def state(client: TestClient, settings: Settings) -> tuple[Any, ...]:
    """The corpus (paths and hashes), the index folder's entries, and the served generation."""
    index_entries = sorted(path.name for path in settings.index_dir.iterdir())
    return corpus_state(settings), index_entries, client.get("/index").json()["generation"]


@pytest.mark.parametrize("case", list(CATALOGUE))
def test_bad_input_is_a_clear_4xx_and_changes_nothing(served: tuple[TestClient, Settings], case: str) -> None:
    client, settings = served
    send, status, fragment = CATALOGUE[case]
    before = state(client, settings)
    response = send(client)
    assert response.status_code == status, response.text[:500]
    detail = response.json()["detail"]
    assert isinstance(detail, str) and fragment in detail, detail
    assert str(settings.index_dir.parent) not in response.text and "Traceback" not in response.text
    assert response.headers["x-request-id"]
    assert state(client, settings) == before
    top = client.get("/query", params={"q": "what did UNIDO announce?", "k": 1}).json()["passages"][0]
    assert "UNIDO" in top["text"], "the server still answers"


def test_a_rebuild_while_a_rebuild_runs_is_409(tmp_path: Path) -> None:
    copy = article_copy(tmp_path)
    settings = Settings(corpus_dir=copy.corpus_dir, index_dir=copy.index_dir, api_token=TOKEN)
    build_index(settings, real_embedder())
    with TestClient(create_app(settings, real_embedder())) as client:
        corpus_before, generation_before = corpus_state(settings), client.get("/index").json()["generation"]
        first = client.post("/index/rebuild", json={"full": True}, headers=AUTH)
        second = client.post("/index/rebuild", json={"full": True}, headers=AUTH)
        assert first.status_code == 202 and second.status_code == 409, second.text
        assert "running" in second.json()["detail"]
        deadline = time.monotonic() + 120
        while (job := client.get("/index").json()["job"])["state"] != "done":
            assert job["state"] != "failed" and time.monotonic() < deadline, job
            time.sleep(0.1)
        generations = sorted(path.name for path in settings.index_dir.glob("gen-*"))
        assert len(generations) == 2 and generations[0] == generation_before, "one rebuild, not two"
        assert corpus_state(settings) == corpus_before
