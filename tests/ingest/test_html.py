"""HTML pages read faithfully: documentation by its structure, articles by their markup.

``kiln-manual.html`` is a documentation page written for these tests in the shape Sphinx, texinfo
and DocBook pages have (see tests/data/ATTRIBUTION.md): a copyright line with years, permalink
glyphs, a skip link, a local table of contents, a "Next:/Up:" line, a copy button, a definition
list, a ``<pre>`` of two ``<code>`` lines, ``<br>`` line breaks, a layout table holding a data table.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.core.errors import DocumentError
from qa.core.types import Passage
from qa.ingest import html, markdown
from qa.ingest.formats import parse
from qa.ingest.markdown import view
from qa.ingest.passages import build_passages
from tests.conftest import real_embedder

MANUAL = Path(__file__).resolve().parents[1] / "data" / "documents" / "kiln-manual.html"


@pytest.fixture(scope="module")
def passages() -> list[Passage]:
    document = parse("kiln-manual.html", MANUAL.read_bytes(), ".html")
    encoder = real_embedder()
    found = build_passages(document, encoder.count_tokens, encoder.truncate, encoder.max_tokens, 200, 120)
    assert all(document.text[p.start : p.end] == p.text for p in found)
    return found


def _holding(passages: list[Passage], words: str) -> Passage:
    return next(p for p in passages if words in p.text)


def test_a_documentation_page_with_a_copyright_year_keeps_its_structure_and_no_guessed_date() -> None:
    document = parse("kiln-manual.html", MANUAL.read_bytes(), ".html")
    assert "date" not in document.metadata and "author" not in document.metadata
    assert document.title == "Kiln 2.4 manual"
    assert document.text.startswith("# The Kiln build scheduler\n\nCopyright 2009-2023")  # no date line
    assert "\n### Pool options\n" in document.text
    assert "\n`kiln_step **steps`\n: A `NULL`-terminated array" in document.text  # a <dt> and its <dd>
    assert "patterns such as *.o and __pycache__ name" in document.text  # cited as written


def test_a_line_after_a_br_that_would_read_as_markup_stays_text() -> None:
    lines = ["Steps:", "- not a list", "1. nor this", "# nor a heading", "[1]: nor a link", "===", "~~~"]
    page = f"<html><body><p>{'<br>'.join(lines)}</p><p>After.</p></body></html>"
    text, _ = html.render_html("lines.html", page.encode())
    found, headings = markdown.parts(text)
    assert not headings and [part.kind for part in found] == ["body", "body"]
    read = markdown.plain(text)
    assert all(words in read for words in ("Steps: - not a list", "nor this # nor a heading", "nor a link"))


def test_headings_give_passages_their_path_and_furniture_is_left_out(passages: list[Passage]) -> None:
    pools = _holding(passages, "memory-hungry linker steps")
    assert "Configuration > Pool options" in pools.context
    text = "\n".join(p.context + "\n" + p.text for p in passages)
    for furniture in ("¶", "Skip to content", "copy", "Next:", "Home"):
        assert furniture not in text
    assert "Contents" not in text and "Pool options\n" not in _holding(passages, "Copyright").text  # a TOC
    assert "scheduling in practice" in text  # a sentence with a link is prose, not navigation


def test_lines_code_and_blocks_are_never_glued(passages: list[Passage]) -> None:
    text = "\n".join(p.text for p in passages)
    assert "Maintainers:\nAda Quill\nBen Ortolan" in text  # <br>
    assert "kiln build --jobs 8\nkiln clean --all" in text  # two <code> in one <pre>
    assert "Why pools?\n\nA pool keeps" in text  # <summary> and the <details> body
    assert "Alpha pools run compiler steps first.\n\nBeta pools" in text  # two <p> in a cell


def test_a_layout_table_is_read_as_its_cells_and_a_nested_table_stays_whole(passages: list[Passage]) -> None:
    prose = _holding(passages, "Alpha pools run compiler steps first.")
    assert prose.kind != "table" and "|" not in prose.text
    slots = _holding(passages, "| alpha | 12 |")
    assert slots.kind == "table" and slots.text.startswith("| Pool | Slots |") and "Alpha" not in slots.text


def test_literal_characters_survive_into_what_the_model_reads(passages: list[Passage]) -> None:
    read = "\n".join(view(p.text, 0, len(p.text)) for p in passages)
    assert "kiln_step **steps" in read and "kiln.retry(step[, attempts])" in read  # <code> as written
    assert "pool_size   <integer>" in read  # a type in angle brackets, not taken for a tag
    assert "pool_size" in read


ARTICLE = """<!doctype html><html><head><title>Ferry service resumes</title>
<meta property="og:type" content="article"><meta property="article:published_time" content="2024-03-09">
</head><body><article><h1>Ferry service resumes</h1>
<p class="byline">By <a rel="author" href="/staff/ng">Lin Ng</a></p>
<p>The island ferry resumed its daily crossings on Saturday after a two-week strike by deck crews.</p>
<p>The operator said the first boat left at six with forty passengers and a dozen cars aboard.</p>
<p>Copyright 2001-2024 The Island Courier.</p></article></body></html>"""


def test_an_article_is_still_read_as_one_with_its_date() -> None:
    document = parse("ferry.html", ARTICLE.encode(), ".html")
    assert document.metadata.get("date") == "2024-03-09"
    assert "structure" not in document.metadata  # the article path (trafilatura), not the renderer
    assert "daily crossings on Saturday" in document.text


@pytest.mark.parametrize(
    ("head", "article"),
    [
        ('<meta property="og:type" content="article">', True),
        ('<meta name="author" content="Lin Ng"><meta name="date" content="2024-03-09">', True),
        ('<meta name="date" content="2024-03-09">', False),  # a date alone, outside an <article>
        ('<meta name="description" content="A manual">', False),
    ],
)
def test_an_article_is_told_by_its_markup(head: str, article: bool) -> None:
    page = f"<html><head>{head}</head><body><p>Copyright 1999-2023 the authors.</p></body></html>"
    assert html.is_article(html.parse_tree("page.html", page.encode())) is article


def test_a_page_is_read_as_utf8_without_a_declared_charset_and_bytes_that_are_no_html_are_refused() -> None:
    page = "<html><body><p>Café au lait — naïve</p></body></html>".encode()  # no <meta charset>
    assert parse("cafe.html", page, ".html").text == "Café au lait — naïve\n"
    latin = '<html><head><meta charset="iso-8859-1"></head><body><p>Café</p></body></html>'
    assert parse("latin.html", latin.encode("latin-1"), ".html").text == "Café\n"
    for raw in (b"\x1f\x8b\x08\x00\x00\x00<p>x</p>", b"just words, no markup"):
        with pytest.raises(DocumentError):
            parse("not.html", raw, ".html")


def test_a_header_or_aside_within_the_main_content_is_content_and_the_page_s_own_are_not() -> None:
    page = b"""<html><body><header><a href="/">Site</a> Banner words</header><main><article>
    <header><h1>Install guide</h1></header><p>Run the installer.</p><aside><p>It needs root.</p></aside>
    </article></main><aside>Sidebar words</aside></body></html>"""
    text, _ = html.render_html("guide.html", page)
    assert text == "# Install guide\n\nRun the installer.\n\nIt needs root.\n"


def test_a_contents_list_of_links_and_their_numbers_is_navigation_a_list_with_words_is_not() -> None:
    """A book's or a site's contents page lists its chapters as links beside their numbers
    ("1.2.15"); the list is navigation. A list whose items say something besides the link stays."""
    page = (
        "<html><body><h1>Table of Contents</h1><ol>"
        '<li><a href="intro.html">Introduction</a> <span>1.1</span></li>'
        '<li><a href="loops.html">For loops (part 1)</a> <span>1.2.15</span></li>'
        "</ol><h2>Reading order</h2><ul>"
        '<li><a href="intro.html">Introduction</a> covers installing the tools</li>'
        '<li><a href="loops.html">For loops</a> needs chapter 1.2 first</li></ul></body></html>'
    )
    text, _ = html.render_html("contents.html", page.encode())
    assert "1.2.15" not in text and "For loops (part 1)" not in text
    assert "covers installing the tools" in text and "needs chapter 1.2 first" in text
    # a table of links and figures is data, and a list item of a link and two numbers says more
    table = (
        '<html><body><table><tr><td><a href="red.html">Red</a></td><td>2023</td><td>15200</td></tr>'
        '<tr><td><a href="blue.html">Blue</a></td><td>2024</td><td>48100</td></tr></table>'
        '<ul><li><a href="oslo.html">Oslo</a> 709037 2023</li></ul>'
        '<ul><li><a href="oslo.html">Oslo</a> 709037</li>'
        '<li><a href="bergen.html">Bergen</a> 291940</li></ul>'
        "</body></html>"
    )
    text, _ = html.render_html("scores.html", table.encode())
    assert "| Red | 2023 | 15200 |" in text and "709037 2023" in text and "Bergen 291940" in text
