"""Damaged and hostile files of the zip formats: every one either parses or is refused with a
DocumentError naming it, never another exception (seeded mutations of real test files: a part
cut, repeated, spliced with markup from another format or an entity bomb, or overwritten with
random bytes)."""

from __future__ import annotations

import io
import random
import zipfile

import pytest

from qa.core.errors import DocumentError
from qa.ingest.formats import parse
from tests.ingest.test_books_and_slides import _workbook
from tests.ingest.test_renderers import DOCUMENTS

SPLICED = (
    b"<a:p><a:r><a:t>x</a:t></a:r></a:p>",
    b'<row r="99999999"><c r="A99999999"><v>1</v></c></row>',
    b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>',
    b"&b;",
    b"<h1>",
    b"</body>",
    b"\x00",
    b'<c r="XFD1"><v>2</v></c>',
)
MUTATIONS = 60  # a format


def _mutated(data: bytes, rng: random.Random) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    parts = [
        info.filename
        for info in source.infolist()
        if info.filename.endswith((".xml", ".xhtml", ".opf", ".rels"))
    ]
    target = rng.choice(parts)
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as mutated:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == target and content:
                start = rng.randrange(len(content))
                end = min(len(content), start + rng.randrange(1, 200))
                content = rng.choice(
                    [
                        content[:start] + content[end:],
                        content[:start] + content[start:end] * rng.randrange(2, 50) + content[end:],
                        content[:start] + rng.choice(SPLICED) + content[start:],
                        content[:start] + rng.randbytes(end - start) + content[end:],
                    ]
                )
            mutated.writestr(info, content)
    return output.getvalue()


@pytest.mark.parametrize("suffix", [".pptx", ".epub", ".xlsx", ".docx"])
def test_a_damaged_file_parses_or_is_refused_with_a_document_error(suffix: str) -> None:
    seed = {
        ".pptx": (DOCUMENTS / "if-else-slides.pptx").read_bytes(),
        ".epub": (DOCUMENTS / "fidus-manual.epub").read_bytes(),
        ".xlsx": _workbook(),
        ".docx": (DOCUMENTS / "pump.docx").read_bytes(),
    }[suffix]
    rng = random.Random(suffix)
    outcomes = {"parsed": 0, "refused": 0}
    for _ in range(MUTATIONS):
        try:
            parse(f"damaged{suffix}", _mutated(seed, rng), suffix)
            outcomes["parsed"] += 1
        except DocumentError as error:
            assert f"damaged{suffix}" in str(error)
            outcomes["refused"] += 1
    assert outcomes["parsed"] and outcomes["refused"], outcomes  # both kinds of damage were met
