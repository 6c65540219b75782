"""The HTTP API: an app factory whose lifespan loads the model and index once, and its routes.

No module-level state: everything a request needs hangs off ``app.state.service``, built by the
factory from the settings it is given. Errors raised in the core are translated here, and only
here, into 4xx/503 responses with a JSON ``detail`` that says what was wrong.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from qa import __version__
from qa.config import SearchMode, Settings
from qa.embedding import Embedder, ModelLoadError, SentenceTransformerEmbedder
from qa.indexer import parameters_for
from qa.retrieval import Citation, Hit, Searcher, SearchResult
from qa.store import IndexError_, current_generation, load_generation

log = logging.getLogger(__name__)

MAX_K = 50


class CitationModel(BaseModel):
    doc_id: str
    title: str
    start: int = Field(description="Offset of the first cited character in the document text.")
    end: int = Field(description="Offset just past the last cited character.")
    line_start: int
    line_end: int
    page: int | None = Field(None, description="PDF page of the start, for PDF documents.")


class PassageModel(BaseModel):
    rank: int
    score: float
    text: str
    kind: str = Field(description="'body' for document content, 'metadata' for byline, date or author bio.")
    citation: CitationModel


class AnswerModel(BaseModel):
    text: str
    score: float
    citation: CitationModel


class QueryResponse(BaseModel):
    query: str
    mode: SearchMode
    took_ms: float
    answerable: bool
    answer: AnswerModel | None
    passages: list[PassageModel]


class QueryRequest(BaseModel):
    question: str = Field(description="The question, 1 to 2,000 characters.")
    k: int = Field(5, ge=1, le=MAX_K, description="How many passages to return.")
    mode: SearchMode | None = Field(None, description="hybrid (default), dense or keyword.")


class DocumentModel(BaseModel):
    doc_id: str
    title: str
    text: str
    metadata: dict[str, Any]


class DocumentSummary(BaseModel):
    doc_id: str
    title: str
    characters: int
    passages: int


class IndexInfo(BaseModel):
    generation: str
    documents: int
    passages: int
    model: str
    built_at: str
    job: dict[str, Any] | None = None


@dataclass
class Service:
    """What the routes share: settings, the model, and the searcher over the served generation."""

    settings: Settings
    embedder: Embedder | None = None
    searcher: Searcher | None = None
    load_error: str | None = None

    def ready_searcher(self) -> Searcher:
        if self.searcher is None:
            raise HTTPException(503, self.load_error or "the index is still loading")
        return self.searcher


def _citation(citation: Citation) -> CitationModel:
    return CitationModel(**citation.__dict__)


def _passage(rank: int, hit: Hit) -> PassageModel:
    return PassageModel(
        rank=rank,
        score=round(hit.score, 6),
        text=hit.passage.text,
        kind=hit.passage.kind,
        citation=_citation(hit.citation),
    )


def to_response(question: str, mode: SearchMode, result: SearchResult, started: float) -> QueryResponse:
    answer = result.answer
    return QueryResponse(
        query=question,
        mode=mode,
        took_ms=round((time.perf_counter() - started) * 1000, 2),
        answerable=result.answerable,
        answer=AnswerModel(
            text=answer.text, score=round(answer.score, 6), citation=_citation(answer.citation)
        )
        if answer
        else None,
        passages=[_passage(rank, hit) for rank, hit in enumerate(result.hits, start=1)],
    )


def clean_question(question: str, limit: int) -> str:
    """The question with surrounding whitespace removed; ValueError says what is wrong with it."""
    stripped = question.strip()
    if not stripped:
        raise ValueError("the question is empty; ask something, e.g. q=what+did+UNIDO+announce%3F")
    if len(question) > limit:
        raise ValueError(f"the question is {len(question)} characters long; the limit is {limit}")
    if "\x00" in question:
        raise ValueError("the question contains a NUL character")
    return stripped


def load_service(service: Service) -> None:
    """Load the model and the served generation into ``service``; failures are kept, not raised."""
    try:
        if service.embedder is None:
            service.embedder = SentenceTransformerEmbedder(service.settings.model)
    except ModelLoadError as error:
        service.load_error = str(error)
        log.error("not ready: %s", error)
        return
    reload_if_published(service)


def reload_if_published(service: Service) -> bool:
    """Swap to the generation ``CURRENT`` names if it is not the one served; True if swapped.

    The swap is one reference assignment: a query already running keeps the searcher it started
    with, so none fails. A generation that does not load is refused and the served one stays."""
    if service.embedder is None:
        return False
    settings = service.settings
    name = current_generation(settings.index_dir)
    if service.searcher is not None and name == service.searcher.generation.name:
        return False
    try:
        generation = load_generation(settings.index_dir, parameters_for(settings, service.embedder))
    except IndexError_ as error:
        if service.searcher is None:
            service.load_error = str(error)
        log.error("generation %s not loaded: %s", name, error)
        return False
    service.searcher = Searcher(generation, service.embedder)
    service.load_error = None
    log.info("serving generation %s", generation.name)
    return True


async def watch_index(service: Service) -> None:
    """Poll the ``CURRENT`` pointer and hot-swap to each newly published generation."""
    while True:
        await asyncio.sleep(service.settings.reload_seconds)
        await run_in_threadpool(reload_if_published, service)


def get_service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


ServiceDep = Annotated[Service, Depends(get_service)]


def create_app(settings: Settings | None = None, embedder: Embedder | None = None) -> FastAPI:
    """Build the app; the model and index load in the lifespan, once per process."""
    service = Service(settings=(settings or Settings()).resolved(), embedder=embedder)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(load_service, service)
        watcher = asyncio.create_task(watch_index(service))
        try:
            yield
        finally:
            watcher.cancel()

    app = FastAPI(
        title="qa",
        version=__version__,
        description="Questions answered from your documents, each passage cited to the exact characters.",
        lifespan=lifespan,
    )
    app.state.service = service

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = []
        for item in error.errors():
            where = ".".join(str(part) for part in item.get("loc", ()) if part not in ("query", "body"))
            message = str(item.get("msg", "invalid")).removeprefix("Value error, ")
            problems.append(f"{where}: {message}" if where else message)
        return JSONResponse(status_code=422, content={"detail": "; ".join(problems) or "invalid request"})

    _add_routes(app)
    return app


def _run_query(service: Service, question: str, k: int, mode: SearchMode | None) -> QueryResponse:
    started = time.perf_counter()
    searcher = service.ready_searcher()
    try:
        cleaned = clean_question(question, service.settings.max_question_chars)
    except ValueError as error:
        raise HTTPException(422, str(error)) from error
    chosen: SearchMode = mode or service.settings.default_mode
    result = searcher.search(cleaned, k, chosen)
    return to_response(cleaned, chosen, result, started)


def _add_routes(app: FastAPI) -> None:
    @app.get("/query", response_model=QueryResponse, tags=["query"])
    def query_get(
        service: ServiceDep,
        q: Annotated[str, Query(description="The question.", max_length=100_000)],
        k: Annotated[int, Query(ge=1, le=MAX_K, description="How many passages to return.")] = 5,
        mode: Annotated[SearchMode | None, Query(description="hybrid, dense or keyword.")] = None,
    ) -> QueryResponse:
        return _run_query(service, q, k, mode)

    @app.post("/query", response_model=QueryResponse, tags=["query"])
    def query_post(service: ServiceDep, body: QueryRequest) -> QueryResponse:
        return _run_query(service, body.question, body.k, body.mode)

    @app.get("/documents", response_model=list[DocumentSummary], tags=["documents"])
    def list_documents(service: ServiceDep) -> list[DocumentSummary]:
        generation = service.ready_searcher().generation
        return [
            DocumentSummary(
                doc_id=doc.doc_id,
                title=doc.title,
                characters=len(doc.text),
                passages=len(generation.rows_of_doc.get(doc.doc_id, [])),
            )
            for doc in generation.documents.values()
        ]

    @app.get("/documents/{doc_id:path}", response_model=DocumentModel, tags=["documents"])
    def get_document(service: ServiceDep, doc_id: str) -> DocumentModel:
        document = service.ready_searcher().generation.documents.get(doc_id)
        if document is None:
            raise HTTPException(404, f"no document {doc_id!r}; GET /documents lists them")
        return DocumentModel(
            doc_id=document.doc_id, title=document.title, text=document.text, metadata=document.metadata
        )

    @app.get("/index", response_model=IndexInfo, tags=["index"])
    def index_info(service: ServiceDep) -> IndexInfo:
        generation = service.ready_searcher().generation
        manifest = generation.manifest
        return IndexInfo(
            generation=generation.name,
            documents=manifest["documents"],
            passages=manifest["passages"],
            model=manifest["model"],
            built_at=manifest["built_at"],
            job=None,
        )

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    def readyz(service: ServiceDep) -> JSONResponse:
        if service.searcher is None:
            return JSONResponse(
                status_code=503, content={"status": "not ready", "detail": service.load_error or "loading"}
            )
        return JSONResponse(content={"status": "ready", "generation": service.searcher.generation.name})
