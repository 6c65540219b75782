"""The web page's files as the app serves them (no browser): the shell with its security headers,
and every asset it names served from the package, none fetched from elsewhere."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from fastapi.testclient import TestClient

from qa.core.config import Settings
from qa.http.routes.web import static_dir
from tests.conftest import ROOT

ASSET = re.compile(r'(?:src|href)="(/static/[^"]+)"')


def test_the_page_is_html_with_a_restrictive_content_security_policy(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert '<label for="question">' in response.text


def test_a_document_view_url_serves_the_same_page(client: TestClient) -> None:
    page = client.get("/")
    view = client.get("/view/shanghai-declaration.txt", params={"start": 1983, "end": 2186})
    assert view.status_code == 200 and view.text == page.text
    assert view.headers["content-security-policy"] == page.headers["content-security-policy"]


def test_every_asset_the_page_names_is_served_by_the_app(client: TestClient) -> None:
    shell = client.get("/").text
    assets = ASSET.findall(shell)
    assert {"/static/page.js", "/static/page.css"} <= set(assets)
    types = {".js": "javascript", ".css": "text/css"}
    for path in assets:
        response = client.get(path)
        assert response.status_code == 200, path
        assert types[path[path.rfind(".") :]] in response.headers["content-type"]
    assert client.get("/static/missing.js").status_code == 404


def test_no_asset_reaches_outside_the_app() -> None:
    """Offline: no CDN, no external font, no absolute URL in any shipped file."""
    files = sorted(static_dir().iterdir())
    assert {path.name for path in files} >= {"index.html", "page.js", "page.css"}
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/|@import|url\(", text), path.name


def test_the_page_script_never_parses_text_as_html() -> None:
    script = (static_dir() / "page.js").read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script, sink


def test_the_assets_ship_in_the_wheel(tmp_path: Path) -> None:
    """Not only in the editable install: a wheel built from a clean copy of the source (no stale
    build/ folder to hide a missing package-data entry) holds every file of qa/http/static."""
    source = tmp_path / "source"
    shutil.copytree(ROOT / "qa", source / "qa", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    wheels = tmp_path / "wheels"
    build = ["wheel", "--quiet", "--no-deps", "--no-build-isolation", "--wheel-dir", str(wheels)]
    subprocess.run(
        [sys.executable, "-m", "pip", *build, str(source)],
        check=True,
        capture_output=True,
    )
    [wheel] = wheels.glob("qa-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"qa/http/static/{path.name}" for path in static_dir().iterdir()}
    assert expected and expected <= shipped


PLACEHOLDER = re.compile(r'<input id="question"[^>]*placeholder="([^"]*)"')


def test_the_question_box_suggests_the_served_corpus_not_a_fixed_question(
    client: TestClient, library_settings: Settings
) -> None:
    import html

    from qa.http.app import create_app
    from tests.conftest import real_embedder

    shipped = (static_dir() / "index.html").read_text(encoding="utf-8")
    assert "UNIDO" not in shipped and "UNIDO" not in (static_dir() / "page.js").read_text(encoding="utf-8")
    engine = client.app.state.engine  # type: ignore[attr-defined]
    rows = engine.ready_searcher().generation.rows_of_doc
    largest = max(rows, key=lambda doc_id: len(rows[doc_id]))
    [article] = PLACEHOLDER.findall(client.get("/").text)
    assert html.unescape(article) == f"Ask about {engine.document(largest).title[:60].rsplit(' ', 1)[0]}…"
    with TestClient(create_app(library_settings, real_embedder())) as library:
        [other] = PLACEHOLDER.findall(library.get("/").text)
        titles = {doc.title for doc, _ in library.app.state.engine.documents()}  # type: ignore[attr-defined]
    assert other != article and other.startswith("Ask about ")
    assert any(
        title.startswith(html.unescape(other).removeprefix("Ask about ").removesuffix("…"))
        for title in titles
    )


def test_the_question_box_is_neutral_while_no_index_is_served(tmp_path: Path) -> None:
    from qa.http.app import create_app
    from tests.conftest import real_embedder

    settings = Settings(corpus_dir=tmp_path, index_dir=tmp_path / "index").resolved()
    with TestClient(create_app(settings, real_embedder())) as unbuilt:
        [neutral] = PLACEHOLDER.findall(unbuilt.get("/").text)
    assert neutral == "Ask a question about these documents…"
