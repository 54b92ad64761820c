"""Webhook counts every process shares for the dashboard (see tables.webhook_minutes)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, delete, func, insert, select

from kommo_xero.observability.metrics import MinuteCount
from kommo_xero.store.tables import webhook_minutes as table


class WebhookMinutes:
    def __init__(self, engine: Engine, executor_id: str) -> None:
        self.engine = engine
        self.executor_id = executor_id

    def publish(self, counts: Sequence[MinuteCount]) -> None:
        """Replace this process's rows with its counts of the last hour."""
        with self.engine.begin() as conn:
            conn.execute(delete(table).where(table.c.executor_id == self.executor_id))
            if counts:
                conn.execute(
                    insert(table),
                    [
                        {
                            "executor_id": self.executor_id,
                            "connection_id": c.connection_id,
                            "source": c.source,
                            "minute": c.minute,
                            "count": c.count,
                            "last_at": c.last_at,
                        }
                        for c in counts
                    ],
                )

    def others(self, connection_id: str, since: float) -> dict[str, tuple[int, float]]:
        """What the other processes received for the connection since `since` (unix time):
        source → (count, latest arrival)."""
        query = (
            select(table.c.source, func.sum(table.c.count), func.max(table.c.last_at))
            .where(
                table.c.executor_id != self.executor_id,
                table.c.connection_id == connection_id,
                table.c.minute >= int(since // 60),
            )
            .group_by(table.c.source)
        )
        with self.engine.begin() as conn:
            return {str(s): (int(n or 0), float(at or 0)) for s, n, at in conn.execute(query)}
