"""Write jobs: one at a time per server, the latest one kept for ``GET /index`` to report.

A write (adding, replacing or deleting a document, or a rebuild) claims the one slot before it
touches the corpus; a second write while the slot is taken is refused at once rather than queued,
so a client never waits on a build it cannot see. Across processes the index's build lock does the
same job (``qa.index.build.BuildInProgress``). The state lives in a ``WriteJobs`` object owned by the
app's service, never in a module global.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from qa.core.errors import WriterBusy

log = logging.getLogger(__name__)

JobState = Literal["queued", "running", "done", "failed"]
Result = TypeVar("Result")


@dataclass
class Job:
    """One write job; fields change under ``_lock`` and are read as one consistent ``snapshot``."""

    kind: str
    id: str = field(default_factory=lambda: secrets.token_hex(6))
    state: JobState = "queued"
    progress: float = 0.0
    error: str | None = None
    generation: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def report(self, done: int, total: int) -> None:
        """A ``build_index`` progress callback: passages embedded so far, of ``total``."""
        with self._lock:
            self.progress = round(done / total, 4) if total else 1.0

    def update(self, **changes: Any) -> None:
        with self._lock:
            for name, value in changes.items():
                setattr(self, name, value)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "id": self.id,
                "kind": self.kind,
                "state": self.state,
                "progress": self.progress,
                "error": self.error,
                "generation": self.generation,
            }


class WriteJobs:
    """The single write slot of one server and the latest job that held it."""

    def __init__(self) -> None:
        self._slot = threading.Lock()
        self._latest: Job | None = None

    def latest(self) -> dict[str, Any] | None:
        job = self._latest
        return job.snapshot() if job is not None else None

    def claim(self, kind: str, check: Callable[[], None] = lambda: None) -> Job:
        """Take the slot for a new queued job; ``WriterBusy`` if another job holds it.

        ``check`` runs while the slot is held, before the job is recorded: whatever it raises
        refuses the job and frees the slot. (Probing the cross-process build lock there cannot
        collide with a build of this server's own.)"""
        if not self._slot.acquire(blocking=False):
            running = self._latest
            what = f"{running.kind} job {running.id}" if running else "a write job"
            raise WriterBusy(f"{what} is running; try again when GET /index shows it done")
        try:
            check()
        except BaseException:
            self._slot.release()
            raise
        job = Job(kind)
        self._latest = job
        return job

    def run(self, job: Job, work: Callable[[Job], Result]) -> Result:
        """Run ``work`` as the claimed ``job``, record how it ended, and free the slot."""
        try:
            job.update(state="running")
            result = work(job)
            job.update(state="done", progress=1.0)
            return result
        except BaseException as error:
            job.update(state="failed", error=str(error) or type(error).__name__)
            log.warning("write job %s (%s) failed: %s", job.id, job.kind, job.error)
            raise
        finally:
            self._slot.release()

    def run_in_background(self, job: Job, work: Callable[[Job], object]) -> threading.Thread:
        """``run`` in a daemon thread; a failure is recorded on the job (and logged), not raised.

        Daemon, so stopping the server never waits for a long build: a build stopped half-way
        publishes nothing and the previous generation stays served."""

        def target() -> None:
            with contextlib.suppress(Exception):  # recorded on the job and logged by run()
                self.run(job, work)

        thread = threading.Thread(target=target, name=f"qa-write-{job.id}", daemon=True)
        thread.start()
        return thread
