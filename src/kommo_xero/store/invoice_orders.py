"""The queue of invoice requests shared by every process of a connection (see tables.py)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select

from kommo_xero.store.repository import now
from kommo_xero.store.tables import invoice_batches, invoice_orders, links


class InvoiceOrders:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, connection_id: str, orders: Sequence[tuple[int, Any]]) -> None:
        """Queue `(link_id, request)` pairs; a link already queued is left as it is (a step
        that runs again after a crash adds its order again)."""
        with self.engine.begin() as conn:
            ids = [link_id for link_id, _ in orders]
            queued = set(
                conn.execute(
                    select(invoice_orders.c.link_id).where(invoice_orders.c.link_id.in_(ids))
                ).scalars()
            )
            fresh = [
                {
                    "link_id": link_id,
                    "connection_id": connection_id,
                    "request_json": json.dumps(request),
                    "created_at": now(),
                }
                for link_id, request in orders
                if link_id not in queued
            ]
            if fresh:
                conn.execute(insert(invoice_orders), fresh)

    def still_queued(self, link_ids: Iterable[int]) -> set[int]:
        """Which of these links are not in any batch yet."""
        with self.engine.begin() as conn:
            return set(
                conn.execute(
                    select(invoice_orders.c.link_id).where(
                        invoice_orders.c.link_id.in_(list(link_ids))
                    )
                ).scalars()
            )

    def count(self, connection_id: str) -> int:
        """How many of the connection's orders wait for a batch."""
        with self.engine.begin() as conn:
            return int(
                conn.execute(
                    select(func.count()).where(invoice_orders.c.connection_id == connection_id)
                ).scalar_one()
            )

    def last_batch_at(self, connection_id: str) -> datetime | None:
        """When the connection's latest invoice batch was opened (by any process)."""
        with self.engine.begin() as conn:
            found = conn.execute(
                select(func.max(invoice_batches.c.created_at)).where(
                    invoice_batches.c.connection_id == connection_id
                )
            ).scalar_one()
        if found is None:
            return None
        return found if found.tzinfo is not None else found.replace(tzinfo=UTC)

    def oldest(self, connection_id: str, limit: int) -> list[tuple[int, Any]]:
        """The connection's longest-waiting orders, first come first served."""
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(invoice_orders.c.link_id, invoice_orders.c.request_json)
                .where(invoice_orders.c.connection_id == connection_id)
                .order_by(invoice_orders.c.created_at, invoice_orders.c.link_id)
                .limit(limit)
            )
            return [(int(r[0]), json.loads(r[1])) for r in rows]


def deals_awaiting_invoice(engine: Engine, connection_id: str, since: datetime) -> int:
    """Deals claimed since `since` whose invoice is not made yet (by any process)."""
    with engine.begin() as conn:
        return int(
            conn.execute(
                select(func.count()).where(
                    links.c.connection_id == connection_id,
                    links.c.state == "claimed",
                    links.c.active.is_(True),
                    links.c.created_at >= since,
                )
            ).scalar_one()
        )
