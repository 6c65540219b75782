"""Latency of reading one question, in process: p50/p95 ms over real candidate sets (held-out SQuAD
gold sets: 3 passages, ~12 sentences; WikiQA test: one page, ~10 sentences).

    OMP_NUM_THREADS=1 python eval/reader-lab/latency.py [--threads 2] [--n 100]

(numpy's small products run on one thread, as in the service; torch and ONNX Runtime get --threads)

Wall time and process CPU time (all threads) are both recorded: the machine is shared, and under
load the wall time mostly measures waiting for a core. Measured from what the service has (question vectors and word pieces, stored passage word pieces in
float16, sentence texts) to one probability per candidate. The cross-encoder is timed with LoRA folded
into the weights, in torch and in ONNX Runtime (exported like qa/onnx_backend.py: TorchScript
exporter, eager attention, BERT fusion).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from common import ARTEFACTS, HERE
from data import Example, examples
from features import featurize
from reader import cross_model, load_reader


def timed(fn: Callable[[Example], Any], exs: list[Example], repeat: int = 3) -> dict[str, float]:
    """Wall ms per question: p50/p95 of every run, and of each question's best of ``repeat`` runs (on a
    shared, loaded machine the best run is the closest to the time on an idle one); process CPU ms."""
    for ex in exs[:10]:
        fn(ex)  # warm up
    times = np.zeros((repeat, len(exs)))
    cpu = np.zeros((repeat, len(exs)))
    for r in range(repeat):
        for i, ex in enumerate(exs):
            t, c = time.perf_counter(), time.process_time()
            fn(ex)
            times[r, i] = (time.perf_counter() - t) * 1000
            cpu[r, i] = (time.process_time() - c) * 1000
    best = times.min(axis=0)
    return {"p50_ms": float(np.percentile(times, 50)), "p95_ms": float(np.percentile(times, 95)),
            "best_p50_ms": float(np.percentile(best, 50)), "best_p95_ms": float(np.percentile(best, 95)),
            "cpu_p50_ms": float(np.percentile(cpu, 50)), "cpu_p95_ms": float(np.percentile(cpu, 95)),
            "n": len(exs), "repeat": repeat}


def onnx_cross(model: Any, threads: int) -> Callable[[list[str], list[str]], np.ndarray]:
    import onnxruntime
    import torch

    class Scorer(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.model({"input_ids": input_ids, "attention_mask": attention_mask,
                               "token_type_ids": token_type_ids})

    # the maxsim readout compares ids with [CLS]/[SEP]: traced as constants, fine

    example = model.encode(["an example question"], ["and an example sentence that answers"])
    target = Path(tempfile.mkdtemp()) / "cross.onnx"
    model.encoder.set_attn_implementation("eager")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Scorer().eval(), tuple(example[n] for n in names), str(target), dynamo=False,
                          opset_version=17, input_names=names, output_names=["logits"],
                          dynamic_axes={**{n: {0: "batch", 1: "sequence"} for n in names}, "logits": {0: "batch"}})
    from onnxruntime.transformers.optimizer import optimize_model

    optimize_model(str(target), model_type="bert", num_heads=12, hidden_size=384, opt_level=1,
                   use_gpu=False).save_model_to_file(str(target))
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = onnxruntime.InferenceSession(str(target), options, providers=["CPUExecutionProvider"])

    def score(questions: list[str], sentences: list[str]) -> np.ndarray:
        feats = model.tokenizer(questions, sentences, return_tensors="np", padding=True,
                                truncation="only_second", max_length=model.max_length)
        return session.run(["logits"], {n: feats[n].astype(np.int64) for n in names})[0]

    return score


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--readers", default="lr,gbm,li_head,li_feat,cross_lora_ms")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    sets = {
        "squad_heldout_gold": [ex for ex in examples("squad", "heldout", ("gold",))][: args.n],
        "wikiqa_test": [ex for ex in examples("wikiqa_test", "all", ("wikiqa",))][: args.n],
    }
    readers: dict[str, Callable[[Example], Any]] = {}
    readers["features.py alone (feature extraction, for scale)"] = lambda ex: featurize(
        ex.question, ex.q_vector, ex.q_tokens, ex.passages, ex.candidates)[:, 0]
    for tag in args.readers.split(","):
        if not (ARTEFACTS / f"{tag}.calibration.json").exists():
            continue
        reader = load_reader(tag)
        readers[f"{tag}" + (" (torch)" if tag.startswith("cross") else "")] = (
            lambda ex, r=reader: r.read(ex.question, ex.q_vector, ex.q_tokens, ex.passages, ex.candidates))
        if tag.startswith("cross"):
            score = onnx_cross(cross_model(tag), args.threads)
            readers[f"{tag} (ONNX Runtime)"] = lambda ex, score=score: score(
                [ex.question] * len(ex.sentences), ex.sentences)
    load = os.getloadavg()
    path = HERE / f"latency_{args.threads}t.json"
    out: dict[str, Any] = json.load(open(path)) if path.exists() else {}  # earlier runs' readers kept
    out.update({"threads": args.threads, "loadavg_at_start": load})
    for set_name, exs in sets.items():
        out.setdefault(set_name, {})["mean_candidates"] = float(np.mean([len(ex.sentences) for ex in exs]))
        for name, fn in readers.items():
            out[set_name][name] = timed(fn, exs)
            print(set_name, name, out[set_name][name], flush=True)
    out["loadavg_at_end"] = os.getloadavg()
    with open(path, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
