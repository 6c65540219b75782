"""The corpus walk: every file under a folder, parsed, and every one that is not indexed named
with the reason (an unsupported format, a hidden path, a parse failure): nothing is left out
silently."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from qa.core.errors import DocumentError
from qa.core.types import Document
from qa.ingest.formats import SUPPORTED_SUFFIXES, load_file

log = logging.getLogger(__name__)

Parsed = Callable[[int], None]  # documents parsed so far


@dataclass
class LoadReport:
    documents: list[Document] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (doc_id, reason)


def supported_formats() -> str:
    return ", ".join(sorted(SUPPORTED_SUFFIXES))


def _walk(corpus_dir: Path) -> Iterator[tuple[str, Path, str]]:
    """(doc_id, path, reason) for every file under ``corpus_dir`` in a stable order; ``reason``
    is "" for a file to index. A hidden folder is one entry, not one per file inside it."""
    for folder, folders, files in os.walk(corpus_dir):
        base = Path(folder)
        for name in sorted(folders):
            if name.startswith("."):
                yield (base / name).relative_to(corpus_dir).as_posix() + "/", base / name, "hidden folder"
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        for name in sorted(files):
            path = base / name
            doc_id = path.relative_to(corpus_dir).as_posix()
            suffix = path.suffix.lower()
            if name.startswith("."):
                yield doc_id, path, "hidden file"
            elif suffix not in SUPPORTED_SUFFIXES:
                what = f"{suffix} is not a supported format" if suffix else "a file without a suffix"
                yield doc_id, path, f"{what} (supported: {supported_formats()})"
            else:
                yield doc_id, path, ""


def corpus_files(corpus_dir: Path) -> Iterator[tuple[str, Path]]:
    """(doc_id, path) for every supported file under ``corpus_dir``, in a stable order."""
    for doc_id, path, reason in sorted(_walk(corpus_dir)):
        if not reason:
            yield doc_id, path


def load_corpus(corpus_dir: Path, parsed: Parsed | None = None) -> LoadReport:
    """Every readable document under ``corpus_dir``; every other file is reported, not fatal.
    ``parsed`` hears how many documents are parsed so far, after each one."""
    report = LoadReport()
    for doc_id, path, reason in sorted(_walk(corpus_dir)):
        if not reason:
            try:
                report.documents.append(load_file(path, doc_id))
                if parsed is not None:
                    parsed(len(report.documents))
                continue
            except (DocumentError, OSError) as error:
                reason = str(error).removeprefix(f"{doc_id}: ")
        log.info("skipped %s: %s", doc_id, reason)  # reported by the caller (qa index, GET /index)
        report.skipped.append((doc_id, reason))
    return report
