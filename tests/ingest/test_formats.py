"""HTML and PDF documents: main text, metadata, and citations that still slice the text."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.core.config import Settings
from qa.core.errors import DocumentError
from qa.core.types import Document, page_of
from qa.index.build import build_index
from qa.index.generations import load_generation
from qa.ingest.corpus import load_corpus
from qa.ingest.formats import parse
from qa.ingest.passages import build_passages
from qa.service.engine import open_searcher
from tests.conftest import real_embedder

HTML = """<!doctype html><html><head><title>Harbour bridge reopens</title>
<meta name="author" content="Jane Doe"><meta name="date" content="2024-05-02"></head>
<body><nav><a href="/">Home</a> <a href="/news">News</a></nav>
<article><h1>Harbour bridge reopens</h1>
<p>The harbour bridge reopened on Monday after eighteen months of repairs to its steel cables.</p>
<p>Engineers replaced every suspension cable and repainted the towers in the original grey.</p>
<p>The city council said the repairs cost 42 million euros, less than the first estimate.</p>
</article><footer>Subscribe to our newsletter for more stories.</footer></body></html>"""


def _pdf(pages: list[str]) -> bytes:
    """A minimal, valid PDF with one line of Helvetica text per page (no PDF writer needed); a
    line written "18|1 Pumps" is set in 18-point type, the others in 12; "12b|1 Pumps" in
    Helvetica-Bold."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", ""]
    kids = []
    bold_id = 4 + 2 * len(pages)
    for number, line in enumerate(pages):
        page_id, content_id = 4 + 2 * number, 5 + 2 * number
        kids.append(f"{page_id} 0 R")
        sized = [part.split("|", 1) if "|" in part else ("12", part) for part in line.split("\n")]
        shown = " 0 -20 Td ".join(  # a line per "\n"
            f"/{'F2' if size.endswith('b') else 'F1'} {size.rstrip('b')} Tf ({part}) Tj"
            for size, part in sized
        )
        stream = f"BT /F1 12 Tf 72 720 Td {shown} ET"
        objects += [
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content_id} 0 R "
            f"/Resources << /Font << /F1 3 0 R /F2 {bold_id} 0 R >> >> >>",
            f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
        ]
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(pages)} >>"
    objects.insert(2, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold >>")
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def test_html_main_text_and_metadata(tmp_path: Path) -> None:
    (tmp_path / "bridge.html").write_text(HTML)
    [document] = load_corpus(tmp_path).documents
    assert document.title == "Harbour bridge reopens"
    assert "eighteen months of repairs" in document.text and "Home" not in document.text
    assert document.metadata["author"] == "Jane Doe"


def test_pdf_pages_are_cited(tmp_path: Path) -> None:
    (tmp_path / "report.pdf").write_bytes(
        _pdf(["The turbine hall opened in 1931.", "Its roof was rebuilt in 1998."])
    )
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    report = load_corpus(tmp_path)
    [document] = report.documents
    assert [doc_id for doc_id, _ in report.skipped] == ["broken.pdf"]
    second = document.text.index("Its roof")
    assert page_of(document, second) == 2 and page_of(document, 0) == 1


def test_html_and_pdf_answers_cite_exact_text(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "bridge.html").write_text(HTML)
    (corpus / "report.pdf").write_bytes(
        _pdf(["The turbine hall opened in 1931.", "Its roof was rebuilt in 1998."])
    )
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index").resolved()
    build_index(settings, real_embedder())
    generation = load_generation(settings.index_dir)
    searcher = open_searcher(generation, real_embedder())
    hit = searcher.search("how much did the bridge repairs cost?", 3).hits[0]
    assert "42 million euros" in hit.passage.text
    assert (
        generation.documents[hit.citation.doc_id].text[hit.citation.start : hit.citation.end]
        == hit.passage.text
    )
    roof = searcher.search("when was the roof rebuilt?", 3).hits[0]
    assert roof.citation.doc_id == "report.pdf" and roof.citation.page == 2
    author = searcher.search("who wrote the bridge story?", 3).hits
    assert any("Jane Doe" in h.passage.text and h.passage.kind == "metadata" for h in author)


def test_pdf_furniture_is_never_a_passage_and_broken_words_are_joined() -> None:
    """tests/data/documents/field-manual.pdf: a contents page with dot leaders, a running header
    and a page number on every page, and a word hyphenated across a line break."""
    data = (Path(__file__).resolve().parents[1] / "data" / "documents" / "field-manual.pdf").read_bytes()
    document = parse("manual.pdf", data, ".pdf")
    encoder = real_embedder()
    found = build_passages(document, encoder.count_tokens, encoder.truncate, encoder.max_tokens, 200, 0)
    texts = " ".join(p.text for p in found)
    for furniture in ("Acme Field Manual", "Page 2", "Priming ........ 2"):
        assert furniture in document.text and furniture not in texts
    impeller = next(p for p in found if "impeller" in p.text)
    assert "thinner" in " ".join(impeller.view.split()) and "thin-\nner" in impeller.text
    assert page_of(document, impeller.start) == 3


def test_pdf_page_labels_and_running_headers_that_change_with_the_chapter_are_furniture() -> None:
    """Pages numbered from the third PDF page on (roman numerals before), each chapter's pages
    headed by the chapter's own title and the page number: labels and headers are furniture; a
    sentence at a page's edge that ends in a number, even the page's own, is not."""
    pages = [
        "Pump Handbook\nA field guide\nCD",
        "i\nPreface\nThis handbook describes the pump.",
        "1\n1 Installation\nMount the pump on a level base.",
        "Chapter 1: Installation 2\nTighten the four bolts evenly.",
        "Chapter 1: Installation 3\nCheck the shaft alignment.\nThe bolts take a torque of 3",
        "4\n2 Operation\nPrime the pump before starting.",
        "Chapter 2: Operation 5\nThe seal lasts about 9000 hours of running.\nReplace the seal after year 3",
        "Chapter 2: Operation 6\nDrain the pump before winter.\nSet the gauge to 6",
    ]
    document = parse("handbook.pdf", _pdf(pages), ".pdf")
    encoder = real_embedder()
    found = build_passages(document, encoder.count_tokens, encoder.truncate, encoder.max_tokens, 200, 0)
    read = "\n".join(p.text for p in found)
    assert "Chapter 1" not in read and "Chapter 2: Operation" not in read
    assert not any(line.strip() in ("i", "1", "4") for line in read.splitlines())
    for kept in (
        "1 Installation",
        "Tighten the four bolts",
        "The bolts take a torque of 3",
        "Replace the seal after year 3",
        "Set the gauge to 6",
        "CD",
    ):
        assert kept in read


def test_pdf_headings_are_found_by_type_size_and_passages_carry_their_path() -> None:
    """Lines set larger than the body's type are headings, ranked by size; each passage's context
    is the path of the headings above it, across page breaks; a PDF in one size has none."""
    pages = [
        "20|Pump Handbook\nThis handbook covers installing and running the pump.",
        "16|1 Installation\n14|1.1 Mounting\nMount the pump on a level concrete base.",
        "Tighten the four anchor bolts evenly to the rated torque.\n14|1.2 Wiring",
        "Connect the motor to a fused supply of the rated voltage.\n16|2 Operation",
        "Prime the pump before the first start, or the seal runs dry.",
    ]
    document = parse("handbook.pdf", _pdf(pages), ".pdf")
    names = [(document.text[s:e], level) for s, e, level in document.metadata["pdf_headings"]]
    assert names == [
        ("Pump Handbook", 0),
        ("1 Installation", 1),
        ("1.1 Mounting", 2),
        ("1.2 Wiring", 2),
        ("2 Operation", 1),
    ]
    encoder = real_embedder()
    found = build_passages(document, encoder.count_tokens, encoder.truncate, encoder.max_tokens, 200, 0)
    context = {p.text.split(" ")[0]: p.context for p in found}
    assert context["Mount"] == context["Tighten"] == "Pump Handbook > 1 Installation > 1.1 Mounting"
    assert context["Connect"] == "Pump Handbook > 1 Installation > 1.2 Wiring"  # a page's last line
    assert context["Prime"] == "Pump Handbook > 2 Operation"
    assert not any("1.1 Mounting" in p.text or "2 Operation" in p.text for p in found)
    plain = parse("plain.pdf", _pdf(["The turbine hall opened in 1931.", "Its roof was rebuilt."]), ".pdf")
    assert "pdf_headings" not in plain.metadata


def test_pdf_headings_set_in_bold_body_type_are_headings_too() -> None:
    """Papers and reports set section headings in bold type the body's size ("1. Introduction"):
    a line in bold throughout is a heading, below any set larger, and in one size a heading's
    number ranks it ("1.1." under "1.")."""
    pages = [
        "16|Pump Handbook\n12b|1. Installation\nMount the pump on a level concrete base.",
        "Tighten the four anchor bolts evenly.\n12b|1.1. Wiring\nConnect the motor to a fused supply.",
        "12b|2. Operation\nPrime the pump before the first start.",
    ]
    document = parse("handbook.pdf", _pdf(pages), ".pdf")
    names = [(document.text[s:e], level) for s, e, level in document.metadata["pdf_headings"]]
    assert names == [("Pump Handbook", 0), ("1. Installation", 1), ("1.1. Wiring", 2), ("2. Operation", 1)]
    encoder = real_embedder()
    found = build_passages(document, encoder.count_tokens, encoder.truncate, encoder.max_tokens, 200, 0)
    context = {p.text.split(" ")[0]: p.context for p in found}
    assert context["Mount"] == "Pump Handbook > 1. Installation"
    assert context["Connect"] == "Pump Handbook > 1. Installation > 1.1. Wiring"
    assert context["Prime"] == "Pump Handbook > 2. Operation"


def test_pdf_section_numbers_on_lines_of_their_own_are_no_page_labels() -> None:
    """A report whose last sections take a page each, each section's number set on a line of its
    own at the top ("4." on the ninth page): the numbers keep step with the pages, but "4." is no
    page label."""
    words = ["north", "south", "east", "west", "coast", "hills", "river", "lakes", "plain", "woods", "ridge"]
    pages = [
        f"The {word} stores opened early.\nStaff at the {word} site counted stock." for word in words[:8]
    ]
    titles = ["Store sales", "Holiday weeks", "Monthly view", "Outliers"]
    pages += [
        f"{number}.\n14|{title}\nThe {words[number + 3]} stores sold more.\nTheir stock ran out twice."
        for number, title in zip(range(4, 8), titles, strict=True)
    ]
    document = parse("report.pdf", _pdf(pages), ".pdf")
    furniture = [document.text[start:end] for start, end in document.metadata["furniture"]]
    assert not any(line.rstrip(".").isdigit() for line in furniture), furniture
    names = [document.text[start:end] for start, end, _ in document.metadata["pdf_headings"]]
    assert names == titles  # the number above each is one line of figures, no chart


def test_pdf_chart_labels_drawn_as_text_are_no_headings() -> None:
    """A plot drawn as text (a matplotlib figure in a paper): its axis title and legend set large
    beside the ticks' lines of figures are a chart's labels, not headings that every later passage
    would carry; the section headings around it still are."""
    pages = [
        "16|Survey Report\n14|1 Households\nMost households in the survey own their home outright.",
        "1990 2000 2010 2020\n 0%\n 5%\n10%\n18|Share of households\n18|Urban\n18|Rural\n"
        "Figure 1. Home ownership by decade.\n14|2 Method\nThe survey asked four thousand households.",
    ]
    document = parse("report.pdf", _pdf(pages), ".pdf")
    names = [document.text[s:e] for s, e, _ in document.metadata["pdf_headings"]]
    assert names == ["Survey Report", "1 Households", "2 Method"]
    encoder = real_embedder()
    found = build_passages(document, encoder.count_tokens, encoder.truncate, encoder.max_tokens, 200, 0)
    method = next(p for p in found if "four thousand" in p.text)
    assert method.context == "Survey Report > 2 Method"


def test_pdf_headings_beside_a_line_of_figures_are_still_headings() -> None:
    """One line of figures is no chart: a table's last row, a page's number at its foot, or a
    row of figures a few lines of body type above a heading leave the heading a heading."""
    table = ["Yields by year\n2021 2022 2023\nWheat 120 130 140\n14|Discussion\nYields rose every year."]
    page_foot = ["Mount the pump on a level base.\n1", "14|Maintenance\nDrain the pump before winter."]
    body = "The survey asked every household about its home and"
    wrapped = [f"The scores were\n0.91 0.88 0.93\n{body}\n{body}\n{body}\n14|Conclusion\nScores held."]
    for pages, heading in ((table, "Discussion"), (page_foot, "Maintenance"), (wrapped, "Conclusion")):
        document = parse("report.pdf", _pdf(pages), ".pdf")
        names = [document.text[s:e] for s, e, _ in document.metadata.get("pdf_headings", [])]
        assert heading in names, (heading, names)


def test_pdf_ligatures_are_spelled_out_for_the_model_and_keyword_search(tmp_path: Path) -> None:
    """Helvetica's "fi" and "fl" glyphs (StandardEncoding 0o256, 0o257), which pypdf extracts as
    U+FB01 and U+FB02: the model's vocabulary has neither, and "ﬁeld" never matched "field"."""
    line = "The \\256eld of\\256ce checks the \\257ow meter \\256rst."
    data = _pdf([f"Pump room notes\n{line}", "The pump room is cleaned every Friday."])
    document = parse("meter.pdf", data, ".pdf")
    assert "The field office checks the flow meter first." in document.text
    assert not any("\ufb00" <= char <= "\ufb06" for char in document.text)
    (tmp_path / "meter.pdf").write_bytes(data)
    settings = Settings(corpus_dir=tmp_path, index_dir=tmp_path / "index")
    build_index(settings, real_embedder())
    searcher = open_searcher(load_generation(settings.index_dir), real_embedder(), settings)
    [hit] = searcher.search("who checks the flow meter in the field?", 1, "keyword").hits
    assert "The field office" in hit.passage.text and hit.citation.page == 1


def test_pdf_contents_entries_without_leaders_are_furniture_and_never_read() -> None:
    """A contents page whose chapters are set without dot leaders among their dotted sections:
    every entry is furniture; a passage that spans one (between two paragraphs of the page)
    reads it blanked, its citation still the page's text."""
    page = "\n".join(
        [
            "Pump Handbook",
            "This handbook covers installing and running the pump.",
            "1 Installation 1",
            "1.1 Mounting . . . . . . . . 1",
            "1.2 Wiring . . . . . . . . 2",
            "2 Operation 3",
            "2.1 Priming . . . . . . . . 3",
            "Read the safety notes before you start.",
        ]
    )
    document = parse("handbook.pdf", _pdf([page, "Mount the pump on a level base."]), ".pdf")
    furniture = {document.text[start:end] for start, end in document.metadata["furniture"]}
    assert {"1 Installation 1", "2 Operation 3", "1.2 Wiring . . . . . . . . 2"} <= furniture
    assert not furniture & {"Pump Handbook", "This handbook covers installing and running the pump."}
    encoder, settings = real_embedder(), Settings()
    found = build_passages(
        document, encoder.count_tokens, encoder.truncate, encoder.max_tokens, 200, settings.chunk_min_chars
    )
    spanning = [p for p in found if "2 Operation 3" in p.text]
    assert spanning, "the page's short paragraphs merge into one passage around its contents"
    for passage in spanning:
        assert document.text[passage.start : passage.end] == passage.text
        read = passage.embedding_text
        assert "safety notes" in read and "covers installing" in read
        assert "Operation" not in read and "Wiring" not in read and "Installation" not in read


def test_html_documentation_keeps_definition_lists_code_and_the_text_around_it() -> None:
    documents = Path(__file__).resolve().parents[1] / "data" / "documents"
    basics = parse("basics.html", (documents / "libffi-the-basics.html").read_bytes(), ".html")
    assert basics.title.startswith("The Basics")
    assert "\nFunction: ffi_status ffi_prep_cif (" in basics.text  # a <dt> term
    assert "\n: This initializes cif according to the given parameters." in basics.text  # its <dd>
    assert "If the function being called is variadic" in basics.text  # text between definitions
    example = parse("example.html", (documents / "libffi-simple-example.html").read_bytes(), ".html")
    assert "Here is a trivial example that calls `puts` a few times." in example.text  # <code>: a code span
    encoder = real_embedder()
    found = build_passages(example, encoder.count_tokens, encoder.truncate, encoder.max_tokens, 200, 120)
    assert any(p.kind == "code" and "ffi_call(&cif, puts, &rc, values);" in p.text for p in found)
    assert all(example.text[p.start : p.end] == p.text for p in found)


def test_a_parser_library_raising_its_own_error_is_a_document_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Wiring (a stand-in parser, as no real file is known to break a library): whatever a
    parser's library raises on odd input reaches the caller as a DocumentError naming the file."""
    from dataclasses import dataclass

    from qa.ingest import formats

    @dataclass(frozen=True)
    class Broken:
        name: str = "broken"
        version: int = 1

        def parse(self, doc_id: str, data: bytes) -> Document:
            raise KeyError("word/document.xml")

    monkeypatch.setitem(formats.PARSERS, ".docx", Broken())
    with pytest.raises(DocumentError, match=r"odd\.docx: could not be read as \.docx \(KeyError\)"):
        formats.parse("odd.docx", b"PK\x03\x04", ".DOCX")
