"""The HTTP schemas: request and response bodies, the error shape, and SearchResult to JSON.

Every response body is one of these pydantic models, built from the core's dataclasses
(``qa.core.types``) by the functions at the end, so the Python API and HTTP say the same things.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from qa.core.config import SearchMode
from qa.core.types import Citation, Document, Hit, SearchResult
from qa.ingest.uploads import MAX_DOC_ID_CHARS

MAX_K = 50


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
    page: int | None = Field(
        None,
        description="Page of the start, for PDF documents, plain text paged by form feeds and "
        "PowerPoint decks (the slide) and Excel workbooks (the sheet).",
    )


class PassageModel(BaseModel):
    rank: int
    score: float
    text: str
    kind: str = Field(
        description="'body' for document content, 'code' and 'table' for those of a structured document, "
        "'metadata' for byline, date or author bio."
    )
    readable: str = Field(
        "",
        description="The text as a reader should see it: `text` with its markup (backticks, emphasis, "
        "link targets, tags, code fences), a PDF's or a plain text's page furniture, or a terminal's "
        "escape sequences replaced by spaces (a PDF's words broken at a line end joined), the same "
        "length, so citation offsets apply "
        "to it as well; code is kept as written. Given whatever the kind (a `code` passage is often mostly "
        "prose); empty when it is `text` itself (plain text, code without markup).",
    )
    citation: CitationModel


class AnswerModel(BaseModel):
    text: str
    readable: str = Field(
        "",
        description="The answer with its markup blanked out, as its passage's `readable` shows it "
        "(the same length as `text`, so offsets hold), a block it carries past its passage "
        "included; empty when it is `text` itself.",
    )
    score: float = Field(description="The reader's confidence (kept under its older name).")
    confidence: float = Field(description="Calibrated probability that the sentence answers the question.")
    citation: CitationModel


class QueryResponse(BaseModel):
    query: str
    mode: SearchMode
    took_ms: float
    answerable: bool
    answer: AnswerModel | None
    passages: list[PassageModel]
    message: str | None = Field(
        None,
        description="Why nothing was searched (no document matches the `doc`/`meta` filter), or why "
        "no answer sentence is given (a single term, which asks no question).",
    )


def unpaired_surrogate(text: str) -> str | None:
    """Where ``text`` holds a lone UTF-16 surrogate (a JSON ``\\ud800`` escape without its pair,
    which no UTF-8 can carry), said as ``U+D800 at character 8``; None when it holds none."""
    at = next((i for i, char in enumerate(text) if "\ud800" <= char <= "\udfff"), None)
    return None if at is None else f"U+{ord(text[at]):04X} at character {at + 1}"


def surrogate_in(value: Any, where: str = "") -> str | None:
    """The first string of a parsed JSON value, field names included, holding a lone surrogate,
    said with the field's path (``meta.topic``, ``doc[1]``); None when there is none."""
    if isinstance(value, str):
        found = unpaired_surrogate(value)
        return f"{where} contains an unpaired surrogate ({found})" if found else None
    items = enumerate(value) if isinstance(value, list) else value.items() if isinstance(value, dict) else ()
    for key, item in items:
        if isinstance(key, str) and (found := unpaired_surrogate(key)):
            return f"a field name{f' in {where}' if where else ''} contains an unpaired surrogate ({found})"
        path = f"{where}[{key}]" if isinstance(key, int) else f"{where}.{key}" if where else key
        if found := surrogate_in(item, path):
            return found
    return None


class TextBody(BaseModel):
    """A JSON request body: no unknown fields, and no lone surrogate in any string of it (field
    names included), refused naming the field before anything reads, echoes or encodes it."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_unpaired_surrogates(cls, data: Any) -> Any:
        if isinstance(data, dict) and (found := surrogate_in(data)):
            raise ValueError(
                f"{found}; send valid Unicode text (a JSON \\uD800-\\uDFFF escape must be one of a "
                "high-low pair)"
            )
        return data


DOC_HELP = (
    "Only documents whose doc_id matches one of these globs: `*` within a folder, `**` across "
    "folders (docs/*.md, docs/**)."
)
META_HELP = (
    "Only documents whose front-matter fields (or title) have these values, every key; "
    "a value with `*` is a glob."
)


class QueryRequest(TextBody):
    question: str = Field(description="The question, 1 to 2,000 characters.")
    k: int = Field(5, ge=1, le=MAX_K, description="How many passages to return.")
    mode: SearchMode | None = Field(None, description="hybrid (default), dense or keyword.")
    doc: list[str] | str | None = Field(None, description=DOC_HELP)
    meta: dict[str, str | list[str]] | None = Field(None, description=META_HELP)


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


class SkippedFile(BaseModel):
    doc_id: str = Field(description="The file's path under the corpus folder.")
    reason: str = Field(description="Why it is not indexed.")


class IndexInfo(BaseModel):
    generation: str
    documents: int
    passages: int
    model: str
    built_at: str
    components: dict[str, Any] = Field(
        default_factory=dict, description="What made the index: parsers, layout, language, encoder, codec."
    )
    skipped: list[SkippedFile] = Field(
        default_factory=list,
        description="Files under the corpus folder that are not indexed, and documents that hold "
        "nothing to search, and why.",
    )
    job: JobModel | None = Field(None, description="The latest write job of this server.")


class NewDocument(TextBody):
    doc_id: str | None = Field(
        None,
        max_length=MAX_DOC_ID_CHARS,
        description=(
            "Path under the corpus, ending .md (the default), .txt, .markdown, .mdx, .rst, .csv, "
            ".tsv, .html or .htm; only .md, .txt, .markdown and .mdx take a title."
        ),
    )
    title: str | None = Field(None, max_length=500, description="Stored as front matter.")
    text: str = Field(description="The document's text, stored exactly as given.")


class RebuildRequest(TextBody):
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


def citation_model(citation: Citation) -> CitationModel:
    return CitationModel(**citation.__dict__)


def readable(text: str, view: str) -> str:
    """What the model reads of a passage (``Passage.view``) whenever it differs from ``text``,
    whatever the passage's kind: a ``code`` passage is often prose with links and emphasis around
    a block, and its code is read as written; "" when it is ``text`` itself."""
    return view if view != text else ""


def passage_model(rank: int, hit: Hit) -> PassageModel:
    return PassageModel(
        rank=rank,
        score=round(hit.score, 6),
        text=hit.passage.text,
        kind=hit.passage.kind,
        readable=readable(hit.passage.text, hit.passage.view),
        citation=citation_model(hit.citation),
    )


def to_response(question: str, mode: SearchMode, result: SearchResult, started: float) -> QueryResponse:
    answer = result.answer
    return QueryResponse(
        query=question,
        mode=mode,
        took_ms=round((time.perf_counter() - started) * 1000, 2),
        answerable=result.answerable,
        answer=AnswerModel(
            text=answer.text,
            readable=answer.view,
            score=round(answer.score, 6),
            confidence=round(answer.score, 6),
            citation=citation_model(answer.citation),
        )
        if answer
        else None,
        passages=[passage_model(rank, hit) for rank, hit in enumerate(result.hits, start=1)],
        message=result.message,
    )


def document_model(document: Document) -> DocumentModel:
    return DocumentModel(
        doc_id=document.doc_id, title=document.title, text=document.text, metadata=document.metadata
    )


def job_model(snapshot: dict[str, Any] | None) -> JobModel | None:
    return JobModel(**snapshot) if snapshot is not None else None
