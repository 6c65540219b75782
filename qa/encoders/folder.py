"""The ONNX Runtime backend without torch: a sentence-transformers folder read directly.

A start with the full model imports torch, transformers and sentence-transformers (about 5 s of a
9 s cold start here) only to tokenize and to find the export. Once a folder's transformer has been
exported (``qa.encoders.onnx_runtime``), everything a question or a passage needs from it is the
export itself, the folder's ``tokenizer.json`` (run by ``tokenizers``, the library the model's
fast tokenizer wraps) and mean pooling, which ``qa.encoders.sbert`` already does in numpy. So the
full load records, beside the export, a note keyed by a content hash of the folder's files and the
versions that shaped the graph (``remember``); a later start that finds the note for the same
folder opens the export with this module alone (``LightModel.open``) and never imports torch.
Anything else (no note yet, a model from the Hugging Face cache, pooling other than the mean, a
tokenizer that pads on the left) loads the full model as before.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from qa.encoders.onnx_runtime import RECIPE, OnnxTransformer

NOTE_SUFFIX = ".folder.json"
MODULES = ("sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling")
NORMALIZE = "sentence_transformers.models.Normalize"
VERSIONED = ("torch", "transformers", "onnx", "onnxruntime")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def folder_key(folder: Path) -> str | None:
    """A content hash of the folder's files (weights, config, tokenizer, pooling) and of the
    versions the export depends on, or None when one of those cannot be read."""
    import xxhash

    digest = xxhash.xxh3_128()
    digest.update(RECIPE.encode())
    try:
        for package in VERSIONED:
            digest.update(f"{package}={metadata.version(package)}".encode())
        files = sorted(path for path in folder.rglob("*") if path.is_file() and not path.name.startswith("."))
        for path in files:
            digest.update(str(path.relative_to(folder)).encode())
            with path.open("rb") as handle:
                while chunk := handle.read(1 << 22):
                    digest.update(chunk)
    except (OSError, metadata.PackageNotFoundError):
        return None
    return digest.hexdigest()


def remember(folder: Path, cache_dir: Path, export: Path, inputs: Sequence[str]) -> None:
    """Note, beside ``export``, that it is the transformer of ``folder`` (best effort: a cache
    folder that cannot be written only means the next start loads the full model again)."""
    key = folder_key(folder)
    if key is None:
        return
    note = cache_dir / f"{key}{NOTE_SUFFIX}"
    staging = note.with_name(f".{note.name}.{os.getpid()}")
    try:
        staging.write_text(json.dumps({"export": export.name, "inputs": list(inputs)}))
        os.replace(staging, note)
    except OSError:
        staging.unlink(missing_ok=True)


def _supported(folder: Path) -> tuple[int, int] | None:
    """(max_seq_length, dimension) when the folder is a transformer, mean pooling and at most
    normalisation, with a fast tokenizer that pads on the right; otherwise None."""
    modules = _read_json(folder / "modules.json")
    if not isinstance(modules, list) or not modules:
        return None
    kinds = [str(module.get("type", "")) for module in modules]
    if tuple(kinds[:2]) != MODULES or any(kind != NORMALIZE for kind in kinds[2:]):
        return None
    if modules[0].get("path", "") != "" or not (folder / "tokenizer.json").is_file():
        return None
    pooling = _read_json(folder / str(modules[1].get("path", "")) / "config.json") or {}
    flags = {key: value for key, value in pooling.items() if key.startswith("pooling_mode_")}
    mean = pooling.get("pooling_mode") == "mean" or (
        bool(flags.get("pooling_mode_mean_tokens")) and sum(map(bool, flags.values())) == 1
    )
    settings = _read_json(folder / "sentence_bert_config.json") or {}
    tokenizer = _read_json(folder / "tokenizer_config.json") or {}
    if not mean or settings.get("do_lower_case") or tokenizer.get("padding_side", "right") != "right":
        return None
    if "max_seq_length" not in settings or "word_embedding_dimension" not in pooling:
        return None
    return int(settings["max_seq_length"]), int(pooling["word_embedding_dimension"])


class LightModel:
    """The folder's tokenizer and its exported transformer, without torch."""

    def __init__(self, folder: Path, session: OnnxTransformer, max_length: int, dimension: int) -> None:
        from tokenizers import Tokenizer

        self.folder = folder
        self.session = session
        self.max_length = max_length
        self.dimension = dimension
        base = Tokenizer.from_file(str(folder / "tokenizer.json"))
        base.no_truncation()
        base.no_padding()
        self._plain = base  # no special tokens, no truncation: counting and cutting texts
        self._model_input = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._model_input.enable_truncation(max_length)
        self._model_input.enable_padding(pad_id=self._pad_id(), pad_token=self._pad_token())
        self._pieces = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._pieces.enable_truncation(max_length - 2)  # [CLS] and [SEP] not counted
        self._pieces.no_padding()

    def _pad_token(self) -> str:
        special = _read_json(self.folder / "special_tokens_map.json") or {}
        token = special.get("pad_token", "[PAD]")
        return str(token.get("content", "[PAD]") if isinstance(token, dict) else token)

    def _pad_id(self) -> int:
        found = self._plain.token_to_id(self._pad_token())
        return int(found) if found is not None else 0

    @classmethod
    def open(cls, folder: Path, cache_dir: Path, threads: int) -> LightModel | None:
        """The light model of ``folder`` when a full load has noted its export, else None."""
        shape = _supported(folder)
        if shape is None:
            return None
        key = folder_key(folder)
        note = _read_json(cache_dir / f"{key}{NOTE_SUFFIX}") if key else None
        if not isinstance(note, dict) or not isinstance(note.get("inputs"), list):
            return None
        export = cache_dir / str(note.get("export", ""))
        if not export.is_file() or export.parent != cache_dir:
            return None
        try:
            session = OnnxTransformer(export, [str(name) for name in note["inputs"]], threads)
        except Exception:  # a damaged file: the full load exports it again
            return None
        return cls(folder, session, *shape)

    def features(self, texts: Sequence[str]) -> dict[str, npt.NDArray[np.int64]]:
        """What the model's own preprocessing gives (padded to the longest, truncated), in numpy."""
        encodings = self._model_input.encode_batch(list(texts))
        arrays = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        return {name: arrays[name] for name in self.session.inputs}

    def offsets(self, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
        """Each text's word pieces' character spans (no special tokens, at most ``max_length - 2``)."""
        return [e.offsets for e in self._pieces.encode_batch(list(texts), add_special_tokens=False)]

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(e.ids) for e in self._plain.encode_batch(list(texts), add_special_tokens=False)]

    def truncate(self, text: str, budget: int) -> str:
        offsets = self._plain.encode(text, add_special_tokens=False).offsets
        if len(offsets) <= budget:
            return text
        return text[: offsets[budget - 1][1]]
