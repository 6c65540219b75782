"""The embedding model's transformer run by ONNX Runtime: exported once from the loaded weights.

Only the transformer changes hands: the model's own tokenizer prepares the batch and its own
pooling and normalisation run after, so vectors are torch's to float rounding (5e-7 at most
here; ``tests/test_onnx.py``) and an index built by either backend serves the other. ORT wins
most where torch's per-call overhead dominates: one short question took 0.29× torch's time,
32 questions 0.74×, 64 passages of 200 word pieces 0.93× (bench/results/onnx.md). The price:
a 90 MB file in the cache and an export of about 4 s the first time; a start after that reads
the tokenizer and the export without torch (``qa.encoders.folder``: 237 MB peak resident for a
served article against 526 MB with torch).

The export is offline and needs no optimum (whose onnxruntime extra would downgrade transformers):
``torch.onnx.export`` of the transformer, traced by the TorchScript exporter with eager attention,
then onnxruntime's own BERT optimizer, which fuses the embeddings and every attention block. The
torch.export-based exporter works too but its SDPA attention stays unfused, and it was the slowest
on long passages. The TorchScript exporter is deprecated in torch; if a torch drops it, loading
fails with a message that says so, and ``QA_BACKEND=torch`` keeps working. The fused attention
reads the mask as lengths, which holds for tokenizers that pad on the right, as BERT's do.

The file is cached under a content hash of the weights, the config and the versions that shape
the graph, so any model (bundled, local folder, HF cache) gets its own, a changed model never
reuses a stale one, and it is written to a temporary name and published by an atomic rename.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import sys
import tempfile
import warnings
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

# what shapes the exported graph besides the weights: bump when the recipe below changes
RECIPE = "torchscript-eager-opset17-bertfused-1"
OUTPUT = "last_hidden_state"
# The build's passages may run an int8 copy of the export (``QA_PASSAGE_INT8``): ONNX Runtime's
# dynamic quantization, weights per output channel, of every matrix product and attention block
# but the first layer's, whose inputs (the embeddings) int8 rounds worst. Chosen by fidelity on 160
# SciFact abstracts: passage vectors' cosine to the float ones 0.9957 mean (0.9929 with the first
# layer quantized too), at 0.75x the float export's CPU time (docs/benchmarks.md).
QUANTIZED = "int8-dynamic-per-channel-all-but-first-layer/1"
_LAYER = re.compile(r"(?:layer[._/]|^Attention_)(\d+)")


class OnnxUnavailable(RuntimeError):
    """ONNX Runtime is missing, or the model could not be exported; the message says what to do."""


def default_cache_dir() -> Path:
    """``share/qa/onnx`` in the virtual environment the package runs in, else the user's cache.

    In the environment because the export is made by (and named after) the torch, transformers,
    onnx and onnxruntime installed there: ``make install`` writes it once, every clone served from
    that environment finds it, and removing the environment removes it. Outside a virtual
    environment (a system install), ``$XDG_CACHE_HOME/qa/onnx`` or ``~/.cache/qa/onnx``."""
    if sys.prefix != sys.base_prefix:
        return Path(sys.prefix) / "share" / "qa" / "onnx"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "qa" / "onnx"


def _onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError as error:
        raise OnnxUnavailable(
            f"QA_BACKEND=onnx needs ONNX Runtime ({error}): pip install -e '.[onnx]', or set QA_BACKEND=torch"
        ) from error
    return onnxruntime


def input_names(features: dict[str, Any]) -> list[str]:
    """The tokenizer outputs the transformer reads, in a fixed order."""
    return [name for name in ("input_ids", "attention_mask", "token_type_ids") if name in features]


def weights_key(transformer: Any, inputs: list[str]) -> str:
    """A content hash of what the exported graph depends on."""
    import torch
    import transformers
    import xxhash

    onnxruntime = _onnxruntime()
    try:  # its version, without the second it takes to import onnx on every start
        onnx_version = metadata.version("onnx")
    except metadata.PackageNotFoundError as error:
        raise OnnxUnavailable("exporting the model to ONNX needs onnx: pip install -e '.[onnx]'") from error
    digest = xxhash.xxh3_128()
    versions = (torch.__version__, transformers.__version__, onnx_version, onnxruntime.__version__)
    for part in (RECIPE, *versions, ",".join(inputs)):
        digest.update(part.encode())
    digest.update(transformer.config.to_json_string().encode())
    for name, tensor in transformer.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().contiguous().cpu().numpy())  # its buffer, not a copy
    return digest.hexdigest()


def _export(transformer: Any, example: dict[str, Any], inputs: list[str], target: Path) -> None:
    """Write the transformer as ONNX to ``target``: batch and sequence axes dynamic, fused for BERT."""
    import torch

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, *tensors: Any) -> Any:
            return self.transformer(**dict(zip(inputs, tensors, strict=True))).last_hidden_state

    implementation = transformer.config._attn_implementation
    # eager attention traces into the pattern onnxruntime's optimizer fuses; SDPA's does not
    transformer.set_attn_implementation("eager")
    try:
        # The tracer warns that the mask's padding check becomes a constant (no cached keys in an
        # encoder: it is always false) and that index lookups must not be negative (they are mask
        # positions); tests/test_onnx.py checks mixed lengths and truncation against torch.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                LastHiddenState().eval(),
                tuple(example[name] for name in inputs),
                str(target),
                dynamo=False,
                opset_version=17,
                input_names=inputs,
                output_names=[OUTPUT],
                dynamic_axes={name: {0: "batch", 1: "sequence"} for name in [*inputs, OUTPUT]},
            )
    finally:
        transformer.set_attn_implementation(implementation)
    config = transformer.config
    if config.model_type == "bert":
        from onnxruntime.transformers.optimizer import optimize_model

        optimized = optimize_model(
            str(target),
            model_type="bert",
            num_heads=config.num_attention_heads,
            hidden_size=config.hidden_size,
            opt_level=1,
            use_gpu=False,
        )
        optimized.save_model_to_file(str(target))


def _published(target: Path, write: Callable[[Path], None], doing: str, done: str, remedy: str) -> Path:
    """``target``, made first if it is not there: ``write`` writes it to a temporary folder beside
    it, and an atomic rename publishes it, so a reader never sees half a file. Every failure is
    ``OnnxUnavailable``: ``doing`` names what needs a missing package, ``done`` what failed, and
    ``remedy`` what the user can do instead."""
    if target.is_file():
        return target
    staging: Path | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=target.parent))
        write(staging / target.name)
        os.replace(staging / target.name, target)
    except OnnxUnavailable:
        raise
    except ImportError as error:  # onnx itself, which the optimizer and the quantizer need
        needs = error.name or error
        raise OnnxUnavailable(f"{doing} needs {needs}: pip install -e '.[onnx]', or {remedy}") from error
    except Exception as error:
        reason = f"{type(error).__name__}: {error}".splitlines()[0]
        raise OnnxUnavailable(f"could not {done} in {target.parent} ({reason}); {remedy}") from error
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def exported(transformer: Any, example: dict[str, Any], cache_dir: Path) -> Path:
    """The cached ONNX file for ``transformer``, exported first if there is none."""
    inputs = input_names(example)
    return _published(
        cache_dir / f"{weights_key(transformer, inputs)}.onnx",
        lambda staged: _export(transformer, example, inputs, staged),
        "exporting the model to ONNX",
        "export the model to ONNX",
        "set QA_BACKEND=torch",
    )


def _layer(node: Any) -> int | None:
    """The transformer layer a MatMul or a fused Attention node belongs to, by its name."""
    found = _LAYER.search(node.name)
    return int(found.group(1)) if found else None


def _not_advice(record: logging.LogRecord) -> bool:
    """False for the quantizer's advice to pre-process the model, which is for static quantization."""
    return "pre-processing before quantization" not in record.getMessage()


def quantized(path: Path) -> Path:
    """The int8 copy (``QUANTIZED``) of the float export at ``path``, made beside it on first use;
    ``OnnxUnavailable`` says why when it cannot be made (its graph does not name its layers, onnx
    is missing, the folder cannot be written)."""
    key = hashlib.sha256(f"{QUANTIZED}|{path.name}".encode()).hexdigest()[:12]
    return _published(
        path.with_name(f"{path.stem}.int8-{key}.onnx"),
        lambda staged: _quantize(path, staged),
        "quantizing the export",
        f"quantize {path.name}",
        "set QA_PASSAGE_INT8=false",
    )


def _quantize(path: Path, target: Path) -> None:
    """Write ``QUANTIZED``'s int8 copy of the export at ``path`` to ``target``."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(path), load_external_data=False).graph
    layers = {node.name: _layer(node) for node in graph.node if node.op_type in ("MatMul", "Attention")}
    nodes = [name for name, layer in layers.items() if layer is not None and layer > 0]
    if not nodes or 0 not in layers.values():
        raise OnnxUnavailable(
            f"cannot tell the layers of {path.name} apart by name to quantize it; set QA_PASSAGE_INT8=false"
        )
    root = logging.getLogger()  # where the quantizer logs
    root.addFilter(_not_advice)
    try:
        quantize_dynamic(
            path,
            target,
            op_types_to_quantize=["MatMul", "Attention"],
            nodes_to_quantize=nodes,
            per_channel=True,
            weight_type=QuantType.QInt8,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},  # the fused nodes' outputs
        )
    finally:
        root.removeFilter(_not_advice)


class OnnxTransformer:
    """An InferenceSession over the exported transformer: tokenizer features in, word-piece vectors out."""

    def __init__(self, path: Path, inputs: list[str], threads: int) -> None:
        onnxruntime = _onnxruntime()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        # like OMP_WAIT_POLICY=PASSIVE for torch (qa/__init__.py): threads that spin after a call
        # take the CPU the rest of the request needs
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        # ORT's arena keeps a batch's peak for good (+500 MB after 64 passages of 200 word pieces);
        # without an arena that batch ran 26% slower. Shrinking it after each run keeps both.
        self.run_options = onnxruntime.RunOptions()
        self.run_options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        self.inputs = inputs
        self.path = path
        self.threads = threads

    @classmethod
    def load(
        cls, transformer: Any, example: dict[str, Any], cache_dir: Path, threads: int
    ) -> OnnxTransformer:
        """A session over the cached export; a cached file ONNX Runtime cannot load (truncated,
        damaged) is exported again once."""
        path = exported(transformer, example, cache_dir)
        try:
            return cls(path, input_names(example), threads)
        except OnnxUnavailable:
            raise
        except Exception as error:
            first = f"{type(error).__name__}: {error}".splitlines()[0]
            path.unlink(missing_ok=True)
            path = exported(transformer, example, cache_dir)
        try:
            return cls(path, input_names(example), threads)
        except Exception as error:
            again = f"{type(error).__name__}: {error}".splitlines()[0]
            raise OnnxUnavailable(
                f"ONNX Runtime could not load {path} ({first}; exported again: {again}); set QA_BACKEND=torch"
            ) from error

    def __call__(self, features: dict[str, Any]) -> np.ndarray:
        """last_hidden_state (batch, sequence, dimension) for tokenizer features (numpy or torch)."""
        feed = {name: np.asarray(features[name]) for name in self.inputs}
        (hidden,) = self.session.run([OUTPUT], feed, self.run_options)
        return np.asarray(hidden)


class SessionPool:
    """Sessions over one export that run the slices of a batch side by side, each in its own
    threads: a build's batch of passages spent 8% less CPU this way than in one session of all
    threads, which waits for its threads in every operator (64 SciFact abstracts, 2 cores). Each
    session holds its own copy of the weights."""

    def __init__(self, path: Path, inputs: list[str], sessions: int, threads: int) -> None:
        from concurrent.futures import ThreadPoolExecutor
        from queue import SimpleQueue

        self.idle: SimpleQueue[OnnxTransformer] = SimpleQueue()
        for _ in range(sessions):
            self.idle.put(OnnxTransformer(path, inputs, threads))
        self.workers = ThreadPoolExecutor(sessions, thread_name_prefix="qa-onnx")

    def map(self, parts: list[dict[str, Any]]) -> list[np.ndarray]:
        """Each slice's word-piece vectors (float32), in order."""

        def run(part: dict[str, Any]) -> np.ndarray:
            session = self.idle.get()  # as many sessions as workers: one is always free
            try:
                return np.asarray(session(part), dtype=np.float32)
            finally:
                self.idle.put(session)

        return list(self.workers.map(run, parts))
