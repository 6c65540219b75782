"""Health, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST

from qa.http.deps import EngineDep

router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(engine: EngineDep) -> PlainTextResponse:
    """Prometheus metrics: requests and latency by route and status, the served index, builds."""
    return PlainTextResponse(engine.metrics.render(), media_type=CONTENT_TYPE_LATEST)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(engine: EngineDep) -> JSONResponse:
    if engine.searcher is None:
        return JSONResponse(
            status_code=503, content={"status": "not ready", "detail": engine.load_error or "loading"}
        )
    generation = engine.searcher.generation
    if not generation.passages:  # an index of nothing answers every question with nothing
        detail = f"the index {generation.name} holds no passages; add documents and rebuild it"
        return JSONResponse(status_code=503, content={"status": "not ready", "detail": detail})
    body = {"status": "ready", "generation": generation.name}
    return JSONResponse(content={**body, "refused": engine.refused} if engine.refused else body)
