"""The learned reader: its shipped weights, its numbers, and its answers over a real index."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest

from qa.answer import features
from qa.answer.calibration import Platt, best_threshold, fit_logistic, fit_platt, reliability, triggering
from qa.answer.features import FEATURES, Candidate, candidates, featurize, new_readings
from qa.answer.learned import WEIGHTS, LearnedReader, ReaderModelError, as_read
from qa.core.config import Settings
from qa.core.types import Passage
from qa.index.build import build_index
from qa.index.generations import load_generation
from qa.ingest.fences import Fences
from qa.search.searcher import Searcher
from qa.service.engine import open_searcher
from tests.conftest import real_embedder


def test_the_weights_are_small_recorded_and_attributed() -> None:
    assert WEIGHTS.stat().st_size <= 5 * 2**20
    spec = json.loads(WEIGHTS.read_text(encoding="utf-8"))
    assert tuple(spec["features"]) == FEATURES and len(spec["weights"]) == len(FEATURES)
    assert "SQuAD 2.0" in spec["attribution"] and "CC BY-SA 4.0" in spec["attribution"]
    assert not set(spec["held_out_articles"]) & set(spec["training"]["articles"])
    readme = (WEIGHTS.parent / "README.md").read_text(encoding="utf-8")
    recorded = re.search(r"`reader\.json` \| `([0-9a-f]{64})`", readme)
    assert recorded and recorded.group(1) == hashlib.sha256(WEIGHTS.read_bytes()).hexdigest()
    assert 0 < spec["threshold"] < 1


def test_weights_for_other_features_are_refused(tmp_path: Path) -> None:
    spec = json.loads(WEIGHTS.read_text(encoding="utf-8"))
    spec["features"] = spec["features"][:-1]
    stale = tmp_path / "reader.json"
    stale.write_text(json.dumps(spec), encoding="utf-8")
    with pytest.raises(ReaderModelError, match="make train"):
        LearnedReader(path=stale)
    with pytest.raises(ReaderModelError, match="make train"):
        LearnedReader(path=tmp_path / "missing.json")


def test_logistic_fit_is_the_penalised_optimum() -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 3))
    y = (X @ np.array([2.0, -1.0, 0.0]) + rng.normal(size=400) > 0).astype(float)
    w, b = fit_logistic(X, y, l2=1.0)
    p = 1 / (1 + np.exp(-(X @ w + b)))
    assert np.allclose(X.T @ (p - y) + w, 0, atol=1e-6) and abs(float((p - y).sum())) < 1e-6  # gradient 0
    assert w[0] > 1 and w[1] < -0.5 and abs(w[2]) < 0.3


def test_the_readers_means_and_spreads_are_numpys_to_the_bit() -> None:
    """features._mean and _std make the ufunc calls ndarray.mean and .std make, without their
    argument handling: the same floats, so the committed weights read the features they learned."""
    rng = np.random.default_rng(7)
    for _ in range(300):
        rows, columns = (int(n) for n in rng.integers(1, 60, size=2))
        values = (rng.standard_normal((rows, columns)) * rng.uniform(0.01, 3)).astype(np.float32)
        for axis in (0, 1):
            assert np.array_equal(features._mean(values, axis), values.mean(axis=axis))
            assert np.array_equal(features._std(values, axis), values.std(axis=axis))
        above = values > 0.3
        assert np.array_equal(features._mean(above, 1), above.mean(axis=1))
        column = values[:, 0].copy()
        assert features._mean(column) == column.mean() and type(features._mean(column)) is np.float32
        assert features._std(column) == column.std() and type(features._std(column)) is np.float32


def test_platt_threshold_and_calibration_error() -> None:
    rng = np.random.default_rng(4)
    raw = rng.normal(size=2000)
    right = (rng.random(2000) < 1 / (1 + np.exp(-(2 * raw - 1)))).astype(float)
    platt = fit_platt(raw, right)
    assert abs(platt.a - 2) < 0.3 and abs(platt.b + 1) < 0.2
    assert reliability(platt(raw), right).ece < 0.05
    assert reliability(np.full(2000, 0.95), right).ece > 0.4  # over-confident
    has = np.ones(2000)
    chosen = best_threshold(platt(raw), right, has)
    assert triggering(platt(raw), right, has, chosen)["F1"] >= triggering(platt(raw), right, has, 0.9)["F1"]
    assert isinstance(Platt(1.0, 0.0)(np.zeros(2)), np.ndarray)


def indexed(tmp_path: Path, name: str, text: str) -> Searcher:
    """A searcher over one document ``name`` holding ``text``, indexed by the real build."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / name).write_text(text, encoding="utf-8")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index").resolved()
    build_index(settings, real_embedder())
    return open_searcher(load_generation(settings.index_dir), real_embedder())


def candidate_texts(searcher: Searcher, question: str) -> list[str]:
    """The reader's candidate sentences for ``question`` in the passages search hands it."""
    query = searcher.embed(question)
    evidence = searcher.evidence([row for row, _ in searcher.rank(query, 3, "hybrid")])
    return [evidence[c.rank].document.text[c.start : c.end] for c in candidates(evidence)]


@pytest.fixture(scope="module")
def lakes(tmp_path_factory: pytest.TempPathFactory) -> Searcher:
    """Two small documents written for this test (no article), indexed by the real build."""
    base = tmp_path_factory.mktemp("lakes")
    corpus = base / "corpus"
    corpus.mkdir()
    (corpus / "lakes.txt").write_text(
        "Lakes of the northern valley\n\n"
        "The valley holds three large lakes. The deepest of them, Lake Orsa, reaches 212 metres. "
        "Its water stays cold all summer.\n\n"
        "Fishing boats have worked the lakes since 1874, when the first harbour was dug at Tarn. "
        "Today most visitors come for the hiking trails along the shore.\n",
        encoding="utf-8",
    )
    (corpus / "bakery.txt").write_text(
        "The corner bakery\n\nThe bakery opens at six every morning. It sells rye bread and cinnamon buns, "
        "and the owner, Mira Holt, bakes everything herself.\n",
        encoding="utf-8",
    )
    settings = Settings(corpus_dir=corpus, index_dir=base / "index").resolved()
    build_index(settings, real_embedder())
    return open_searcher(load_generation(settings.index_dir), real_embedder())


def test_the_answer_is_the_right_sentence_cited_exactly(lakes: Searcher) -> None:
    for question, expected in (
        ("How deep is Lake Orsa?", "reaches 212 metres"),
        ("When was the first harbour dug?", "since 1874"),
        ("Who bakes the bread at the bakery?", "Mira Holt"),
    ):
        result = lakes.search(question, 3)
        assert result.answer is not None and expected in result.answer.text, (question, result.answer)
        assert result.answerable and 0 < result.answer.score <= 1
        citation = result.answer.citation
        text = lakes.generation.documents[citation.doc_id].text
        assert text[citation.start : citation.end] == result.answer.text


def test_an_unrelated_question_is_not_answered(lakes: Searcher) -> None:
    for question in ("What is the exchange rate of the Japanese yen?", "who won the 1966 world cup final"):
        result = lakes.search(question, 3)
        assert not result.answerable and result.answer is None, question


def test_a_question_typed_in_capitals_reads_as_in_lower_case(lakes: Searcher) -> None:
    reader = lakes.reader
    assert isinstance(reader, LearnedReader)
    evidence = lakes.evidence(
        [row for row, _ in lakes.rank(lakes.embed("how deep is lake orsa"), 3, "hybrid")]
    )
    lower = reader.score(lakes.embed("how deep is lake orsa"), evidence)
    upper = reader.score(lakes.embed("HOW DEEP IS LAKE ORSA"), evidence)
    assert [s.candidate for s in lower] == [s.candidate for s in upper]
    assert np.allclose([s.probability for s in lower], [s.probability for s in upper], atol=1e-4)


def test_the_threshold_setting_decides_what_counts_as_an_answer(lakes: Searcher) -> None:
    generation = lakes.generation
    never = open_searcher(generation, real_embedder(), Settings(answer_threshold=1.0))
    always = open_searcher(generation, real_embedder(), Settings(answer_threshold=0.0))
    question = "What is the exchange rate of the Japanese yen?"
    assert not never.search("How deep is Lake Orsa?", 3).answerable
    assert always.search(question, 3).answerable  # the best sentence, however unlikely


def test_a_passage_is_read_once_and_reads_the_same_from_memory(lakes: Searcher) -> None:
    """The reader keeps what it read of a passage (its sentences, their words and cues): the
    features from kept readings equal those read afresh, whatever the passages' order, and a
    candidate span that is not one of a passage's sentences is read on its own."""
    query = lakes.embed("When was the first harbour dug at Tarn?")
    evidence = lakes.evidence([row for row, _ in lakes.rank(query, 3, "hybrid")])
    kept = new_readings()
    for order in (evidence, evidence[::-1], evidence):
        found = candidates(order)
        fresh = featurize(query, order, found)
        assert candidates(order, kept) == found
        assert np.array_equal(featurize(query, order, found, kept), fresh)
        assert np.array_equal(featurize(query, order, found, kept), fresh)
    assert len(kept) == len({(e.passage.doc_id, e.passage.start, e.passage.end) for e in evidence})
    first = candidates(evidence)[0]
    part = [Candidate(first.rank, first.start, first.start + (first.end - first.start) // 2)]
    assert np.array_equal(featurize(query, evidence, part, kept), featurize(query, evidence, part))
    assert not np.array_equal(featurize(query, evidence, part), featurize(query, evidence, [first]))


def test_markup_the_model_does_not_read_is_never_a_candidate(tmp_path: Path) -> None:
    """In a Markdown page, a fence line or a directive's option line is a "sentence" of the
    source but nothing the model reads: it is no candidate answer, while the prose and the code
    lines are."""
    searcher = indexed(
        tmp_path,
        "timeouts.md",
        "# Timeouts\n\nYou can set a timeout for one request:\n\n"
        "```python\nclient.get(url, timeout=10.0)\n```\n\n"
        "```{code-block} python\n:caption: app.py\n\nclient = Client(timeout=None)\n```\n",
    )
    found = candidate_texts(searcher, "How do I set a timeout for one request?")
    assert "You can set a timeout for one request:" in found
    assert any("timeout=10.0" in sentence for sentence in found)
    assert not any(sentence.strip() in ("```python", "```", ":caption: app.py") for sentence in found), found


def test_a_tables_rows_are_candidates_its_header_row_is_not(tmp_path: Path) -> None:
    """A table's answer is a row; its header row (column names) answers nothing and is never
    offered, even where it shares the question's words ("Headquarters Location")."""
    rows = (Path(__file__).resolve().parents[1] / "data" / "documents" / "sp500-companies.csv").read_text()
    searcher = indexed(tmp_path, "companies.csv", "\n".join(rows.splitlines()[:40]) + "\n")
    query = searcher.embed("Where is Adobe headquartered?")
    evidence = searcher.evidence([row for row, _ in searcher.rank(query, 3, "hybrid")])
    assert evidence[0].passage.kind == "table"
    text = evidence[0].document.text
    found = [text[c.start : c.end] for c in candidates(evidence)]
    assert not any("Headquarters Location" in sentence for sentence in found), found
    answer = searcher.reader.best(query, evidence) if searcher.reader else None
    assert answer is not None and "Adobe" in answer.text and "San Jose" in answer.text


def test_a_line_of_links_alone_is_never_a_candidate(tmp_path: Path) -> None:
    """A menu's line says nothing of what it points at: in a Markdown page, a list item that is
    links alone is no candidate, while a sentence with a link in it is one."""
    page = (
        "# Pinning\n\nPinning makes sure a value does not move in memory.\n\n"
        "See also:\n\n- [`Pin`](https://doc.rust-lang.org/std/pin/struct.Pin.html), [`Unpin`](unpin.md)\n\n"
        "The [`Pin`](https://doc.rust-lang.org/std/pin/struct.Pin.html) type wraps a pointer.\n"
    )
    found = candidate_texts(indexed(tmp_path, "pinning.md", page), "What is Pin?")
    assert any(sentence.startswith("Pinning makes sure") for sentence in found), found
    assert any(sentence.startswith("The [`Pin`]") for sentence in found), found
    assert not any(sentence.startswith("- [`Pin`]") for sentence in found), found


def test_a_lead_in_answer_carries_its_example_and_a_question_is_no_answer(tmp_path: Path) -> None:
    """On httpx's timeouts page (real documentation), a how-to question's answer is the lead-in
    sentence with the code block it introduces, cited exactly; a sentence that asks the question
    ("So how do you set timeouts ...?") is scored like any other, and here scores best, but it is
    never the answer."""
    page = (Path(__file__).resolve().parents[1] / "data" / "documents" / "httpx-timeouts.md").read_text()
    asking = "So how do you set timeouts for an individual request?"
    searcher = indexed(
        tmp_path, "timeouts.md", page.replace("You can set timeouts", f"{asking}\n\nYou can set timeouts")
    )
    reader = searcher.reader
    assert isinstance(reader, LearnedReader)
    query = searcher.embed("How do I set timeouts for an individual request?")
    evidence = searcher.evidence([row for row, _ in searcher.rank(query, 3, "hybrid")])
    text = evidence[0].document.text
    scored = reader.score(query, evidence)
    most = max(scored, key=lambda s: s.probability).candidate
    assert text[most.start : most.end] == asking  # the rule has something to do here
    answer = reader.best(query, evidence)
    assert answer is not None and answer.text.startswith("You can set timeouts for an individual request:")
    assert "timeout=10.0)\n```" in answer.text and "Or disable" not in answer.text
    assert text[answer.citation.start : answer.citation.end] == answer.text
    assert reader.read(query, evidence) == answer  # confident enough to be given


def test_an_answer_reads_as_its_passage_and_as_markdown_past_its_end() -> None:
    """The answer's ``view``: its passage's view (markup blanked, the same length) where it lies
    inside the passage; past it (a lead-in's block), as Markdown reads the rest: a code block as
    written but for its fence lines, even one the passage ends inside of; a list less its markup."""
    text = "Use **bold** [here](x.md):\n\n```py\nf(a_b) **c**\n```\nAfter.\n\nOr:\n\n- [one](a.md)\n"
    fences = Fences.of(text)
    end = text.index("\nAfter")
    fence = text.index("```py")
    view = text[:fence].replace("**", "  ").replace("[", " ").replace("](x.md)", "       ")
    passage = Passage(0, "d.md", 0, fence, text[:fence], view=view)
    read = as_read(passage, text, 0, end, fences)
    assert len(read) == end and read.startswith("Use   bold    here       :")
    past = text[fence:end].replace("```py", "     ").replace("```", "   ")
    assert read[fence:] == past, "past the passage: the code as written, its fence lines not"
    inside = text.index("f(a_b)")  # a passage that ends inside the block
    cut = Passage(0, "d.md", 0, inside, text[:inside], view=view + " " * (inside - fence))
    assert as_read(cut, text, 0, end, fences)[inside:] == "f(a_b) **c**\n   "
    lead = text.index("Or:")
    listed = Passage(1, "d.md", lead, lead + 4, "Or:\n", view="Or: ")
    assert as_read(listed, text, lead, len(text), fences)[4:] == "\n   one       \n"
    assert as_read(passage, text, 0, end) == read[:fence] + text[fence:end], "not Markdown: as written"
    assert as_read(passage, text, 4, 12, fences) == "  bold  "
    assert as_read(Passage(0, "d.md", 0, fence, text[:fence]), text, 0, end, fences) == "", "no view"
    assert as_read(passage, text, fence, end, fences) == "", "outside the passage: the text itself"


def test_markdown_prose_is_read_in_whole_sentences_and_its_code_a_line_at_a_time(tmp_path: Path) -> None:
    """A Markdown paragraph's line breaks are soft (CommonMark joins its lines), so a sentence
    wrapped after a short line ("... the app's cli or" / "FlaskGroup command decorator ...", as
    Flask's reST renders once its roles are read) is one candidate; the code block after it is
    still read a line at a time."""
    searcher = indexed(
        tmp_path,
        "cli.md",
        "# Custom commands\n\nCommands added using the app's cli or\nFlaskGroup command decorator\n"
        "will be executed with an application context pushed. The\nwith_appcontext decorator is "
        "rarely needed.\n\n```python\nimport click\n\n@click.command()\ndef do_work():\n    ...\n\n"
        "app.cli.add_command(do_work)\n```\n",
    )
    found = candidate_texts(searcher, "How do I add a custom command?")
    assert (
        "Commands added using the app's cli or\nFlaskGroup command decorator\n"
        "will be executed with an application context pushed." in found
    ), found
    assert "The\nwith_appcontext decorator is rarely needed." in found
    assert "import click" in found and "app.cli.add_command(do_work)" in found and "def do_work():" in found


def test_a_passage_that_starts_inside_a_long_code_block_is_read_a_line_at_a_time(tmp_path: Path) -> None:
    """A code block too long for one passage is cut; the pieces after the first start inside the
    fence, and their lines are still candidates one by one, never joined as prose."""
    code = "\n".join(f"x{n} = compute(a, b)" for n in range(120))
    searcher = indexed(
        tmp_path, "long.md", f"# T\n\nSome prose first.\n\n```python\n{code}\n```\n\nAfter text.\n"
    )
    generation = searcher.generation
    rows = [row for row, passage in enumerate(generation.passages) if "x100 = " in passage.text]
    found = candidates(searcher.evidence(rows))
    text = generation.documents[generation.passages[rows[0]].doc_id].text
    assert found and all("\n" not in text[c.start : c.end] for c in found)
