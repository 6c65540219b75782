"""Tiered merges: many small segments (one per add) become one, so a query visits few segments.

A segment's tier is the order of magnitude of its live passages in base ``MERGE_FACTOR``; when a
tier holds ``MERGE_FACTOR`` segments they are merged into one of the next tier, and a segment
whose rows are mostly tombstones is rewritten alone (its deleted rows dropped). Each passage is
merged once per tier, so an index of N passages is rewritten O(log N) times in all, not at every
add; a merge never makes a segment larger than a build seals one (``SEGMENT_PASSAGES``: Lucene's
largest merged segment), so a segment's cost stays bounded and Ray has segments to spread. A
merge copies stored rows as they are (vectors, encoded word pieces, keyword counts recomputed
from the passages' texts): nothing is parsed or embedded again.

A merge runs in two steps, so that it holds up neither queries nor writes:

- ``prepare`` (no build lock: writes go on meanwhile) reads the published generation, copies the
  chosen segments' live rows into a new segment staged as ``.merging-seg-…``, sealed and fsynced;
  the one merge of an index folder holds the merge lock, so a prune leaves its staging alone;
- ``Prepared.publish`` (under the build lock, milliseconds) re-bases it on the generation
  published *now*: a document that a write deleted or replaced since, or whose input segment is
  gone, is tombstoned in the merged segment; the inputs' entries are replaced by the merged one
  and every other entry (a write's new segments) is kept. The manifest is published by the
  rename of ``CURRENT``, like any write's: a crash at any point leaves the last published
  generation served, and the next prune removes the dead merge's staging folder.
"""

from __future__ import annotations

import contextlib
import math
import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock, Timeout

from qa.core.config import Settings
from qa.core.protocols import TokenCodec
from qa.index.codec import FLOAT16, RESIDUAL_MIN_PASSAGES, TRAINING_SAMPLE, codec_for
from qa.index.generations import (
    MERGE_LOCK,
    MERGING,
    Generation,
    GenerationWriter,
    _stamp,
    choose_factory,
    current_generation,
    load_generation,
    read_checked,
    seal_segment,
)
from qa.index.segments import SEGMENT_PASSAGES, Segment, SegmentWriter

MERGE_FACTOR = 8
MOSTLY_DELETED = 0.5  # a segment with more of its rows tombstoned than this is rewritten


def tier(passages: int) -> int:
    return int(math.log(max(passages, 1), MERGE_FACTOR))


def choose(generation: Generation) -> list[int]:
    """Positions of the segments to merge next (none when the tiers are in order): the smallest
    tier holding ``MERGE_FACTOR`` segments small enough to merge, or else the first segment
    mostly deleted."""
    tiers: dict[int, list[int]] = {}
    for position, live in enumerate(generation.live):
        size = int(live.sum())
        if size * MERGE_FACTOR <= SEGMENT_PASSAGES:  # merged, at most as large as a build seals
            tiers.setdefault(tier(size), []).append(position)
    for level in sorted(tiers):
        if len(tiers[level]) >= MERGE_FACTOR:
            return tiers[level][:MERGE_FACTOR]
    for position, live in enumerate(generation.live):
        if len(live) and 1 - live.mean() > MOSTLY_DELETED:
            return [position]
    return []


def _copy(segment: Segment, gone: set[str], writer: SegmentWriter) -> set[str]:
    """The documents of ``segment`` not in ``gone`` (its tombstones): stored rows as they are, word
    pieces re-encoded only when the merged segment's codec is another one; their doc_ids."""
    table = segment.tokens
    same = table.codec is writer.codec or table.codec.name == writer.codec.name == FLOAT16.name
    for doc_id, entry in sorted(segment.entries.items(), key=lambda item: item[1].first):
        if doc_id in gone:
            continue
        rows = list(entry.rows)
        pieces = [
            (
                np.asarray(table.vectors[table.rows(r)]) if same else table.decoded(r),
                np.asarray(table.starts[table.rows(r)]),
            )
            for r in rows
        ]
        passages = [segment.passage(r) for r in rows]
        vectors = np.asarray(segment.vectors[rows]).reshape(len(rows), writer.dimension)  # rows may be none
        writer.add(segment.document(doc_id), passages, vectors, pieces, encoded=same)
    return set(segment.entries) - gone


def _codec(segments: list[Segment], sizes: list[int], token_codec: str) -> TokenCodec:
    """The merged segment's codec: the largest input's, unless the setting's learning codec is
    due now that the merged segment is big enough (learnt from the inputs' word pieces)."""
    largest = segments[int(np.argmax(sizes))].tokens
    if largest.codec.name == token_codec or sum(sizes) < RESIDUAL_MIN_PASSAGES:
        return largest.codec
    sample = [s.tokens.codec.decode(np.asarray(s.tokens.vectors[:TRAINING_SAMPLE])) for s in segments]
    return codec_for(token_codec, sum(sizes), np.concatenate(sample))


@dataclass
class Prepared:
    """A merged segment staged in ``folder``, sealed, not yet in any generation: the documents it
    copied from each input segment (by name), as they were live in the generation merged."""

    folder: Path
    dimension: int
    copied: dict[str, set[str]]

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def publish(self, index_dir: Path, keep: int) -> str | None:
        """Re-base the merge on the generation published now and publish it (the caller holds the
        build lock); its name, or None when none of the inputs is served any more (a full build
        replaced them): then the merge is dropped."""
        name = current_generation(index_dir)
        manifest = read_checked(index_dir / name) if name else {"segments": []}
        entries: list[dict[str, Any]] = manifest["segments"]
        names = [str(entry["name"]) for entry in entries]
        present = [names.index(n) for n in self.copied if n in names]
        if not present:
            self.discard()
            return None
        tombstones: set[str] = set()
        for segment, documents in self.copied.items():
            # deleted or replaced since the merge read it; or all of it gone (merged elsewhere)
            gone = set(entries[names.index(segment)]["deleted"]) if segment in names else documents
            tombstones |= documents & gone
        kept = [entry for entry in entries if entry["name"] not in self.copied]
        at = sum(1 for entry in entries[: min(present)] if entry["name"] not in self.copied)
        with GenerationWriter(index_dir, self.dimension) as writer:
            if set().union(*self.copied.values()) - tombstones:
                kept.insert(at, writer.adopt(self.folder, sorted(tombstones)))
            else:
                self.discard()
            body = {
                k: v for k, v in manifest.items() if k not in ("format_version", "generation", "built_at")
            }
            return writer.publish({**body, "segments": kept}, keep).name


def prepare(index_dir: Path, settings: Settings) -> Prepared | None:
    """Merge the segments ``choose`` picks in the published generation into a staged segment
    (``Prepared``), or None when there is nothing to merge. The caller holds the merge lock."""
    generation = load_generation(index_dir, searchable=False)
    chosen = choose(generation)
    if not chosen:
        return None
    segments = [generation.segments[p] for p in chosen]
    sizes = [int(generation.live[p].sum()) for p in chosen]
    folder = index_dir / f"{MERGING}{_stamp('seg')}"
    try:
        codec = _codec(segments, sizes, settings.token_codec)
        merged = SegmentWriter(folder, int(generation.manifest["dimension"]), codec)
        copied = {}
        for position, segment in zip(chosen, segments, strict=True):
            gone = set(generation.manifest["segments"][position].get("deleted", []))
            copied[segment.name] = _copy(segment, gone, merged)
        seal_segment(merged, choose_factory(settings.index_factory, merged.size, settings.ann_threshold))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return Prepared(folder, int(generation.manifest["dimension"]), copied)


@contextmanager
def merge_lock(index_dir: Path) -> Iterator[bool]:
    """Hold the index folder's merge lock; yields False (without it) when another merge runs."""
    lock = FileLock(index_dir / MERGE_LOCK)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        yield False
        return
    try:
        yield True
    finally:
        lock.release()


def merge_once(
    index_dir: Path,
    settings: Settings,
    publishing: Callable[[], AbstractContextManager[object]] = contextlib.nullcontext,
    prepared_hook: Callable[[], None] | None = None,
) -> str | None:
    """One merge: ``prepare`` it, then publish it while holding ``publishing()`` (the build lock;
    by default the caller holds it already); the generation published, or None when there was
    nothing to merge (or another merge runs). ``prepared_hook`` runs between the two steps."""
    with merge_lock(index_dir) as mine:
        if not mine:
            return None
        prepared = prepare(index_dir, settings)
        if prepared is None:
            return None
        try:
            if prepared_hook is not None:
                prepared_hook()
            with publishing():
                return prepared.publish(index_dir, settings.keep_generations)
        finally:
            prepared.discard()  # a no-op once published (the folder was moved)


def merge_all(index_dir: Path, settings: Settings) -> list[str]:
    """Merge until the tiers are in order (the caller holds the build lock); the generations
    published on the way."""
    published: list[str] = []
    while (name := merge_once(index_dir, settings)) is not None:
        published.append(name)
    return published


def rewrite(index_dir: Path, settings: Settings, codec: TokenCodec) -> str:
    """Every live row of the published generation copied into one segment written with ``codec``
    (Lucene's force-merge; also how an index moves to another codec without embedding again)."""
    generation = load_generation(index_dir, searchable=False)
    with GenerationWriter(index_dir, int(generation.manifest["dimension"])) as writer:
        merged = writer.segment(codec)
        for entry, segment in zip(generation.manifest["segments"], generation.segments, strict=True):
            _copy(segment, set(entry.get("deleted", [])), merged)
        factory = choose_factory(settings.index_factory, merged.size, settings.ann_threshold)
        entries = [writer.finish(merged, factory)] if merged.entries else []
        body = {
            k: v
            for k, v in generation.manifest.items()
            if k not in ("format_version", "generation", "built_at")
        }
        components = {**body.get("components", {}), "token_codec": codec.name}
        return writer.publish(
            {**body, "segments": entries, "components": components}, settings.keep_generations
        ).name
