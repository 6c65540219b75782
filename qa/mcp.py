"""``qa mcp``: the Engine over the Model Context Protocol, for LLM agents and editors.

Tools (built on the official ``mcp`` SDK's ``MCPServer``):

- ``ask(question, k, doc, meta)``: the passages that answer it, best first, each cited to the
  exact characters of its document, and the answer sentence, or none when the documents do not
  answer; ``doc`` globs on doc_id and ``meta`` front-matter fields limit the documents asked;
- ``get_document(doc_id)``: a document's full text, which every citation's ``start``/``end`` slice.

Each result carries the same JSON the HTTP API returns as structured content (its schema is the
HTTP schema) and a readable rendering of it as text. Stdio by default (stdout is the protocol, so
logs go to stderr); ``--http`` serves streamable HTTP on loopback. Like every edge, it holds no
logic of its own: it calls an ``Engine``.
"""

from __future__ import annotations

import time
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent
from pydantic import Field

from qa.core.errors import IndexError_, IngestError, InvalidFilter, InvalidQuestion, NotReady
from qa.http.schemas import MAX_K, DocumentModel, QueryResponse, document_model, to_response
from qa.service.engine import Engine

INSTRUCTIONS = (
    "Answers questions from a folder of documents. Every passage is cited to the exact characters "
    "of its source (doc_id, start, end, lines, page); the answer is null when the documents do not "
    "answer the question. Call get_document to read a cited document whole."
)
USER_ERRORS = (InvalidQuestion, InvalidFilter, IngestError, NotReady, IndexError_)
DOC_HELP = "Only documents whose doc_id matches one of these globs (* within a folder, ** across folders)."
META_HELP = 'Only documents whose front-matter fields (or title) have these values, e.g. {"author": "Ada"}.'


def render(response: QueryResponse) -> str:
    """The answer and its passages as a reader would want them in a chat."""
    lines = []
    if response.message:
        lines.append(response.message)
    elif response.answer is not None:
        cite = response.answer.citation
        lines.append(f"Answer ({cite.doc_id}, characters {cite.start}-{cite.end}): {response.answer.text}")
    else:
        lines.append("Not answered by these documents; the closest passages follow.")
    for passage in response.passages:
        cite = passage.citation
        where = f"lines {cite.line_start}-{cite.line_end}" + (f", page {cite.page}" if cite.page else "")
        lines.append(
            f"\n[{passage.rank}] {cite.title} ({cite.doc_id}, {where}, characters {cite.start}-{cite.end})"
        )
        lines.append(" ".join(passage.text.split()))
    return "\n".join(lines)


def build_server(engine: Engine) -> MCPServer:
    """An MCP server whose tools call ``engine``."""
    server = MCPServer(name="qa", instructions=INSTRUCTIONS)

    @server.tool(description="Answer a question from the documents, with exact citations.")
    def ask(
        question: str,
        k: int = 5,
        doc: Annotated[list[str] | None, Field(description=DOC_HELP)] = None,
        meta: Annotated[dict[str, str] | None, Field(description=META_HELP)] = None,
    ) -> Annotated[CallToolResult, QueryResponse]:
        if not 1 <= k <= MAX_K:
            raise ToolError(f"k must be between 1 and {MAX_K}, not {k}")
        started = time.perf_counter()
        try:
            cleaned = engine.question(question)
            result = engine.ask(cleaned, k, doc=doc, meta=meta)
        except USER_ERRORS as error:
            raise ToolError(str(error)) from None
        response = to_response(cleaned, engine.settings.default_mode, result, started)
        return CallToolResult(
            content=[TextContent(type="text", text=render(response))],
            structured_content=response.model_dump(mode="json"),
        )

    @server.tool(description="A document's full text, which citations' start and end slice.")
    def get_document(doc_id: str) -> Annotated[CallToolResult, DocumentModel]:
        try:
            document = engine.document(doc_id)
        except USER_ERRORS as error:
            raise ToolError(str(error)) from None
        model = document_model(document)
        return CallToolResult(
            content=[
                TextContent(type="text", text=f"{document.title} ({document.doc_id})\n\n{document.text}")
            ],
            structured_content=model.model_dump(mode="json"),
        )

    return server


def serve(engine: Engine, http: bool = False, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Run the MCP server until the client hangs up (stdio) or the process is stopped (HTTP)."""
    server = build_server(engine)
    if http:
        server.run("streamable-http", host=host, port=port)
    else:
        server.run("stdio")
