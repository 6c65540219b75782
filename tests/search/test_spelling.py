"""Typo tolerance on the keyword side (``qa.search.spelling``), on the real library index: a
misspelled key term finds the passages its correct spelling finds; no word of the corpus is ever
changed; numbers and short words are left alone."""

from __future__ import annotations

import pytest

from qa.core.config import Settings
from qa.index.generations import load_generation
from qa.search.shards import Partition
from qa.search.spelling import edits, fixable, raw_words
from qa.service.engine import open_searcher
from tests.conftest import real_embedder

PAIRS = [  # (misspelled, as meant): a swap, a dropped letter, an extra letter, a wrong letter
    ("How do I set a timout for a single request?", "How do I set a timeout for a single request?"),
    ("how much do ferry tikcets cost?", "how much do ferry tickets cost?"),
    ("registering a bluepprint", "registering a blueprint"),
    ("where is the configuraton loaded from?", "where is the configuration loaded from?"),
    ("certificat verification", "certificate verification"),
]


@pytest.fixture(scope="module")
def partition(library_settings: Settings) -> Partition:
    return Partition.whole(load_generation(library_settings.index_dir))


def test_edits_are_one_step_away() -> None:
    found = edits("cat", "act")
    assert {"at", "ct", "ca", "act", "cta", "aat", "caat", "cact"} <= found and "cat" not in found
    assert all(abs(len(word) - 3) <= 1 for word in found)


@pytest.mark.parametrize(("misspelled", "meant"), PAIRS)
def test_a_misspelled_key_term_finds_what_its_spelling_finds(
    library_settings: Settings, partition: Partition, misspelled: str, meant: str
) -> None:
    assert partition.keyword_words(misspelled) == partition.keyword_words(meant)
    partition.spelling = False
    try:
        assert partition.keyword_words(misspelled) != partition.keyword_words(meant)  # it needed fixing
    finally:
        partition.spelling = True
    searcher = open_searcher(load_generation(library_settings.index_dir), real_embedder())
    wanted = searcher.rank(searcher.embed(meant), 5, "keyword")
    assert searcher.rank(searcher.embed(misspelled), 5, "keyword") == wanted and wanted


def test_no_word_of_the_corpus_is_ever_changed(library_settings: Settings, partition: Partition) -> None:
    texts = [passage.embedding_text for passage in load_generation(library_settings.index_dir).passages]
    corrected = [partition.keyword_words(text) for text in texts]
    partition.spelling = False
    try:
        assert corrected == [partition.keyword_words(text) for text in texts]
    finally:
        partition.spelling = True


def test_only_words_the_model_does_not_hold_whole_may_be_corrected(partition: Partition) -> None:
    encoder = real_embedder()
    assert fixable(encoder, "How do I set a timout for a single request?") == ("timout",)
    assert fixable(encoder, "who toured the museum when it rained in 2024?") == ()
    question = "which journalist toured the islands when it rained?"  # real words this corpus does not use
    assert not partition.speller.known(partition.stemmer.stemWord("journalist"))
    as_written = partition.stemmer.stemWords(raw_words(question))
    assert partition.keyword_words(question, fixable(encoder, question)) == as_written
    assert partition.keyword_words(question) != as_written  # without the tokenizer's word, it would be


def test_numbers_and_short_words_are_left_alone(partition: Partition) -> None:
    assert not partition.speller.known("2025") and not partition.speller.known("eur")
    words = partition.keyword_words("ferry 2025 tiket 12 eur")
    assert words == [
        *partition.stemmer.stemWords(["ferry"]),
        "2025",
        *partition.stemmer.stemWords(["ticket"]),
        "12",
        "eur",
    ]


def test_a_correction_keeps_the_first_letter(partition: Partition) -> None:
    assert partition.keyword_words("tikcets") == partition.stemmer.stemWords(["tickets"])
    # one substitution from "tickets" too, but of the first letter: typing errors rarely fall there
    assert partition.keyword_words("zickets") == partition.stemmer.stemWords(["zickets"])


def test_a_word_written_with_an_inner_capital_is_not_a_typo() -> None:
    encoder = real_embedder()
    assert fixable(encoder, "is ccl19 absent within dlns?") == ("dlns",)
    assert fixable(encoder, "Is CCL19 absent within dLNs?") == ()  # an acronym as its writer wrote it
    assert fixable(encoder, "Timout of a single request") == ("timout",)  # a capital first letter only
    assert fixable(encoder, "TIMOUT of a single request") == ("timout",)  # capitals alone
    assert fixable(encoder, "data from a cRCT") == ()  # capitals after a small first letter
    assert fixable(encoder, "data from a crct") == ("crct",)


@pytest.mark.parametrize(
    "text",
    [
        "What did the Minister say about AI safety in 2024?",
        "l'été à Zürich: naïve café's über-größe, x2 and B2B",
        "A_b __init__ don't it's self-driving 3.14 e.g. U.S.A. — “quoted” words",
        "",
        "!!! ?? a I",
    ],
)
def test_raw_words_are_the_keyword_tokenizers_words(text: str) -> None:
    """The question's words are split as the keyword index splits passages (bm25s.tokenize)."""
    import bm25s

    from qa.lang.en import ENGLISH

    expected = bm25s.tokenize([text], stopwords=ENGLISH.stopwords, show_progress=False, return_ids=False)
    assert raw_words(text) == list(expected[0])


def test_word_piece_counts_kept_from_earlier_questions_change_nothing() -> None:
    from qa.core.kept import Kept

    encoder, counted = real_embedder(), Kept[str, int](100)
    for question in ("How do I set a timout for a single request?", "a timout or a timeout", "Timout again"):
        assert fixable(encoder, question, counted) == fixable(encoder, question)
        assert fixable(encoder, question, counted) == fixable(encoder, question)  # now from memory
    assert counted.get("timout") == encoder.count_tokens(["timout"])[0] > 1
    assert counted.get("request") == 1  # a word the model holds whole, counted once all the same
