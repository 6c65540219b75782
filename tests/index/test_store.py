"""Index generations: a save/load round trip, and clear errors for missing or mismatched indexes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qa.core.config import Settings
from qa.core.errors import BuildInProgress, IndexMismatch, IndexNotFound
from qa.index.build import build_index, parameters_for
from qa.index.generations import current_generation, load_generation
from tests.conftest import ARTICLE, article_copy, real_embedder


def make_settings(tmp_path: Path) -> Settings:
    return article_copy(tmp_path)


def test_round_trip_keeps_passages_vectors_and_text(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    embedder = real_embedder()
    summary = build_index(settings, embedder)
    generation = load_generation(settings.index_dir, parameters_for(settings, embedder))
    assert generation.name == summary.generation == current_generation(settings.index_dir)
    assert len(generation.passages) == summary.passages > 5
    document = generation.documents[ARTICLE.name]
    assert document.text == ARTICLE.read_text(encoding="utf-8")
    for passage in generation.passages:
        assert document.text[passage.start : passage.end] == passage.text
    norms = np.linalg.norm(np.asarray(generation.vectors), axis=1)
    assert generation.vectors.dtype == np.float32 and np.allclose(norms, 1.0, atol=1e-4)
    # the stored vector of a passage is what the model gives for its embedding text today
    first = generation.passages[0]
    fresh = embedder.embed([first.embedding_text])[0]
    assert float(fresh @ generation.vectors[0]) > 0.999
    # every word piece of the cited text points inside its passage's span
    for row, passage in enumerate(generation.passages):
        starts = np.asarray(generation.tokens.starts[generation.tokens.rows(row)])
        inside = starts[starts >= 0]
        assert len(inside) and inside.min() >= passage.start and inside.max() < passage.end
    assert generation.manifest["model"] == settings.model and generation.manifest["dimension"] == 384


def test_missing_index_says_run_qa_index(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFound, match="qa index"):
        load_generation(tmp_path / "nothing")


def test_mismatched_settings_say_what_differs(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    embedder = real_embedder()
    build_index(settings, embedder)
    changed = settings.model_copy(update={"chunk_tokens": 100})
    with pytest.raises(IndexMismatch, match=r"chunk_tokens is 200 in the index but 100.*qa index"):
        load_generation(settings.index_dir, parameters_for(changed, embedder))


def test_unchanged_documents_are_not_embedded_again(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    embedder = real_embedder()
    first = build_index(settings, embedder)
    (settings.corpus_dir / "extra.md").write_text("# Extra\n\nA new note about the centre's budget.\n")
    second = build_index(settings, embedder)
    assert second.reused == [ARTICLE.name] and second.added == ["extra.md"]
    assert second.embedded < first.embedded
    generation = load_generation(settings.index_dir)
    again = build_index(settings, embedder, full=True)
    assert again.embedded == first.embedded + second.embedded
    assert generation.name != again.generation


def test_only_the_newest_generations_are_kept(tmp_path: Path) -> None:
    settings = make_settings(tmp_path).model_copy(update={"keep_generations": 2})
    embedder = real_embedder()
    names = [build_index(settings, embedder).generation for _ in range(3)]
    kept = sorted(path.name for path in settings.index_dir.glob("gen-*"))
    assert kept == sorted(names[1:]) and current_generation(settings.index_dir) == names[-1]
    assert load_generation(settings.index_dir).name == names[-1]


def test_a_second_concurrent_build_is_refused(tmp_path: Path) -> None:
    from filelock import FileLock

    settings = make_settings(tmp_path)
    settings.index_dir.mkdir()
    with FileLock(settings.index_dir / ".build.lock"), pytest.raises(BuildInProgress, match="another build"):
        build_index(settings, real_embedder())
    assert current_generation(settings.index_dir) is None


def test_ann_index_answers_like_exact_search(tmp_path: Path) -> None:
    from qa.service.engine import open_searcher

    embedder = real_embedder()
    exact = make_settings(tmp_path)
    build_index(exact, embedder)
    approximate = exact.model_copy(update={"index_dir": tmp_path / "hnsw", "index_factory": "HNSW32"})
    build_index(approximate, embedder)
    flat, hnsw = load_generation(exact.index_dir), load_generation(approximate.index_dir)
    assert flat.manifest["faiss_factory"] == "Flat" and hnsw.manifest["faiss_factory"] == "HNSW32"
    for question in ["what did UNIDO announce?", "who wrote this?", "Where will the centre be housed?"]:
        ranked = [open_searcher(g, embedder).ranked_passages(question, 5, "dense") for g in (flat, hnsw)]
        assert [row for row, _ in ranked[0]] == [row for row, _ in ranked[1]]


def test_auto_factory_switches_to_ann_above_the_threshold() -> None:
    from qa.index.generations import choose_factory

    assert choose_factory("auto", 10, 50_000) == "Flat"
    assert choose_factory("auto", 60_000, 50_000) == "HNSW32_SQ8"  # 8-bit codes: vectors stored once
    assert choose_factory("IVF256,SQ8", 10, 50_000) == "IVF256,SQ8"


def test_empty_documents_survive_incremental_builds(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    (settings.corpus_dir / "empty.txt").write_text("")
    (settings.corpus_dir / "blank.md").write_text("---\ntitle: Nothing here\n---\n\n   \n")
    embedder = real_embedder()
    first = build_index(settings, embedder)
    second = build_index(settings, embedder)  # reuses the empty documents, which have no passages
    assert sorted(second.reused) == sorted(["empty.txt", "blank.md", ARTICLE.name])
    assert second.passages == first.passages


def test_a_chunker_change_rebuilds_everything_and_says_why(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    embedder = real_embedder()
    first = build_index(settings, embedder)
    assert first.full_reason is None  # a first build needs no reason
    changed = build_index(settings.model_copy(update={"chunk_tokens": 120}), embedder)
    assert changed.full_reason is not None and "chunk_tokens" in changed.full_reason
    # the article itself did not change: nothing added or changed, nothing reused, all re-embedded
    assert changed.reused == changed.added == changed.changed == [] and changed.embedded == changed.passages
