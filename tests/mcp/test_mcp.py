"""``qa mcp`` as an MCP client sees it: the SDK's own client against the real server, over stdio
(a subprocess, as an editor or agent starts it) and over streamable HTTP on loopback."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from typing import Any

import httpx
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from qa.core.config import Settings
from tests.conftest import ARTICLE, free_port

QUESTION = "Which UN centre did UNIDO announce at WAIC?"


def _env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "QA_CORPUS_DIR": str(settings.corpus_dir),
        "QA_INDEX_DIR": str(settings.index_dir),
        "HF_HUB_OFFLINE": "1",
    }


async def _session(server: Any) -> tuple[list[str], Any, Any, Any]:
    async with Client(server, read_timeout_seconds=120) as client:
        tools = [tool.name for tool in (await client.list_tools()).tools]
        answered = await client.call_tool("ask", {"question": QUESTION, "k": 3})
        document = await client.call_tool("get_document", {"doc_id": ARTICLE.name})
        refused = await client.call_tool("ask", {"question": "   "})
        return tools, answered, document, refused


def _check(tools: list[str], answered: Any, document: Any, refused: Any) -> None:
    assert {"ask", "get_document"} <= set(tools)
    assert not answered.is_error
    body = answered.structured_content
    text = ARTICLE.read_text(encoding="utf-8")
    assert body["answerable"] and "UNIDO" in body["answer"]["text"]
    for passage in body["passages"]:
        cite = passage["citation"]
        assert text[cite["start"] : cite["end"]] == passage["text"] and cite["doc_id"] == ARTICLE.name
    readable = answered.content[0].text
    assert readable.startswith("Answer (shanghai-declaration.txt") and "[1]" in readable
    assert document.structured_content["text"] == text
    assert refused.is_error and "empty" in refused.content[0].text


def test_mcp_over_stdio_lists_its_tools_and_answers_with_citations(article_settings: Settings) -> None:
    server = StdioServerParameters(
        command=sys.executable, args=["-m", "qa", "mcp"], env=_env(article_settings)
    )
    _check(*asyncio.run(_session(server)))


def test_mcp_over_streamable_http(article_settings: Settings) -> None:
    port = free_port()
    command = [sys.executable, "-m", "qa", "mcp", "--http", "--port", str(port)]
    process = subprocess.Popen(command, env=_env(article_settings), stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            try:
                httpx.get(f"http://127.0.0.1:{port}/mcp", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.5)
        _check(*asyncio.run(_session(f"http://127.0.0.1:{port}/mcp")))
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_mcp_without_an_index_says_how_to_build_one(tmp_path: Any) -> None:
    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    result = subprocess.run(
        [sys.executable, "-m", "qa", "mcp"], env=_env(settings), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1 and "qa index" in result.stderr and "Traceback" not in result.stderr
