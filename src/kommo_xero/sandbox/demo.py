"""The demo scenario: what a visitor watches happen between the two simulators.

A sales manager's deals are approved in Kommo; each becomes one Xero invoice attached to its
deal. One deal is in a currency the Xero organisation has not enabled: it is parked with a
note saying how to fix it, the currency is enabled, the deal is moved again and completes.
An already-invoiced deal moved back into the stage gets no second invoice. A payment
recorded in Xero turns its deal to "Paid", and an invoice made by hand in Xero becomes a
new deal.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kommo_xero.sandbox.stack import Simulators

TENANT = "c2cc9b6e-9458-4c7d-93cc-f02b81b0594f"


@dataclass(frozen=True)
class DemoDeal:
    name: str
    client: str
    email: str
    price: float
    currency: str
    description: str


DEALS: tuple[DemoDeal, ...] = (
    DemoDeal("Website redesign", "ACME Ltd", "ap@acme.example", 4500, "USD", "Website redesign"),
    DemoDeal("SEO retainer (Q1)", "Globex GmbH", "billing@globex.example", 1200, "EUR", "SEO"),
    DemoDeal("Brand workshop", "Initech plc", "accounts@initech.example", 800, "GBP", "Workshop"),
)
HAND_MADE = DemoDeal(
    "Consulting day", "Umbrella Corp", "finance@umbrella.example", 950, "USD", "Consulting day"
)
PAID_STAGE_ID = 63459815  # "Paid" in the sandbox pipeline (the sandbox's paid_stage)
PARKED_DEAL = DemoDeal(
    "Mobile app audit", "Kiwi Tours Ltd", "ops@kiwitours.example", 2300, "NZD", "App audit"
)


@dataclass
class Expectation:
    what: str
    held: bool


@dataclass
class DemoReport:
    rows: list[dict[str, Any]] = field(default_factory=list)
    expectations: list[Expectation] = field(default_factory=list)

    @property
    def all_held(self) -> bool:
        return all(e.held for e in self.expectations)

    def expect(self, what: str, held: bool) -> None:
        self.expectations.append(Expectation(what, bool(held)))


class DemoScenario:
    def __init__(self, sims: Simulators, console: Console, timeout: float = 60.0) -> None:
        self.sims = sims
        self.console = console
        self.timeout = timeout

    # -- acting as people ---------------------------------------------------------------

    def create_deal(self, deal: DemoDeal) -> int:
        contact = self.sims.kommo_sim.post(
            "/contacts", json={"name": deal.client, "email": deal.email}
        )
        contact.raise_for_status()
        lead = self.sims.kommo_sim.post(
            "/leads",
            json={
                "name": deal.name,
                "price": deal.price,
                "currency": deal.currency,
                "description": deal.description,
                "status_name": "Negotiation",
                "contact_id": contact.json()["id"],
            },
        )
        lead.raise_for_status()
        return int(lead.json()["id"])

    def move(self, lead_id: int, stage: str) -> None:
        self.sims.kommo_sim.post(
            f"/leads/{lead_id}/move", json={"status_name": stage}
        ).raise_for_status()

    # -- looking ------------------------------------------------------------------------

    def deal(self, lead_id: int) -> dict[str, Any]:
        answer = self.sims.kommo_sim.get(f"/leads/{lead_id}")
        answer.raise_for_status()
        return dict(answer.json())

    def invoices_for(self, lead_id: int) -> list[Any]:
        org = self.sims.xero.app.state.sim.orgs[TENANT]
        return [i for i in list(org.invoices.values()) if i.reference == f"Kommo deal {lead_id}"]

    def shows_invoice(self, lead_id: int) -> bool:
        deal = self.deal(lead_id)
        return bool(deal["fields"].get("Xero invoice number")) and any(
            f["is_pdf"] for f in deal["files"]
        )

    def has_note(self, lead_id: int, words: str) -> bool:
        return any(
            words in (n.get("params") or {}).get("text", "") for n in self.deal(lead_id)["notes"]
        )

    def wait_all(self, label: str, lead_ids: list[int], done: Callable[[int], bool]) -> set[int]:
        finished: set[int] = set()
        deadline = time.monotonic() + self.timeout
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        ) as progress:
            task = progress.add_task(label, total=len(lead_ids))
            while len(finished) < len(lead_ids) and time.monotonic() < deadline:
                for lead_id in lead_ids:
                    if lead_id not in finished and done(lead_id):
                        finished.add(lead_id)
                        progress.advance(task)
                time.sleep(0.2)
        return finished

    # -- the story ----------------------------------------------------------------------

    def xero_side(self, report: DemoReport, paid_id: int) -> None:
        say = self.console.print
        say("[bold]6.[/] The client of the first deal pays in full; the accountant records it.")
        invoice = self.invoices_for(paid_id)[0]
        self.sims.xero_sim.post(f"/invoices/{invoice.invoice_id}/pay").raise_for_status()
        paid = self.wait_all(
            "Deal shows the payment",
            [paid_id],
            lambda i: (
                self.deal(i)["fields"].get("Xero invoice status") == "Paid"
                and self.has_note(i, "Paid in full")
            ),
        )
        report.expect("Paid invoice: the deal shows Paid with a note", paid_id in paid)
        report.expect(
            "Paid invoice: the deal moved to the Paid stage",
            self.deal(paid_id)["lead"]["status_id"] == PAID_STAGE_ID,
        )
        say("[bold]7.[/] The accountant makes a sales invoice by hand for a walk-in client.")
        made = self.sims.xero_sim.post(
            "/invoices",
            json={
                "contact_name": HAND_MADE.client,
                "contact_email": HAND_MADE.email,
                "lines": [
                    {
                        "description": HAND_MADE.description,
                        "quantity": 1,
                        "unit_amount": HAND_MADE.price,
                    }
                ],
                "currency": HAND_MADE.currency,
                "status": "AUTHORISED",
            },
        )
        made.raise_for_status()
        number = made.json()["InvoiceNumber"]
        found = self.wait_all(
            "A deal appears in Kommo", [0], lambda _: self.deal_named(number) is not None
        )
        lead_id = self.deal_named(number)
        report.expect("Hand-made invoice: exactly one new deal", 0 in found and lead_id is not None)
        if lead_id is not None:
            report.rows.append(
                {
                    "deal": f"{number} {HAND_MADE.client} (#{lead_id})",
                    "client": HAND_MADE.client,
                    "amount": f"{HAND_MADE.price:,.2f} {HAND_MADE.currency}",
                    "invoice": number,
                    "status": self.deal(lead_id)["fields"].get("Xero invoice status") or "—",
                    "invoices in Xero": "1 (made by hand)",
                }
            )

    def deal_named(self, number: str) -> int | None:
        state = self.sims.kommo.app.state.sim
        found = [lead.id for lead in list(state.leads.values()) if lead.name.startswith(number)]
        return found[0] if len(found) == 1 else None

    def run(self) -> DemoReport:
        report = DemoReport()
        say = self.console.print
        say("[bold]1.[/] A sales manager has four deals in negotiation in Kommo.")
        leads = {self.create_deal(d): d for d in DEALS}
        parked_id = self.create_deal(PARKED_DEAL)
        say("[bold]2.[/] The client paid the deposit: the deals move to [bold]Payment Approved[/].")
        for lead_id in [*leads, parked_id]:
            self.move(lead_id, "Payment Approved")
        shown = self.wait_all("Xero invoices attached to deals", list(leads), self.shows_invoice)
        for lead_id, deal in leads.items():
            invoices = self.invoices_for(lead_id)
            report.expect(f"{deal.name}: exactly one invoice in Xero", len(invoices) == 1)
            report.expect(
                f"{deal.name}: invoice number, status and PDF on the deal", lead_id in shown
            )
        say(
            f"[bold]3.[/] {PARKED_DEAL.name} is in NZD, which the Xero organisation has not "
            "enabled: the deal gets a note and the work is parked, not lost."
        )
        parked = self.wait_all(
            "Problem explained on the deal", [parked_id], lambda i: self.has_note(i, "NZD")
        )
        report.expect("NZD deal: parked with a note naming the currency", parked_id in parked)
        report.expect("NZD deal: no invoice while parked", not self.invoices_for(parked_id))
        say("[bold]4.[/] The accountant enables NZD in Xero; the deal is moved to the stage again.")
        self.sims.xero_sim.post(
            "/currencies", json={"code": "NZD", "enabled": True}
        ).raise_for_status()
        self.move(parked_id, "Negotiation")
        self.move(parked_id, "Payment Approved")
        fixed = self.wait_all("Parked deal completed", [parked_id], self.shows_invoice)
        report.expect("NZD deal: invoiced after the fix", parked_id in fixed)
        leads[parked_id] = PARKED_DEAL
        first = next(iter(leads))
        say("[bold]5.[/] Someone drags an invoiced deal out of the stage and back again.")
        self.move(first, "Negotiation")
        self.move(first, "Payment Approved")
        self.wait_all(
            "Duplicate refused with a note",
            [first],
            lambda i: self.has_note(i, "no second invoice"),
        )
        report.expect(
            "Re-entered deal: still exactly one invoice", len(self.invoices_for(first)) == 1
        )
        self.xero_side(report, first)
        for lead_id, deal in leads.items():
            fields = self.deal(lead_id)["fields"]
            report.rows.append(
                {
                    "deal": f"{deal.name} (#{lead_id})",
                    "client": deal.client,
                    "amount": f"{deal.price:,.2f} {deal.currency}",
                    "invoice": fields.get("Xero invoice number") or "—",
                    "status": fields.get("Xero invoice status") or "—",
                    "invoices in Xero": str(len(self.invoices_for(lead_id))),
                }
            )
        return report


def summary_table(report: DemoReport) -> Table:
    table = Table(title="Deal → invoice")
    for column in ("deal", "client", "amount", "invoice", "status", "invoices in Xero"):
        table.add_column(column)
    for row in report.rows:
        table.add_row(
            *(row[c] for c in ("deal", "client", "amount", "invoice", "status", "invoices in Xero"))
        )
    return table
