"""Reads and writes of the app tables. Small transactions; uniqueness enforced by the DB."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    RowMapping,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from kommo_xero.store.tables import (
    contact_links,
    cursors,
    effects,
    history,
    invoice_batches,
    invoice_orders,
    links,
    parked,
)


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Claim:
    """The outcome of claiming a deal for invoicing."""

    link_id: int
    mine: bool  # True when this cause holds the claim (new, resumed, or taken over)
    state: str
    status: str | None
    invoice_number: str | None
    xero_invoice_id: str | None


Row = RowMapping


class Store:
    """The integration's database. One instance per process; thread-safe via the engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

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

    # -- history -------------------------------------------------------------------------

    def add_history(
        self,
        connection_id: str,
        kind: str,
        message: str,
        *,
        link_id: int | None = None,
        lead_id: int | None = None,
        invoice_id: str | None = None,
        detail: Any = None,
    ) -> None:
        with self.tx() as conn:
            conn.execute(
                insert(history).values(
                    connection_id=connection_id,
                    link_id=link_id,
                    kommo_lead_id=lead_id,
                    xero_invoice_id=invoice_id,
                    kind=kind,
                    message=message,
                    detail=json.dumps(detail, default=str) if detail is not None else None,
                    at=now(),
                )
            )

    def history_for(self, connection_id: str, lead_id: int) -> list[Row]:
        with self.tx() as conn:
            return list(
                conn.execute(
                    select(history)
                    .where(history.c.connection_id == connection_id)
                    .where(history.c.kommo_lead_id == lead_id)
                    .order_by(history.c.at, history.c.id)
                ).mappings()
            )

    # -- parked work ---------------------------------------------------------------------

    def park(
        self, connection_id: str, flow: str, subject: str, code: str, message: str, fix: str
    ) -> None:
        with self.tx() as conn:
            current = (
                conn.execute(
                    select(parked).where(
                        parked.c.connection_id == connection_id,
                        parked.c.flow == flow,
                        parked.c.subject == subject,
                        parked.c.open.is_(True),
                    )
                )
                .mappings()
                .first()
            )
            if current is None:
                conn.execute(
                    insert(parked).values(
                        connection_id=connection_id,
                        flow=flow,
                        subject=subject,
                        reason_code=code,
                        message=message,
                        fix=fix,
                        attempts=1,
                        open=True,
                        created_at=now(),
                        updated_at=now(),
                    )
                )
            else:
                conn.execute(
                    update(parked)
                    .where(parked.c.id == current["id"])
                    .values(
                        reason_code=code,
                        message=message,
                        fix=fix,
                        attempts=current["attempts"] + 1,
                        updated_at=now(),
                    )
                )

    def resolve_parked(self, connection_id: str, flow: str, subject: str) -> None:
        with self.tx() as conn:
            conn.execute(
                update(parked)
                .where(
                    parked.c.connection_id == connection_id,
                    parked.c.flow == flow,
                    parked.c.subject == subject,
                    parked.c.open.is_(True),
                )
                .values(open=False, resolved_at=now(), updated_at=now())
            )

    def open_parked(self, connection_id: str | None = None) -> list[Row]:
        query = select(parked).where(parked.c.open.is_(True)).order_by(parked.c.created_at)
        if connection_id:
            query = query.where(parked.c.connection_id == connection_id)
        with self.tx() as conn:
            return list(conn.execute(query).mappings())

    def parked_item(self, item_id: int) -> Row | None:
        with self.tx() as conn:
            return conn.execute(select(parked).where(parked.c.id == item_id)).mappings().first()

    # -- contact links -------------------------------------------------------------------

    def xero_contact_for(self, connection_id: str, kommo_type: str, kommo_id: int) -> str | None:
        with self.tx() as conn:
            return conn.execute(
                select(contact_links.c.xero_contact_id).where(
                    contact_links.c.connection_id == connection_id,
                    contact_links.c.kommo_type == kommo_type,
                    contact_links.c.kommo_id == kommo_id,
                )
            ).scalar_one_or_none()

    def link_contact(
        self, connection_id: str, kommo_type: str, kommo_id: int, xero_contact_id: str, name: str
    ) -> None:
        with self.tx() as conn:
            try:
                with conn.begin_nested():
                    conn.execute(
                        insert(contact_links).values(
                            connection_id=connection_id,
                            kommo_type=kommo_type,
                            kommo_id=kommo_id,
                            xero_contact_id=xero_contact_id,
                            name=name,
                        )
                    )
            except IntegrityError:
                conn.execute(
                    update(contact_links)
                    .where(
                        contact_links.c.connection_id == connection_id,
                        contact_links.c.kommo_type == kommo_type,
                        contact_links.c.kommo_id == kommo_id,
                    )
                    .values(xero_contact_id=xero_contact_id, name=name)
                )

    # -- effects (read-check-write for Kommo) --------------------------------------------

    def effect_state(self, key: str) -> str | None:
        with self.tx() as conn:
            return conn.execute(
                select(effects.c.state).where(effects.c.key == key)
            ).scalar_one_or_none()

    def effect_result(self, key: str) -> str | None:
        with self.tx() as conn:
            return conn.execute(
                select(effects.c.result).where(effects.c.key == key)
            ).scalar_one_or_none()

    def mark_effect(
        self, connection_id: str, key: str, state: str, result: str | None = None
    ) -> None:
        values: dict[str, Any] = {"state": state, "updated_at": now()}
        if result is not None:
            values["result"] = result
        with self.tx() as conn:
            updated = conn.execute(
                update(effects).where(effects.c.key == key).values(**values)
            ).rowcount
            if not updated:
                conn.execute(insert(effects).values(key=key, connection_id=connection_id, **values))

    # -- cursors -------------------------------------------------------------------------

    def cursor(self, connection_id: str, name: str) -> str | None:
        with self.tx() as conn:
            return conn.execute(
                select(cursors.c.value).where(
                    cursors.c.connection_id == connection_id, cursors.c.name == name
                )
            ).scalar_one_or_none()

    def set_cursor(self, connection_id: str, name: str, value: str) -> None:
        with self.tx() as conn:
            updated = conn.execute(
                update(cursors)
                .where(cursors.c.connection_id == connection_id, cursors.c.name == name)
                .values(value=value, updated_at=now())
            ).rowcount
            if not updated:
                conn.execute(
                    insert(cursors).values(
                        connection_id=connection_id, name=name, value=value, updated_at=now()
                    )
                )
