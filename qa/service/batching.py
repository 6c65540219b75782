"""Micro-batching: questions that arrive together are embedded in one model call.

On a CPU, one forward pass over 32 short questions costs far less than 32 passes over one:
the matrix products fill the cores and the per-call overhead is paid once. So concurrent
requests do not each call the model; they queue their question and await a future. One
collector task takes everything queued (waiting at most ``wait_seconds`` for company when
the queue holds a single question), and hands the batch to one dedicated worker thread, so
the event loop never runs model work and the model never runs two batches at once. While a
batch runs, newcomers queue up and form the next batch: under load, batches grow by
themselves; at rest, a lone question waits ``wait_seconds`` at most (0 by default).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass
class BatchStats:
    """How the batcher has been used: calls to the model and questions they carried."""

    batches: int = 0
    items: int = 0
    largest: int = 0
    sizes: list[int] = field(default_factory=list)  # the latest sizes, for benchmarks

    def record(self, size: int) -> None:
        self.batches += 1
        self.items += size
        self.largest = max(self.largest, size)
        self.sizes = [*self.sizes[-999:], size]


class MicroBatcher(Generic[Item, Result]):
    """Runs ``work(items) -> results`` (one result, or the exception that item raises, per item, in
    order) over batches of the items
    submitted concurrently with :meth:`submit`. Start it inside the running loop with
    :meth:`start`; :meth:`close` stops the collector and the worker thread."""

    def __init__(
        self,
        work: Callable[[Sequence[Item]], Sequence[Result | BaseException]],
        max_batch: int = 64,
        wait_seconds: float = 0.0,
    ) -> None:
        self._work = work
        self._max_batch = max(1, max_batch)
        self._wait = max(0.0, wait_seconds)
        self._queue: asyncio.Queue[tuple[Item, asyncio.Future[Result]]] | None = None
        self._collector: asyncio.Task[None] | None = None
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qa-batch")
        self.stats = BatchStats()

    def start(self) -> None:
        if self._collector is None:
            self._queue = asyncio.Queue()
            self._collector = asyncio.get_running_loop().create_task(self._collect())

    async def close(self) -> None:
        """Stop; every request still waiting (queued or in the running batch) fails, none hangs."""
        if self._collector is not None:
            self._collector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._collector
            self._collector = None
        while self._queue is not None and not self._queue.empty():
            _, future = self._queue.get_nowait()
            _fail([future], RuntimeError("the server is shutting down"))
        self._queue = None  # a later submit is refused at once
        self._worker.shutdown(wait=False, cancel_futures=True)

    async def submit(self, item: Item) -> Result:
        """The result of ``work`` for ``item``, computed in a batch with whatever else is queued."""
        if self._queue is None:
            raise RuntimeError("MicroBatcher.start() was not called inside the running event loop")
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        await self._queue.put((item, future))
        return await future

    async def _next_batch(self) -> list[tuple[Item, asyncio.Future[Result]]]:
        assert self._queue is not None
        batch = [await self._queue.get()]
        deadline = asyncio.get_running_loop().time() + self._wait
        while len(batch) < self._max_batch:
            if not self._queue.empty():
                batch.append(self._queue.get_nowait())
                continue
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(self._queue.get(), remaining))
            except TimeoutError:
                break
        return [(item, future) for item, future in batch if not future.done()]  # drop cancelled requests

    async def _collect(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._next_batch()
            if not batch:
                continue
            items = [item for item, _ in batch]
            self.stats.record(len(items))
            futures = [future for _, future in batch]
            try:
                results = await loop.run_in_executor(self._worker, self._work, items)
            except asyncio.CancelledError:  # closing while this batch runs
                _fail(futures, RuntimeError("the server is shutting down"))
                raise
            except Exception as error:  # every waiting request learns of the failure, none hangs
                _fail(futures, error)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, BaseException):  # the work failed for this item alone
                    future.set_exception(result)
                else:
                    future.set_result(result)


def _fail(futures: Sequence[asyncio.Future[Any]], error: BaseException) -> None:
    for future in futures:
        if not future.done():
            future.set_exception(error)
