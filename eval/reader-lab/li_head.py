"""A learned late-interaction head over the word-piece vectors the service already has.

score(sentence) = a * sum_j w_j * max_k (q_j M) . s_k / sum_j w_j + b  [+ v . standardised features]

q_j: the question's word-piece vectors, s_k: the sentence's stored word-piece vectors (in passage
context, untouched), M: a learned 384x384 map applied to the question side only (initialised to the
identity, so it starts as the service's mean max-sim; any bilinear similarity can be written this
way), w_j = softplus(u . q_j + c): learned importance of each question piece. Optionally a linear
term over features.py's features, learned jointly (``--features``). The cost at question time is one
(pieces x 384) @ (384 x 384) product on top of the max-sim the service already computes.

    OMP_NUM_THREADS=1 python eval/reader-lab/li_head.py [--features] [--epochs 3] [--tag li_head]
"""

from __future__ import annotations

import argparse
import pickle
import random
import time
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from common import ARTEFACTS, CACHE, seed_everything
from features import Candidate, Passage


class LateInteractionHead(nn.Module):
    def __init__(self, dim: int = 384, n_features: int = 0) -> None:
        super().__init__()
        self.M = nn.Parameter(torch.eye(dim))
        self.u = nn.Parameter(torch.zeros(dim))
        self.c = nn.Parameter(torch.tensor(0.5413))  # softplus(c) = 1
        self.a = nn.Parameter(torch.tensor(10.0))
        self.b = nn.Parameter(torch.tensor(-6.0))
        self.register_buffer("f_mean", torch.zeros(n_features))
        self.register_buffer("f_std", torch.ones(n_features))
        self.v = nn.Parameter(torch.zeros(n_features))

    def forward(self, q_tokens: torch.Tensor, passages: Sequence[torch.Tensor],
                spans: Sequence[tuple[int, int, int]], features: torch.Tensor | None = None) -> torch.Tensor:
        """Logits for candidates given as (passage, first piece, last piece + 1)."""
        q = q_tokens @ self.M
        w = nn.functional.softplus(q_tokens @ self.u + self.c)
        sims = [q @ p.T for p in passages]
        rows = []
        for p, lo, hi in spans:
            rows.append(sims[p][:, lo:hi].max(dim=1).values if hi > lo else torch.zeros(len(q_tokens)))
        m = torch.stack(rows)  # candidates x question pieces
        out = self.a * (m @ w) / w.sum() + self.b
        if features is not None and len(self.v):
            out = out + ((features - self.f_mean) / self.f_std) @ self.v
        return out


def spans_of(passages: Sequence[Passage], candidates: Sequence[Candidate]) -> list[tuple[int, int, int]]:
    out = []
    for c in candidates:
        lo, hi = np.searchsorted(passages[c.passage].starts, (c.start, c.end))
        out.append((c.passage, int(lo), int(hi)))
    return out


class NumpyHead:
    """Inference without torch (what the service would run): logits per candidate."""

    def __init__(self, head: LateInteractionHead) -> None:
        self.M = head.M.detach().numpy().astype(np.float32)
        self.u = head.u.detach().numpy().astype(np.float32)
        self.c, self.a, self.b = (float(head.c.detach()), float(head.a.detach()), float(head.b.detach()))
        std = head.f_std.numpy()
        self.v = (head.v.detach().numpy() / std).astype(np.float32)
        self.v0 = float(-(head.f_mean.numpy() / std) @ head.v.detach().numpy())

    def __call__(self, q_tokens: np.ndarray, passages: Sequence[Passage], candidates: Sequence[Candidate],
                 features: np.ndarray | None = None) -> np.ndarray:
        q = np.asarray(q_tokens, dtype=np.float32)
        qm = q @ self.M
        w = np.logaddexp(0.0, q @ self.u + self.c)
        sims = [qm @ np.asarray(p.tokens, dtype=np.float32).T for p in passages]
        m = np.zeros((len(candidates), len(q)), dtype=np.float32)
        for i, (p, lo, hi) in enumerate(spans_of(passages, candidates)):
            if hi > lo:
                m[i] = sims[p][:, lo:hi].max(axis=1)
        out = self.a * (m @ w) / w.sum() + self.b
        if features is not None and len(self.v):
            out = out + features @ self.v + self.v0
        return out


def feature_rows(split: str) -> list[np.ndarray]:
    """features.py's rows per candidate set, from train_features.py's cache (same set order)."""
    z = np.load(CACHE / f"features_{split}.npz")
    bounds = np.flatnonzero(np.diff(z["set"])) + 1
    return np.split(z["X"], bounds)


def train(epochs: int = 3, seed: int = 0, lr: float = 1e-3, batch: int = 16, with_features: bool = False
          ) -> LateInteractionHead:
    from data import examples

    seed_everything(seed)
    rows = feature_rows("train") if with_features else None
    sets = []
    for k, ex in enumerate(examples("squad", "train", ("gold", "miss"))):
        sets.append((
            torch.from_numpy(np.asarray(ex.q_tokens, dtype=np.float32)),
            [torch.from_numpy(np.asarray(p.tokens, dtype=np.float32)) for p in ex.passages],
            spans_of(ex.passages, ex.candidates),
            torch.from_numpy(ex.labels.astype(np.float32)),
            torch.from_numpy(rows[k]) if rows is not None else None,
        ))
    print(f"{len(sets)} training sets", flush=True)
    head = LateInteractionHead(n_features=rows[0].shape[1] if rows is not None else 0)
    if rows is not None:
        allx = np.concatenate(rows)
        head.f_mean.copy_(torch.from_numpy(allx.mean(0)))
        head.f_std.copy_(torch.from_numpy(allx.std(0) + 1e-6))
    opt = torch.optim.Adam(head.parameters(), lr=lr)
    rng = random.Random(seed)
    t0 = time.time()
    for epoch in range(epochs):
        rng.shuffle(sets)
        total = 0.0
        for b in range(0, len(sets), batch):
            loss = torch.zeros(())
            for q, ps, spans, y, f in sets[b : b + batch]:
                logits = head(q, ps, spans, f)
                loss = loss + nn.functional.binary_cross_entropy_with_logits(logits, y)
                if y.sum() > 0:  # listwise: the positive against its set
                    loss = loss + nn.functional.cross_entropy(logits.unsqueeze(0), y.argmax().unsqueeze(0))
            loss = loss / batch
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss) * batch
            if (b // batch) % 100 == 0:
                print(f"epoch {epoch + 1}/{epochs} set {b}/{len(sets)} loss {total / (b + batch):.4f} "
                      f"({time.time() - t0:.0f}s)", flush=True)
    return head


def score_splits(head: LateInteractionHead, with_features: bool) -> dict[str, dict[int, np.ndarray]]:
    from data import examples

    fast = NumpyHead(head)
    out: dict[str, dict[int, np.ndarray]] = {}
    for split, (name, part, kinds) in {"squad_heldout": ("squad", "heldout", ("gold", "miss")),
                                       "wikiqa_test": ("wikiqa_test", "all", ("wikiqa",))}.items():
        rows = feature_rows(split) if with_features else None
        out[split] = {
            ex.set_index: fast(ex.q_tokens, ex.passages, ex.candidates, rows[k] if rows is not None else None)
            for k, ex in enumerate(examples(name, part, kinds))
        }
    return out


def load_head(tag: str = "li_head") -> LateInteractionHead:
    state = torch.load(ARTEFACTS / f"{tag}.pt")
    head = LateInteractionHead(n_features=len(state["v"]))
    head.load_state_dict({k: v.float() for k, v in state.items()})
    return head


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--features", action="store_true", help="add a linear term over features.py")
    parser.add_argument("--tag", default="li_head")
    args = parser.parse_args()
    torch.set_num_threads(1)
    t0 = time.time()
    head = train(epochs=args.epochs, with_features=args.features)
    seconds = time.time() - t0
    ARTEFACTS.mkdir(exist_ok=True)
    torch.save({k: v.detach().half() for k, v in head.state_dict().items()}, ARTEFACTS / f"{args.tag}.pt")
    print(f"trained in {seconds / 60:.1f} min; saved artefacts/{args.tag}.pt", flush=True)
    scores = {"train_seconds": seconds, **score_splits(load_head(args.tag), args.features)}
    with open(CACHE / f"{args.tag}_scores.pkl", "wb") as f:
        pickle.dump(scores, f)


if __name__ == "__main__":
    main()
