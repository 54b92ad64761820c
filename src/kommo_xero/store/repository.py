"""Reads and writes of the app tables. Small transactions; uniqueness enforced by the DB.

`now` and `Row` are re-exported for the modules that import them from here."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from kommo_xero.store.base import Row, now
from kommo_xero.store.bookkeeping import Bookkeeping
from kommo_xero.store.journal import Journal
from kommo_xero.store.tables import (
    invoice_batches,
    invoice_orders,
    links,
)

__all__ = ["Claim", "Row", "Store", "now"]


@dataclass(frozen=True)
class Claim:
    """The outcome of claiming a deal for invoicing."""

    link_id: int
    mine: bool  # True when this cause holds the claim (new, resumed, or taken over)
    state: str
    status: str | None
    invoice_number: str | None
    xero_invoice_id: str | None


class Store(Journal, Bookkeeping):
    """The integration's database: links and invoice batches here; history and parked work
    in `journal.py`; contact links, effects and cursors in `bookkeeping.py`."""

    # -- links ---------------------------------------------------------------------------

    def claim_deal(self, connection_id: str, lead_id: int, cause: str, deal_name: str) -> Claim:
        """Claim a deal for invoicing: at most one active claim per deal, across processes.

        A parked claim is taken over by a new cause (the user fixed the data and moved the
        deal again); an invoiced or in-flight claim is reported, not taken.
        """
        for _ in range(3):
            with self.tx() as conn:
                row = self._active_link(conn, connection_id, lead_id)
                if row is None:
                    try:
                        link_id = conn.execute(
                            insert(links).values(
                                connection_id=connection_id,
                                kommo_lead_id=lead_id,
                                origin="deal",
                                state="claimed",
                                active=True,
                                cause=cause,
                                deal_name=deal_name,
                                created_at=now(),
                                updated_at=now(),
                            )
                        ).inserted_primary_key[0]  # type: ignore[index]
                    except IntegrityError:
                        continue  # another process claimed it first: read theirs
                    return Claim(int(link_id), True, "claimed", None, None, None)
                mine = row["cause"] == cause
                if not mine and row["state"] == "parked":
                    conn.execute(
                        update(links)
                        .where(links.c.id == row["id"])
                        .values(cause=cause, state="claimed", updated_at=now())
                    )
                    return Claim(row["id"], True, "claimed", None, None, None)
                return Claim(
                    row["id"],
                    mine,
                    row["state"],
                    row["status"],
                    row["invoice_number"],
                    row["xero_invoice_id"],
                )
        raise RuntimeError(f"could not claim lead {lead_id}: repeated conflicts")

    @staticmethod
    def _active_link(conn: Connection, connection_id: str, lead_id: int) -> Row | None:
        return (
            conn.execute(
                select(links).where(
                    links.c.connection_id == connection_id,
                    links.c.kommo_lead_id == lead_id,
                    links.c.active.is_(True),
                )
            )
            .mappings()
            .first()
        )

    def active_link(self, connection_id: str, lead_id: int) -> Row | None:
        with self.tx() as conn:
            return self._active_link(conn, connection_id, lead_id)

    def link(self, link_id: int) -> Row | None:
        with self.tx() as conn:
            return conn.execute(select(links).where(links.c.id == link_id)).mappings().first()

    def link_by_invoice(self, connection_id: str, invoice_id: str) -> Row | None:
        with self.tx() as conn:
            return (
                conn.execute(
                    select(links).where(
                        links.c.connection_id == connection_id,
                        links.c.xero_invoice_id == invoice_id,
                    )
                )
                .mappings()
                .first()
            )

    def update_link(self, link_id: int, **values: Any) -> None:
        values["updated_at"] = now()
        with self.tx() as conn:
            conn.execute(update(links).where(links.c.id == link_id).values(**values))

    def close_link(self, link_id: int, status: str) -> None:
        """The invoice was voided or deleted: the deal may be invoiced again."""
        self.update_link(link_id, state="closed", status=status, active=False)

    def links_page(
        self,
        connection_id: str | None = None,
        *,
        search: str | None = None,
        status: str | None = None,
        origin: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Row], int]:
        conds = []
        if connection_id:
            conds.append(links.c.connection_id == connection_id)
        if status:
            conds.append(links.c.status_label == status)
        if origin:
            conds.append(links.c.origin == origin)
        if search:
            like = f"%{search}%"
            conds.append(
                or_(
                    links.c.deal_name.ilike(like),
                    links.c.invoice_number.ilike(like),
                    links.c.contact_name.ilike(like),
                )
            )
        where = and_(*conds) if conds else None
        query = select(links).order_by(links.c.updated_at.desc()).limit(limit).offset(offset)
        count = select(func.count()).select_from(links)
        if where is not None:
            query = query.where(where)
            count = count.where(where)
        with self.tx() as conn:
            rows = list(conn.execute(query).mappings())
            total = int(conn.execute(count).scalar_one())
        return rows, total

    def link_counts(self, connection_id: str | None = None) -> dict[str, int]:
        query = select(links.c.state, func.count()).group_by(links.c.state)
        if connection_id:
            query = query.where(links.c.connection_id == connection_id)
        with self.tx() as conn:
            return {state: int(n) for state, n in conn.execute(query)}

    # -- invoice batches -----------------------------------------------------------------

    def open_batch(
        self,
        batch_id: str,
        connection_id: str,
        idempotency_key: str,
        request: Any,
        link_ids: Sequence[int],
    ) -> None:
        """Record the exact request before it is sent, and which links it carries."""
        with self.tx() as conn:
            conn.execute(
                insert(invoice_batches).values(
                    id=batch_id,
                    connection_id=connection_id,
                    idempotency_key=idempotency_key,
                    request_json=json.dumps(request),
                    created_at=now(),
                )
            )
            conn.execute(
                update(links).where(links.c.id.in_(list(link_ids))).values(batch_id=batch_id)
            )
            # Now in a batch: no longer waiting in the shared queue (same transaction).
            conn.execute(delete(invoice_orders).where(invoice_orders.c.link_id.in_(list(link_ids))))

    def batch(self, batch_id: str) -> Row | None:
        with self.tx() as conn:
            return (
                conn.execute(select(invoice_batches).where(invoice_batches.c.id == batch_id))
                .mappings()
                .first()
            )

    def complete_batch(self, batch_id: str, response: Any) -> None:
        with self.tx() as conn:
            conn.execute(
                update(invoice_batches)
                .where(invoice_batches.c.id == batch_id)
                .values(response_json=json.dumps(response), completed_at=now())
            )
