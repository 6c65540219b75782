"""Parsing and chunking one long document, per format, at growing sizes: the time should grow with
the size, not with its square.

Each document is written from the benchmarks' word list (``bench.common.WORDS``): paragraphs of
one to four sentences, a fifth of them opening with "It" (a passage that opens with a pronoun gets
the subject of the sentence before it as context, the step that was once quadratic in a plain
document's length). Formats: plain text (no headings: the plain layout, one block for the whole
body), Markdown with a section every 50 paragraphs, Markdown of one section, HTML and
reStructuredText. Parsing is the indexer's own (``qa.ingest.uploads.parse_document``); chunking is
``qa.ingest.passages.build_passages`` with the bundled model's tokenizer; nothing is embedded.

usage: chunking.py [PARAGRAPHS ...]   (default 1000 2000 4000)
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import CACHE_UNUSED, WORDS, load_average, machine, write_results  # noqa: E402
from qa.core.config import Settings  # noqa: E402
from qa.encoders.sbert import SentenceTransformerEncoder  # noqa: E402
from qa.ingest.passages import build_passages, choose_layout  # noqa: E402
from qa.ingest.uploads import parse_document  # noqa: E402

FORMATS = ("txt", "md", "md-one-section", "html", "rst")


def paragraph(rng: random.Random) -> str:
    sentences = []
    for _ in range(rng.randint(1, 4)):
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 25)))
        sentences.append(("It " if rng.random() < 0.2 else "") + words.capitalize() + ".")
    return " ".join(sentences)


def document(kind: str, paragraphs: int) -> tuple[str, bytes]:
    rng = random.Random(0)
    texts = [paragraph(rng) for _ in range(paragraphs)]
    if kind == "txt":
        return "long.txt", "\n\n".join(texts).encode()
    if kind == "md":
        body = "\n\n".join(
            (f"## Section {i // 50}\n\n" if i % 50 == 0 else "") + t for i, t in enumerate(texts)
        )
        return "long.md", f"# A long document\n\n{body}\n".encode()
    if kind == "md-one-section":
        return "long.md", ("# A long document\n\n" + "\n\n".join(texts) + "\n").encode()
    if kind == "html":
        body = "".join(f"<p>{t}</p>" for t in texts)
        return "long.html", f"<html><body><main><h1>A long document</h1>{body}</main></body></html>".encode()
    return "long.rst", ("A long document\n===============\n\n" + "\n\n".join(texts) + "\n").encode()


def main(sizes: list[int]) -> None:
    encoder = SentenceTransformerEncoder()
    settings = Settings()
    started = {"machine": machine(), "load_average": load_average()}
    rows = []
    for kind in FORMATS:
        for size in sizes:
            name, data = document(kind, size)
            begun = time.perf_counter()
            parsed = parse_document(name, data)
            parsed_at = time.perf_counter()
            passages = build_passages(
                parsed,
                encoder.count_tokens,
                encoder.truncate,
                encoder.max_tokens,
                settings.chunk_tokens,
                settings.chunk_min_chars,
                layout=settings.layout,
            )
            done = time.perf_counter()
            rows.append(
                {
                    "format": kind,
                    "paragraphs": size,
                    "kilobytes": round(len(data) / 1024),
                    "layout": choose_layout(parsed, settings.layout),
                    "passages": len(passages),
                    "parse_s": round(parsed_at - begun, 3),
                    "chunk_s": round(done - parsed_at, 3),
                }
            )
            print(rows[-1], flush=True)
    table = "\n".join(
        [
            "| format | paragraphs | KB | layout | passages | parse s | chunk s | KB/s, both |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
            *(
                f"| {r['format']} | {r['paragraphs']} | {r['kilobytes']} | {r['layout']} | {r['passages']} "
                f"| {r['parse_s']} | {r['chunk_s']} "
                f"| {r['kilobytes'] / max(r['parse_s'] + r['chunk_s'], 1e-9):.0f} |"
                for r in rows
            ),
        ]
    )
    write_results("chunking", {**started, "rows": rows}, table, CACHE_UNUSED)


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [1000, 2000, 4000])
