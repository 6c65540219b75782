"""The served generation's lifecycle: load, hot reload, refusal of a bad generation, fallback.

The swap is one reference assignment: a query already running keeps the searcher it started
with, so none fails. A generation that does not load is refused and the served one stays; with
nothing served yet (start-up), the newest older generation that loads is served instead.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool

from qa.core.config import Settings
from qa.core.errors import IndexError_, ModelLoadError
from qa.encoders.sbert import SentenceTransformerEncoder
from qa.index.build import left_out
from qa.index.generations import current_generation, older_generations
from qa.search.searcher import Searcher

if TYPE_CHECKING:
    from qa.service.engine import Engine

log = logging.getLogger(__name__)


def public_message(settings: Settings, message: str) -> str:
    """``message`` without the server's folders: a response names files relative to the index."""
    for folder, label in ((settings.index_dir, "the index folder"), (settings.corpus_dir, "the corpus")):
        message = message.replace(f"{folder}/", "").replace(str(folder), label)
    return message


def load(engine: Engine) -> None:
    """Load the model and the served generation into ``engine``; failures are kept, not raised."""
    try:
        if engine.encoder is None:
            engine.encoder = SentenceTransformerEncoder.from_settings(engine.settings)
    except ModelLoadError as error:
        engine.load_error = public_message(engine.settings, str(error))
        log.error("not ready: %s", error)
        return
    reload_if_published(engine)


def reload_if_published(engine: Engine) -> bool:
    """Swap to the generation ``CURRENT`` names if it is not the one served; True if swapped."""
    if engine.encoder is None:
        return False
    settings = engine.settings
    with engine.reload_lock:  # the watcher and a write's own build must not swap out of order
        name = current_generation(settings.index_dir)
        served = engine.searcher.generation.name if engine.searcher is not None else None
        if name is None:  # nothing published: keep what is served, or say how to build one
            if served is None:
                engine.load_error = public_message(
                    settings, f"no index in {settings.index_dir}. Run `qa index` to build one."
                )
            return False
        if name in (served, engine.refused_generation):
            return False
        searcher = _load_or_refuse(engine, name)
        if searcher is None and served is None:
            searcher = _fallback(engine, name)
        if searcher is None:
            return False
        _serve(engine, searcher)
        generation = searcher.generation
    log.info("serving generation %s", generation.name)
    return True


def _load_or_refuse(engine: Engine, name: str) -> Searcher | None:
    """A searcher over generation ``name``, or None after recording and logging why it was refused."""
    settings = engine.settings
    assert engine.encoder is not None
    try:
        return engine.open_generation(name)
    except IndexError_ as error:
        engine.refused_generation = name
        engine.refused = {"generation": name, "problem": public_message(settings, str(error))}
        if engine.searcher is None:
            engine.load_error = engine.refused["problem"]
        log.error("generation %s not loaded: %s", name, error)
        return None


def _fallback(engine: Engine, refused: str) -> Searcher | None:
    """A searcher over the newest generation older than ``refused`` that loads, or None."""
    settings = engine.settings
    assert engine.encoder is not None
    for name in older_generations(settings.index_dir, refused):
        try:
            searcher = engine.open_generation(name)
        except IndexError_ as error:
            log.error("fallback generation %s not loaded either: %s", name, error)
            continue
        log.warning("generation %s refused; serving %s, the newest older one that loads", refused, name)
        return searcher
    return None


def _serve(engine: Engine, searcher: Searcher) -> None:
    engine.searcher = searcher
    generation = searcher.generation
    engine.load_error = None
    if engine.refused is not None and generation.name > engine.refused["generation"]:
        engine.refused = None  # a newer generation replaced the refused one: nothing to report
    engine.metrics.serve_generation(
        generation.name,
        str(generation.manifest.get("built_at")),
        len(generation.documents),
        generation.live_passages,
        len(left_out(generation)),
    )


async def watch_index(engine: Engine) -> None:
    """Poll the ``CURRENT`` pointer and hot-swap to each newly published generation."""
    while True:
        await asyncio.sleep(engine.settings.reload_seconds)
        try:
            await run_in_threadpool(reload_if_published, engine)
        except Exception:  # the watcher must outlive any one bad generation or file system hiccup
            log.exception("checking for a new index generation failed")
