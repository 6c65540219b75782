"""The only module that imports faiss: index generations on disk, built, published and loaded.

An index folder holds generations and a ``CURRENT`` pointer::

    index/
      CURRENT                 the name of the generation being served
      gen-20261125T101500123456-3f2a9c/
        manifest.json         model, dimension, chunker parameters, corpus fingerprint, counts, and
                              the size and xxh3-128 checksum of every other file (checked on load)
        vectors.npy           float32 (passages, dimension), L2-normalised, row r = passages[r]
        vectors.faiss         inner-product index over the same rows, ids = passage rows
        tokens.npy            float16 (word pieces, dimension): each passage's contextual word-piece
                              vectors, L2-normalised, for late-interaction scoring
        token_offsets.npy     int64 (passages + 1): passage r owns token rows offsets[r]:offsets[r+1]
        token_starts.npy      int32 (word pieces): document offset of each word piece, -1 for
                              word pieces of the context (heading) rather than the cited text
        passages.jsonl        one passage a line
        documents.jsonl       one document a line, the exact text citations index into
        keyword/              bm25s index, row i = passages[i]

A build writes into a hidden temporary folder, fsyncs it, renames it into place, then replaces
``CURRENT`` by an atomic rename: a crash at any point leaves the previous generation served.
A file that is truncated or altered later (a bad disk, a stray edit) fails its checksum on load,
and the error names it; a write that fails (a full disk) removes the staging folder and raises
``IndexWriteFailed``, leaving ``CURRENT`` as it was.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import numpy.typing as npt
import xxhash

from qa.core.errors import IndexCorrupt, IndexMismatch, IndexNotFound, IndexWriteFailed
from qa.core.files import fsync_folder
from qa.core.types import Document, Passage, Vectors, content_hash
from qa.index.codec import FLOAT16
from qa.index.keyword import KeywordIndex

FORMAT_VERSION = 2
CHUNKER_VERSION = 4  # bump when passages of the same text would change
POINTER = "CURRENT"
EF_SEARCH = 384  # HNSW candidates per search (nprobe = EF_SEARCH / 4 for IVF): 1M vectors, recall@10 0.955


# A checksum catches truncation and flipped bytes, not tampering: xxh3-128 does that at memory speed
# (3.5 GB/s here against SHA-256's 0.9), which matters because every load reads every byte.
# Generations written with SHA-256 checksums still verify.
CHECKSUM = "xxh3_128"
HASHES: dict[str, Any] = {"xxh3_128": xxhash.xxh3_128, "sha256": "sha256"}
FULL_DISK_BYTES = 1024 * 1024  # free space under which a short write counts as a full disk


@dataclass(frozen=True)
class BuildParameters:
    """What a generation was built with; a change in any of these means the vectors are stale."""

    model: str
    dimension: int
    chunk_tokens: int
    chunk_min_chars: int
    chunker_version: int = CHUNKER_VERSION
    layout: str = "auto"


@dataclass(frozen=True)
class TokenTable:
    """Word-piece vectors of every passage, stacked, with the document offset each one starts at."""

    vectors: npt.NDArray[np.float16]
    starts: npt.NDArray[np.int32]
    offsets: npt.NDArray[np.int64]  # one entry more than passages

    def rows(self, row: int) -> slice:
        return slice(int(self.offsets[row]), int(self.offsets[row + 1]))

    @classmethod
    def stack(cls, pieces: Sequence[tuple[npt.NDArray[Any], npt.NDArray[Any]]], dimension: int) -> TokenTable:
        """From (vectors, starts) per passage, in passage order."""
        offsets = np.zeros(len(pieces) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(starts) for _, starts in pieces])
        if not pieces:
            return cls(np.zeros((0, dimension), np.float16), np.zeros(0, np.int32), offsets)
        vectors = FLOAT16.encode(np.concatenate([v for v, _ in pieces])).reshape(-1, dimension)
        starts = np.concatenate([s for _, s in pieces]).astype(np.int32)
        return cls(vectors, starts, offsets)


@dataclass
class Generation:
    """A loaded generation: everything a query needs, read-only once built. Row r of ``vectors``
    and of the FAISS index is ``passages[r]``."""

    name: str
    path: Path
    manifest: dict[str, Any]
    documents: dict[str, Document]
    passages: list[Passage]
    vectors: Vectors
    tokens: TokenTable
    index: Any  # faiss.Index
    keyword: KeywordIndex

    def __post_init__(self) -> None:
        self.rows_of_doc: dict[str, list[int]] = {}
        for row, passage in enumerate(self.passages):
            self.rows_of_doc.setdefault(passage.doc_id, []).append(row)


def corpus_fingerprint(documents: Iterable[Document]) -> str:
    return content_hash(
        "\n".join(f"{d.doc_id}\t{d.content_hash}" for d in sorted(documents, key=lambda d: d.doc_id))
    )


def _write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def choose_factory(factory: str, size: int, ann_threshold: int) -> str:
    """``factory`` itself, or for "auto": exact search while small, HNSW above ``ann_threshold``."""
    if factory != "auto":
        return factory
    return "Flat" if size < ann_threshold else "HNSW32"


def vector_index(vectors: Vectors, factory: str) -> Any:
    """A FAISS inner-product index over ``vectors`` (row r has id r), built from a factory string
    such as "Flat", "HNSW32" or "IVF1024,SQ8"; trained on the vectors when the type needs it."""
    try:
        index = faiss.index_factory(vectors.shape[1], factory, faiss.METRIC_INNER_PRODUCT)
    except RuntimeError as error:
        raise ValueError(f"invalid FAISS index factory string {factory!r}: {error}") from error
    if not index.is_trained and len(vectors):
        index.train(vectors)
    if len(vectors):
        index.add(vectors)
    return index


def tune_for_search(index: Any, ef_search: int) -> None:
    """Search-time accuracy knobs for approximate indexes (no-op for exact ones)."""
    if hasattr(index, "hnsw"):
        index.hnsw.efSearch = ef_search
    with contextlib.suppress(RuntimeError):  # raised for indexes that are not IVF
        faiss.extract_index_ivf(index).nprobe = max(1, ef_search // 4)


def write_generation(
    index_dir: Path,
    documents: Sequence[Document],
    passages: Sequence[Passage],
    vectors: Vectors,
    tokens: TokenTable,
    parameters: BuildParameters,
    keep: int = 3,
    factory: str = "Flat",
    components: dict[str, Any] | None = None,
    skipped: Sequence[tuple[str, str]] = (),
) -> Path:
    """Write a complete generation, publish it, and keep only the newest ``keep``; return its folder.
    ``skipped`` names the corpus files left out, with why; the manifest keeps them."""
    if not len(passages) == len(vectors) == len(tokens.offsets) - 1:
        raise ValueError(f"{len(passages)} passages but {len(vectors)} vectors")
    index_dir.mkdir(parents=True, exist_ok=True)
    name = f"gen-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}-{secrets.token_hex(3)}"
    staging = index_dir / f".tmp-{name}"
    staging.mkdir()
    try:
        np.save(staging / "vectors.npy", vectors)
        np.save(staging / "tokens.npy", tokens.vectors)
        np.save(staging / "token_starts.npy", tokens.starts)
        np.save(staging / "token_offsets.npy", tokens.offsets)
        faiss.write_index(vector_index(vectors, factory), str(staging / "vectors.faiss"))
        _write_jsonl(staging / "passages.jsonl", (asdict(p) for p in passages))
        _write_jsonl(
            staging / "documents.jsonl",
            ({**asdict(d), "content_hash": d.content_hash} for d in documents),
        )
        KeywordIndex.build([p.embedding_text for p in passages]).save(staging / "keyword")
        manifest = {
            "files": file_checksums(staging),
            "format_version": FORMAT_VERSION,
            "generation": name,
            **asdict(parameters),
            "corpus_fingerprint": corpus_fingerprint(documents),
            "documents": len(documents),
            "passages": len(passages),
            "word_pieces": len(tokens.starts),
            "faiss_factory": factory,
            "components": components or {},
            "skipped": [{"doc_id": doc_id, "reason": reason} for doc_id, reason in skipped],
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        for path in staging.rglob("*"):
            if path.is_file():
                with path.open("rb") as handle:
                    os.fsync(handle.fileno())
        fsync_folder(staging)
        final = index_dir / name
        staging.rename(final)
        publish(index_dir, name)
    except OSError as error:
        reason = _write_failure(index_dir, error)
        shutil.rmtree(staging, ignore_errors=True)
        raise IndexWriteFailed(
            f"cannot write a new index generation ({reason}); the served generation is unchanged"
        ) from error
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    prune(index_dir, keep)
    return final


def _write_failure(index_dir: Path, error: OSError) -> str:
    """Why a write failed, in words. Some writers (numpy) report a full disk as a short write with
    no errno, so the free space decides then."""
    full = error.errno == errno.ENOSPC
    if error.errno is None:
        with contextlib.suppress(OSError):
            full = shutil.disk_usage(index_dir).free < FULL_DISK_BYTES
    if full:
        return "the disk is full"
    return os.strerror(error.errno) if error.errno else str(error)


def checksum(path: Path, algorithm: str = CHECKSUM) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, HASHES[algorithm]).hexdigest()


def file_checksums(folder: Path) -> dict[str, dict[str, Any]]:
    """Relative path -> {"bytes", CHECKSUM} of every file under ``folder`` (the manifest aside)."""
    return {
        path.relative_to(folder).as_posix(): {"bytes": path.stat().st_size, CHECKSUM: checksum(path)}
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != "manifest.json"
    }


def verify_files(path: Path, manifest: dict[str, Any]) -> None:
    """Raise ``IndexCorrupt`` naming the first file that is missing, of another size, or fails its
    checksum. Generations written before checksums were recorded have none to check."""
    listed = manifest.get("files")
    if not isinstance(listed, dict):
        return
    for relative, expected in listed.items():
        file = path / relative
        try:
            size = file.stat().st_size
        except OSError as error:
            raise IndexCorrupt(f"{file} is missing ({error.strerror}). Run `qa index` to rebuild.") from error
        if size != expected.get("bytes"):
            raise IndexCorrupt(
                f"{file} is truncated or overwritten: {size:,} bytes, the manifest says "
                f"{expected.get('bytes')}. Run `qa index` to rebuild."
            )
        algorithm = next((name for name in HASHES if name in expected), CHECKSUM)
        if checksum(file, algorithm) != expected.get(algorithm):
            raise IndexCorrupt(
                f"{file} is corrupt: its {algorithm} checksum differs from the manifest's. "
                "Run `qa index` to rebuild."
            )


def older_generations(index_dir: Path, name: str) -> list[str]:
    """Generations on disk older than ``name``, newest first (names sort by build time)."""
    names = (path.name for path in index_dir.glob("gen-*") if path.is_dir())
    return sorted((older for older in names if older < name), reverse=True)


def prune(index_dir: Path, keep: int) -> list[str]:
    """Delete all but the newest ``keep`` generations (never the current one); return what went.

    A server still reading a deleted generation keeps working: its open and memory-mapped files
    live on until it lets go of them."""
    current = current_generation(index_dir)
    generations = sorted(path.name for path in index_dir.glob("gen-*") if path.is_dir())
    doomed = [name for name in generations[: max(len(generations) - max(keep, 1), 0)] if name != current]
    # builds run one at a time under the build lock, so any staging folder left is a dead build's
    doomed += [path.name for path in index_dir.glob(".tmp-gen-*") if path.is_dir()]
    for name in doomed:
        shutil.rmtree(index_dir / name, ignore_errors=True)
    return doomed


def publish(index_dir: Path, name: str) -> None:
    """Point ``CURRENT`` at generation ``name`` by an atomic rename."""
    pointer = index_dir / POINTER
    staging = index_dir / f".{POINTER}.{secrets.token_hex(4)}"
    with staging.open("w", encoding="utf-8") as handle:
        handle.write(name + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(staging, pointer)
    fsync_folder(index_dir)


def current_generation(index_dir: Path) -> str | None:
    try:
        name = (index_dir / POINTER).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):  # missing, unreadable or garbled: nothing published
        return None
    return name or None


def indexed_hashes(index_dir: Path) -> dict[str, str]:
    """doc_id -> content hash of every document in the published generation ({} if none loads):
    what a build compares against to say what was added, changed or removed, whether or not it
    can reuse the vectors."""
    name = current_generation(index_dir)
    if name is None:
        return {}
    try:
        return {
            row["doc_id"]: row["content_hash"] for row in _read_jsonl(index_dir / name / "documents.jsonl")
        }
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def read_manifest(index_dir: Path) -> dict[str, Any] | None:
    name = current_generation(index_dir)
    if name is None:
        return None
    try:
        manifest: dict[str, Any] = json.loads(
            (index_dir / name / "manifest.json").read_text(encoding="utf-8")
        )
    except (OSError, ValueError):
        return None
    return manifest


def check_parameters(manifest: dict[str, Any], expected: BuildParameters) -> None:
    """Raise ``IndexMismatch`` naming what differs between the index and the settings."""
    differences = [
        f"{key} is {manifest.get(key)!r} in the index but {value!r} in the settings"
        for key, value in asdict(expected).items()
        if key != "dimension" and manifest.get(key) != value
    ]
    if differences:
        raise IndexMismatch(
            f"the index in {manifest.get('generation')} does not match the settings: "
            + "; ".join(differences)
            + ". Run `qa index` to rebuild it."
        )


def _read_faiss(path: Path) -> Any:
    """Memory-mapped where the index type allows it, read into memory otherwise."""
    try:
        index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
    except RuntimeError:
        index = faiss.read_index(str(path))
    tune_for_search(index, EF_SEARCH)
    return index


def load_generation(
    index_dir: Path, expected: BuildParameters | None = None, name: str | None = None, searchable: bool = True
) -> Generation:
    """Load generation ``name`` (by default the one ``CURRENT`` points at), checking its files
    against the manifest's checksums and its parameters against ``expected``. ``searchable=False``
    leaves the FAISS and keyword indexes unread (a Ray replica's catalog: passages and documents;
    its shards search)."""
    name = name or current_generation(index_dir)
    if name is None:
        raise IndexNotFound(f"no index in {index_dir}. Run `qa index` to build one.")
    path = index_dir / name
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        if not isinstance(manifest, dict) or not isinstance(manifest.get("passages"), int):
            raise ValueError("not a manifest")
    except (OSError, ValueError) as error:
        raise IndexCorrupt(
            f"cannot read {path / 'manifest.json'}: {error}. Run `qa index` to rebuild."
        ) from error
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexMismatch(f"the index in {path} has an older format. Run `qa index --full` to rebuild it.")
    if expected is not None:
        check_parameters(manifest, expected)
    verify_files(path, manifest)
    try:
        documents = [
            Document(r["doc_id"], r["title"], r["text"], r["metadata"])
            for r in _read_jsonl(path / "documents.jsonl")
        ]
        passages = [Passage(**row) for row in _read_jsonl(path / "passages.jsonl")]
        vectors = np.load(path / "vectors.npy", mmap_mode="r")
        tokens = TokenTable(
            np.load(path / "tokens.npy", mmap_mode="r"),
            np.load(path / "token_starts.npy", mmap_mode="r"),
            np.load(path / "token_offsets.npy"),
        )
        index = _read_faiss(path / "vectors.faiss") if searchable else None
        keyword = KeywordIndex.load(path / "keyword", len(passages) if searchable else 0)
    except Exception as error:  # numpy, faiss, bm25s and json each fail their own way on bad files
        raise IndexCorrupt(f"cannot load the index in {path}: {error}. Run `qa index` to rebuild.") from error
    indexed = index.ntotal if index is not None else len(passages)
    consistent = len(passages) == manifest["passages"] == vectors.shape[0] == indexed == len(
        tokens.offsets
    ) - 1 and int(tokens.offsets[-1]) == len(tokens.vectors) == len(tokens.starts)
    if not consistent:
        raise IndexCorrupt(
            f"the index in {path} is inconsistent (passage and vector counts differ). Run `qa index`."
        )
    documents_by_id = {d.doc_id: d for d in documents}
    return Generation(name, path, manifest, documents_by_id, passages, vectors, tokens, index, keyword)
