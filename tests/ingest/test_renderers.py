"""Word, reStructuredText, Jupyter and CSV files: rendered to Markdown, read by its structure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.core.config import Settings
from qa.core.errors import DocumentError
from qa.core.types import Document
from qa.index.build import build_index
from qa.index.generations import load_generation
from qa.ingest.formats import PARSERS, load_file, parse
from qa.ingest.passages import build_passages
from qa.service.engine import open_searcher
from tests.conftest import DATA, real_embedder

DOCUMENTS = DATA / "documents"


def passages(name: str) -> list:  # type: ignore[type-arg]
    return passages_of(load_file(DOCUMENTS / name, name))


def passages_of(document: Document) -> list:  # type: ignore[type-arg]
    encoder = real_embedder()
    found = build_passages(document, encoder.count_tokens, encoder.truncate, encoder.max_tokens, 200, 120)
    assert all(document.text[p.start : p.end] == p.text for p in found)
    return found


def test_new_formats_are_parsers() -> None:
    for suffix in (".docx", ".rst", ".ipynb", ".csv", ".tsv", ".mdx"):
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


def test_docx_headings_made_by_hand_in_bold_are_headings(tmp_path: Path) -> None:
    """Reports often make their headings by setting a Normal paragraph in bold: a short bold
    paragraph that is no sentence is a heading, one level under the last styled heading (two when
    numbered); a bold lead-in ending in a colon, a bold sentence and a part-bold line are not."""
    import docx

    word = docx.Document()
    word.add_heading("Store database report", level=0)
    word.add_heading("Background", level=1)
    word.add_paragraph("The stores keep their sales in one database.")

    def bold(text: str) -> None:
        word.add_paragraph().add_run(text).bold = True

    bold("Part 2: Building the database")
    bold("1. Schema design")
    word.add_paragraph("Every sale is a row of the sales table, keyed by store and day.")
    bold("Objectives:")
    word.add_paragraph("Load a year of sales in under an hour.")
    bold("The importer reads the exported files every night and loads them.")
    bold("\u201cEvery store reports by noon.\u201d")
    word.add_paragraph("Figure 1: Sales by month", style="Caption")  # Word's Caption style is bold
    mixed = word.add_paragraph()
    mixed.add_run("Note").bold = True
    mixed.add_run(" on indexes")
    word.add_paragraph("Indexes on store and day keep the reports fast.")
    path = tmp_path / "report.docx"
    word.save(str(path))
    document = load_file(path, "report.docx")
    assert "\n## Background\n" in document.text
    assert "\n### Part 2: Building the database\n" in document.text
    assert "\n#### 1. Schema design\n" in document.text
    for line in (
        "Objectives:",
        "The importer reads",
        "Note on indexes",
        "\u201cEvery store",
        "Figure 1: Sales",
    ):
        assert f"\n{line}" in document.text and f"# {line}" not in document.text
    found = passages_of(document)
    schema = next(p for p in found if "keyed by store and day" in p.text)
    assert (
        schema.context == "Store database report > Background > Part 2: Building the database > Schema design"
    )


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
    assert 'print(len(frame), "rows")\n```\n\n```\n1440 rows\n```' in document.text  # its output
    assert "raw cell" not in document.text
    found = passages("measurements.ipynb")
    code = next(p for p in found if p.kind == "code")
    assert "`pandas` reads them" in code.text  # the cell that introduced it, in the same passage
    assert " pandas  reads them" in code.view and "read_csv(" in code.view  # prose without markup


def test_notebook_outputs_are_read_as_text_reprs_images_and_html_not() -> None:
    """A code cell's printed and returned text follows it (its first lines), an error as its
    last line without terminal colours; a repr ("<Figure ...>"), an image and HTML are no text."""
    cell = {
        "cell_type": "code",
        "source": ["planets.shape\n", "bad()"],
        "outputs": [
            {"output_type": "execute_result", "data": {"text/plain": ["(1035, 6)"]}},
            {"output_type": "display_data", "data": {"text/plain": "<Figure size 640x480 with 1 Axes>"}},
            {"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo=", "text/html": "<b>x</b>"}},
            {"output_type": "stream", "name": "stdout", "text": "".join(f"row {n}\n" for n in range(40))},
            {
                "output_type": "error",
                "ename": "NameError",
                "evalue": "\x1b[31mname 'bad' is not defined\x1b[0m",
            },
        ],
    }
    notebook = {"cells": [cell], "metadata": {"language_info": {"name": "python"}}}
    text = parse("planets.ipynb", json.dumps(notebook).encode(), ".ipynb").text
    assert text.startswith("```python\nplanets.shape\nbad()\n```\n\n```\n(1035, 6)\nrow 0\n")
    assert "Figure" not in text and "iVBOR" not in text and "<b>" not in text and "row 39" not in text
    cell["outputs"] = cell["outputs"][-1:]
    text = parse("error.ipynb", json.dumps(notebook).encode(), ".ipynb").text
    assert "```\nNameError: name 'bad' is not defined\n```" in text
    cell["outputs"] = [  # malformed outputs and cells are left out, never a crash
        {"output_type": "stream", "text": [1, 2]},
        {"output_type": "execute_result", "data": ["x"]},
        {"output_type": "execute_result", "data": {"text/plain": ["kept", None]}},
    ]
    notebook["cells"] = [cell, 5, {"cell_type": "code", "source": ["y", 3]}]
    text = parse("odd.ipynb", json.dumps(notebook).encode(), ".ipynb").text
    assert text == "```python\nplanets.shape\nbad()\n```\n\n```\nkept\n```\n\n```python\ny\n```\n"


def test_csv_rows_are_a_table_whose_every_passage_carries_the_header() -> None:
    """A real CSV file (quoted fields holding commas): one pipe table titled by the file's name,
    cut between rows, each piece's context the header's names; the answer's row is found and
    cited exactly."""
    document = load_file(DOCUMENTS / "sp500-companies.csv", "sp500-companies.csv")
    assert document.title == "sp500-companies"
    assert document.text.startswith("| Symbol | Security | GICS Sector | GICS Sub-Industry |")
    assert "| AAPL | Apple Inc. | Information Technology | Technology Hardware, Storage & Peripherals |" in (
        document.text
    )
    found = passages("sp500-companies.csv")
    assert len(found) > 1 and all(p.kind == "table" for p in found)
    assert all("Headquarters Location" in p.context and "Founded" in p.context for p in found)
    lines = [line for p in found for line in p.text.splitlines()]
    rows = [line for line in lines if line.startswith("| ") and "---" not in line]
    assert all(line.startswith("|") and line.endswith("|") for line in lines)  # no row cut
    assert len(rows) == 51  # the header once, then every row once: none repeated, none lost


def test_csv_dialects_and_bad_files() -> None:
    """Semicolons and tabs are told from the file, spaces after separators are not cells' text,
    a .tsv is split at tabs whatever it holds, blank rows are dropped, short rows padded; a file
    the csv module cannot read is a DocumentError naming it."""
    semicolons = parse("prices.csv", b'Item; Price\nTea; "1,50"\n\nCoffee; "2,10"\n', ".csv").text
    expected = ["| Item | Price |", "| --- | --- |", "| Tea | 1,50 |", "| Coffee | 2,10 |"]
    assert semicolons.splitlines() == expected
    tabs = parse("notes.tsv", b'name\tnote\nada\tsaid, then; left\n"bob\n"cy\tleft\n', ".tsv").text
    assert "| ada | said, then; left |" in tabs and '| "bob |  |' in tabs and '| "cy | left |' in tabs
    # a stray quote stays text; a quote left open does not swallow the rows after it
    stray = parse("stray.csv", b'a,b\n"To be" or not,2\nok,"quoted, comma"\n', ".csv").text
    assert "| To be or not | 2 |" in stray and "| ok | quoted, comma |" in stray
    unclosed = parse("open.csv", b'a,b\n"x,1\n2,3\n4,5\n', ".csv").text
    assert unclosed.splitlines()[2:] == ['| "x | 1 |', "| 2 | 3 |", "| 4 | 5 |"]
    apostrophes = parse("notes.csv", b"title,note\nFoo,'bar', baz\nQux,it's fine\n", ".csv").text
    assert "| Foo | 'bar' | baz |" in apostrophes  # quotes are double quotes, whatever is guessed
    with pytest.raises(DocumentError, match=r"huge\.csv: not readable as CSV"):
        parse("huge.csv", b'a,b\n"' + b"x" * 200_000 + b'",1\n', ".csv")  # over the csv module's field limit


def test_a_question_over_a_csv_finds_its_row(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "sp500-companies.csv").write_bytes((DOCUMENTS / "sp500-companies.csv").read_bytes())
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index").resolved()
    build_index(settings, real_embedder())
    generation = load_generation(settings.index_dir)
    searcher = open_searcher(generation, real_embedder())
    hit = searcher.search("Where is Apple headquartered?", 3).hits[0]
    assert "| AAPL | Apple Inc." in hit.passage.text and "Cupertino, California" in hit.passage.text
    text = generation.documents[hit.citation.doc_id].text
    assert text[hit.citation.start : hit.citation.end] == hit.passage.text


def test_an_escaped_pipe_in_a_table_header_stays_in_its_cell() -> None:
    """A header cell holding ``|`` (escaped ``\\|`` in the pipe table) is one name in the
    context every piece of the table carries, not two, and reads as written: the escape is
    dropped without leaving a space in the word."""
    rows = b"size|unit,price\n" + b"".join(b"%d|kg,%d\n" % (n, n * 3) for n in range(300))
    document = parse("weights.csv", rows, ".csv")
    encoder = real_embedder()
    found = build_passages(document, encoder.count_tokens, encoder.truncate, encoder.max_tokens, 200, 120)
    assert len(found) > 1
    assert all(p.context.split(" | ")[1:] == ["size|unit", "price"] for p in found), found[0].context


def test_rst_inline_literals_are_code_spans() -> None:
    """````__call__()```` and ````**kwargs```` render as Markdown code spans, so they read as code,
    not as emphasis markers stripped from the words."""
    document = parse("auth.rst", b"Auth\n====\n\nDefine ``__call__()`` taking ``**kwargs``.\n", ".rst")
    assert "Define `__call__()` taking `**kwargs`." in document.text
    found = passages_of(document)
    assert "Define __call__() taking **kwargs ." in " ".join(found[0].embedding_text.split())


def test_rst_admonition_and_topic_titles_are_text_not_headings() -> None:
    """``.. admonition:: Title`` and ``.. topic:: Title`` title a box, not a section: their titles
    are read as text, and the prose after the box stays under the section's own heading."""
    source = (
        b"Guide\n=====\n\nIntro.\n\n.. admonition:: Thread safety\n\n   Clients are not shared.\n\n"
        b"After the box.\n\n.. topic:: Background\n\n   Some history.\n"
    )
    document = parse("guide.rst", source, ".rst")
    assert "#" not in document.text.replace("# Guide", "")
    (passage,) = passages_of(document)
    assert passage.context == "Guide"
    assert "Thread safety Clients are not shared. After the box. Background Some history." in " ".join(
        passage.embedding_text.split()
    )


SPHINX_PAGE = b"""Configuration
=============

.. confval:: html_theme
   :type: :code-py:`str`
   :default: :code-py:`'alabaster'`
   :no-index:

   The theme for HTML output.
   :class:`Theme` objects are themed too.

Both the ``:doc:`` and the ``:ref:`` roles link.

.. code-block:: nginx
   :caption: /etc/nginx.conf
   :emphasize-lines: 2

   server {
       listen 80;
   }

.. versionadded:: 1.8

.. autofunction:: werkzeug.utils.secure_filename

.. contents::

.. admonition:: 1. Numbered title

   Boxed.

.. only:: html

   Read online, the page has search.

=======  ==========
Windows  C:/hosts
Linux    /etc/hosts
=======  ==========

.. list-table::
   :header-rows: 1

   * - Method
     - Note
   * - :meth:`add_node`
     - First paragraph.

       Second paragraph.
"""


def test_sphinx_directives_keep_their_options_names_and_code_and_tables_their_rows() -> None:
    """Sphinx directives docutils does not know: options that say something are read ("type:
    str"), display options not; a body line opening with a role is prose, not an option; a
    code block with Sphinx-only options stays code; an autodoc directive without a body says
    nothing. A literal that looks like a role stays a literal; a table without a header row
    gets none (its first row stays a row); a cell's role shows its text, not docutils' error,
    and a cell's paragraphs are joined by a space."""
    text = parse("conf.rst", SPHINX_PAGE, ".rst").text
    assert "html_theme\n: type: str; default: 'alabaster'" in text and "no-index" not in text
    assert "Theme objects are themed too." in text
    assert "Both the `:doc:` and the `:ref:` roles link." in text
    assert "caption: /etc/nginx.conf\n\n```nginx\nserver {\n    listen 80;\n}\n```" in text
    assert "\nAdded in version 1.8.\n" in text and "secure_filename" not in text  # autodoc's, no prose
    assert (
        "\n\nRead online, the page has search.\n" in text and "html\n:" not in text
    )  # ".. only::" is no term
    assert "|  |  |\n| --- | --- |\n| Windows | C:/hosts |" in text
    assert "| add_node | First paragraph. Second paragraph. |" in text
    assert "\n1\\. Numbered title\n" in text and "Contents" not in text  # a title escaped, no page contents
    assert "role" not in text.split("roles link.")[1] and "Unknown" not in text


def test_mdx_module_lines_and_jsx_comments_are_left_out_with_the_lines_kept() -> None:
    """An .mdx file (Docusaurus style; written here) reads as Markdown: import/export statements
    (one spanning lines) and JSX comments are blanked outside code fences, inside one they stay;
    the rendering keeps the file's length and lines, so citations and line numbers hold."""
    source = (
        "---\ntitle: Tabs\n---\n\nimport Tabs from '@theme/Tabs';\nimport {\n  A,\n} from './a';\n\n"
        "# Tabs\n\nDocusaurus provides the `<Tabs>` component.\n\n{/* prettier-ignore */}\n"
        '<Tabs>\n  <TabItem value="apple">This is an apple.</TabItem>\n</Tabs>\n\n'
        "```jsx\nimport Tabs from '@theme/Tabs';\n{/* kept */}\n```\n"
    )
    document = parse("tabs.mdx", source.encode(), ".mdx")
    assert document.title == "Tabs"
    assert len(document.text) == len(source) and document.text.count("\n") == source.count("\n")
    assert "import" not in document.text.split("```")[0] and "prettier-ignore" not in document.text
    assert "```jsx\nimport Tabs from '@theme/Tabs';\n{/* kept */}\n```" in document.text
    found = passages_of(document)
    read = " ".join(" ".join(p.embedding_text.split()) for p in found)
    assert "provides the <Tabs> component" in read and "This is an apple." in read
    assert "TabItem" not in read.split("```")[0]
    # a statement without a semicolon ends where its brackets close and no operator goes on
    loose = (
        "export const version = 2\nProse after it.\n\n"
        "export default function Box() {\n  const a = 1;\n\n  return <div/>;\n}\n\nMore prose.\n"
    )
    text = parse("loose.mdx", loose.encode(), ".mdx").text
    assert [line.strip() for line in text.splitlines() if line.strip()] == ["Prose after it.", "More prose."]


def test_a_table_header_wider_than_the_window_is_cut_like_prose() -> None:
    """A header row over the model's window, alone or with rows (a property test found both):
    every piece fits what the model reads, and the rows keep their own passages."""
    wide = ",".join(f"measured quantity number {n} in the field survey" for n in range(40))
    encoder = real_embedder()
    for source in (wide, wide + "\n" + ",".join(["1.5"] * 40)):
        document = parse("survey.csv", source.encode(), ".csv")
        found = passages_of(document)
        assert len(found) > 1 and all(p.kind == "table" for p in found)
        assert all(encoder.count_tokens([p.embedding_text])[0] <= encoder.max_tokens for p in found)


def test_a_csv_dialect_is_guessed_from_whole_lines_of_its_start_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sniffer's regular expressions grow with the square of what they read (64 KB of quotes
    and commas took 23 s), so it sees at most ``CSV_SAMPLE`` characters, cut at a line's end."""
    import csv

    from qa.ingest import renderers

    seen: list[str] = []
    sniff = csv.Sniffer.sniff

    def recorded(self: csv.Sniffer, sample: str, delimiters: str | None = None) -> type[csv.Dialect]:
        seen.append(sample)
        return sniff(self, sample, delimiters)

    monkeypatch.setattr(csv.Sniffer, "sniff", recorded)
    rows = "".join(f"{n};item number {n};{n * 7}\n" for n in range(20_000))
    text = parse("big.csv", ("id;name;price\n" + rows).encode(), ".csv").text
    assert "| 19999 | item number 19999 | 139993 |" in text  # the guessed separator, every row
    assert len(seen) == 1 and 0 < len(seen[0]) <= renderers.CSV_SAMPLE
    assert ("id;name;price\n" + rows).startswith(seen[0] + "\n")


def test_rst_includes_raw_blocks_and_module_markers_are_no_text_and_wrapped_options_are_one() -> None:
    """From Jinja's docs: '.. include:: ../CHANGES.rst' read as its path and '..
    py:currentmodule:: jinja2' as a stray paragraph; an autoclass's ':members:' wrapped onto a
    second line was cut into a separate item."""
    source = (
        ".. py:currentmodule:: jinja2\n\nWidgets\n=======\n\nThe widget API is small.\n\n"
        ".. include:: ../CHANGES.rst\n\n.. raw:: html\n\n   <b>shown only in HTML</b>\n\n"
        ".. autoclass:: Environment([options])\n    :members: from_string, get_template,\n"
        "              join_path, extend\n"
    )
    document = parse("widgets.rst", source.encode(), ".rst")
    text = document.text
    assert document.title == "Widgets"
    assert "jinja2" not in text and "CHANGES" not in text and "shown only" not in text
    assert "Environment([options])\n: members: from_string, get_template, join_path, extend" in text


def test_an_option_wrapped_onto_three_lines_is_one_value() -> None:
    source = (
        "Title\n=====\n\n.. autoclass:: Foo\n   :members: alpha, beta,\n      gamma, delta,\n"
        "      epsilon\n   :noindex:\n\n   Body text here.\n"
    )
    text = parse("foo.rst", source.encode(), ".rst").text
    assert "members: alpha, beta, gamma, delta, epsilon" in text and "noindex" not in text
    assert "Body text here." in text


def test_rst_roles_read_as_sphinx_shows_them() -> None:
    """From Werkzeug's and Flask's docs: ':doc:`../tutorial/index`' read "/tutorial/index" (every
    leading "!" and "." was stripped from any role). A document path is read as written; "!"
    (no link) is dropped once, from a cross-reference only; a leading "." (a relative name) and
    "~" (its last part) are an object role's; an explicit title is shown as written."""
    source = (
        "Links\n=====\n\nSee :doc:`../tutorial/index`, :doc:`..hidden`, :ref:`!label` and "
        ":doc:`Tutorial <../tutorial/index>`.\n\nCall :meth:`.get_data`, :class:`~werkzeug.datastructures."
        "MultiDict`, :meth:`~.Request.get_data`, :py:func:`!removed`, :func:`!~a.b` and "
        ":attr:`!.x`.\n\nPress :kbd:`!`, edit :file:`~/.bashrc` and set :envvar:`~HOME`.\n"
    )
    text = parse("links.rst", source.encode(), ".rst").text
    assert "See ../tutorial/index, ..hidden, label and Tutorial." in text
    assert "Call get_data, MultiDict, get_data, removed, ~a.b and .x." in text
    assert "Press !, edit ~/.bashrc and set ~HOME." in text


def test_rst_version_notes_read_as_sphinx_shows_them() -> None:
    """From Werkzeug's and Flask's docs: '.. versionchanged:: 2.5 Added the foo option.' read
    "2.5 Added the foo option." (the directive's name lost) and one with a body "versionchanged
    2.5" over it as a term. Sphinx's label opens the note's first paragraph, its explanation on
    the directive's line (going on in the lines under it) or in its body; alone it ends in a
    period; the body's other blocks follow."""
    source = (
        "Options\n=======\n\n.. versionchanged:: 2.5 Added the foo option.\n\n.. versionadded:: 1.8\n\n"
        ".. deprecated:: 2.3\n    Will be removed in 2.4. Use :meth:`bar`.\n\n    More text.\n\n"
        ".. versionchanged:: 2.0\n\n    Body after a blank line.\n\n"
        ".. versionadded:: 3.0 Starts here and\n   goes on here.\n\n"
        ".. versionremoved:: 4.0\n\n   - a list first\n"
    )
    text = parse("options.rst", source.encode(), ".rst").text
    assert text.split("\n\n")[1:] == [
        "Changed in version 2.5: Added the foo option.",
        "Added in version 1.8.",
        "Deprecated since version 2.3: Will be removed in 2.4. Use bar.",
        "More text.",
        "Changed in version 2.0: Body after a blank line.",
        "Added in version 3.0: Starts here and\ngoes on here.",
        "Removed in version 4.0:",
        "- a list first\n",
    ]


def test_rst_autodoc_directives_without_prose_are_no_text() -> None:
    """From Werkzeug's docs: '.. autoclass:: MultiDict' with ':members:' made a passage that read
    "MultiDict" alone, and it won as an answer. Sphinx makes an autodoc directive's text from
    code the corpus does not hold: without prose under it, its name says nothing, whatever its
    options; prose under it is read, its name the term. A signature with arguments is kept,
    and a bare name of a directive that is not autodoc's (``py:data``) is too."""
    source = (
        "Data structures\n===============\n\nWerkzeug provides some subclasses of common Python objects.\n\n"
        ".. autoclass:: MultiDict\n   :members:\n   :inherited-members:\n\n"
        ".. autoclass:: OrderedMultiDict\n   :members: add, get\n\n"
        ".. autofunction:: werkzeug.utils.secure_filename\n\n.. automodule:: werkzeug.wsgi\n\n"
        ".. autoexception:: werkzeug.exceptions.NotFound\n\n"
        ".. autoclass:: Headers\n   :members:\n\n   An object that stores some headers.\n\n"
        ".. autoclass:: Environment([options])\n\n.. py:data:: DEFAULT_PORT\n"
    )
    document = parse("datastructures.rst", source.encode(), ".rst")
    assert document.text.split("\n\n")[1:] == [
        "Werkzeug provides some subclasses of common Python objects.",
        "Headers\n: An object that stores some headers.",
        "Environment([options])",
        "DEFAULT_PORT\n",
    ]
    found = passages_of(document)
    assert not any(p.text.strip() in ("MultiDict", "OrderedMultiDict", "werkzeug.wsgi") for p in found)


def test_a_rst_file_of_autodoc_directives_alone_has_nothing_to_search(tmp_path: Path) -> None:
    """An API page that is all autodoc directives renders to no text: no passage, reported as
    having nothing to search when indexed, refused as having no text when uploaded."""
    from qa.core.errors import UnreadableDocument
    from qa.ingest.uploads import parse_document

    source = b".. currentmodule:: werkzeug\n\n.. autoclass:: Request\n   :members:\n\n"
    source += b".. autofunction:: run_simple\n"
    document = parse("api.rst", source, ".rst")
    assert not document.text.strip() and passages_of(document) == []
    with pytest.raises(UnreadableDocument, match=r"api\.rst: the document has no text"):
        parse_document("api.rst", source)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "api.rst").write_bytes(source)
    (corpus / "notes.md").write_text("# Notes\n\nThe ferry leaves at noon.\n")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index").resolved()
    summary = build_index(settings, real_embedder())
    assert summary.empty == ["api.rst"] and summary.documents == 2


def test_docx_text_that_looks_like_markup_is_read_as_written() -> None:
    """Word's text is text: "<Enter>", a backtick, a "<style>" written in a sentence or a table
    cell are words the model reads, not markup that blanks what follows."""
    import io

    import docx

    word = docx.Document()
    word.add_heading("Keys <and> `ticks`", level=1)
    word.add_paragraph("Press <Enter> to continue, then type `ls` and a <style> tag's name.")
    word.add_paragraph("The last sentence after the tag is still read.")
    word.add_paragraph("~~~")  # a line of tildes in Word is text, no code fence opened
    word.add_paragraph("Text after the tildes is prose.")
    table = word.add_table(rows=2, cols=1)
    table.cell(0, 0).text = "Key"
    table.cell(1, 0).text = "<Tab>"
    output = io.BytesIO()
    word.save(output)
    document = parse("keys.docx", output.getvalue(), ".docx")
    found = passages_of(document)
    read = " ".join(" ".join((p.view or p.text).split()) for p in found)
    for words in ("<Enter> to continue", "type `ls", "<style> tag's name", "still read", "<Tab>"):
        assert words in read, words
    assert found[0].context.startswith("Keys <and>")
    assert all(p.kind != "code" for p in found) and "Text after the tildes is prose." in read


def test_rst_text_that_looks_like_a_tag_is_read_as_written() -> None:
    """docutils takes reST's own markup; what is left is text, and "<Enter>" or "<style>" in it
    is a word, not a tag that blanks the rest of its paragraph."""
    source = b"Keys\n====\n\nPress <Enter> to continue, then a <style> tag name.\n\n* item with <Tab> key\n"
    found = passages_of(parse("keys.rst", source, ".rst"))
    read = " ".join(" ".join((p.view or p.text).split()) for p in found)
    assert "Press <Enter> to continue, then a <style> tag name." in read and "<Tab> key" in read
