"""GET and POST /query: a question to passages and an answer, optionally of some documents only."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Annotated, Any, get_args
from urllib.parse import parse_qsl

from fastapi import APIRouter, Query, Request, Response
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from qa.core.config import SearchMode
from qa.core.errors import InvalidFilter
from qa.core.filters import Filter, make_filter
from qa.http.deps import EngineDep
from qa.http.schemas import DOC_HELP, MAX_K, QueryRequest, QueryResponse, to_response
from qa.service.engine import Engine

router = APIRouter(tags=["query"])
QUERY_PARAMETERS = frozenset({"q", "k", "mode", "doc"})
META_PREFIX = "meta."
MAX_QUESTION_PARAMETER = 100_000  # characters of `q` the route accepts (a longer one is a 422)
MODES = frozenset(get_args(SearchMode))
PLAIN_QUESTION = "qa.plain_question"  # where PlainQuery hands (q, k, mode) to its answering app


def _json(response: QueryResponse) -> Response:
    """The response serialised once, by pydantic's own serialiser: returning the model instead
    makes FastAPI dump it, validate the dump against ``response_model`` and encode that again."""
    return Response(response.model_dump_json(), media_type="application/json")


async def _run_query(
    engine: Engine, question: str, k: int, mode: SearchMode | None, only: Filter | None
) -> Response:
    started = time.perf_counter()
    cleaned, chosen, result = await engine.ask_async(question, k, mode, only)
    return _json(to_response(cleaned, chosen, result, started))


def _query_filter(request: Request, doc: list[str]) -> Filter | None:
    """The filter a GET's parameters give: ``doc`` globs and ``meta.KEY=VALUE`` fields; a
    parameter /query does not know is refused rather than ignored (it would filter nothing)."""
    meta = []
    for name, value in request.query_params.multi_items():
        if name.startswith(META_PREFIX):
            meta.append((name.removeprefix(META_PREFIX), value))
        elif name not in QUERY_PARAMETERS:
            raise InvalidFilter(
                f"unknown parameter {name!r}; /query takes q, k, mode, doc=GLOB (repeatable) "
                "and meta.KEY=VALUE"
            )
    return make_filter(doc, meta)


@router.get("/query", response_model=QueryResponse)
async def query_get(
    request: Request,
    engine: EngineDep,
    q: Annotated[str, Query(description="The question.", max_length=MAX_QUESTION_PARAMETER)],
    k: Annotated[int, Query(ge=1, le=MAX_K, description="How many passages to return.")] = 5,
    mode: Annotated[SearchMode | None, Query(description="hybrid, dense or keyword.")] = None,
    doc: Annotated[list[str] | None, Query(description=f"{DOC_HELP} Repeatable.")] = None,
) -> Response:
    """Also ``meta.KEY=VALUE`` parameters: only documents whose front-matter field KEY (or
    ``title``) is VALUE (a glob when it holds ``*``); several keys must all match."""
    return await _run_query(engine, q, k, mode, _query_filter(request, doc or []))


@router.post("/query", response_model=QueryResponse)
async def query_post(engine: EngineDep, body: QueryRequest) -> Response:
    return await _run_query(engine, body.question, body.k, body.mode, make_filter(body.doc, body.meta))


def plain_query(query_string: bytes) -> tuple[str, int, SearchMode | None] | None:
    """(q, k, mode) of a GET /query whose parameters need no validation to read: ``q`` once,
    ``k`` (1 to MAX_K, digits) and ``mode`` (a mode's name) at most once each, nothing else;
    None for anything else, which the route reads and validates. Parsed as Starlette parses."""
    found = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    given = dict(found)
    if len(given) != len(found) or "q" not in given or not given.keys() <= {"q", "k", "mode"}:
        return None
    q, k, mode = given["q"], given.get("k", "5"), given.get("mode")
    if len(q) > MAX_QUESTION_PARAMETER or not (k.isascii() and k.isdigit() and 1 <= int(k) <= MAX_K):
        return None
    if mode is not None and mode not in MODES:
        return None
    return q, int(k), mode  # type: ignore[return-value]


class PlainQuery:
    """ASGI middleware, innermost: a GET /query with plain parameters (:func:`plain_query`) is
    answered here with the route's own engine call and response, without FastAPI's per-request
    parameter solving and dependency resolution (most of the framework's cost of a request, a
    fifth of a millisecond of CPU). The engine is asked once: a question it refuses is answered
    through Starlette's own ``ExceptionMiddleware`` with the app's handlers, as the route's
    refusal would be, and an error no handler takes goes up to the last-resort 500. Anything else
    goes on to the route, which validates it and answers or refuses as documented."""

    def __init__(
        self, app: ASGIApp, engine: Engine, route: Any, handlers: Mapping[Any, Callable[..., Any]]
    ) -> None:
        self.app = app
        self.engine = engine
        self.route = route  # the GET /query route, which metrics and access logs name
        self.handlers = handlers  # the app's exception handlers (filled in after this is added)
        self.answering: ASGIApp | None = None  # made at the first plain GET, when they are all in

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        asked = None
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] == "/query":
            asked = plain_query(scope["query_string"])
        if asked is None:
            await self.app(scope, receive, send)
            return
        if self.answering is None:
            # as Starlette builds the app's own: a 500 or Exception handler is the server error
            # middleware's, outside, so that an unexpected error is logged and answered there
            handlers = {key: h for key, h in self.handlers.items() if key not in (500, Exception)}
            self.answering = ExceptionMiddleware(self._answer, handlers=handlers)
        scope["route"] = self.route
        scope[PLAIN_QUESTION] = asked
        await self.answering(scope, receive, send)

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        question, k, mode = scope[PLAIN_QUESTION]
        cleaned, chosen, result = await self.engine.ask_async(question, k, mode, None)
        await _json(to_response(cleaned, chosen, result, started))(scope, receive, send)


def get_query_route() -> Any:
    """The GET /query route (what :class:`PlainQuery` names in metrics and logs)."""
    return next(
        route
        for route in router.routes
        if getattr(route, "path", None) == "/query" and "GET" in getattr(route, "methods", ())
    )
