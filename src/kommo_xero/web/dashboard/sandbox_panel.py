"""The demo's sandbox panel: buttons that act as a person in Kommo or Xero via the simulators.

Shown only when the service runs against the simulators: the demo sets
`service.sandbox_urls = {"kommo": <kommo sim base URL>, "xero": <xero sim base URL>}`.
Each action is one call (or three) to a simulator's `/_sim` control API, exactly what a
person clicking in Kommo or Xero would cause; the sync then happens through the real
webhooks and API calls.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.datastructures import FormData

from kommo_xero.bootstrap import Service


class PanelError(Exception):
    """The action could not be done; the message is shown to the visitor."""


@dataclass
class Sims:
    kommo: httpx.AsyncClient
    xero: httpx.AsyncClient


def sandbox_urls(service: Service) -> dict[str, str] | None:
    urls = getattr(service, "sandbox_urls", None)
    if isinstance(urls, dict) and urls.get("kommo") and urls.get("xero"):
        return {"kommo": str(urls["kommo"]), "xero": str(urls["xero"])}
    return None


def _text(form: FormData, name: str, default: str = "") -> str:
    return str(form.get(name) or default).strip()


def _amount(form: FormData) -> float:
    try:
        value = float(_text(form, "amount", "0"))
    except ValueError:
        raise PanelError("The amount must be a number.") from None
    if value <= 0:
        raise PanelError("The amount must be above zero.")
    return value


def _lead_id(form: FormData) -> int:
    text = _text(form, "lead_id")
    if not text.isdigit():
        raise PanelError("Give the deal's number (its Kommo lead id).")
    return int(text)


async def _checked(call: Awaitable[httpx.Response]) -> dict[str, Any]:
    answer = await call
    if answer.status_code >= 400:
        try:
            detail = answer.json()
            detail = detail.get("detail") or detail.get("Detail") or detail
        except ValueError:
            detail = answer.text
        raise PanelError(f"The simulator refused: {detail}")
    return dict(answer.json()) if answer.content else {}


async def new_deal(sims: Sims, form: FormData) -> str:
    """A sales manager creates a deal for a client and moves it to Payment Approved."""
    client = _text(form, "client", "ACME Ltd")
    contact = await _checked(
        sims.kommo.post("/contacts", json={"name": client, "email": _text(form, "email") or None})
    )
    lead = await _checked(
        sims.kommo.post(
            "/leads",
            json={
                "name": _text(form, "name", "Website redesign"),
                "price": _amount(form),
                "currency": _text(form, "currency", "USD").upper(),
                "description": _text(form, "description", "Consulting services"),
                "status_name": "New deal",
                "contact_id": contact["id"],
            },
        )
    )
    await _checked(
        sims.kommo.post(f"/leads/{lead['id']}/move", json={"status_name": "Payment Approved"})
    )
    return f"Deal {lead['id']} created for {client} and moved to Payment Approved."


async def approve(sims: Sims, form: FormData) -> str:
    lead_id = _lead_id(form)
    await _checked(
        sims.kommo.post(f"/leads/{lead_id}/move", json={"status_name": "Payment Approved"})
    )
    return f"Deal {lead_id} moved to Payment Approved."


async def manual_invoice(sims: Sims, form: FormData) -> str:
    """An accountant creates and approves a sales invoice by hand in Xero."""
    body = {
        "contact_name": _text(form, "client", "Globex Corporation"),
        "lines": [
            {
                "description": _text(form, "description", "Support plan"),
                "unit_amount": _amount(form),
            }
        ],
        "currency": _text(form, "currency").upper() or None,
        "status": "AUTHORISED",
    }
    invoice = await _checked(sims.xero.post("/invoices", json=body))
    number = invoice.get("InvoiceNumber") or invoice.get("invoice_number") or "(new)"
    return f"Invoice {number} created by hand in Xero for {body['contact_name']}."


def _invoice(form: FormData) -> str:
    number = _text(form, "invoice")
    if not number:
        raise PanelError("Give the invoice number (for example INV-0001).")
    return number


async def pay(sims: Sims, form: FormData) -> str:
    number = _invoice(form)
    amount = _text(form, "amount")
    body = {"amount": float(amount)} if amount else {}
    await _checked(sims.xero.post(f"/invoices/{number}/pay", json=body))
    return f"Payment recorded on {number}" + (f" ({amount})." if amount else " (in full).")


async def void(sims: Sims, form: FormData) -> str:
    number = _invoice(form)
    await _checked(sims.xero.post(f"/invoices/{number}/void"))
    return f"Invoice {number} voided in Xero."


async def enable_currency(sims: Sims, form: FormData) -> str:
    code = _text(form, "code").upper()
    if len(code) != 3:
        raise PanelError("Give a three-letter currency code, like NZD.")
    await _checked(sims.xero.post("/currencies", json={"code": code, "enabled": True}))
    return f"{code} enabled in the Xero organisation. Retry the parked items that needed it."


Action = Callable[[Sims, FormData], Awaitable[str]]

ACTIONS: dict[str, Action] = {
    "new-deal": new_deal,
    "approve": approve,
    "manual-invoice": manual_invoice,
    "pay": pay,
    "void": void,
    "enable-currency": enable_currency,
}


async def perform(urls: dict[str, str], action: str, form: FormData) -> str:
    """Run one panel action; raises PanelError with a message for the visitor."""
    handler = ACTIONS.get(action)
    if handler is None:
        raise PanelError(f"Unknown action {action!r}.")
    async with (
        httpx.AsyncClient(base_url=f"{urls['kommo'].rstrip('/')}/_sim", timeout=15) as kommo,
        httpx.AsyncClient(base_url=f"{urls['xero'].rstrip('/')}/_sim", timeout=15) as xero,
    ):
        try:
            return await handler(Sims(kommo, xero), form)
        except httpx.HTTPError as exc:
            raise PanelError(f"The simulator did not answer: {exc}") from exc
