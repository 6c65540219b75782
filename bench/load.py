"""A bounded HTTP load generator for loopback servers: N clients, T seconds, one JSON line per request.

usage: load.py BASE_URL CLIENTS SECONDS OUTPUT.jsonl [QUESTION]
"""

from __future__ import annotations

import json
import sys
import threading
import time

import httpx

QUESTIONS = [
    "what did UNIDO announce?",
    "Where will the centre be housed?",
    "who wrote this article?",
    "what does the declaration say about AI safety?",
    "which ministry supports the centre?",
    "what did Li Qiang say?",
    "what is the AIM Global program?",
    "when was the article published?",
]


def client(
    base: str, deadline: float, offset: int, rows: list[dict[str, object]], lock: threading.Lock
) -> None:
    with httpx.Client(base_url=base, timeout=60) as http:
        number = offset
        while time.time() < deadline:
            question = QUESTIONS[number % len(QUESTIONS)]
            number += 1
            started = time.perf_counter()
            try:
                ok = http.get("/query", params={"q": question, "k": 5}).status_code == 200
            except httpx.HTTPError:
                ok = False
            row = {"t": time.time(), "ms": (time.perf_counter() - started) * 1000, "ok": ok}
            with lock:
                rows.append(row)


def main() -> None:
    base, clients, seconds, output = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    deadline = time.time() + seconds
    rows: list[dict[str, object]] = []
    lock = threading.Lock()
    threads = [threading.Thread(target=client, args=(base, deadline, i, rows, lock)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with open(output, "w") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
