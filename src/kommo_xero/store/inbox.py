"""The inbox: triggers accepted by webhook receivers, durable before the 2xx answer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from kommo_xero.store.repository import now
from kommo_xero.store.tables import inbox


@dataclass(frozen=True)
class Trigger:
    connection_id: str
    flow: str
    cause: str
    subject: str


class Inbox:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def accept(self, triggers: Sequence[Trigger]) -> int:
        """Record triggers; a cause seen before is skipped. Returns how many were new."""
        new = 0
        with self.engine.begin() as conn:
            for trigger in triggers:
                try:
                    with conn.begin_nested():
                        conn.execute(
                            insert(inbox).values(
                                connection_id=trigger.connection_id,
                                flow=trigger.flow,
                                cause=trigger.cause,
                                subject=trigger.subject,
                                received_at=now(),
                            )
                        )
                    new += 1
                except IntegrityError:
                    continue  # a repeated delivery: already recorded
        return new

    def pending(self, limit: int = 200) -> list[tuple[int, Trigger]]:
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(inbox).where(inbox.c.enqueued_at.is_(None)).order_by(inbox.c.id).limit(limit)
            ).mappings()
            return [
                (r["id"], Trigger(r["connection_id"], r["flow"], r["cause"], r["subject"]))
                for r in rows
            ]

    def mark_enqueued(self, ids: Sequence[int]) -> None:
        if not ids:
            return
        with self.engine.begin() as conn:
            conn.execute(update(inbox).where(inbox.c.id.in_(list(ids))).values(enqueued_at=now()))
