"""What happened and what is stuck: the history timeline and parked work."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import insert, select, update

from kommo_xero.store.base import Row, StoreBase, now
from kommo_xero.store.tables import history, parked


class Journal(StoreBase):
    """The part of `Store` that records history and parks work (see repository.Store)."""

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
