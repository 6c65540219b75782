"""Filters applied inside the search, on the real model and index (``tests.library``): k allowed
passages come back even when every one of them ranks below k unfiltered; front-matter fields;
tombstones; the approximate index's ID selector; segments written before fields were stored."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import qa
from qa.core.config import SearchMode, Settings
from qa.core.filters import NO_MATCH, make_filter
from qa.index.generations import load_generation, vector_index
from qa.search import shards
from qa.search.searcher import Searcher
from qa.service.engine import Engine, open_searcher
from tests.conftest import real_embedder

QUESTION = "How do I set a timeout for a single request?"  # answered by httpx's pages
K = 5
MODES: tuple[SearchMode, ...] = ("dense", "keyword", "hybrid")


@pytest.fixture(scope="module")
def engine(library_settings: Settings) -> Engine:
    return qa.open(library_settings, encoder=real_embedder())


def rows_of(searcher: Searcher, prefix: str) -> set[int]:
    return {
        row
        for doc_id, rows in searcher.generation.rows_of_doc.items()
        if doc_id.startswith(prefix)
        for row in rows
    }


@pytest.mark.parametrize("mode", MODES)
def test_k_allowed_passages_come_back_when_all_rank_below_k_unfiltered(
    engine: Engine, mode: SearchMode
) -> None:
    searcher = engine.ready_searcher()
    query = searcher.embed(QUESTION)
    everything = searcher.rank(query, len(searcher.generation.passages), mode)
    flask = rows_of(searcher, "flask/")
    assert not flask & {row for row, _ in everything[:K]}  # unfiltered, no Flask passage is in the top k
    filtered = searcher.rank(query, K, mode, make_filter("flask/**"))
    assert len(filtered) == K and {row for row, _ in filtered} <= flask
    if mode != "hybrid":  # a first-stage ranking: exactly the best allowed rows of the full one
        assert filtered == [(row, score) for row, score in everything if row in flask][:K]
    hits = engine.search(QUESTION, k=K, mode=mode, doc=["flask/*.rst"])
    assert [hit.citation.doc_id.startswith("flask/") for hit in hits] == [True] * K


def test_front_matter_fields_filter_the_documents(engine: Engine) -> None:
    question = "when does the night ferry leave?"
    by_author = engine.ask(question, k=K, meta={"author": "Grace"})
    assert by_author.hits and {hit.citation.doc_id for hit in by_author.hits} == {"notes/trips/bridge.md"}
    assert engine.ask(question, k=1, meta={"author": "Ada"}).hits[0].citation.doc_id == "notes/ferry.md"
    titled = engine.search(question, k=K, meta=[("title", "Bridge*")])
    assert {hit.citation.doc_id for hit in titled} == {"notes/trips/bridge.md"}
    both = engine.search(question, k=K, doc="notes/*", meta={"status": ["final", "draft"]})
    assert {hit.citation.doc_id for hit in both} == {"notes/ferry.md"}  # notes/* is one folder deep


def test_a_filter_matching_no_document_says_so(engine: Engine) -> None:
    for doc, meta in (("nothing/**", None), (None, {"author": "Nobody"}), ("notes/*", {"lang": "en"})):
        result = engine.ask("when does the night ferry leave?", k=K, doc=doc, meta=meta)
        assert result.hits == [] and result.answer is None and not result.answerable
        assert result.message is not None and result.message.startswith(NO_MATCH)
    assert engine.ask("when does the night ferry leave?", doc="notes/**").message is None


def test_tombstoned_documents_stay_out_of_filtered_searches(
    library_settings: Settings, tmp_path: Path
) -> None:
    shutil.copytree(library_settings.corpus_dir, tmp_path / "corpus")
    shutil.copytree(library_settings.index_dir, tmp_path / "index")
    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index").resolved()
    engine = qa.open(settings, encoder=real_embedder())
    engine.delete("notes/ferry.md")
    assert any(
        "notes/ferry.md" in entry["deleted"]
        for entry in engine.ready_searcher().generation.manifest["segments"]
    )
    hits = engine.search("when does the night ferry leave?", k=K, doc="notes/**")
    assert hits and {hit.citation.doc_id for hit in hits} == {"notes/trips/bridge.md"}
    gone = engine.ask("when does the night ferry leave?", meta={"author": "Ada"})
    assert gone.hits == [] and gone.message is not None and NO_MATCH in gone.message


def test_the_approximate_index_searches_with_an_id_selector(
    library_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    exact = open_searcher(load_generation(library_settings.index_dir), real_embedder())
    generation = load_generation(library_settings.index_dir)
    for segment in generation.segments:
        segment.ann = vector_index(segment.vectors, "HNSW32")
    approximate = open_searcher(generation, real_embedder())
    monkeypatch.setattr(shards, "EXACT_BELOW", 0)  # every filtered search goes through the selector
    query = exact.embed(QUESTION)
    for glob in ("flask/**", "notes/**", "httpx/advanced-*.md"):
        only = make_filter(glob)
        wanted = exact.rank(query, K, "dense", only)
        found = approximate.rank(query, K, "dense", only)
        assert [row for row, _ in found] == [row for row, _ in wanted], glob
    calls = []
    monkeypatch.setattr(
        shards, "search_selected", lambda *args: calls.append(args) or []
    )  # an index that fell short
    fallen_back = approximate.rank(query, K, "dense", make_filter("flask/**"))
    assert calls and fallen_back == exact.rank(query, K, "dense", make_filter("flask/**"))


def test_segments_without_stored_fields_read_them_from_their_documents(
    library_settings: Settings, tmp_path: Path
) -> None:
    shutil.copytree(library_settings.index_dir, tmp_path / "index")
    stored = load_generation(tmp_path / "index").segments[0].fields
    older = load_generation(tmp_path / "index")
    (older.segments[0].path / "fields.json").unlink()  # as a segment written before fields.json
    assert older.segments[0].fields == stored and stored["notes/ferry.md"]["author"] == "Ada"
