"""Write transactions: a corpus file changed, the index rebuilt, the change undone if the build fails.

A write claims the server's one write slot (``WriteJobs``) and the index's build lock (another
process building is refused at once), changes one file of the corpus, indexes that change alone
(one new segment, or a tombstone: the rest of the corpus is not read again), and serves the new
generation at once (no wait for the watcher). Posting the very bytes already stored and served
under a doc_id changes nothing: no build.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qa.core.errors import IndexError_
from qa.core.protocols import Encoder
from qa.core.types import Document
from qa.index.build import BuildSummary, build_change, build_index
from qa.ingest import uploads
from qa.service.jobs import Job

if TYPE_CHECKING:
    from qa.service.engine import Engine


@dataclass(frozen=True)
class Written:
    doc_id: str
    generation: str
    passages: int  # passages of this document in the generation


def _refuse_if_building(engine: Engine) -> None:
    """Refuse a write before it touches the corpus while another process builds (BuildInProgress)."""
    with engine.building():
        pass


def _rebuild(
    engine: Engine,
    encoder: Encoder,
    job: Job,
    full: bool = False,
    change: tuple[list[Document], list[str]] | None = None,
) -> BuildSummary:
    """Apply ``change`` (documents added, doc_ids removed) to the served generation, or build the
    corpus, as the job (the caller holds the build lock); serve the new generation at once, and
    leave merging segments to the background worker (``qa.service.merging``)."""
    summary = None
    if change is not None and not full:
        with contextlib.suppress(IndexError_):  # nothing to change as it is: build the corpus
            summary = build_change(engine.settings, encoder, *change, progress=job.report)
    if summary is None:
        summary = build_index(
            engine.settings, encoder, full=full, progress=job.report, locked=True, merge=False
        )
    engine.metrics.builds.observe(summary.seconds)
    job.update(generation=summary.generation)
    engine.reload_if_published()
    engine.merge_soon()  # in the background: this write is done
    return summary


def _change_and_rebuild(
    engine: Engine, kind: str, change: Callable[[], uploads.Change], indexed: tuple[list[Document], list[str]]
) -> BuildSummary:
    """Claim the write slot, change one corpus file, index the change (``indexed``: documents
    added, doc_ids removed; the rest of the corpus is not read again); undo the file's change if
    indexing fails."""
    encoder = engine.ready_encoder()

    def work(job: Job) -> BuildSummary:
        with engine.building():  # no other build sees the corpus mid-change
            applied = change()
            try:
                return _rebuild(engine, encoder, job, change=indexed)
            except BaseException:
                applied.undo()
                raise

    job = engine.writes.claim(kind, check=lambda: _refuse_if_building(engine))
    return engine.writes.run(job, work)


def _written(engine: Engine, doc_id: str, generation: str) -> Written:
    searcher = engine.searcher
    passages = len(searcher.generation.rows_of_doc.get(doc_id, [])) if searcher is not None else 0
    return Written(doc_id=doc_id, generation=generation, passages=passages)


def write_document(engine: Engine, doc_id: str, data: bytes) -> tuple[Written, bool]:
    """Store and index one document; (what was written, whether its doc_id is new)."""
    searcher = engine.searcher
    hashes = searcher.generation.documents.hashes() if searcher is not None else {}
    settings = engine.settings
    prepared = uploads.prepare(settings.corpus_dir, doc_id, data, settings.max_upload_bytes, hashes)
    if searcher is not None and uploads.unchanged(prepared, hashes):
        return _written(engine, doc_id, searcher.generation.name), False
    is_new = not prepared.path.exists()
    summary = _change_and_rebuild(engine, "add", lambda: uploads.store(prepared), ([prepared.document], []))
    return _written(engine, doc_id, summary.generation), is_new


def delete_document(engine: Engine, doc_id: str) -> str:
    """Remove ``doc_id`` from the corpus and rebuild; the generation published without it."""
    path = uploads.removable(engine.settings.corpus_dir, doc_id, engine.served_documents())
    return _change_and_rebuild(engine, "delete", lambda: uploads.remove(path), ([], [doc_id])).generation


def start_rebuild(engine: Engine, full: bool) -> Job:
    encoder = engine.ready_encoder()
    job = engine.writes.claim("rebuild", check=lambda: _refuse_if_building(engine))

    def work(running: Job) -> BuildSummary:
        with engine.building():
            return _rebuild(engine, encoder, running, full)

    engine.writes.run_in_background(job, work)
    return job
