"""The Engine: settings to components, and the one object every edge calls.

HTTP routes, CLI commands (and the Python API: ``qa.open``) hold no logic of their own: they call
an ``Engine``. It owns the encoder, the generation being served (loaded, hot-reloaded, refused or
fallen back from: ``qa.service.lifecycle``), the reader, the write jobs (``qa.service.writes``),
the micro-batcher that embeds concurrent questions in one model call, and the answer cache.
No module-level state: everything lives on the Engine.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from cachetools import LRUCache
from starlette.concurrency import run_in_threadpool

from qa.answer.learned import LearnedReader
from qa.core.config import SearchMode, Settings
from qa.core.errors import IndexNotFound, NotReady, UnknownDocument
from qa.core.filters import Filter, make_filter
from qa.core.protocols import Encoder, Reader
from qa.core.types import Document, Hit, SearchResult
from qa.index.build import BuildSummary, Progress, build_index, build_lock, left_out, parameters_for
from qa.index.generations import Generation, current_generation, load_generation
from qa.ingest.corpus import Parsed
from qa.search.searcher import Searcher
from qa.service import lifecycle, writes
from qa.service.asking import Ask, answer_batch, clean_question
from qa.service.batching import MicroBatcher
from qa.service.jobs import Job, WriteJobs
from qa.service.merging import Merger
from qa.service.metrics import Metrics
from qa.service.writes import Written


def default_reader(settings: Settings, encoder: Encoder) -> Reader:
    """The learned reader (``qa.answer.learned``), answering at ``QA_ANSWER_THRESHOLD``."""
    return LearnedReader(settings.answer_threshold)


def open_searcher(generation: Generation, encoder: Encoder, settings: Settings | None = None) -> Searcher:
    """A searcher over ``generation`` in this process, with the default reader."""
    return Searcher(generation, encoder, reader=default_reader(settings or Settings(), encoder))


def open_local(settings: Settings, encoder: Encoder, name: str, served: Generation | None = None) -> Searcher:
    """The embedded default: generation ``name``, searched in this process (the segments it
    shares with ``served`` are not read again)."""
    parameters = parameters_for(settings, encoder)
    generation = load_generation(settings.index_dir, parameters, name=name, reuse=served)
    return open_searcher(generation, encoder, settings)


NEUTRAL_PROMPT = "Ask a question about these documents…"
PROMPT_TITLE_CHARS = 60
# how a generation is opened for search: in process, or over Ray shards (qa.distributed)
SearcherFactory = Callable[[Settings, Encoder, str], Searcher]
CacheKey = tuple[str, str, int, str, Filter | None]  # (generation, question, k, mode, filter)
# doc globs: one or several; meta: {"KEY": "VALUE" or ["VALUE", ...]} (qa.core.filters)
DocGlobs = str | Sequence[str] | None
MetaFields = Mapping[str, str | Sequence[str]] | Sequence[tuple[str, str]] | None
PUBLISH_WAIT = 30.0  # seconds a merge waits to publish while another process builds


@dataclass
class Engine:
    """Settings to components: the model, the searcher over the served generation, the reader,
    the write jobs (one at a time), batching and the answer cache."""

    settings: Settings
    encoder: Encoder | None = None
    searcher: Searcher | None = None
    load_error: str | None = None
    writes: WriteJobs = field(default_factory=WriteJobs)
    reload_lock: threading.Lock = field(default_factory=threading.Lock)
    metrics: Metrics = field(default_factory=Metrics)
    refused_generation: str | None = None  # the last generation that failed to load, not retried
    refused: dict[str, str] | None = None  # that generation and why, as /readyz shows it
    batcher: MicroBatcher[Ask, SearchResult] | None = None  # set while a server runs
    # touched only on the event loop, so no lock
    answers: LRUCache[CacheKey, SearchResult] | None = None
    open_searcher: SearcherFactory = open_local
    prompts: dict[str, str] = field(default_factory=dict)  # generation -> its question box prompt
    # this process's writes and merge publishes, one at a time (the build lock does it across processes)
    index_lock: threading.Lock = field(default_factory=threading.Lock)
    merger: Merger | None = None  # the background merge worker, started by the first write

    # loading

    def load(self) -> None:
        """Load the model and the served generation; failures are kept in ``load_error``."""
        lifecycle.load(self)

    def reload_if_published(self) -> bool:
        """Swap to the generation ``CURRENT`` names if it is not the one served; True if swapped."""
        return lifecycle.reload_if_published(self)

    def open_generation(self, name: str) -> Searcher:
        """A searcher over generation ``name`` by ``open_searcher``; in process, the segments it
        shares with the served generation are taken as loaded (they are immutable)."""
        encoder = self.ready_encoder()
        if self.open_searcher is open_local:
            served = self.searcher.generation if self.searcher is not None else None
            return open_local(self.settings, encoder, name, served)
        return self.open_searcher(self.settings, encoder, name)

    def check_index(self) -> None:
        """``IndexNotFound`` when no generation is published: before the model is loaded for nothing."""
        if current_generation(self.settings.index_dir) is None:
            raise IndexNotFound(f"no index in {self.settings.index_dir}. Run `qa index` to build one.")

    @property
    def ready(self) -> bool:
        return self.searcher is not None

    def ready_searcher(self) -> Searcher:
        if self.searcher is None:
            raise NotReady(self.load_error or "the index is still loading")
        return self.searcher

    def ready_encoder(self) -> Encoder:
        if self.encoder is None:
            raise NotReady(self.load_error or "the model is still loading")
        return self.encoder

    # asking

    def question(self, question: str) -> str:
        """``question`` cleaned, or ``InvalidQuestion`` saying what is wrong with it."""
        return clean_question(question, self.settings.max_question_chars)

    def ask(
        self,
        question: str,
        k: int = 5,
        mode: SearchMode | None = None,
        doc: DocGlobs = None,
        meta: MetaFields = None,
    ) -> SearchResult:
        """Passages and the answer for ``question``, in this thread; only of the documents whose
        doc_id matches a ``doc`` glob and whose front matter has every ``meta`` field, when given
        (``InvalidFilter`` for bad syntax; ``message`` says when no document matches)."""
        searcher = self.ready_searcher()
        only = make_filter(doc, meta)
        return searcher.search(self.question(question), k, mode or self.settings.default_mode, only)

    def search(
        self,
        question: str,
        k: int = 5,
        mode: SearchMode | None = None,
        doc: DocGlobs = None,
        meta: MetaFields = None,
    ) -> list[Hit]:
        """The passages for ``question``, best first, each cited; no answer sentence is read.
        ``doc`` and ``meta`` filter the documents searched, as for :meth:`ask`."""
        searcher = self.ready_searcher()
        only = make_filter(doc, meta)
        query = searcher.embed(self.question(question))
        ranked = searcher.rank(query, k, mode or self.settings.default_mode, only)
        return [searcher.hit(row, score) for row, score in ranked]

    def start_batching(self) -> None:
        """Answer concurrent questions together: one worker thread embeds each batch in one model
        call and searches it (call inside the event loop)."""
        encoder = self.encoder
        if encoder is None or self.batcher is not None:
            return
        settings = self.settings
        self.batcher = MicroBatcher(
            lambda asks: answer_batch(encoder, asks),
            max_batch=settings.batch_max,
            wait_seconds=settings.batch_wait_ms / 1000,
        )
        self.batcher.start()
        if settings.cache_size:
            self.answers = LRUCache(maxsize=settings.cache_size)

    async def stop_batching(self) -> None:
        if self.batcher is not None:
            await self.batcher.close()
            self.batcher = None

    async def ask_async(
        self, question: str, k: int = 5, mode: SearchMode | None = None, only: Filter | None = None
    ) -> tuple[str, SearchMode, SearchResult]:
        """(cleaned question, mode, result) without blocking the event loop: the question joins
        the next batch, and one asked before of the same generation (and filter) is answered from
        the cache. ``only`` is a filter the edge made (``qa.core.filters.make_filter``)."""
        searcher = self.ready_searcher()
        cleaned = self.question(question)
        chosen: SearchMode = mode or self.settings.default_mode
        key = (searcher.generation.name, cleaned, k, chosen, only)
        cached = self.answers.get(key) if self.answers is not None else None
        if cached is not None:
            return cleaned, chosen, cached
        ask = Ask(searcher, cleaned, k, chosen, only)
        if self.batcher is None:  # no server running: nothing to batch with
            result = await run_in_threadpool(searcher.search, cleaned, k, chosen, only)
        else:
            result = await self.batcher.submit(ask)
        if self.answers is not None:
            self.answers[key] = result
        return cleaned, chosen, result

    # reading the index

    def served_documents(self) -> Mapping[str, Document]:
        return self.searcher.generation.documents if self.searcher is not None else {}

    def prompt(self) -> str:
        """A question box's placeholder drawn from the served corpus: "Ask about <the title of
        its largest document>…"; a neutral one while nothing is served."""
        searcher = self.searcher
        if searcher is None or not searcher.generation.rows_of_doc:
            return NEUTRAL_PROMPT
        generation = searcher.generation
        if generation.name not in self.prompts:
            rows = generation.rows_of_doc
            largest = min(rows, key=lambda doc_id: (-len(rows[doc_id]), doc_id))
            title = " ".join(generation.documents[largest].title.split()) or largest
            if len(title) > PROMPT_TITLE_CHARS:
                title = title[:PROMPT_TITLE_CHARS].rsplit(" ", 1)[0]
            self.prompts = {generation.name: f"Ask about {title}…"}
        return self.prompts[generation.name]

    def documents(self) -> list[tuple[Document, int]]:
        """Every served document with its number of passages."""
        generation = self.ready_searcher().generation
        return [
            (doc, len(generation.rows_of_doc.get(doc.doc_id, []))) for doc in generation.documents.values()
        ]

    def document(self, doc_id: str) -> Document:
        document = self.ready_searcher().generation.documents.get(doc_id)
        if document is None:
            raise UnknownDocument(f"no document {doc_id!r}; GET /documents lists them")
        return document

    def index_info(self) -> dict[str, Any]:
        """The served generation's manifest figures, its components and the latest write job."""
        generation = self.ready_searcher().generation
        manifest = generation.manifest
        return {
            "generation": generation.name,
            "documents": manifest["documents"],
            "passages": manifest["passages"],
            "model": manifest["model"],
            "built_at": manifest["built_at"],
            "components": manifest.get("components", {}),
            "skipped": left_out(generation),
            "job": self.writes.latest(),
        }

    # writing

    def build(
        self,
        full: bool = False,
        progress: Progress | None = None,
        serve: bool = True,
        parsed: Parsed | None = None,
    ) -> BuildSummary:
        """Build or update the index from the corpus folder; then serve what was built, unless
        ``serve`` is False (a one-off ``qa index`` has nothing to serve). ``progress`` hears
        passages embedded, ``parsed`` documents parsed."""
        summary = build_index(
            self.settings, self.ready_encoder(), full=full, progress=progress, parsed=parsed
        )
        if serve:
            self.reload_if_published()
        return summary

    def add(self, doc_id: str, data: bytes | str) -> tuple[Written, bool]:
        """Store ``data`` (the file's bytes, or text) under ``doc_id`` in the corpus and index it;
        (what was written, whether its doc_id is new). The same checks as ``POST /documents``."""
        raw = data.encode("utf-8") if isinstance(data, str) else data
        return writes.write_document(self, doc_id, raw)

    def delete(self, doc_id: str) -> str:
        """Remove a document from the corpus and the index; the generation that no longer has it."""
        return writes.delete_document(self, doc_id)

    @contextmanager
    def building(self, wait: float = 0) -> Iterator[None]:
        """Hold this process's write lock, then the index's build lock (``BuildInProgress`` when
        another process builds, after ``wait`` seconds)."""
        with self.index_lock, build_lock(self.settings.index_dir, wait):
            yield

    def merge_soon(self) -> Merger:
        """Nudge the background merge worker (started now if need be); returns at once."""
        if self.merger is None:
            self.merger = Merger(
                self.settings,
                publishing=lambda: self.building(wait=PUBLISH_WAIT),
                published=lambda _: self.reload_if_published(),
            )
        self.merger.nudge()
        return self.merger

    def stop_merging(self) -> None:
        """Stop the merge worker after the merge in progress (a merge cut short publishes nothing)."""
        if self.merger is not None:
            self.merger.close()

    def rebuild(self, full: bool = False) -> Job:
        """Rebuild the index in the background; the job to follow."""
        return writes.start_rebuild(self, full)


def open_engine(settings: Settings | None = None, encoder: Encoder | None = None, **overrides: Any) -> Engine:
    """An Engine over ``settings`` (default: the environment's ``QA_*``), loaded and ready to ask.

    ``overrides`` are settings by name (``corpus_dir="docs/"``, ``index_dir="index/"``). The
    model loads now; the index too, when one is built (else ``load_error`` says how to build one,
    and ``build()`` builds it)."""
    unknown = sorted(set(overrides) - set(Settings.model_fields))
    if unknown:
        raise TypeError(f"unknown setting {', '.join(unknown)}; see docs/configuration.md")
    if settings is None:
        chosen = Settings(**overrides)
    else:  # the overrides validated as the environment's settings are
        chosen = Settings.model_validate({**settings.model_dump(), **overrides}) if overrides else settings
    chosen = chosen.resolved()
    engine = Engine(settings=chosen, encoder=encoder)
    engine.load()
    return engine
