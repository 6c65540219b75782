"""A bounded HTTP load generator for loopback servers: N keep-alive clients for T seconds.

usage: load.py BASE_URL CLIENTS SECONDS OUTPUT.jsonl [PATH_TEMPLATE]

Each client holds one HTTP/1.1 connection and sends GET requests back to back, cycling through
the benchmark questions (``{q}`` in PATH_TEMPLATE, default ``/query?k=5&q={q}``). One JSON line per
request: wall time, latency in ms, and whether the status was 200. The client is raw asyncio
streams, not an HTTP library: on a 2-core machine that it shares with the server, the load
generator's own CPU use is part of the measurement, so it is kept as small as possible.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from urllib.parse import quote, urlsplit

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from common import QUESTIONS


async def _response(reader: asyncio.StreamReader) -> int:
    """Read one response; its status code."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readline()).strip() or b"0", 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status


async def client(
    host: str, port: int, template: str, deadline: float, offset: int, rows: list[dict[str, object]]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    number = offset
    try:
        while time.time() < deadline:
            path = template.format(q=quote(QUESTIONS[number % len(QUESTIONS)]))
            number += 1
            started = time.perf_counter()
            try:
                writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
                ok = await _response(reader) == 200
            except (OSError, asyncio.IncompleteReadError, ValueError):
                ok = False
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
            rows.append({"t": time.time(), "ms": (time.perf_counter() - started) * 1000, "ok": ok})
    finally:
        writer.close()


async def run(base: str, clients: int, seconds: float, template: str) -> list[dict[str, object]]:
    address = urlsplit(base)
    deadline = time.time() + seconds
    rows: list[dict[str, object]] = []
    await asyncio.gather(
        *(
            client(address.hostname or "127.0.0.1", address.port or 80, template, deadline, i, rows)
            for i in range(clients)
        )
    )
    return rows


def main() -> None:
    base, clients, seconds, output = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    template = sys.argv[5] if len(sys.argv) > 5 else "/query?k=5&q={q}"
    rows = asyncio.run(run(base, clients, seconds, template))
    with open(output, "w") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
