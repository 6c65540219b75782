"""The MCP ``ask`` tool's ``doc`` and ``meta`` arguments, through the SDK's own client connected to
the real server object over the library index (in memory: the transports are tested beside)."""

from __future__ import annotations

import asyncio
from typing import Any

from mcp import Client

import qa
from qa.core.config import Settings
from qa.core.filters import NO_MATCH
from qa.mcp import build_server
from tests.conftest import real_embedder

QUESTION = "How do I set a timeout for a single request?"


async def _calls(settings: Settings) -> tuple[Any, ...]:
    server = build_server(qa.open(settings, encoder=real_embedder()))
    async with Client(server, read_timeout_seconds=120) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        by_glob = await client.call_tool("ask", {"question": QUESTION, "k": 3, "doc": ["flask/**"]})
        by_field = await client.call_tool(
            "ask", {"question": "when does the night ferry leave?", "meta": {"author": "Grace"}}
        )
        nothing = await client.call_tool("ask", {"question": QUESTION, "doc": ["nowhere/*"]})
        bad = await client.call_tool("ask", {"question": QUESTION, "doc": ["a/***"]})
        return tools, by_glob, by_field, nothing, bad


def test_ask_takes_doc_globs_and_meta_fields(library_settings: Settings) -> None:
    tools, by_glob, by_field, nothing, bad = asyncio.run(_calls(library_settings))
    properties = tools["ask"].input_schema["properties"]
    assert {"doc", "meta"} <= set(properties) and "glob" in properties["doc"]["description"]
    cited = [p["citation"]["doc_id"] for p in by_glob.structured_content["passages"]]
    assert len(cited) == 3 and all(doc_id.startswith("flask/") for doc_id in cited)
    assert {p["citation"]["doc_id"] for p in by_field.structured_content["passages"]} == {
        "notes/trips/bridge.md"
    }
    assert not nothing.is_error and nothing.structured_content["passages"] == []
    assert nothing.content[0].text.startswith(NO_MATCH)
    assert bad.is_error and "***" in bad.content[0].text
