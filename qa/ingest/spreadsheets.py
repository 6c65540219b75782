"""Excel workbooks (.xlsx) rendered to Markdown, the text their citations index (openpyxl).

Each worksheet is a section: its name is a ``##`` heading, its number the page its citations
name (``page_starts``, one per sheet), and its cells one pipe table, the first row with a value
the header, so every passage of it carries the header's names as a CSV file's do
(``qa.ingest.renderers.render_csv``). Cells read as Excel shows them in its General format: the
value a formula last computed (as the file saved it), whole numbers without ".0", other numbers
to 15 significant digits, dates as ISO dates, TRUE and FALSE. Empty rows and the empty columns at
a row's end are left out; a sheet with no value, and chart sheets, are no section. A workbook that
would inflate past ``MAX_INFLATED_BYTES`` is refused by the sizes its zip states, before any
sheet is read.
"""

from __future__ import annotations

import datetime
import io
import zipfile
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any

from qa.core.errors import DocumentError
from qa.ingest import escaping
from qa.ingest.renderers import pipe_table

MAX_INFLATED_BYTES = 512 * 1024 * 1024


def cell_text(value: Any) -> str:
    """A cell's value as Excel's General format shows it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.15g}"
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(sep=" ")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return escaping.escape(str(value))


def _rows(values: Iterable[tuple[Any, ...]]) -> list[list[str]]:
    rows = []
    for row in values:
        cells = [cell_text(value) for value in row]
        while cells and not cells[-1].strip():
            cells.pop()
        if cells:
            rows.append(cells)
    return rows


def render_xlsx(doc_id: str, data: bytes) -> tuple[str, str, list[int]]:
    """(Markdown text, title, the offset where each sheet starts) of an .xlsx file."""
    import openpyxl

    try:
        stated = sum(info.file_size for info in zipfile.ZipFile(io.BytesIO(data)).infolist())
    except (zipfile.BadZipFile, OSError) as error:
        raise DocumentError(f"{doc_id}: not a readable Excel workbook (not a zip archive)") from error
    if stated > MAX_INFLATED_BYTES:
        raise DocumentError(f"{doc_id}: the workbook inflates to more than {MAX_INFLATED_BYTES:,} bytes")
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises zip, XML and key errors on a broken file
        raise DocumentError(f"{doc_id}: not a readable Excel workbook ({type(error).__name__})") from error
    text, starts = "", []
    try:
        for sheet in book.worksheets:
            rows = _rows(sheet.iter_rows(values_only=True))
            if rows:
                starts.append(len(text))
                text += f"## {escaping.escape(str(sheet.title))}\n\n{pipe_table(rows)}\n\n"
        title = " ".join(str(book.properties.title or "").split())
    except Exception as error:  # a sheet whose XML openpyxl cannot read
        raise DocumentError(f"{doc_id}: not a readable Excel workbook ({type(error).__name__})") from error
    finally:
        book.close()
    return text.rstrip("\n") + "\n" if text else "", title or PurePosixPath(doc_id).stem, starts
