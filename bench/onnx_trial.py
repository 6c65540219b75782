"""Issue #5 lever: the bundled model's transformer run by ONNX Runtime instead of torch, measured.

No optimum (its onnxruntime extra would downgrade transformers): the BertModel inside the
bundled all-MiniLM-L6-v2 is exported with ``torch.onnx.export`` (inputs input_ids,
attention_mask, token_type_ids; output last_hidden_state; batch and sequence axes dynamic) and run
by an ``onnxruntime.InferenceSession`` (CPUExecutionProvider, 2 intra-op threads, every graph
optimization on, threads that wait passively). The contenders:

- ``torch``: ``SentenceTransformerEncoder._forward``, the model's own preprocessing and forward
  pass (what the query path and the indexer call);
- ``onnx (qa)``: the same ``_forward`` with ``backend="onnx"`` (qa/encoders/onnx_runtime.py): the
  TorchScript exporter (``dynamo=False``) over the model with eager attention, then
  onnxruntime.transformers' BERT optimizer, which fuses the embeddings and every attention block
  (EmbedLayerNormalization, 6 Attention, 12 SkipLayerNormalization, 6 BiasGelu); the model's own
  tokenizer before and its own pooling after;
- the exports it was chosen over, each run by a bare session with numpy mean pooling:
  ``dynamo`` (the torch.export-based exporter, the default since torch 2.9, SDPA attention),
  ``legacy`` (TorchScript, SDPA attention), ``legacy+fused`` and ``dynamo+fused`` (those through
  the same optimizer, which fuses the layer norms and GELUs but not SDPA's attention pattern).

Each round times every contender on each workload, contenders in a shuffled order per round and
workload, so that drift on a shared machine hits all of them alike: one short question (each of
bench/common.py's QUESTIONS once), a batch of 32 questions (QUESTIONS four times over), a batch of
64 SciFact abstracts cut to 200 word pieces, and, for torch and onnx (qa) only, one question
through the whole in-process hybrid search over the article (``Searcher.search``). Agreement with
torch is reported for the sentence vectors and for the L2-normalised word-piece vectors (special
tokens and padding dropped, as ``embed_with_tokens`` does), over every workload plus a batch of
mixed lengths (padding) and a text longer than the model's window.

With ``--http SECONDS``, the same article is then served by a real ``qa serve`` per backend
(answer cache off; the index torch built serves both) under 1 and 32 keep-alive clients from
bench/load.py for SECONDS each, in two passes in opposite orders.

usage: onnx_trial.py [ROUNDS] [--http SECONDS] [--scifact PATH] [--variants a,b]   (ROUNDS default 12)
Skips (exit 0) when onnxruntime is not installed. Writes bench/results/onnx.json and .md.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from common import ARTICLE, CACHE_OFF, QUESTIONS, ROOT, machine, qa_server, write_results

from qa.core.config import Settings
from qa.encoders.sbert import SentenceTransformerEncoder
from qa.index.build import build_index, parameters_for
from qa.index.generations import load_generation
from qa.service.engine import open_searcher

INPUTS = ["input_ids", "attention_mask", "token_type_ids"]
VARIANTS = ["dynamo", "dynamo+fused", "legacy", "legacy+fused"]
SCIFACT = ROOT.parent / "shared" / "data" / "scifact"
PASSAGE_PIECES = 200
Forward = Callable[[list[str]], tuple[np.ndarray, np.ndarray, np.ndarray]]


class Encoder:
    """One ONNX file in a bare InferenceSession, with the model's tokenizer and numpy mean pooling."""

    def __init__(self, path: Path, tokenizer: Any, max_length: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 2
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.tokenizer = tokenizer
        self.max_length = max_length

    def forward(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(L2-normalised sentence vectors, last_hidden_state, attention_mask) for one batch."""
        features = self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="np"
        )
        feed = {name: features[name].astype(np.int64) for name in INPUTS}
        (hidden,) = self.session.run(["last_hidden_state"], feed)
        mask = feed["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        return normalised(pooled), hidden, feed["attention_mask"]


def embedder_forward(embedder: SentenceTransformerEncoder) -> Forward:
    """``embedder._forward`` over one batch, as (sentence vectors, hidden states, attention mask)."""

    def forward(texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        vectors, word_pieces = embedder._forward(texts, len(texts))
        # padded back into a batch, [CLS] and [SEP] as zero rows: what ``pieces`` reads
        width = max(len(found) for found in word_pieces) + 2
        hidden = np.zeros((len(texts), width, vectors.shape[1]), dtype=np.float32)
        mask = np.zeros((len(texts), width), dtype=np.int64)
        for i, found in enumerate(word_pieces):
            hidden[i, 1 : 1 + len(found)] = found
            mask[i, : len(found) + 2] = 1
        return normalised(vectors), hidden, mask

    return forward


def normalised(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)


def export(embedder: SentenceTransformerEncoder, folder: Path, variant: str) -> tuple[Path, float]:
    """The ONNX file for ``variant`` (SDPA attention, as loaded) and the seconds it took to make."""
    import torch

    bert = embedder.sentence_transformer[0].auto_model
    started = time.perf_counter()

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    features = embedder.sentence_transformer.preprocess(["an example to trace", "a second one"])
    example = tuple(features[name] for name in INPUTS)
    raw = folder / f"{variant.replace('+', '-')}.raw.onnx"
    if variant.startswith("dynamo"):
        batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence", max=512)
        torch.onnx.export(
            LastHiddenState().eval(), example, str(raw), dynamo=True, input_names=INPUTS,
            output_names=["last_hidden_state"], optimize=True, external_data=False,
            dynamic_shapes={name: {0: batch, 1: sequence} for name in INPUTS},
        )  # fmt: skip
    else:
        torch.onnx.export(
            LastHiddenState().eval(), example, str(raw), dynamo=False, opset_version=17,
            input_names=INPUTS, output_names=["last_hidden_state"],
            dynamic_axes={name: {0: "batch", 1: "sequence"} for name in [*INPUTS, "last_hidden_state"]},
        )  # fmt: skip
    if not variant.endswith("+fused"):
        return raw, time.perf_counter() - started
    from onnxruntime.transformers.optimizer import optimize_model

    config = bert.config
    optimized = optimize_model(
        str(raw), model_type="bert", num_heads=config.num_attention_heads,
        hidden_size=config.hidden_size, opt_level=1, use_gpu=False,
    )  # fmt: skip
    fused = folder / f"{variant.replace('+', '-')}.onnx"
    optimized.save_model_to_file(str(fused))
    print(f"{variant}: fused { ({k: v for k, v in optimized.get_fused_operator_statistics().items() if v}) }")
    return fused, time.perf_counter() - started


def pieces(hidden: np.ndarray, mask: np.ndarray) -> list[np.ndarray]:
    """Each text's normalised word-piece vectors, [CLS], [SEP] and padding dropped."""
    lengths = mask.sum(axis=1)
    return [normalised(hidden[i, 1 : int(lengths[i]) - 1]) for i in range(len(hidden))]


def agreement(expected: Forward, forward: Forward, batches: list[list[str]]) -> dict[str, float]:
    """Largest absolute difference and smallest cosine against torch, over every batch."""
    sentence_diff, sentence_cos, piece_diff, piece_cos = 0.0, 1.0, 0.0, 1.0
    for texts in batches:
        want, want_hidden, want_mask = expected(texts)
        got, got_hidden, got_mask = forward(texts)
        sentence_diff = max(sentence_diff, float(np.abs(want - got).max()))
        sentence_cos = min(sentence_cos, float((normalised(want) * normalised(got)).sum(axis=1).min()))
        expected_pieces, got_pieces = pieces(want_hidden, want_mask), pieces(got_hidden, got_mask)
        for wanted, have in zip(expected_pieces, got_pieces, strict=True):
            assert wanted.shape == have.shape, (wanted.shape, have.shape)
            piece_diff = max(piece_diff, float(np.abs(wanted - have).max()))
            piece_cos = min(piece_cos, float((wanted * have).sum(axis=1).min()))
    return {
        "sentence_max_abs_diff": sentence_diff,
        "sentence_min_cosine": sentence_cos,
        "piece_max_abs_diff": piece_diff,
        "piece_min_cosine": piece_cos,
    }


def passages(embedder: SentenceTransformerEncoder, scifact: Path, count: int) -> list[str]:
    """``count`` SciFact abstracts of at least PASSAGE_PIECES word pieces, cut to that many."""
    texts = []
    with (scifact / "corpus.jsonl").open() as lines:
        for line in lines:
            text = json.loads(line)["text"]
            if embedder.count_tokens([text])[0] >= PASSAGE_PIECES:
                texts.append(embedder.truncate(text, PASSAGE_PIECES))
            if len(texts) == count:
                return texts
    raise SystemExit(f"fewer than {count} abstracts of {PASSAGE_PIECES} word pieces in {scifact}")


def article_index(work: Path, embedder: SentenceTransformerEncoder) -> Settings:
    """Settings over a copy of the article in ``work``, its index built (by torch)."""
    corpus = work / "corpus"
    corpus.mkdir()
    (corpus / ARTICLE.name).write_bytes(ARTICLE.read_bytes())
    settings = Settings(corpus_dir=corpus, index_dir=work / "index", keep_generations=1).resolved()
    build_index(settings, embedder, full=True)
    return settings


def over_http(settings: Settings, onnx_dir: Path, seconds: float, work: Path) -> dict[str, Any]:
    """A real ``qa serve`` per backend (answer cache off), 1 and 32 clients from bench/load.py;
    two passes, the second in the other order. Cold start: spawn to /readyz, export cached."""
    from serving import load

    results: dict[str, Any] = {"torch": [], "onnx": []}
    for order in (["torch", "onnx"], ["onnx", "torch"]):
        for backend in order:
            started = time.monotonic()
            env = {"QA_BACKEND": backend, "QA_CACHE_SIZE": "0", "QA_ONNX_DIR": str(onnx_dir)}
            with qa_server(settings.corpus_dir, settings.index_dir, **env) as base:
                row: dict[str, Any] = {"ready_s": round(time.monotonic() - started, 2)}
                for clients in (1, 32):
                    row[f"c{clients}"] = load(base, clients, seconds, "/query?k=5&q={q}", work)
            results[backend].append(row)
            print(backend, results[backend][-1], flush=True)
    return results


def timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


Workload = tuple[dict[str, Callable[[Any], Any]], list[Any]]


def measure(workloads: dict[str, Workload], rounds: int) -> dict[str, Any]:
    """ms per call and the per-round ratio to torch, per workload and contender."""
    times = {w: {name: [] for name in contenders} for w, (contenders, _) in workloads.items()}
    ratios = {w: {name: [] for name in contenders} for w, (contenders, _) in workloads.items()}
    shuffler = random.Random(5)
    for number in range(rounds):
        for workload, (contenders, calls) in workloads.items():
            order = list(contenders)
            shuffler.shuffle(order)
            this_round: dict[str, float] = {}
            for name in order:
                action = contenders[name]
                samples = [timed(lambda a=action, c=call: a(c)) for call in calls]  # type: ignore[misc]
                times[workload][name].extend(samples)
                this_round[name] = statistics.median(samples)
            for name in contenders:  # within one round: what drift on the machine cannot bias
                ratios[workload][name].append(this_round[name] / this_round["torch"])
        print(f"round {number + 1}/{rounds}", flush=True)
    return {
        "times_ms": {
            workload: {
                name: {"median": round(statistics.median(s), 2), "min": round(min(s), 2), "n": len(s)}
                for name, s in by_contender.items()
            }
            for workload, by_contender in times.items()
        },
        "ratio_to_torch": {
            workload: {name: round(statistics.median(r), 3) for name, r in by_contender.items()}
            for workload, by_contender in ratios.items()
        },
    }


def table(results: dict[str, Any]) -> str:
    lines = [
        "| workload | contender | median ms | min ms | median of per-round ratios to torch |",
        "| --- | --- | --- | --- | --- |",
    ]
    for workload, by_contender in results["times_ms"].items():
        for name, samples in by_contender.items():
            ratio = results["ratio_to_torch"][workload][name]
            lines.append(f"| {workload} | {name} | {samples['median']} | {samples['min']} | {ratio:.3f}× |")
    lines += [
        "",
        "| against torch | export s | sentence max abs diff | sentence 1 − min cos | piece max abs diff "
        "| piece 1 − min cos |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, row in results["agreement"].items():
        lines.append(
            f"| {name} | {results['export_seconds'][name]:.1f} | {row['sentence_max_abs_diff']:.1e} "
            f"| {1 - row['sentence_min_cosine']:.1e} | {row['piece_max_abs_diff']:.1e} "
            f"| {1 - row['piece_min_cosine']:.1e} |"
        )
    if results.get("http"):
        lines += [
            "",
            "| over HTTP, `qa serve`, cache off | pass | ready s | c=1 p50 ms | c=1 p95 ms | c=1 req/s "
            "| c=32 p50 ms | c=32 req/s |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for backend, passes in results["http"].items():
            for number, row in enumerate(passes, 1):
                one, many = row["c1"], row["c32"]
                lines.append(
                    f"| {backend} | {number} | {row['ready_s']} | {one['p50']} | {one['p95']} | {one['rps']} "
                    f"| {many['p50']} | {many['rps']} |"
                )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("rounds", nargs="?", type=int, default=12)
    parser.add_argument("--scifact", type=Path, default=SCIFACT)
    parser.add_argument("--http", type=float, default=0, help="seconds per HTTP load level (0: none)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="other exports ('' for none)")
    arguments = parser.parse_args()
    if any(importlib.util.find_spec(name) is None for name in ("onnxruntime", "onnx")):
        print("skipping the ONNX trial: onnxruntime and onnx are not installed (pip install -e '.[onnx]')")
        return
    import onnxruntime

    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        embedder = SentenceTransformerEncoder(backend="torch")  # the reference the trial measures against
        started = time.perf_counter()
        onnx = SentenceTransformerEncoder(backend="onnx", onnx_dir=work / "onnx")
        export_seconds = {"onnx (qa)": time.perf_counter() - started}  # the whole load, export included
        model = embedder.sentence_transformer
        forwards = {"torch": embedder_forward(embedder), "onnx (qa)": embedder_forward(onnx)}
        for variant in filter(None, arguments.variants.split(",")):
            path, export_seconds[variant] = export(embedder, work, variant)
            forwards[variant] = Encoder(path, model.tokenizer, int(model.max_seq_length)).forward

        abstracts = passages(embedder, arguments.scifact, 64)
        batches = {
            "1 question": [[question] for question in QUESTIONS],
            "32 questions": [QUESTIONS * 4],
            f"64 passages of {PASSAGE_PIECES} pieces": [abstracts],
        }
        mixed = [*QUESTIONS, *abstracts[:8], "word " * 400]  # padding, and more than the window
        checks = [batch for calls in batches.values() for batch in calls] + [mixed]
        agreements = {
            name: agreement(forwards["torch"], forward, checks)
            for name, forward in forwards.items()
            if name != "torch"
        }
        print(json.dumps(agreements, indent=1))

        settings = article_index(work, embedder)
        generation = load_generation(settings.index_dir, parameters_for(settings, embedder))
        searching = {
            "torch": open_searcher(generation, embedder),
            "onnx (qa)": open_searcher(generation, onnx),
        }
        workloads: dict[str, Workload] = {name: (dict(forwards), calls) for name, calls in batches.items()}
        workloads["1 question, hybrid search"] = (
            {name: lambda q, s=searcher: s.search(q, 5, "hybrid") for name, searcher in searching.items()},
            QUESTIONS,
        )
        for contenders, calls in workloads.values():  # warm-up: first calls allocate
            for action in contenders.values():
                action(calls[0])
        measured = measure(workloads, arguments.rounds)
        http = over_http(settings, work / "onnx", arguments.http, work) if arguments.http > 0 else None
    results = {
        "machine": {**machine(), "onnxruntime": onnxruntime.__version__},
        "rounds": arguments.rounds,
        **measured,
        "agreement": agreements,
        "export_seconds": {name: round(seconds, 1) for name, seconds in export_seconds.items()},
        "http": http,
    }
    write_results("onnx", results, table(results), CACHE_OFF)


if __name__ == "__main__":
    main()
