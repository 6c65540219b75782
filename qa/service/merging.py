"""Tiered merges in the background: a write returns once its own generation is served, and one
worker thread merges segments afterwards (``qa.index.merge``).

The worker sleeps until a write nudges it, then merges while the tiers are out of order. Its long
step (copying rows into a staged segment) holds no lock a query or a write waits on; only the
publish (milliseconds) takes the server's write lock and the index's build lock, after which the
server swaps to the merged generation between queries, as after any write. A write published
meanwhile is kept: the merge re-bases onto the newest manifest before it publishes. A merge that
fails is logged and tried again at the next nudge; one killed half-way publishes nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager

from qa.core.config import Settings
from qa.core.errors import BuildInProgress
from qa.index.merge import merge_once

log = logging.getLogger(__name__)

RETRY_SECONDS = 1.0  # when another process holds the build lock at publish time


class Merger:
    """One background merge worker for an index folder.

    ``publishing`` is the lock a publish holds (the server's write lock, then the build lock);
    ``published`` hears each merged generation (the server swaps to it); ``prepared_hook`` runs
    between a merge's two steps (tests hold a merge open there)."""

    def __init__(
        self,
        settings: Settings,
        publishing: Callable[[], AbstractContextManager[object]],
        published: Callable[[str], object],
        prepared_hook: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self.publishing = publishing
        self.published = published
        self.prepared_hook = prepared_hook
        self.merged: list[str] = []  # generations published by merges, oldest first
        self.error: str | None = None  # why the last merge failed, if it did
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def nudge(self) -> None:
        """Merge soon (a write just published); returns at once."""
        with self._lock:
            self._idle.clear()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="qa-merge", daemon=True)
                self._thread.start()
            self._wake.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Until no merge is due or running (True), or ``timeout`` seconds (False)."""
        return self._idle.wait(timeout)

    def close(self) -> None:
        """Stop after the merge in progress, if any (a daemon thread: a server that exits does
        not wait for it, and a merge cut short publishes nothing)."""
        self._stop.set()
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            with self._lock:
                self._wake.clear()
            self._merge_while_due()
            with self._lock:
                if not self._wake.is_set():
                    self._idle.set()

    def _merge_while_due(self) -> None:
        while not self._stop.is_set():
            try:
                name = merge_once(self.settings.index_dir, self.settings, self.publishing, self.prepared_hook)
            except BuildInProgress:  # another process builds: its publish first, then ours
                if self._stop.wait(RETRY_SECONDS):
                    return
                continue
            except Exception as error:  # logged and tried again at the next write
                self.error = f"{type(error).__name__}: {error}"
                log.warning("background merge failed: %s", self.error)
                return
            if name is None:
                return
            self.error = None
            self.merged.append(name)
            self.published(name)
