"""Tiered merges: many small segments (one per add) become one, so a query visits few segments.

A segment's tier is the order of magnitude of its live passages in base ``MERGE_FACTOR``; when a
tier holds ``MERGE_FACTOR`` segments they are merged into one of the next tier, and a segment
whose rows are mostly tombstones is rewritten alone (its deleted rows dropped). Each passage is
merged once per tier, so an index of N passages is rewritten O(log N) times in all, not at every
add. A merge copies stored rows as they are (vectors, encoded word pieces, keyword counts
recomputed from the passages' texts): nothing is parsed or embedded again.

A merge is a write like any other: under the build lock, its segment and manifest written by a
``GenerationWriter`` and published by the rename of ``CURRENT``; queries go on against the
generation they hold, and a crash leaves the last published generation served.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from qa.core.config import Settings
from qa.core.protocols import TokenCodec
from qa.index.codec import FLOAT16, RESIDUAL_MIN_PASSAGES, TRAINING_SAMPLE, codec_for
from qa.index.generations import Generation, GenerationWriter, choose_factory, load_generation
from qa.index.segments import Segment, SegmentWriter

MERGE_FACTOR = 8
MOSTLY_DELETED = 0.5  # a segment with more of its rows tombstoned than this is rewritten


def tier(passages: int) -> int:
    return int(math.log(max(passages, 1), MERGE_FACTOR))


def choose(generation: Generation) -> list[int]:
    """Positions of the segments to merge next (none when the tiers are in order): the smallest
    tier holding ``MERGE_FACTOR`` segments, or else the first segment mostly deleted."""
    tiers: dict[int, list[int]] = {}
    for position, live in enumerate(generation.live):
        tiers.setdefault(tier(int(live.sum())), []).append(position)
    for level in sorted(tiers):
        if len(tiers[level]) >= MERGE_FACTOR:
            return tiers[level][:MERGE_FACTOR]
    for position, live in enumerate(generation.live):
        if len(live) and 1 - live.mean() > MOSTLY_DELETED:
            return [position]
    return []


def _copy(segment: Segment, gone: set[str], writer: SegmentWriter) -> None:
    """The documents of ``segment`` not in ``gone`` (its tombstones): stored rows as they are, word
    pieces re-encoded only when the merged segment's codec is another one."""
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
        vectors = np.asarray(segment.vectors[rows]).reshape(len(rows), -1)
        writer.add(segment.document(doc_id), passages, vectors, pieces, encoded=same)


def _codec(segments: list[Segment], sizes: list[int], token_codec: str) -> TokenCodec:
    """The merged segment's codec: the largest input's, unless the setting's learning codec is
    due now that the merged segment is big enough (learnt from the inputs' word pieces)."""
    largest = segments[int(np.argmax(sizes))].tokens
    if largest.codec.name == token_codec or sum(sizes) < RESIDUAL_MIN_PASSAGES:
        return largest.codec
    sample = [s.tokens.codec.decode(np.asarray(s.tokens.vectors[:TRAINING_SAMPLE])) for s in segments]
    return codec_for(token_codec, sum(sizes), np.concatenate(sample))


def merge_once(index_dir: Path, settings: Settings) -> str | None:
    """Merge the segments ``choose`` picks in the published generation and publish the result;
    its name, or None when there was nothing to merge. The caller holds the build lock."""
    generation = load_generation(index_dir, searchable=False)
    chosen = choose(generation)
    if not chosen:
        return None
    segments = [generation.segments[p] for p in chosen]
    sizes = [int(generation.live[p].sum()) for p in chosen]
    with GenerationWriter(index_dir, int(generation.manifest["dimension"])) as writer:
        merged = writer.segment(_codec(segments, sizes, settings.token_codec))
        for position, segment in zip(chosen, segments, strict=True):
            _copy(segment, set(generation.manifest["segments"][position].get("deleted", [])), merged)
        entries = list(generation.manifest["segments"])
        if merged.entries:
            factory = choose_factory(settings.index_factory, merged.size, settings.ann_threshold)
            entries[chosen[0]] = writer.finish(merged, factory)
        else:
            merged.close()
        kept = [
            e for p, e in enumerate(entries) if p not in chosen[1:] and (merged.entries or p != chosen[0])
        ]
        body = {
            k: v
            for k, v in generation.manifest.items()
            if k not in ("format_version", "generation", "built_at")
        }
        return writer.publish({**body, "segments": kept}, settings.keep_generations).name


def merge_all(index_dir: Path, settings: Settings) -> list[str]:
    """Merge until the tiers are in order; the generations published on the way."""
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
