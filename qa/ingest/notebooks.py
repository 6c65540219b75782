"""Jupyter notebooks (the nbformat JSON) rendered to Markdown, the text their citations index:
Markdown cells as written, code cells fenced, each followed by its text output, fenced too."""

from __future__ import annotations

import json
import re
from typing import Any

from qa.core.errors import DocumentError
from qa.ingest.renderers import fence

OUTPUT_LINES = 12  # of a code cell's text output, the first lines are read (a long table's head)
_REPR = re.compile(r"<[\w.]+[^<>\n]*>\s*")  # an object shown as a repr: "<Figure size 640x480 ...>"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _cell_outputs(cell: dict[str, Any]) -> str:
    """What a code cell printed or returned, as text: streams and plain-text results (a repr
    such as "<matplotlib.lines.Line2D at 0x...>" is none), an error's last line; images and
    HTML are left out. The first ``OUTPUT_LINES`` lines."""
    shown: list[str] = []
    for output in cell.get("outputs") or []:
        if not isinstance(output, dict):
            continue
        kind = output.get("output_type")
        if kind == "stream":
            text = output.get("text", "")
        elif kind in ("execute_result", "display_data"):
            data = output.get("data")
            text = data.get("text/plain", "") if isinstance(data, dict) else ""
        elif kind == "error":
            text = f"{output.get('ename', '')}: {output.get('evalue', '')}"
        else:
            continue
        text = _ANSI.sub("", _text(text)).strip("\n")
        if text.strip() and not _REPR.fullmatch(text.strip()):
            shown.append(text)
    lines = "\n".join(shown).splitlines()
    return "\n".join(lines[:OUTPUT_LINES])


def _text(value: Any) -> str:
    """A notebook's text field: a string, or a list of strings (anything else counts as none)."""
    if isinstance(value, str):
        return value
    return "".join(part for part in value if isinstance(part, str)) if isinstance(value, list) else ""


def render_notebook(doc_id: str, data: bytes) -> str:
    """Markdown text of a notebook: Markdown cells as written, code cells fenced, each followed by
    its text output, fenced too (``_cell_outputs``)."""
    try:
        notebook = json.loads(data.decode("utf-8"))
        cells = notebook["cells"]
    except (ValueError, KeyError, TypeError) as error:
        raise DocumentError(f"{doc_id}: not a Jupyter notebook ({type(error).__name__})") from error
    if not isinstance(notebook, dict) or not isinstance(cells, list):
        raise DocumentError(f"{doc_id}: not a Jupyter notebook (no list of cells)")
    metadata = notebook.get("metadata")
    info = metadata.get("language_info") if isinstance(metadata, dict) else None
    language = str(info.get("name") or "") if isinstance(info, dict) else ""
    blocks: list[str] = []
    for cell in cells:
        if not isinstance(cell, dict):
            continue  # a malformed cell is left out, not the notebook
        source = _text(cell.get("source", ""))
        if not source.strip():
            continue
        if cell.get("cell_type") == "markdown":
            blocks.append(source.strip("\n"))
        elif cell.get("cell_type") == "code":
            blocks.append(fence(source, language))
            if printed := _cell_outputs(cell):
                blocks.append(fence(printed))
    return "\n\n".join(blocks) + "\n"
