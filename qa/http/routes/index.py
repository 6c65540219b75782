"""GET /index and POST /index/rebuild: the served generation, and a rebuild in the background."""

from __future__ import annotations

from fastapi import APIRouter, Request

from qa.http.bodies import BODY_SLACK, limited, validated
from qa.http.deps import EngineDep, WriterDep
from qa.http.schemas import REBUILD_BODY, IndexInfo, JobModel, RebuildAccepted, RebuildRequest, job_model

router = APIRouter()


@router.get("/index", response_model=IndexInfo, tags=["index"])
def index_info(engine: EngineDep) -> IndexInfo:
    info = engine.index_info()
    return IndexInfo(**{**info, "job": job_model(info["job"])})


@router.post(
    "/index/rebuild",
    status_code=202,
    response_model=RebuildAccepted,
    tags=["write"],
    openapi_extra=REBUILD_BODY,
)
async def rebuild_index(engine: WriterDep, request: Request) -> RebuildAccepted:
    """Rebuild the index from the corpus in the background; follow the job in GET /index."""
    raw = await limited(request, BODY_SLACK).body()
    options = validated(RebuildRequest, raw) if raw.strip() else RebuildRequest()
    job = engine.rebuild(options.full)
    return RebuildAccepted(job=JobModel(**job.snapshot()))
