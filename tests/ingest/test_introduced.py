"""A lead-in sentence ending in a colon carries the block it introduces (qa.ingest.introduced):
on real documentation pages (httpx's Markdown, Flask's reST through its renderer) and on the
shapes a block takes (fence, list, table, indented code), never past the block or its limit."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from qa.ingest.formats import load_file
from qa.ingest.introduced import MAX_CHARS, MAX_LINES, introduced_end, lead_in_of, term_of

DOCUMENTS = Path(__file__).resolve().parents[1] / "data" / "documents"


def carried(text: str, sentence: str) -> str:
    start = text.index(sentence)
    return text[start : introduced_end(text, start, start + len(sentence))]


def test_a_lead_in_carries_the_code_block_after_it_on_a_real_page() -> None:
    text = (DOCUMENTS / "httpx-timeouts.md").read_text(encoding="utf-8")
    answer = carried(text, "You can set timeouts for an individual request:")
    assert answer.endswith("timeout=10.0)\n```") and answer.count("```") == 2
    assert "Or disable timeouts" not in answer
    # not a lead-in: the sentence alone
    alone = "HTTPX is careful to enforce timeouts everywhere by default."
    assert carried(text, alone) == alone


def test_a_rendered_rest_literal_block_is_carried_too() -> None:
    document = load_file(DOCUMENTS / "flask-config.rst", "flask-config.rst")
    text = document.text
    lead = next(line.strip() for line in text.splitlines() if line.rstrip().endswith("dictionary:"))
    answer = carried(text, lead)
    assert answer.startswith(lead) and answer.count("```") == 2 and "app.config" in answer


def test_lists_tables_and_indented_code_are_carried_to_their_end() -> None:
    page = (
        "The options are:\n\n- `a`, the first\n  continued\n- `b`, the second\n\nAfter the list.\n\n"
        "Columns:\n| a | b |\n|---|---|\n| 1 | 2 |\nAfter the table.\n\n"
        "Run it so:\n\n    make serve\n    make test\n\nAfter the code.\n"
    )
    assert carried(page, "The options are:").endswith("- `b`, the second")
    assert carried(page, "Columns:").endswith("| 1 | 2 |")
    assert carried(page, "Run it so:").endswith("    make test")


def test_what_is_no_introduced_block_is_left_alone() -> None:
    for page, lead in (
        ("Prose follows:\n\nJust prose.\n", "Prose follows:"),
        ("Too far:\n\n\n```\nx\n```\n", "Too far:"),
        ("The line goes on: after the colon\n\n```\nx\n```\n", "The line goes on:"),
        ("At the end:", "At the end:"),
    ):
        assert carried(page, lead) == lead, page


def test_a_long_list_is_cut_at_a_line_a_long_or_empty_code_block_is_not_carried() -> None:
    """An answer never ends inside a fence: a code block is carried whole or not at all, and one
    whose only line is an include directive has nothing to read."""
    items = "\n".join(f"- item {n}" for n in range(40))
    answer = carried(f"Many:\n{items}\n", "Many:")
    assert answer.count("\n") == MAX_LINES and answer.endswith(f"item {MAX_LINES - 1}")
    wide = "\n".join(f"| {'cell ' * 30} |" for _ in range(12))
    assert len(carried(f"Wide:\n{wide}\n", "Wide:")) <= MAX_CHARS
    unclosed = "Unclosed:\n```\n" + "\n".join(f"line {n}" for n in range(40)) + "\n"
    assert carried(unclosed, "Unclosed:") == "Unclosed:"
    long_code = "Long:\n```\n" + "\n".join(f"line {n}" for n in range(40)) + "\n```\n"
    assert carried(long_code, "Long:") == "Long:"
    include = "Like this:\n\n```rust\n{{#include ../examples/lib.rs:simple}}\n```\n"
    assert carried(include, "Like this:") == "Like this:"
    short = "Like this:\n\n```rust\nfn main() {}\n```\n"
    assert carried(short, "Like this:") == short.rstrip("\n")
    indented = "Long:\n\n" + "\n".join(f"    line {n}" for n in range(40)) + "\n\nAfter.\n"
    assert carried(indented, "Long:") == "Long:"  # indented code too: whole or not at all
    at_the_end = "Long:\n\n" + "\n".join(f"    line {n}" for n in range(MAX_LINES + 1)) + "\n"
    assert carried(at_the_end, "Long:") == "Long:"
    fifteen = "Run:\n\n" + "\n".join(f"    line {n}" for n in range(MAX_LINES))
    for after in ("\n\n", "\n\n\nAfter.\n"):  # blank lines after it are not its lines
        assert carried(fifteen + after, "Run:") == fifteen
    deeper = "Run:\n\n        x = 1\n    y = 2\n    z = 3\n\nAfter.\n"  # its first line indented more
    assert carried(deeper, "Run:") == deeper[: deeper.index("\n\nAfter")]
    steps = "Steps:\n\n- Install it\n- Run this:\n\n  ```\n" + "".join(f"  line {n}\n" for n in range(20))
    steps += "  ```\n\n- Done\n"  # a list cut at its limit, not inside an item's code block
    assert carried(steps, "Steps:") == "Steps:\n\n- Install it\n- Run this:"


@given(st.text(alphabet=st.sampled_from(list("ab :-|`\n\t")), max_size=80), st.integers(0, 80))
def test_the_answer_only_grows_from_its_own_end_within_the_text(text: str, at: int) -> None:
    end = min(at, len(text))
    grown = introduced_end(text, 0, end)
    assert end <= grown <= len(text)
    assert grown == end or text[:end].rstrip().endswith(":")


def test_a_code_line_ending_in_a_colon_introduces_nothing() -> None:
    page = "```console\n$ app login\nEnter your password:\n```\n\nThe password is stored in the keyring.\n"
    assert carried(page, "Enter your password:") == "Enter your password:"


def test_a_code_line_chosen_as_the_answer_is_given_with_the_lead_in_that_carries_its_block() -> None:
    page = "## Examples\n\nCache results for 10 minutes:\n\n```http\nAccess-Control-Max-Age: 600\n```\n\n"
    line = page.index("Access-Control-Max-Age: 600")
    found = lead_in_of(page, 0, len(page), line, line + len("Access-Control-Max-Age: 600"))
    assert found is not None
    assert (
        page[found[0] : found[1]]
        == "Cache results for 10 minutes:\n\n```http\nAccess-Control-Max-Age: 600\n```"
    )
    for other in (  # no lead-in above it, or one whose block is too long to carry: the line alone
        "Some prose here.\n\n```http\nAccess-Control-Max-Age: 600\n```\n",
        "Like so:\n\n```http\nAccess-Control-Max-Age: 600\n" + "x = 1\n" * (MAX_LINES + 1) + "```\n",
    ):
        line = other.index("Access-Control-Max-Age: 600")
        assert lead_in_of(other, 0, len(other), line, line + 5) is None
    # a passage that begins inside the block (a long block cut in two) holds no lead-in: its
    # closing fence is no opening one, and the lead-in above the block is in another passage
    cut = "Set it so:\n\n```http\nx: 1\nAccess-Control-Max-Age: 600\n```\n\nA closing sentence:\n\n- item\n"
    low, line = cut.index("x: 1"), cut.index("Access-Control-Max-Age: 600")
    assert lead_in_of(cut, low, len(cut), line, line + 5) is None


def test_an_answer_opening_a_definitions_description_is_given_with_its_term() -> None:
    """MDN's "- term" over "  - : description" and a definition list's "Term" over ": description":
    "This is the default value." says nothing without the term it describes."""
    for page, term in (
        ("## Values\n\n- `unsafe-none`\n\n  - : This is the default value. More.\n", "`unsafe-none`"),
        ("Lax\n: Cookies are sent on top-level navigations.\n", "Lax"),
    ):
        for start in (page.index(":", page.index(term) + len(term)) + 2, page.index(":", page.index(term))):
            found = term_of(page, 0, start)  # the answer at its first word, or at its marker
            assert found is not None and page[found:].startswith(term), page
    later = "- `Lax`\n  - : Sent on navigations.\n    This is the default.\n"  # a later sentence of it
    assert later[term_of(later, 0, later.index("This")) or 0 :].startswith("`Lax`")
    for page in (
        "A paragraph line.\nThis is the sentence.\n",  # no description
        "- `x`\n  - : Described.\n\n    This is a second paragraph.\n",  # past its first paragraph
    ):
        assert term_of(page, 0, page.index("Th")) is None
    assert term_of("- `x`\n  - : Described.\n", 10, 12) is None  # the term is before the passage
