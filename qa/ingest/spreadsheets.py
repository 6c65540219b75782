"""Excel workbooks (.xlsx) rendered to Markdown, the text their citations index (openpyxl).

Each worksheet is a section: its name is a ``##`` heading, its place among the workbook's
worksheets the page its citations name (``page_starts``, one per sheet), and its cells one pipe
table, the first row with a value
the header, so every passage of it carries the header's names as a CSV file's do
(``qa.ingest.renderers.render_csv``). Cells read as Excel shows them in its General format: the
value a formula last computed (as the file saved it), whole numbers without ".0", other numbers
to 15 significant digits, dates as ISO dates, durations as hours:minutes:seconds, TRUE and FALSE.
Empty rows and the empty columns at a row's end are left out; a sheet with no value keeps its
heading and page and holds nothing; chart sheets are none. Cells are read as the file holds them,
never padded to the size a sheet states; a workbook that would inflate past
``archives.MAX_INFLATED_BYTES`` (by the sizes its zip states) or holds over ``MAX_CELLS`` cells is
refused.
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any

from qa.core.errors import DocumentError
from qa.ingest import archives, escaping
from qa.ingest.renderers import pipe_table

# a sheet's cells are read as the file holds them, never as its stated dimension pads them (a few
# kilobytes can state A1:XFD1048576), and a workbook of more cells than this is refused
MAX_CELLS = 5_000_000
MAX_ROWS = 1_048_576  # Excel's own limit: a sheet that states a row past it is no workbook Excel wrote


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
    if isinstance(value, datetime.timedelta):  # a duration, as Excel's [h]:mm:ss shows it
        seconds = round(value.total_seconds())
        sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
        return f"{sign}{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return escaping.escape(str(value))


def _rows(doc_id: str, values: Iterable[tuple[Any, ...]], budget: int) -> tuple[list[list[str]], int]:
    """A sheet's rows of cell texts, and what is left of the workbook's cell budget."""
    rows = []
    for count, row in enumerate(values, 1):
        budget -= max(len(row), 1)  # an empty row between two far apart costs its place too
        if budget < 0:
            raise DocumentError(f"{doc_id}: the workbook holds more than {MAX_CELLS:,} cells")
        if count > MAX_ROWS:
            raise DocumentError(f"{doc_id}: a sheet has more than Excel's {MAX_ROWS:,} rows")
        cells = [cell_text(value) for value in row]
        while cells and not cells[-1].strip():
            cells.pop()
        if cells:
            rows.append(cells)
    return rows, budget


def render_xlsx(doc_id: str, data: bytes) -> tuple[str, str, list[int]]:
    """(Markdown text, title, the offset where each sheet starts) of an .xlsx file."""
    import openpyxl

    archives.check_inflation(doc_id, data, "an Excel workbook")
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises zip, XML and key errors on a broken file
        raise DocumentError(f"{doc_id}: not a readable Excel workbook ({type(error).__name__})") from error
    text, starts, budget = "", [], MAX_CELLS
    try:
        for sheet in book.worksheets:
            sheet.reset_dimensions()  # its cells as the file holds them, not padded to a stated size
            rows, budget = _rows(doc_id, sheet.iter_rows(values_only=True), budget)
            starts.append(len(text))  # every sheet a page, so a citation's page is the sheet's place
            text += f"## {escaping.escape(str(sheet.title))}\n\n" + (
                f"{pipe_table(rows)}\n\n" if rows else ""
            )
        title = escaping.words(str(book.properties.title or ""))
    except DocumentError:
        raise
    except Exception as error:  # a sheet whose XML openpyxl cannot read
        raise DocumentError(f"{doc_id}: not a readable Excel workbook ({type(error).__name__})") from error
    finally:
        book.close()
    if not any(line.startswith("|") for line in text.splitlines()):
        text, starts = "", []  # no sheet holds a value: nothing to read
    return text.rstrip("\n") + "\n" if text else "", title or PurePosixPath(doc_id).stem, starts
