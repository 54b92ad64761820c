"""Re-read a deal from Kommo (payloads are triggers, not data) and turn it into a `Deal`.

Leads are read through a batcher: fifty deals approved at once cost one list call with
`filter[id][]`, not fifty single reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from kommo_xero.domain.model import Deal, Party, PartyKind, ProductLine
from kommo_xero.kommo.models import Lead
from kommo_xero.workflows.batching import Batcher
from kommo_xero.workflows.runtime import Runtime


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal("0")
    except InvalidOperation:
        return Decimal("0")


def _as_date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    try:
        return datetime.fromtimestamp(int(value), UTC).date()
    except (TypeError, ValueError):
        try:
            return date.fromisoformat(str(value)[:10])
        except ValueError:
            return None


def _lead_batcher(rt: Runtime) -> Batcher[int, Lead | None]:
    async def flush(ids: Sequence[int]) -> list[Lead | None]:
        leads = {lead.id: lead for lead in await rt.kommo.get_leads(list(ids))}
        return [leads.get(lead_id) for lead_id in ids]

    return rt.shared("lead_reader", lambda: Batcher(flush, window=0.05, max_size=50))


async def read_lead(rt: Runtime, lead_id: int) -> Lead | None:
    return await _lead_batcher(rt).submit(lead_id)


def _party_batcher(rt: Runtime, kind: PartyKind) -> Batcher[int, Party | None]:
    """Contacts (or companies) of many deals in one list call with `filter[id][]`."""
    fetch = rt.kommo.get_contacts if kind is PartyKind.contact else rt.kommo.get_companies

    async def flush(ids: Sequence[int]) -> list[Party | None]:
        found = {p.id: p for p in await fetch(list(ids))}
        return [
            Party(kind, f.id, f.name, f.email, f.phone) if (f := found.get(i)) else None
            for i in ids
        ]

    return rt.shared(f"{kind.value}_reader", lambda: Batcher(flush, window=0.05, max_size=50))


async def read_deal(rt: Runtime, lead_id: int) -> Deal | None:
    """The deal with its billed party and products, or None when the lead is gone."""
    lead = await read_lead(rt, lead_id)
    if lead is None or lead.is_deleted:
        return None
    contact = None
    if (contact_id := lead.main_contact_id) is not None:
        contact = await _party_batcher(rt, PartyKind.contact).submit(contact_id)
    company = None
    if (company_id := lead.company_id) is not None:
        company = await _party_batcher(rt, PartyKind.company).submit(company_id)
    products = []
    for ref in lead.catalog_elements:
        element = await rt.kommo.get_catalog_element(ref.catalog_id, ref.id)
        products.append(
            ProductLine(
                name=element.name or f"Product {element.id}",
                quantity=_decimal(ref.quantity),
                unit_price=element.price or Decimal("0"),
                sku=element.sku,
            )
        )
    fields = rt.fields
    currency = lead.field_text(fields.currency) if fields.currency else None
    return Deal(
        lead_id=lead.id,
        name=lead.name,
        price=_decimal(lead.price),
        pipeline_id=lead.pipeline_id or 0,
        status_id=lead.status_id or 0,
        url=rt.deal_url(lead.id),
        currency=currency.strip().upper() if currency else None,
        description=lead.field_text(fields.description) if fields.description else None,
        due_date=_as_date(lead.field_value(fields.due_date)) if fields.due_date else None,
        contact=contact,
        company=company,
        products=tuple(products),
    )
