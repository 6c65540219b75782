"""Request bodies read by the routes themselves: bounded while they arrive, then validated."""

from __future__ import annotations

import json
from typing import TypeVar

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile
from starlette.types import Message

from qa.core.config import Settings
from qa.core.errors import TooLarge, UnsupportedContent
from qa.http.schemas import NewDocument, surrogate_in
from qa.ingest import uploads

BODY_SLACK = 64 * 1024  # room for the multipart envelope or JSON around a document, in bytes
# A request body may be twice the document limit (JSON escapes), plus the envelope; larger ones are
# refused while they are read, so a huge upload never sits in memory.
BODY_FACTOR = 2
Model = TypeVar("Model", bound=BaseModel)


def upload_body_limit(settings: Settings) -> int:
    return BODY_FACTOR * settings.max_upload_bytes + BODY_SLACK


def limited(request: Request, limit: int) -> Request:
    """The request, with a body that raises ``TooLarge`` once more than ``limit`` bytes arrive."""
    declared = request.headers.get("content-length", "")
    too_large = TooLarge(f"the request body is larger than {limit:,} bytes")
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


def validated(model: type[Model], raw: bytes) -> Model:
    """``raw`` JSON as ``model``. pydantic's JSON parser refuses a lone surrogate escape as invalid
    JSON, naming no field; ``json`` takes it, so such a body is read again by ``json`` and refused
    by the model's own check, which names the field (``qa.http.schemas.TextBody``)."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        problems = error.errors()
        if any(problem["type"] == "json_invalid" for problem in problems):
            try:  # a body nested too deep for the parser's recursion is no surrogate case
                parsed = json.loads(raw)
                surrogate = surrogate_in(parsed)
            except (ValueError, RecursionError):
                parsed, surrogate = None, None
            if surrogate:
                try:
                    model.model_validate(parsed)
                except ValidationError as again:
                    problems = again.errors()
        raise RequestValidationError(problems) from error


async def _upload(request: Request, limit: int) -> tuple[str, bytes]:
    """(doc_id, bytes) from a multipart upload; reads at most one byte past ``limit``."""
    async with request.form(max_files=1, max_fields=8) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise HTTPException(422, "file: upload the document in the multipart field 'file'")
        doc_id = form.get("doc_id")
        data = await upload.read(limit + 1)
        chosen = uploads.upload_doc_id(
            upload.filename, doc_id if isinstance(doc_id, str) else None, upload.content_type or ""
        )
        return chosen, data


async def posted_document(request: Request, settings: Settings) -> tuple[str, bytes]:
    """(doc_id, bytes) of the document a POST /documents carries, as JSON or as a file upload."""
    body = limited(request, upload_body_limit(settings))
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "application/json":
        posted = validated(NewDocument, await body.body())
        return uploads.from_json(posted.doc_id, posted.title, posted.text)
    if media_type == "multipart/form-data":
        return await _upload(body, settings.max_upload_bytes)
    raise UnsupportedContent(
        'send the document as application/json ({"text": "..."}) or as multipart/form-data (field "file")'
    )
