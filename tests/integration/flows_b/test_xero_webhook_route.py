"""POST /webhooks/xero: fixture replay with good and bad signatures, Intent-to-Receive."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx

from kommo_xero.workflows import engine

from .conftest import TENANT, Box

FIXTURES = Path(__file__).parents[2] / "fixtures" / "xero"


def fixture(name: str) -> tuple[bytes, str]:
    body = (FIXTURES / f"{name}.json").read_bytes()
    return body, (FIXTURES / f"{name}.json.sig").read_text().strip()


def deliver(box: Box, body: bytes, signature: str) -> httpx.Response:
    return httpx.post(
        f"{box.service.base_url}/webhooks/xero",
        content=body,
        headers={"content-type": "application/json", "x-xero-signature": signature},
        timeout=10,
    )


def status_of(workflow_id: str) -> str | None:
    """The engine's status of a workflow, None when it was never started."""
    try:
        return asyncio.run(engine.workflow_status(workflow_id))
    except Exception as exc:
        if type(exc).__name__ != "DBOSNonExistentWorkflowError":
            raise
        return None


def test_intent_to_receive_good_signature_gets_empty_200(box: Box) -> None:
    """A correctly signed ITR body is answered 200 with no body at all."""
    answer = deliver(box, *fixture("route_intent_to_receive"))
    assert answer.status_code == 200
    assert answer.content == b""


def test_bad_signatures_get_401_and_start_nothing(box: Box) -> None:
    """A wrong signature, a missing one, or a tampered body is refused with 401."""
    body, signature = fixture("route_invoice_update")
    assert deliver(box, body, "AAAA" + signature[4:]).status_code == 401
    assert deliver(box, body.replace(b"UPDATE", b"CREATE"), signature).status_code == 401
    no_header = httpx.post(f"{box.service.base_url}/webhooks/xero", content=body, timeout=10)
    assert no_header.status_code == 401
    assert (
        status_of(
            f"xero:{TENANT}:INVOICE:7d3f6a52-0c1e-4b8a-9f27-5e6d4c3b2a10:2026-07-25T04:59:59.000"
        )
        is None
    )


def test_signed_event_starts_one_flow_and_repeats_start_nothing(box: Box) -> None:
    """A signed INVOICE event starts one workflow under its deterministic id; a repeat attaches."""
    body, signature = fixture("route_invoice_update")
    started = time.monotonic()
    first = deliver(box, body, signature)
    elapsed = time.monotonic() - started
    assert first.status_code == 200 and first.content == b""
    assert elapsed < 1.0
    workflow_id = (
        f"xero:{TENANT}:INVOICE:7d3f6a52-0c1e-4b8a-9f27-5e6d4c3b2a10:2026-07-25T04:59:59.000"
    )
    # The receiver records the trigger; the inbox pump starts the workflow moments later.
    deadline = time.monotonic() + 10
    while status_of(workflow_id) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert status_of(workflow_id) is not None
    assert deliver(box, body, signature).status_code == 200
    assert asyncio.run(engine.wait_result(workflow_id)) == "gone"


def test_events_for_other_tenants_and_contacts_start_nothing(box: Box) -> None:
    """An organisation we do not serve, or a CONTACT event, is acknowledged and ignored."""
    # The service learns its organisation from Xero (custom connection: no tenant configured).
    assert deliver(box, *fixture("route_invoice_update")).status_code == 200
    assert deliver(box, *fixture("route_other_tenant")).status_code == 200
    assert deliver(box, *fixture("route_contact_create")).status_code == 200
    assert (
        status_of(
            "xero:4f0a9c2e-8d3b-4b7a-9e61-2c5d7f8a1b34:INVOICE:7d3f6a52-0c1e-4b8a-9f27-5e6d4c3b2a11:"
            "2026-07-25T05:00:00.000"
        )
        is None
    )
    assert (
        status_of(
            f"xero:{TENANT}:CONTACT:3b9e2f10-5a6c-4d7e-8f90-1a2b3c4d5e6f:2026-07-25T05:00:01.000"
        )
        is None
    )


def test_malformed_but_signed_body_is_a_client_error(box: Box) -> None:
    """A correctly signed body that is not a Xero payload gets 400, nothing enqueued."""
    import base64
    import hashlib
    import hmac

    body = b'{"events": "nope"}'
    signature = base64.b64encode(
        hmac.new(b"xero-sandbox-webhook-key", body, hashlib.sha256).digest()
    ).decode()
    assert deliver(box, body, signature).status_code == 400
