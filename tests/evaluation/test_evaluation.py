"""The evaluation harness: BEIR loading and metrics on a tiny dataset, a question set over the
article, the ``qa eval`` command, and a SciFact slice held to a measured floor."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from qa.cli import app
from qa.core.config import SearchMode, Settings
from qa.evaluation.data import BeirData, Question, as_text_file, file_name, load_beir, load_question_set
from qa.evaluation.runs import (
    BEIR_MEASURES,
    QUESTION_MEASURES,
    evaluate_beir,
    evaluate_questions,
)
from qa.index.build import parameters_for
from qa.index.generations import Generation, load_generation
from qa.index.reuse import ensure_index
from qa.ingest.corpus import load_corpus
from qa.ingest.passages import choose_layout
from qa.service.engine import open_searcher
from tests.conftest import DATA, ROOT, real_embedder

SCIFACT = ROOT.parent / "shared" / "data" / "scifact"
MODES: tuple[SearchMode, ...] = ("dense", "keyword", "hybrid")

DOCUMENTS = [
    (
        "bees",
        "Honey bees",
        "Honey bees communicate the location of flowers with a waggle dance. "
        "The angle of the dance encodes the direction relative to the sun.",
    ),
    (
        "volcano",
        "Volcanoes",
        "A volcano erupts when pressure from dissolved gases in magma exceeds the "
        "strength of the overlying rock. Basaltic lava flows are runny, while rhyolite is sticky.",
    ),
    (
        "bread",
        "Sourdough",
        "Sourdough bread rises because wild yeast and lactic acid bacteria ferment the "
        "dough. The bacteria give the loaf its sour taste.",
    ),
    (
        "chess",
        "Chess openings",
        "The Sicilian Defence begins with the moves e4 and c5. "
        "It is the most popular reply to the king's pawn opening.",
    ),
    (
        "tides",
        "Ocean tides",
        "Tides are caused mainly by the gravitational pull of the Moon on the oceans. "
        "Spring tides happen when the Sun and Moon line up.",
    ),
    (
        "copper",
        "Copper wiring",
        "Copper is used for electrical wiring because it conducts electricity well "
        "and is ductile. Aluminium is cheaper but oxidises.",
    ),
]
QUERIES = {
    "q-exact": "The angle of the dance encodes the direction relative to the sun.",
    "q-tides": "Why does the sea level rise and fall twice a day?",
    "q-bread": "what makes sourdough taste sour",
    "q-unjudged": "How do I change a bicycle tyre?",
}
QRELS = [("q-exact", "bees", 1), ("q-bread", "bread", 1), ("q-tides", "tides", 1), ("q-tides", "volcano", 0)]


Qrels = list[tuple[str, str, int]]


def write_beir(folder: Path, documents: list[dict[str, Any]], queries: dict[str, str], qrels: Qrels) -> Path:
    (folder / "qrels").mkdir(parents=True)
    lines = [json.dumps(document) for document in documents]
    (folder / "corpus.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    lines = [json.dumps({"_id": query_id, "text": text}) for query_id, text in queries.items()]
    (folder / "queries.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = ["query-id\tcorpus-id\tscore", *(f"{q}\t{d}\t{s}" for q, d, s in qrels)]
    (folder / "qrels" / "test.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


def in_unit_range(value: float | None) -> bool:
    return value is not None and 0.0 <= value <= 1.0


def index_for(data: BeirData, index_dir: Path) -> Generation:
    folders: dict[str, Any] = {"corpus_dir": index_dir / "unused", "index_dir": index_dir}
    settings = Settings(**folders).resolved()
    generation, _ = ensure_index(data.documents, settings, real_embedder())
    return generation


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BeirData, Generation]:
    base = tmp_path_factory.mktemp("tiny-beir")
    rows = [{"_id": doc_id, "title": title, "text": text} for doc_id, title, text in DOCUMENTS]
    folder = write_beir(base / "tiny", rows, QUERIES, QRELS)
    data = load_beir(folder, "test")
    return folder, data, index_for(data, base / "index")


def test_an_evaluation_index_built_with_other_parameters_is_built_again(
    tiny: tuple[Path, BeirData, Generation], tmp_path: Path
) -> None:
    """What `make train` and `qa eval` keep in .cache: after a change of chunker or passage size
    the cached index is rebuilt, never refused with "Run `qa index`"."""
    _, data, _ = tiny
    first = Settings(corpus_dir=tmp_path / "unused", index_dir=tmp_path / "index", chunk_tokens=60).resolved()
    built, summary = ensure_index(data.documents, first, real_embedder())
    assert summary is not None and built.manifest["chunk_tokens"] == 60
    again, summary = ensure_index(data.documents, first, real_embedder())
    assert summary is None and again.manifest["generation"] == built.manifest["generation"]
    other = Settings(corpus_dir=tmp_path / "unused", index_dir=tmp_path / "index", chunk_tokens=80).resolved()
    rebuilt, summary = ensure_index(data.documents, other, real_embedder())
    assert summary is not None and rebuilt.manifest["chunk_tokens"] == 80


def test_load_beir_keeps_judged_queries_in_qrels_order(tiny: tuple[Path, BeirData, Generation]) -> None:
    _, data, _ = tiny
    assert data.name == "tiny" and data.split == "test"
    assert list(data.queries) == ["q-exact", "q-bread", "q-tides"]  # q-unjudged has no qrels
    assert data.qrels["q-tides"] == {"tides.txt": 1, "volcano.txt": 0}  # judged as the files are named
    assert [d.doc_id for d in data.documents] == sorted(f"{doc_id}.txt" for doc_id, _, _ in DOCUMENTS)
    bees = data.documents[0]
    assert (bees.doc_id, bees.title, bees.metadata) == ("bees.txt", "Honey bees", {})
    assert bees.text.startswith("Honey bees\n\n")  # the record as a .txt file: title, blank line, text
    assert list(data.limited(1).queries) == ["q-exact"] and len(data.limited(1).documents) == 6


def test_beir_metrics_are_sane_in_every_mode(tiny: tuple[Path, BeirData, Generation]) -> None:
    _, data, generation = tiny
    searcher = open_searcher(generation, real_embedder())
    results = evaluate_beir(searcher, data, MODES)
    exact = evaluate_beir(searcher, data.limited(1), MODES)
    for mode in MODES:
        metrics = results[mode].metrics
        assert set(metrics) == set(BEIR_MEASURES)
        assert all(in_unit_range(value) for value in metrics.values()), metrics
        # the query is a sentence of its only relevant document, word for word
        assert exact[mode].metrics["R@1"] == exact[mode].metrics["nDCG@10"] == 1.0
    # dense search ranks every document, so each relevant one is somewhere in the top 100 (keyword
    # search returns only documents that share a word with the query, and q-tides shares none)
    dense = results["dense"].metrics
    assert dense["R@100"] == 1.0
    assert (dense["nDCG@10"] or 0.0) > 0.8


def test_question_set_over_the_article(article_settings: Settings) -> None:
    embedder = real_embedder()
    generation = load_generation(article_settings.index_dir, parameters_for(article_settings, embedder))
    chosen = {"q01", "q02", "q04"}
    questions = [q for q in load_question_set(DATA / "article_questions.jsonl") if q.id in chosen]
    outside = Question("x1", "What is the boiling point of liquid nitrogen?", False, None, "unanswerable")
    # a gold span longer than any passage, so no passage holds it
    cut = Question("x2", "Who issued it?", True, generation.passages[0].text + "\n\nX", "fact")
    results = evaluate_questions(open_searcher(generation, embedder), [*questions, outside, cut], ["hybrid"])
    metrics = results["hybrid"].metrics
    assert set(QUESTION_MEASURES) <= set(metrics)
    for name in (*QUESTION_MEASURES, "answer_contains_gold", "answerable_kept", "unanswerable_flagged"):
        assert in_unit_range(metrics[name]), (name, metrics[name])
    assert metrics["gold_unreachable"] == 1.0
    assert metrics["Recall@10"] == pytest.approx(3 / 4)  # the three real questions find their gold
    median = metrics["top_passage_median_chars"]
    assert median is not None and median > 50
    details = {row["id"]: row for row in results["hybrid"].details}
    assert details["x2"]["gold_rank"] is None and details["x1"]["gold_rank"] is None


def test_eval_command_writes_a_report(tiny: tuple[Path, BeirData, Generation], tmp_path: Path) -> None:
    folder, _, generation = tiny
    output = tmp_path / "out" / "tiny.json"
    arguments = [
        "eval",
        "--beir",
        str(folder),
        "--index-dir",
        str(generation.path.parent),
        "--modes",
        "keyword,dense",
        "--limit",
        "2",
        "--output",
        str(output),
    ]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    report = json.loads(output.read_text(encoding="utf-8"))
    assert (report["dataset"], report["split"], report["queries"]) == ("tiny", "test", 2)
    assert report["index"]["generation"] == generation.name  # unchanged corpus: loaded, not rebuilt
    assert list(report["modes"]) == ["keyword", "dense"]
    assert set(report["modes"]["dense"]["metrics"]) == set(BEIR_MEASURES)
    assert "nDCG@10" in result.output
    bad = CliRunner().invoke(app, ["eval", "--beir", str(folder), "--modes", "dense,fuzzy"])
    assert bad.exit_code == 1 and "fuzzy" in bad.output
    # built afresh off a terminal: the progress lines count the documents, which came parsed
    fresh = [*arguments[:3], "--index-dir", str(tmp_path / "fresh"), *arguments[5:]]
    built = CliRunner().invoke(app, fresh)
    assert built.exit_code == 0, built.output
    progress = [line for line in built.output.splitlines() if line.startswith("parsed ")]
    documents = len(load_beir(folder, "test").documents)
    assert progress and progress[-1].startswith(f"parsed {documents} documents; embedded "), progress


def scifact_slice(queries: int, others: int) -> tuple[list[dict[str, Any]], dict[str, str], Qrels]:
    """The first ``queries`` test queries, their relevant documents and every n-th other document."""
    qrels: Qrels = []
    for line in (SCIFACT / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        query_id, doc_id, score = line.split("\t")
        qrels.append((query_id, doc_id, int(score)))
    chosen = list(dict.fromkeys(query_id for query_id, _, _ in qrels))[:queries]
    qrels = [row for row in qrels if row[0] in chosen]
    relevant = {doc_id for _, doc_id, _ in qrels}
    rows = [json.loads(line) for line in (SCIFACT / "corpus.jsonl").read_text(encoding="utf-8").splitlines()]
    unrelated = [row for row in rows if row["_id"] not in relevant]
    step = len(unrelated) // others
    documents = [row for row in rows if row["_id"] in relevant] + unrelated[::step][:others]
    texts = {}
    for line in (SCIFACT / "queries.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["_id"] in chosen:
            texts[row["_id"]] = row["text"]
    return documents, texts, qrels


@pytest.mark.slow
@pytest.mark.skipif(not SCIFACT.is_dir(), reason=f"no SciFact data at {SCIFACT}")
def test_scifact_slice_dense_ndcg_floor(tmp_path: Path) -> None:
    documents, queries, qrels = scifact_slice(queries=50, others=100)
    data = load_beir(write_beir(tmp_path / "scifact-slice", documents, queries, qrels), "test")
    assert len(data.queries) == 50
    generation = index_for(data, tmp_path / "index")
    metrics = evaluate_beir(open_searcher(generation, real_embedder()), data, ["dense"])["dense"].metrics
    # measured 2026-11-25 (all-MiniLM-L6-v2, chunk_tokens 200): nDCG@10 = 0.952 on this slice
    # (R@1 0.859, R@10 0.980); the floor sits 0.1 below it
    ndcg = metrics["nDCG@10"]
    assert ndcg is not None and ndcg > 0.85, metrics


def test_beir_records_parse_as_their_text_files_do(
    tiny: tuple[Path, BeirData, Generation], tmp_path: Path
) -> None:
    """`qa eval --beir` and a corpus folder of the same records as .txt files index the same
    documents in the same order: same doc_id, title, text, metadata, hence the same passages, the
    same learnt token codec, the same ties, the same scores."""
    folder, data, _ = tiny
    for line in (folder / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        (tmp_path / file_name(row["_id"])).write_text(as_text_file(row), encoding="utf-8")
    assert load_corpus(tmp_path).documents == data.documents
    assert all(choose_layout(document, "auto") == "plain" for document in data.documents)
