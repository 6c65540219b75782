"""Security and operations: request ids, a generic 500, the request body limit, the rate limit,
CORS, Prometheus metrics, JSON logs, and a token that never reaches a log. Real model, real index,
real HTTP (the ASGI app through TestClient, and a real `qa serve` for the logs)."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from qa.core.config import Settings
from qa.core.logs import JsonFormatter, RequestIdFilter
from qa.http.app import create_app
from qa.index.build import build_documents, build_index
from tests.conftest import ARTICLE, article_copy, free_port, real_embedder

TOKEN = "operations-token-7f3a9c1e5b"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
QUESTION = {"q": "what did UNIDO announce?", "k": 2}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("operations")
    build_index(article_copy(folder), real_embedder())
    return folder


def configured(base: Path, **overrides: object) -> Settings:
    return Settings(
        corpus_dir=base / "corpus", index_dir=base / "index", api_token=TOKEN, **overrides
    ).resolved()


@pytest.fixture(scope="module")
def client(base: Path) -> Iterator[TestClient]:
    with TestClient(create_app(configured(base), real_embedder())) as test_client:
        yield test_client


# --- request ids -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("GET", "/query?q=what+did+UNIDO+announce%3F", 200),
        ("GET", "/query?q=", 422),
        ("GET", "/documents/nope.txt", 404),
        ("DELETE", "/documents/x.txt", 401),
        ("GET", "/nowhere", 404),
    ],
)
def test_every_response_carries_a_request_id(client: TestClient, method: str, url: str, status: int) -> None:
    made = client.request(method, url)
    assert made.status_code == status
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
    echoed = client.request(method, url, headers={"X-Request-ID": "trace-42.a:b"})
    assert echoed.headers["x-request-id"] == "trace-42.a:b"
    forged = client.request(method, url, headers={"X-Request-ID": "bad id\twith spaces"})
    assert forged.headers["x-request-id"] != "bad id\twith spaces", "an unsafe id is replaced"
    assert made.headers["x-request-id"] != client.request(method, url).headers["x-request-id"]


def test_an_unexpected_error_is_a_generic_500_with_the_request_id(
    base: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(configured(base), real_embedder())

    def broken() -> None:
        raise RuntimeError(f"secret detail from {base}")

    app.add_api_route("/broken", broken)  # a bug, planted: the real handler must contain it
    with TestClient(app, raise_server_exceptions=False) as test_client:
        response = test_client.get("/broken", headers={"X-Request-ID": "req-500"})
    assert response.status_code == 500 and response.headers["x-request-id"] == "req-500"
    assert response.json() == {
        "detail": "internal error; the server log has the details under request id req-500"
    }
    assert str(base) not in response.text and "Traceback" not in response.text
    logged = [record for record in caplog.records if record.exc_info]
    assert logged and "secret detail" in str(logged[0].exc_info[1])  # type: ignore[index]


# --- limits ----------------------------------------------------------------------------------------


def test_request_bodies_are_limited(client: TestClient) -> None:
    huge = b'{"question": "' + b"a" * (1024 * 1024) + b'"}'
    declared = client.post("/query", content=huge, headers={"content-type": "application/json"})
    assert declared.status_code == 413 and "larger than 1,048,576 bytes" in declared.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no content-length: refused while read
        yield b'{"question": "'
        for _ in range(300):
            yield b"a" * 4096
        yield b'"}'

    streamed = client.post("/query", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413 and "larger than" in streamed.json()["detail"]


def test_rate_limit_is_off_by_default(client: TestClient) -> None:
    assert all(client.get("/healthz").status_code == 200 for _ in range(60))
    assert all(client.get("/documents").status_code == 200 for _ in range(60))


def test_rate_limit_per_client_answers_429_with_retry_after(base: Path) -> None:
    with TestClient(create_app(configured(base, rate_limit="5/minute"), real_embedder())) as limited:
        answers = [limited.get("/query", params=QUESTION).status_code for _ in range(5)]
        refused = limited.get("/documents")
        assert answers == [200] * 5
        assert refused.status_code == 429 and 1 <= int(refused.headers["retry-after"]) <= 60
        assert "rate limit" in refused.json()["detail"] and refused.headers["x-request-id"]
        assert limited.get("/healthz").status_code == 200, "probes are never limited"
        assert limited.get("/metrics").status_code == 200
        assert 'status="429"' in limited.get("/metrics").text
    with pytest.raises(ValueError, match="QA_RATE_LIMIT"):
        configured(base, rate_limit="lots")


def test_cors_is_closed_unless_configured(client: TestClient, base: Path) -> None:
    origin = {"Origin": "https://evil.example"}
    assert "access-control-allow-origin" not in client.get("/healthz", headers=origin).headers
    preflight = client.options("/query", headers={**origin, "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in preflight.headers
    settings = configured(base, cors_origins="https://app.example, https://other.example")
    with TestClient(create_app(settings, real_embedder())) as opened:
        allowed = opened.get("/healthz", headers={"Origin": "https://app.example"})
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        assert "x-request-id" in allowed.headers["access-control-expose-headers"].lower()
        other = opened.get("/healthz", headers=origin)
        assert "access-control-allow-origin" not in other.headers


# --- metrics ---------------------------------------------------------------------------------------


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one Prometheus sample, matched by name and (a subset of) its labels."""
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
            if all(found.get(key) == value for key, value in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample {name} {labels}")


def test_metrics_count_requests_index_and_builds(base: Path, tmp_path: Path) -> None:
    settings = configured(tmp_path)
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / ARTICLE.name).write_bytes(ARTICLE.read_bytes())
    build_index(settings, real_embedder())
    with TestClient(create_app(settings, real_embedder())) as test_client:
        for _ in range(3):
            test_client.get("/query", params=QUESTION)
        test_client.get("/query", params={"q": ""})
        written = test_client.post(
            "/documents", json={"doc_id": "ferry.md", "text": "The ferry leaves at 9."}, headers=AUTH
        )
        assert written.status_code == 201
        text = test_client.get("/metrics").text
        info = test_client.get("/index").json()
    route = {"route": "/query", "method": "GET"}
    assert sample(text, "qa_http_requests_total", **route, status="200") == 3
    assert sample(text, "qa_http_requests_total", **route, status="422") == 1
    assert sample(text, "qa_http_request_seconds_count", **route) == 4
    assert sample(text, "qa_http_request_seconds_bucket", **route, le="+Inf") == 4
    assert sample(text, "qa_http_requests_total", route="/documents", method="POST", status="201") == 1
    assert sample(text, "qa_index_generation_info", generation=info["generation"]) == 1
    assert sample(text, "qa_index_documents") == 2 == info["documents"]
    assert sample(text, "qa_index_passages") == info["passages"]
    assert sample(text, "qa_index_build_seconds_count") == 1


@contextlib.contextmanager
def logged_server(settings: Settings, log_file: Path, **env: str) -> Iterator[str]:
    """`qa serve` on a free loopback port, its whole output going to ``log_file``."""
    port = free_port()
    variables = {
        **os.environ,
        "QA_CORPUS_DIR": str(settings.corpus_dir),
        "QA_INDEX_DIR": str(settings.index_dir),
        "QA_PORT": str(port),
        **env,
    }
    with log_file.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "qa", "serve"], env=variables, stdout=sink, stderr=sink
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while not _ready(url):
                assert process.poll() is None, log_file.read_text()
                assert time.monotonic() < deadline, "qa serve did not become ready"
                time.sleep(0.3)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=30)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


# --- logs ------------------------------------------------------------------------------------------


def test_json_log_records_carry_the_request_id(client: TestClient) -> None:
    """The handler that `qa serve` configures (filter + JSON formatter), on the access logger."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    access = logging.getLogger("qa.access")
    access.addHandler(handler)
    level = access.level
    access.setLevel(logging.INFO)
    try:
        client.get("/query", params=QUESTION, headers={"X-Request-ID": "json-log-1"})
        client.get("/query", params={"q": ""})
    finally:
        access.removeHandler(handler)
        access.setLevel(level)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["request_id"] == "json-log-1" and first["status"] == 200 and first["path"] == "/query"
    assert first["level"] == "INFO" and first["logger"] == "qa.access" and first["ms"] > 0
    assert re.fullmatch(r"[0-9a-f]{32}", second["request_id"]) and second["status"] == 422


def test_the_token_never_appears_in_logs(base: Path, tmp_path: Path) -> None:
    """A real server with JSON logs; requests carry the right token, a wrong one that shares its
    prefix, and the token in odd places; not one byte of it reaches the log."""
    copy = article_copy(tmp_path)
    build_index(copy, real_embedder())
    wrong = TOKEN[:-3] + "xyz"
    log_file = tmp_path / "server.log"
    with (
        logged_server(copy, log_file, QA_API_TOKEN=TOKEN, QA_LOG_FORMAT="json") as url,
        httpx.Client(base_url=url, timeout=120) as http,
    ):
        assert (
            http.post("/documents", json={"doc_id": "f.md", "text": "Ferry at 9."}, headers=AUTH).status_code
            == 201
        )
        assert (
            http.post(
                "/documents", json={"text": "x"}, headers={"Authorization": f"Bearer {wrong}"}
            ).status_code
            == 401
        )
        assert http.delete("/documents/f.md", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
        assert http.post("/index/rebuild", headers=AUTH, content=b"{broken").status_code == 422
        assert http.get("/query", params=QUESTION, headers={"X-Request-ID": "log-check-1"}).status_code == 200
    log = log_file.read_text(encoding="utf-8")
    lines = [line for line in log.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert any(r.get("request_id") == "log-check-1" and r.get("logger") == "qa.access" for r in records)
    assert any(r.get("status") == 401 for r in records)
    assert TOKEN not in log and wrong not in log and TOKEN[:12] not in log


def test_skipped_files_are_listed_and_counted_and_an_empty_index_is_not_ready(tmp_path: Path) -> None:
    settings = configured(tmp_path)
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / ARTICLE.name).write_bytes(ARTICLE.read_bytes())
    (tmp_path / "corpus" / "figures.xls").write_bytes(b"PK\x03\x04")
    (tmp_path / "corpus" / "SUMMARY.md").write_text("- [One](one.md)\n- [Two](two.md)\n")  # links only
    build_index(settings, real_embedder())
    with TestClient(create_app(settings, real_embedder())) as test_client:
        skipped = test_client.get("/index").json()["skipped"]
        metrics = test_client.get("/metrics").text
    # a file read but holding nothing a question can find is listed too, with its reason
    assert [entry["doc_id"] for entry in skipped] == ["figures.xls", "SUMMARY.md"]
    assert "not a supported format" in skipped[0]["reason"]
    assert skipped[1]["reason"].startswith("nothing to search")
    assert sample(metrics, "qa_index_skipped_files") == 2
    empty = configured(tmp_path / "empty")
    build_documents([], empty, real_embedder())
    with TestClient(create_app(empty, real_embedder())) as test_client:
        ready = test_client.get("/readyz")
    assert ready.status_code == 503 and "no passages" in ready.json()["detail"]
