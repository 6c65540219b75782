"""The web page: one HTML shell and its hand-written CSS/JS, served by the app itself.

The page is a client of the JSON API (``/query``, ``/documents/{doc_id}``, ``/index``); this
module only serves files, and fills the question box's placeholder from the served corpus (a
document's title, ``Engine.prompt``) so it never suggests a question the corpus cannot answer.
``/`` asks questions (``/?q=…&k=…&mode=…`` reproduces an answer) and
``/view/{doc_id}?start=…&end=…`` shows a document with the cited span highlighted; both are the
same shell, and the script decides what to draw from the URL, so either URL can be shared.

Every asset ships inside the package (``qa/http/static``, package data), so the page works offline:
no CDN, no external fonts. The shell goes out with a Content-Security-Policy that allows scripts
and styles from this origin only: no inline script can run, so even a bug that let document text
reach the DOM as HTML would not execute it (the script itself only ever sets ``textContent``).
"""

from __future__ import annotations

import html
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # The shell is tiny and changes with the package; never serve a stale one after an upgrade.
    "Cache-Control": "no-cache",
}
NEUTRAL_PLACEHOLDER = 'placeholder="Ask a question about these documents…"'  # as index.html has it


def static_dir() -> Path:
    """The folder of the page's assets inside the installed package (a real folder: the package
    is installed unzipped, which StaticFiles needs)."""
    return Path(str(files("qa.http") / "static"))


def add_web_routes(app: FastAPI) -> None:
    """Serve the page at ``/`` and ``/view/{doc_id}``, and its assets under ``/static``."""
    assets = static_dir()
    shell = (assets / "index.html").read_text(encoding="utf-8")

    def page(request: Request) -> HTMLResponse:
        prompt = html.escape(request.app.state.engine.prompt(), quote=True)
        body = shell.replace(NEUTRAL_PLACEHOLDER, f'placeholder="{prompt}"')
        return HTMLResponse(body, headers=PAGE_HEADERS)

    app.add_api_route("/", page, methods=["GET"], include_in_schema=False)
    app.add_api_route("/view/{doc_id:path}", page, methods=["GET"], include_in_schema=False)
    app.mount("/static", StaticFiles(directory=assets), name="static")
