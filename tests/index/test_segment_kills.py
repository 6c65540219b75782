"""SIGKILLs at random points of segment writes, publishes and merges: afterwards every published
generation on disk loads with valid checksums and cites exactly, and the next build clears what
the kills left behind (staging folders, segments no generation names).

A forked child (it inherits the loaded real model) adds one small document at a time, each add
writing a segment and a manifest and publishing it, with a tiered merge every ``MERGE_FACTOR``
adds; it is killed after a random delay, 24 times.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import random
import signal
import sys
import threading
import time
from pathlib import Path

from qa.core.config import Settings
from qa.index.build import build_index
from qa.index.generations import MERGING, SEGMENTS, current_generation, load_generation
from qa.index.merge import MERGE_FACTOR, tier
from qa.service.engine import open_searcher
from tests.conftest import article_copy, real_embedder

KILLS = 24


def note(number: int) -> str:
    return (
        f"# Note {number}\n\nThe lighthouse keeper logged {number * 7 + 3} storm warnings in week {number}.\n"
    )


def _own_locks() -> None:
    """A forked child's own locks: the parent's OpenMP pool does not survive fork (one thread
    does), and tqdm's write lock (which bm25s takes while tokenizing) is a semaphore shared with
    the parent: a child killed while holding it would leave the parent waiting forever. Torch only
    where the parent loaded it: on the ONNX Runtime start nothing has, and importing it took the
    child seconds, longer than most of its lives, when this test ran alone (no note written)."""
    from tqdm import tqdm
    from tqdm.auto import tqdm as auto_tqdm  # what bm25s uses: a subclass that may hold its own lock

    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)
    for kind in (tqdm, auto_tqdm):
        kind.set_lock(threading.RLock())


def _keep_adding(settings: Settings, first: int) -> None:
    """A forked child's life: add a note, build (a segment, a manifest, a publish, maybe a merge)."""
    _own_locks()
    for number in itertools.count(first):
        (settings.corpus_dir / f"note-{number}.md").write_text(note(number), encoding="utf-8")
        build_index(settings, real_embedder())


def check_every_generation(settings: Settings) -> int:
    """Load every generation on disk (checksums verified: the records are keyed by file identity,
    so a fresh copy of nothing is trusted), check its citations; return how many."""
    names = sorted(path.name for path in settings.index_dir.glob("gen-*"))
    assert current_generation(settings.index_dir) in names
    searcher = None
    for name in names:
        generation = load_generation(settings.index_dir, name=name)
        for doc_id, rows in generation.rows_of_doc.items():
            text = generation.documents[doc_id].text
            for row in rows:
                passage = generation.passages[row]
                assert text[passage.start : passage.end] == passage.text
        searcher = open_searcher(generation, real_embedder())
        hit = searcher.search("storm warnings logged by the lighthouse keeper", 1).hits[0]
        document = generation.documents[hit.citation.doc_id]
        assert document.text[hit.citation.start : hit.citation.end] == hit.passage.text
    return len(names)


BETWEEN = "while writing nothing (between writes)"
WATCHED = 5  # kills aimed at a write, when none of the random ones landed in one


def _kill_a_life(settings: Settings, first: int, delay: float | None) -> str:
    """Start a child adding notes from ``first``; SIGKILL it after ``delay`` seconds, or (None) the
    moment a staging folder appears (within 20 s); where it was, by the staging folders seen."""
    child = multiprocessing.get_context("fork").Process(target=_keep_adding, args=(settings, first))
    child.start()
    staging: list[str] = []
    if delay is not None:
        time.sleep(delay)
        staging = sorted(path.name.split("-")[1] for path in settings.index_dir.glob(".tmp-*"))
    else:
        deadline = time.monotonic() + 20
        while not staging and time.monotonic() < deadline:
            staging = sorted(path.name.split("-")[1] for path in settings.index_dir.glob(".tmp-*"))
    os.kill(child.pid or 0, signal.SIGKILL)
    child.join()
    return "while writing " + "+".join(staging) if staging else BETWEEN


def test_sigkill_during_segment_writes_publishes_and_merges(tmp_path: Path) -> None:
    settings = article_copy(tmp_path)
    (settings.corpus_dir / "note-0.md").write_text(note(0), encoding="utf-8")
    build_index(settings, real_embedder())
    rng = random.Random(17)
    seen: dict[str, int] = {}
    added = 1
    # random instants first; then, if none landed inside a write (on a fast machine a write is a
    # small part of a life), kills aimed at the moment a staging folder appears
    delays = [rng.uniform(0.05, 2.5) for _ in range(KILLS)] + [None] * WATCHED
    for attempt, delay in enumerate(delays):
        if attempt >= KILLS and any(where != BETWEEN for where in seen):
            break
        where = _kill_a_life(settings, added, delay)
        seen[where] = seen.get(where, 0) + 1
        added = 1 + max(int(path.stem.split("-")[1]) for path in settings.corpus_dir.glob("note-*.md"))
        assert check_every_generation(settings) >= 1, attempt
    print(f"\n{sum(seen.values())} SIGKILLs, {added} notes written: {seen}")
    assert sum(seen.values()) >= KILLS and any(where != BETWEEN for where in seen)
    summary = build_index(settings, real_embedder())
    assert summary.documents == 1 + added
    generation = load_generation(settings.index_dir)
    assert set(generation.documents) == {path.name for path in settings.corpus_dir.iterdir()}
    assert not list(settings.index_dir.glob(".tmp-*")), "dead writes' staging folders are cleared"
    named = {
        entry["name"]
        for path in settings.index_dir.glob("gen-*")
        for entry in json.loads((path / "manifest.json").read_text(encoding="utf-8"))["segments"]
    }
    assert {path.name for path in (settings.index_dir / SEGMENTS).iterdir()} == named, "orphans removed"
    # tiered: at most MERGE_FACTOR - 1 segments stay in each tier up to the one all passages make
    assert len(generation.segments) <= (MERGE_FACTOR - 1) * (tier(generation.live_passages) + 1)


MERGE_KILLS = 8


def _keep_writing(settings: Settings, first: int) -> None:
    """A forked child's life as a server's: one write after another through an Engine, each
    returning once its generation is served, the merges running in the background worker."""
    import qa

    _own_locks()
    engine = qa.open(settings, encoder=real_embedder())
    for number in itertools.count(first):
        engine.add(f"note-{number}.md", note(number))


def test_sigkill_during_background_merges(tmp_path: Path) -> None:
    """Killed as soon as a background merge has staged its segment (or later, at random): every
    published generation still loads and cites exactly, and the dead merge's staging goes."""
    settings = article_copy(tmp_path)
    (settings.corpus_dir / "note-0.md").write_text(note(0), encoding="utf-8")
    build_index(settings, real_embedder())
    rng = random.Random(18)
    context = multiprocessing.get_context("fork")
    mid_merge = 0
    added = 1
    for attempt in range(MERGE_KILLS):
        dead = set(settings.index_dir.glob(f"{MERGING}*"))  # left by a merge killed before
        child = context.Process(target=_keep_writing, args=(settings, added))
        child.start()
        deadline = time.monotonic() + 30
        while not set(settings.index_dir.glob(f"{MERGING}*")) - dead and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(rng.uniform(0, 0.05))
        mid_merge += bool(set(settings.index_dir.glob(f"{MERGING}*")) - dead)
        os.kill(child.pid or 0, signal.SIGKILL)
        child.join()
        added = 1 + max(int(path.stem.split("-")[1]) for path in settings.corpus_dir.glob("note-*.md"))
        assert check_every_generation(settings) >= 1, attempt
    print(f"\n{MERGE_KILLS} SIGKILLs, {mid_merge} with a merge's segment staged, {added} notes written")
    assert mid_merge >= MERGE_KILLS // 3
    build_index(settings, real_embedder())
    generation = load_generation(settings.index_dir)
    # a write killed while saving its file leaves its hidden temporary, which the indexer skips
    kept = {path.name for path in settings.corpus_dir.iterdir() if not path.name.startswith(".")}
    assert set(generation.documents) == kept
    assert not list(settings.index_dir.glob(f"{MERGING}*")), "dead merges' staging folders are cleared"
