"""Property test: for every parser, on nasty inputs, each passage is the exact span it cites."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.core.errors import DocumentError
from qa.ingest.formats import parse
from qa.ingest.passages import build_passages
from tests.conftest import real_embedder

pieces = st.sampled_from(
    [
        "# Heading",
        "## Sub *heading*",
        "text",
        "`code. With` dots.",
        "[link](http://x.y/a_(b))",
        "<!-- comment -->",
        "<a id='x'></a>",
        "{{#include f.rs}}",
        "```rust",
        "```",
        "~~~",
        "| a | b |",
        "|---|---|",
        "- item",
        "1. step",
        "> quote",
        "!!! note",
        "    indented",
        "[ref]: http://r",
        "Term",
        ": definition",
        "---",
        "title: T",
        "Dr. Smith said so.",
        "e.g. this",
        "日本語",
        "🙂",
        "\u00a0",
        "\\*",
        "**bold**",
        "_under_",
        "<div>",
        "</div>",
        ".. note::",
        "   body",
        "Title\n=====",
        ":attr:`~a.b`",
        "\t",
        "https://example.com/x.y. Next",
        "`<Tabs>` and ``a `b` c``",
        "## Usage { #usage }",
        "/// tip | Title",
        "///",
        "{* docs_src/app.py hl[3] *}",
        "import Tabs from '@theme/Tabs';",
        "export const meta = {",
        "{/* note */}",
        'a,b,"c, d"',
        "x\ty",
        '!!! warning "Thread safety"',
        '=== "pip"',
        "   ```python",
        "   x = data[0]  # _a_",
        "<style>",
        "</style>",
        "<script>x = `1`</script>",
        "\x1b[1mBold\x1b[0m",
        "\x1b[0m",
        "\x1b]0;title",
        "N\bNA\bAM\bME\bE",
        "_\bu_\bn",
        "\f",
        "1.  Introduction",
        "2.1.  Retries",
        "Retries ........ 4",
        "RFC 1   Title   May 2000",
    ]
)
separators = st.sampled_from([" ", "\n", "\r\n", "\n\n", "\n\n\n", "  "])


@st.composite
def sources(draw: st.DrawFn) -> str:
    return "".join(p + s for p, s in draw(st.lists(st.tuples(pieces, separators), max_size=60)))


def _notebook(text: str) -> bytes:
    cells = [
        {"cell_type": kind, "source": part}
        for kind, part in zip(["markdown", "code"] * 30, text.split("\n\n"), strict=False)
    ]
    return json.dumps({"cells": cells, "metadata": {}}).encode()


def _docx(text: str) -> bytes:
    """A Word file of the text's blank-line-separated parts: "# " ones as headings, "- " ones as
    list items, the rest as paragraphs (characters XML cannot hold left out)."""
    import io

    import docx

    document = docx.Document()
    for part in text.split("\n\n"):
        part = "".join(c for c in part if c in "\t\n" or (ord(c) >= 32 and c != "\x7f"))
        if part.startswith("# "):
            document.add_heading(part[2:], 1)
        elif part.startswith("- "):
            document.add_paragraph(part[2:], style="List Bullet")
        else:
            document.add_paragraph(part)
    output = io.BytesIO()
    document.save(output)
    return output.getvalue()


def _xml_text(part: str) -> str:
    """The characters XML can hold."""
    return "".join(c for c in part if c in "\t\n" or (32 <= ord(c) != 0x7F and not 0xD800 <= ord(c) < 0xE000))


def _epub(text: str) -> bytes:
    """An EPUB of two chapters, the text's blank-line-separated parts as headings ("# "), list
    items ("- ") and paragraphs, escaped as XHTML."""
    import html
    import io
    import zipfile

    parts = [_xml_text(part) for part in text.split("\n\n")]
    chapters = []
    for half in (parts[: len(parts) // 2], parts[len(parts) // 2 :]):
        body = "".join(
            f"<h2>{html.escape(p[2:])}</h2>" if p.startswith("# ")
            else f"<ul><li>{html.escape(p[2:])}</li></ul>" if p.startswith("- ")
            else f"<p>{html.escape(p)}</p>"
            for p in half
        )  # fmt: skip
        chapters.append(f'<html xmlns="http://www.w3.org/1999/xhtml"><body>{body}</body></html>')
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w") as book:
        book.writestr("mimetype", "application/epub+zip")
        book.writestr(
            "META-INF/container.xml",
            '<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
            '<rootfile full-path="book.opf"/></rootfiles></container>',
        )
        book.writestr(
            "book.opf",
            '<package xmlns="http://www.idpf.org/2007/opf"><manifest>'
            '<item id="a" href="a.xhtml" media-type="application/xhtml+xml"/>'
            '<item id="b" href="b.xhtml" media-type="application/xhtml+xml"/></manifest>'
            '<spine><itemref idref="a"/><itemref idref="b"/></spine></package>',
        )
        book.writestr("a.xhtml", chapters[0])
        book.writestr("b.xhtml", chapters[1])
    return output.getvalue()


def _pptx(text: str) -> bytes:
    """A deck with a slide per "# " part of the text (its title), the parts after it as the
    slide's bulleted paragraphs ("- ") or a text box's paragraphs."""
    import io

    import pptx
    from pptx.util import Inches

    deck = pptx.Presentation()
    slide = None
    for part in (_xml_text(part) for part in text.split("\n\n")):
        if slide is None or part.startswith("# "):
            slide = deck.slides.add_slide(deck.slide_layouts[1])
            slide.shapes.title.text = part[2:] if part.startswith("# ") else ""
            if part.startswith("# "):
                continue
        if part.startswith("- "):
            slide.placeholders[1].text_frame.add_paragraph().text = part[2:]
        else:
            slide.shapes.add_textbox(Inches(1), Inches(5), Inches(6), Inches(1)).text_frame.text = part
    output = io.BytesIO()
    deck.save(output)
    return output.getvalue()


def _xlsx(text: str) -> bytes:
    """A workbook of two sheets, the text's lines as rows and its runs of spaces as cells."""
    import io

    import openpyxl

    book = openpyxl.Workbook()
    lines = [_xml_text(line) for line in text.split("\n")]
    for sheet, half in (
        (book.active, lines[: len(lines) // 2]),
        (book.create_sheet(), lines[len(lines) // 2 :]),
    ):
        for line in half:
            sheet.append([cell for cell in line.split("  ")][:20])
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


def _eml(text: str) -> bytes:
    """A message whose subject is the text's first line and whose body is the rest: as plain
    text, or (when the text holds a "<") as HTML."""
    from email.message import EmailMessage

    message = EmailMessage()
    first, _, rest = text.partition("\n")
    message["Subject"] = " ".join(_xml_text(first).split())[:200]
    message["From"] = "Ann <ann@example.org>"
    message.set_content(rest or first, subtype="html" if "<" in rest else "plain")
    return bytes(message)


ENCODE = {".ipynb": _notebook, ".docx": _docx, ".epub": _epub, ".pptx": _pptx, ".xlsx": _xlsx, ".eml": _eml}


def check(suffix: str, data: bytes) -> None:
    try:
        document = parse(f"doc{suffix}", data, suffix)
    except DocumentError:
        return
    encoder = real_embedder()
    # structured documents fill the model's window, the others take chunk_tokens: a small window
    # and a small chunk_tokens each force splits
    for window, chunk_tokens in ((encoder.max_tokens, 24), (32, 200), (encoder.max_tokens, 200)):
        for passage in build_passages(
            document, encoder.count_tokens, encoder.truncate, window, chunk_tokens, 60
        ):
            assert document.text[passage.start : passage.end] == passage.text
            assert passage.text.strip() and (not passage.view or len(passage.view) == len(passage.text))
            # escape sequences, furniture, markup alone: never a passage that reads as nothing
            assert (passage.view or passage.text).strip(), "a passage that reads as nothing"
            assert encoder.count_tokens([passage.embedding_text])[0] <= window


@pytest.mark.parametrize(
    "suffix",
    [
        ".md",
        ".txt",
        ".rst",
        ".ipynb",
        ".html",
        ".docx",
        ".mdx",
        ".csv",
        ".tsv",
        ".epub",
        ".pptx",
        ".xlsx",
        ".eml",
    ],
)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=sources())
def test_every_passage_is_its_exact_span(suffix: str, text: str) -> None:
    check(suffix, ENCODE[suffix](text) if suffix in ENCODE else text.encode("utf-8"))
