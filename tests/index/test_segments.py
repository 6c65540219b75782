"""Segments: an add writes one segment and shares the rest, a delete writes a tombstone, kept
generations cost little more than one, merges and tombstones change no result, and an index of
the older format is rebuilt with a clear message."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from qa.core.config import Settings
from qa.core.errors import IndexMismatch
from qa.index.build import build_index
from qa.index.generations import SEGMENTS, Generation, load_generation
from qa.index.merge import MERGE_FACTOR
from qa.search.shards import Partition
from qa.service.engine import open_searcher
from tests.conftest import article_copy, real_embedder

FERRY = "# Ferry\n\nThe night ferry to the islands leaves at 23:40 from pier seven, every day but Sunday.\n"
QUESTIONS = ["what did UNIDO announce?", "when does the night ferry leave?", "storm warnings lighthouse week"]


def note(number: int) -> str:
    return (
        f"# Note {number}\n\nThe lighthouse keeper logged {number * 7 + 3} storm warnings in week {number}.\n"
    )


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def segment_names(generation: Generation) -> list[str]:
    return [entry["name"] for entry in generation.manifest["segments"]]


def test_an_add_writes_one_segment_and_a_delete_a_tombstone(tmp_path: Path) -> None:
    settings = article_copy(tmp_path)
    embedder = real_embedder()
    (settings.corpus_dir / "ferry.md").write_text(FERRY, encoding="utf-8")
    build_index(settings, embedder)
    first = load_generation(settings.index_dir)
    (settings.corpus_dir / "bus.md").write_text(FERRY.replace("ferry", "bus"), encoding="utf-8")
    added = build_index(settings, embedder)
    assert added.embedded == 1 and sorted(added.reused) == sorted(first.documents)
    second = load_generation(settings.index_dir)
    assert segment_names(second)[:-1] == segment_names(first) and len(segment_names(second)) == 2
    (settings.corpus_dir / "ferry.md").write_text(FERRY.replace("23:40", "22:15"), encoding="utf-8")
    replaced = build_index(settings, embedder)
    assert replaced.changed == ["ferry.md"] and replaced.embedded == 1
    third = load_generation(settings.index_dir)
    assert third.manifest["segments"][0]["deleted"] == ["ferry.md"]  # a tombstone in the first one
    assert segment_names(third)[:2] == segment_names(second) and len(segment_names(third)) == 3
    assert "22:15" in third.documents["ferry.md"].text and third.live_passages == second.live_passages
    (settings.corpus_dir / "bus.md").unlink()
    removed = build_index(settings, embedder)
    assert removed.removed == ["bus.md"] and removed.embedded == 0
    fourth = load_generation(settings.index_dir)
    assert "bus.md" not in fourth.documents and segment_names(second)[1] not in segment_names(fourth)
    hits = open_searcher(fourth, embedder).search("when does the night bus leave?", 5).hits
    assert all(hit.citation.doc_id != "bus.md" for hit in hits)
    # three kept generations share the first segment: the folder costs little more than one
    one = folder_bytes(settings.index_dir / SEGMENTS / segment_names(first)[0])
    assert folder_bytes(settings.index_dir) <= 1.2 * one


def test_tombstoned_rows_are_never_found(tmp_path: Path) -> None:
    settings = article_copy(tmp_path)
    embedder = real_embedder()
    (settings.corpus_dir / "ferry.md").write_text(FERRY, encoding="utf-8")
    build_index(settings, embedder)
    (settings.corpus_dir / "ferry.md").write_text(FERRY.replace("night", "morning"), encoding="utf-8")
    build_index(settings, embedder)
    generation = load_generation(settings.index_dir)
    assert not all(live.all() for live in generation.live)
    searcher = open_searcher(generation, embedder)
    for mode in ("dense", "keyword", "hybrid"):
        for row, _ in searcher.ranked_passages("when does the night ferry leave?", 50, mode):  # type: ignore[arg-type]
            segment = int(np.searchsorted(generation.bases, row, side="right")) - 1
            assert generation.live[segment][row - generation.bases[segment]]


def keyed(generation: Generation, ranked: list[tuple[int, float]]) -> dict[tuple[str, int], float]:
    return {(generation.passages[row].doc_id, generation.passages[row].start): s for row, s in ranked}


def test_adds_merges_and_tombstones_score_as_one_fresh_build(tmp_path: Path) -> None:
    embedder = real_embedder()
    (tmp_path / "grown").mkdir()
    settings = article_copy(tmp_path / "grown")
    build_index(settings, embedder)
    for number in range(MERGE_FACTOR + 2):  # enough one-document adds for a merge
        (settings.corpus_dir / f"note-{number}.md").write_text(note(number), encoding="utf-8")
        summary = build_index(settings, embedder)
    (settings.corpus_dir / "note-3.md").unlink()
    (settings.corpus_dir / "note-5.md").write_text(note(50), encoding="utf-8")
    summary = build_index(settings, embedder)
    grown = load_generation(settings.index_dir)
    assert len(grown.segments) < MERGE_FACTOR, "small segments were merged"
    fresh_settings = Settings(corpus_dir=settings.corpus_dir, index_dir=tmp_path / "fresh").resolved()
    build_index(fresh_settings, embedder)
    fresh = load_generation(fresh_settings.index_dir)
    assert len(fresh.segments) == 1 and summary.passages == fresh.live_passages == grown.live_passages
    for generation in (grown, fresh):
        for doc_id, rows in generation.rows_of_doc.items():  # citations stay exact
            text = generation.documents[doc_id].text
            assert all(
                text[generation.passages[r].start : generation.passages[r].end] == generation.passages[r].text
                for r in rows
            )
    parts = [Partition.whole(grown), Partition.whole(fresh)]
    for question in QUESTIONS:
        vector = embedder.embed([question])[0]
        for ranked in (
            [part.keyword_search(question, 100) for part in parts],
            [part.dense(vector, 100) for part in parts],
        ):
            mine, theirs = keyed(grown, ranked[0]), keyed(fresh, ranked[1])
            assert mine.keys() == theirs.keys(), question
            np.testing.assert_allclose([mine[k] for k in theirs], list(theirs.values()), rtol=0, atol=1e-5)


def test_an_index_of_the_older_format_is_rebuilt_with_a_clear_message(tmp_path: Path) -> None:
    settings = article_copy(tmp_path)
    embedder = real_embedder()
    name = build_index(settings, embedder).generation
    manifest_path = settings.index_dir / name / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    old = {key: value for key, value in manifest.items() if key != "segments"} | {"format_version": 2}
    manifest_path.write_text(json.dumps(old), encoding="utf-8")
    shutil.rmtree(settings.index_dir / SEGMENTS)
    with pytest.raises(IndexMismatch, match=r"older format.*qa index"):
        load_generation(settings.index_dir)
    rebuilt = build_index(settings, embedder)
    assert rebuilt.full_reason is not None and "older format" in rebuilt.full_reason
    assert load_generation(settings.index_dir).live_passages == rebuilt.passages


def test_a_write_indexes_only_its_document_without_reading_the_corpus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import qa
    from qa.index import build

    settings = article_copy(tmp_path)
    build_index(settings, real_embedder())
    engine = qa.open(settings, encoder=real_embedder())

    def unread(folder: Path) -> None:
        raise AssertionError(f"a write read the whole corpus in {folder}")

    monkeypatch.setattr(build, "load_corpus", unread)
    written, is_new = engine.add("ferry.md", FERRY.encode("utf-8"))
    assert is_new and written.passages == 1
    assert "23:40" in engine.ask("when does the night ferry leave?", k=1).hits[0].passage.text
    engine.delete("ferry.md")
    assert "ferry.md" not in engine.served_documents()
    monkeypatch.undo()
    rebuilt = build_index(settings, real_embedder())  # the corpus and the index agree: nothing to do
    assert rebuilt.embedded == 0 and rebuilt.added == rebuilt.changed == rebuilt.removed == []
