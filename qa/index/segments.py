"""Segments: the immutable parts a generation is made of, written once, shared by generations.

A segment holds some documents, their passages, the passages' vectors and word pieces, and the
passages' keyword statistics::

    segments/seg-20261125T101500123456-3f2a9c/
      segment.json        counts, dtype and shape of every array, the token codec, the dense
                          search kind, and each other file's size and checksum
      vectors.f32         float32 (passages, dimension), L2-normalised: the only copy of them
      vectors.faiss       an approximate index over them, for large segments only
      tokens.bin          word-piece vectors of every passage, through the token codec
      token_starts.i32    document offset of each word piece, -1 for the context (heading)
      token_offsets.i64   passage r owns word pieces offsets[r]:offsets[r + 1]
      passages.jsonl      one passage a line, row r = line r, read when asked for
      passage_offsets.i64 where each line starts (and the last ends)
      documents.jsonl     one document a line: the exact text citations index into
      documents.json      per document: content hash, byte span in documents.jsonl, its rows
      fields.json         per document: its title and plain metadata values, what ``meta``
                          filters match (segments written before it have none: read from
                          documents.jsonl when first asked for)
      keyword/            vocabulary, postings (row, term frequency) by word, passage lengths

A document's passages are contiguous rows. Texts of documents are read from disk when asked for.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import IO, Any, overload

import numpy as np
import numpy.typing as npt

from qa.core.errors import IndexCorrupt
from qa.core.filters import document_fields
from qa.core.kept import Kept
from qa.core.protocols import TokenCodec
from qa.core.types import Document, Passage, TokenVectors, Vectors
from qa.index.codec import FLOAT16, load_codec
from qa.index.keyword import KeywordSegment, KeywordWriter
from qa.index.storage import file_checksums, read_array, verify

SEGMENT_FORMAT = 1
SEGMENT_PASSAGES = 65_536  # a build seals a segment at this size, and no merge makes a larger one
RECORD = "segment.json"
FIELDS = "fields.json"
KEPT_DOCUMENTS = 8  # documents a loaded segment keeps, the latest read (segments are immutable)
KEPT_PASSAGES = 4096  # passages a loaded segment keeps, the latest read


@dataclass(frozen=True)
class TokenTable:
    """Word-piece vectors of some passages, stacked as the codec stores them, with the document
    offset each one starts at."""

    vectors: npt.NDArray[Any]
    starts: npt.NDArray[np.int32]
    offsets: npt.NDArray[np.int64]  # one entry more than passages
    codec: TokenCodec = FLOAT16

    def rows(self, row: int) -> slice:
        return slice(int(self.offsets[row]), int(self.offsets[row + 1]))

    def decoded(self, row: int) -> npt.NDArray[np.float32]:
        return self.codec.decode(np.asarray(self.vectors[self.rows(row)]))

    @classmethod
    def stack(cls, pieces: Sequence[tuple[npt.NDArray[Any], npt.NDArray[Any]]], dimension: int) -> TokenTable:
        """From (vectors, starts) per passage, in passage order, stored as float16."""
        offsets = np.zeros(len(pieces) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(starts) for _, starts in pieces])
        if not pieces:
            return cls(np.zeros((0, dimension), np.float16), np.zeros(0, np.int32), offsets)
        vectors = FLOAT16.encode(np.concatenate([v for v, _ in pieces]).reshape(-1, dimension))
        return cls(vectors, np.concatenate([s for _, s in pieces]).astype(np.int32), offsets)


@dataclass(frozen=True)
class Entry:
    """Where one document of a segment is: its text's bytes in documents.jsonl, its rows."""

    content_hash: str
    offset: int
    length: int
    first: int
    count: int

    @property
    def rows(self) -> range:
        return range(self.first, self.first + self.count)


class SegmentWriter:
    """Writes a segment into ``folder`` document by document: arrays are appended as they come,
    so memory holds one batch, not the segment."""

    def __init__(self, folder: Path, dimension: int, codec: TokenCodec = FLOAT16) -> None:
        folder.mkdir(parents=True)
        self.folder, self.dimension, self.codec = folder, dimension, codec
        self.files: dict[str, IO[Any]] = {
            name: (folder / name).open("wb")
            for name in ("vectors.f32", "tokens.bin", "token_starts.i32", "passages.jsonl", "documents.jsonl")
        }
        self.entries: dict[str, Entry] = {}
        self.fields: dict[str, dict[str, str]] = {}
        self.counts: list[int] = []
        self.line_ends: list[int] = []  # byte offset where each passage's line ends
        self.keyword = KeywordWriter()
        self.bytes = 0

    @property
    def size(self) -> int:
        return len(self.counts)

    def _lines(self, name: str, rows: Sequence[dict[str, Any]]) -> int:
        data = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8")
        self.files[name].write(data)
        return len(data)

    def add(
        self,
        document: Document,
        passages: Sequence[Passage],
        vectors: Vectors,
        tokens: Sequence[TokenVectors],
        encoded: bool = False,
    ) -> None:
        """One document with its passages (in order), their vectors and their word pieces (as the
        codec stores them when ``encoded``: a merge copies them without a round trip)."""
        if not len(passages) == len(vectors) == len(tokens):
            raise ValueError(f"{len(passages)} passages but {len(vectors)} vectors")
        length = self._lines("documents.jsonl", [{**asdict(document), "content_hash": document.content_hash}])
        self.entries[document.doc_id] = Entry(
            document.content_hash, self.bytes, length, self.size, len(passages)
        )
        self.fields[document.doc_id] = document_fields(document.title, document.metadata)
        self.bytes += length
        first = self.size
        ends = self.line_ends[-1] if self.line_ends else 0
        for i, passage in enumerate(passages):
            ends += self._lines("passages.jsonl", [{**asdict(passage), "passage_id": first + i}])
            self.line_ends.append(ends)
        self.files["vectors.f32"].write(np.ascontiguousarray(vectors, dtype="<f4").tobytes())
        if tokens:  # the document's word pieces through the codec at once (one product, not one a passage)
            width = self.codec.width(self.dimension) if encoded else self.dimension
            pieces = np.concatenate([np.asarray(p).reshape(-1, width) for p, _ in tokens])
            stored = pieces if encoded else self.codec.encode(pieces.astype(np.float32, copy=False))
            self.files["tokens.bin"].write(np.ascontiguousarray(stored, dtype=self.codec.dtype).tobytes())
            starts = np.concatenate([np.asarray(s, dtype="<i4").ravel() for _, s in tokens])
            self.files["token_starts.i32"].write(starts.astype("<i4", copy=False).tobytes())
            self.counts.extend(len(s) for _, s in tokens)
        self.keyword.add([p.embedding_text for p in passages])

    def close(self) -> dict[str, Any]:
        """Write what remains (offsets, document table, keyword statistics); the record so far."""
        for handle in self.files.values():
            handle.close()
        offsets = np.zeros(self.size + 1, dtype="<i8")
        np.cumsum(self.counts, out=offsets[1:])
        offsets.tofile(self.folder / "token_offsets.i64")
        np.asarray([0, *self.line_ends], dtype="<i8").tofile(self.folder / "passage_offsets.i64")
        self.codec.save(self.folder)
        table = {doc_id: list(asdict(entry).values()) for doc_id, entry in self.entries.items()}
        (self.folder / "documents.json").write_text(json.dumps(table, ensure_ascii=False), encoding="utf-8")
        (self.folder / FIELDS).write_text(json.dumps(self.fields, ensure_ascii=False), encoding="utf-8")
        return {
            "format": SEGMENT_FORMAT,
            "passages": self.size,
            "documents": len(self.entries),
            "word_pieces": int(offsets[-1]),
            "dimension": self.dimension,
            "token_codec": self.codec.name,
            "token_width": self.codec.width(self.dimension),
            "token_dtype": self.codec.dtype,
            "keyword": self.keyword.save(self.folder / "keyword"),
            "dense": "exact",
        }

    def seal(self, record: dict[str, Any]) -> None:
        """Checksum every file and write ``segment.json`` last."""
        record = {**record, "files": file_checksums(self.folder, [RECORD])}
        (self.folder / RECORD).write_text(json.dumps(record, indent=1), encoding="utf-8")


@dataclass
class Segment:
    """A loaded segment: memory-mapped arrays, its passages, and its documents' places on disk."""

    name: str
    path: Path
    record: dict[str, Any]
    lines: npt.NDArray[np.int64]  # passages.jsonl: passage r is bytes lines[r]:lines[r + 1]
    entries: dict[str, Entry]
    vectors: Vectors
    tokens: TokenTable
    keyword: KeywordSegment | None
    ann: Any = None  # a faiss index over ``vectors`` for large segments, set by the generation loader
    checked: dict[str, Any] | None = None  # the manifest's record of segment.json it was verified against

    @property
    def size(self) -> int:
        return len(self.lines) - 1

    @cached_property
    def _lines_file(self) -> npt.NDArray[np.uint8]:
        return read_array(self.path / "passages.jsonl", "u1", (int(self.lines[-1]),))

    def passage(self, row: int, number: int | None = None) -> Passage:
        """Passage ``row``, read from disk (memory-mapped), numbered ``number`` (default ``row``);
        the latest ``KEPT_PASSAGES`` read are kept, as a question reads its candidates several times."""
        key = (row, row if number is None else number)
        kept = self._passages.get(key)
        if kept is not None:
            return kept
        fields = json.loads(bytes(self._lines_file[int(self.lines[row]) : int(self.lines[row + 1])]))
        passage = Passage(**{**fields, "passage_id": key[1]})
        self._passages.put(key, passage)
        return passage

    @cached_property
    def _passages(self) -> Kept[tuple[int, int], Passage]:
        return Kept(KEPT_PASSAGES)

    @cached_property
    def fields(self) -> dict[str, dict[str, str]]:
        """doc_id -> the document's fields (``qa.core.filters.document_fields``), read once."""
        path = self.path / FIELDS
        if path.exists():
            found: dict[str, dict[str, str]] = json.loads(path.read_text(encoding="utf-8"))
            return found
        fields = {}  # a segment written before fields.json: from its documents, once
        with (self.path / "documents.jsonl").open("rb") as handle:
            for line in handle:
                row = json.loads(line)
                fields[row["doc_id"]] = document_fields(row["title"], row["metadata"])
        return fields

    def document(self, doc_id: str) -> Document:
        """The document, read from disk; the latest ``KEPT_DOCUMENTS`` read are kept (a question's
        hits and its reader's evidence mostly come from a few documents, read again and again)."""
        kept = self._documents.get(doc_id)
        if kept is not None:
            return kept
        entry = self.entries[doc_id]
        with (self.path / "documents.jsonl").open("rb") as handle:
            handle.seek(entry.offset)
            row = json.loads(handle.read(entry.length))
        document = Document(row["doc_id"], row["title"], row["text"], row["metadata"])
        self._documents.put(doc_id, document)
        return document

    @cached_property
    def _documents(self) -> Kept[str, Document]:
        return Kept(KEPT_DOCUMENTS)


class Documents(Mapping[str, Document]):
    """The live documents of a generation by doc_id, each read from its segment when asked for."""

    def __init__(self, owners: dict[str, Segment]) -> None:
        self.owners = owners

    def __getitem__(self, doc_id: str) -> Document:
        return self.owners[doc_id].document(doc_id)

    def __iter__(self) -> Iterator[str]:
        return iter(self.owners)

    def __len__(self) -> int:
        return len(self.owners)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self.owners

    def hashes(self) -> dict[str, str]:
        """doc_id -> content hash of every document, from the segments' tables (no text read)."""
        return {doc_id: segment.entries[doc_id].content_hash for doc_id, segment in self.owners.items()}


class Passages(Sequence[Passage]):
    """Every row's passage, read from its segment when asked for; ``passage_id`` is the row."""

    def __init__(self, segments: Sequence[Segment], bases: np.ndarray[Any, np.dtype[np.int64]]) -> None:
        self.segments, self.bases = segments, bases

    def __len__(self) -> int:
        return int(self.bases[-1])

    @overload
    def __getitem__(self, row: int) -> Passage: ...

    @overload
    def __getitem__(self, row: slice) -> list[Passage]: ...

    def __getitem__(self, row: int | slice) -> Passage | list[Passage]:
        if isinstance(row, slice):
            return [self[r] for r in range(*row.indices(len(self)))]
        if not -len(self) <= row < len(self):
            raise IndexError(row)
        row %= len(self)
        segment = int(np.searchsorted(self.bases, row, side="right")) - 1
        return self.segments[segment].passage(row - int(self.bases[segment]), row)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]


def read_record(folder: Path, expected: dict[str, Any] | None) -> dict[str, Any]:
    """``segment.json``, checked against the size and checksum the manifest recorded for it."""
    if expected is not None:
        verify(folder, {RECORD: expected})
    try:
        record = json.loads((folder / RECORD).read_text(encoding="utf-8"))
        if not isinstance(record, dict) or record.get("format") != SEGMENT_FORMAT:
            raise ValueError("not a segment record")
    except (OSError, ValueError) as error:
        raise IndexCorrupt(f"cannot read {folder / RECORD}: {error}. Run `qa index` to rebuild.") from error
    return record


def load_segment(folder: Path, expected: dict[str, Any] | None, searchable: bool = True) -> Segment:
    """Open the segment in ``folder``, its files verified (once: ``qa.index.storage.verify``)."""
    record = read_record(folder, expected)
    verify(folder, record["files"])
    try:
        size, pieces, dimension = (
            int(record["passages"]),
            int(record["word_pieces"]),
            int(record["dimension"]),
        )
        codec = load_codec(record["token_codec"], folder, dimension)
        tokens = TokenTable(
            read_array(folder / "tokens.bin", record["token_dtype"], (pieces, int(record["token_width"]))),
            read_array(folder / "token_starts.i32", "<i4", (pieces,)),
            np.asarray(read_array(folder / "token_offsets.i64", "<i8", (size + 1,))),
            codec,
        )
        table = json.loads((folder / "documents.json").read_text(encoding="utf-8"))
        entries = {doc_id: Entry(*values) for doc_id, values in table.items()}
        lines = np.asarray(read_array(folder / "passage_offsets.i64", "<i8", (size + 1,)))
        vectors = read_array(folder / "vectors.f32", "<f4", (size, dimension))
        keyword = KeywordSegment.load(folder / "keyword", record["keyword"], size) if searchable else None
    except Exception as error:  # numpy and json each fail their own way on bad files
        raise IndexCorrupt(
            f"cannot load the segment in {folder}: {error}. Run `qa index` to rebuild."
        ) from error
    if int(lines[-1]) != (folder / "passages.jsonl").stat().st_size or int(tokens.offsets[-1]) != pieces:
        raise IndexCorrupt(
            f"the segment in {folder} is inconsistent (passage counts differ). Run `qa index`."
        )
    return Segment(folder.name, folder, record, lines, entries, vectors, tokens, keyword)
