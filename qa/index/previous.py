"""The served generation as the next write sees it: which segments to keep, which documents they
hold, and the tombstones a change adds; read from the segments' document tables alone (no
passage, vector or text is read), each segment's files verified first (once: see
``qa.index.storage.verify``), so a damaged segment is never carried into a new generation.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.core.errors import IndexCorrupt, IndexNotFound
from qa.index.generations import (
    SEGMENTS,
    BuildParameters,
    check_parameters,
    current_generation,
    read_checked,
    read_manifest,
)
from qa.index.segments import Entry, read_record
from qa.index.storage import verify


@dataclass
class Previous:
    """A generation's segment entries (name, record checksum, tombstones) and its live documents:
    doc_id -> (the entry's position, the document's place in that segment)."""

    manifest: dict[str, Any]
    tables: list[dict[str, Entry]]
    owners: dict[str, tuple[int, Entry]]

    def without(self, doc_ids: Iterable[str]) -> tuple[list[dict[str, Any]], int]:
        """The entries with ``doc_ids`` tombstoned (segments left with no live document dropped),
        and the live passages they still hold."""
        entries = copy.deepcopy(self.manifest["segments"])
        for doc_id in doc_ids:
            if doc_id in self.owners:
                entries[self.owners[doc_id][0]]["deleted"].append(doc_id)
        kept, passages = [], 0
        for entry, table in zip(entries, self.tables, strict=True):
            gone = set(entry["deleted"])
            live = [e for doc_id, e in table.items() if doc_id not in gone]
            if live:
                kept.append(entry)
                passages += sum(e.count for e in live)
        return kept, passages

    @property
    def documents(self) -> dict[str, str]:
        return {doc_id: entry.content_hash for doc_id, (_, entry) in self.owners.items()}


def open_previous(index_dir: Path, expected: BuildParameters) -> Previous:
    """The published generation, checked (``IndexError_`` when it does not load as it is)."""
    name = current_generation(index_dir)
    if name is None:
        raise IndexNotFound(f"no index in {index_dir}. Run `qa index` to build one.")
    manifest = read_checked(index_dir / name)
    check_parameters(manifest, expected, building=True)
    tables: list[dict[str, Entry]] = []
    owners: dict[str, tuple[int, Entry]] = {}
    for position, entry in enumerate(manifest["segments"]):
        folder = index_dir / SEGMENTS / str(entry.get("name"))
        record = read_record(folder, entry.get("record"))
        verify(folder, record["files"])
        try:
            table = json.loads((folder / "documents.json").read_text(encoding="utf-8"))
            entries = {doc_id: Entry(*values) for doc_id, values in table.items()}
        except (OSError, ValueError, TypeError) as error:
            raise IndexCorrupt(
                f"cannot read {folder / 'documents.json'}: {error}. Run `qa index`."
            ) from error
        tables.append(entries)
        gone = set(entry.get("deleted", []))
        owners.update({doc_id: (position, e) for doc_id, e in entries.items() if doc_id not in gone})
    return Previous(manifest, tables, owners)


def read_documents(index_dir: Path) -> dict[str, str]:
    """doc_id -> content hash of every live document of the published generation, unchecked ({}
    when it cannot be read): what a build compares against to say what was added, changed or
    removed, even when it cannot reuse the generation."""
    manifest = read_manifest(index_dir)
    hashes: dict[str, str] = {}
    try:
        for entry in manifest["segments"] if manifest else []:
            table = json.loads((index_dir / SEGMENTS / entry["name"] / "documents.json").read_text("utf-8"))
            gone = set(entry.get("deleted", []))
            hashes.update({doc_id: values[0] for doc_id, values in table.items() if doc_id not in gone})
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return {}
    return hashes
