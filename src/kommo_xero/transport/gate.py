"""How many calls may be in flight to one Xero organisation at once (Xero allows 5).

`LocalGate` counts within this process (enough with SQLite: one process does the work).
`PostgresGate` counts across every process and machine on the shared PostgreSQL: a call
holds one of N session advisory locks `(tenant key, slot)` for its duration. A process that
dies loses its database session and with it its locks, so a crash never leaks a slot.
"""

from __future__ import annotations

import asyncio
import random
import zlib
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from psycopg import AsyncConnection
    from psycopg_pool import AsyncConnectionPool


class Gate(Protocol):
    """Hands out slots: `async with gate.slot(): <one API call>`."""

    def slot(self) -> AbstractAsyncContextManager[None]: ...


class LocalGate:
    """At most `slots` holders at once, in this process only."""

    def __init__(self, slots: int) -> None:
        self._semaphore = asyncio.Semaphore(slots)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._semaphore:
            yield


def lock_class(key: str) -> int:
    """A stable signed 32-bit number for `key`, the first half of the advisory lock id.

    Two-integer advisory locks live in a key space of their own, apart from the single
    bigint locks that pyrate-limiter and DBOS take, so these never collide with theirs."""
    value = zlib.crc32(f"kommo-xero-gate:{key}".encode())
    return value - 2**32 if value >= 2**31 else value


def open_gate_pool(conninfo: str, max_size: int = 10) -> AsyncConnectionPool:
    """The connections gate slots are held on (one per slot held); open it with `await
    pool.open()` on the event loop that will use it."""
    from psycopg_pool import AsyncConnectionPool

    conninfo = conninfo.replace("postgresql+psycopg://", "postgresql://")
    # autocommit: a lock taken outside a transaction is held by the session until unlocked.
    return AsyncConnectionPool(
        conninfo, min_size=0, max_size=max_size, open=False, kwargs={"autocommit": True}
    )


class PostgresGate:
    """At most `slots` holders at once for `key`, across every process on the database."""

    def __init__(
        self, pool: AsyncConnectionPool, key: str, slots: int = 5, poll_s: float = 0.02
    ) -> None:
        self._pool = pool
        self._class = lock_class(key)
        self._slots = slots
        self._poll_s = poll_s
        # Waiting for a slot locally first keeps this process from queueing more database
        # sessions than there are slots to win.
        self._local = asyncio.Semaphore(slots)

    async def _try_take(self, conn: AsyncConnection) -> int | None:
        start = random.randrange(self._slots)  # spread processes over the slots
        for step in range(self._slots):
            slot = (start + step) % self._slots
            cursor = await conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (self._class, slot))
            row = await cursor.fetchone()
            if row is not None and row[0]:
                return slot
        return None

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._local, self._pool.connection() as conn:
            taken = await self._try_take(conn)
            while taken is None:
                # Every slot is held elsewhere: poll with jitter so waiters do not march in step.
                await asyncio.sleep(self._poll_s * (1 + random.random()))
                taken = await self._try_take(conn)
            try:
                yield
            finally:
                await conn.execute("SELECT pg_advisory_unlock(%s, %s)", (self._class, taken))

    async def holders(self) -> int:
        """How many slots are held right now, by any process (for tests and /metrics)."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND classid = %s::oid AND objsubid = 2",
                (self._class & 0xFFFFFFFF,),
            )
            row = await cursor.fetchone()
            return int(row[0]) if row else 0
