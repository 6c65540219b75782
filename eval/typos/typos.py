"""Typo tolerance, measured: misspelled variants of our own question sets, asked with and without
the keyword-side correction (``qa.search.spelling``).

Each question gets one typo (a swap of two neighbouring letters, or a dropped letter, never the
first) in one or two of its key words (keyword words of four letters or more), chosen by a seeded
random generator, so the variants are the same on every run. For each corpus and set it reports
R@1 and R@3 (a passage holding the gold span, as ``qa eval`` counts it) of hybrid and keyword
search, with the correction on and off, on the clean and the misspelled questions; the
correction's cost per question (the keyword words with and without it); how many clean
questions it changed at all, and how many misspelled ones it turned back into their clean
keyword words exactly.

    PYTHONPATH=. python eval/typos/typos.py --output eval/typos/typos.json
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from qa.core.config import SearchMode, Settings
from qa.core.protocols import Encoder
from qa.encoders.sbert import SentenceTransformerEncoder
from qa.evaluation.data import Question, load_question_set
from qa.index.build import build_index
from qa.index.generations import load_generation
from qa.search.searcher import Searcher
from qa.search.shards import LocalShards, Partition
from qa.search.spelling import MIN_LETTERS, fixable, raw_words
from qa.service.engine import open_searcher

ROOT = Path(__file__).resolve().parents[2]
SETS = {  # corpus folder: question sets over it
    "eval/docs/corpus": ["eval/docs/questions.jsonl"],
    "corpus": [
        "tests/data/article_questions.jsonl",
        "tests/data/article_dev_questions.jsonl",
        "tests/data/article_blind_questions.jsonl",
    ],
}
MODES: tuple[SearchMode, ...] = ("hybrid", "keyword")
SEED = 18
DEPTH = 3


def typo(word: str, rng: random.Random) -> str:
    """``word`` with two neighbouring letters swapped or one letter dropped (never the first)."""
    while True:
        position = rng.randrange(1, len(word) - 1)
        if rng.random() < 0.5:
            changed = word[:position] + word[position + 1] + word[position] + word[position + 2 :]
        else:
            changed = word[:position] + word[position + 1 :]
        if changed.lower() != word.lower():
            return changed


def misspelled(question: str, rng: random.Random) -> tuple[str, list[str]]:
    """The question with one or two key words misspelled, and the words changed."""
    keys = sorted({w for w in raw_words(question) if len(w) >= MIN_LETTERS and w.isalpha()})
    chosen = rng.sample(keys, min(len(keys), rng.choice([1, 2])))
    for word in chosen:
        match = re.search(rf"\b{re.escape(word)}\b", question, flags=re.IGNORECASE)
        if match:
            question = question[: match.start()] + typo(match.group(0), rng) + question[match.end() :]
    return question, chosen


def recall(searcher: Searcher, questions: list[tuple[str, str]], mode: SearchMode) -> dict[str, float]:
    passages = searcher.generation.passages
    ranks = []
    for text, gold in questions:
        rows = [row for row, _ in searcher.ranked_passages(text, DEPTH, mode)]
        ranks.append(next((rank for rank, row in enumerate(rows, 1) if gold in passages[row].text), None))
    return {
        f"R@{k}": round(sum(rank is not None and rank <= k for rank in ranks) / len(ranks), 3)
        for k in (1, DEPTH)
    }


def keyword_words(encoder: Encoder, partition: Partition, text: str, spelling: bool) -> list[str]:
    """A question's keyword words as the searcher makes them, with or without the correction."""
    partition.spelling = spelling
    return partition.keyword_words(text, fixable(encoder, text) if spelling else ())


def cost(encoder: Encoder, partition: Partition, texts: list[str]) -> dict[str, float]:
    """Milliseconds per question to make its keyword words, with and without the correction
    (with: the model's tokenizer asked which words may be typos, and those corrected)."""
    timings = {}
    for spelling in (False, True):
        keyword_words(encoder, partition, texts[0], spelling)  # the vocabulary's alphabet, read once
        started = time.perf_counter()
        for _ in range(3):
            for text in texts:
                keyword_words(encoder, partition, text, spelling)
        timings[spelling] = (time.perf_counter() - started) * 1000 / (3 * len(texts))
    partition.spelling = True
    return {"ms_without": round(timings[False], 3), "ms_with": round(timings[True], 3)}


def measure(searcher: Searcher, questions: list[Question], rng: random.Random) -> dict[str, Any]:
    answerable = [q for q in questions if q.answerable and q.gold]
    clean = [(q.question, q.gold or "") for q in answerable]
    variants = [misspelled(text, rng) for text, _ in clean]
    typos = [(text, gold) for (text, _), (_, gold) in zip(variants, clean, strict=True)]
    shards = searcher.shards
    assert isinstance(shards, LocalShards)
    [partition] = shards.partitions
    report: dict[str, Any] = {"questions": len(clean), "examples": [v[0] for v in variants[:5]]}
    for spelling in (False, True):
        partition.spelling = spelling
        for mode in MODES:
            key = f"{mode}, correction {'on' if spelling else 'off'}"
            report[key] = {
                "clean": recall(searcher, clean, mode),
                "misspelled": recall(searcher, typos, mode),
            }
    encoder = searcher.encoder
    changed = [
        text
        for text, _ in clean
        if keyword_words(encoder, partition, text, True) != keyword_words(encoder, partition, text, False)
    ]
    report["clean_questions_unchanged"] = f"{len(clean) - len(changed)}/{len(clean)}"
    report["clean_questions_changed"] = changed
    report["misspelled_corrected"] = sum(
        keyword_words(encoder, partition, text, True) == keyword_words(encoder, partition, meant, False)
        for (text, _), (meant, _) in zip(typos, clean, strict=True)
    )
    report["cost_clean"] = cost(encoder, partition, [text for text, _ in clean])
    report["cost_misspelled"] = cost(encoder, partition, [text for text, _ in typos])
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=ROOT / "eval" / "typos" / "typos.json")
    parser.add_argument(
        "--cache", type=Path, help="keep the index of each corpus in CACHE/<number> (updated, not rebuilt)"
    )
    arguments = parser.parse_args()
    encoder = SentenceTransformerEncoder()
    results: dict[str, Any] = {"seed": SEED, "depth": DEPTH}
    with tempfile.TemporaryDirectory() as scratch:
        for number, (corpus, sets) in enumerate(SETS.items()):
            folder = (arguments.cache or Path(scratch)) / str(number)
            settings = Settings(corpus_dir=ROOT / corpus, index_dir=folder).resolved()
            build_index(settings, encoder)
            searcher = open_searcher(load_generation(settings.index_dir), encoder, settings)
            for name in sets:
                rng = random.Random(f"{SEED}:{name}")
                results[name] = measure(searcher, load_question_set(ROOT / name), rng)
                print(name, json.dumps(results[name], indent=1), flush=True)
    arguments.output.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    costs = [
        r[c]["ms_with"] - r[c]["ms_without"]
        for r in results.values()
        if isinstance(r, dict)
        for c in ("cost_misspelled",)
    ]
    print(f"correction cost on misspelled questions: {statistics.mean(costs):.2f} ms per question (mean)")


if __name__ == "__main__":
    main()
