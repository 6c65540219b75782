"""Train the LoRA cross-encoder reader on SQuAD training articles (held-out articles excluded), then
score the held-out SQuAD sets and WikiQA test (raw logits, calibrated later by calibrate.py).

    OMP_NUM_THREADS=1 python eval/reader-lab/train_cross.py  # defaults: 9,000 pairs, LoRA r=16 on layers 3-5, 1 thread

Pairs: per training question, its positive sentence (if answerable) + the hardest negative by the
service's late-interaction score + one random negative from the same candidate set (impossible
questions: the two hardest of their own paragraph + one random). One epoch, AdamW, linear decay.
Writes artefacts/cross_lora.pt (float16 adapters + head) and cache/cross_scores.pkl.
"""

from __future__ import annotations

import argparse
import pickle
import random
import time

import numpy as np
import torch

from common import ARTEFACTS, CACHE, model_path, seed_everything
from cross import CrossReader, describe
from data import examples
from features import featurize


HEAD = ("head", "scale", "shift")


def training_pairs(seed: int) -> list[tuple[str, str, float]]:
    rng = random.Random(seed)
    pairs: list[tuple[str, str, float]] = []
    for ex in examples("squad", "train", ("gold",)):
        X = featurize(ex.question, ex.q_vector, ex.q_tokens, ex.passages, ex.candidates)
        ms = X[:, 0]  # ms_mean: the service's late-interaction score
        pos = np.flatnonzero(ex.labels == 1)
        neg = [int(i) for i in np.argsort(-ms) if ex.labels[i] == 0]
        chosen = [(int(i), 1.0) for i in pos]
        hard = neg[:1] if len(pos) else neg[:2]
        chosen += [(i, 0.0) for i in hard]
        rest = [i for i in neg if i not in hard]
        if rest:
            chosen.append((rng.choice(rest), 0.0))
        pairs += [(ex.question, ex.sentences[i], y) for i, y in chosen]
    rng.shuffle(pairs)
    return pairs


def score_sets(model: CrossReader, name: str, split: str, kinds: tuple[str, ...]) -> dict[int, np.ndarray]:
    """Logits per set index, scoring each distinct (question, sentence) pair once."""
    exs = list(examples(name, split, kinds))
    key: dict[tuple[str, str], int] = {}
    for ex in exs:
        for s in ex.sentences:
            key.setdefault((ex.question, s), len(key))
    pairs = list(key)
    t0 = time.time()
    out = np.zeros(len(pairs), dtype=np.float32)
    step = 512
    for b in range(0, len(pairs), step):
        chunk = pairs[b : b + step]
        out[b : b + len(chunk)] = model.logits([q for q, _ in chunk], [s for _, s in chunk]).numpy()
        print(f"  scoring {name}/{split}: {b + len(chunk)}/{len(pairs)} pairs ({time.time() - t0:.0f}s)", flush=True)
    return {ex.set_index: out[[key[(ex.question, s)] for s in ex.sentences]] for ex in exs}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--head-lr", type=float, default=1e-2)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--max-pairs", type=int, default=9000, help="cap on training pairs (0: all)")
    parser.add_argument("--layers", default="3,4,5", help="transformer layers that get LoRA adapters")
    parser.add_argument("--max-length", type=int, default=80)
    parser.add_argument("--readout", default="mean", choices=("mean", "maxsim"))
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--tag", default="cross_lora")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    t_start = time.time()
    pairs = training_pairs(args.seed)
    if args.max_pairs:
        pairs = pairs[: args.max_pairs]
    print(f"{len(pairs)} training pairs, {sum(y for *_, y in pairs):.0f} positive", flush=True)
    model = CrossReader(model_path(), rank=args.rank, alpha=2.0 * args.rank, max_length=args.max_length,
                        layers=[int(i) for i in args.layers.split(",")], readout=args.readout)
    print(describe(model), flush=True)
    prior = sum(y for *_, y in pairs) / len(pairs)
    if args.readout == "mean":
        with torch.no_grad():
            model.head.bias.fill_(float(np.log(prior / (1 - prior))))
            model.head.weight.normal_(0.0, 0.02)
    adapters = [p for n, p in model.named_parameters() if p.requires_grad and n.split(".")[0] not in HEAD]
    heads = [p for n, p in model.named_parameters() if p.requires_grad and n.split(".")[0] in HEAD]
    opt = torch.optim.AdamW(
        [{"params": adapters, "lr": args.lr}, {"params": heads, "lr": args.head_lr}],
        weight_decay=0.01,
    )
    per_epoch = (len(pairs) + args.batch - 1) // args.batch
    steps = per_epoch * args.epochs
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 50) * max(0.0, 1 - s / steps))
    loss_fn = torch.nn.BCEWithLogitsLoss()
    model.train()
    t0, running = time.time(), 0.0
    for step in range(steps):
        if step and step % per_epoch == 0:
            random.Random(args.seed + step).shuffle(pairs)
        at = step % per_epoch
        chunk = pairs[at * args.batch : (at + 1) * args.batch]
        batch = model.encode([q for q, _, _ in chunk], [s for _, s, _ in chunk])
        loss = loss_fn(model(batch), torch.tensor([y for *_, y in chunk]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        running = 0.98 * running + 0.02 * float(loss) if step else float(loss)
        if step % 20 == 0 or step == steps - 1:
            rate = (time.time() - t0) / (step + 1)
            print(f"step {step + 1}/{steps} loss {running:.4f} {rate:.2f}s/step eta {rate * (steps - step - 1) / 60:.1f} min",
                  flush=True)
    train_s = time.time() - t_start
    model.eval()
    ARTEFACTS.mkdir(exist_ok=True)
    path = ARTEFACTS / f"{args.tag}.pt"
    torch.save(model.learned_state(), path)
    print(f"saved {path} ({path.stat().st_size / 1e6:.2f} MB); training {train_s / 60:.1f} min", flush=True)
    scores = {
        "squad_heldout": score_sets(model, "squad", "heldout", ("gold", "miss")),
        "wikiqa_test": score_sets(model, "wikiqa_test", "all", ("wikiqa",)),
        "train_seconds": train_s,
    }
    with open(CACHE / f"{args.tag}_scores.pkl", "wb") as f:
        pickle.dump(scores, f)
    print(f"done ({(time.time() - t_start) / 60:.1f} min)", flush=True)


if __name__ == "__main__":
    main()
