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


class GateSession:
    """The one database session that holds this process's gate slots.

    Advisory locks belong to a session, and a session may hold many; one connection per
    process is therefore enough for every slot of every organisation (statements on it are
    serialised, and each is a single fast lock call)."""

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo.replace("postgresql+psycopg://", "postgresql://")
        self._conn: AsyncConnection | None = None
        self._lock = asyncio.Lock()
        # Advisory locks are re-entrant within a session: without this record, two callers in
        # this process could both "win" the same slot and together exceed the limit.
        self.held: set[tuple[int, int]] = set()

    async def _connection(self) -> AsyncConnection:
        from psycopg import AsyncConnection

        if self._conn is None or self._conn.closed:
            # autocommit: a lock taken outside a transaction is held until unlocked.
            self._conn = await AsyncConnection.connect(self._conninfo, autocommit=True)
        return self._conn

    async def ask(self, query: str, params: tuple[int, ...]) -> object:
        async with self._lock:
            conn = await self._connection()
            cursor = await conn.execute(query, params)
            row = await cursor.fetchone()
            return row[0] if row else None

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None
        self.held.clear()


class PostgresGate:
    """At most `slots` holders at once for `key`, across every process on the database."""

    def __init__(
        self, session: GateSession, key: str, slots: int = 5, poll_s: float = 0.02
    ) -> None:
        self._session = session
        self._class = lock_class(key)
        self._slots = slots
        self._poll_s = poll_s
        # Waiting for a slot locally first keeps this process from polling for more slots
        # than it could use.
        self._local = asyncio.Semaphore(slots)

    async def _try_take(self) -> int | None:
        start = random.randrange(self._slots)  # spread processes over the slots
        for step in range(self._slots):
            slot = (start + step) % self._slots
            lock = (self._class, slot)
            if lock in self._session.held:
                continue
            # Claimed before asking: another caller here must not ask for it meanwhile.
            self._session.held.add(lock)
            if await self._session.ask("SELECT pg_try_advisory_lock(%s, %s)", lock):
                return slot
            self._session.held.discard(lock)
        return None

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._local:
            taken = await self._try_take()
            while taken is None:
                # Every slot is held elsewhere: poll with jitter so waiters do not march in step.
                await asyncio.sleep(self._poll_s * (1 + random.random()))
                taken = await self._try_take()
            try:
                yield
            finally:
                await self._session.ask("SELECT pg_advisory_unlock(%s, %s)", (self._class, taken))
                self._session.held.discard((self._class, taken))

    async def holders(self) -> int:
        """How many slots are held right now, by any process (for tests and /metrics)."""
        found = await self._session.ask(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid = %s::bigint::oid AND objsubid = 2",
            (self._class & 0xFFFFFFFF,),
        )
        return int(str(found or 0))


async def claim_executor_id(session: GateSession, executor_id: str) -> bool:
    """Hold `executor_id` for as long as this process's session lives; False if another
    live process holds it.

    The engine recovers a restarted process's unfinished work by its executor id, so two
    processes running under one id would both resume (and race on) the same workflows."""
    lock = (lock_class("executor-ids"), lock_class(executor_id))
    return bool(await session.ask("SELECT pg_try_advisory_lock(%s, %s)", lock))
