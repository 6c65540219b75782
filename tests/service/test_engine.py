"""The Engine as the Python API (``qa.open``): the calls every edge makes, on the real model and index."""

from __future__ import annotations

from pathlib import Path

import pytest

import qa
from qa.core.config import Settings
from qa.core.errors import InvalidQuestion, NotReady, UnknownDocument
from tests.conftest import article_copy, real_embedder


def test_open_asks_with_a_cited_answer(article_settings: Settings) -> None:
    engine = qa.open(article_settings, encoder=real_embedder())
    result = engine.ask("Which UN centre did UNIDO announce at WAIC?", k=3)
    assert result.answerable and result.answer is not None
    cite = result.answer.citation
    document = engine.document(cite.doc_id)
    assert document.text[cite.start : cite.end] == result.answer.text
    assert "center of excellence" in result.answer.text
    assert [hit.passage.text for hit in result.hits] == [
        engine.document(hit.citation.doc_id).text[hit.citation.start : hit.citation.end]
        for hit in result.hits
    ]
    assert [doc.doc_id for doc, passages in engine.documents() if passages] == ["shanghai-declaration.txt"]
    assert engine.index_info()["components"]["language"] == "en"


def test_open_without_an_index_says_how_to_build_one_then_builds(tmp_path: Path) -> None:
    settings = article_copy(tmp_path)
    engine = qa.open(settings, encoder=real_embedder())
    with pytest.raises(NotReady, match="qa index"):
        engine.ask("what did UNIDO announce?")
    summary = engine.build()
    assert summary.documents == 1 and engine.ready
    assert engine.ask("what did UNIDO announce?").hits
    with pytest.raises(InvalidQuestion, match="empty"):
        engine.ask("   ")
    with pytest.raises(UnknownDocument):
        engine.document("nothing.txt")


def test_open_takes_settings_by_name(tmp_path: Path) -> None:
    settings = article_copy(tmp_path)
    engine = qa.open(corpus_dir=settings.corpus_dir, index_dir=settings.index_dir, encoder=real_embedder())
    assert engine.settings.corpus_dir == settings.corpus_dir and not engine.ready


def test_open_overrides_given_settings_by_name(article_settings: Settings) -> None:
    engine = qa.open(article_settings, encoder=real_embedder(), default_mode="keyword")
    assert (
        engine.settings.default_mode == "keyword" and engine.settings.index_dir == article_settings.index_dir
    )
    with pytest.raises(ValueError, match="default_mode"):
        qa.open(article_settings, encoder=real_embedder(), default_mode="fuzzy")
    with pytest.raises(TypeError, match="unknown setting k"):
        qa.open(article_settings, encoder=real_embedder(), k=3)


def test_search_add_and_delete_through_the_engine(tmp_path: Path) -> None:
    settings = article_copy(tmp_path)
    engine = qa.open(settings, encoder=real_embedder())
    engine.build()
    hits = engine.search("what did UNIDO announce?", k=2)
    assert len(hits) == 2 and hits[0].citation.doc_id == "shanghai-declaration.txt"
    written, is_new = engine.add("notes/bridge.md", "# Bridge\n\nThe bridge repairs cost 4 million euros.\n")
    assert is_new and written.passages >= 1
    assert engine.search("how much did the bridge repairs cost?", k=1)[0].citation.doc_id == "notes/bridge.md"
    engine.delete("notes/bridge.md")
    assert "notes/bridge.md" not in {doc.doc_id for doc, _ in engine.documents()}
