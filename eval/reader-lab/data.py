"""Loading the prepared candidate sets (prep.py) as reader inputs."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from common import CACHE, HELD_OUT_ARTICLES
from features import Candidate, Passage


@lru_cache(maxsize=4)
def load(name: str) -> dict[str, Any]:
    with open(CACHE / f"{name}.pkl", "rb") as f:
        return pickle.load(f)


@dataclass
class Example:
    """One question's candidate set, ready for a reader."""

    set_index: int
    kind: str
    question: str
    q_vector: np.ndarray
    q_tokens: np.ndarray
    passages: list[Passage]
    candidates: list[Candidate]
    sentences: list[str]
    contexts: list[str]  # each sentence's passage text
    labels: np.ndarray
    sentence_vectors: np.ndarray  # stand-alone sentence vectors: the cosine baseline only
    article: str


def examples(name: str, split: str = "all", kinds: tuple[str, ...] = ("gold", "miss", "wikiqa")) -> Iterator[Example]:
    """``split``: "train" / "heldout" (SQuAD articles) or "all"."""
    store = load(name)
    P, S, Q = store["passages"], store["sentences"], store["questions"]
    for k, st in enumerate(store["sets"]):
        if st["kind"] not in kinds:
            continue
        qi = st["q"]
        article = Q["article"][qi] if "article" in Q else ""
        if split == "train" and article in HELD_OUT_ARTICLES:
            continue
        if split == "heldout" and article not in HELD_OUT_ARTICLES:
            continue
        sent = st["sent"]
        order = list(dict.fromkeys(int(S["passage"][s]) for s in sent))
        local = {p: i for i, p in enumerate(order)}
        passages = [Passage(P["text"][p], P["tokens"][p], P["starts"][p]) for p in order]
        cands = [Candidate(local[int(S["passage"][s])], int(S["start"][s]), int(S["end"][s])) for s in sent]
        yield Example(
            set_index=k,
            kind=st["kind"],
            question=Q["text"][qi],
            q_vector=Q["vector"][qi],
            q_tokens=Q["tokens"][qi],
            passages=passages,
            candidates=cands,
            sentences=[S["text"][s] for s in sent],
            contexts=[P["text"][int(S["passage"][s])] for s in sent],
            labels=st["label"].astype(np.int64),
            sentence_vectors=S["vector"][sent],
            article=article,
        )
