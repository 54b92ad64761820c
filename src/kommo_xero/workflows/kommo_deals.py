"""Create deals in Kommo for hand-made Xero invoices: batched, contact found or created.

Many invoices at once (an accountant's morning batch) become one or two `POST` calls per
fifty deals: a deal whose client is new goes through `/leads/complex` with its contact in the
same request; a deal whose client exists (found by email, then by exact name, or remembered
from an earlier invoice) is created with a link to that contact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from kommo_xero.domain.invoice_events import InvoiceFacts, deal_name
from kommo_xero.kommo._payloads import (
    ComplexLead,
    ContactCreate,
    FieldValue,
    FieldWrite,
    LeadCreate,
)
from kommo_xero.workflows.batching import Batcher
from kommo_xero.workflows.invoice_links import kommo_contact_for_xero
from kommo_xero.workflows.kommo_writes import invoice_fields
from kommo_xero.workflows.runtime import Runtime

XERO_INVOICE_URL = "https://go.xero.com/AccountsReceivable/View.aspx?InvoiceID={invoice_id}"


@dataclass(frozen=True)
class DealOrder:
    facts: InvoiceFacts
    client: str
    email: str | None
    xero_contact_id: str | None
    effect_key: str

    @property
    def client_key(self) -> str:
        return (self.email or self.client).casefold()


def lead_fields(rt: Runtime, facts: InvoiceFacts) -> list[FieldWrite]:
    snapshot = {
        "number": facts.number,
        "amount_due": str(facts.amount_due),
        "amount_paid": str(facts.amount_paid),
        "label": facts.label,
    }
    url = XERO_INVOICE_URL.format(invoice_id=facts.invoice_id)
    fields = invoice_fields(rt, snapshot, url)
    if rt.fields.currency and facts.currency:
        enums = rt.stages.currency_enums if rt.stages else {}
        if enums:
            if facts.currency.upper() in enums:
                fields.append(FieldValue.select(rt.fields.currency, enum_id=enums[facts.currency]))
        else:
            fields.append(FieldValue.text(rt.fields.currency, facts.currency))
    return fields


def _lead(rt: Runtime, order: DealOrder, contact_id: int | None) -> LeadCreate:
    pipeline_id, status_id = (
        rt.stages.invoice_deal
        if rt.stages and rt.stages.invoice_deal
        else (
            rt.pipeline_id,
            None,
        )
    )
    return LeadCreate(
        name=deal_name(order.facts),
        price=int(order.facts.total.quantize(Decimal("1"), rounding=ROUND_HALF_UP)),
        pipeline_id=pipeline_id,
        status_id=status_id,
        fields=lead_fields(rt, order.facts),
        tags=["Xero"],
        contact_id=contact_id,
        request_id=order.facts.invoice_id,
    )


async def _find_contact(rt: Runtime, order: DealOrder) -> int | None:
    if order.xero_contact_id:
        known = kommo_contact_for_xero(rt.store, rt.connection_id, order.xero_contact_id)
        if known is not None:
            return known
    if order.email:
        wanted = order.email.casefold()
        for contact in await rt.kommo.search_contacts(order.email):
            if (contact.email or "").casefold() == wanted:
                return contact.id
    wanted = order.client.strip().casefold()
    if wanted:
        for contact in await rt.kommo.search_contacts(order.client):
            if contact.name.strip().casefold() == wanted:
                return contact.id
    return None


def _remember(rt: Runtime, order: DealOrder, contact_id: int) -> None:
    if order.xero_contact_id:
        rt.store.link_contact(
            rt.connection_id, "contact", contact_id, order.xero_contact_id, order.client
        )


async def _create_all(rt: Runtime, orders: Sequence[DealOrder]) -> list[int | BaseException]:
    contacts: dict[str, int | None] = {}
    for order in orders:
        if order.client_key not in contacts:
            contacts[order.client_key] = await _find_contact(rt, order)
    lead_ids: dict[str, int] = {}
    # First deal of each new client: one complex create makes the contact too.
    firsts = {}
    for order in orders:
        if contacts[order.client_key] is None and order.client_key not in firsts:
            firsts[order.client_key] = order
    if firsts:
        complex_leads = [
            ComplexLead(
                lead=_lead(rt, order, None),
                contact=ContactCreate(name=order.client, email=order.email),
            )
            for order in firsts.values()
        ]
        for order in firsts.values():
            rt.store.mark_effect(rt.connection_id, order.effect_key, "started")
        results = await rt.kommo.create_complex_leads(complex_leads)
        for order, result in zip(firsts.values(), results, strict=True):
            lead_ids[order.effect_key] = result.id
            if result.contact_id is not None:
                contacts[order.client_key] = result.contact_id
                _remember(rt, order, result.contact_id)
    rest = [o for o in orders if o.effect_key not in lead_ids]
    if rest:
        for order in rest:
            rt.store.mark_effect(rt.connection_id, order.effect_key, "started")
        created = await rt.kommo.create_leads([_lead(rt, o, contacts[o.client_key]) for o in rest])
        by_request = {ref.request_id: ref.id for ref in created}
        for order in rest:
            lead_id = by_request.get(order.facts.invoice_id)
            if lead_id is not None:
                lead_ids[order.effect_key] = lead_id
                contact_id = contacts[order.client_key]
                if contact_id is not None:
                    _remember(rt, order, contact_id)
    out: list[int | BaseException] = []
    for order in orders:
        lead_id = lead_ids.get(order.effect_key)
        if lead_id is None:
            out.append(RuntimeError(f"Kommo made no deal for invoice {order.facts.number}"))
            continue
        rt.store.mark_effect(rt.connection_id, order.effect_key, "done", result=str(lead_id))
        out.append(lead_id)
    return out


def _batcher(rt: Runtime) -> Batcher[DealOrder, int]:
    return rt.shared(
        "deal_creator",
        lambda: Batcher(
            lambda orders: _create_all(rt, orders),
            window=rt.settings.mapping.batch_window_ms / 1000,
            max_size=50,
        ),
    )


async def _find_made(rt: Runtime, facts: InvoiceFacts) -> int | None:
    """After a crash mid-create: the deal we may have made, found by its invoice number."""
    if not facts.number:
        return None
    async for lead in rt.kommo.iter_leads(query=facts.number, with_=()):
        if lead.field_text(rt.fields.invoice_number) == facts.number:
            return lead.id
    return None


async def create_deal_once(rt: Runtime, order: DealOrder) -> int:
    """The deal for this invoice: made now, or the one an interrupted try already made."""
    state = rt.store.effect_state(order.effect_key)
    if state == "done":
        return int(rt.store.effect_result(order.effect_key) or 0)
    if state == "started":
        found = await _find_made(rt, order.facts)
        if found is not None:
            rt.store.mark_effect(rt.connection_id, order.effect_key, "done", result=str(found))
            return found
    return await _batcher(rt).submit(order)
