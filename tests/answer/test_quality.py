"""Retrieval quality on the article, with the real model: thresholds a regression would break.

The question set (tests/data/article_questions.jsonl) holds reader-style questions with gold
evidence spans; a question counts as answered at rank r when the passage at rank r contains the
gold span. The floors below are the issue's targets where they are met, else the measured figures;
`make eval` prints the full table.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from qa.core.config import Settings
from qa.index.build import build_index
from qa.index.generations import load_generation
from qa.search.searcher import Searcher
from qa.service.engine import open_searcher
from tests.conftest import DATA, real_embedder

UNIDO = "Also unveiled during WAIC’s opening ceremony was the formation of a new United Nations Industrial"


@pytest.fixture(scope="module")
def searcher(article_settings: Settings) -> Searcher:
    return open_searcher(load_generation(article_settings.index_dir), real_embedder())


def test_unido_question_finds_the_centre_of_excellence_first(searcher: Searcher) -> None:
    result = searcher.search("what did UNIDO announce?", 5)
    assert UNIDO in result.hits[0].passage.text
    assert result.answerable and result.answer is not None and "UNIDO" in result.answer.text


def test_pronoun_passage_is_found_through_its_referent(searcher: Searcher) -> None:
    result = searcher.search("Where will the centre be housed?", 3)
    assert any(
        "It will be located in the Shanghai Artificial Intelligence" in h.passage.text for h in result.hits
    )


def test_off_topic_question_is_not_answered(searcher: Searcher) -> None:
    result = searcher.search("what is the capital of France?", 5)
    assert not result.answerable and result.answer is None


def test_boilerplate_is_not_a_passage(searcher: Searcher) -> None:
    texts = " ".join(p.text for p in searcher.generation.passages)
    for furniture in (
        "Related:",
        "You May Also Like",
        "Unlock exclusive AI content",
        "3 Min Read",
        "Getty Images",
    ):
        assert furniture not in texts


def test_byline_and_date_are_reachable_as_metadata(searcher: Searcher) -> None:
    hits = searcher.search("who wrote this article?", 3).hits
    assert any(h.passage.kind == "metadata" and "Ben Wodecki" in h.passage.text for h in hits[:2])
    assert any("July 8, 2024" in h.passage.text for h in searcher.search("when was it published?", 3).hits)


def test_unanswerable_kinds_are_flagged(searcher: Searcher) -> None:
    for question in (
        "What did UNESCO announce at the conference?",  # an entity the article never names
        "How much did the centre cost?",  # no amount of money anywhere
        "How many countries have joined the alliance?",  # a number, but it counts pledge points
        "How many governments have endorsed the declaration so far?",  # its sentence names one
        "Who is the director of the Shanghai Artificial Intelligence Research Institute?",  # no such role
        "What are the opening hours of the centre?",  # no clock time
        "Which tech firms exhibited at WAIC?",  # no company named anywhere in the article
        "Who is the mayor of Shanghai?",  # the municipal government is named, no mayor
        "Who chaired the AI Safety Summit?",  # no one holds a chair in the article
        "Who is the minister of industry?",  # a ministry and a party secretary, no minister
    ):
        result = searcher.search(question, 5)
        assert not result.answerable and result.answer is None, question


def test_a_kind_of_organisation_is_answered_by_a_name_of_that_kind(tmp_path: Path) -> None:
    """The same "which companies" question that the article cannot answer is answered by a text
    that names companies, from the sentence that names them, not the one that only says "firms"."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "expo.txt").write_text(
        "Tech firms crowd the Shanghai expo\n\n"
        "Chinese tech firms were out in force at the expo this week. Huawei, Baidu and Tencent showed "
        "their latest AI chips and voice assistants to visitors.\n\n"
        "The organisers said attendance rose on last year. Fudan University sent a team of students "
        "to demonstrate warehouse robots.\n",
        encoding="utf-8",
    )
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index").resolved()
    build_index(settings, real_embedder())
    expo = open_searcher(load_generation(settings.index_dir), real_embedder())
    companies = expo.search("Which Chinese tech companies showed products at the expo?", 3)
    assert companies.answerable and companies.answer is not None
    assert "Huawei, Baidu and Tencent" in companies.answer.text
    universities = expo.search("Which universities took part in the expo?", 3)
    assert universities.answer is not None and "Fudan University" in universities.answer.text
    assert not expo.search("Which banks paid for the expo?", 3).answerable


def test_a_pronoun_sentence_answers_for_the_name_its_passage_gives(searcher: Searcher) -> None:
    """ "He holds an MSc …" names no one; the sentence before it names Ben Wodecki."""
    result = searcher.search("What degree does Ben Wodecki hold?", 5)
    assert result.answer is not None and "MSc in Digital Journalism" in result.answer.text


def test_a_where_question_is_answered_by_a_place(searcher: Searcher) -> None:
    """The first passage mentions the ceremony but no place; the answer names Shanghai."""
    result = searcher.search("Where did the opening ceremony take place?", 5)
    assert result.answer is not None and "(WAIC) in Shanghai" in result.answer.text


def test_a_question_of_thousands_of_names_is_answered_at_once(searcher: Searcher) -> None:
    """Names are looked up in the part of the question the model reads, the first few of them:
    looking up each of 20,000 names tokenized the question 40,000 times (hours, not 0.3 s)."""
    result = searcher.search("Who is " + "Ab x " * 20_000, 3)
    assert not result.answerable


def test_whoever_leads_is_named_by_any_title(searcher: Searcher) -> None:
    for question in ("Who is the head of UNIDO?", "Who heads UNIDO?", "Who is the boss of UNIDO?"):
        result = searcher.search(question, 5)
        assert result.answer is not None and "Gerd Müller, UNIDO’s director general" in result.answer.text


def test_a_count_answers_only_for_what_it_counts(searcher: Searcher) -> None:
    result = searcher.search("How many points are in the declaration?", 5)
    assert result.answerable and result.answer is not None and "five-point pledge" in result.answer.text


def test_a_passage_writing_out_an_acronym_matches_it(searcher: Searcher) -> None:
    """No passage says "R&D"; the one that says "research and development" comes first."""
    hits = searcher.search("What kind of R&D does the declaration promote?", 3).hits
    assert "promote AI research and development" in hits[0].passage.text


def test_quote_continuation_carries_its_speaker(searcher: Searcher) -> None:
    passage = next(p for p in searcher.generation.passages if p.text.startswith("“With our new joint AIM"))
    assert "Gerd Müller, UNIDO’s director general said" in passage.context
    assert searcher.generation.documents[passage.doc_id].text[passage.start : passage.end] == passage.text


def _measure(searcher: Searcher, name: str, least_answerable: int = 30) -> dict[str, float]:
    """The quality test's figures for one question set, as `qa eval` computes them in hybrid mode."""
    questions = [json.loads(line) for line in (DATA / name).read_text().splitlines() if line]
    answerable = [q for q in questions if q["answerable"]]
    unanswerable = [q for q in questions if not q["answerable"]]
    assert len(answerable) >= least_answerable and len(unanswerable) >= 5
    first_ranks, answers_hold_gold, kept, cited = [], 0, 0, []
    for question in answerable:
        result = searcher.search(question["question"], 10)
        ranks = [r for r, hit in enumerate(result.hits, 1) if question["gold"] in hit.passage.text]
        first_ranks.append(ranks[0] if ranks else 99)
        kept += result.answerable
        answers_hold_gold += bool(result.answer and question["gold"] in result.answer.text)
        cited.append(len(result.hits[0].passage.text))
    flagged = sum(not searcher.search(q["question"], 5).answerable for q in unanswerable)
    return {
        "recall_1": sum(r <= 1 for r in first_ranks) / len(answerable),
        "recall_3": sum(r <= 3 for r in first_ranks) / len(answerable),
        "answer": answers_hold_gold / len(answerable),
        "kept": kept / len(answerable),
        "flagged": flagged / len(unanswerable),
        "median_chars": statistics.median(cited),
    }


def _holds(figures: dict[str, float], **floors: float) -> None:
    """Each figure at or above its floor; the cited passage's median length within the target."""
    failed = {name: figures[name] for name, floor in floors.items() if figures[name] < floor}
    assert not failed and figures["median_chars"] <= 400, figures


def test_article_question_set_thresholds(searcher: Searcher) -> None:
    """The issue's targets on the held-out article set (53 questions, 11 unanswerable).

    measured 2026-12-01: R@1 0.929, R@3 1.000, answer 0.857, kept 0.976, flagged 11/11, median 246."""
    figures = _measure(searcher, "article_questions.jsonl")
    _holds(figures, recall_1=0.90, recall_3=1.0, answer=0.80, kept=0.95, flagged=1.0)


def test_article_development_set_thresholds(searcher: Searcher) -> None:
    """The development set that the answerability rules were built on (151 questions, 72 of them
    unanswerable: off-topic, absent facts, other agencies and cities, absent answer types, counts
    of things the article never counts, kinds of organisation it names none of, offices it names
    no holder of, third parties).

    measured 2026-12-01: R@1 0.861, R@3 0.962, answer 0.848, kept 0.975, flagged 66/72, median 251."""
    figures = _measure(searcher, "article_dev_questions.jsonl")
    _holds(figures, recall_1=0.86, recall_3=0.96, answer=0.84, kept=0.97, flagged=66 / 72)


def test_article_blind_set_thresholds(searcher: Searcher) -> None:
    """A second held-out set (30 questions, 15 unanswerable, some typed as a search box is: "when
    did ben become assistant editor"), written after every rule of 2026-12-01 and measured once.
    Floors at the measured figures; "flagged" shows how far answerability is from the first
    held-out set's 11/11 on questions no rule was made for.

    measured 2026-12-01: R@1 0.933, R@3 1.000, answer 1.000, kept 1.000, flagged 10/15, median 249."""
    figures = _measure(searcher, "article_blind_questions.jsonl", least_answerable=15)
    _holds(figures, recall_1=0.93, recall_3=1.0, answer=0.93, kept=1.0, flagged=10 / 15)
