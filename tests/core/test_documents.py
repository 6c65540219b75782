"""Loading a corpus folder: ids, titles, front matter, and files that cannot be read."""

from __future__ import annotations

from pathlib import Path

from qa.core.types import Document, cite
from qa.ingest.corpus import load_corpus
from qa.ingest.formats import parse_text
from tests.conftest import ARTICLE


def test_article_loads_byte_for_byte(tmp_path: Path) -> None:
    (tmp_path / "news").mkdir()
    (tmp_path / "news" / "a.txt").write_bytes(ARTICLE.read_bytes())
    report = load_corpus(tmp_path)
    [document] = report.documents
    assert document.doc_id == "news/a.txt"
    assert document.text == ARTICLE.read_text(encoding="utf-8")
    assert document.title == "China Promotes Global AI Cooperation With New Shanghai Declaration"


def test_title_from_front_matter_and_markdown_heading(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text('---\ntitle: "From front matter"\nauthor: Ann\n---\n# Heading\n\nBody.\n')
    (tmp_path / "b.md").write_text("\n\n# Only a heading\n\nBody text.\n")
    documents = {d.doc_id: d for d in load_corpus(tmp_path).documents}
    assert documents["a.md"].title == "From front matter"
    assert documents["a.md"].metadata["author"] == "Ann"
    assert documents["b.md"].title == "Only a heading"


def test_invalid_utf8_is_skipped_and_reported(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("Fine text.\n")
    (tmp_path / "bad.txt").write_bytes(b"caf\xe9 latin-1 text\n")
    (tmp_path / "ignored.bin").write_bytes(b"\x00\x01")
    report = load_corpus(tmp_path)
    assert [d.doc_id for d in report.documents] == ["good.txt"]
    assert report.skipped and report.skipped[0][0] == "bad.txt" and "UTF-8" in report.skipped[0][1]


def test_line_numbers_count_crlf_once() -> None:
    document = parse_text("x.txt", "one\r\ntwo\r\nthree")
    assert document.line_at(document.text.index("three")) == 3


def test_front_matter_cannot_set_internal_metadata(tmp_path: Path) -> None:
    """Keys the parsers set (pages, structure, where the body starts) are not taken from the file;
    ``layout`` is the document's own choice of layout and is (docs/guide.md)."""
    front = "---\ntitle: T\npage_starts: 3\nstructure: pdf\nbody_start: 0\nlayout: plain\n---\n"
    (tmp_path / "a.md").write_text(front + "Body text.\n")
    [document] = load_corpus(tmp_path).documents
    assert "page_starts" not in document.metadata
    assert document.metadata["structure"] == "markdown" and document.metadata["body_start"] == len(front)
    assert document.metadata["layout"] == "plain"


def test_unparseable_pdf_is_skipped_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "bad.pdf").write_bytes(
        b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >> endobj\ntrailer <<>>\n"
    )
    (tmp_path / "ok.txt").write_text("Fine.\n")
    report = load_corpus(tmp_path)
    assert [d.doc_id for d in report.documents] == ["ok.txt"] and report.skipped[0][0] == "bad.pdf"


def test_citation_lines_are_those_counted_from_the_start() -> None:
    """cite() finds line numbers among the document's line breaks, found once; they are the
    breaks counted from the start, at every offset, CRLF and empty lines included."""

    def line_of(text: str, offset: int) -> int:  # a scan from the start, as cite() once did
        return text.count("\n", 0, offset) + 1

    for text in ("", "one line", "\n", "a\nb\r\nc\n\n\nd\n", "\n\nstarts late\r\n"):
        document = Document("d.txt", "d", text)
        for start in range(len(text) + 1):
            for end in range(start, len(text) + 1):
                citation = cite(document, start, end)
                assert citation.line_start == line_of(text, start)
                assert citation.line_end == line_of(text, max(start, end - 1))
