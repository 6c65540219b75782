"""The HTTP API: an app factory whose lifespan loads the model and index once, and its routes.

No module-level state: everything a request needs hangs off ``app.state.service``, built by the
factory from the settings it is given. Errors raised in the core are translated here, and only
here, into 4xx/503 responses with a JSON ``detail`` that says what was wrong.

Writes (``POST /documents``, ``DELETE /documents/{doc_id}``, ``POST /index/rebuild``) need the
bearer token; their routes read the request body themselves, after the token is checked, so an
unauthenticated client is refused before its upload is read or parsed.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import threading
import time
import unicodedata
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from cachetools import LRUCache
from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Message

from qa import __version__
from qa.core import errors
from qa.core.config import SearchMode, Settings
from qa.core.errors import BuildInProgress, IndexError_, IndexWriteFailed, ModelLoadError, WriterBusy
from qa.core.protocols import Encoder
from qa.core.types import Document
from qa.encoders.sbert import SentenceTransformerEncoder
from qa.http import middleware
from qa.http.routes.web import add_web_routes
from qa.index.build import BuildSummary, build_index, build_lock, parameters_for
from qa.index.generations import current_generation, load_generation, older_generations
from qa.ingest import uploads as ingest
from qa.search.searcher import Ask, Citation, Hit, Searcher, SearchResult, answer_batch
from qa.service.batching import MicroBatcher
from qa.service.jobs import Job, WriteJobs
from qa.service.metrics import Metrics

log = logging.getLogger(__name__)

MAX_K = 50
BODY_SLACK = 64 * 1024  # room for the multipart envelope or JSON around a document, in bytes
# A request body may be twice the document limit (JSON escapes), plus the envelope; larger ones are
# refused while they are read, so a huge upload never sits in memory.
BODY_FACTOR = 2
BEARER = HTTPBearer(auto_error=False, description="The server's QA_API_TOKEN; needed for writes.")
# How each refusal raised in the core reads over HTTP; looked up along the exception's classes.
REFUSAL_STATUS: dict[type[Exception], int] = {
    errors.InvalidDocId: 422,
    errors.UnreadableDocument: 422,
    errors.TooLarge: 413,
    errors.UnsupportedContent: 415,
    errors.UnknownDocument: 404,
    errors.DuplicateContent: 409,
    errors.LastDocument: 409,
    WriterBusy: 409,
    BuildInProgress: 409,
    IndexWriteFailed: 507,
}
Model = TypeVar("Model", bound=BaseModel)
UNREADABLE_BODY = "the body is not valid JSON in UTF-8; send a JSON object as Content-Type: application/json"


class ErrorModel(BaseModel):
    detail: str = Field(description="What was wrong, and what to do about it.")


# Every refusal is {"detail": "..."}: documented on every route, 422 included, so clients and the
# schema-driven fuzz test see the shape that is actually sent.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorModel, "description": description}
    for status, description in {
        400: "Malformed request (a query string that is not UTF-8).",
        401: "Missing or wrong bearer token.",
        403: "Writes are disabled (no QA_API_TOKEN).",
        404: "No such document.",
        409: "Duplicate content, a write or build already running, or the last document.",
        413: "Request body or document too large.",
        415: "Content that is not what its type or suffix says, or a compressed body.",
        422: "Invalid parameters or body; the detail names them.",
        429: "Rate limit exceeded; see Retry-After.",
        503: "The index or model is not loaded yet.",
        507: "The index could not be written (disk full); nothing changed.",
    }.items()
}


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


class JobModel(BaseModel):
    id: str
    kind: str = Field(description="add, delete or rebuild.")
    state: str = Field(description="queued, running, done or failed.")
    progress: float = Field(description="0.0 to 1.0: passages embedded so far, of those to embed.")
    error: str | None
    generation: str | None = Field(None, description="The generation the job published, once done.")


class IndexInfo(BaseModel):
    generation: str
    documents: int
    passages: int
    model: str
    built_at: str
    job: JobModel | None = Field(None, description="The latest write job of this server.")


class NewDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")

    doc_id: str | None = Field(
        None, max_length=ingest.MAX_DOC_ID_CHARS, description="Path under the corpus, ending .md or .txt."
    )
    title: str | None = Field(None, max_length=500, description="Stored as front matter.")
    text: str = Field(description="The document's text, stored exactly as given.")


class RebuildRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    full: bool = Field(False, description="Re-embed every document, even unchanged ones.")


class WrittenDocument(BaseModel):
    doc_id: str
    generation: str
    passages: int = Field(description="Passages of this document in the generation.")


class DeletedDocument(BaseModel):
    doc_id: str
    generation: str


class RebuildAccepted(BaseModel):
    job: JobModel


DOCUMENT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": NewDocument.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "doc_id": {"type": "string", "description": "Defaults to the file's name."},
                    },
                }
            },
        },
    }
}
REBUILD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": False,
        "content": {"application/json": {"schema": RebuildRequest.model_json_schema()}},
    }
}


def open_local(settings: Settings, embedder: Encoder, name: str) -> Searcher:
    """The embedded default: generation ``name``, searched in this process."""
    return Searcher(
        load_generation(settings.index_dir, parameters_for(settings, embedder), name=name), embedder
    )


@dataclass
class Service:
    """What the routes share: settings, the model, the searcher over the served generation, and the
    write jobs (one at a time)."""

    settings: Settings
    embedder: Encoder | None = None
    searcher: Searcher | None = None
    load_error: str | None = None
    writes: WriteJobs = field(default_factory=WriteJobs)
    reload_lock: threading.Lock = field(default_factory=threading.Lock)
    metrics: Metrics = field(default_factory=Metrics)
    refused_generation: str | None = None  # the last generation that failed to load, not retried
    refused: dict[str, str] | None = None  # that generation and why, as /readyz shows it
    batcher: MicroBatcher[Ask, SearchResult] | None = None  # set while the app runs (lifespan)
    # (generation, question, k, mode) -> response; touched only on the event loop, so no lock
    answers: LRUCache[tuple[str, str, int, str], QueryResponse] | None = None

    def start_batching(self) -> None:
        """Answer concurrent questions together: one worker thread embeds each batch in one model
        call and searches it (call inside the event loop)."""
        embedder = self.embedder
        if embedder is None or self.batcher is not None:
            return
        settings = self.settings
        self.batcher = MicroBatcher(
            lambda asks: answer_batch(embedder, asks),
            max_batch=settings.batch_max,
            wait_seconds=settings.batch_wait_ms / 1000,
        )
        self.batcher.start()
        if settings.cache_size:
            self.answers = LRUCache(maxsize=settings.cache_size)

    async def search(self, ask: Ask) -> SearchResult:
        """The answer, computed in the next batch: one model call for the questions asked together."""
        if self.batcher is None:  # outside the app's lifespan: nothing to batch with
            return await run_in_threadpool(ask.searcher.search, ask.question, ask.k, ask.mode)
        return await self.batcher.submit(ask)

    # how a generation is opened for search: in process, or over Ray shards (qa.distributed)
    open_searcher: Callable[[Settings, Encoder, str], Searcher] = open_local

    def ready_searcher(self) -> Searcher:
        if self.searcher is None:
            raise HTTPException(503, self.load_error or "the index is still loading")
        return self.searcher

    def ready_embedder(self) -> Encoder:
        if self.embedder is None:
            raise HTTPException(503, self.load_error or "the model is still loading")
        return self.embedder

    def served_documents(self) -> Mapping[str, Document]:
        return self.searcher.generation.documents if self.searcher is not None else {}


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
    control = next(
        (char for char in stripped if unicodedata.category(char) == "Cc" and char not in "\t\n\r"), None
    )
    if control is not None:
        raise ValueError(f"the question contains the control character {control!r}; send plain text")
    return stripped


def load_service(service: Service) -> None:
    """Load the model and the served generation into ``service``; failures are kept, not raised."""
    try:
        if service.embedder is None:
            service.embedder = SentenceTransformerEncoder.from_settings(service.settings)
    except ModelLoadError as error:
        service.load_error = public_message(service.settings, str(error))
        log.error("not ready: %s", error)
        return
    reload_if_published(service)


def reload_if_published(service: Service) -> bool:
    """Swap to the generation ``CURRENT`` names if it is not the one served; True if swapped.

    The swap is one reference assignment: a query already running keeps the searcher it started
    with, so none fails. A generation that does not load is refused and the served one stays; with
    nothing served yet (start-up), the newest older generation that loads is served instead."""
    if service.embedder is None:
        return False
    settings = service.settings
    with service.reload_lock:  # the watcher and a write's own build must not swap out of order
        name = current_generation(settings.index_dir)
        served = service.searcher.generation.name if service.searcher is not None else None
        if name is None:  # nothing published: keep what is served, or say how to build one
            if served is None:
                service.load_error = public_message(
                    settings, f"no index in {settings.index_dir}. Run `qa index` to build one."
                )
            return False
        if name in (served, service.refused_generation):
            return False
        searcher = _load_or_refuse(service, name)
        if searcher is None and served is None:
            searcher = _fallback(service, name)
        if searcher is None:
            return False
        _serve(service, searcher)
        generation = searcher.generation
    log.info("serving generation %s", generation.name)
    return True


def public_message(settings: Settings, message: str) -> str:
    """``message`` without the server's folders: a response names files relative to the index."""
    for folder, label in ((settings.index_dir, "the index folder"), (settings.corpus_dir, "the corpus")):
        message = message.replace(f"{folder}/", "").replace(str(folder), label)
    return message


def _load_or_refuse(service: Service, name: str) -> Searcher | None:
    """A searcher over generation ``name``, or None after recording and logging why it was refused."""
    settings = service.settings
    assert service.embedder is not None
    try:
        return service.open_searcher(settings, service.embedder, name)
    except IndexError_ as error:
        service.refused_generation = name
        service.refused = {"generation": name, "problem": public_message(settings, str(error))}
        if service.searcher is None:
            service.load_error = service.refused["problem"]
        log.error("generation %s not loaded: %s", name, error)
        return None


def _fallback(service: Service, refused: str) -> Searcher | None:
    """A searcher over the newest generation older than ``refused`` that loads, or None."""
    settings = service.settings
    assert service.embedder is not None
    for name in older_generations(settings.index_dir, refused):
        try:
            searcher = service.open_searcher(settings, service.embedder, name)
        except IndexError_ as error:
            log.error("fallback generation %s not loaded either: %s", name, error)
            continue
        log.warning("generation %s refused; serving %s, the newest older one that loads", refused, name)
        return searcher
    return None


def _serve(service: Service, searcher: Searcher) -> None:
    service.searcher = searcher
    generation = searcher.generation
    service.load_error = None
    if service.refused is not None and generation.name > service.refused["generation"]:
        service.refused = None  # a newer generation replaced the refused one: nothing to report
    service.metrics.serve_generation(
        generation.name,
        str(generation.manifest.get("built_at")),
        len(generation.documents),
        len(generation.passages),
    )


async def watch_index(service: Service) -> None:
    """Poll the ``CURRENT`` pointer and hot-swap to each newly published generation."""
    while True:
        await asyncio.sleep(service.settings.reload_seconds)
        try:
            await run_in_threadpool(reload_if_published, service)
        except Exception:  # the watcher must outlive any one bad generation or file system hiccup
            log.exception("checking for a new index generation failed")


async def get_service(request: Request) -> Service:
    """The app's service. A coroutine, so FastAPI calls it on the event loop: a plain function
    dependency is run in the thread pool, a thread hop on every request."""
    service: Service = request.app.state.service
    return service


ServiceDep = Annotated[Service, Depends(get_service)]


async def require_writer(
    service: ServiceDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]
) -> Service:
    """The service, for a request that carries the write token; 403 when writes are off, else 401.

    The comparison takes constant time, and neither the expected nor the given token is ever put
    in a response or a log line."""
    token = service.settings.api_token
    expected = token.get_secret_value() if token is not None else ""
    if not expected:
        raise HTTPException(
            403,
            "writes are disabled on this server; set QA_API_TOKEN to enable them, then send "
            "Authorization: Bearer <that token>",
        )
    given = credentials.credentials if credentials is not None else ""
    if not hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
        problem = "wrong token" if given else "no bearer token"
        raise HTTPException(
            401,
            f"{problem}: send Authorization: Bearer <QA_API_TOKEN>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return service


WriterDep = Annotated[Service, Depends(require_writer)]


def refusal_status(error: Exception) -> int:
    return next(REFUSAL_STATUS[kind] for kind in type(error).__mro__ if kind in REFUSAL_STATUS)


def create_app(
    settings: Settings | None = None,
    embedder: Encoder | None = None,
    open_searcher: Callable[[Settings, Encoder, str], Searcher] = open_local,
) -> FastAPI:
    """Build the app; the model and index load in the lifespan, once per process."""
    service = Service(
        settings=(settings or Settings()).resolved(), embedder=embedder, open_searcher=open_searcher
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(load_service, service)
        service.start_batching()
        watcher = asyncio.create_task(watch_index(service))
        try:
            yield
        finally:
            watcher.cancel()
            if service.batcher is not None:
                await service.batcher.close()
                service.batcher = None

    app = FastAPI(
        title="qa",
        version=__version__,
        description="Questions answered from your documents, each passage cited to the exact characters.",
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
    )
    app.state.service = service

    middleware.install(app, service.settings, service.metrics, _upload_body_limit(service.settings))

    async def refused(request: Request, error: Exception) -> JSONResponse:
        detail = public_message(service.settings, str(error))
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
        return JSONResponse(status_code=422, content={"detail": "; ".join(problems) or "invalid request"})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        # FastAPI's own words for a body it cannot decode say nothing about what to fix
        detail = UNREADABLE_BODY if error.detail == "There was an error parsing the body" else error.detail
        return JSONResponse(status_code=error.status_code, content={"detail": detail}, headers=error.headers)

    _add_routes(app)
    _add_write_routes(app)
    add_web_routes(app)
    return app


def _json(response: QueryResponse) -> Response:
    """The response serialised once, by pydantic's own serialiser: returning the model instead
    makes FastAPI dump it, validate the dump against ``response_model`` and encode that again."""
    return Response(response.model_dump_json(), media_type="application/json")


async def _run_query(service: Service, question: str, k: int, mode: SearchMode | None) -> Response:
    """Answer on the event loop without blocking it: the question joins the next batch, which the
    batch worker thread embeds in one model call and then searches, and a question asked before of
    the same generation is answered from the cache."""
    started = time.perf_counter()
    searcher = service.ready_searcher()
    try:
        cleaned = clean_question(question, service.settings.max_question_chars)
    except ValueError as error:
        raise HTTPException(422, str(error)) from error
    chosen: SearchMode = mode or service.settings.default_mode
    key = (searcher.generation.name, cleaned, k, chosen)
    cached = service.answers.get(key) if service.answers is not None else None
    if cached is not None:
        return _json(cached.model_copy(update={"took_ms": round((time.perf_counter() - started) * 1000, 2)}))
    result = await service.search(Ask(searcher, cleaned, k, chosen))
    response = to_response(cleaned, chosen, result, started)
    if service.answers is not None:
        service.answers[key] = response
    return _json(response)


def _add_routes(app: FastAPI) -> None:
    @app.get("/query", response_model=QueryResponse, tags=["query"])
    async def query_get(
        service: ServiceDep,
        q: Annotated[str, Query(description="The question.", max_length=100_000)],
        k: Annotated[int, Query(ge=1, le=MAX_K, description="How many passages to return.")] = 5,
        mode: Annotated[SearchMode | None, Query(description="hybrid, dense or keyword.")] = None,
    ) -> Response:
        return await _run_query(service, q, k, mode)

    @app.post("/query", response_model=QueryResponse, tags=["query"])
    async def query_post(service: ServiceDep, body: QueryRequest) -> Response:
        return await _run_query(service, body.question, body.k, body.mode)

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
            job=_job_model(service.writes.latest()),
        )

    @app.get("/metrics", tags=["health"], response_class=PlainTextResponse)
    def metrics(service: ServiceDep) -> PlainTextResponse:
        """Prometheus metrics: requests and latency by route and status, the served index, builds."""
        return PlainTextResponse(service.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    def readyz(service: ServiceDep) -> JSONResponse:
        if service.searcher is None:
            return JSONResponse(
                status_code=503, content={"status": "not ready", "detail": service.load_error or "loading"}
            )
        body = {"status": "ready", "generation": service.searcher.generation.name}
        return JSONResponse(content={**body, "refused": service.refused} if service.refused else body)


def _upload_body_limit(settings: Settings) -> int:
    return BODY_FACTOR * settings.max_upload_bytes + BODY_SLACK


def _job_model(snapshot: dict[str, Any] | None) -> JobModel | None:
    return JobModel(**snapshot) if snapshot is not None else None


def _limited(request: Request, limit: int) -> Request:
    """The request, with a body that raises ``TooLarge`` once more than ``limit`` bytes arrive."""
    declared = request.headers.get("content-length", "")
    too_large = errors.TooLarge(f"the request body is larger than {limit:,} bytes")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    received = 0

    async def receive() -> Message:
        nonlocal received
        message = await request.receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise too_large
        return message

    return Request(request.scope, receive)


def _validated(model: type[Model], raw: bytes) -> Model:
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        raise RequestValidationError(error.errors()) from error


async def _upload(request: Request, limit: int) -> tuple[str, bytes]:
    """(doc_id, bytes) from a multipart upload; reads at most one byte past ``limit``."""
    async with request.form(max_files=1, max_fields=8) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise HTTPException(422, "file: upload the document in the multipart field 'file'")
        doc_id = form.get("doc_id")
        data = await upload.read(limit + 1)
        return ingest.upload_doc_id(upload.filename, doc_id if isinstance(doc_id, str) else None), data


async def _posted_document(request: Request, settings: Settings) -> tuple[str, bytes]:
    """(doc_id, bytes) of the document a POST /documents carries, as JSON or as a file upload."""
    body = _limited(request, _upload_body_limit(settings))
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "application/json":
        posted = _validated(NewDocument, await body.body())
        return ingest.from_json(posted.doc_id, posted.title, posted.text)
    if media_type == "multipart/form-data":
        return await _upload(body, settings.max_upload_bytes)
    raise errors.UnsupportedContent(
        'send the document as application/json ({"text": "..."}) or as multipart/form-data (field "file")'
    )


def _refuse_if_building(settings: Settings) -> None:
    """Refuse a write before it touches the corpus while another process builds (BuildInProgress)."""
    with build_lock(settings.index_dir):
        pass


def _rebuild(service: Service, embedder: Encoder, job: Job, full: bool = False) -> BuildSummary:
    """Build the corpus as the job (the caller holds the build lock), then serve the new
    generation at once (no wait for the watcher)."""
    summary = build_index(service.settings, embedder, full=full, progress=job.report, locked=True)
    service.metrics.builds.observe(summary.seconds)
    job.update(generation=summary.generation)
    reload_if_published(service)
    return summary


def _change_and_rebuild(service: Service, kind: str, change: Callable[[], ingest.Change]) -> BuildSummary:
    """Claim the write slot, change one corpus file, rebuild; undo the change if the build fails."""
    embedder = service.ready_embedder()

    def work(job: Job) -> BuildSummary:
        with build_lock(service.settings.index_dir):  # no other build sees the corpus mid-change
            applied = change()
            try:
                return _rebuild(service, embedder, job)
            except BaseException:
                applied.undo()
                raise

    job = service.writes.claim(kind, check=lambda: _refuse_if_building(service.settings))
    return service.writes.run(job, work)


def _written(service: Service, doc_id: str, generation: str) -> WrittenDocument:
    searcher = service.searcher
    passages = len(searcher.generation.rows_of_doc.get(doc_id, [])) if searcher is not None else 0
    return WrittenDocument(doc_id=doc_id, generation=generation, passages=passages)


def _write_document(service: Service, doc_id: str, data: bytes) -> tuple[WrittenDocument, bool]:
    """Store and index one document; (what was written, whether its doc_id is new).

    Posting the very bytes already stored and served under ``doc_id`` changes nothing: no build."""
    searcher = service.searcher
    served = searcher.generation.documents if searcher is not None else {}
    settings = service.settings
    prepared = ingest.prepare(settings.corpus_dir, doc_id, data, settings.max_upload_bytes, served)
    if searcher is not None and ingest.unchanged(prepared, served):
        return _written(service, doc_id, searcher.generation.name), False
    is_new = not prepared.path.exists()
    summary = _change_and_rebuild(service, "add", lambda: ingest.store(prepared))
    return _written(service, doc_id, summary.generation), is_new


def _delete_document(service: Service, doc_id: str) -> DeletedDocument:
    path = ingest.removable(service.settings.corpus_dir, doc_id, service.served_documents())
    summary = _change_and_rebuild(service, "delete", lambda: ingest.remove(path))
    return DeletedDocument(doc_id=doc_id, generation=summary.generation)


def _start_rebuild(service: Service, full: bool) -> Job:
    embedder = service.ready_embedder()
    job = service.writes.claim("rebuild", check=lambda: _refuse_if_building(service.settings))

    def work(running: Job) -> BuildSummary:
        with build_lock(service.settings.index_dir):
            return _rebuild(service, embedder, running, full)

    service.writes.run_in_background(job, work)
    return job


def _add_write_routes(app: FastAPI) -> None:
    @app.post(
        "/documents",
        status_code=201,
        response_model=WrittenDocument,
        tags=["write"],
        openapi_extra=DOCUMENT_BODY,
        responses={200: {"description": "An existing doc_id replaced (or posted again unchanged)."}},
    )
    async def add_document(service: WriterDep, request: Request, response: Response) -> WrittenDocument:
        """Add a document (201) or replace the one stored under the same doc_id (200), then index it."""
        doc_id, data = await _posted_document(request, service.settings)
        written, is_new = await run_in_threadpool(_write_document, service, doc_id, data)
        if is_new:
            response.headers["Location"] = f"/documents/{quote(written.doc_id)}"
        else:
            response.status_code = 200
        return written

    @app.delete("/documents/{doc_id:path}", response_model=DeletedDocument, tags=["write"])
    def delete_document(service: WriterDep, doc_id: str) -> DeletedDocument:
        """Remove a document from the corpus and the index."""
        return _delete_document(service, doc_id)

    @app.post(
        "/index/rebuild",
        status_code=202,
        response_model=RebuildAccepted,
        tags=["write"],
        openapi_extra=REBUILD_BODY,
    )
    async def rebuild_index(service: WriterDep, request: Request) -> RebuildAccepted:
        """Rebuild the index from the corpus in the background; follow the job in GET /index."""
        raw = await _limited(request, BODY_SLACK).body()
        options = _validated(RebuildRequest, raw) if raw.strip() else RebuildRequest()
        job = _start_rebuild(service, options.full)
        return RebuildAccepted(job=JobModel(**job.snapshot()))
