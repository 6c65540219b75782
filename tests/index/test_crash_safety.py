"""A build killed at any point leaves the last published generation loadable and correct."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from qa.index.build import build_index
from qa.index.generations import current_generation, load_generation
from qa.service.engine import open_searcher
from tests.conftest import article_copy, real_embedder

KILLS = 6


def test_sigkill_during_builds_never_breaks_the_served_generation(tmp_path: Path) -> None:
    settings = article_copy(tmp_path)
    corpus = settings.corpus_dir
    published = build_index(settings, real_embedder()).generation
    env = {**os.environ, "QA_CORPUS_DIR": str(corpus), "QA_INDEX_DIR": str(settings.index_dir)}
    rng = random.Random(5)
    for attempt in range(KILLS):
        (corpus / f"note-{attempt}.md").write_text(
            f"# Note {attempt}\n\nThe ferry timetable changes in week {attempt}.\n"
        )
        build = subprocess.Popen(
            [sys.executable, "-m", "qa", "index", "--full"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.5, 9.0))  # model load, parse, embed, write, publish: anywhere
        build.send_signal(signal.SIGKILL)
        build.wait()
        name = current_generation(settings.index_dir)
        generation = load_generation(settings.index_dir)  # never half-written
        assert name == generation.name
        if name != published:  # the kill came after the publish: the new one must be complete
            assert f"note-{attempt}.md" in generation.documents
            published = name
        hit = open_searcher(generation, real_embedder()).search("what did UNIDO announce?", 1).hits[0]
        document = generation.documents[hit.citation.doc_id]
        assert document.text[hit.citation.start : hit.citation.end] == hit.passage.text
        assert "UNIDO" in hit.passage.text
    # builds still work afterwards, whatever the kills left behind
    assert build_index(settings, real_embedder()).documents == 1 + KILLS
    assert not list(settings.index_dir.glob(".tmp-*")), "dead builds' staging folders are cleared"
