"""qa: retrieval question answering over a folder of documents, with exact character citations."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

# OpenMP threads (torch's, faiss's) otherwise spin for a while after each parallel region; on a
# small machine that steals the CPU the next step of the same request needs (the HTTP p95 fell
# from 95 to 25 ms here). Read when the OpenMP runtime loads, so it is set before torch or faiss
# is imported; an explicit setting in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"

if TYPE_CHECKING:
    from qa.service.engine import Engine


def open(settings: Any = None, encoder: Any = None, **overrides: Any) -> Engine:
    """The Engine over a corpus and an index: ``qa.open(corpus_dir="corpus/", index_dir="index/")``.

    ``settings`` is a ``qa.core.config.Settings`` (default: the ``QA_*`` environment), ``encoder``
    an already loaded model to share, and ``overrides`` are settings by name. The model and the
    index (when one is built) load now; ``engine.ask(question)`` answers, ``engine.build()`` builds
    or updates the index."""
    from qa.service.engine import open_engine

    return open_engine(settings, encoder, **overrides)
