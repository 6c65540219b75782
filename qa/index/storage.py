"""Files of an index on disk: raw arrays, JSON lines, checksums and the record of a verification.

Arrays are raw little-endian files whose dtype and shape the segment's ``segment.json`` records:
they are written by appending batch after batch (a build never holds a whole segment in memory)
and read back memory-mapped. Every file's size and xxh3-128 checksum are recorded when it is
written; ``verify`` checks them once and records that it did (``verified.json``, keyed by each
file's size, modification time and inode), so a generation that shares its segments with the
one before loads without reading them again. The trade: damage that changes neither the size nor
the modification time of a file already verified (a bad sector, not an edit) goes unseen until
its next rewrite.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import xxhash

from qa.core.errors import IndexCorrupt
from qa.core.files import fsync_folder

# A checksum catches truncation and flipped bytes, not tampering: xxh3-128 does that at memory speed
# (3.5 GB/s here against SHA-256's 0.9). Files recorded with SHA-256 still verify.
CHECKSUM = "xxh3_128"
HASHES: dict[str, Any] = {"xxh3_128": xxhash.xxh3_128, "sha256": "sha256"}
FULL_DISK_BYTES = 1024 * 1024  # free space under which a short write counts as a full disk
RECORD = "verified.json"


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def read_array(path: Path, dtype: str, shape: tuple[int, ...]) -> npt.NDArray[Any]:
    """A raw array file, memory-mapped read-only (an empty one as an empty array: mmap refuses it)."""
    if not int(np.prod(shape)):
        return np.zeros(shape, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r", shape=shape)


def checksum(path: Path, algorithm: str = CHECKSUM) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, HASHES[algorithm]).hexdigest()


def file_checksums(folder: Path, leave_out: Iterable[str] = ()) -> dict[str, dict[str, Any]]:
    """Relative path -> {"bytes", CHECKSUM} of every file under ``folder`` but ``leave_out``."""
    skipped = {*leave_out, RECORD}
    return {
        path.relative_to(folder).as_posix(): {"bytes": path.stat().st_size, CHECKSUM: checksum(path)}
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.relative_to(folder).as_posix() not in skipped
    }


def fsync_tree(folder: Path) -> None:
    """Every file under ``folder`` and the folders themselves on disk, before a rename publishes it."""
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
        elif path.is_dir():
            fsync_folder(path)
    fsync_folder(folder)


def _signature(path: Path) -> list[int]:
    status = path.stat()
    return [status.st_size, status.st_mtime_ns, status.st_ino]


def _recorded(folder: Path) -> dict[str, Any]:
    try:
        record = json.loads((folder / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _check_file(file: Path, expected: dict[str, Any]) -> None:
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


def verify(folder: Path, listed: dict[str, dict[str, Any]], record: bool = True) -> None:
    """Raise ``IndexCorrupt`` naming the first file of ``listed`` that is missing, of another size
    or fails its checksum; files verified before and unchanged since are not read again. The
    result is recorded in ``folder`` (``record``), best effort: a read-only index still loads."""
    before = _recorded(folder)
    seen = dict(before)  # the record covers every file verified so far, listed here or not
    for relative, expected in listed.items():
        file = folder / relative
        with contextlib.suppress(OSError):
            if before.get(relative) == _signature(file) and file.stat().st_size == expected.get("bytes"):
                continue
        _check_file(file, expected)
        seen[relative] = _signature(file)
    if record and seen != before:
        staging = folder / f".{RECORD}.{os.getpid()}"
        with contextlib.suppress(OSError):
            staging.write_text(json.dumps(seen), encoding="utf-8")
            os.replace(staging, folder / RECORD)


def write_failure(index_dir: Path, error: OSError) -> str:
    """Why a write failed, in words. Some writers (numpy) report a full disk as a short write with
    no errno, so the free space decides then."""
    full = error.errno == errno.ENOSPC
    if error.errno is None:
        with contextlib.suppress(OSError):
            full = shutil.disk_usage(index_dir).free < FULL_DISK_BYTES
    if full:
        return "the disk is full"
    return os.strerror(error.errno) if error.errno else str(error)
