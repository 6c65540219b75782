"""The corpus walk: every supported file under a folder, parsed; what cannot be read is reported."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from qa.core.errors import DocumentError
from qa.core.types import Document
from qa.ingest.formats import SUPPORTED_SUFFIXES, load_file

log = logging.getLogger(__name__)


@dataclass
class LoadReport:
    documents: list[Document] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (doc_id, reason)


def corpus_files(corpus_dir: Path) -> Iterator[tuple[str, Path]]:
    """(doc_id, path) for every supported file under ``corpus_dir``, in a stable order."""
    for path in sorted(corpus_dir.rglob("*")):
        relative = path.relative_to(corpus_dir)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_file() and path.suffix.lower() in SUPPORTED_SUFFIXES:
            yield relative.as_posix(), path


def load_corpus(corpus_dir: Path) -> LoadReport:
    """Every readable document under ``corpus_dir``; files that cannot be read are reported, not fatal."""
    report = LoadReport()
    for doc_id, path in corpus_files(corpus_dir):
        try:
            report.documents.append(load_file(path, doc_id))
        except (DocumentError, OSError) as error:
            reason = str(error).removeprefix(f"{doc_id}: ")
            log.warning("skipped %s: %s", doc_id, reason)
            report.skipped.append((doc_id, reason))
    return report
