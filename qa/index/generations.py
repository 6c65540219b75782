"""The only module that imports faiss: index generations on disk, written, published and loaded.

An index folder holds segments, generations and a ``CURRENT`` pointer::

    index/
      CURRENT                 the name of the generation being served
      segments/seg-…/         immutable segments (``qa.index.segments``), shared by generations
      gen-20261125T101500123456-3f2a9c/
        manifest.json         model, dimension, chunker parameters, corpus fingerprint, counts,
                              and the segments: each one's name, the size and checksum of its
                              ``segment.json``, and its tombstones (doc_ids deleted from it since)

A generation is its manifest: an add writes one new segment and a manifest listing it beside the
segments before it; a delete writes a manifest with a tombstone. Segments and manifests are
written into hidden temporary folders, fsynced and renamed into place; ``CURRENT`` is replaced by
an atomic rename last: a crash at any point leaves the previous generation served, and what it
left behind (staging folders, segments no manifest names) is removed by the next prune. A write
that fails (a full disk) removes what it wrote and raises ``IndexWriteFailed``, leaving
``CURRENT`` as it was. A file that is truncated or altered later fails its checksum on load, and
the error names it.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import Any

import faiss
import numpy as np

from qa.core.errors import IndexCorrupt, IndexMismatch, IndexNotFound, IndexWriteFailed
from qa.core.files import fsync_folder
from qa.core.protocols import TokenCodec
from qa.core.types import Document, Passage, Vectors, content_hash
from qa.index.codec import FLOAT16
from qa.index.folder import (
    MERGE_LOCK,
    MERGING,
    POINTER,
    SEGMENTS,
    current_generation,
    older_generations,
    prune,
    publish,
    read_manifest,
)
from qa.index.segments import RECORD, Documents, Passages, Segment, SegmentWriter, TokenTable, load_segment
from qa.index.storage import CHECKSUM, checksum, fsync_tree, write_failure

__all__ = [  # the index folder's names, kept importable from here
    "MERGE_LOCK",
    "MERGING",
    "POINTER",
    "SEGMENTS",
    "TokenTable",
    "current_generation",
    "older_generations",
    "prune",
    "publish",
    "read_manifest",
]

FORMAT_VERSION = 3  # 3: a manifest of segments; 2 and before: one folder of files per generation
# bump when passages of the same text would change (what each version changed: the git log of
# this line); 24: brackets are markup only in links ("v[i]" was read "v i"), footnote marks not
# read, a title's or heading's inline markers go without splitting its words ("Futures"); 25: a MyST
# directive fence packed into a body: its "{name}" not read; 28: a PDF passage reads its furniture
# blanked, a PDF line in bold throughout is a heading, a chart's labels are not; 29: plain text's
# pages (form feeds), running lines, contents lines and numbered headings, escape sequences not read;
# 30: a heading repeated under one path ("## Example" twice) starts a section, not a passage across it;
# a structured passage that reads as nothing (markup alone) is none
CHUNKER_VERSION = 30
EF_SEARCH = 384  # HNSW candidates per search (nprobe = EF_SEARCH / 4 for IVF): 1M vectors, recall@10 0.955


@dataclass(frozen=True)
class BuildParameters:
    """What a generation was built with; a change in any of these means the vectors are stale."""

    model: str
    dimension: int
    chunk_tokens: int
    chunk_min_chars: int
    chunker_version: int = CHUNKER_VERSION
    layout: str = "auto"
    # what embedded the passages (the encoder's ``passage_precision``): a build over an index of
    # another one embeds every passage again, but any of them serves, as questions are embedded
    # the same way whatever built the passages
    passage_precision: str = "float32"


SERVES_ANY = {"dimension", "passage_precision"}  # parameters that need not match to search an index
BEFORE = {"passage_precision": "float32"}  # parameters indexes written before them were built with


class Generation:
    """A loaded generation: its segments and tombstones, seen as one row space. Row r is
    ``passages[r]``: segment i's rows follow segment i - 1's, tombstoned rows included (they are
    never found); ``live[i]`` says which of segment i's rows are not."""

    def __init__(self, name: str, path: Path, manifest: dict[str, Any], segments: Sequence[Segment]) -> None:
        self.name, self.path, self.manifest = name, path, manifest
        self.segments = list(segments)
        deleted = [set(entry.get("deleted", [])) for entry in manifest["segments"]]
        self.bases = np.concatenate([[0], np.cumsum([s.size for s in self.segments])]).astype(np.int64)
        self.live: list[np.ndarray[Any, np.dtype[np.bool_]]] = []
        owners: dict[str, Segment] = {}
        self.rows_of_doc: dict[str, list[int]] = {}
        for segment, gone, base in zip(self.segments, deleted, self.bases.tolist(), strict=False):
            live = np.ones(segment.size, dtype=bool)
            for doc_id, entry in segment.entries.items():
                if doc_id in gone:
                    live[entry.first : entry.first + entry.count] = False
                else:
                    owners[doc_id] = segment
                    self.rows_of_doc[doc_id] = [base + row for row in entry.rows]
            self.live.append(live)
        self.documents = Documents(owners)
        self.passages = Passages(self.segments, self.bases)

    @property
    def live_passages(self) -> int:
        return int(sum(live.sum() for live in self.live))

    @cached_property
    def vectors(self) -> Vectors:
        """Every row's vector, stacked (a copy: for tests and tools, not the query path)."""
        dimension = int(self.manifest["dimension"])
        parts = [np.asarray(s.vectors) for s in self.segments] or [np.zeros((0, dimension), np.float32)]
        return np.concatenate(parts)

    @cached_property
    def tokens(self) -> TokenTable:
        """Every row's word pieces, stacked as stored (a copy, as ``vectors``)."""
        if not self.segments:
            return TokenTable.stack([], int(self.manifest["dimension"]))
        counts = np.concatenate([np.diff(s.tokens.offsets) for s in self.segments])
        return TokenTable(
            np.concatenate([np.asarray(s.tokens.vectors) for s in self.segments]),
            np.concatenate([np.asarray(s.tokens.starts) for s in self.segments]),
            np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
            self.segments[0].tokens.codec,
        )


def corpus_fingerprint(documents: Sequence[Document] | Mapping[str, str]) -> str:
    """Of documents, or of doc_id -> content hash: the same for the same corpus."""
    hashes = documents if isinstance(documents, Mapping) else {d.doc_id: d.content_hash for d in documents}
    return content_hash("\n".join(f"{doc_id}\t{hashes[doc_id]}" for doc_id in sorted(hashes)))


def choose_factory(factory: str, size: int, ann_threshold: int) -> str:
    """``factory`` itself, or for "auto": exact search while small, HNSW over 8-bit codes above
    ``ann_threshold`` (a quarter of the bytes of a float32 copy: the vectors stay stored once)."""
    if factory != "auto":
        return factory
    return "Flat" if size < ann_threshold else "HNSW32_SQ8"


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


def search_selected(index: Any, vector: Vectors, k: int, selected: Any) -> list[tuple[int, float]]:
    """The best ``k`` of the rows ``selected`` (a bool array) marks, searched by ``index`` with an
    ID selector; fewer when the approximate search reaches fewer. RuntimeError for a type without
    selectors (a pre-transform, say)."""
    bitmap = np.packbits(selected, bitorder="little")  # both live until the search returns
    selector = faiss.IDSelectorBitmap(len(selected), faiss.swig_ptr(bitmap))
    parameters = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
    if isinstance(index, faiss.IndexHNSW):  # the index's own accuracy knobs kept
        parameters = faiss.SearchParametersHNSW(sel=selector, efSearch=index.hnsw.efSearch)  # type: ignore[attr-defined]
    elif isinstance(index, faiss.IndexIVF):
        parameters = faiss.SearchParametersIVF(sel=selector, nprobe=index.nprobe)  # type: ignore[call-arg]
    scores, rows = index.search(np.asarray(vector, np.float32).reshape(1, -1), k, params=parameters)
    return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0 and selected[r]]


def _read_faiss(path: Path) -> Any:
    """Memory-mapped where the index type allows it, read into memory otherwise."""
    try:
        index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
    except RuntimeError:
        index = faiss.read_index(str(path))
    tune_for_search(index, EF_SEARCH)
    return index


def _stamp(prefix: str) -> str:
    return f"{prefix}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}-{secrets.token_hex(3)}"


class GenerationWriter:
    """One write of an index folder: new segments, then a manifest, published last. Used as a
    context manager: on any failure what it wrote is removed and ``CURRENT`` stays as it was; an
    ``OSError`` becomes ``IndexWriteFailed`` saying why (a full disk, in words)."""

    def __init__(self, index_dir: Path, dimension: int, codec: TokenCodec = FLOAT16) -> None:
        self.index_dir, self.dimension, self.codec = index_dir, dimension, codec
        self.written: list[Path] = []  # staging folders and new segments, removed on failure
        self.segments: list[dict[str, Any]] = []  # manifest entries of the new segments

    def __enter__(self) -> GenerationWriter:
        (self.index_dir / SEGMENTS).mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _: TracebackType | None
    ) -> None:
        if error is None:
            return
        for path in self.written:
            shutil.rmtree(path, ignore_errors=True)
        if isinstance(error, OSError):
            reason = write_failure(self.index_dir, error)
            raise IndexWriteFailed(
                f"cannot write a new index generation ({reason}); the served generation is unchanged"
            ) from error

    def segment(self, codec: TokenCodec | None = None) -> SegmentWriter:
        staging = self.index_dir / f".tmp-{_stamp('seg')}"
        self.written.append(staging)
        return SegmentWriter(staging, self.dimension, codec or self.codec)

    def finish(self, writer: SegmentWriter, factory: str) -> dict[str, Any]:
        """Seal ``writer``'s segment (``seal_segment``), move it into ``segments/``; return its
        manifest entry."""
        seal_segment(writer, factory)
        return self.adopt(writer.folder)

    def adopt(self, folder: Path, deleted: Sequence[str] = ()) -> dict[str, Any]:
        """Move the sealed segment staged in ``folder`` (``.tmp-seg-…`` or ``.merging-seg-…``) into
        ``segments/``; return its manifest entry, with tombstones ``deleted``."""
        final = self.index_dir / SEGMENTS / folder.name.split("-", 1)[1]
        folder.rename(final)
        self.written.append(final)
        fsync_folder(final.parent)
        entry = {"name": final.name, "record": _checked(final / RECORD), "deleted": list(deleted)}
        self.segments.append(entry)
        return entry

    def publish(self, manifest: dict[str, Any], keep: int) -> Path:
        """Write ``manifest`` (its "segments" listed in order) as a new generation, point
        ``CURRENT`` at it, and keep the newest ``keep`` generations; return its folder."""
        name = _stamp("gen")
        staging = self.index_dir / f".tmp-{name}"
        self.written.append(staging)
        staging.mkdir()
        body = {"format_version": FORMAT_VERSION, "generation": name, **manifest}
        body["built_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        (staging / "manifest.json").write_text(json.dumps(body, indent=2), encoding="utf-8")
        fsync_tree(staging)
        final = self.index_dir / name
        staging.rename(final)
        publish(self.index_dir, name)
        self.written = []  # published: from here on it is the served generation
        prune(self.index_dir, keep)
        return final


def seal_segment(writer: SegmentWriter, factory: str) -> None:
    """Close ``writer``'s segment with an approximate index unless ``factory`` is Flat, checksum
    its files and fsync them (it stays where it was staged)."""
    record = writer.close()
    if factory != "Flat" and writer.size:
        vectors = np.fromfile(writer.folder / "vectors.f32", dtype="<f4").reshape(-1, writer.dimension)
        faiss.write_index(vector_index(vectors, factory), str(writer.folder / "vectors.faiss"))
        record["dense"] = factory
    writer.seal(record)
    fsync_tree(writer.folder)


def _checked(path: Path) -> dict[str, Any]:
    return {"bytes": path.stat().st_size, CHECKSUM: checksum(path)}


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
    """Write ``documents`` as a generation of one segment (no reuse), publish it; its folder.
    ``skipped`` names the corpus files left out, with why; the manifest keeps them."""
    if not len(passages) == len(vectors) == len(tokens.offsets) - 1:
        raise ValueError(f"{len(passages)} passages but {len(vectors)} vectors")
    rows: dict[str, list[int]] = {}
    for row, passage in enumerate(passages):
        rows.setdefault(passage.doc_id, []).append(row)
    with GenerationWriter(index_dir, parameters.dimension) as writer:
        segment = writer.segment()
        for document in documents:
            mine = rows.get(document.doc_id, [])
            pieces = [(tokens.decoded(row), np.asarray(tokens.starts[tokens.rows(row)])) for row in mine]
            segment.add(document, [passages[row] for row in mine], np.asarray(vectors)[mine], pieces)
        writer.finish(segment, factory)
        return writer.publish(
            manifest_body(
                parameters, documents, writer.segments, factory, components or {}, len(passages), skipped
            ),
            keep,
        )


def manifest_body(
    parameters: BuildParameters,
    documents: Sequence[Document] | Mapping[str, str],
    segments: Sequence[dict[str, Any]],
    factory: str,
    components: dict[str, Any],
    passages: int,
    skipped: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """A manifest's content but its name and time (``GenerationWriter.publish`` adds those);
    ``skipped`` are the corpus files left out, with why."""
    return {
        **asdict(parameters),
        "corpus_fingerprint": corpus_fingerprint(documents),
        "documents": len(documents),
        "passages": passages,
        "segments": list(segments),
        "faiss_factory": factory,
        "components": components,
        "skipped": [{"doc_id": doc_id, "reason": reason} for doc_id, reason in skipped],
    }


def check_parameters(manifest: dict[str, Any], expected: BuildParameters, building: bool = False) -> None:
    """Raise ``IndexMismatch`` naming what differs between the index and the settings, among
    what searching it needs or, ``building`` on it, among all but the dimension."""
    ignored = {"dimension"} if building else SERVES_ANY
    differences = [
        f"{key} is {manifest.get(key, BEFORE.get(key))!r} in the index but {value!r} in the settings"
        for key, value in asdict(expected).items()
        if key not in ignored and manifest.get(key, BEFORE.get(key)) != value
    ]
    if differences:
        raise IndexMismatch(
            f"the index in {manifest.get('generation')} does not match the settings: "
            + "; ".join(differences)
            + ". Run `qa index` to rebuild it."
        )


def read_checked(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        if not isinstance(manifest, dict) or not isinstance(manifest.get("generation"), str):
            raise ValueError("not a manifest")
    except (OSError, ValueError) as error:
        raise IndexCorrupt(
            f"cannot read {path / 'manifest.json'}: {error}. Run `qa index` to rebuild."
        ) from error
    if manifest.get("format_version") != FORMAT_VERSION or not isinstance(manifest.get("segments"), list):
        raise IndexMismatch(
            f"the index in {path} has an older format (one folder of files per generation, before "
            "segments). Run `qa index` to rebuild it."
        )
    return manifest


def _load_segment(index_dir: Path, entry: dict[str, Any], searchable: bool) -> Segment:
    folder = index_dir / SEGMENTS / str(entry.get("name"))
    segment = load_segment(folder, entry.get("record"), searchable)
    segment.checked = entry.get("record")
    if searchable and segment.record.get("dense", "exact") != "exact":
        try:
            segment.ann = _read_faiss(folder / "vectors.faiss")
        except RuntimeError as error:
            raise IndexCorrupt(f"cannot load {folder / 'vectors.faiss'}: {error}. Run `qa index`.") from error
        if segment.ann.ntotal != segment.size:
            raise IndexCorrupt(
                f"{folder / 'vectors.faiss'} does not hold the segment's rows. Run `qa index`."
            )
    return segment


def _reusable(segment: Segment | None, entry: dict[str, Any], searchable: bool) -> bool:
    """Whether ``segment``, loaded for another generation, serves as ``entry`` of this one: the
    same segment.json record, and its search structures loaded if this load wants them."""
    if segment is None or segment.checked is None or segment.checked != entry.get("record"):
        return False
    dense = segment.record.get("dense", "exact") == "exact" or segment.ann is not None
    return not searchable or (segment.keyword is not None and dense)


def load_generation(
    index_dir: Path,
    expected: BuildParameters | None = None,
    name: str | None = None,
    searchable: bool = True,
    reuse: Generation | None = None,
) -> Generation:
    """Load generation ``name`` (by default the one ``CURRENT`` points at), its segments' files
    checked against their checksums (once per segment) and its parameters against ``expected``.
    ``searchable=False`` leaves the keyword statistics and approximate indexes unread (a Ray
    replica's catalog: passages and documents; its shards search). Segments are immutable, so
    those ``reuse`` (the generation served until now) already holds are taken as they are, not
    read again: a write's reload reads only its new segment."""
    name = name or current_generation(index_dir)
    if name is None:
        raise IndexNotFound(f"no index in {index_dir}. Run `qa index` to build one.")
    manifest = read_checked(index_dir / name)
    if expected is not None:
        check_parameters(manifest, expected)
    same_folder = reuse is not None and reuse.path.parent == index_dir
    known = {s.name: s for s in reuse.segments} if reuse is not None and same_folder else {}
    segments = [
        known[str(entry.get("name"))]
        if _reusable(known.get(str(entry.get("name"))), entry, searchable)
        else _load_segment(index_dir, entry, searchable)
        for entry in manifest["segments"]
    ]
    return Generation(name, index_dir / name, manifest, segments)
