"""The generation for exactly a given set of documents, built only when the folder lacks it: what
evaluation (``qa eval``) and training (``make train``) index their data sets with, through the
service's own build. An index built with other parameters (another chunker, model or precision)
or unreadable is built again, never refused: these folders are caches.
"""

from __future__ import annotations

from collections.abc import Sequence

from qa.core.config import Settings
from qa.core.errors import IndexError_
from qa.core.protocols import Encoder
from qa.core.types import Document
from qa.index.build import BuildSummary, Progress, build_documents, parameters_for
from qa.index.generations import (
    Generation,
    check_parameters,
    corpus_fingerprint,
    load_generation,
    read_manifest,
)


def ensure_index(
    documents: Sequence[Document],
    settings: Settings,
    embedder: Encoder,
    progress: Progress | None = None,
    skipped: Sequence[tuple[str, str]] = (),
) -> tuple[Generation, BuildSummary | None]:
    """The generation in ``settings.index_dir`` for exactly ``documents``, and the build's summary
    when one was needed. Every build writes a new generation, so an unchanged corpus is loaded."""
    parameters = parameters_for(settings, embedder)
    manifest = read_manifest(settings.index_dir)
    if manifest is not None and manifest.get("corpus_fingerprint") == corpus_fingerprint(documents):
        try:
            check_parameters(manifest, parameters, building=True)
            return load_generation(settings.index_dir, parameters), None
        except IndexError_:
            pass  # stale or unreadable: build below
    summary = build_documents(documents, settings, embedder, progress=progress, skipped=skipped)
    return load_generation(settings.index_dir, parameters), summary
