"""GET and POST /query: a question to passages and an answer, optionally of some documents only."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from qa.core.config import SearchMode
from qa.core.errors import InvalidFilter
from qa.core.filters import Filter, make_filter
from qa.http.deps import EngineDep
from qa.http.schemas import DOC_HELP, MAX_K, QueryRequest, QueryResponse, to_response
from qa.service.engine import Engine

router = APIRouter(tags=["query"])
QUERY_PARAMETERS = frozenset({"q", "k", "mode", "doc"})
META_PREFIX = "meta."


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
    q: Annotated[str, Query(description="The question.", max_length=100_000)],
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
