"""Property tests: every passage slices the text exactly and fits the model's window."""

from __future__ import annotations

import textwrap
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.ingest.chunking import (
    _PARAGRAPH_BREAK,
    SentenceIndex,
    _split_word,
    chunk_text,
    longest_fitting,
    paragraphs,
    sentences,
    split_to_limit,
)
from qa.ingest.formats import parse_text
from qa.ingest.passages import build_passages
from tests.conftest import ARTICLE, real_embedder


def paragraph_start(text: str, low: int, position: int) -> int:
    """The start of the paragraph holding ``position`` (just after the blank line before it), or
    ``low`` when no blank line comes between them, found by walking back line by line: the plain
    reference that ``SentenceIndex`` (by bisection) and the splitting from it are checked against."""
    end = position
    while (newline := text.rfind("\n", low, end)) >= 0:
        before = text.rfind("\n", low, newline)
        if before >= 0 and _PARAGRAPH_BREAK.fullmatch(text, before, newline + 1):
            return newline + 1
        end = newline
    return low


LIMIT = 40  # small, so that generated texts cross it often

words = st.sampled_from(
    [
        "the",
        "UNIDO",
        "centre",
        "Müller",
        "“quoted”",
        "naïve",
        "AI.",
        "Dr.",
        "e.g.",
        "U.S.-led",
        "3.5",
        "日本語",
        "emoji🙂",
        "x" * 300,
        "supercalifragilisticexpialidocious",
        "\u00a0",
        "?",
        "It",
        "is.",
        "ok!",
    ]
)
separators = st.sampled_from([" ", " ", " ", "\n", "\r\n", "\n\n", "\r\n\r\n", "\t", "  \n \n", ". "])


@st.composite
def documents(draw: st.DrawFn) -> str:
    pieces = draw(st.lists(st.tuples(words, separators), max_size=120))
    text = "".join(word + sep for word, sep in pieces)
    if draw(st.booleans()):  # repeated text
        text = text * draw(st.integers(1, 3))
    return text


def count(texts: list[str]) -> list[int]:
    return real_embedder().count_tokens(texts)


def check_chunks(text: str, limit: int) -> None:
    chunks = chunk_text(text, count, limit, min_chars=30)
    previous_end = 0
    for chunk in chunks:
        assert 0 <= previous_end <= chunk.start < chunk.end <= len(text)
        piece = text[chunk.start : chunk.end]
        assert piece == piece.strip(), "passages are trimmed"
        assert count([piece])[0] <= limit, f"passage over the limit: {piece!r}"
        previous_end = chunk.end
    covered = "".join(text[c.start : c.end] for c in chunks)
    assert "".join(covered.split()) == "".join(text.split()), "no non-space character is lost"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_chunks_slice_exactly_and_fit(text: str) -> None:
    check_chunks(text, LIMIT)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=400))
def test_chunks_of_arbitrary_unicode(text: str) -> None:
    check_chunks(text, LIMIT)


@settings(max_examples=100, deadline=None)
@given(documents())
def test_sentences_and_paragraphs_are_exact(text: str) -> None:
    for spans in (sentences(text), paragraphs(text)):
        previous_end = 0
        for start, end in spans:
            assert previous_end <= start < end and text[start:end] == text[start:end].strip()
            previous_end = end
        covered = "".join(text[start:end] for start, end in spans)
        assert "".join(covered.split()) == "".join(text.split()), "every non-space character is covered"


# what sentence splitting treats specially: inline code and URLs (never cut inside), hard-wrapped
# lines (a line long enough to have been wrapped), lower-case continuations, list items
prose_words = st.one_of(
    words,
    st.sampled_from(["`a.b()`", "https://example.org/a.b", "www.example.org.", "wrapped " * 9, "- item"]),
)
prose_separators = st.one_of(separators, st.sampled_from(["\n\n\n", "\n \t\n", "\n\u00a0\n", ".\n"]))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(prose_words, prose_separators), max_size=150), st.data())
def test_sentences_from_a_paragraph_start_are_the_whole_texts(pieces: list, data: st.DataObject) -> None:
    """No sentence crosses a blank line, so the sentences of the text from the start of any
    paragraph are those of the whole text from there on: what lets a pronoun's referent be looked
    for in its own paragraph however long the block before it."""
    text = "".join(word + sep for word, sep in pieces)
    low = data.draw(st.integers(0, len(text)))  # a block may open anywhere, even mid-line
    end = data.draw(st.integers(low, len(text)))  # and a passage close it anywhere
    position = data.draw(st.integers(low, end))
    start = paragraph_start(text, low, position)
    assert low <= start <= position
    assert sentences(text, start, end) == [span for span in sentences(text, low, end) if span[0] >= start]


@st.composite
def wrapped_texts(draw: st.DrawFn) -> str:
    """Paragraphs hard-wrapped at various widths (some lines cut short), with inline code, URLs and
    abbreviations, separated by blank lines or by lines of a space that is no paragraph break."""
    pieces = st.sampled_from(
        ["the", "It", "is.", "ok!", "?", "e.g.", "Dr.", "`a b.` c", "`", "- item", "x" * 30]
    )
    pieces = st.one_of(pieces, st.sampled_from(["www.example.org.", "https://example.org/a.b"]))
    paragraphs = []
    for _ in range(draw(st.integers(1, 4))):
        words = " ".join(draw(st.lists(pieces, min_size=1, max_size=80)))
        lines = textwrap.wrap(words, draw(st.sampled_from([40, 62, 70, 80, 1000])))
        short = draw(st.lists(st.booleans(), min_size=len(lines), max_size=len(lines)))
        paragraphs.append(
            "\n".join(line[: len(line) // 2] if cut else line for line, cut in zip(lines, short, strict=True))
        )
    return "".join(part + draw(st.sampled_from(["\n\n", "\n\u2003\n", "\n \n", "\n"])) for part in paragraphs)


@settings(max_examples=1000, deadline=None)
@given(wrapped_texts(), st.sampled_from([1, 4, 30, 100]), st.data())
def test_the_sentence_before_an_offset_is_the_last_of_its_paragraph_split_so_far(
    text: str, window: int, data: st.DataObject
) -> None:
    """What lets a pronoun's referent be found without splitting its whole paragraph (one
    enormous paragraph or line would make that quadratic): the sentence found by reading back
    from an offset is the last sentence of the paragraph's text up to it, split whole."""
    low, high = data.draw(st.sampled_from([(0, len(text)), *[(0, end) for _, end in sentences(text)]]))
    starts = [start for start, _ in sentences(text, low, high)]  # where passages open, mostly
    stop = data.draw(st.one_of(st.integers(low, high), st.sampled_from(starts or [high])))
    position = data.draw(st.integers(low, stop))
    index = SentenceIndex(text, low, high)
    index.WINDOW = window  # small windows, so that the window grows from every kind of start
    first = paragraph_start(text, low, position)
    assert index.paragraph_start(position) == first
    whole = sentences(text, first, stop)
    assert index.sentence_before(position, stop) == (whole[-1] if whole else None)


# texts on which a window opening anywhere else would split differently: a line break judged by
# a wrap width set by a longer line before the window, and inline code open across a space
TRICKY = [
    "is. www.x.org. https://a.b/c.d is. Long It wrapped www.x.org.\nwrapped Long Long ? `a b.` c the Long"
    " - item It It Long the\nDr.",
    "ok! xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx wrapped e.g. e.g. - item is. `\nwww.x.org. ? "
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx wrapped - item\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx ` It",
    "Long ` wrapped https://a.b/c.d wrapped is. `",
    "www.x.org. Dr. the ` https://a.b/c.d Long e.g. ? `a b.` c the",
]


@pytest.mark.parametrize("text", TRICKY)
def test_the_sentence_before_every_offset_of_a_tricky_text(text: str) -> None:
    for window in (1, 4, 30):
        for stop in range(len(text) + 1):
            index = SentenceIndex(text, 0, len(text))
            index.WINDOW = window
            whole = sentences(text, paragraph_start(text, 0, stop), stop)
            assert index.sentence_before(stop, stop) == (whole[-1] if whole else None), (window, stop)


def test_empty_and_whitespace_documents_have_no_passages() -> None:
    for text in ["", " ", "\n\n\r\n\t \u00a0 \n"]:
        assert chunk_text(text, count, LIMIT) == []


def test_single_sentence_longer_than_the_limit_is_split_under_it() -> None:
    sentence = "The centre " + "will support industrial AI development in many countries " * 60 + "today."
    spans = split_to_limit(sentence, 0, len(sentence), count, 254)
    assert len(spans) > 1
    assert all(count([sentence[s:e]])[0] <= 254 for s, e in spans)
    assert "".join(sentence[s:e] for s, e in spans).replace(" ", "") == sentence.replace(" ", "")


def test_one_word_longer_than_the_limit_is_cut() -> None:
    word = "a" + "b9" * 800
    spans = split_to_limit(word, 0, len(word), count, LIMIT)
    assert "".join(word[s:e] for s, e in spans) == word
    assert all(count([word[s:e]])[0] <= LIMIT for s, e in spans)


def longest_prefixes(text: str, start: int, end: int, fits: Callable[[str], bool]) -> list[tuple[int, int]]:
    """The plain reference for ``_split_word``: each piece the longest prefix of the rest that
    fits, found by bisecting over the whole rest (quadratic on a long run)."""
    pieces = []
    while start < end:
        low, high = start + 1, end
        while low < high:
            middle = (low + high + 1) // 2
            low, high = (middle, high) if fits(text[start:middle]) else (low, middle - 1)
        pieces.append((start, low))
        start = low
    return pieces


@settings(deadline=None)  # a shared machine's pauses are no failure
@given(
    st.integers(min_value=0, max_value=50),
    st.integers(min_value=0, max_value=300),
    st.integers(min_value=-10, max_value=400),
    st.integers(min_value=-5, max_value=400),
)
def test_the_longest_fitting_point_is_found_from_any_guess(
    low: int, span: int, point: int, guess: int
) -> None:
    """Wherever the guess lands (below, at, above the point, outside the range), the search
    returns the last point that fits, or ``low`` when none past it does, asking only inside the
    range and never about ``low`` itself."""
    high = low + span
    asked: list[int] = []

    def fits(x: int) -> bool:
        assert low < x <= high
        asked.append(x)
        return x <= point

    assert longest_fitting(fits, low, high, guess) == min(max(point, low), high)
    assert len(asked) <= 2 * (span + 1).bit_length() + 2


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=400),
    st.integers(min_value=1, max_value=60),
)
def test_a_long_run_is_cut_into_the_longest_fitting_prefixes(weights: list[int], limit: int) -> None:
    """Galloping from the previous piece's length finds the prefixes that bisecting over the whole
    rest finds, for any counter where a longer prefix never counts less (characters of weights 1-9,
    some heavier than the limit, so a piece can be one character over it)."""
    text = "".join(str(weight) for weight in weights)

    def counter(texts: list[str]) -> list[int]:
        return [sum(int(character) for character in piece) for piece in texts]

    expected = longest_prefixes(text, 0, len(text), lambda piece: counter([piece])[0] <= limit)
    assert _split_word(text, 0, len(text), counter, limit) == expected


def test_cutting_a_long_run_counts_text_linear_in_its_length() -> None:
    """A whitespace-free run (base64, minified code) is cut counting a few times its own length
    in characters: bisecting over the whole rest for each piece counted its square."""
    word = "".join(chr(ord("a") + (n * 7919) % 26) + "+/="[n % 3] for n in range(20_000))
    counted: list[int] = []

    def counter(texts: list[str]) -> list[int]:
        counted.extend(len(piece) for piece in texts)
        return count(texts)

    spans = _split_word(word, 0, len(word), counter, LIMIT)
    assert "".join(word[s:e] for s, e in spans) == word and len(spans) > 100
    assert all(count([word[s:e]])[0] <= LIMIT for s, e in spans)
    assert sum(counted) <= 20 * len(word), (sum(counted), len(word))


def test_crlf_text_keeps_offsets() -> None:
    text = "Title\r\n\r\nFirst paragraph here.\r\nStill first.\r\n\r\nSecond one."
    for chunk in chunk_text(text, count, LIMIT):
        assert (
            "\r" not in text[chunk.start]
            and text[chunk.start : chunk.end].strip() == text[chunk.start : chunk.end]
        )


def test_sentence_splitter_respects_abbreviations() -> None:
    text = "Ben Wodecki, Jr. Editor wrote it. The U.S.-led resolution passed. Dr. Smith agreed."
    assert [text[s:e] for s, e in sentences(text)] == [
        "Ben Wodecki, Jr. Editor wrote it.",
        "The U.S.-led resolution passed.",
        "Dr. Smith agreed.",
    ]


def test_a_short_line_that_opens_a_sentence_is_wrapped_not_ended() -> None:
    """Rendered reST keeps its source's line breaks but drops a role's target, so a line can end
    short in mid-sentence ("... built-in filters. To use"); the sentence goes on. Code lines,
    which start lower-case or stop on a bracket or an operator, stay one line each."""
    from qa.ingest.renderers import render_rst

    source = (
        "Custom Filters\n==============\n\n"
        "Jinja comes with some :ref:`built-in filters <builtin-filters>`. To use\n"
        "a custom filter, write a function that takes at least a ``value``\n"
        "argument, then register it in :attr:`Environment.filters`.\n"
    )
    text, _ = render_rst("filters.rst", source)
    found = [text[s:e] for s, e in sentences(text)]
    assert "Jinja comes with some built-in filters." in found
    assert any(
        sentence.startswith("To use\na custom filter") and sentence.endswith("filters.") for sentence in found
    )
    code = "import os\nimport sys\nCONFIG = dict(debug=True)\nvalue = os.environ\n"
    assert [code[s:e] for s, e in sentences(code)] == [
        "import os",
        "import sys",
        "CONFIG = dict(debug=True)",
        "value = os.environ",
    ]
    title = "Installation Guide\npip install qa\n"  # a title line over a command is no sentence's start
    assert [title[s:e] for s, e in sentences(title)] == ["Installation Guide", "pip install qa"]
    wrapped = "It rained all week in Geneva. The United Nations\nannounced a new climate fund on Monday.\n"
    assert [wrapped[s:e] for s, e in sentences(wrapped)] == [  # a sentence ending in names goes on
        "It rained all week in Geneva.",
        "The United Nations\nannounced a new climate fund on Monday.",
    ]
    for numbered in ("2. Getting Started\nrun the installer first.\n", "Chapter 1. Usage Notes\nrun it.\n"):
        assert len(sentences(numbered)) == 3, numbered  # a numbered title line is no sentence's start


def test_article_passages_keep_original_characters_and_fit_the_model() -> None:
    embedder = real_embedder()
    text = ARTICLE.read_text(encoding="utf-8")
    document = parse_text(ARTICLE.name, text)
    passages = build_passages(document, count, embedder.truncate, embedder.max_tokens, 200, 120)
    assert passages
    for passage in passages:
        assert text[passage.start : passage.end] == passage.text
        assert count([passage.embedding_text])[0] <= embedder.max_tokens
    assert any("\u00a0" in p.text for p in passages), "non-breaking spaces survive"
    assert any("\u201d" in p.text for p in passages), "curly quotes survive"


@pytest.mark.parametrize("between", ["\n\n", "\n"])  # paragraphs, or one paragraph of lines
def test_a_pronoun_deep_in_a_long_plain_text_gets_the_subject_before_it(
    monkeypatch: pytest.MonkeyPatch, between: str
) -> None:
    """In a plain document (one block for the whole body) a passage that opens with a pronoun
    carries the subject of the sentence before it, read back from the passage only as far as that
    sentence: the text split to find referents stays within a few times the document's length,
    however many passages open with a pronoun and however long the paragraph (splitting everything
    before each one grew with its square)."""
    import qa.ingest.chunking

    monkeypatch.setattr(qa.ingest.chunking.SentenceIndex, "WINDOW", 64)  # about a sentence here

    split: list[int] = []

    def counted(
        text: str, start: int = 0, end: int | None = None, carried: tuple[int, int] = (0, 0)
    ) -> list[tuple[int, int]]:
        split.append((len(text) if end is None else end) - start)
        return sentences(text, start, end, carried)

    monkeypatch.setattr(qa.ingest.chunking, "sentences", counted)
    embedder = real_embedder()
    filler = between.join(f"Note {n} lists the tides and the winds of the bay in spring." for n in range(400))
    story = (
        f"The old lighthouse keeper has kept a log of the harbour.{between}"
        "It records every storm, wreck and rescue off the northern cliffs since the tower was first lit."
    )
    again = between.join(f"It is note {n} again, on the tides of the bay." for n in range(400))
    text = f"Harbour records\n\n{filler}{between}{story}{between}{filler}{between}{again}\n"
    document = parse_text("records.txt", text)
    passages = build_passages(document, embedder.count_tokens, embedder.truncate, embedder.max_tokens, 24, 0)
    opening = [p for p in passages if p.text.startswith("It records every storm")]
    assert len(opening) == 1 and "The old lighthouse keeper" in opening[0].context, opening
    assert text[opening[0].start : opening[0].end] == opening[0].text
    assert len(split) > 100 and sum(split) <= 3 * len(text), (len(split), sum(split), len(text))
