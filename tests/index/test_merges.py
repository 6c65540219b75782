"""Merges in two steps (``qa.index.merge``): a merge prepared from one generation and published
after writes re-bases onto the newest manifest, so nothing a write published meanwhile is lost,
and a merge whose inputs a full build replaced is dropped; a merge never makes a segment larger
than a build seals one."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qa.core.config import Settings
from qa.index.build import build_change, build_index, build_lock
from qa.index.generations import MERGING, Generation, load_generation
from qa.index.merge import MERGE_FACTOR, choose, merge_lock, prepare
from qa.index.segments import SEGMENT_PASSAGES
from qa.ingest.uploads import parse_document
from qa.search.shards import Partition
from tests.conftest import article_copy, real_embedder
from tests.index.test_segments import FERRY, QUESTIONS, keyed, note


def exact_citations(generation: Generation) -> None:
    for doc_id, rows in generation.rows_of_doc.items():
        text = generation.documents[doc_id].text
        for row in rows:
            passage = generation.passages[row]
            assert text[passage.start : passage.end] == passage.text, doc_id


def eight_notes(settings: Settings) -> None:
    """The article, then ``MERGE_FACTOR`` notes added one at a time (one segment each), unmerged."""
    build_index(settings, real_embedder(), merge=False)
    for number in range(MERGE_FACTOR):
        (settings.corpus_dir / f"note-{number}.md").write_text(note(number), encoding="utf-8")
        build_index(settings, real_embedder(), merge=False)


def test_a_write_published_during_a_merge_is_kept(tmp_path: Path) -> None:
    embedder = real_embedder()
    (tmp_path / "grown").mkdir()
    settings = article_copy(tmp_path / "grown")
    eight_notes(settings)
    before = load_generation(settings.index_dir)
    assert choose(before), "eight one-note segments are due for a merge"
    with merge_lock(settings.index_dir) as mine:
        assert mine
        prepared = prepare(settings.index_dir, settings)  # the long step, no build lock held
        assert prepared is not None and any(settings.index_dir.glob(f"{MERGING}*"))
        # meanwhile a write adds one document, deletes a merged one and replaces another
        (settings.corpus_dir / "ferry.md").write_text(FERRY, encoding="utf-8")
        (settings.corpus_dir / "note-3.md").unlink()
        (settings.corpus_dir / "note-5.md").write_text(note(50), encoding="utf-8")
        changed = [
            parse_document(name, (settings.corpus_dir / name).read_bytes())
            for name in ("ferry.md", "note-5.md")
        ]
        with build_lock(settings.index_dir):
            build_change(settings, embedder, added=changed, removed=["note-3.md"])
            name = prepared.publish(settings.index_dir, settings.keep_generations)
    assert name is not None and not any(settings.index_dir.glob(f"{MERGING}*"))
    merged = load_generation(settings.index_dir)
    assert merged.name == name and len(merged.segments) < len(before.segments)
    assert set(merged.documents) == {path.name for path in settings.corpus_dir.iterdir()}
    assert "ferry.md" in merged.documents and "note-3.md" not in merged.documents
    assert "week 50" in merged.documents["note-5.md"].text
    exact_citations(merged)
    # scores equal a fresh build of the same corpus (tombstones of the re-base included)
    fresh_settings = Settings(corpus_dir=settings.corpus_dir, index_dir=tmp_path / "fresh").resolved()
    build_index(fresh_settings, embedder)
    fresh = load_generation(fresh_settings.index_dir)
    assert merged.live_passages == fresh.live_passages
    parts = [Partition.whole(merged), Partition.whole(fresh)]
    for question in [*QUESTIONS, "storm warnings in week 50", "storm warnings in week 3"]:
        vector = embedder.embed([question])[0]
        for ranked in (
            [part.keyword_search(question, 100) for part in parts],
            [part.dense(vector, 100) for part in parts],
        ):
            mine, theirs = keyed(merged, ranked[0]), keyed(fresh, ranked[1])
            assert mine.keys() == theirs.keys(), question
            np.testing.assert_allclose([mine[k] for k in theirs], list(theirs.values()), rtol=0, atol=1e-5)


def test_a_merge_whose_inputs_a_full_build_replaced_is_dropped(tmp_path: Path) -> None:
    settings = article_copy(tmp_path)
    eight_notes(settings)
    with merge_lock(settings.index_dir):
        prepared = prepare(settings.index_dir, settings)
        assert prepared is not None
        with merge_lock(settings.index_dir) as second:
            assert not second, "one merge at a time per index folder"
        rebuilt = build_index(settings, real_embedder(), full=True, merge=False)
        with build_lock(settings.index_dir):
            assert prepared.publish(settings.index_dir, settings.keep_generations) is None
    assert load_generation(settings.index_dir).name == rebuilt.generation
    assert not any(settings.index_dir.glob(f"{MERGING}*"))


def test_segments_as_large_as_a_build_seals_are_not_merged_together() -> None:
    class Sized:  # choose() reads only each segment's live rows
        def __init__(self, sizes: list[int]) -> None:
            self.live = [np.ones(size, dtype=bool) for size in sizes]

    big = [SEGMENT_PASSAGES] * (2 * MERGE_FACTOR)
    assert choose(Sized(big)) == []  # type: ignore[arg-type]
    small = [SEGMENT_PASSAGES // MERGE_FACTOR] * MERGE_FACTOR
    assert choose(Sized(big + small)) == list(range(len(big), len(big) + MERGE_FACTOR))  # type: ignore[arg-type]


def test_a_document_without_passages_is_merged(tmp_path: Path) -> None:
    """An empty file is a document of no passages (its segment holds no rows for it); merging its
    segment with the others keeps it and every citation (a reshape of its zero rows once failed)."""
    settings = article_copy(tmp_path)
    build_index(settings, real_embedder(), merge=False)
    for number in range(MERGE_FACTOR):
        text = "" if number == 2 else note(number)
        (settings.corpus_dir / f"note-{number}.md").write_text(text, encoding="utf-8")
        build_index(settings, real_embedder(), merge=False)
    assert choose(load_generation(settings.index_dir)), "eight one-note segments are due for a merge"
    build_index(settings, real_embedder())  # nothing changed: the merges alone
    merged = load_generation(settings.index_dir)
    assert not choose(merged) and len(merged.segments) < MERGE_FACTOR
    assert "note-2.md" in merged.documents and not merged.rows_of_doc.get("note-2.md")
    exact_citations(merged)
