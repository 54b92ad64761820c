"""A micro-batcher: concurrent callers each ask for one thing; one API call serves them all.

When fifty deals are approved at once, fifty workflow steps call `submit` within a few
milliseconds. The batcher waits `window` seconds (or until `max_size` items), hands the
whole group to `flush`, and gives each caller its own result or its own exception. This is
how the number of API calls grows far slower than the number of deals.

While a flush for a key is still running (typically waiting for the rate limiter), new items
are held rather than flushed in small groups of their own: under load, batches grow to
`max_size` by themselves; when idle, a lone item waits only `window`.

With `ready` (e.g. "wait until the API's budget admits one more call"), a batch is cut only
once `ready()` returns, so whatever arrived during that wait goes in the same call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# flush(items) returns one result (or one exception) per item, in the same order.
Flush = Callable[[Sequence[T]], Awaitable[Sequence[R | BaseException]]]


@dataclass
class _Pending(Generic[T, R]):
    items: list[T] = field(default_factory=list)
    futures: list[asyncio.Future[R]] = field(default_factory=list)
    timer: asyncio.TimerHandle | None = None


class Batcher(Generic[T, R]):
    """Groups `submit` calls per key (e.g. per Xero tenant) into calls of `flush`."""

    def __init__(
        self,
        flush: Flush[T, R],
        *,
        window: float = 0.15,
        max_size: int = 50,
        max_in_flight: int = 1,
        ready: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._flush = flush
        self._ready = ready
        self._window = window
        self._max = max_size
        self._max_in_flight = max_in_flight
        self._pending: dict[Hashable, _Pending[T, R]] = {}
        self._in_flight: dict[Hashable, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self.flushes = 0  # how many calls of `flush` were made (benchmarks read it)

    async def submit(self, item: T, key: Hashable = "") -> R:
        if self._closed:
            raise RuntimeError("the batcher is closed: the service is stopping")
        loop = asyncio.get_running_loop()
        pending = self._pending.setdefault(key, _Pending())
        future: asyncio.Future[R] = loop.create_future()
        pending.items.append(item)
        pending.futures.append(future)
        if len(pending.items) >= self._max:
            self._start(key)
        elif pending.timer is None:
            pending.timer = loop.call_later(self._window, self._start, key)
        return await future

    def close(self) -> None:
        """The service is stopping: drop timers and cancel running batches, so none is left
        pending when the event loop closes. Callers still waiting belong to workflows the
        engine has cut off; they run again from their last step at the next start."""
        self._closed = True
        for pending in self._pending.values():
            if pending.timer is not None:
                pending.timer.cancel()
                pending.timer = None
        for task in list(self._tasks):
            task.cancel()

    def _start(self, key: Hashable) -> None:
        pending = self._pending.get(key)
        if pending is None or self._closed:
            return
        if pending.timer is not None:
            pending.timer.cancel()
            pending.timer = None
        if self._in_flight.get(key, 0) >= self._max_in_flight:
            return  # resumed by _finished when the running flush ends
        self._in_flight[key] = self._in_flight.get(key, 0) + 1
        task = asyncio.get_running_loop().create_task(self._cut_and_run(key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda _: self._finished(key))

    def _finished(self, key: Hashable) -> None:
        self._in_flight[key] -= 1
        if key in self._pending:
            self._start(key)

    def _cut(self, key: Hashable) -> _Pending[T, R]:
        pending = self._pending.get(key) or _Pending[T, R]()
        taken = _Pending[T, R](pending.items[: self._max], pending.futures[: self._max])
        del pending.items[: self._max]
        del pending.futures[: self._max]
        if not pending.items:
            self._pending.pop(key, None)
        return taken

    async def _cut_and_run(self, key: Hashable) -> None:
        if self._ready is not None:
            try:
                await self._ready()
            except Exception as exc:  # could not get ready: the waiting callers learn why
                for future in self._cut(key).futures:
                    if not future.done():
                        future.set_exception(exc)
                return
        taken = self._cut(key)
        if taken.items:
            await self._run(taken)

    async def _run(self, pending: _Pending[T, R]) -> None:
        self.flushes += 1
        try:
            results = await self._flush(pending.items)
        except BaseException as exc:  # the whole call failed: every caller sees why
            for future in pending.futures:
                if not future.done():
                    future.set_exception(exc)
            return
        if len(results) != len(pending.futures):
            error = RuntimeError(f"batch returned {len(results)} results for {len(pending.items)}")
            results = [error] * len(pending.futures)
        for future, result in zip(pending.futures, results, strict=True):
            if future.done():
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)
