"""Link invoices and deals that existed before the integration was installed.

For each sales invoice dated on or after `since` that has no link: first by reference (the
reference template, e.g. "Kommo deal 22514871"), then by client and amount (a deal in the
trigger pipeline whose main contact has the invoice's client name and whose price is the
invoice total, when exactly one deal fits). Each match becomes a link, and the deal shows the
invoice from then on. Nothing is created in either system; what could not be matched is
reported, not guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from kommo_xero.domain.invoice_events import InvoiceFacts
from kommo_xero.kommo.models import Lead
from kommo_xero.store.repository import now
from kommo_xero.store.tables import links
from kommo_xero.workflows.invoice_links import facts_values
from kommo_xero.workflows.invoice_reading import facts_of
from kommo_xero.workflows.kommo_writes import invoice_fields, write_fields
from kommo_xero.workflows.runtime import Runtime

LIVE_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED", "PAID")


@dataclass
class BackfillReport:
    linked: list[tuple[str, int, str]] = field(default_factory=list)  # (invoice, lead, how)
    unmatched: list[tuple[str, str]] = field(default_factory=list)  # (invoice, why)
    already_linked: int = 0


def reference_pattern(template: str) -> re.Pattern[str]:
    """A regex that reads the lead id back out of references made from `template`."""
    parts = re.split(r"(\{lead_id\}|\{lead_name\}|\{contact_name\})", template)
    regex = "".join(
        "(?P<lead_id>\\d+)" if p == "{lead_id}" else ".+?" if p.startswith("{") else re.escape(p)
        for p in parts
    )
    return re.compile(f"^{regex}$")


async def _deals_by_client(rt: Runtime, since: date) -> dict[tuple[str, Decimal], list[Lead]]:
    """Open deals of the trigger pipeline keyed by (main contact name, price)."""
    keyed: dict[tuple[str, Decimal], list[Lead]] = {}
    names: dict[int, str] = {}
    async for lead in rt.kommo.iter_leads(pipeline_id=rt.pipeline_id, with_=("contacts",)):
        contact_id = lead.main_contact_id
        if contact_id is None or lead.price is None:
            continue
        if contact_id not in names:
            contact = await rt.kommo.get_contact(contact_id)
            names[contact_id] = (contact.name if contact else "").strip().casefold()
        key = (names[contact_id], Decimal(str(lead.price)).quantize(Decimal("0.01")))
        keyed.setdefault(key, []).append(lead)
    return keyed


def _link(rt: Runtime, lead_id: int, facts: InvoiceFacts, how: str) -> bool:
    try:
        with rt.store.tx() as conn:
            conn.execute(
                insert(links).values(
                    connection_id=rt.connection_id,
                    kommo_lead_id=lead_id,
                    xero_invoice_id=facts.invoice_id,
                    origin="deal",
                    state="invoiced",
                    active=True,
                    cause=f"backfill:{how}:{facts.invoice_id}",
                    created_at=now(),
                    updated_at=now(),
                    **facts_values(facts),
                )
            )
    except IntegrityError:  # the deal already has a live link, or the invoice has one
        return False
    return True


async def backfill(rt: Runtime, since: date) -> BackfillReport:
    report = BackfillReport()
    pattern = reference_pattern(rt.settings.mapping.reference_template)
    invoices = [
        invoice
        async for invoice in rt.xero.iter_invoices(
            statuses=LIVE_STATUSES,
            where=f'Type=="ACCREC" AND Date >= DateTime({since.year}, {since.month}, {since.day})',
        )
    ]
    by_client: dict[tuple[str, Decimal], list[Lead]] | None = None
    for invoice in invoices:
        facts = facts_of(invoice)
        if rt.store.link_by_invoice(rt.connection_id, facts.invoice_id) is not None:
            report.already_linked += 1
            continue
        match = pattern.match(invoice.reference or "")
        lead_id, how = (int(match["lead_id"]), "reference") if match else (None, "")
        if lead_id is not None and await rt.kommo.get_lead(lead_id, with_=()) is None:
            report.unmatched.append((facts.display_number, f"deal {lead_id} does not exist"))
            continue
        if lead_id is None:
            if by_client is None:
                by_client = await _deals_by_client(rt, since)
            key = (
                (facts.contact_name or "").strip().casefold(),
                facts.total.quantize(Decimal("0.01")),
            )
            fits = [
                lead
                for lead in by_client.get(key, [])
                if not rt.store.active_link(rt.connection_id, lead.id)
            ]
            if len(fits) == 1:
                lead_id, how = fits[0].id, "client and amount"
            else:
                why = "no deal of that client and amount" if not fits else f"{len(fits)} deals fit"
                report.unmatched.append((facts.display_number, why))
                continue
        if not _link(rt, lead_id, facts, how):
            report.unmatched.append((facts.display_number, f"deal {lead_id} is already linked"))
            continue
        snapshot = {
            "number": facts.number,
            "amount_due": str(facts.amount_due),
            "amount_paid": str(facts.amount_paid),
            "label": facts.label,
        }
        await write_fields(rt, lead_id, invoice_fields(rt, snapshot, None))
        rt.store.add_history(
            rt.connection_id,
            "backfilled",
            f"Invoice {facts.display_number} linked to deal {lead_id} by {how}.",
            lead_id=lead_id,
            invoice_id=facts.invoice_id,
        )
        report.linked.append((facts.display_number, lead_id, how))
    return report
