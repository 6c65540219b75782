"""The write API through real HTTP (TestClient, and one real server), the real model and real FAISS:
the bearer token, adding, replacing and deleting documents, background rebuilds, and every way a
document is refused, each refusal leaving the corpus files and the served generation as they were."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from filelock import FileLock

from qa.core.config import Settings
from qa.http.app import create_app
from qa.index.build import build_index
from qa.ingest.formats import load_file
from tests.conftest import ARTICLE, real_embedder, running_server
from tests.ingest.test_formats import HTML, _pdf

DOCUMENTS = Path(__file__).resolve().parents[1] / "data" / "documents"
TOKEN = "s3cret-write-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LIMIT = 8_000  # max_upload_bytes for the refusal cases; the article (about 4 kB) fits
BRIDGE = (
    "The harbour bridge reopened on Monday after eighteen months of repairs to its steel cables.\n\n"
    "The city council said the repairs cost 42 million euros, less than the first estimate.\n"
)
FERRY = "The night ferry to the islands now leaves at 23:40 from pier seven, every day but Sunday.\n"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A corpus holding the article and its built index, copied by each test that writes."""
    base = tmp_path_factory.mktemp("write-template")
    (base / "corpus").mkdir()
    shutil.copy(ARTICLE, base / "corpus" / ARTICLE.name)
    build_index(Settings(corpus_dir=base / "corpus", index_dir=base / "index").resolved(), real_embedder())
    return base


def private_settings(template: Path, folder: Path, **overrides: Any) -> Settings:
    shutil.copytree(template / "corpus", folder / "corpus")
    shutil.copytree(template / "index", folder / "index")
    values: dict[str, Any] = {"api_token": TOKEN, **overrides}
    return Settings(corpus_dir=folder / "corpus", index_dir=folder / "index", **values).resolved()


@contextlib.contextmanager
def serving(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, real_embedder())) as client:
        yield client


@pytest.fixture
def settings(template: Path, tmp_path: Path) -> Settings:
    return private_settings(template, tmp_path)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with serving(settings) as test_client:
        yield test_client


def corpus_state(settings: Settings) -> list[tuple[str, str]]:
    """Every path under the corpus (hidden temporary files included) with a hash of its bytes."""
    return [
        (path.relative_to(settings.corpus_dir).as_posix(), hashlib.sha256(path.read_bytes()).hexdigest())
        if path.is_file()
        else (path.relative_to(settings.corpus_dir).as_posix(), "folder")
        for path in sorted(settings.corpus_dir.rglob("*"))
    ]


def served(client: TestClient) -> tuple[str, Any]:
    info = client.get("/index").json()
    return info["generation"], info["job"]


def assert_cites(client: TestClient, question: str, fragment: str) -> dict[str, Any]:
    """The top passage for ``question`` holds ``fragment``, and its citation slices the document exactly."""
    top = client.get("/query", params={"q": question, "k": 3}).json()["passages"][0]
    assert fragment in top["text"]
    citation = top["citation"]
    document = client.get(f"/documents/{citation['doc_id']}").json()
    assert document["text"][citation["start"] : citation["end"]] == top["text"]
    return dict(citation)


# --- the token ------------------------------------------------------------------------------------

WRITES: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/documents", {"json": {"text": FERRY}}),
    ("DELETE", f"/documents/{ARTICLE.name}", {}),
    ("POST", "/index/rebuild", {"json": {"full": True}}),
]


def test_writes_are_refused_when_no_token_is_configured(template: Path, tmp_path: Path) -> None:
    settings = private_settings(template, tmp_path, api_token=None)
    with serving(settings) as client:
        before = corpus_state(settings), served(client)
        for method, url, extra in WRITES:
            for headers in ({}, AUTH):
                response = client.request(method, url, headers=headers, **extra)
                assert response.status_code == 403, (method, url, response.text)
                assert "QA_API_TOKEN" in response.json()["detail"]
        assert (corpus_state(settings), served(client)) == before
        assert client.get("/query", params={"q": "what did UNIDO announce?"}).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Bearer {TOKEN[:-1]}"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
    ],
    ids=["missing", "wrong", "longer", "shorter", "basic", "no-scheme"],
)
def test_a_missing_or_wrong_token_is_401(
    client: TestClient, settings: Settings, headers: dict[str, str]
) -> None:
    before = corpus_state(settings), served(client)
    for method, url, extra in WRITES:
        response = client.request(method, url, headers=headers, **extra)
        assert response.status_code == 401, (method, url, response.text)
        assert response.headers["www-authenticate"] == "Bearer"
        assert "token" in response.json()["detail"] and TOKEN not in response.text
    broken = client.post(
        "/documents", content=b"{broken", headers={**headers, "content-type": "application/json"}
    )
    assert broken.status_code == 401  # the token is checked before the body is read
    assert (corpus_state(settings), served(client)) == before
    assert (
        client.get("/query", params={"q": "what did UNIDO announce?"}).status_code == 200
    )  # reads stay open


def test_the_token_is_never_logged_or_echoed(
    client: TestClient, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    responses = [
        client.post("/documents", json={"text": FERRY}, headers={"Authorization": f"Bearer {TOKEN}x"}),
        client.post("/documents", json={"text": FERRY, "doc_id": "../ferry.txt"}, headers=AUTH),
        client.post("/documents", json={"text": FERRY}, headers=AUTH),
        client.get("/index"),
    ]
    assert [r.status_code for r in responses] == [401, 422, 201, 200]
    assert all(TOKEN not in response.text for response in responses)
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(settings) and TOKEN not in str(settings.model_dump())


# --- adding, replacing, deleting ------------------------------------------------------------------


def test_a_json_document_is_indexed_and_cited_exactly(client: TestClient, settings: Settings) -> None:
    generation, _ = served(client)
    response = client.post(
        "/documents", json={"title": "Harbour Bridge Reopens", "text": BRIDGE}, headers=AUTH
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["doc_id"] == "harbour-bridge-reopens.md" and body["passages"] >= 1
    assert body["generation"] != generation
    assert response.headers["location"] == "/documents/harbour-bridge-reopens.md"
    stored = (settings.corpus_dir / "harbour-bridge-reopens.md").read_text(encoding="utf-8")
    assert stored == "---\ntitle: Harbour Bridge Reopens\n---\n" + BRIDGE
    now, job = served(client)
    assert now == body["generation"]  # served at once, not at the watcher's next look
    assert job["kind"] == "add" and job["state"] == "done" and job["progress"] == 1.0 and job["error"] is None
    citation = assert_cites(client, "how much did the bridge repairs cost?", "42 million euros")
    assert citation["doc_id"] == "harbour-bridge-reopens.md" and citation["title"] == "Harbour Bridge Reopens"
    assert assert_cites(client, "what did UNIDO announce?", "UNIDO")["doc_id"] == ARTICLE.name


def test_posting_to_an_existing_doc_id_replaces_it(client: TestClient, settings: Settings) -> None:
    first = client.post("/documents", json={"doc_id": "notes/bridge.md", "text": BRIDGE}, headers=AUTH)
    assert first.status_code == 201, first.text
    again = client.post("/documents", json={"doc_id": "notes/bridge.md", "text": BRIDGE}, headers=AUTH)
    assert again.status_code == 200 and again.json()["generation"] == first.json()["generation"]
    changed = BRIDGE.replace("42 million euros", "57 million euros")
    replaced = client.post("/documents", json={"doc_id": "notes/bridge.md", "text": changed}, headers=AUTH)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["generation"] != first.json()["generation"]
    assert "57 million euros" in client.get("/documents/notes/bridge.md").json()["text"]
    assert_cites(client, "how much did the bridge repairs cost?", "57 million euros")
    assert (settings.corpus_dir / "notes" / "bridge.md").read_text(encoding="utf-8") == changed
    assert [d["doc_id"] for d in client.get("/documents").json()].count("notes/bridge.md") == 1


def test_a_json_body_carries_any_text_format_and_a_title_only_where_front_matter_is_read(
    client: TestClient, settings: Settings
) -> None:
    """A CSV posted as JSON is stored as given and read as a table, titled by its name; a title
    for it is refused (it would be front matter, which a CSV file does not have)."""
    rows = "Ferry,Leaves,Platform\nNight ferry,23:40,4\nMorning ferry,06:15,2\n"
    posted = client.post("/documents", json={"doc_id": "timetable.csv", "text": rows}, headers=AUTH)
    assert posted.status_code == 201, posted.text
    assert (settings.corpus_dir / "timetable.csv").read_text(encoding="utf-8") == rows
    top = client.get("/query", params={"q": "night ferry platform", "k": 3}).json()["passages"][0]
    assert top["kind"] == "table" and top["citation"]["title"] == "timetable"
    titled = client.post(
        "/documents", json={"doc_id": "times.csv", "title": "Times", "text": rows}, headers=AUTH
    )
    assert titled.status_code == 422 and "front matter" in titled.json()["detail"], titled.text
    assert not (settings.corpus_dir / "times.csv").exists()


def test_uploaded_txt_and_html_files_are_indexed(client: TestClient, settings: Settings) -> None:
    text = client.post(
        "/documents", files={"file": ("ferry.txt", FERRY.encode(), "text/plain")}, headers=AUTH
    )
    assert text.status_code == 201, text.text
    assert text.json()["doc_id"] == "ferry.txt"
    html = client.post(
        "/documents",
        files={"file": ("page.html", HTML.encode(), "text/html")},
        data={"doc_id": "news/bridge.html"},
        headers=AUTH,
    )
    assert html.status_code == 201, html.text
    assert html.json()["doc_id"] == "news/bridge.html" and html.json()["passages"] >= 1
    assert (settings.corpus_dir / "news" / "bridge.html").read_bytes() == HTML.encode()
    assert assert_cites(client, "when does the night ferry leave?", "23:40")["doc_id"] == "ferry.txt"
    bridge = assert_cites(client, "how much did the bridge repairs cost?", "42 million euros")
    assert bridge["doc_id"] == "news/bridge.html" and bridge["title"] == "Harbour bridge reopens"


def test_a_deleted_document_is_gone(client: TestClient, settings: Settings) -> None:
    added = client.post("/documents", json={"doc_id": "ferry.md", "text": FERRY}, headers=AUTH)
    assert added.status_code == 201
    response = client.delete("/documents/ferry.md", headers=AUTH)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["doc_id"] == "ferry.md" and body["generation"] != added.json()["generation"]
    assert served(client)[0] == body["generation"]
    assert client.get("/documents/ferry.md").status_code == 404
    assert not (settings.corpus_dir / "ferry.md").exists()
    assert [d["doc_id"] for d in client.get("/documents").json()] == [ARTICLE.name]
    assert client.delete("/documents/ferry.md", headers=AUTH).status_code == 404


# --- background rebuilds --------------------------------------------------------------------------


def test_a_rebuild_runs_in_the_background_one_at_a_time(template: Path, tmp_path: Path) -> None:
    settings = private_settings(template, tmp_path)
    for copy in ("copy-1.txt", "copy-2.txt"):  # more passages, so the full rebuild takes a while
        shutil.copy(ARTICLE, settings.corpus_dir / copy)
    with serving(settings) as client:
        generation, _ = served(client)
        started = client.post("/index/rebuild", json={"full": True}, headers=AUTH)
        second = client.post("/index/rebuild", headers=AUTH)
        before = corpus_state(settings)
        meanwhile = client.post("/documents", json={"text": FERRY}, headers=AUTH)
        assert started.status_code == 202, started.text
        job = started.json()["job"]
        assert set(job) >= {"id", "state", "progress", "error"} and job["state"] in ("queued", "running")
        assert second.status_code == 409 and "running" in second.json()["detail"]
        assert meanwhile.status_code == 409 and corpus_state(settings) == before
        deadline = time.monotonic() + 300
        while (latest := served(client)[1])["state"] in ("queued", "running"):
            assert 0.0 <= latest["progress"] <= 1.0 and latest["id"] == job["id"]
            assert time.monotonic() < deadline, "the rebuild did not finish"
            time.sleep(0.2)
        assert latest["state"] == "done" and latest["progress"] == 1.0 and latest["error"] is None
        info = client.get("/index").json()
        assert info["generation"] == latest["generation"] != generation and info["documents"] == 3
        assert client.post("/index/rebuild", headers=AUTH).status_code == 202  # free again


def test_a_build_in_another_process_is_409_and_changes_nothing(
    client: TestClient, settings: Settings
) -> None:
    (settings.corpus_dir / "ferry.md").write_text(FERRY, encoding="utf-8")  # the article is not the last
    before = corpus_state(settings), served(client)
    lock = FileLock(settings.index_dir / ".build.lock")  # what a running `qa index` holds
    with lock:
        for method, url, extra in WRITES:
            response = client.request(method, url, headers=AUTH, **extra)
            assert response.status_code == 409, (method, url, response.text)
            assert "another build" in response.json()["detail"]
    assert (corpus_state(settings), served(client)) == before


# --- refusals -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def strict(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Settings]]:
    """A server with a small upload limit, and a symbolic link in its corpus that points outside."""
    folder = tmp_path_factory.mktemp("strict")
    settings = private_settings(template, folder, max_upload_bytes=LIMIT)
    (folder / "outside").mkdir()
    (settings.corpus_dir / "elsewhere").symlink_to(folder / "outside", target_is_directory=True)
    with serving(settings) as client:
        yield client, settings


Request = Callable[[TestClient], httpx.Response]


def post_json(body: dict[str, Any]) -> Request:
    return lambda client: client.post("/documents", json=body, headers=AUTH)


def upload(name: str, data: bytes, doc_id: str | None = None, field: str = "file") -> Request:
    form = {"doc_id": doc_id} if doc_id is not None else None
    return lambda client: client.post("/documents", files={field: (name, data)}, data=form, headers=AUTH)


def raw(content: bytes, media_type: str, url: str = "/documents") -> Request:
    headers = {**AUTH, "content-type": media_type}
    return lambda client: client.post(url, content=content, headers=headers)


def delete(doc_id: str) -> Request:
    return lambda client: client.delete(f"/documents/{doc_id}", headers=AUTH)


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" + bytes(range(256))
ARTICLE_BYTES = ARTICLE.read_bytes()

REFUSALS: dict[str, tuple[Request, int, str]] = {
    "oversize-json": (post_json({"text": "x" * (LIMIT + 1)}), 413, "limit of 8,000 bytes"),
    "oversize-upload": (upload("big.txt", b"a" * (LIMIT + 1)), 413, "limit of 8,000 bytes"),
    "oversize-body": (
        raw(b'{"text": "' + b"a" * (3 * LIMIT + 70_000) + b'"}', "application/json"),
        413,
        "body",
    ),
    "binary-as-txt": (upload("photo.txt", PNG), 415, "binary"),
    "latin-1-as-txt": (upload("notes.txt", "café au lait".encode("latin-1")), 415, "UTF-8"),
    "not-a-pdf": (upload("report.pdf", b"just some words"), 415, "%PDF-"),
    "not-html": (upload("page.html", b"just some words, no markup"), 415, "HTML"),
    "unreadable-pdf": (upload("broken.pdf", b"%PDF-1.4 not really"), 422, "PDF"),
    "dot-dot": (post_json({"doc_id": "../x.txt", "text": FERRY}), 422, "'..'"),
    "dot-dot-inside": (post_json({"doc_id": "a/../../x.txt", "text": FERRY}), 422, "'..'"),
    "dot-dot-upload": (upload("x.txt", FERRY.encode(), doc_id="../x.txt"), 422, "'..'"),
    "absolute": (post_json({"doc_id": "/etc/passwd", "text": FERRY}), 422, "absolute"),
    "under-a-file": (
        post_json({"doc_id": "shanghai-declaration.txt/x.txt", "text": FERRY}),
        422,
        "under a file",
    ),
    "absolute-upload": (upload("/etc/passwd.txt", FERRY.encode()), 422, "absolute"),
    "backslash": (post_json({"doc_id": "a\\b.txt", "text": FERRY}), 422, "backslash"),
    "nul": (post_json({"doc_id": "a\x00b.txt", "text": FERRY}), 422, "NUL"),
    "bad-suffix": (post_json({"doc_id": "notes.exe", "text": FERRY}), 422, "must end in"),
    "bad-suffix-upload": (upload("tool.sh", b"#!/bin/sh\necho hi\n"), 415, ".docx, .eml, .epub, .htm, .html"),
    "xls-upload": (upload("table.xls", b"\xd0\xcf\x11\xe0"), 415, "format .xls"),
    "no-suffix": (upload("README", FERRY.encode()), 415, "without a suffix"),
    "not-a-docx": (upload("notes.docx", FERRY.encode()), 415, "zip archive"),
    "unreadable-docx": (upload("notes.docx", b"PK\x03\x04 not really a zip"), 422, "notes.docx"),
    "unreadable-notebook": (upload("cells.ipynb", b"no JSON here"), 422, "cells.ipynb"),
    "not-an-epub": (upload("novel.epub", FERRY.encode()), 415, "not an EPUB book"),
    "not-a-workbook": (upload("sheet.xlsx", FERRY.encode()), 415, "not an Excel workbook"),
    "unreadable-pptx": (upload("slides.pptx", b"PK\x03\x04 not really a zip"), 422, "slides.pptx"),
    "hidden": (post_json({"doc_id": "notes/.secret.md", "text": FERRY}), 422, "hidden"),
    "symlink-escape": (post_json({"doc_id": "elsewhere/x.txt", "text": FERRY}), 422, "outside"),
    "json-as-pdf": (post_json({"doc_id": "x.pdf", "text": FERRY}), 422, "stored as text"),
    "json-as-docx": (post_json({"doc_id": "x.docx", "text": FERRY}), 422, "stored as text"),
    "duplicate-upload": (upload("copy.txt", ARTICLE_BYTES), 409, ARTICLE.name),
    "duplicate-json": (post_json({"doc_id": "c.md", "text": ARTICLE_BYTES.decode()}), 409, ARTICLE.name),
    "empty-text": (post_json({"text": " \n\t "}), 422, "no text"),
    "nul-in-text": (post_json({"text": "a\x00b"}), 422, "NUL"),
    "missing-text": (post_json({"title": "Ferry"}), 422, "text"),
    "unknown-field": (post_json({"text": FERRY, "content": "x"}), 422, "content"),
    "invalid-json": (raw(b'{"text": ', "application/json"), 422, "JSON"),
    "no-file-field": (upload("ferry.txt", FERRY.encode(), field="upload"), 422, "'file'"),
    "plain-body": (raw(FERRY.encode(), "text/plain"), 415, "multipart"),
    "rebuild-bad-body": (raw(b'{"full": "very"}', "application/json", "/index/rebuild"), 422, "full"),
    "rebuild-unknown-field": (raw(b'{"fast": true}', "application/json", "/index/rebuild"), 422, "fast"),
    "delete-unknown": (delete("nope.txt"), 404, "nope.txt"),
    "delete-dot-dot": (delete("%2E%2E/corpus/shanghai-declaration.txt"), 422, "'..'"),
    "delete-absolute": (delete("/etc/passwd"), 422, "absolute"),
    "delete-last": (delete(ARTICLE.name), 409, "last document"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_refused_writes_change_nothing(strict: tuple[TestClient, Settings], case: str) -> None:
    client, settings = strict
    send, status, fragment = REFUSALS[case]
    before = corpus_state(settings), served(client)
    response = send(client)
    assert response.status_code == status, response.text
    assert fragment in response.json()["detail"]
    assert (corpus_state(settings), served(client)) == before
    assert before[1][1] is None  # no write job ever started


# --- a real server --------------------------------------------------------------------------------


def test_a_real_server_takes_a_write(template: Path, tmp_path: Path) -> None:
    settings = private_settings(template, tmp_path)
    with (
        running_server(settings, QA_API_TOKEN=TOKEN) as base,
        httpx.Client(base_url=base, timeout=120) as http,
    ):
        refused = http.post("/documents", json={"text": FERRY})
        assert refused.status_code == 401
        response = http.post("/documents", json={"doc_id": "ferry.md", "text": FERRY}, headers=AUTH)
        assert response.status_code == 201, response.text
        top = http.get("/query", params={"q": "when does the night ferry leave?"}).json()["passages"][0]
        assert top["citation"]["doc_id"] == "ferry.md" and "23:40" in top["text"]


def _xlsx(rows: list[list[object]]) -> bytes:
    import io

    import openpyxl

    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


UPLOADED = (
    "chapter.md",
    "flask-config.rst",
    "measurements.ipynb",
    "pump.docx",
    "libffi-simple-example.html",
    "sp500-companies.csv",
    "fidus-manual.epub",
    "if-else-slides.pptx",
    "attachment-pdf.eml",
)


def test_every_corpus_format_is_uploaded_over_http_and_parsed_as_the_corpus_parses_it(
    template: Path, tmp_path: Path
) -> None:
    """Each format the corpus folder takes goes through POST /documents on a real server, is
    stored byte for byte and served with the text `qa index` gets from the same file; a file
    named without a suffix takes the one of its declared media type."""
    settings = private_settings(template, tmp_path)
    files = {name: (DOCUMENTS / name).read_bytes() for name in UPLOADED}
    files["manual.pdf"] = _pdf(["The turbine hall opened in 1931.", "Its roof was rebuilt in 1998."])
    files["turbines.xlsx"] = _xlsx([["Hall", "Opened"], ["Turbine hall", 1931], ["Boiler house", 1902]])
    with (
        running_server(settings, QA_API_TOKEN=TOKEN) as base,
        httpx.Client(base_url=base, timeout=300) as http,
    ):
        for name, data in files.items():
            response = http.post("/documents", files={"file": (name, data)}, headers=AUTH)
            assert response.status_code == 201, (name, response.text)
            assert response.json()["doc_id"] == name and response.json()["passages"] >= 1
            assert (settings.corpus_dir / name).read_bytes() == data
            served_text = http.get(f"/documents/{name}").json()["text"]
            assert served_text == load_file(settings.corpus_dir / name, name).text
        pdf = ("report", _pdf(["The boiler house closed in 1972."]), "application/pdf")
        named = http.post("/documents", files={"file": pdf}, headers=AUTH)
        assert named.status_code == 201 and named.json()["doc_id"] == "report.pdf", named.text
        slides = http.get("/query", params={"q": "what does an else block have instead of a condition?"})
        cited = slides.json()["passages"][0]["citation"]
        assert cited["doc_id"] == "if-else-slides.pptx" and cited["page"] == 6, cited
        unknown = http.post("/documents", files={"file": ("data.xyz", b"1,2,3")}, headers=AUTH)
        assert unknown.status_code == 415 and ".ipynb" in unknown.json()["detail"]
        listed = {row["doc_id"] for row in http.get("/documents").json()}
        assert {*files, "report.pdf", ARTICLE.name} == listed
        top = http.get("/query", params={"q": "when was the boiler house closed?"}).json()["passages"][0]
        assert top["citation"]["doc_id"] == "report.pdf" and "1972" in top["text"]


def test_a_chunked_body_over_the_limit_is_refused_while_read(strict: tuple[TestClient, Settings]) -> None:
    client, settings = strict
    before = corpus_state(settings), served(client)

    def chunks() -> Iterator[bytes]:  # no content-length: the size is only known while reading
        yield b'{"text": "'
        for _ in range(100):
            yield b"a" * 4096
        yield b'"}'

    response = client.post(
        "/documents", content=chunks(), headers={**AUTH, "content-type": "application/json"}
    )
    assert response.status_code == 413 and "body" in response.json()["detail"]
    assert (corpus_state(settings), served(client)) == before


def test_the_write_routes_are_documented(strict: tuple[TestClient, Settings]) -> None:
    client, _ = strict
    schema = client.get("/openapi.json").json()
    assert {"post", "get"} <= set(schema["paths"]["/documents"])
    assert "delete" in schema["paths"]["/documents/{doc_id}"]
    assert "post" in schema["paths"]["/index/rebuild"]
    body = schema["paths"]["/documents"]["post"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data"} <= set(body)
    assert any("HTTPBearer" in scheme for scheme in schema["components"]["securitySchemes"])


def test_an_html_page_without_an_author_can_be_uploaded(client: TestClient, settings: Settings) -> None:
    page = b"<html><body><article><p>The museum reopens in May after a long renovation.</p></article></body>"
    response = client.post("/documents", files={"file": ("museum.html", page)}, headers=AUTH)
    assert response.status_code == 201, response.text
    assert (settings.corpus_dir / "museum.html").is_file()
