"""Parsing and chunking one long document, per format and shape, at growing sizes: the time should
grow with the size, not with its square.

Each document is written from the benchmarks' word list (``bench.common.WORDS``): paragraphs of
one to four sentences, a fifth of them opening with "It" (a passage that opens with a pronoun gets
the subject of the sentence before it as context, the step that was once quadratic in a plain
document's length). Shapes, at N paragraphs (the arguments):

- plain text (no headings: the plain layout, one block for the whole body); one paragraph of N
  paragraphs' words wrapped at 80 columns with no blank line; the same on one line;
- Markdown with a section every 50 paragraphs, of one section, with a heading over every
  paragraph, and with a list after every other paragraph; a table of 5N rows; a code fence of 5N
  lines;
- HTML (paragraphs; a table of 5N rows; a ``<pre>`` of 5N lines); reStructuredText;
- a PDF of N/10 pages (a running header, page numbers, a chapter heading every tenth page; written
  here, one Helvetica text line per line); a .docx of N paragraphs (headings, list items), and one
  with a table of N rows; a notebook of N cells, Markdown and code; a .pptx of N/5 slides (a title,
  five bullets, a code box every tenth slide); an .xlsx of 5N rows of four cells; an .epub of N/50
  chapters of 50 paragraphs each;
- a text holding one run of 12.5N characters with no space (a blob: base64, minified code), cut
  into the longest prefixes that fit, each searched near the previous one's length;
- a manual saved from a terminal: pages split by form feeds with a bold running header (escape
  sequences) and a page number, a bold numbered section every 50 paragraphs, the body indented
  (``qa.ingest.plaintext``: furniture, headings, what a terminal shows); and a line of 12.5N dots
  (a dot leader's search was once quadratic in a run of dots).

Parsing is the indexer's own (``qa.ingest.uploads.parse_document``); chunking is
``qa.ingest.passages.build_passages`` with the bundled model's tokenizer; nothing is embedded.

usage: chunking.py [--only=FORMAT,...] [PARAGRAPHS ...]   (default 1000 2000 4000; with --only, the
results are written as chunking-FORMAT-... beside the full run's)
"""

from __future__ import annotations

import io
import json
import random
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import CACHE_UNUSED, WORDS, load_average, machine, write_results  # noqa: E402
from qa.core.config import Settings  # noqa: E402
from qa.encoders.sbert import SentenceTransformerEncoder  # noqa: E402
from qa.ingest.passages import build_passages, choose_layout  # noqa: E402
from qa.ingest.uploads import parse_document  # noqa: E402


def paragraph(rng: random.Random) -> str:
    sentences = []
    for _ in range(rng.randint(1, 4)):
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 25)))
        sentences.append(("It " if rng.random() < 0.2 else "") + words.capitalize() + ".")
    return " ".join(sentences)


def paragraphs(count: int) -> list[str]:
    rng = random.Random(0)
    return [paragraph(rng) for _ in range(count)]


def cells(rng: random.Random, count: int) -> list[str]:
    return [" ".join(rng.choice(WORDS) for _ in range(3)) for _ in range(count)]


def pdf(pages: list[list[str]]) -> bytes:
    """A PDF of ``pages``, each a list of lines, one Helvetica text line per line."""
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    }
    kids = []
    for number, lines in enumerate(pages):
        escaped = (line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") for line in lines)
        stream = "\n".join(
            ["BT /F1 10 Tf 14 TL 50 800 Td", *(f"({line}) Tj T*" for line in escaped), "ET"]
        ).encode()
        content, page = 4 + 2 * number, 5 + 2 * number
        objects[content] = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream)
        objects[page] = (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % content
        )
        kids.append(b"%d 0 R" % page)
    objects[2] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), len(kids))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number in sorted(objects):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, objects[number])
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def pdf_document(count: int) -> bytes:
    texts = paragraphs(count)
    pages = []
    for number in range(count // 10):
        lines = [
            "A Long Report on Many Things",
            *([f"Chapter {number // 10 + 1}"] if number % 10 == 0 else []),
        ]
        for text in texts[number * 10 : (number + 1) * 10]:
            lines += textwrap.wrap(text, 90)
        pages.append([*lines, f"Page {number + 1}"])
    return pdf(pages)


def docx_document(count: int, rows: int) -> bytes:
    import docx

    document = docx.Document()
    document.add_heading("A long document", 0)
    for number, text in enumerate(paragraphs(count)):
        if number % 50 == 0:
            document.add_heading(f"Section {number // 50}", 1)
        document.add_paragraph(text[:80], style="List Bullet") if number % 7 == 3 else document.add_paragraph(
            text
        )
    if rows:
        rng = random.Random(1)
        table = document.add_table(rows=rows + 1, cols=4)
        for number, row in enumerate(table.rows):
            for column, cell in enumerate(row.cells):
                cell.text = f"head {column}" if number == 0 else cells(rng, 1)[0]
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def notebook(count: int) -> bytes:
    found = []
    for number, text in enumerate(paragraphs(count)):
        if number % 2:
            source = [f"x{number} = {number}\n", f"print(x{number} * 2)  # {text[:40]}\n"]
            found.append(
                {
                    "cell_type": "code",
                    "metadata": {},
                    "source": source,
                    "outputs": [],
                    "execution_count": None,
                }
            )
        else:
            heading = [f"## Step {number}\n", "\n"] if number % 10 == 0 else []
            found.append({"cell_type": "markdown", "metadata": {}, "source": [*heading, text]})
    book = {
        "cells": found,
        "metadata": {"language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(book).encode()


def table_rows(count: int) -> list[list[str]]:
    rng = random.Random(2)
    return [cells(rng, 4) for _ in range(count)]


def code_lines(count: int) -> list[str]:
    rng = random.Random(3)
    return [
        "" if n % 40 == 39 else f"x_{n} = call({rng.choice(WORDS)!r}, {n})  # {rng.choice(WORDS)}"
        for n in range(count)
    ]


def pptx_document(count: int) -> bytes:
    import pptx
    from pptx.util import Inches, Pt

    texts = paragraphs(count)
    deck = pptx.Presentation()
    for number in range(count // 5):
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = f"Slide {number}: {texts[number * 5][:40]}"
        frame = slide.placeholders[1].text_frame
        frame.text = texts[number * 5 + 1][:120]
        for text in texts[number * 5 + 2 : number * 5 + 5]:
            frame.add_paragraph().text = text[:120]
        if number % 10 == 0:
            box = slide.shapes.add_textbox(Inches(1), Inches(5), Inches(6), Inches(2)).text_frame
            box.text = "\n".join(code_lines(8))
            for run in (r for p in box.paragraphs for r in p.runs):
                run.font.name, run.font.size = "Consolas", Pt(12)
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


def xlsx_document(rows: int) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["a", "b", "c", "d"])
    for row in table_rows(rows):
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def epub_document(count: int) -> bytes:
    import zipfile

    texts = paragraphs(count)
    chapters = [texts[start : start + 50] for start in range(0, count, 50)]
    items = "".join(
        f'<item id="c{n}" href="c{n}.xhtml" media-type="application/xhtml+xml"/>'
        for n in range(len(chapters))
    )
    spine = "".join(f'<itemref idref="c{n}"/>' for n in range(len(chapters)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr("mimetype", "application/epub+zip")
        book.writestr(
            "META-INF/container.xml",
            '<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
            '<rootfile full-path="book.opf"/></rootfiles></container>',
        )
        book.writestr(
            "book.opf",
            '<package xmlns="http://www.idpf.org/2007/opf">'
            '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
            "<dc:title>A long book</dc:title></metadata>"
            f"<manifest>{items}</manifest><spine>{spine}</spine></package>",
        )
        for number, chapter in enumerate(chapters):
            body = "".join(f"<p>{text}</p>" for text in chapter)
            page = f"<body><h1>Chapter {number}</h1>{body}</body>"
            book.writestr(f"c{number}.xhtml", f'<html xmlns="http://www.w3.org/1999/xhtml">{page}</html>')
    return out.getvalue()


def html(body: str) -> bytes:
    head = "<head><title>A page</title></head>"
    return f"<html>{head}<body><main><h1>A long page</h1>{body}</main></body></html>".encode()


def manual_text(texts: list[str]) -> str:
    """A manual saved from a terminal: a page every 40 paragraphs (a form feed, a running header in
    bold escape sequences, a page number), a numbered section in bold every 50, body indented."""
    bold = "\x1b[1m{}\x1b[0m"
    parts: list[str] = []
    for i, text in enumerate(texts):
        if i % 40 == 0:
            header = bold.format("relayd          Relay Manual          relayd")
            parts.append(f"{'' if i == 0 else chr(12)}{header}\n\n")
        if i % 50 == 0:
            parts.append(bold.format(f"{i // 50 + 1}.  Section {i // 50 + 1}") + "\n\n")
        parts.append(textwrap.indent(textwrap.fill(text, 70), "       ") + "\n\n")
        if i % 40 == 39:
            parts.append(f"{'':>36}{i // 40 + 1}\n")
    return "".join(parts)


def document(kind: str, size: int) -> tuple[str, bytes]:
    texts = paragraphs(size) if kind in PARAGRAPH_SHAPES else []
    if kind == "txt":
        return "long.txt", "\n\n".join(texts).encode()
    if kind == "txt-one-paragraph":
        return "long.txt", textwrap.fill(" ".join(texts), 80).encode()
    if kind == "txt-one-line":
        return "long.txt", " ".join(texts).encode()
    if kind == "txt-no-space":
        rng = random.Random(4)
        return "blob.txt", (
            "Data:\n\n" + "".join(rng.choice("abcdefghij0123456789+/=") for _ in range(size * 25 // 2))
        ).encode()
    if kind == "txt-manual":
        return "manual.txt", manual_text(texts).encode()
    if kind == "txt-dots":
        return "dots.txt", ("Contents\n\n" + "." * (size * 25 // 2) + " a\n").encode()
    if kind == "md":
        body = "\n\n".join(
            (f"## Section {i // 50}\n\n" if i % 50 == 0 else "") + t for i, t in enumerate(texts)
        )
        return "long.md", f"# A long document\n\n{body}\n".encode()
    if kind == "md-one-section":
        return "long.md", ("# A long document\n\n" + "\n\n".join(texts) + "\n").encode()
    if kind == "md-headings":
        return "long.md", (
            "# A long document\n\n" + "\n\n".join(f"## Heading {i}\n\n{t}" for i, t in enumerate(texts))
        ).encode()
    if kind == "md-lists":
        body = "\n\n".join(f"{t}\n\n- one {i}\n- two\n" if i % 2 else t for i, t in enumerate(texts))
        return "long.md", f"# A long document\n\n{body}".encode()
    if kind == "md-table":
        rows = "\n".join("| " + " | ".join(row) + " |" for row in table_rows(5 * size))
        return (
            "table.md",
            f"# A table\n\nWords before it.\n\n| a | b | c | d |\n|{' --- |' * 4}\n{rows}\n".encode(),
        )
    if kind == "md-code":
        return "code.md", (
            "# Code\n\nThe program:\n\n```python\n" + "\n".join(code_lines(5 * size)) + "\n```\n"
        ).encode()
    if kind == "html":
        body = "".join(f"<p>{t}</p>" for t in texts)
        return "long.html", f"<html><body><main><h1>A long document</h1>{body}</main></body></html>".encode()
    if kind == "html-table":
        rows = "".join(
            "<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in table_rows(5 * size)
        )
        head = "<tr><th>a</th><th>b</th><th>c</th><th>d</th></tr>"
        return "table.html", html(f"<p>Words before it.</p><table>{head}{rows}</table>")
    if kind == "html-pre":
        lines = "\n".join(line.split("  #")[0] for line in code_lines(5 * size))
        return "pre.html", html(f"<p>The program:</p><pre>{lines}</pre>")
    if kind == "rst":
        return "long.rst", ("A long document\n===============\n\n" + "\n\n".join(texts) + "\n").encode()
    if kind == "pdf":
        return "long.pdf", pdf_document(size)
    if kind == "docx":
        return "long.docx", docx_document(size, 0)
    if kind == "docx-table":
        return "table.docx", docx_document(10, size)
    if kind == "pptx":
        return "deck.pptx", pptx_document(size)
    if kind == "xlsx":
        return "sheet.xlsx", xlsx_document(5 * size)
    if kind == "epub":
        return "book.epub", epub_document(size)
    return "long.ipynb", notebook(size)


# shape -> what its size counts, as a multiple of the paragraphs asked for
FORMATS = {
    "txt": ("paragraphs", 1),
    "txt-one-paragraph": ("paragraphs' words", 1),
    "txt-one-line": ("paragraphs' words", 1),
    "md": ("paragraphs", 1),
    "md-one-section": ("paragraphs", 1),
    "md-headings": ("paragraphs", 1),
    "md-lists": ("paragraphs", 1),
    "md-table": ("rows", 5),
    "md-code": ("lines", 5),
    "html": ("paragraphs", 1),
    "html-table": ("rows", 5),
    "html-pre": ("lines", 5),
    "rst": ("paragraphs", 1),
    "pdf": ("pages", 0.1),
    "docx": ("paragraphs", 1),
    "docx-table": ("rows", 1),
    "ipynb": ("cells", 1),
    "pptx": ("slides", 0.2),
    "xlsx": ("rows", 5),
    "epub": ("paragraphs", 1),
    "txt-no-space": ("characters", 12.5),
    "txt-manual": ("paragraphs", 1),
    "txt-dots": ("dots", 12.5),
}
PARAGRAPH_SHAPES = {
    "txt",
    "txt-manual",
    "txt-one-paragraph",
    "txt-one-line",
    "md",
    "md-one-section",
    "md-headings",
    "md-lists",
}
PARAGRAPH_SHAPES |= {"html", "rst"}


def main(sizes: list[int], only: list[str]) -> None:
    encoder = SentenceTransformerEncoder()
    settings = Settings()
    started = {"machine": machine(), "load_average": load_average()}
    rows = []
    for kind in only or FORMATS:
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
                    "size": f"{round(size * FORMATS[kind][1])} {FORMATS[kind][0]}",
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
            "| format | size | KB | layout | passages | parse s | chunk s | KB/s, both |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
            *(
                f"| {r['format']} | {r['size']} | {r['kilobytes']} | {r['layout']} | {r['passages']} "
                f"| {r['parse_s']} | {r['chunk_s']} "
                f"| {r['kilobytes'] / max(r['parse_s'] + r['chunk_s'], 1e-9):.0f} |"
                for r in rows
            ),
        ]
    )
    write_results("-".join(["chunking", *only]), {**started, "rows": rows}, table, CACHE_UNUSED)


if __name__ == "__main__":
    chosen = [f for arg in sys.argv[1:] if arg.startswith("--only=") for f in arg[7:].split(",") if f]
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown:
        sys.exit(f"unknown format(s) {', '.join(unknown)}; known: {', '.join(FORMATS)}")
    main([int(arg) for arg in sys.argv[1:] if not arg.startswith("--")] or [1000, 2000, 4000], chosen)
