"""Feature readers: logistic regression and a small gradient-boosted model over features.py, trained
on SQuAD training articles (gold and miss candidate sets), plus the two unlearned baselines
(stand-alone sentence cosine; the service's late-interaction mean max-sim).

    OMP_NUM_THREADS=1 python eval/reader-lab/train_features.py

Writes cache/features_*.npz (feature matrices), artefacts/{lr,gbm}.pkl, artefacts/lr.json (the
logistic regression's weights with the standardisation folded in: the shippable form) and
cache/{cosine,maxsim,lr,gbm}_scores.pkl (raw scores per candidate set, for evaluate.py).
"""

from __future__ import annotations

import json
import pickle
import time
from typing import Any

import numpy as np

from common import ARTEFACTS, ATTRIBUTION, CACHE, seed_everything
from data import examples
from features import FEATURES, featurize

SPLITS = {
    "train": ("squad", "train", ("gold", "miss")),
    "squad_heldout": ("squad", "heldout", ("gold", "miss")),
    "wikiqa_test": ("wikiqa_test", "all", ("wikiqa",)),
}


def feature_table(split: str) -> dict[str, Any]:
    path = CACHE / f"features_{split}.npz"
    if path.exists():
        z = np.load(path)
        return {k: z[k] for k in z.files}
    name, part, kinds = SPLITS[split]
    rows, labels, sets, cos = [], [], [], []
    t0 = time.time()
    for n, ex in enumerate(examples(name, part, kinds)):
        rows.append(featurize(ex.question, ex.q_vector, ex.q_tokens, ex.passages, ex.candidates))
        labels.append(ex.labels)
        sets.append(np.full(len(ex.labels), ex.set_index))
        cos.append(ex.sentence_vectors @ ex.q_vector)
        if n % 1000 == 0:
            print(f"  features {split}: {n} sets ({time.time() - t0:.0f}s)", flush=True)
    table = {"X": np.concatenate(rows), "y": np.concatenate(labels), "set": np.concatenate(sets),
             "cos": np.concatenate(cos)}
    np.savez(path, **table)
    return table


def per_set(table: dict[str, Any], scores: np.ndarray) -> dict[int, np.ndarray]:
    out: dict[int, np.ndarray] = {}
    sets = table["set"]
    bounds = np.flatnonzero(np.diff(sets)) + 1
    for idx in np.split(np.arange(len(sets)), bounds):
        out[int(sets[idx[0]])] = scores[idx].astype(np.float32)
    return out


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def main() -> None:
    seed_everything(0)
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    tables = {split: feature_table(split) for split in SPLITS}

    train = tables["train"]
    print(f"train: {len(train['y'])} sentences, {int(train['y'].sum())} positive, {len(FEATURES)} features", flush=True)
    ms = FEATURES.index("ms_mean")
    models: dict[str, Any] = {}
    t0 = time.time()
    models["lr"] = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000)).fit(train["X"], train["y"])
    t_lr = time.time() - t0
    t0 = time.time()
    models["gbm"] = HistGradientBoostingClassifier(
        max_iter=300, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=40, l2_regularization=1.0,
        random_state=0,
    ).fit(train["X"], train["y"])
    t_gbm = time.time() - t0
    print(f"fitted lr in {t_lr:.1f}s, gbm in {t_gbm:.1f}s", flush=True)
    ARTEFACTS.mkdir(exist_ok=True)
    for tag, model in models.items():
        with open(ARTEFACTS / f"{tag}.pkl", "wb") as f:
            pickle.dump({"model": model, "features": FEATURES}, f)
    # the logistic regression as plain numbers (scaler folded in): what would ship, no pickle
    scaler, lr = models["lr"][0], models["lr"][1]
    weights = lr.coef_[0] / scaler.scale_
    bias = float(lr.intercept_[0] - (scaler.mean_ / scaler.scale_) @ lr.coef_[0])
    with open(ARTEFACTS / "lr.json", "w") as f:
        json.dump({"features": FEATURES, "weights": [float(w) for w in weights], "bias": bias,
                   "attribution": ATTRIBUTION}, f, indent=1)
    for tag in ("cosine", "maxsim", "lr", "gbm"):
        scores: dict[str, Any] = {"train_seconds": {"lr": t_lr, "gbm": t_gbm}.get(tag, 0.0)}
        for split in ("squad_heldout", "wikiqa_test"):
            t = tables[split]
            if tag == "cosine":
                raw = t["cos"]
            elif tag == "maxsim":
                raw = t["X"][:, ms]
            else:
                raw = logit(models[tag].predict_proba(t["X"])[:, 1])
            scores[split] = per_set(t, raw)
        with open(CACHE / f"{tag}_scores.pkl", "wb") as f:
            pickle.dump(scores, f)
    print("done", flush=True)


if __name__ == "__main__":
    main()
