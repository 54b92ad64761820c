"""Webhooks from the Xero simulator: signature, Intent-to-Receive, batching, retries, faults."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from kommo_xero.sandbox.server import ServerHandle, start_in_thread
from kommo_xero.sandbox.xero import XeroSimConfig, create_app, sign

KEY = "xero-sandbox-webhook-key"
VECTOR_KEY = "simulator-test-webhook-key-0123456789abcdef"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "xero"


@dataclass
class Receiver:
    """A webhook endpoint like the integration's: checks the signature, answers 200 or 401."""

    honest: bool = True  # False: answers 200 to everything (fails Intent-to-Receive)
    fail_times: int = 0  # answer 500 to this many well-signed event deliveries first
    delay_s: float = 0.0  # think this long before answering (a slow receiver)
    bodies: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/xero")
        async def receive(request: Request) -> Response:
            raw = await request.body()
            await asyncio.sleep(self.delay_s)
            good = sign(KEY, raw) == request.headers.get("x-xero-signature")
            if not good and self.honest:
                return Response(status_code=401)
            payload = json.loads(raw)
            if payload["events"] and self.fail_times > 0:
                self.fail_times -= 1
                return Response(status_code=500)
            if payload["events"]:
                self.bodies.append(payload)
            return Response(status_code=200)

        return app


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, ServerHandle]]:
    made = Receiver()
    with start_in_thread(made.app()) as handle:
        yield made, handle


@pytest.fixture
def sim() -> Iterator[ServerHandle]:
    config = XeroSimConfig(webhook_time_scale=0.00002, webhook_batch_window_s=0.05)
    with start_in_thread(create_app(config)) as handle:
        yield handle


def deliveries(sim: ServerHandle) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(f"{sim.base_url}/_sim/webhook-deliveries").json()
    return body


def wait_for(predicate: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


@pytest.mark.parametrize("name", ["webhook_invoice_create", "webhook_intent_to_receive"])
def test_signer_matches_the_reference_vectors(name: str) -> None:
    """sign() reproduces the reference's §5.3 signatures for the fixture bodies byte for byte."""
    body = (FIXTURES / f"{name}.json").read_bytes()
    expected = (FIXTURES / f"{name}.json.sig").read_text().strip()
    assert sign(VECTOR_KEY, body) == expected


def test_intent_to_receive_passes_for_an_honest_receiver(
    sim: ServerHandle, receiver: tuple[Receiver, ServerHandle]
) -> None:
    """A receiver that answers 200 to good and 401 to bad signatures makes the status OK."""
    _, endpoint = receiver
    result = httpx.post(
        f"{sim.base_url}/_sim/webhooks", json={"url": f"{endpoint.base_url}/xero"}, timeout=30
    ).json()
    assert result["status"] == "OK"
    assert {r["correctly_signed"] for r in result["results"]} == {True, False}
    assert all(r["passed"] for r in result["results"])


def test_intent_to_receive_fails_for_a_receiver_that_accepts_everything(
    sim: ServerHandle, receiver: tuple[Receiver, ServerHandle]
) -> None:
    """A receiver that says 200 to a bad signature keeps "Intent to receive required"."""
    made, endpoint = receiver
    made.honest = False
    result = httpx.post(
        f"{sim.base_url}/_sim/webhooks", json={"url": f"{endpoint.base_url}/xero"}, timeout=30
    ).json()
    assert result["status"] == "Intent to receive required"
    httpx.post(f"{sim.base_url}/_sim/invoices", json={"contact_name": "Nobody hears"})
    httpx.post(f"{sim.base_url}/_sim/webhooks/flush")
    assert made.bodies == []


@pytest.fixture
def slow_batching_sim() -> Iterator[ServerHandle]:
    """A simulator that gathers a second of changes per delivery, so that two calls made one
    after the other share a batch even on a busy machine."""
    config = XeroSimConfig(webhook_time_scale=0.00002, webhook_batch_window_s=1.0)
    with start_in_thread(create_app(config)) as handle:
        yield handle


def test_changes_arrive_as_one_signed_batch(
    slow_batching_sim: ServerHandle, receiver: tuple[Receiver, ServerHandle]
) -> None:
    """A manual invoice, its approval and payment arrive batched, in sequence, signed."""
    sim = slow_batching_sim
    made, endpoint = receiver
    httpx.post(f"{sim.base_url}/_sim/webhooks", json={"url": f"{endpoint.base_url}/xero"})
    invoice = httpx.post(
        f"{sim.base_url}/_sim/invoices", json={"contact_name": "Jane Doe", "status": "AUTHORISED"}
    ).json()
    httpx.post(f"{sim.base_url}/_sim/invoices/{invoice['InvoiceID']}/pay", json={})
    wait_for(lambda: len(made.bodies) >= 1)
    events = [e for body in made.bodies for e in body["events"]]
    kinds = [(e["eventCategory"], e["eventType"]) for e in events]
    assert kinds == [("CONTACT", "CREATE"), ("INVOICE", "CREATE"), ("INVOICE", "UPDATE")]
    first = made.bodies[0]
    assert first["firstEventSequence"] == 1 and first["lastEventSequence"] == 3
    assert len(first["entropy"]) == 20
    assert events[1]["resourceUrl"].endswith(f"/Invoices/{invoice['InvoiceID']}")


def test_failed_delivery_is_retried_then_succeeds(
    sim: ServerHandle, receiver: tuple[Receiver, ServerHandle]
) -> None:
    """A delivery answered 500 is retried (scaled back-off) until the receiver takes it."""
    made, endpoint = receiver
    httpx.post(f"{sim.base_url}/_sim/webhooks", json={"url": f"{endpoint.base_url}/xero"})
    made.fail_times = 2
    httpx.post(f"{sim.base_url}/_sim/invoices", json={"contact_name": "Retry Ltd"})
    wait_for(lambda: len(made.bodies) == 1)
    attempts = [d for d in deliveries(sim)["deliveries"] if d["kind"] == "event"]
    assert [d["status"] for d in attempts] == [500, 500, 200]
    assert made.bodies[0]["firstEventSequence"] == 1


def test_webhook_is_disabled_after_24_scaled_hours_of_failure(
    sim: ServerHandle, receiver: tuple[Receiver, ServerHandle]
) -> None:
    """When every attempt fails for (scaled) 24 hours the subscription becomes DISABLED."""
    made, endpoint = receiver
    httpx.post(f"{sim.base_url}/_sim/webhooks", json={"url": f"{endpoint.base_url}/xero"})
    made.fail_times = 10_000
    httpx.post(f"{sim.base_url}/_sim/invoices", json={"contact_name": "Down Inc"})
    wait_for(lambda: deliveries(sim)["status"] == "DISABLED", timeout=20)
    assert made.bodies == []


def test_drop_and_duplicate_faults(
    sim: ServerHandle, receiver: tuple[Receiver, ServerHandle]
) -> None:
    """drop_rate=1 loses deliveries silently; duplicate_rate=1 sends each batch twice."""
    made, endpoint = receiver
    httpx.post(f"{sim.base_url}/_sim/webhooks", json={"url": f"{endpoint.base_url}/xero"})
    httpx.post(f"{sim.base_url}/_sim/webhook-faults", json={"drop_rate": 1.0})
    httpx.post(f"{sim.base_url}/_sim/invoices", json={"contact_name": "Lost Co"})
    httpx.post(f"{sim.base_url}/_sim/webhooks/flush")
    assert made.bodies == []
    httpx.post(f"{sim.base_url}/_sim/webhook-faults", json={"duplicate_rate": 1.0})
    httpx.post(f"{sim.base_url}/_sim/invoices", json={"contact_name": "Twice Co"})
    httpx.post(f"{sim.base_url}/_sim/webhooks/flush")
    wait_for(lambda: len(made.bodies) == 2)
    assert made.bodies[0]["events"] == made.bodies[1]["events"]
    assert made.bodies[0]["entropy"] == made.bodies[1]["entropy"]


def test_reorder_fault_delivers_newest_first(
    sim: ServerHandle, receiver: tuple[Receiver, ServerHandle]
) -> None:
    """With reorder on, events come one per POST with higher sequences first."""
    made, endpoint = receiver
    httpx.post(f"{sim.base_url}/_sim/webhooks", json={"url": f"{endpoint.base_url}/xero"})
    httpx.post(f"{sim.base_url}/_sim/webhook-faults", json={"reorder": True})
    httpx.post(f"{sim.base_url}/_sim/invoices", json={"contact_name": "Order Co"})
    httpx.post(f"{sim.base_url}/_sim/webhooks/flush")
    sequences = [body["firstEventSequence"] for body in made.bodies]
    assert sequences == [2, 1]


def test_flush_waits_for_deliveries_already_on_their_way(
    sim: ServerHandle, receiver: tuple[Receiver, ServerHandle]
) -> None:
    """A flush after the batch timer fired returns once that delivery reached the receiver."""
    made, endpoint = receiver
    made.delay_s = 0.5
    httpx.post(f"{sim.base_url}/_sim/webhooks", json={"url": f"{endpoint.base_url}/xero"})
    httpx.post(f"{sim.base_url}/_sim/webhook-faults", json={"reorder": True})
    httpx.post(f"{sim.base_url}/_sim/invoices", json={"contact_name": "Slow Co"})
    time.sleep(0.2)  # the 50 ms batch timer has fired; the first POST is with the receiver
    httpx.post(f"{sim.base_url}/_sim/webhooks/flush", timeout=10)
    assert [body["firstEventSequence"] for body in made.bodies] == [2, 1]
