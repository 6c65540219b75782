"""EPUB books, PowerPoint decks and Excel workbooks: rendered to Markdown, read by structure."""

from __future__ import annotations

import codecs
import io
import zipfile
from pathlib import Path

import pytest

from qa.core.errors import DocumentError
from qa.core.types import page_of
from qa.ingest.formats import load_file, parse
from tests.ingest.test_renderers import DOCUMENTS, passages, passages_of

BOOK = "fidus-manual.epub"
DECK = "if-else-slides.pptx"


def test_epub_chapters_in_reading_order_each_its_own_heading_path() -> None:
    document = load_file(DOCUMENTS / BOOK, BOOK)
    assert document.title == "The Fidus Writer User Manual"
    assert document.metadata["author"] == "Simon Worthington; Johannes Wilm"
    text = document.text
    # the spine's order: the title page, then the chapters
    assert text.index("A guide to using Fidus Writer") < text.index("What you will learn here")
    assert text.index("What you will learn here") < text.index("Permissions on Bibiographies")
    # the navigation document (a table of contents, links only) is not read
    assert "Table of Contents" not in text and "<" not in text.replace("`<", "")
    found = passages(BOOK)
    contexts = {p.context for p in found}
    # a chapter opening with a level-2 heading starts its own path, not one under the last chapter's
    assert "Citations > Zotero" in contexts
    assert not any(c.startswith("Setup: 3 steps > Citations") for c in contexts)
    workflow = next(p for p in found if "Editor in Chief creates 'design' branch" in p.text)
    assert workflow.context.startswith("Setup: 3 steps")


def _zip(members: dict[str, str]) -> bytes:
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w") as book:
        book.writestr("mimetype", "application/epub+zip")
        for name, content in members.items():
            book.writestr(name, content)
    return output.getvalue()


CONTAINER = (
    '<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container" version="1.0"><rootfiles>'
    '<rootfile full-path="OEBPS/book.opf" media-type="application/oebps-package+xml"/>'
    "</rootfiles></container>"
)


def _package(spine: list[tuple[str, str, str]]) -> str:
    items = "".join(
        f'<item id="{ident}" href="{href}" media-type="application/xhtml+xml" properties="{props}"/>'
        for ident, href, props in spine
    )
    refs = "".join(f'<itemref idref="{ident}"/>' for ident, _, _ in spine)
    return (
        '<package xmlns="http://www.idpf.org/2007/opf" version="3.0"><metadata '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Kiln Notes</dc:title></metadata>'
        f"<manifest>{items}</manifest><spine>{refs}</spine></package>"
    )


def _chapter(body: str) -> str:
    return f'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body>{body}</body></html>'


def test_epub_built_by_hand_reads_its_spine_not_its_file_order() -> None:
    data = _zip(
        {
            "META-INF/container.xml": CONTAINER,
            "OEBPS/book.opf": _package(
                [("nav", "nav.xhtml", "nav"), ("b", "two%20b.xhtml", ""), ("a", "one.xhtml", "")]
            ),
            "OEBPS/nav.xhtml": _chapter('<nav><ol><li><a href="one.xhtml">Firing</a></li></ol></nav>'),
            "OEBPS/one.xhtml": _chapter("<h2>Firing</h2><p>Fire the kiln to cone six.</p>"),
            "OEBPS/two b.xhtml": _chapter("<h1>Loading</h1><p>Load the shelves from the back.</p>"),
        }
    )
    document = parse("kiln.epub", data, ".epub")
    assert document.title == "Kiln Notes"
    assert document.text == (
        "# Loading\n\nLoad the shelves from the back.\n\n# Firing\n\nFire the kiln to cone six.\n"
    )


def test_epub_without_a_real_title_is_titled_by_its_file_name() -> None:
    """calibre writes "Unknown" for a missing author, GitBook "Table of Contents" for the title."""
    package = _package([("a", "one.xhtml", "")]).replace("Kiln Notes", "Table of Contents")
    package = package.replace("</dc:title>", "</dc:title><dc:creator>Unknown</dc:creator>")
    members = {"META-INF/container.xml": CONTAINER, "OEBPS/book.opf": package}
    data = _zip({**members, "OEBPS/one.xhtml": _chapter("<h1>Firing</h1><p>Cone six.</p>")})
    document = parse("books/kiln-notes.epub", data, ".epub")
    assert document.title == "kiln-notes" and "author" not in document.metadata


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"not a zip at all", "not a zip archive"),
        (_zip({"OEBPS/one.xhtml": _chapter("<p>x</p>")}), "META-INF/container.xml is missing"),
        (_zip({"META-INF/container.xml": CONTAINER, "OEBPS/book.opf": _package([])}), "spine lists no XHTML"),
        (
            _zip(
                {
                    "META-INF/container.xml": CONTAINER,
                    "OEBPS/book.opf": _package([("a", "one.xhtml", "")]),
                    "OEBPS/one.xhtml": "\x8a\x13 ciphertext",
                    "META-INF/encryption.xml": (
                        '<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
                        'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData>'
                        '<enc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>'
                        '<enc:CipherData><enc:CipherReference URI="OEBPS/one.xhtml"/></enc:CipherData>'
                        "</enc:EncryptedData></encryption>"
                    ),
                }
            ),
            "encrypted (DRM",
        ),
        (
            _zip(
                {
                    "META-INF/container.xml": CONTAINER,
                    "OEBPS/book.opf": _package([("a", "one.xhtml", "")]),
                    "OEBPS/one.xhtml": _chapter('<img src="cover.jpg"/>'),
                }
            ),
            "holds no text",
        ),
    ],
    ids=["not-zip", "no-container", "empty-spine", "drm", "images-only"],
)
def test_epub_that_cannot_be_read_says_why(data: bytes, reason: str) -> None:
    with pytest.raises(DocumentError, match=r"book\.epub") as raised:
        parse("book.epub", data, ".epub")
    assert reason in str(raised.value)


def test_epub_that_would_inflate_past_the_limit_is_refused_before_it_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from qa.ingest import archives

    chapter = _chapter("<p>" + "Fire the kiln to cone six. " * 40 + "</p>")
    members = {"META-INF/container.xml": CONTAINER, "OEBPS/book.opf": _package([("a", "one.xhtml", "")])}
    data = _zip({**members, "OEBPS/one.xhtml": chapter})
    monkeypatch.setattr(archives, "MAX_INFLATED_BYTES", len(chapter) - 1)
    with pytest.raises(DocumentError, match="inflate to more than"):
        parse("book.epub", data, ".epub")
    monkeypatch.setattr(archives, "MAX_INFLATED_BYTES", len(CONTAINER) - 1)
    with pytest.raises(DocumentError, match=r"container\.xml inflates to more than"):
        parse("book.epub", data, ".epub")
    monkeypatch.setattr(archives, "MAX_INFLATED_BYTES", len(chapter))
    assert "cone six" in parse("book.epub", data, ".epub").text


def test_pptx_a_section_and_a_page_per_slide() -> None:
    document = load_file(DOCUMENTS / DECK, DECK)
    assert document.title == "If, If-Else, and If-Else-If Statements"
    assert len(document.metadata["page_starts"]) == 19
    text = document.text
    assert "CSCI 1301" not in text  # the footer on every slide is furniture
    assert "## Conditional Execution" in text
    assert "Speaker notes:\n\nElse has no condition" in text
    table = "| myIntVar | myStringVar | myBoolVar | x |\n| --- | --- | --- | --- |\n"
    table += "| 12 | “Yes” | true | 20 |"
    assert table in text
    found = passages(DECK)
    for passage in found:  # a passage never crosses a slide, and its page is its slide
        assert page_of(document, passage.start) == page_of(document, passage.end - 1)
    code = next(p for p in found if 'Console.WriteLine("You can vote!");' in p.text)
    assert code.kind == "code" and '```\nConsole.WriteLine("Enter your age");' in code.text
    assert code.context == "Conditional Execution" and page_of(document, code.start) == 3
    notes = next(p for p in found if "Else has no condition" in p.text)
    assert notes.context == "If-Else Statements" and "Choose which code to execute" in notes.text
    # consecutive slides under one title are sections of their own, each on its page
    nesting = [p for p in found if p.context == "Nesting If Statements"]
    assert len(nesting) >= 2 and len({page_of(document, p.start) for p in nesting}) == 2
    # the outline, shown again before each part, is read once; its repeats keep heading and page
    outline = "- If and if-else statements\n- Nested if statements\n- If-else-if statements"
    assert text.count("## Outline") == 3 and text.count(outline) == 1
    assert [page_of(document, p.start) for p in found if p.context == "Outline"] == [2]


def test_pptx_built_by_hand(tmp_path: Path) -> None:
    """Untitled slides, PowerPoint's default deck title, grouped shapes and a table."""
    import pptx
    from pptx.util import Inches

    deck = pptx.Presentation()
    deck.core_properties.title = "PowerPoint Presentation"
    first = deck.slides.add_slide(deck.slide_layouts[1])
    first.shapes.title.text = "Glaze firing"
    first.placeholders[1].text_frame.text = "Cone 6 is about 1,220 °C"
    blank = deck.slides.add_slide(deck.slide_layouts[6])
    group = blank.shapes.add_group_shape()
    group.shapes.add_textbox(Inches(1), Inches(1), Inches(3), Inches(1)).text_frame.text = "- not a list"
    table = blank.shapes.add_table(2, 2, Inches(1), Inches(3), Inches(4), Inches(1)).table
    for (row, column), value in {(0, 0): "Cone", (0, 1): "°C", (1, 0): "6", (1, 1): "1220"}.items():
        table.cell(row, column).text = value
    output = io.BytesIO()
    deck.save(output)
    document = parse("glaze.pptx", output.getvalue(), ".pptx")
    assert document.title == "Glaze firing"
    assert document.text == (
        "## Glaze firing\n\n- Cone 6 is about 1,220 °C\n\n## Slide 2\n\n\\- not a list\n\n"
        "| Cone | °C |\n| --- | --- |\n| 6 | 1220 |\n"
    )
    assert document.metadata["page_starts"] == [0, document.text.index("## Slide 2")]
    with pytest.raises(DocumentError, match=r"glaze\.pptx: not a PowerPoint file \(not a readable zip"):
        parse("glaze.pptx", b"PK\x03\x04 broken", ".pptx")


def _workbook() -> bytes:
    """A workbook of real data: an empty first sheet, the first rows of the S&P 500 table
    (tests/data, PDDL) on the second, typed cells on the third."""
    import csv
    import datetime

    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "Cover"
    companies = book.create_sheet("Companies")
    with (DOCUMENTS / "sp500-companies.csv").open(encoding="utf-8", newline="") as table:
        for row in list(csv.reader(table))[:40]:
            companies.append(row)
    figures = book.create_sheet("Figures <2024>")
    figures.append(["Year", "Revenue", "Share", "Checked", "Closed", None, None])
    figures.append([2023, 1234.5, 0.1 + 0.2, True, datetime.datetime(2024, 1, 31), None, None])
    figures.append([None, None, None])
    figures.append([2024, 3.0, 1e-7, False, datetime.datetime(2024, 6, 30, 17, 5)])
    figures.append(["Shift", datetime.timedelta(days=1, hours=6, seconds=5)])
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


def test_xlsx_a_section_a_sheet_its_cells_as_excel_shows_them() -> None:
    document = parse("reports/sp500.xlsx", _workbook(), ".xlsx")
    assert document.title == "sp500"
    text = document.text
    # the empty sheet keeps its heading and its page, so each sheet's page is its place
    assert text.startswith("## Cover\n\n## Companies\n\n| Symbol | Security | GICS Sector |")
    assert "## Figures <2024>" in text
    assert "| 2023 | 1234.5 | 0.3 | TRUE | 2024-01-31 |" in text
    assert "| 2024 | 3 | 1e-07 | FALSE | 2024-06-30 17:05:00 |" in text
    assert "| Shift | 30:00:05 |" in text
    starts = [0, text.index("## Companies"), text.index("## Figures")]
    assert document.metadata["page_starts"] == starts
    found = passages_of(document)
    assert {p.kind for p in found} == {"table"} and len(found) >= 2
    for passage in found:  # every piece of a sheet carries its header, and its page is its sheet
        assert page_of(document, passage.start) == page_of(document, passage.end - 1)
    abbott = next(p for p in found if "| ABT | Abbott |" in p.text)
    assert "Symbol | Security" in abbott.context and page_of(document, abbott.start) == 2
    with pytest.raises(DocumentError, match=r"sp500\.xlsx: not an Excel workbook \(not a readable zip"):
        parse("sp500.xlsx", b"PK\x03\x04 broken", ".xlsx")


def test_a_library_failing_on_odd_input_is_a_document_error_naming_the_file() -> None:
    """A chapter stored with a compression zipfile cannot inflate (Deflate64) makes the library
    raise its own error; it reaches the caller as the book's reason to be skipped, naming the
    chapter, never a crash and never a book silently short of a chapter."""
    import struct

    members = {
        "META-INF/container.xml": CONTAINER,
        "OEBPS/book.opf": _package([("a", "one.xhtml", "")]),
        "OEBPS/one.xhtml": _chapter("<p>Fire the kiln.</p>"),
    }
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_STORED) as book:
        for name, content in members.items():
            book.writestr(name, content)
    data = bytearray(output.getvalue())
    name = b"OEBPS/one.xhtml"
    local = data.index(name, data.index(b"PK\x03\x04")) - 30
    central = data.index(b"PK\x01\x02", data.index(name) + len(name))
    central = data.index(name, central) - 46
    struct.pack_into("<H", data, local + 8, 9)  # Deflate64
    struct.pack_into("<H", data, central + 10, 9)
    with pytest.raises(DocumentError, match=r"book\.epub: not a readable EPUB \(OEBPS/one\.xhtml: NotImpl"):
        parse("book.epub", bytes(data), ".epub")


def test_xlsx_is_read_as_its_cells_are_not_as_its_stated_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """A sheet may state A1:XFD1048576 in a few kilobytes; its cells are read as the file holds
    them, and a workbook over the cell budget is refused."""
    import openpyxl

    from qa.ingest import spreadsheets

    book = openpyxl.Workbook()
    book.active["A1"], book.active["A2000"] = "first", "last"
    output = io.BytesIO()
    book.save(output)
    data = output.getvalue()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(output := io.BytesIO(), "w") as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = content.replace(b'ref="A1:A2000"', b'ref="A1:XFD1048576"')
                assert b"XFD1048576" in content
            target.writestr(info, content)
    document = parse("stated.xlsx", output.getvalue(), ".xlsx")
    assert document.text == "## Sheet\n\n| first |\n| --- |\n| last |\n"
    monkeypatch.setattr(spreadsheets, "MAX_CELLS", 1)
    with pytest.raises(DocumentError, match="more than 1 cells"):
        parse("stated.xlsx", output.getvalue(), ".xlsx")


def test_office_files_that_would_inflate_past_the_limit_are_refused_before_they_are_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from qa.ingest import archives

    monkeypatch.setattr(archives, "MAX_INFLATED_BYTES", 1000)
    for name, what in (("if-else-slides.pptx", "a PowerPoint file"), ("pump.docx", "a Word document")):
        with pytest.raises(DocumentError, match=f"{what} that inflates to more than 1,000 bytes"):
            load_file(DOCUMENTS / name, name)
    with pytest.raises(DocumentError, match="an Excel workbook that inflates"):
        parse("sp500.xlsx", _workbook(), ".xlsx")


def test_pptx_tables_escaped_and_deep_bullets_nested_one_step_at_a_time() -> None:
    import pptx
    from pptx.util import Inches

    deck = pptx.Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[5])
    slide.shapes.title.text = "Keys"
    table = slide.shapes.add_table(2, 2, Inches(1), Inches(2), Inches(4), Inches(1)).table
    for (row, column), value in {
        (0, 0): "Key",
        (0, 1): "Meaning",
        (1, 0): "<style>",
        (1, 1): "read after",
    }.items():
        table.cell(row, column).text = value
    frame = slide.shapes.add_textbox(Inches(1), Inches(4), Inches(6), Inches(2)).text_frame
    frame.text = "Intro line"
    for level, text in ((2, "deep point"), (3, "deeper point"), (1, "back up")):
        paragraph = frame.add_paragraph()
        paragraph.text, paragraph.level = text, level
    output = io.BytesIO()
    deck.save(output)
    document = parse("keys.pptx", output.getvalue(), ".pptx")
    assert "| `<style>` | read after |" in document.text
    assert "Intro line\n\n- deep point\n  - deeper point\n- back up" in document.text
    found = passages_of(document)
    assert all(p.kind != "code" for p in found)
    read = " ".join(" ".join((p.view or p.text).split()) for p in found)
    assert "<style> read after" in read and "deep point deeper point back up" in read


def test_epub_chapters_headed_by_their_title_decoded_as_declared_and_none_missing() -> None:
    utf16 = _chapter("<p>Glazes crawl when the bisque is dusty.</p>").replace(
        "<body>", "<head><title>Glazes</title></head><body>"
    )
    latin = (
        '<?xml version="1.0" encoding="windows-1252"?><html><body><h1>Caf\xe9</h1><p>Tea.</p></body></html>'
    )
    spine = [("a", "one.xhtml", ""), ("b", "two.xhtml", ""), ("c", "three.xhtml", "")]
    members = {
        "META-INF/container.xml": CONTAINER,
        "OEBPS/book.opf": _package(spine),
        "OEBPS/one.xhtml": _chapter("<h1>Firing</h1><p>Fire the kiln to cone six.</p>"),
    }
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w") as book:
        for name, content in members.items():
            book.writestr(name, content)
        book.writestr("OEBPS/two.xhtml", codecs.BOM_UTF16_LE + utf16.encode("utf-16-le"))
        book.writestr("OEBPS/three.xhtml", latin.encode("windows-1252"))
    document = parse("kiln.epub", output.getvalue(), ".epub")
    assert document.text == (
        "# Firing\n\nFire the kiln to cone six.\n\n# Glazes\n\nGlazes crawl when the bisque is dusty.\n\n"
        "# Caf\u00e9\n\nTea.\n"
    )
    assert [p.context for p in passages_of(document)] == ["Firing", "Glazes", "Caf\u00e9"]
    members["OEBPS/book.opf"] = _package([*spine[:1], ("d", "gone.xhtml", "")])
    with pytest.raises(
        DocumentError, match=r"kiln\.epub: not a readable EPUB \(OEBPS/gone\.xhtml is missing\)"
    ):
        parse("kiln.epub", _zip(members), ".epub")


def test_eml_headers_body_and_attachments_named() -> None:
    """Real messages (the Ruby mail gem's fixtures, MIT): a plain-text message with a PDF
    attached, an HTML-only one, one whose MIME boundary is never opened, one in ISO-2022-JP, one
    whose Outlook boundary is unquoted."""
    document = load_file(DOCUMENTS / "attachment-pdf.eml", "attachment-pdf.eml")
    assert document.title == "Another PDF with 🎉 Unicode chars in it 🍿"
    assert document.text.startswith(
        "From: Test Tester <xxxx@xxxx.com>\nTo: xxxx@xxxx.com, xxxx@xxxx.com\nDate: "
    )
    assert "Just attaching another PDF, here," in document.text and document.text.endswith(
        "Attachments: broken.pdf\n"
    )
    assert "JVBERi" not in document.text  # the attachment's base64 is not read
    found = passages_of(document)
    assert any("to see what the message looks like" in p.text for p in found)
    html_only = load_file(DOCUMENTS / "html-only.eml", "html-only.eml")
    assert html_only.title == "Re: We will help you refinance your home."
    assert html_only.metadata.get("structure") == "markdown"
    read = " ".join(" ".join((p.view or p.text).split()) for p in passages_of(html_only))
    assert (
        "<abhijit.862153drinnan@datavalet.com>" in read and "You have qualified for the lowest rate" in read
    )
    assert "<br" not in read and "=20" not in read
    with pytest.raises(DocumentError, match=r"broken-mime\.eml: nothing to read .* MIME structure is broken"):
        load_file(DOCUMENTS / "broken-mime.eml", "broken-mime.eml")
    with pytest.raises(DocumentError, match=r"empty\.eml: not an e-mail message"):
        parse("empty.eml", b"", ".eml")
    with pytest.raises(DocumentError, match=r"pump\.eml: not an e-mail message \(no From"):
        parse("pump.eml", (DOCUMENTS / "pump.docx").read_bytes(), ".eml")  # any bytes are no message
    # a charset decoded (ISO-2022-JP), an Outlook boundary left unquoted read whole
    japanese = load_file(DOCUMENTS / "iso-2022-jp.eml", "iso-2022-jp.eml")
    assert japanese.title == "まみむめも" and "すみません。" in japanese.text and "$B" not in japanese.text
    outlook = load_file(DOCUMENTS / "outlook-boundary.eml", "outlook-boundary.eml")
    assert "This is an outlook test" in outlook.text and "NextPart" not in outlook.text


def test_eml_every_text_part_read_alternatives_chosen_attachments_and_forwards_named() -> None:
    from email.message import EmailMessage

    def message(subject: str) -> EmailMessage:
        made = EmailMessage()
        made["Subject"], made["From"] = subject, "Ann <ann@example.org>"
        return made

    inner = message("Kiln schedule")
    inner.set_content("INNER BODY of the forwarded message\n")
    outer = message("Fwd: kiln")
    outer.set_content("See the message below, caf\u00e9 d\u00e9j\u00e0 ferm\u00e9.\n", cte="quoted-printable")
    outer.add_attachment(inner)  # a forwarded message, no file name
    outer.add_attachment(b"\x89PNG", maintype="image", subtype="png", filename="kiln.png")
    document = parse("fwd.eml", bytes(outer), ".eml")
    assert "See the message below, café déjà fermé." in document.text and "=C3" not in document.text
    assert "INNER BODY" not in document.text
    assert document.text.endswith('Attachments: forwarded message "Kiln schedule", kiln.png\n')
    # of alternatives, the plain text when it says anything, else the HTML; every inline text part
    mixed = message("Glazes")
    mixed.set_content("\n")
    mixed.add_alternative("<p>Glazes crawl when the bisque is <b>dusty</b>.</p>", subtype="html")
    mixed.make_mixed()
    tail = EmailMessage()
    tail.set_content("Second part: wipe the bisque first.\n")
    mixed.attach(tail)
    document = parse("glazes.eml", bytes(mixed), ".eml")
    assert "Glazes crawl when the bisque is dusty." in document.text and "\n\n\n" not in document.text
    assert document.text.index("dusty") < document.text.index("Second part: wipe the bisque first.")
    # a message that is itself an attachment is named
    only = message("Logs")
    only.set_content(b"\x1f\x8b", maintype="application", subtype="gzip", filename="logs.gz")
    assert parse("logs.eml", bytes(only), ".eml").text.endswith("Attachments: logs.gz\n")
    # nesting too deep to read is refused, not a crash
    deep = b"From: a@b\nContent-Type: multipart/mixed; boundary=b0\n\n"
    for level in range(1, 3000):
        deep += f"--b{level - 1}\nContent-Type: multipart/mixed; boundary=b{level}\n\n".encode()
    with pytest.raises(DocumentError, match=r"deep\.eml"):
        parse("deep.eml", deep, ".eml")
