"""Xero webhooks: signature check (HMAC-SHA256 of the raw body) and payload parsing.

An Intent-to-Receive request is a normally signed delivery with no events; the endpoint
answers 200 when the signature holds and 401 when it does not, exactly as for real events.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kommo_xero.xero.dates import parse_iso_utc

SIGNATURE_HEADER = "x-xero-signature"


class MalformedWebhook(ValueError):
    """The body is not a Xero webhook payload; the message says why."""


@dataclass(frozen=True)
class XeroEvent:
    resource_id: str
    resource_url: str
    tenant_id: str
    tenant_type: str
    category: str  # INVOICE, CONTACT, CREDITNOTE, SUBSCRIPTION
    event_type: str  # CREATE, UPDATE
    event_date: datetime  # aware, UTC


@dataclass(frozen=True)
class XeroWebhook:
    events: list[XeroEvent]
    first_sequence: int
    last_sequence: int
    entropy: str
    is_intent_to_receive: bool


def sign(raw_body: bytes, key: str) -> str:
    """The `x-xero-signature` value Xero sends for `raw_body`."""
    digest = hmac.new(key.encode("utf-8"), raw_body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_signature(raw_body: bytes, header: str | None, key: str) -> bool:
    """True when `header` is the signature of exactly these bytes (constant-time compare)."""
    if not header or not key:
        return False
    return hmac.compare_digest(sign(raw_body, key).encode("ascii"), header.strip().encode())


# camelCase payload key → XeroEvent attribute (all required, all strings).
_EVENT_FIELDS = {
    "resourceId": "resource_id",
    "resourceUrl": "resource_url",
    "tenantId": "tenant_id",
    "tenantType": "tenant_type",
    "eventCategory": "category",
    "eventType": "event_type",
}


def _sequence(payload: dict[str, Any], key: str) -> int:
    value = payload.get(key)
    # bool is an int subclass; a JSON true is not a sequence number.
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise MalformedWebhook(f"{key} must be a non-negative integer")
    return value


def _event(raw: Any, position: int) -> XeroEvent:
    if not isinstance(raw, dict):
        raise MalformedWebhook(f"events[{position}] is not an object")
    values: dict[str, Any] = {}
    for key, attribute in _EVENT_FIELDS.items():
        value = raw.get(key)
        if not isinstance(value, str) or not value:
            raise MalformedWebhook(f"events[{position}].{key} is missing or not a string")
        values[attribute] = value
    date_text = raw.get("eventDateUtc")
    if not isinstance(date_text, str):
        raise MalformedWebhook(f"events[{position}].eventDateUtc is missing")
    try:
        values["event_date"] = parse_iso_utc(date_text)
    except ValueError as exc:
        raise MalformedWebhook(f"events[{position}].eventDateUtc is not a date") from exc
    return XeroEvent(**values)


def parse_webhook(raw_body: bytes) -> XeroWebhook:
    """Parse a delivery (after `verify_signature`); `MalformedWebhook` says what is wrong."""
    try:
        payload = json.loads(raw_body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedWebhook("body is not JSON") from exc
    if not isinstance(payload, dict):
        raise MalformedWebhook("body is not a JSON object")
    events = payload.get("events")
    if not isinstance(events, list):
        raise MalformedWebhook("events must be a list")
    entropy = payload.get("entropy")
    if not isinstance(entropy, str):
        raise MalformedWebhook("entropy must be a string")
    first = _sequence(payload, "firstEventSequence")
    last = _sequence(payload, "lastEventSequence")
    if last < first:
        raise MalformedWebhook("lastEventSequence is before firstEventSequence")
    parsed = [_event(raw, position) for position, raw in enumerate(events)]
    return XeroWebhook(
        events=parsed,
        first_sequence=first,
        last_sequence=last,
        entropy=entropy,
        is_intent_to_receive=not parsed,
    )
