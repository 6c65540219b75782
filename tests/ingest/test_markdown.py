"""Markdown by its structure: parts, titles, what the model reads, and passages of a real chapter."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from qa.ingest.fences import Fences, code_fences, heads_a_table
from qa.ingest.formats import load_file, parse
from qa.ingest.markdown import code_view, parts, reading, title, view
from qa.ingest.passages import build_passages
from tests.conftest import DATA, real_embedder

DOCUMENTS = DATA / "documents"


def passages_of(path: Path, window: int | None = None) -> list:  # type: ignore[type-arg]
    """The passages of a structured document read by a model of ``window`` word pieces (the
    bundled model's by default); a smaller window forces splits."""
    document = load_file(path, path.name)
    encoder = real_embedder()
    window = window or encoder.max_tokens
    found = build_passages(document, encoder.count_tokens, encoder.truncate, window, 200, 120)
    for passage in found:
        assert document.text[passage.start : passage.end] == passage.text
        assert not passage.view or len(passage.view) == len(passage.text)
    return found


def read_parts(text: str) -> list[str]:
    """What the model reads of each part of a Markdown ``text``, its whitespace collapsed."""
    found, _ = parts(text)
    return [" ".join(view(text, part.start, part.end).split()) for part in found]


def test_markup_never_becomes_a_passage() -> None:
    """Markup is never a passage, nor read: a passage that packs two parts cites the markup
    between them, but the model does not read it."""
    found = passages_of(DOCUMENTS / "chapter.md", 24)
    read = " ".join(p.view or p.text for p in found)
    for markup in ("<!--", "<a id", "{{#include", "<Listing", "</Listing>", "[otherinstall]:"):
        assert markup not in read
        assert not any(
            (p.text.startswith(markup) and markup != "<Listing") or p.text.endswith(markup) for p in found
        )
    # a listing's caption is what its tag says to readers: read, its number and file name not
    assert "Running the installer" in read and 'number="1-1"' not in read and "file-name" not in read
    # an admonition's marker is not read, its title is (cited from its line)
    assert "!!! warning" not in read and '"Older' not in read
    assert any(" Older systems \n" in (p.view or "") for p in found)


def test_heading_path_is_the_context_and_title_is_the_first_heading() -> None:
    found = passages_of(DOCUMENTS / "chapter.md")
    document = load_file(DOCUMENTS / "chapter.md", "chapter.md")
    assert document.title == "Installing the Toolchain"
    table = next(p for p in found if p.kind == "table")
    assert table.context.startswith("Installing the Toolchain > Supported platforms")


def test_code_is_whole_and_split_only_between_lines() -> None:
    whole = [p for p in passages_of(DOCUMENTS / "chapter.md") if p.kind == "code"]
    assert len(whole) == 1 and "\n```console" in whole[0].text and whole[0].text.endswith("```")
    pieces = [p for p in passages_of(DOCUMENTS / "chapter.md", 40) if p.kind == "code"]
    assert len(pieces) > 1
    text = load_file(DOCUMENTS / "chapter.md", "chapter.md").text
    for piece in pieces:  # each piece starts and ends a line
        assert text[piece.start - 1] == "\n" and text[piece.end] == "\n"


def test_tables_split_by_rows_carry_the_header() -> None:
    pieces = [p for p in passages_of(DOCUMENTS / "chapter.md", 40) if p.kind == "table"]
    assert len(pieces) > 1
    for piece in pieces:
        assert "Platform | Tier | Notes" in piece.context
        assert piece.text.startswith("|") and piece.text.endswith("|")


def test_a_list_stays_with_the_sentence_leading_into_it() -> None:
    found = passages_of(DOCUMENTS / "chapter.md")
    lead = next(p for p in found if "The following steps install" in p.text)
    assert "3. Open a new terminal" in lead.text


def test_the_model_reads_words_not_markup() -> None:
    found = passages_of(DOCUMENTS / "chapter.md")
    note = next(p for p in found if "other installation" in p.text)
    assert "](" not in note.view and "[" not in note.view and ">" not in note.view
    assert "other installation" in " ".join(note.view.split())
    steps = next(p for p in found if "`sh`" in p.text)
    at = steps.text.index("`sh`")
    assert steps.view[at : at + 4] == " sh "  # inline code's backticks are not read


def test_admonition_bodies_are_prose() -> None:
    found = passages_of(DOCUMENTS / "chapter.md")
    warning = next(p for p in found if "nobody tests them" in p.text)
    assert warning.kind == "body"


def test_view_keeps_length_and_words() -> None:
    text = "Use `cargo build` or [the *docs*](https://x.y/z_(1)) and snake_case_name.\n"
    seen = view(text, 0, len(text))
    assert len(seen) == len(text)
    assert seen.split() == ["Use", "cargo", "build", "or", "the", "docs", "and", "snake_case_name."]


def test_titles_front_matter_then_heading_then_prose_never_a_comment() -> None:
    assert (
        parse("a.md", b"---\ntitle: From front matter\n---\n# Heading\n", ".md").title == "From front matter"
    )
    assert parse("b.md", b"<!-- a comment -->\n\n# The *real* title\n", ".md").title == "The real title"
    assert parse("c.md", b"<!-- a comment -->\n\nFirst **line** of prose.\n", ".md").title == (
        "First line of prose."
    )
    assert title("<!-- only a comment -->\n") == ""


def test_link_reference_definitions_and_anchors_are_not_parts() -> None:
    text = '[ref]: https://example.com\n\n<a id="x"></a>\n\nReal text.\n'
    found, _ = parts(text)
    assert [text[p.start : p.end] for p in found] == ["Real text."]


def test_myst_targets_roles_and_empty_directives_are_markup() -> None:
    """Sphinx's MyST Markdown (Click's docs): "(label)=" targets and directives without a body
    (``{currentmodule}``, ``{versionadded}``) are no passages, role names are not read, and an
    admonition's body is prose under its title while a code example stays code."""
    found = passages_of(DOCUMENTS / "click-utils.md", 120)
    assert all(p.text.strip() not in ("```{currentmodule} click\n```",) for p in found)
    assert not any(p.text.startswith(("```{versionadded}", "```{currentmodule}", "(")) for p in found)
    assert not any("{func}" in (p.view or p.text) for p in found if p.kind != "code")
    windows = next(p for p in found if "colorama" in p.text)
    assert windows.kind == "body" and "Older Windows Support" in windows.view
    assert "```" not in windows.view and ":class:" not in windows.view
    assert any(p.kind == "code" and "click.echo" in p.text for p in found)


def _structured(text: str) -> list:  # type: ignore[type-arg]
    encoder = real_embedder()
    document = parse("guide.md", text.encode(), ".md")
    return build_passages(document, encoder.count_tokens, encoder.truncate, encoder.max_tokens, 200, 120)


def test_a_page_titled_in_front_matter_has_its_title_over_each_sections_path() -> None:
    """A page whose title is in front matter and whose sections are "## Syntax", "## Examples"
    (no heading names the page): what the model reads above a section names the page too."""
    text = "---\ntitle: Retry-After\n---\n\nThe header says how long to wait.\n\n## Syntax\n\nSeconds.\n"
    found = _structured(text)
    assert [p.context for p in found] == ["Retry-After", "Retry-After > Syntax"]
    titled = _structured("# Guide\n\nIntro.\n\n## Setup\n\nSteps.\n")  # an H1 names it already
    assert [p.context for p in titled] == ["Guide", "Guide > Setup"]
    both = _structured("---\ntitle: Guide\n---\n\n# Getting started\n\nIntro.\n\n## Setup\n\nSteps.\n")
    assert [p.context for p in both] == ["Getting started", "Getting started > Setup"]  # its H1 names it
    wordy = _structured("---\ntitle: " + "word " * 20 + "\n---\n\nIntro.\n\n## Setup\n\nSteps.\n")
    assert wordy[-1].context == "Setup"  # a sentence for a title would crowd out the passage


def test_a_documentation_macro_reads_as_the_words_it_shows() -> None:
    """MDN's macros: {{HTTPHeader("Date")}} shows "Date", {{Glossary("term", "shown")}} "shown",
    over lines too; one that shows nothing ({{Compat}}) is not read; in code it is as written."""
    text = (
        'Computed from the {{HTTPHeader("Date")}} header; returns {{HTTPStatus("416", "416 Range Not '
        'Satisfiable")}} or a {{Glossary("Simple response header", "CORS-safelisted\nresponse-header")}}.'
        ' {{Compat}} `{{HTTPHeader("X")}}`\n'
    )
    read = view(text, 0, len(text))
    assert len(read) == len(text)
    assert " ".join(read.split()) == (
        "Computed from the Date header; returns 416 Range Not Satisfiable or a CORS-safelisted "
        'response-header . {{HTTPHeader("X")}}'
    )
    see_also = '# T\n\nIntro.\n\n## See also\n\n- {{HTTPHeader("Age")}}\n- {{HTTPHeader("Expires")}}\n'
    assert [see_also[p.start : p.end] for p in parts(see_also)[0]] == ["Intro."]  # macros alone: a menu
    positional = 'Per {{RFC(7231, "Date", "7.1.1.2")}}, a {{cssxref("&lt;color&gt;")}} value.\n'
    assert " ".join(view(positional, 0, len(positional)).split()) == "Per Date , a < color> value."
    terms = "- \\<delta-seconds>\n  - : The most seconds, as \\<delta-seconds>.\n"  # MDN's definition list
    assert (
        " ".join(view(terms, 0, len(terms)).split())
        == "<delta-seconds> The most seconds, as <delta-seconds>."
    )


def test_a_long_section_is_cut_into_even_passages_that_fill_the_window() -> None:
    """A section longer than one passage: the fewest passages that fit, of about even size (no
    full passage and a scrap), each with its heading path whole in its context."""
    encoder = real_embedder()
    paragraphs = [
        " ".join(f"Step {n}.{m} changes one more setting of the server configuration file." for m in range(4))
        for n in range(14)
    ]
    text = "# Guide\n\n## Setting things up\n\n" + "\n\n".join(paragraphs) + "\n"
    found = _structured(text)
    sizes = encoder.count_tokens([p.view or p.text for p in found])
    total = encoder.count_tokens(["\n\n".join(paragraphs)])[0]
    assert len(found) == -(-total // (encoder.max_tokens - 8))  # the fewest that fit the window
    assert min(sizes) >= 0.6 * max(sizes) and max(sizes) > 200  # even, and past the old 200 budget
    assert all(p.context == "Guide > Setting things up" for p in found)


def test_two_sections_under_one_heading_path_are_two_sections() -> None:
    """Headings that repeat ("Example" under one parent, a slide and its continuation under the
    same title) start sections of their own; a thematic break within a section starts none."""
    text = (
        "# Guide\n\n## Example\n\nThe first example.\n\n## Example\n\nThe second example.\n\n"
        "Example\n-------\n\nThe third, set out.\n\nA paragraph.\n\n---\n\nAfter a thematic break.\n"
    )
    found = _structured(text)
    firsts = [p.text.split("\n")[0] for p in found]
    assert firsts == ["The first example.", "The second example.", "The third, set out."]
    assert {p.context for p in found} == {"Guide > Example"}
    assert found[-1].text.endswith("After a thematic break.")


def test_word_pieces_are_counted_on_what_the_model_reads() -> None:
    """Link targets are not read, so a paragraph of links longer than the window in markup is one
    passage when its words fit."""
    encoder = real_embedder()
    links = " ".join(f"[page {n}](https://example.com/a/long/path/to/page/{n}/index.html)" for n in range(12))
    found = _structured(f"# Links\n\nSee {links}.\n")
    assert encoder.count_tokens([links])[0] > encoder.max_tokens
    assert len(found) == 1 and "https" not in found[0].view


def test_the_model_reads_a_directive_fence_without_its_markup() -> None:
    """In a MyST directive fence the fences, options and reST directive lines are markup; of a
    plain fence the lines are read as written, its fences not."""
    text = (
        "```{eval-rst}\n.. example::\n   :caption: app.py\n\n"
        "    @app.command()\n    def hello():\n        pass\n```\n"
    )
    seen = code_view(text, 0, len(text))
    assert len(seen) == len(text) and seen.split() == ["@app.command()", "def", "hello():", "pass"]
    fence = "```python\nx = 1\n```"
    assert code_view(fence, 0, len(fence)) == "         \nx = 1\n   "


def test_inside_code_only_includes_are_markup_and_fence_attributes_are_not_read() -> None:
    """Lines that are markup in prose are code inside a fence (a Rust doc comment's bare "///",
    a "////" rule, a template's "{% for %}", a sample admonition), except include lines, which are
    never read; a fence of nothing but includes is no part; fences and their attributes are not read."""
    text = (
        "# Crates\n\n```rust,editable,ignore\n/// Adds one.\n///\nfn add_one() {}\n////////\n"
        "{{#include ../listings/extra.rs}}\n```\n\n```rust\n{{#rustdoc_include ../a/main.rs:here}}\n```\n\n"
        "```jinja\n{% for user in users %}\n{% endfor %}\n```\n\n"
        '```markdown\n!!! note "Shown"\n    A sample.\n```\n'
    )
    found, _ = parts(text)
    assert [part.kind for part in found] == ["code", "code", "code"]
    rust, jinja, sample = (text[part.start : part.end] for part in found)
    assert jinja.startswith("```jinja\n{% for user in users %}")
    assert rust.endswith("////////\n{{#include ../listings/extra.rs}}\n```") and "rustdoc" not in rust
    assert code_view(text, found[0].start, found[0].end).split() == [
        "///", "Adds", "one.", "///", "fn", "add_one()", "{}", "////////",
    ]  # fmt: skip
    assert "{% endfor %}" in code_view(text, found[1].start, found[1].end)
    assert '!!! note "Shown"' in sample and '!!! note "Shown"' in code_view(
        text, found[2].start, found[2].end
    )
    lines = [text[start:end] for start, end in found[0].units]
    assert lines[1:5] == ["/// Adds one.", "///", "fn add_one() {}", "////////"]


def test_entities_html_code_template_expressions_alerts_and_hard_breaks() -> None:
    """In prose, "&lt;" is read as "<" (padded with spaces, so offsets hold), an HTML code
    element's text as written (its "*" and "[]" are no emphasis or link), and a template's
    "{{ version }}", a GitHub alert's "[!NOTE]" and a hard break's backslash are markup."""
    text = (
        "Targets &lt;arch&gt; match <code>*</code> or <code>[ab]</code>, in {{ book-version }}.\\\n"
        "Then &amp; more.\n\n> [!NOTE]\n> Alerts read as text.\n"
    )
    seen = view(text, 0, len(text))
    assert len(seen) == len(text)
    assert seen.split() == [
        "Targets", "<", "arch>", "match", "*", "or", "[ab]", ",", "in", ".", "Then", "&", "more.",
        "Alerts", "read", "as", "text.",
    ]  # fmt: skip


def test_rows_and_lines_are_grouped_as_adding_one_at_a_time_would_with_fewer_counts() -> None:
    """``fit_units`` (a table's rows, a code block's lines) finds each group by searching near the
    previous group's length: the same groups as adding units one at a time until one does not
    fit, with a few counts a group instead of one or two a unit."""
    from qa.ingest.structured import _Reading, fit_units

    embedder = real_embedder()
    lines = [
        f"| {n} | {' '.join(['cell'] * (1 + n * 7 % 13))} | {'value' * (1 + n % 3)} |" for n in range(600)
    ]
    lines[100] = "| 100 | " + "long " * 300 + "|"  # one row over the limit alone
    text = "\n".join(lines)
    units, offset = [], 0
    for line in lines:
        units.append((offset, offset + len(line)))
        offset += len(line) + 1
    counted: list[int] = []

    def count(texts: list[str]) -> list[int]:
        counted.append(len(texts))
        return embedder.count_tokens(texts)

    doc = _Reading(text, text, count)
    limit = 120
    expected: list[tuple[int, int]] = []  # the reference: one unit at a time
    current: list[tuple[int, int]] = []
    for unit in units:
        if current and embedder.count_tokens([text[current[0][0] : unit[1]]])[0] <= limit:
            current.append(unit)
            continue
        if current:
            expected.append((current[0][0], current[-1][1]))
        current = [unit] if embedder.count_tokens([text[unit[0] : unit[1]]])[0] <= limit else []
        if not current:
            expected.append(unit)  # split below; compared by its extent
    expected.append((current[0][0], current[-1][1]))
    groups = fit_units(doc, units, limit)
    long_row = units[100]
    inside = [group for group in groups if long_row[0] <= group[0] and group[1] <= long_row[1]]
    assert len(inside) > 1 and inside[0][0] == long_row[0] and inside[-1][1] == long_row[1]
    outside = [group for group in groups if group not in inside]
    assert outside == [group for group in expected if group != long_row]
    assert all(embedder.count_tokens([text[s:e]])[0] <= limit for s, e in groups)
    assert len(counted) < len(units), (len(counted), len(units), len(groups))  # one a unit: 688


def test_inline_code_is_read_as_written_and_attribute_lists_blocks_and_includes_are_not() -> None:
    """What the model reads keeps a code span's characters (tags, underscores, asterisks), only
    its backticks go; heading attribute lists, pymdownx block fences (all but a title) and source
    includes are markup, never read and never a passage."""
    text = (
        "# Add a `__main__.py` { #main }\n\n"
        "Docusaurus provides the `<Tabs>` component; pass `**kwargs` or ``a `b` c``.\n\n"
        "/// tip | Heads up\n\nThe tip's own words.\n\n///\n\n"
        "Run it with:\n\n{* docs_src/app/tutorial001.py hl[3] *}\n\n<!-- `hidden` -->Done.\n"
    )
    found, headings = parts(text)
    assert headings == ["Add a __main__.py"] and title(text) == "Add a __main__.py"
    read = [" ".join(view(text, part.start, part.end).split()) for part in found]
    assert read == [
        "Docusaurus provides the <Tabs> component; pass **kwargs or a `b` c .",
        "Heads up",
        "The tip's own words.",
        "Run it with:",
        "Done.",
    ], read


def test_code_spans_and_comments_pair_left_to_right_in_linear_time() -> None:
    """Whichever opens first wins, as CommonMark reads them: a comment inside a code span is code,
    a code span inside a comment is comment; a backtick run closes only at a run of its own length
    with no blank line between. Prose that merely resembles the new markup (a `///` sentence, a
    brace in a sentence) is read. Runs of backticks that never close cost linear time (a regular
    expression for the pairing backtracked exponentially on about 1 KB of them)."""

    def read(text: str) -> str:
        return " ".join(view(text, 0, len(text)).split())

    assert read("`<!--` not hidden `-->` shown") == "<!-- not hidden --> shown"
    assert read("<!-- `x --> `<Tabs>` y") == "<Tabs> y"
    assert read("a `b\n\nc` d") == "a b c d"  # a blank line ends the paragraph's chance to close
    assert read("``a `b` c`` and \\`not code`") == "a `b` c and `not code"  # an escaped backtick is text
    assert read("/// Returns the sum of a and b.") == "/// Returns the sum of a and b."
    assert read("Use a dict {.key: value} or {* not an include *} here.") == (
        "Use a dict {.key: value} or {* not an include *} here."  # asterisks by spaces: as written
    )
    adversarial = "```" + "`` ` " * 2000 + "\n" + "`" * 5000
    assert len(view(adversarial, 0, len(adversarial))) == len(adversarial)


def test_a_lists_code_blocks_are_code_and_cut_between_lines() -> None:
    """A fenced block inside a list item is read as written (a blank line inside it, which ends
    an inline code span's chance to close, changes nothing), makes its passage a ``code`` one, and
    an item too long for one passage is cut between its code lines, never inside one."""
    text = (
        "# Steps\n\n1. Configure it:\n\n   ```python\n   client = Client(*args, **kwargs)\n\n"
        "   value = data[0]  # the _first_ item\n   ```\n\n2. Then run `main()`.\n"
    )
    found, _ = parts(text)
    (listed,) = found
    assert listed.kind == "list" and len(listed.code) == 1
    seen = reading(text, found)
    assert "client = Client(*args, **kwargs)" in seen and "data[0]  # the _first_ item" in seen
    assert "Configure it:" in seen and "main()" in seen and "1." not in seen
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "steps.md")
        path.write_text(text, encoding="utf-8")
        (passage,) = passages_of(path)
        assert passage.kind == "code"
        lines = "".join(f"   log.info('Step {n} done. Now the next one starts.')  # {n}\n" for n in range(60))
        path.write_text(
            f"# Long\n\n1. A long example:\n\n   ```python\n{lines}   ```\n\n2. Done.\n", encoding="utf-8"
        )
        long = load_file(path, path.name).text
        pieces = passages_of(path)
    assert len(pieces) > 2 and all(piece.kind == "code" for piece in pieces[1:-1])
    for piece in pieces:  # every cut falls at a line's end
        assert long[piece.end] == "\n" and long[piece.start - 1] in "\n "


def test_style_sheets_and_scripts_are_not_read() -> None:
    text = (
        "<style>\n.md-typeset h1 { color: red; }\n</style>\n\n"
        "Prose about the `<script>` element stays.\n\n"
        '<script type="module">\nconst x = 1 < 2;\n</script>\n\nThe end.\n'
    )
    read = read_parts(text)
    assert read == ["Prose about the <script> element stays.", "The end."], read


def test_admonition_and_tab_titles_are_read_their_markers_not() -> None:
    text = '!!! tip "Reuse a client"\n    Pooling saves a handshake.\n\n'
    text += '=== "Using pip"\n\n    Run the installer.\n'
    read = read_parts(text)
    assert read == ["Reuse a client Pooling saves a handshake.", "Using pip", "Run the installer."], read
    assert title("!!! note\n    Untitled admonitions keep only their body.\n").startswith("Untitled")


def test_navigation_to_the_sites_own_pages_is_no_part() -> None:
    """A book's SUMMARY.md (lists and a paragraph of nothing but links to its own pages) is
    navigation; a list of links off the site names things a question may ask for, and a list
    item with words besides its link is prose."""
    text = (
        "# Summary\n\n[Introduction](README.md)\n\n- [Getting started](guide/start.md)\n"
        "    - [Installation](guide/installation.md)\n- [Reference](ref/index.md#api)\n\n"
        "## Related\n\n- [tokio](https://tokio.rs)\n- [serde](https://serde.rs)\n\n"
        "* See [the FAQ](faq.md) for common questions.\n"
    )
    read = read_parts(text)
    assert read == ["tokio serde", "See the FAQ for common questions."], read


def test_tex_math_is_read_as_written() -> None:
    """Inline and display TeX keep their "_" and "|" (no emphasis, no table pipes); a dollar
    amount is no math."""
    text = "Loss $\\alpha\\sum_{n=1}^N |\\theta_n|$ is *small*.\n\n$$\nx_i = |y|\n$$\n\n"
    text += "Prices $5 and $10 rose _a lot_.\n"
    read = " ".join(view(text, 0, len(text)).split())
    assert (
        read
        == "Loss $\\alpha\\sum_{n=1}^N |\\theta_n|$ is small . $$ x_i = |y| $$ Prices $5 and $10 rose a lot ."
    ), read


def test_what_is_never_read_stays_unread_and_containers_nest() -> None:
    """An entity in a link's target, a tag's attribute or a style sheet stays blanked, and one
    standing for a line break reads as a space (lines hold); an HTML code element inside a
    comment stays hidden; a backtick run with backticks after it opens no fence, so the tab after
    it is parsed; an admonition inside another is read, titles with quotes inside too; links to
    other sites by "//" or "www." are no navigation."""
    text = (
        '[x](http://a.com/?a=1&amp;b=2) and <a title="&quot;q&quot;">y</a>, line one&#10;still one.\n\n'
        "<!-- TODO <code>secret_fn</code> -->\n\n<style>&gt;</style>\n\n"
        '```js``` is inline code.\n\n=== "pip"\n\n    Run it.\n\n    - step one\n    - step two\n\n'
        '!!! note "Use "quotes" here"\n    Outer text.\n\n    !!! tip "Inner"\n        Inner text.\n\n'
        "- [cdn](//cdn.example.com/lib.js)\n- [site](www.example.com)\n"
    )
    read = read_parts(text)
    assert read == [
        "x and y , line one still one.",
        "js is inline code.",
        "pip",
        "Run it.",
        "step one step two",
        'Use "quotes" here Outer text.',
        "Inner Inner text.",
        "cdn site",
    ], read
    seen = reading(text, parts(text)[0])
    assert len(seen) == len(text) and seen.count("\n") == text.count("\n")


def test_an_escaped_character_is_read_its_backslash_not() -> None:
    text = "Globs like \\*.pyc and \\_private\\_ names, a literal \\[x\\]; \\\\*emphasis* stays markup.\n"
    read = " ".join(view(text, 0, len(text)).split())
    assert read == "Globs like *.pyc and _private _ names, a literal [x ]; \\ emphasis stays markup.", read


def test_a_table_header_is_the_line_over_a_delimiter_row_with_pipes() -> None:
    assert heads_a_table("| a | b |\n| --- | :---: |\n| 1 | 2 |\n", 9)
    assert heads_a_table("a | b\n--- | ---\n", 5)
    assert not heads_a_table("Some prose.\n---\nmore", 11)  # a heading's underline, or a rule
    assert not heads_a_table("a | b\n| 1 | 2 |\n", 5)


def test_code_fences_are_found_with_their_fence_lines_and_an_open_one_runs_to_the_end() -> None:

    text = "Prose line\none more.\n\n```python\nx = 1\n```\n\nAfter.\n\n~~~\nopen to the end\n"
    spans = [text[low:high] for low, high in code_fences(text, 0, len(text))]
    assert spans == ["```python\nx = 1\n```", "~~~\nopen to the end\n"]
    assert code_fences(text, text.index("After"), len(text))[0][0] == text.index("~~~")
    assert code_fences("```js``` is inline code\n", 0, 24) == []


_FENCE_LINES = st.lists(
    st.sampled_from(["```python", "```", "~~~", "````", "  ```", "text", "", "x = 1", "> ```", "\t```"]),
    max_size=14,
)


@given(_FENCE_LINES, st.integers(0, 200), st.integers(0, 200), st.sampled_from(["\n", "\r\n"]))
@settings(max_examples=300, deadline=None)
def test_a_documents_fences_found_once_are_those_found_from_its_start_for_each_span(
    lines: list[str], a: int, b: int, newline: str
) -> None:
    """``Fences.within`` (the whole document's fences, found once, cut to a span) is what scanning
    from the document's start to the span's end finds from the span's start, for spans that end at
    a line's end (where one ends inside a line, the scan read the line cut short: "````" as "``"):
    the reader asked that of every passage, re-reading a long document each time."""
    text = newline.join(lines) + newline
    ends = [0, *(m.end() for m in re.finditer(r"\r\n|\n", text))]
    start = min(a, len(text))
    end = max(start, ends[b % len(ends)])
    expected = [(max(low, start), min(high, end)) for low, high in code_fences(text, 0, end) if high > start]
    fences = Fences.of(text)
    assert fences.within(start, end) == expected
    for offset in range(len(text)):  # scanned to the end of the offset's line
        line_end = next(end for end in ends if end > offset) if offset < ends[-1] else len(text)
        found = code_fences(text, 0, line_end)
        assert fences.holds(offset) == any(low <= offset < high for low, high in found)


def test_a_mkdocstrings_line_and_its_options_block_are_markup_a_pandoc_div_is_not() -> None:
    text = (
        "# API\n\n::: pkg.module.Model\n    options:\n      show_root_heading: true\n      members:\n"
        "        - model_dump\n\nModels validate their fields.\n\n:::note\nA fenced div's body.\n:::\n"
    )
    found, _ = parts(text)
    read = [text[part.start : part.end] for part in found]
    assert read == ["Models validate their fields.", "A fenced div's body."], read


def test_asterisks_are_emphasis_only_in_pairs_that_open_and_close() -> None:
    """From Poetry's docs: a version wildcard ("1.*", a table cell "| * |") and arithmetic
    ("2 * 3") are read as written; emphasis markers that open and close on a line are not."""

    def read(text: str) -> str:
        return " ".join(view(text, 0, len(text)).split())

    assert read("A requirement such as 1.* allows any 1.x release, and * allows any.") == (
        "A requirement such as 1.* allows any 1.x release, and * allows any."
    )
    assert read("| Requirement | Allowed |\n| --- | --- |\n| * | >=0.0.0 |\n| 1.2.* | >=1.2.0 |") == (
        "Requirement Allowed * >=0.0.0 1.2.* >=1.2.0"
    )
    assert read("This is *emphasis*, **strong** and ***both***, but 2 * 3 is 6.") == (
        "This is emphasis , strong and both , but 2 * 3 is 6."
    )
    assert read("* a list item with *emphasis* in it") == "a list item with emphasis in it"


def test_a_hugo_shortcode_as_a_links_target_is_markup_like_any_target() -> None:
    """Poetry's docs link with Hugo shortcodes, which CommonMark does not take for a link (a space
    in the target): the target, its title and the brackets are still markup, the text is read."""

    def read(text: str) -> str:
        return " ".join(view(text, 0, len(text)).split())

    assert read('See [Activating the environment]({{< relref "environments#activating" >}}).') == (
        "See Activating the environment ."
    )
    assert read(
        'Set [`cache-dir`]({{< relref "configuration#cache-dir" >}} "cache-dir docs") to move it.'
    ) == ("Set cache-dir to move it.")


def test_a_terminal_sessions_colouring_html_is_not_read_other_code_is_as_written() -> None:
    """Typer's docs colour their console output with <font> and <b> inside ```console fences:
    the model reads what the terminal showed. In an html fence the same tags are the code."""
    console = (
        '```console\n$ python main.py --help\n<font color="#F4BF75"><b>Usage: </b></font>'
        "main.py [OPTIONS] &apos;NAME&apos;\n```"
    )
    assert " ".join(code_view(console, 0, len(console)).split()) == (
        "$ python main.py --help Usage: main.py [OPTIONS] ' NAME'"
    )
    page = "```html\n<b>bold</b> &lt;tag&gt;\n```"
    assert code_view(page, 0, len(page)).strip() == "<b>bold</b> &lt;tag&gt;"


def test_a_tags_caption_and_label_are_read_its_other_attributes_not() -> None:
    """mdBook and MDX components carry prose in attributes (<Listing caption="...">, a tab's
    label): those words are read, the tag's name and its other attributes are not."""
    text = (
        '<Listing number="2-1" file-name="src/main.rs" caption="Code that reads a guess from the user">\n\n'
        "```rust\nfn main() {}\n```\n\n</Listing>\n"
    )
    found, _ = parts(text)
    first = found[0]
    assert " ".join(view(text, first.start, first.end).split()) == "Code that reads a guess from the user"
    assert [part.kind for part in found] == ["body", "code"]


def test_code_fences_keep_their_offsets_over_crlf_and_a_comments_caption_stays_unread() -> None:

    text = "# T\r\n\r\nProse one\r\ngoes on.\r\n\r\n```\r\na = 1\r\nb = 2\r\n```\r\nTail text here.\r\n"
    assert [text[low:high] for low, high in code_fences(text, 0, len(text))] == [
        "```\r\na = 1\r\nb = 2\r\n```"
    ]
    hidden = 'Text <!-- <Listing caption="secret words"> --> end'
    assert " ".join(view(hidden, 0, len(hidden)).split()) == "Text end"


def test_a_quoted_heading_list_or_code_block_is_read_without_its_markers() -> None:
    text = "# Guide\n\n> ## Retries\n> Set the limit:\n> ```python\n> client = Client(retries=3)\n> ```\n"
    text += "> - one\n> 2. two\n"
    (part,) = parts(text)[0]
    seen = view(text, part.start, part.end)
    assert len(seen) == part.end - part.start
    assert seen.split() == [
        "Retries",
        "Set",
        "the",
        "limit:",
        "client",
        "=",
        "Client(retries=3)",
        "one",
        "two",
    ]


def test_a_pymdownx_or_myst_blocks_title_is_read_a_html_blocks_tag_is_not() -> None:
    text = (
        "# Guide\n\n/// tip | Use the cache\nIt is faster.\n///\n\n/// html | div.note\nPlain block.\n///\n\n"
        ":::{admonition} Read this first\nBefore you start.\n:::\n\n::: warning\nA Pandoc div.\n:::\n"
    )
    seen = [" ".join(view(text, part.start, part.end).split()) for part in parts(text)[0]]
    assert seen == [
        "Use the cache It is faster.",
        "Plain block.",
        "Read this first Before you start.",
        "A Pandoc div.",
    ]
    padded = "/// tip | Use" + " " * 30000 + "the cache   \nIt is faster.\n///\n"  # linear, not quadratic
    assert " ".join(view(padded, 0, len(padded)).split()) == "Use the cache It is faster."


def test_brackets_are_markup_only_in_links_and_footnote_marks_are_not_read() -> None:
    text = "Index with v[i]; chars in [0x0, 0xD7FF] are valid, see [the `Pin` docs](https://x.y/a).\n"
    assert " ".join(view(text, 0, len(text)).split()) == (
        "Index with v[i]; chars in [0x0, 0xD7FF] are valid, see the Pin docs ."
    )
    text = "An async fn does nothing until awaited[^b].\n\n[^b]: println is blocking IO.\n"
    assert (
        " ".join(view(text, 0, len(text)).split())
        == "An async fn does nothing until awaited . println is blocking IO."
    )
    index = "Read m[i][j] as row i, column j; see [the guide][g].\n\n[g]: https://x.y/guide\n"
    read = " ".join(view(index, 0, len(index)).split())
    assert read.startswith("Read m[i][j] as row i, column j; see the guide .")
    assert title("# v[i][j] indexing\n\nText.\n") == "v[i][j] indexing"
    for linked in ("Use _[the guide][g]_ now.", "Python[docs][] now.", "使用Python[教程][g] now."):
        assert "[" not in " ".join(view(linked, 0, len(linked)).split()), linked  # links, not indexes
    wrapped = "See the [other installation\nmethods page][install] or [draft]().\n"
    assert (
        " ".join(view(wrapped, 0, len(wrapped)).split())
        == "See the other installation methods page or draft ."
    )


def test_a_titles_inline_markers_go_without_splitting_its_words() -> None:
    assert title("# Executing `Future`s and Tasks\n\nBody.\n") == "Executing Futures and Tasks"
    assert title("# `async`/`.await` Primer\n\nBody.\n") == "async/.await Primer"
    assert title("# #[panic_handler]\n\nBody.\n") == "#[panic_handler]"
    assert title("# See [the guide](guide.md) first\n") == "See the guide first"


def test_a_myst_directive_fence_inside_a_body_is_read_without_its_name() -> None:
    """A prose directive packed with the paragraph before it: its fence and name ("{warning}")
    are not read, a titled one's title is."""
    text = "Intro text.\n\n```{warning}\nOnly for tests.\n```\n\n```{admonition} Older Windows\nBody.\n```\n"
    assert " ".join(view(text, 0, len(text)).split()) == "Intro text. Only for tests. Older Windows Body."


def test_a_doctest_in_a_quoted_code_block_and_a_heading_opening_with_a_prompt_are_read() -> None:
    text = "> Try it:\n>\n> ```pycon\n> >>> 1 + 1\n> 2\n> ```\n\n> > A quote in a quote.\n\n"
    text += "# >>> usage\n\nText.\n"
    read = " ".join(view(text, 0, len(text)).split())
    assert read == "Try it: >>> 1 + 1 2 A quote in a quote. >>> usage Text."
    assert parts(text)[1] == [">>> usage"]
    ended = "> ```\n> >>> 1\n> ```\n> > A quote in a quote.\n"  # the code block closed: markers again
    assert " ".join(view(ended, 0, len(ended)).split()) == ">>> 1 A quote in a quote."
    indented = ">     ```\n>\n> > nested\n"  # indented code holding backticks opens no fence
    assert " ".join(view(indented, 0, len(indented)).split()) == "nested"
