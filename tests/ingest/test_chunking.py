"""Property tests: every passage slices the text exactly and fits the model's window."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.ingest.chunking import chunk_text, paragraph_start, paragraphs, sentences, split_to_limit
from qa.ingest.formats import parse_text
from qa.ingest.passages import build_passages
from tests.conftest import ARTICLE, real_embedder

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


def test_a_pronoun_deep_in_a_long_plain_text_gets_the_subject_before_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In a plain document (one block for the whole body) a passage that opens with a pronoun
    carries the subject of the sentence before it, looked for in that sentence's own paragraph:
    the text split to find referents stays within a few times the document's length, however many
    passages open with a pronoun (splitting everything before each one grew with its square)."""
    import qa.ingest.passages

    split: list[int] = []

    def counted(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
        split.append((len(text) if end is None else end) - start)
        return sentences(text, start, end)

    monkeypatch.setattr(qa.ingest.passages, "sentences", counted)
    embedder = real_embedder()
    filler = "\n\n".join(f"Note {n} lists the tides and the winds of the bay in spring." for n in range(400))
    story = (
        "The old lighthouse keeper has kept a log of the harbour.\n\n"
        "It records every storm, wreck and rescue off the northern cliffs since the tower was first lit."
    )
    again = "\n\n".join(f"It is note {n} again, on the tides of the bay." for n in range(400))
    text = f"Harbour records\n\n{filler}\n\n{story}\n\n{filler}\n\n{again}\n"
    document = parse_text("records.txt", text)
    passages = build_passages(document, embedder.count_tokens, embedder.truncate, embedder.max_tokens, 24, 0)
    opening = [p for p in passages if p.text.startswith("It records every storm")]
    assert len(opening) == 1 and "The old lighthouse keeper" in opening[0].context, opening
    assert text[opening[0].start : opening[0].end] == opening[0].text
    assert len(split) > 100 and sum(split) <= 3 * len(text), (len(split), sum(split), len(text))
