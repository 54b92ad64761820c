"""Invoice orders of several processes go out together: whoever holds the connection's batch
slot sends the oldest queued orders of everyone, so extra processes do not mean extra calls."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from kommo_xero.bootstrap import build_xero
from kommo_xero.config import Settings
from kommo_xero.domain.model import InvoicePlan, Party, PartyKind, PlannedLine
from kommo_xero.sandbox.server import ServerHandle, start_in_thread
from kommo_xero.sandbox.stack import sandbox_settings
from kommo_xero.sandbox.xero import XeroSimConfig
from kommo_xero.sandbox.xero import create_app as create_xero_app
from kommo_xero.store import Store, make_engine, migrate
from kommo_xero.transport.gate import LocalGate
from kommo_xero.workflows.runtime import Runtime
from kommo_xero.workflows.xero_invoices import InvoiceOrder, InvoiceRefused, create_invoice
from kommo_xero.xero.models import ContactCreate

INVOICES_ROUTE = "/Invoices"  # the simulator counts calls by route template


@pytest.fixture
def xero() -> Iterator[ServerHandle]:
    with start_in_thread(create_xero_app(XeroSimConfig())) as sim:
        yield sim


def _settings(tmp_path: Path, xero: ServerHandle) -> Settings:
    return sandbox_settings(
        tmp_path, kommo_url="http://127.0.0.1:9", xero_url=xero.base_url, service_port=8100
    )


def _process(settings: Settings, store: Store, batch_gate: LocalGate) -> Runtime:
    """What one process has for the connection: its own clients and batcher, the shared
    database, and the connection's batch slot (a PostgreSQL lock when scaled out)."""
    return Runtime(
        connection_id=settings.connection_name,
        settings=settings,
        kommo=None,  # type: ignore[arg-type]  # not used to create invoices
        xero=build_xero(settings, store),
        store=store,
        fields=None,  # type: ignore[arg-type]
        pipeline_id=0,
        trigger_status_id=0,
        kommo_account_id=0,
        kommo_ui_url="http://127.0.0.1:9",
        batch_gate=batch_gate,
    )


def _order(
    store: Store, settings: Settings, lead_id: int, contact_id: str, currency: str = "USD"
) -> InvoiceOrder:
    claim = store.claim_deal(settings.connection_name, lead_id, f"cause-{lead_id}", "deal")
    plan = InvoicePlan(
        lead_id=lead_id,
        bill_to=Party(PartyKind.contact, 1, "Shared Queue Ltd"),
        currency=currency,
        lines=(PlannedLine("Work", Decimal(1), Decimal(100 + lead_id), "200", "OUTPUT"),),
        issue_date=date(2026, 11, 27),
        due_date=date(2026, 12, 27),
        reference=f"Kommo deal {lead_id}",
        url="http://127.0.0.1:9",
        status="AUTHORISED",
        line_amount_types="Exclusive",
    )
    return InvoiceOrder(claim.link_id, plan, contact_id)


def _store(settings: Settings) -> Store:
    url = settings.service.resolved_database_url()
    migrate(url)
    return Store(make_engine(url))


async def _contact(rt: Runtime) -> str:
    made = await rt.xero.create_contacts(
        [ContactCreate(name="Shared Queue Ltd")], idempotency_key="kx-test-contact"
    )
    assert made[0].item is not None and made[0].item.contact_id is not None
    return made[0].item.contact_id


def _invoice_calls(xero: ServerHandle) -> int:
    calls: dict[str, int] = httpx.get(f"{xero.base_url}/_sim/calls").json()["calls"]
    return sum(n for key, n in calls.items() if key.endswith(INVOICES_ROUTE))


def test_orders_of_two_processes_share_one_batch(tmp_path: Path, xero: ServerHandle) -> None:
    """While A's first batch is in flight, orders from A and B queue up and leave in one call."""
    settings = _settings(tmp_path, xero)
    store = _store(settings)
    slot = LocalGate(1)
    a, b = _process(settings, store, slot), _process(settings, store, slot)

    async def scenario() -> list[dict[str, Any]]:
        contact_id = await _contact(a)
        # Xero takes 1.5 s to answer invoice calls, so the first batch is still in flight
        # when the other orders arrive.
        httpx.post(
            f"{xero.base_url}/_sim/faults", json={"route": INVOICES_ROUTE, "latency_ms": 1500}
        ).raise_for_status()
        first = asyncio.create_task(create_invoice(a, _order(store, settings, 1, contact_id)))
        await asyncio.sleep(0.5)
        later = [
            asyncio.create_task(create_invoice(process, _order(store, settings, lead, contact_id)))
            for process, lead in ((b, 2), (b, 3), (a, 4), (b, 5))
        ]
        return [await first, *await asyncio.gather(*later)]

    made = asyncio.run(scenario())
    assert [f"INV-000{n}" for n in range(1, 6)] == sorted(m["number"] for m in made)
    # One call for the first order, one for the four that queued behind it (two processes).
    assert 2 == _invoice_calls(xero)


def test_a_refused_invoice_is_asked_for_again_after_the_fix(
    tmp_path: Path, xero: ServerHandle
) -> None:
    """Xero refuses NZD (not enabled); once it is enabled, the same deal's next attempt sends
    a new request instead of reading the stored refusal."""
    settings = _settings(tmp_path, xero)
    store = _store(settings)
    rt = _process(settings, store, LocalGate(1))

    async def scenario() -> tuple[str, dict[str, Any]]:
        contact_id = await _contact(rt)
        try:
            await create_invoice(rt, _order(store, settings, 7, contact_id, "NZD"))
        except InvoiceRefused as refused:
            first = str(refused)
        else:
            raise AssertionError("Xero should have refused NZD")
        httpx.post(
            f"{xero.base_url}/_sim/currencies", json={"code": "NZD", "enabled": True}
        ).raise_for_status()
        return first, await create_invoice(rt, _order(store, settings, 7, contact_id, "NZD"))

    refusal, made = asyncio.run(scenario())
    assert "NZD" in refusal
    assert "NZD" == made["currency"]
    assert 2 == _invoice_calls(xero)


def _trickle(settings: Settings, store: Store) -> list[dict[str, Any]]:
    """Six orders from two processes, one every 0.2 s, the first after a quiet spell."""
    slot = LocalGate(1)
    a, b = _process(settings, store, slot), _process(settings, store, slot)

    async def scenario() -> list[dict[str, Any]]:
        contact_id = await _contact(a)
        made = []
        for lead in range(1, 7):
            process = a if lead % 2 else b
            order = _order(store, settings, lead, contact_id)
            made.append(asyncio.create_task(create_invoice(process, order)))
            await asyncio.sleep(0.2)
        return list(await asyncio.gather(*made))

    return asyncio.run(scenario())


def _spaced(tmp_path: Path, xero: ServerHandle, spacing_ms: int) -> Settings:
    settings = _settings(tmp_path, xero)
    mapping = settings.mapping.model_copy(update={"batch_spacing_ms": spacing_ms})
    return settings.model_copy(update={"mapping": mapping})


def test_a_trickle_during_a_burst_waits_for_the_next_batch(
    tmp_path: Path, xero: ServerHandle
) -> None:
    """The first order leaves at once; the five right behind it wait out the spacing and
    share one call."""
    settings = _spaced(tmp_path, xero, 2000)
    made = _trickle(settings, _store(settings))
    assert [f"INV-000{n}" for n in range(1, 7)] == sorted(m["number"] for m in made)
    assert 2 == _invoice_calls(xero)


def test_without_spacing_a_trickle_leaves_in_small_calls(
    tmp_path: Path, xero: ServerHandle
) -> None:
    """Baseline: with batch_spacing_ms = 0 the same trickle costs a call per order or so."""
    settings = _spaced(tmp_path, xero, 0)
    made = _trickle(settings, _store(settings))
    assert 6 == len(made)
    assert _invoice_calls(xero) >= 4
