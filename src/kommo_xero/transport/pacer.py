"""Client-side pacing of API calls per tenant, so limits are respected, never discovered.

A `RatePacer` keeps one pyrate-limiter bucket per key (a Kommo account or a Xero tenant).
Buckets live in memory, in a SQLite file (shared by processes on one machine) or in
PostgreSQL (shared by every machine), chosen by the URL given to `RatePacer.from_url`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from typing import Protocol

from pyrate_limiter import AbstractBucket, Duration, InMemoryBucket, Limiter, Rate, SQLiteBucket


class Pacer(Protocol):
    """Waits until one more call for `key` fits within the budget."""

    async def acquire(self, key: str) -> None: ...


class NoPacer:
    """No client-side pacing (the server's 429s are still honoured by the retry loop)."""

    async def acquire(self, key: str) -> None:
        return None


def _table_name(key: str) -> str:
    return "pace_" + re.sub(r"[^a-zA-Z0-9_]", "_", key)[:50]


BucketMaker = Callable[[str, list[Rate]], AbstractBucket]


def memory_buckets(_: str, rates: list[Rate]) -> AbstractBucket:
    return InMemoryBucket(rates)


def sqlite_buckets(path: str) -> BucketMaker:
    """Buckets in one SQLite file, guarded by a file lock so several processes share them."""

    def make(key: str, rates: list[Rate]) -> AbstractBucket:
        return SQLiteBucket.init_from_file(
            rates, table=_table_name(key), db_path=path, create_new_table=True, use_file_lock=True
        )

    return make


def postgres_buckets(conninfo: str) -> tuple[BucketMaker, Callable[[], None]]:
    """Buckets in PostgreSQL so every machine of a scaled-out deployment shares one budget.

    Returns the bucket maker and a function that closes its connection pool."""
    from psycopg_pool import ConnectionPool
    from pyrate_limiter import PostgresBucket

    pool = ConnectionPool(conninfo, min_size=1, max_size=4, open=True)

    def make(key: str, rates: list[Rate]) -> AbstractBucket:
        return PostgresBucket(pool, _table_name(key), rates)

    return make, pool.close


class RatePacer:
    """Paces calls per key with the given rates (e.g. 6/s, or 55/min and 4,800/day)."""

    def __init__(
        self,
        rates: Sequence[Rate],
        buckets: BucketMaker = memory_buckets,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self._rates = list(rates)
        self._make = buckets
        self._limiters: dict[str, Limiter] = {}
        self._lock = threading.Lock()
        self._on_close = on_close

    @classmethod
    def from_url(cls, rates: Sequence[Rate], url: str | None) -> RatePacer:
        """`None` or `memory:` → in-process; `sqlite:///path` → file; `postgresql://…` → shared."""
        if not url or url.startswith("memory"):
            return cls(rates)
        if url.startswith("sqlite:///"):
            return cls(rates, sqlite_buckets(url.removeprefix("sqlite:///")))
        if url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
            conninfo = url.replace("postgresql+psycopg://", "postgresql://")
            make, close = postgres_buckets(conninfo)
            return cls(rates, make, close)
        raise ValueError(
            f"unsupported pacer URL {url!r}: use memory:, sqlite:///… or postgresql://…"
        )

    def _limiter(self, key: str) -> Limiter:
        with self._lock:
            limiter = self._limiters.get(key)
            if limiter is None:
                limiter = Limiter(self._make(key, self._rates))
                self._limiters[key] = limiter
            return limiter

    async def acquire(self, key: str) -> None:
        await self._limiter(key).try_acquire_async(key, blocking=True)

    def close(self) -> None:
        """Stop the buckets' background work and release their database connections."""
        with self._lock:
            limiters = list(self._limiters.values())
            self._limiters.clear()
        for limiter in limiters:
            limiter.close()
        if self._on_close is not None:
            self._on_close()
            self._on_close = None


def per_second(n: int) -> Rate:
    return Rate(n, Duration.SECOND)


def spaced_per_second(n: int) -> list[Rate]:
    """At most `n` calls a second, one every 1/n s, never `n` at once.

    A budget of n per second lets n calls leave together and the next n a second later; any
    delay on the way (network, a busy server) then puts more than n in some second of the
    server's clock. Evenly spaced calls keep a margin of a whole gap against that jitter and
    also satisfy servers that meter by spacing (a leaky bucket) rather than by count.
    """
    return [Rate(1, max(1, round(1000 / n)))]  # the interval in milliseconds


def per_minute(n: int) -> Rate:
    return Rate(n, Duration.MINUTE)


def per_minute_smoothed(n: int, burst: int) -> list[Rate]:
    """At most `n` calls a minute, of which at most `burst` back to back: after a short burst,
    calls leave at the minute's average pace (one every 60/n s).

    A plain "n a minute" lets the whole minute go at once, and a sliding window then repeats
    that rhythm: under a steady stream of work every batch leaves as soon as a call is free,
    small. Spaced calls make work wait a little, and what waits is batched together."""
    # Rounded down: the short window must not be stricter than the minute (pyrate-limiter
    # wants each longer window's rate to be no higher than the shorter one's).
    window_ms = burst * Duration.MINUTE // n
    if burst >= n or window_ms < 1:
        return [per_minute(n)]
    return [Rate(burst, window_ms), per_minute(n)]


def per_day(n: int) -> Rate:
    return Rate(n, Duration.DAY)
