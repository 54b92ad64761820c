"""What every part of the store shares: the engine, short transactions, the clock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, RowMapping

Row = RowMapping


def now() -> datetime:
    return datetime.now(UTC)


class StoreBase:
    """The integration's database. One instance per process; thread-safe via the engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn
