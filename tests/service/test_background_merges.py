"""Merges in the background (``qa.service.merging``): the write that makes a merge due returns
with its own generation served; while the merge runs, questions keep being answered and another
write goes through; when the merge publishes, nothing that write did is lost."""

from __future__ import annotations

import threading
from pathlib import Path

import qa
from qa.index.generations import MERGING, load_generation
from qa.index.merge import MERGE_FACTOR
from tests.conftest import article_copy, real_embedder
from tests.index.test_merges import exact_citations
from tests.index.test_segments import FERRY, note


def test_queries_and_writes_go_on_while_a_merge_runs(tmp_path: Path) -> None:
    settings = article_copy(tmp_path)
    engine = qa.open(settings, encoder=real_embedder())
    engine.build()
    entered, release = threading.Event(), threading.Event()

    def hold_the_merge() -> None:  # between the merge's copy and its publish
        entered.set()
        assert release.wait(120)

    engine.add("note-0.md", note(0))
    assert engine.merger is not None and engine.merger.wait(60)
    engine.merger.prepared_hook = hold_the_merge
    for number in range(1, MERGE_FACTOR):
        written, _ = engine.add(f"note-{number}.md", note(number))
        assert engine.ready_searcher().generation.name == written.generation  # served at once
    assert entered.wait(60), "the eighth one-note segment made a merge due"
    assert any(settings.index_dir.glob(f"{MERGING}*")) and not engine.merger.merged

    answered: list[str] = []
    failures: list[BaseException] = []
    stop = threading.Event()

    def keep_asking() -> None:
        while not stop.is_set():
            try:
                hit = engine.ask(
                    "how many storm warnings did the lighthouse keeper log in week 4?", k=3
                ).hits[0]
                answered.append(hit.citation.doc_id)
            except BaseException as error:  # every failure is counted
                failures.append(error)

    asker = threading.Thread(target=keep_asking)
    asker.start()
    try:
        written, is_new = engine.add("ferry.md", FERRY)  # a write while the merge is held open
        assert is_new and engine.ready_searcher().generation.name == written.generation
        engine.delete("note-2.md")
        assert "note-2.md" not in engine.served_documents()
        during = len(answered)
        release.set()
        assert engine.merger.wait(60)
    finally:
        release.set()
        stop.set()
        asker.join(60)
    assert not failures and during > 0 and len(answered) > during
    assert engine.merger.merged and engine.merger.error is None
    served = engine.ready_searcher().generation
    assert served.name == engine.merger.merged[-1] == load_generation(settings.index_dir).name
    assert len(served.segments) < 1 + MERGE_FACTOR, "the one-note segments were merged"
    assert set(served.documents) == {path.name for path in settings.corpus_dir.iterdir()}
    assert "ferry.md" in served.documents and "note-2.md" not in served.documents
    exact_citations(served)
    hit = engine.ask("when does the night ferry leave?", k=1).hits[0]
    assert hit.citation.doc_id == "ferry.md"
    engine.stop_merging()
