"""Webhook signature verification and payload parsing (reference §5.3 test vectors)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from kommo_xero.xero.webhook import MalformedWebhook, parse_webhook, sign, verify_signature

KEY = "simulator-test-webhook-key-0123456789abcdef"
EVENT_BODY = (
    b'{"events":[{"resourceUrl":"https://api.xero.com/api.xro/2.0/Invoices/'
    b'0b7c6a4e-1f32-4a8e-9d1c-5c2f7a9e3b11","resourceId":"0b7c6a4e-1f32-4a8e-9d1c-5c2f7a9e3b11",'
    b'"tenantId":"c2cc9b6e-9458-4c7d-93cc-f02b81b0594f","tenantType":"ORGANISATION",'
    b'"eventCategory":"INVOICE","eventType":"CREATE","eventDateUtc":"2026-07-20T03:15:42.123"}],'
    b'"firstEventSequence":101,"lastEventSequence":101,"entropy":"QWERTYUIOPASDFGHJKLZ"}'
)
EVENT_SIGNATURE = "j6cSYspPAoSN1u8gxx54Mrmrj2drVQ7AQ1kOWzc3WtE="
ITR_BODY = b'{"events":[],"lastEventSequence":0,"firstEventSequence":0,"entropy":"S0m3r4Nd0mt3xt"}'
ITR_SIGNATURE = "1gNn3OmzMsJrMybasA3/CtDecMMRAWr/MObu9PtZsmA="


def test_reference_vector_body_is_the_documented_bytes() -> None:
    """The test body is the exact 409-byte delivery from the reference."""
    assert len(EVENT_BODY) == 409


def test_reference_signatures_verify() -> None:
    """Both reference vectors (event delivery and ITR) verify with the test key."""
    assert verify_signature(EVENT_BODY, EVENT_SIGNATURE, KEY)
    assert verify_signature(ITR_BODY, ITR_SIGNATURE, KEY)
    assert sign(EVENT_BODY, KEY) == EVENT_SIGNATURE


@pytest.mark.parametrize(
    ("body", "header", "key"),
    [
        (EVENT_BODY, ITR_SIGNATURE, KEY),  # signature of another body
        (EVENT_BODY + b" ", EVENT_SIGNATURE, KEY),  # one byte more
        (EVENT_BODY, EVENT_SIGNATURE, KEY + "x"),  # wrong key
        (EVENT_BODY, None, KEY),  # header missing
        (EVENT_BODY, "", KEY),  # header empty
        (EVENT_BODY, "not base64 at all", KEY),
        (EVENT_BODY, EVENT_SIGNATURE, ""),  # no key configured
    ],
)
def test_bad_signatures_are_rejected(body: bytes, header: str | None, key: str) -> None:
    """Any change to body, signature or key, or a missing header, fails verification."""
    assert not verify_signature(body, header, key)


def test_event_delivery_parses_to_typed_events() -> None:
    """An INVOICE CREATE delivery yields one event with an aware UTC date and sequences."""
    hook = parse_webhook(EVENT_BODY)
    assert not hook.is_intent_to_receive
    assert (hook.first_sequence, hook.last_sequence, hook.entropy) == (
        101,
        101,
        "QWERTYUIOPASDFGHJKLZ",
    )
    (event,) = hook.events
    assert event.resource_id == "0b7c6a4e-1f32-4a8e-9d1c-5c2f7a9e3b11"
    assert event.resource_url.endswith("/Invoices/0b7c6a4e-1f32-4a8e-9d1c-5c2f7a9e3b11")
    assert event.tenant_id == "c2cc9b6e-9458-4c7d-93cc-f02b81b0594f"
    assert (event.tenant_type, event.category, event.event_type) == (
        "ORGANISATION",
        "INVOICE",
        "CREATE",
    )
    assert event.event_date == datetime(2026, 7, 20, 3, 15, 42, 123000, tzinfo=UTC)


def test_intent_to_receive_body_is_recognised() -> None:
    """An ITR request has no events and is flagged as intent-to-receive."""
    hook = parse_webhook(ITR_BODY)
    assert hook.is_intent_to_receive
    assert hook.events == []
    assert hook.entropy == "S0m3r4Nd0mt3xt"


def _event_payload(**changes: object) -> bytes:
    payload = json.loads(EVENT_BODY)
    for key, value in changes.items():
        if key.startswith("event_"):
            payload["events"][0][key.removeprefix("event_")] = value
        else:
            payload[key] = value
    return json.dumps(payload).encode()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[]", "not a JSON object"),
        (b'{"firstEventSequence":0,"lastEventSequence":0,"entropy":"x"}', "events"),
        (_event_payload(events="x"), "events must be a list"),
        (_event_payload(entropy=5), "entropy"),
        (_event_payload(firstEventSequence="1"), "firstEventSequence"),
        (_event_payload(lastEventSequence=True), "lastEventSequence"),
        (_event_payload(firstEventSequence=200), "before"),
        (_event_payload(events=[1]), "events[0] is not an object"),
        (_event_payload(event_resourceId=None), "resourceId"),
        (_event_payload(event_tenantId=""), "tenantId"),
        (_event_payload(event_eventDateUtc="yesterday"), "eventDateUtc"),
        (_event_payload(event_eventDateUtc=None), "eventDateUtc"),
    ],
)
def test_malformed_bodies_raise_with_a_reason(body: bytes, reason: str) -> None:
    """Bodies that are not the documented shape raise MalformedWebhook naming the problem."""
    with pytest.raises(MalformedWebhook, match=reason.replace("[", r"\[").replace("]", r"\]")):
        parse_webhook(body)


def test_malformed_webhook_is_a_value_error() -> None:
    """Callers catching ValueError also catch malformed webhooks."""
    assert issubclass(MalformedWebhook, ValueError)
