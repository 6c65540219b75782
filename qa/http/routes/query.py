"""GET and POST /query: a question to passages and an answer."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query, Response

from qa.core.config import SearchMode
from qa.http.deps import EngineDep
from qa.http.schemas import MAX_K, QueryRequest, QueryResponse, to_response
from qa.service.engine import Engine

router = APIRouter(tags=["query"])


def _json(response: QueryResponse) -> Response:
    """The response serialised once, by pydantic's own serialiser: returning the model instead
    makes FastAPI dump it, validate the dump against ``response_model`` and encode that again."""
    return Response(response.model_dump_json(), media_type="application/json")


async def _run_query(engine: Engine, question: str, k: int, mode: SearchMode | None) -> Response:
    started = time.perf_counter()
    cleaned, chosen, result = await engine.ask_async(question, k, mode)
    return _json(to_response(cleaned, chosen, result, started))


@router.get("/query", response_model=QueryResponse)
async def query_get(
    engine: EngineDep,
    q: Annotated[str, Query(description="The question.", max_length=100_000)],
    k: Annotated[int, Query(ge=1, le=MAX_K, description="How many passages to return.")] = 5,
    mode: Annotated[SearchMode | None, Query(description="hybrid, dense or keyword.")] = None,
) -> Response:
    return await _run_query(engine, q, k, mode)


@router.post("/query", response_model=QueryResponse)
async def query_post(engine: EngineDep, body: QueryRequest) -> Response:
    return await _run_query(engine, body.question, body.k, body.mode)
