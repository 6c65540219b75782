"""Word, reStructuredText and Jupyter files: rendered to Markdown, read by its structure."""

from __future__ import annotations

from qa.ingest.formats import PARSERS, load_file
from qa.ingest.passages import build_passages
from tests.conftest import DATA, real_embedder

DOCUMENTS = DATA / "documents"


def passages(name: str) -> list:  # type: ignore[type-arg]
    document = load_file(DOCUMENTS / name, name)
    encoder = real_embedder()
    found = build_passages(document, encoder.count_tokens, encoder.truncate, encoder.max_tokens, 200, 120)
    assert all(document.text[p.start : p.end] == p.text for p in found)
    return found


def test_new_formats_are_parsers() -> None:
    for suffix in (".docx", ".rst", ".ipynb"):
        assert suffix in PARSERS


def test_docx_headings_lists_and_tables() -> None:
    document = load_file(DOCUMENTS / "pump.docx", "pump.docx")
    assert document.title == "Pump maintenance guide"
    assert "## Before you start" in document.text
    assert "- A 10 mm socket wrench" in document.text
    assert "| Impeller | every 2,000 hours |" in document.text
    found = passages("pump.docx")
    table = next(p for p in found if p.kind == "table")
    assert "Service intervals" in table.context and "Part | Interval" in table.context
    tools = next(p for p in found if "socket wrench" in p.text)
    assert "You will need the following tools:" in tools.text


def test_rst_sections_code_roles_and_sphinx_directives() -> None:
    document = load_file(DOCUMENTS / "flask-config.rst", "flask-config.rst")
    assert document.title == "Configuration Handling"
    assert ":attr:" not in document.text and "~flask" not in document.text
    assert "## Configuration Basics" in document.text
    assert "\nDEBUG\n: Whether debug mode is enabled." in document.text  # a py:data directive
    found = passages("flask-config.rst")
    assert any(p.kind == "code" and "app.config['TESTING'] = True" in p.text for p in found)


def test_notebook_markdown_and_code_cells() -> None:
    document = load_file(DOCUMENTS / "measurements.ipynb", "measurements.ipynb")
    assert document.title == "Loading the measurements"
    assert "```python\nimport pandas as pd" in document.text
    assert "1440 rows" not in document.text and "raw cell" not in document.text
    found = passages("measurements.ipynb")
    code = next(p for p in found if p.kind == "code")
    assert "`pandas` reads them" in code.text  # the cell that introduced it, in the same passage
    assert " pandas  reads them" in code.view and "read_csv(" in code.view  # prose without markup
