"""Concurrent callers' items coalesced into one call: a statement per batch, not per request.

At ``*100#`` rates most of a request's CPU went into its own round trips (asyncpg's execute, the
pool checkout through a greenlet). Here whoever arrives while a batch is on the wire waits for
the next one, so under load a round trip carries dozens of requests and when idle a request
waits for nothing but the next turn of the event loop. Each caller gets its own result or its
own exception: a batch that fails is tried again item by item, so that one bad item fails alone.
(aiodataloader batches per loop tick only, with a cache keyed by value; the rule here is "at
most N batches in flight", which is what makes the batches grow under load.)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")


class Batcher(Generic[In, Out]):
    """``await submit(item)``: the result ``run`` gave for it, in a batch of at most ``size``."""

    def __init__(
        self,
        run: Callable[[list[In]], Awaitable[Sequence[Out]]],
        *,
        size: int = 64,
        in_flight: int = 2,
    ) -> None:
        self._run = run
        self._size = size
        self._in_flight = in_flight
        self._busy = 0
        self._waiting: list[tuple[In, asyncio.Future[Out]]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.loop = asyncio.get_running_loop()

    async def submit(self, item: In) -> Out:
        future: asyncio.Future[Out] = self.loop.create_future()
        self._waiting.append((item, future))
        if self._busy < self._in_flight:
            self._busy += 1
            # Started on the next turn of the loop: what else arrives in this one joins it.
            task = self.loop.create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await future

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[: self._size]
                del self._waiting[: self._size]
                try:
                    await self._settle(batch)
                except Exception:
                    if len(batch) == 1:
                        continue
                    # One item's failure (a constraint, say) must not become its neighbours':
                    # the batch changed nothing, so each is tried alone and fails on its own.
                    # (Its caller has the exception; nobody else is waiting for it.)
                    for one in batch:
                        with contextlib.suppress(Exception):
                            await self._settle([one])
        finally:
            self._busy -= 1

    async def _settle(self, batch: list[tuple[In, asyncio.Future[Out]]]) -> None:
        """Results or, for a batch of one, the exception to its caller; re-raised either way."""
        try:
            results = await self._run([item for item, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"{len(results)} results for {len(batch)} items")
        except BaseException as exc:
            if len(batch) == 1 or not isinstance(exc, Exception):
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
            raise
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)
