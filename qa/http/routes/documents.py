"""GET, POST and DELETE /documents: the served documents, and writes to the corpus."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from qa.http.bodies import posted_document
from qa.http.deps import EngineDep, WriterDep
from qa.http.schemas import (
    DOCUMENT_BODY,
    DeletedDocument,
    DocumentModel,
    DocumentSummary,
    WrittenDocument,
    document_model,
)

router = APIRouter()


@router.get("/documents", response_model=list[DocumentSummary], tags=["documents"])
def list_documents(engine: EngineDep) -> list[DocumentSummary]:
    return [
        DocumentSummary(doc_id=doc.doc_id, title=doc.title, characters=len(doc.text), passages=passages)
        for doc, passages in engine.documents()
    ]


@router.get("/documents/{doc_id:path}", response_model=DocumentModel, tags=["documents"])
def get_document(engine: EngineDep, doc_id: str) -> DocumentModel:
    document = engine.document(doc_id)
    return document_model(document)


@router.post(
    "/documents",
    status_code=201,
    response_model=WrittenDocument,
    tags=["write"],
    openapi_extra=DOCUMENT_BODY,
    responses={200: {"description": "An existing doc_id replaced (or posted again unchanged)."}},
)
async def add_document(engine: WriterDep, request: Request, response: Response) -> WrittenDocument:
    """Add a document (201) or replace the one stored under the same doc_id (200), then index it."""
    doc_id, data = await posted_document(request, engine.settings)
    written, is_new = await run_in_threadpool(engine.add, doc_id, data)
    if is_new:
        response.headers["Location"] = f"/documents/{quote(written.doc_id)}"
    else:
        response.status_code = 200
    return WrittenDocument(doc_id=written.doc_id, generation=written.generation, passages=written.passages)


@router.delete("/documents/{doc_id:path}", response_model=DeletedDocument, tags=["write"])
def delete_document(engine: WriterDep, doc_id: str) -> DeletedDocument:
    """Remove a document from the corpus and the index."""
    return DeletedDocument(doc_id=doc_id, generation=engine.delete(doc_id))
