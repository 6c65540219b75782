"""The HTTP edge: an app factory whose lifespan loads the Engine once, its error handlers, its routes.

No module-level state: everything a request needs hangs off ``app.state.engine``, built by the
factory from the settings it is given. Errors raised in the core are translated here, and only
here, into 4xx/503 responses with a JSON ``detail`` that says what was wrong.

Writes (``POST /documents``, ``DELETE /documents/{doc_id}``, ``POST /index/rebuild``) need the
bearer token; their routes read the request body themselves, after the token is checked, so an
unauthenticated client is refused before its upload is read or parsed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from qa import __version__
from qa.core import errors
from qa.core.config import Settings
from qa.core.protocols import Encoder
from qa.http import middleware
from qa.http.bodies import upload_body_limit
from qa.http.routes import documents, index, operations, query, web
from qa.http.schemas import ERROR_RESPONSES
from qa.service.engine import Engine, SearcherFactory, open_local
from qa.service.lifecycle import public_message, watch_index

# How each refusal raised in the core reads over HTTP; looked up along the exception's classes.
REFUSAL_STATUS: dict[type[Exception], int] = {
    errors.InvalidQuestion: 422,
    errors.InvalidFilter: 422,
    errors.InvalidDocId: 422,
    errors.UnreadableDocument: 422,
    errors.TooLarge: 413,
    errors.UnsupportedContent: 415,
    errors.UnknownDocument: 404,
    errors.DuplicateContent: 409,
    errors.LastDocument: 409,
    errors.WriterBusy: 409,
    errors.BuildInProgress: 409,
    errors.IndexWriteFailed: 507,
    errors.NotReady: 503,
}
UNREADABLE_BODY = "the body is not valid JSON in UTF-8; send a JSON object as Content-Type: application/json"


def encodable(detail: str) -> str:
    """``detail`` as UTF-8 can carry it: a lone surrogate a client sent, echoed in a message (a
    field's name, a doc_id), is written as its escape rather than failing the response."""
    return detail.encode("utf-8", "backslashreplace").decode("utf-8")


def refusal_status(error: Exception) -> int:
    return next(REFUSAL_STATUS[kind] for kind in type(error).__mro__ if kind in REFUSAL_STATUS)


def create_app(
    settings: Settings | None = None,
    encoder: Encoder | None = None,
    open_searcher: SearcherFactory = open_local,
) -> FastAPI:
    """Build the app; the model and index load in the lifespan, once per process."""
    engine = Engine(
        settings=(settings or Settings()).resolved(), encoder=encoder, open_searcher=open_searcher
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(engine.load)
        engine.start_batching()
        watcher = asyncio.create_task(watch_index(engine))
        try:
            yield
        finally:
            watcher.cancel()
            await engine.stop_batching()
            engine.stop_merging()

    app = FastAPI(
        title="qa",
        version=__version__,
        description="Questions answered from your documents, each passage cited to the exact characters.",
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
    )
    app.state.engine = engine
    for router in (query.router, documents.router, index.router, operations.router):
        app.include_router(router)
    # innermost, so every guard, limit, id and metric below still applies to what it answers
    app.add_middleware(
        query.PlainQuery,
        engine=engine,
        route=query.get_query_route(),
        handlers=app.exception_handlers,
    )
    middleware.install(app, engine.settings, engine.metrics, upload_body_limit(engine.settings))
    _add_error_handlers(app, engine)
    web.add_web_routes(app)
    return app


def _add_error_handlers(app: FastAPI, engine: Engine) -> None:
    async def refused(request: Request, error: Exception) -> JSONResponse:
        detail = encodable(public_message(engine.settings, str(error)))
        return JSONResponse(status_code=refusal_status(error), content={"detail": detail})

    for kind in REFUSAL_STATUS:
        app.add_exception_handler(kind, refused)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = []
        for item in error.errors():
            where = ".".join(str(part) for part in item.get("loc", ()) if part not in ("query", "body"))
            message = str(item.get("msg", "invalid")).removeprefix("Value error, ")
            if not where and item.get("type") == "model_attributes_type":  # a body that is not JSON
                message = "the body must be a JSON object sent as Content-Type: application/json"
            problems.append(f"{where}: {message}" if where else message)
        detail = encodable("; ".join(problems) or "invalid request")
        return JSONResponse(status_code=422, content={"detail": detail})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        # FastAPI's own words for a body it cannot decode say nothing about what to fix
        detail = UNREADABLE_BODY if error.detail == "There was an error parsing the body" else error.detail
        detail = encodable(detail) if isinstance(detail, str) else detail
        return JSONResponse(status_code=error.status_code, content={"detail": detail}, headers=error.headers)
