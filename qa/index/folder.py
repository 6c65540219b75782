"""An index folder's own files: ``CURRENT`` (the served generation, replaced by an atomic rename),
the generations' manifests as plain JSON, and pruning (generations beyond the kept ones, dead
writes' and dead merges' staging folders, segments no kept generation names).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from qa.core.files import fsync_folder

POINTER = "CURRENT"
SEGMENTS = "segments"
MERGING = ".merging-"  # a background merge stages its segment here, outside the build lock
MERGE_LOCK = ".merge.lock"  # held by the one merge running on an index folder


def older_generations(index_dir: Path, name: str) -> list[str]:
    """Generations on disk older than ``name``, newest first (names sort by build time)."""
    names = (path.name for path in index_dir.glob("gen-*") if path.is_dir())
    return sorted((older for older in names if older < name), reverse=True)


def _named_segments(folder: Path) -> set[str]:
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        return {str(entry["name"]) for entry in manifest.get("segments", [])}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return set()  # a generation that cannot be read cannot be loaded either


def prune(index_dir: Path, keep: int) -> list[str]:
    """Delete all but the newest ``keep`` generations (never the current one), what dead writes
    left behind, and every segment no remaining generation names; return what went.

    A server still reading a deleted generation keeps working: its open and memory-mapped files
    live on until it lets go of them. Writers run one at a time under the build lock, so any
    ``.tmp-`` staging folder found is a dead write's; a background merge stages its segment
    outside that lock (``MERGING``), and those folders go only while no merge holds its lock."""
    current = current_generation(index_dir)
    generations = sorted(path.name for path in index_dir.glob("gen-*") if path.is_dir())
    doomed = [name for name in generations[: max(len(generations) - max(keep, 1), 0)] if name != current]
    for name in doomed:  # renamed first: a kill mid-delete leaves no half generation named gen-*
        with contextlib.suppress(OSError):
            os.rename(index_dir / name, index_dir / f".tmp-pruned-{name}")
    doomed += [
        path.name for path in index_dir.glob(".tmp-*") if path.is_dir() and "-pruned-" not in path.name
    ]
    for path in index_dir.glob(".tmp-*"):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
    doomed += _dead_merges(index_dir)
    named = set().union(*(_named_segments(p) for p in index_dir.glob("gen-*") if p.is_dir()))
    for folder in sorted((index_dir / SEGMENTS).glob("seg-*")):
        if folder.name not in named:
            shutil.rmtree(folder, ignore_errors=True)
            doomed.append(f"{SEGMENTS}/{folder.name}")
    return doomed


def _dead_merges(index_dir: Path) -> list[str]:
    """Remove the staging folders of merges that died (``MERGING``*, left when no process holds the
    merge lock); their names."""
    staged = [path for path in index_dir.glob(f"{MERGING}*") if path.is_dir()]
    if not staged:
        return []
    lock = FileLock(index_dir / MERGE_LOCK)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return []  # a merge is writing them now
    try:
        for path in staged:
            shutil.rmtree(path, ignore_errors=True)
    finally:
        lock.release()
    return [path.name for path in staged]


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


def read_manifest(index_dir: Path, name: str | None = None) -> dict[str, Any] | None:
    name = name or current_generation(index_dir)
    if name is None:
        return None
    try:
        manifest: dict[str, Any] = json.loads(
            (index_dir / name / "manifest.json").read_text(encoding="utf-8")
        )
    except (OSError, ValueError):
        return None
    return manifest
