"""Link-table operations of flows B and C that must be atomic: claiming a hand-made invoice,
and claiming one newer invoice state for a deal (compare-and-set on Xero's UpdatedDateUTC).

The unique index on (connection, xero_invoice_id) is what makes "one deal per hand-made
invoice" hold across processes; the conditional update is what makes status forward-only.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from kommo_xero.domain.invoice_events import InvoiceFacts, as_utc
from kommo_xero.store import Store
from kommo_xero.store.repository import now
from kommo_xero.store.tables import contact_links, effects, links


def facts_values(facts: InvoiceFacts) -> dict[str, Any]:
    """Link columns that mirror the invoice."""
    return {
        "invoice_number": facts.number,
        "status": facts.status,
        "status_label": facts.label,
        "currency": facts.currency,
        "total": facts.total,
        "amount_due": facts.amount_due,
        "amount_paid": facts.amount_paid,
        "contact_name": facts.contact_name,
        "xero_updated_at": facts.updated_at,
    }


def claim_invoice(store: Store, connection_id: str, facts: InvoiceFacts, cause: str) -> int | None:
    """Claim a hand-made invoice for deal creation; None when it is already claimed or linked.

    The claim has no deal yet (lead id 0, inactive) so it does not hold a deal's one slot.
    """
    try:
        with store.tx() as conn:
            inserted = conn.execute(
                insert(links).values(
                    connection_id=connection_id,
                    kommo_lead_id=0,
                    xero_invoice_id=facts.invoice_id,
                    origin="invoice",
                    state="claimed",
                    active=False,
                    cause=cause,
                    deal_name=None,
                    created_at=now(),
                    updated_at=now(),
                    **facts_values(facts),
                )
            )
            return int(inserted.inserted_primary_key[0])  # type: ignore[index]
    except IntegrityError:
        with store.tx() as conn:
            row = (
                conn.execute(
                    select(links.c.id, links.c.cause, links.c.state).where(
                        links.c.connection_id == connection_id,
                        links.c.xero_invoice_id == facts.invoice_id,
                    )
                )
                .mappings()
                .first()
            )
        if row is None:
            return None
        # The same cause resuming after a crash keeps its claim; a parked claim is taken over.
        if row["cause"] == cause and row["state"] == "claimed":
            return int(row["id"])
        if row["state"] == "parked":
            store.update_link(int(row["id"]), cause=cause, state="claimed")
            return int(row["id"])
        return None


def attach_deal(store: Store, link_id: int, lead_id: int, deal_name: str) -> None:
    store.update_link(
        link_id, kommo_lead_id=lead_id, active=True, state="invoiced", deal_name=deal_name
    )


def _previous(row: Any) -> dict[str, Any]:
    return {
        "status": row["status"],
        "amount_paid": str(row["amount_paid"] or 0),
        "amount_due": str(row["amount_due"] or 0),
        "updated_at": as_utc(row["xero_updated_at"]).isoformat()
        if row["xero_updated_at"]
        else None,
    }


def claim_state(
    store: Store, link_id: int, facts: InvoiceFacts, effect_key: str
) -> dict[str, Any] | None:
    """Move the link to `facts` if they are newer than what it holds; return the previous
    state, or None when they are not newer (a stale or repeated event).

    The effect row is written in the same transaction, so a step that crashed after the
    update finds its claim again instead of losing the write to Kommo.
    """
    with store.tx() as conn:
        effect = conn.execute(
            select(effects.c.state, effects.c.result).where(effects.c.key == effect_key)
        ).first()
        if effect is not None:
            return None if effect.state == "done" else dict(json.loads(effect.result or "{}"))
        row = conn.execute(select(links).where(links.c.id == link_id)).mappings().first()
        if row is None:
            return None
        held = row["xero_updated_at"]
        if held is not None and as_utc(held) >= facts.updated_at:
            return None
        # The condition repeats the check for other processes writing the same link.
        changed = conn.execute(
            update(links)
            .where(
                links.c.id == link_id,
                or_(links.c.xero_updated_at.is_(None), links.c.xero_updated_at < facts.updated_at),
            )
            .values(updated_at=now(), **facts_values(facts))
        ).rowcount
        if not changed:
            return None
        previous = _previous(row)
        conn.execute(
            insert(effects).values(
                key=effect_key,
                connection_id=row["connection_id"],
                state="claimed",
                result=json.dumps(previous),
                updated_at=now(),
            )
        )
        return previous


def held_updated_at(store: Store, link_id: int) -> datetime | None:
    row = store.link(link_id)
    return as_utc(row["xero_updated_at"]) if row and row["xero_updated_at"] else None


def previous_facts(previous: dict[str, Any], now_facts: InvoiceFacts) -> InvoiceFacts | None:
    if not previous.get("status"):
        return None
    return InvoiceFacts(
        invoice_id=now_facts.invoice_id,
        number=now_facts.number,
        type=now_facts.type,
        status=str(previous["status"]),
        currency=now_facts.currency,
        total=now_facts.total,
        amount_due=Decimal(previous["amount_due"]),
        amount_paid=Decimal(previous["amount_paid"]),
        updated_at=datetime.fromisoformat(previous["updated_at"])
        if previous.get("updated_at")
        else now_facts.updated_at,
    )


def kommo_contact_for_xero(store: Store, connection_id: str, xero_contact_id: str) -> int | None:
    """The Kommo contact a Xero contact was matched to before (saves a search)."""
    with store.tx() as conn:
        found = conn.execute(
            select(contact_links.c.kommo_id)
            .where(
                and_(
                    contact_links.c.connection_id == connection_id,
                    contact_links.c.kommo_type == "contact",
                    contact_links.c.xero_contact_id == xero_contact_id,
                )
            )
            .limit(1)
        ).scalar_one_or_none()
    return int(found) if found is not None else None
