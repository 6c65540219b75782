"""Retrieval and answer quality on the article, with the real model: thresholds a regression would break.

The question set (tests/data/article_questions.jsonl) holds reader-style questions with gold
evidence spans; a question counts as answered at rank r when the passage at rank r contains the
gold span. The floors below are the measured figures (2026-12-04, the learned reader of
qa/answer/weights/); `make eval` prints the full table. The reader was learned on SQuAD articles,
not on this one: these sets are reported, not targeted, and the assertions that only the
article-fitted rules of 2026-12-01 could meet are gone (see docs/evaluation.md).
"""

from __future__ import annotations

import json
import statistics

import pytest

from qa.answer.learned import LearnedReader
from qa.core.config import Settings
from qa.core.types import Answer
from qa.index.generations import load_generation
from qa.search.searcher import Searcher
from qa.service.engine import open_searcher
from tests.conftest import DATA, real_embedder

UNIDO = "Also unveiled during WAIC’s opening ceremony was the formation of a new United Nations Industrial"


@pytest.fixture(scope="module")
def searcher(article_settings: Settings) -> Searcher:
    return open_searcher(load_generation(article_settings.index_dir), real_embedder())


def best(searcher: Searcher, question: str) -> Answer:
    """The reader's best sentence among the top passages, whatever its confidence."""
    reader = searcher.reader
    assert isinstance(reader, LearnedReader)
    query = searcher.embed(question)
    answer = reader.best(query, searcher.evidence([row for row, _ in searcher.rank(query, 3, "hybrid")]))
    assert answer is not None
    return answer


def test_unido_question_finds_the_centre_of_excellence_first(searcher: Searcher) -> None:
    result = searcher.search("what did UNIDO announce?", 5)
    assert UNIDO in result.hits[0].passage.text
    assert UNIDO in best(searcher, "what did UNIDO announce?").text  # confidence 0.26


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


def test_unanswerable_kinds_are_mostly_flagged(searcher: Searcher) -> None:
    """Questions the article cannot answer, which the rules of 2026-12-01 were written to refuse
    one by one; the learned reader refuses 8 of these 10 (measured 2026-12-04: it answers the
    UNESCO and the institute-director questions with on-topic sentences)."""
    questions = (
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
    )
    answered = [q for q in questions if searcher.search(q, 5).answerable]
    assert len(answered) <= 2, answered


def test_a_question_of_thousands_of_names_is_answered_at_once(searcher: Searcher) -> None:
    """Names are looked up in the part of the question the model reads, the first few of them:
    looking up each of 20,000 names tokenized the question 40,000 times (hours, not 0.3 s)."""
    result = searcher.search("Who is " + "Ab x " * 20_000, 3)
    assert not result.answerable


def test_whoever_leads_is_named_by_any_title(searcher: Searcher) -> None:
    for question in ("Who is the head of UNIDO?", "Who heads UNIDO?", "Who is the boss of UNIDO?"):
        assert "Gerd Müller, UNIDO’s director general" in best(searcher, question).text, question


def test_a_count_answers_only_for_what_it_counts(searcher: Searcher) -> None:
    assert "five-point pledge" in best(searcher, "How many points are in the declaration?").text


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
    first_ranks, answers_hold_gold, best_holds_gold, kept, cited = [], 0, 0, 0, []
    for question in answerable:
        result = searcher.search(question["question"], 10)
        ranks = [r for r, hit in enumerate(result.hits, 1) if question["gold"] in hit.passage.text]
        first_ranks.append(ranks[0] if ranks else 99)
        kept += result.answerable
        answers_hold_gold += bool(result.answer and question["gold"] in result.answer.text)
        best_holds_gold += question["gold"] in best(searcher, question["question"]).text
        cited.append(len(result.hits[0].passage.text))
    flagged = sum(not searcher.search(q["question"], 5).answerable for q in unanswerable)
    return {
        "recall_1": sum(r <= 1 for r in first_ranks) / len(answerable),
        "recall_3": sum(r <= 3 for r in first_ranks) / len(answerable),
        "answer": answers_hold_gold / len(answerable),
        "best": best_holds_gold / len(answerable),
        "kept": kept / len(answerable),
        "flagged": flagged / len(unanswerable),
        "median_chars": statistics.median(cited),
    }


def _holds(figures: dict[str, float], **floors: float) -> None:
    """Each figure at or above its floor; the cited passage's median length within the target."""
    failed = {name: figures[name] for name, floor in floors.items() if figures[name] < floor}
    assert not failed and figures["median_chars"] <= 400, figures


def test_article_question_set_thresholds(searcher: Searcher) -> None:
    """The held-out article set (53 questions, 11 unanswerable). "best": the reader's best sentence
    holds the gold span, whatever its confidence; "answer" and "kept": only when it reaches the
    threshold (the reader is less sure of this news article than of the Wikipedia text it learned on).

    measured 2026-12-01 (rules): R@1 0.929, R@3 1.000, answer 0.857, kept 0.976, flagged 11/11.
    measured 2026-12-04 (learned): R@1 0.929, R@3 1.000, best 0.905, answer 0.333, kept 0.333,
    flagged 11/11, median 246; retrained on the current search (docs/evaluation.md, "the reader"):
    the same but flagged 10/11."""
    figures = _measure(searcher, "article_questions.jsonl")
    _holds(figures, recall_1=0.90, recall_3=1.0, best=0.90, answer=0.33, kept=0.33, flagged=10 / 11)


def test_article_development_set_thresholds(searcher: Searcher) -> None:
    """The development set that the answerability rules were built on (151 questions, 72 of them
    unanswerable: off-topic, absent facts, other agencies and cities, absent answer types, counts
    of things the article never counts, kinds of organisation it names none of, offices it names
    no holder of, third parties).

    measured 2026-12-01 (rules): R@1 0.861, R@3 0.962, answer 0.848, kept 0.975, flagged 66/72.
    measured 2026-12-04 (learned): R@1 0.861, R@3 0.962, best 0.873, answer 0.506, kept 0.519,
    flagged 65/72, median 251; retrained on the current search: best 0.886, answer 0.532, kept
    0.557, flagged 65/72, median 247."""
    figures = _measure(searcher, "article_dev_questions.jsonl")
    _holds(figures, recall_1=0.86, recall_3=0.96, best=0.88, answer=0.53, kept=0.55, flagged=65 / 72)


def test_article_blind_set_thresholds(searcher: Searcher) -> None:
    """A second held-out set (30 questions, 15 unanswerable, some typed as a search box is: "when
    did ben become assistant editor"), written after every rule of 2026-12-01 and measured once.
    Floors at the measured figures; "flagged" shows how far answerability is from the first
    held-out set's 10/11 on questions no rule was made for.

    measured 2026-12-01 (rules): R@1 0.933, R@3 1.000, answer 1.000, kept 1.000, flagged 10/15.
    measured 2026-12-04 (learned): R@1 0.933, R@3 1.000, best 0.933, answer 0.667, kept 0.667,
    flagged 14/15, median 249; retrained on the current search: the same, median 247."""
    figures = _measure(searcher, "article_blind_questions.jsonl", least_answerable=15)
    _holds(figures, recall_1=0.93, recall_3=1.0, best=0.93, answer=0.66, kept=0.66, flagged=14 / 15)
