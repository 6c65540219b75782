"""The English cue words the learned reader's features read, and the acronym rules search uses,
each on sentences of their own (none from the indexed article)."""

from __future__ import annotations

import pytest

from qa.lang.en.answers import (
    CAPITALISED_WORD,
    MAX_NAMES,
    MONTH,
    NUMBER_WORD,
    UNIT,
    YEAR,
    acronyms,
    asks,
    bare_term,
    content_words,
    question_class,
    spelled_out,
)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When did the Berlin Wall fall?", "when"),
        ("In what year was the bridge finished?", "when"),
        ("WHAT YEARS WAS THE C5 VETTE PRODUCED", "when"),  # typed in capitals, as WikiQA's Bing queries
        ("how many moons does jupiter have", "how_quant"),
        ("HOW MUCH IS CENTAVOS IN MEXICO", "how_quant"),
        ("Whose portrait is on the banknote?", "who"),
        ("Where is the river's source?", "where"),
        ("Which dynasty built the canal?", "which"),
        ("why do cats purr", "why"),
        ("Name the capital of Peru.", "other"),
    ],
)
def test_question_class(question: str, kind: str) -> None:
    assert question_class(question) == kind


def test_content_words_are_stems_without_stop_words_whatever_the_case() -> None:
    assert content_words("What were the Running costs of the bridges?") == ["run", "cost", "bridg"]
    assert content_words("WHAT WERE THE RUNNING COSTS") == content_words("what were the running costs")
    assert content_words("Where is it?") == []


def test_answer_type_cues() -> None:
    assert YEAR.search("The canal opened in 1869 after ten years of work.")
    assert YEAR.search("popular in the 1990s")
    assert not YEAR.search("a crew of 250 sailors")
    assert MONTH.search("It rained on 3 March.") and MONTH.search("In OCTOBER the fair opens.")
    assert NUMBER_WORD.search("three bridges") and not NUMBER_WORD.search("someone")
    assert UNIT.search("It costs $5.") and UNIT.search("about 40 km long") and not UNIT.search("a long road")
    assert CAPITALISED_WORD.findall(" The river flows past Vienna and Budapest.") == [
        "The",
        "Vienna",
        "Budapest",
    ]


def test_acronyms_of_a_question() -> None:
    question = "Does the U.S. back AI R&D at UNIDO?"
    assert [question[start:end] for start, end in acronyms(question)] == ["U.S.", "AI", "R&D", "UNIDO"]
    assert acronyms("What did the premier say?") == []
    assert len(acronyms(" ".join(["Is AIM the same as R&D?"] * 100))) == MAX_NAMES  # each costs a look


@pytest.mark.parametrize(
    ("acronym", "text", "written"),
    [
        ("R&D", "It backs AI research and development in health care.", True),
        ("IT", "the Ministry of Industry and Information Technology.", True),
        ("DG", "said Gerd Müller, UNIDO's director general.", True),
        ("WHO", "the World Health Organization (WHO) said", False),  # the text uses the acronym
        ("US", "the U.S.-led resolution", False),  # dotted
        ("IT", "It is important to note.", False),  # small words spell nothing
        ("GS", "governments, the scientific community", False),  # not one phrase
        ("DG", "the Shanghai Declaration on Global AI Governance", False),  # inside a longer name
    ],
)
def test_acronym_spelled_out(acronym: str, text: str, written: bool) -> None:
    assert spelled_out(acronym, text) is written


@pytest.mark.parametrize(
    ("sentence", "asking"),
    [
        ("So how do you register that blueprint?", True),
        ('The reviewer asked, "Is it finished?"', True),  # its closing quote after the mark
        ("Why not (and who decides?)", True),
        ("Use the ? wildcard to match one character.", False),
        ("The query string is ?page=2.", False),
        ("It works.", False),
    ],
)
def test_a_sentence_that_asks_is_known_by_its_question_mark(sentence: str, asking: bool) -> None:
    assert asks(sentence) is asking


@pytest.mark.parametrize(
    ("query", "term"),
    [
        ("hello", True),
        ("error", True),
        ("PhantomData", True),
        ("  the  ", True),  # stop words alone
        ("tokio::spawn", False),  # two words: "tokio" and "spawn"
        ("PhantomData?", False),  # asked
        ("Who is Midna?", False),
        ("what is in fruitcake", False),  # a question word, typed without its mark
        ("print hello world", False),
        ("connection pool size", False),
        ("什么是人工智能", False),
        ("is it free", False),  # a yes/no question typed without its mark
        ("can I cancel", False),
        ("whats Pin", False),
        ("بايثون؟", False),  # a question in a script written without spaces is no one word
    ],
)
def test_a_single_term_asks_nothing(query: str, term: bool) -> None:
    assert bare_term(query) is term
