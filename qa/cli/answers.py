"""``qa ask``'s two paths: a running server on QA_HOST:QA_PORT when one answers, else in process;
and the printing of an answer (the HTTP API's JSON) for a person.

The server path imports nothing heavy (no model, no numpy): asking a running server takes a
fraction of a second where loading the model takes several."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape

from qa.core.config import SearchMode, Settings

PROBE_SECONDS = 0.5  # a server on loopback answers /readyz in milliseconds
ASK_SECONDS = 60.0


class ServerRefused(ValueError):
    """The server answered the question with a 4xx; the message is its ``detail``."""


def server_url(host: str, port: int) -> str:
    """Where to reach a server bound to ``host``: a wildcard address is reached on loopback."""
    reachable = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    if ":" in reachable and not reachable.startswith("["):
        reachable = f"[{reachable}]"
    return f"http://{reachable}:{port}"


def ask_server(
    base: str,
    question: str,
    k: int,
    mode: str | None,
    doc: Sequence[str] = (),
    meta: Sequence[tuple[str, str]] = (),
) -> dict[str, Any] | None:
    """The server's answer at ``base`` (of the documents ``doc`` globs and ``meta`` fields
    allow), or None when no ready server is there."""
    try:
        with urllib.request.urlopen(f"{base}/readyz", timeout=PROBE_SECONDS) as ready:
            if ready.status != 200:
                return None
    except (OSError, urllib.error.URLError):  # refused, timed out, or 503 (not ready)
        return None
    query = [("q", question), ("k", str(k)), *([("mode", mode)] if mode else [])]
    query += [("doc", glob) for glob in doc] + [(f"meta.{key}", value) for key, value in meta]
    try:
        with urllib.request.urlopen(
            f"{base}/query?{urllib.parse.urlencode(query)}", timeout=ASK_SECONDS
        ) as r:
            body: dict[str, Any] = json.loads(r.read())
            return body
    except urllib.error.HTTPError as error:
        if 400 <= error.code < 500:
            raise ServerRefused(_detail(error)) from None
        return None  # the server failed: answer in process instead
    except (OSError, urllib.error.URLError, ValueError):
        return None


def _detail(error: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(error.read()).get("detail", error.reason))
    except (ValueError, AttributeError):
        return str(error.reason)


def as_written(text: str) -> str:
    """``text`` escaped for Rich markup, its line breaks (a code block's lines) and indentation
    kept: only blank lines around it and spaces ending a line go."""
    return escape("\n".join(line.rstrip() for line in text.strip("\r\n").splitlines()))


def print_answer(console: Console, body: dict[str, Any]) -> None:
    """The answer and its cited passages, as the HTTP API's JSON carries them; what documents and
    the server say is printed as written, line breaks kept (escaped: "[project]" or "[/bold]" in a
    document is text, not Rich markup)."""
    answer = body.get("answer")
    if body.get("message"):
        console.print(f"[yellow]{escape(body['message'])}[/yellow]", highlight=False)
    elif answer is not None:
        cite = answer["citation"]
        where = f"{escape(cite['doc_id'])}:{cite['line_start']}"
        console.print(f"[bold]answer[/bold] ({where}): {as_written(answer['text'])}", highlight=False)
    else:
        console.print("[yellow]not answered by these documents[/yellow] (closest passages below)")
    for passage in body.get("passages", []):
        cite = passage["citation"]
        first, last = cite["line_start"], cite["line_end"]
        lines = f"{first}" if first == last else f"{first}-{last}"
        console.print(
            f"\n[bold]{passage['rank']}.[/bold] {escape(cite['doc_id'])}:{lines} [dim](chars {cite['start']}-"
            f"{cite['end']}, score {passage['score']:.3f})[/dim]",
            highlight=False,
        )
        quoted = f'"{as_written(passage["text"])}"'.split("\n")  # line for line, indented under the heading
        console.print("\n".join(f"   {line}" if line else "" for line in quoted), highlight=False)


def ask_in_process(
    settings: Settings,
    question: str,
    k: int,
    mode: SearchMode | None,
    doc: list[str],
    meta: list[tuple[str, str]],
) -> dict[str, Any]:
    """The question answered by an Engine in this process, as the HTTP API's JSON."""
    from qa.http.schemas import to_response
    from qa.service.engine import Engine

    engine = Engine(settings=settings)
    cleaned = engine.question(question)
    engine.check_index()  # fails fast, before the model loads
    engine.load()
    started = time.perf_counter()  # took_ms means what the API's means: the question alone
    result = engine.ask(cleaned, k, mode, doc=doc, meta=meta)
    response = to_response(cleaned, mode or settings.default_mode, result, started)
    body: dict[str, Any] = response.model_dump(mode="json")
    return body
