"""Keyword statistics per segment, summed at query time, score exactly as one bm25s index over the
same live passages, tombstones included; a text without words indexes and scores nothing."""

from __future__ import annotations

import itertools
from pathlib import Path

import bm25s
import numpy as np

from qa.index.keyword import KeywordSegment, KeywordWriter, LiveSegment, scores, statistics, stemmer, words_of
from qa.lang.en import ENGLISH
from tests.conftest import ARTICLE

QUESTIONS = [
    "what did UNIDO announce?",
    "Where will the centre be housed?",
    "artificial intelligence cooperation cooperation",  # a repeated word counts twice, as in bm25s
    "who wrote this?",
    "zzzz unknownword",
]


def paragraphs() -> list[str]:
    texts = [p.strip() for p in ARTICLE.read_text(encoding="utf-8").split("\n") if p.strip()]
    return [*texts, "!!! \x01 ??", ""]  # two texts with no keyword tokens at all


def segment(folder: Path, texts: list[str]) -> KeywordSegment:
    writer = KeywordWriter()
    writer.add(texts[: len(texts) // 2])
    writer.add(texts[len(texts) // 2 :])  # written in two batches, as a build does
    shape = writer.save(folder)
    return KeywordSegment.load(folder, shape, len(texts))


def reference(texts: list[str], question: str) -> np.ndarray:
    """One bm25s index over ``texts``, as the keyword index was before segments."""
    tokens = bm25s.tokenize(texts, stopwords=ENGLISH.stopwords, stemmer=stemmer(), show_progress=False)
    retriever = bm25s.BM25()
    retriever.index(tokens, show_progress=False)
    words = words_of([question])[0]
    ids = retriever.get_tokens_ids(words)
    return np.asarray(retriever.get_scores_from_ids(ids) if ids else np.zeros(len(texts)))


def test_segments_with_tombstones_score_as_one_index_over_the_live_passages(tmp_path: Path) -> None:
    texts = paragraphs()
    cuts = [0, 7, 8, 20, len(texts)]  # segments of 7, 1, 12 and the rest
    parts = [segment(tmp_path / str(i), texts[a:b]) for i, (a, b) in enumerate(itertools.pairwise(cuts))]
    live = [np.ones(len(part.lengths), dtype=bool) for part in parts]
    live[0][[1, 4]] = False  # tombstones: deleted rows count in no statistic
    live[2][0] = False
    segments: list[LiveSegment] = list(zip(parts, live, strict=True))
    kept = [
        t
        for part_live, a in zip(live, cuts, strict=False)
        for t, ok in zip(texts[a:], part_live, strict=False)
        if ok
    ]
    for question in QUESTIONS:
        words = words_of([question])[0]
        stats = statistics(segments, words)
        summed = np.concatenate([scores(s, stats, words)[s[1]] for s in segments])
        np.testing.assert_allclose(summed, reference(kept, question), rtol=0, atol=1e-5)
        deleted = np.concatenate([scores(s, stats, words)[~s[1]] for s in segments])
        assert not deleted.any()


def test_a_text_without_words_is_indexed_and_found_by_nothing(tmp_path: Path) -> None:
    part = segment(tmp_path, ["\x00\x01 !!! ---", "§§"])
    live = np.ones(2, dtype=bool)
    words = words_of(["what?"])[0]
    assert not scores((part, live), statistics([(part, live)], words), words).any()
    assert part.lengths.tolist() == [0, 0] and not part.vocabulary
