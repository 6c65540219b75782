"""Pure ASGI middleware: request ids, metrics, access logs, a last-resort 500, request guards and
a per-client rate limit.

Pure ASGI classes rather than ``BaseHTTPMiddleware``: they wrap ``send``/``receive`` and cost a
few attribute look-ups per request, with no extra task or response copy on the query path.

Order, outermost first (``install`` adds them): ``RequestContext`` (id, metrics, access log,
generic 500), CORS when configured, ``RateLimit`` when configured, ``RequestGuard``.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_to_bytes

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.datastructures import MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa.core.config import Settings
from qa.core.errors import TooLarge
from qa.core.logs import REQUEST_ID
from qa.service.metrics import Metrics

log = logging.getLogger(__name__)
access = logging.getLogger("qa.access")

REQUEST_ID_HEADER = "X-Request-ID"
# An incoming id is echoed only if it is short and plain, so it cannot forge log lines or headers.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Health and metrics stay reachable for probes and scrapers however busy a client is.
UNLIMITED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


async def send_json(
    send: Send, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> None:
    """Answer with a JSON body from middleware, before the app has said anything."""
    payload = json.dumps(body).encode("utf-8")
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw += [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def request_id_of(scope: Scope) -> str:
    """The client's ``X-Request-ID`` when it is sane, else a fresh one."""
    given = header(scope, b"x-request-id")
    if given is not None and SANE_REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


class RequestContext:
    """Gives each request an id (echoed in ``X-Request-ID`` and put on its log records), counts it
    in the metrics by route template and status, logs one access line, and turns an exception that
    escaped every handler into a generic 500 without trace or paths (the trace goes to the log)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        reset = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 500
        answered = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status, answered = message["status"], True
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error answering %s %s", scope["method"], scope["path"])
            if answered:
                raise
            await send_with_id_500(send_with_id, request_id)
        finally:
            self._record(scope, status, time.perf_counter() - started)
            REQUEST_ID.reset(reset)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = getattr(scope.get("route"), "path", "unmatched")  # a template: ids do not explode labels
        self.metrics.observe_request(route, scope["method"], status, seconds)
        access.info(
            "%s %s %d %.1f ms",
            scope["method"],
            route,
            status,
            seconds * 1000,
            extra={
                "method": scope["method"],
                "path": route,
                "status": status,
                "ms": round(seconds * 1000, 2),
            },
        )


async def send_with_id_500(send: Send, request_id: str) -> None:
    detail = f"internal error; the server log has the details under request id {request_id}"
    await send_json(send, 500, {"detail": detail})


class RequestGuard:
    """Refuses, before any route runs: a body over the route's limit (413, also when the size is
    only known while reading), a compressed body (415: it would be inflated unchecked), and a
    query string that is not UTF-8 once percent-decoded (400: Starlette would silently replace
    the bytes, and a question would be answered that nobody asked)."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str, str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = self._problem(scope)
        if problem is not None:
            await send_json(send, problem[0], {"detail": problem[1]})
            return
        limit = self.limit_for(scope["method"], scope["path"])
        too_large = f"the request body is larger than {limit:,} bytes"
        received = 0
        exceeded = False

        async def counted() -> Message:
            nonlocal received, exceeded
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                exceeded = True
                raise TooLarge(too_large)
            return message

        async def answer(message: Message) -> None:
            # Whoever read the body answers the failed read their own way (FastAPI: a vague 400);
            # the client is told the real reason instead.
            if not exceeded:
                await send(message)
            elif message["type"] == "http.response.start":
                await send_json(send, 413, {"detail": too_large})

        await self.app(scope, counted, answer)

    def _problem(self, scope: Scope) -> tuple[int, str] | None:
        declared = header(scope, b"content-length") or ""
        limit = self.limit_for(scope["method"], scope["path"])
        if declared.isdigit() and int(declared) > limit:
            return 413, f"the request body is larger than {limit:,} bytes"
        encoding = (header(scope, b"content-encoding") or "identity").strip().lower()
        if encoding != "identity":
            return 415, f"Content-Encoding {encoding!r} is not accepted; send the body uncompressed"
        query: bytes = scope.get("query_string", b"")
        try:
            unquote_to_bytes(query.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            return 400, "the query string is not valid UTF-8 once percent-decoded"
        return None


class RateLimit:
    """At most ``rate`` requests per client IP (a moving window), else 429 with ``Retry-After``.

    The counts live in this middleware's own memory storage, one per app: behind a proxy every
    client shares the proxy's address, so put the limit in the proxy there instead."""

    def __init__(self, app: ASGIApp, rate: str) -> None:
        self.app = app
        self.item: RateLimitItem = parse(rate)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        key = client[0] if client else "unknown"
        if self.limiter.hit(self.item, key):
            await self.app(scope, receive, send)
            return
        reset = self.limiter.get_window_stats(self.item, key).reset_time
        retry = max(1, math.ceil(reset - time.time()))
        detail = f"rate limit of {self.item} per client exceeded; retry in {retry} s"
        await send_json(send, 429, {"detail": detail}, {"Retry-After": str(retry)})


def install(app: Any, settings: Settings, metrics: Metrics, upload_body_limit: int) -> None:
    """Add the middleware to ``app`` (a Starlette/FastAPI app); the last added runs first."""

    def limit_for(method: str, path: str) -> int:
        if method == "POST" and path == "/documents":  # the route enforces the upload limit itself
            return upload_body_limit
        return settings.max_body_bytes

    app.add_middleware(RequestGuard, limit_for=limit_for)
    if settings.rate_limit:
        app.add_middleware(RateLimit, rate=settings.rate_limit)
    origins = settings.cors_origin_list()
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", REQUEST_ID_HEADER],
            expose_headers=[REQUEST_ID_HEADER, "Retry-After", "Location"],
        )
    app.add_middleware(RequestContext, metrics=metrics)
