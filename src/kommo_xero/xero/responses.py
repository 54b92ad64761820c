"""Reading Xero responses: JSON with exact decimals, typed errors, rate-limit headers."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import httpx

from kommo_xero.transport import (
    ApiError,
    AuthFailed,
    NotFound,
    RateLimited,
    TransientError,
    ValidationFailed,
)
from kommo_xero.transport.retry import RETRYABLE_STATUSES, retry_after_seconds

SERVICE = "xero"
# Plain-text bodies (maintenance pages) are quoted in messages up to this length.
_TEXT_QUOTE_LIMIT = 200


def parse_json(response: httpx.Response) -> Any:
    """The body as JSON, with numbers kept exact as `Decimal`."""
    return json.loads(response.content or b"null", parse_float=Decimal)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # Floats print as the shortest text that round-trips, so 2-4 dp amounts stay exact.
        return float(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"cannot send {type(value).__name__} to Xero")


def dump_json(payload: Any) -> bytes:
    """Serialise a request body; Decimals go out as JSON numbers, not strings."""
    return json.dumps(payload, default=_json_default, separators=(",", ":")).encode()


def element_messages(element: dict[str, Any]) -> list[str]:
    """Validation messages of one echoed element and of its line items and contact."""
    nested: list[dict[str, Any]] = [element]
    nested.extend(item for item in element.get("LineItems") or [] if isinstance(item, dict))
    if isinstance(element.get("Contact"), dict):
        nested.append(element["Contact"])
    messages: list[str] = []
    for part in nested:
        for error in part.get("ValidationErrors") or []:
            text = error.get("Message") if isinstance(error, dict) else str(error)
            if text and text not in messages:
                messages.append(text)
    return messages


def _validation_errors(body: Any) -> list[str]:
    if not isinstance(body, dict):
        return []
    messages: list[str] = []
    for element in body.get("Elements") or []:
        if isinstance(element, dict):
            messages.extend(m for m in element_messages(element) if m not in messages)
    if not messages:
        fallback = body.get("Message") or body.get("Detail") or body.get("error")
        if fallback:
            messages.append(str(fallback))
    return messages


def _safe_body(response: httpx.Response) -> Any:
    try:
        return parse_json(response)
    except ValueError:
        return response.text[:_TEXT_QUOTE_LIMIT]


def raise_for_status(response: httpx.Response) -> None:
    """Turn a non-2xx Xero response into the matching typed error."""
    status = response.status_code
    if status < 400:
        return
    request = response.request
    where: dict[str, Any] = {
        "status": status,
        "method": request.method,
        "url": str(request.url.copy_with(query=None)),
    }
    body = _safe_body(response)
    if status == 400:
        errors = _validation_errors(body)
        summary = "; ".join(errors) or "bad request"
        raise ValidationFailed(SERVICE, summary, errors=errors, body=body, **where)
    if status == 401:
        raise AuthFailed(
            SERVICE, "Xero rejected the access token even after a refresh: reconnect Xero", **where
        )
    if status == 403:
        raise AuthFailed(
            SERVICE,
            "Xero refused access: a required scope is missing or the organisation (tenant) is "
            "not connected to this app",
            **where,
        )
    if status == 404:
        raise NotFound(SERVICE, "not found in Xero", **where)
    if status == 429:
        problem = response.headers.get("X-Rate-Limit-Problem", "requests")
        wait = retry_after_seconds(response)
        raise RateLimited(SERVICE, f"rate limited ({problem})", retry_after=wait, **where)
    if status in RETRYABLE_STATUSES:
        text = body if isinstance(body, str) else "server error"
        raise TransientError(SERVICE, f"Xero is unavailable: {text}".strip(), body=body, **where)
    raise ApiError(SERVICE, f"unexpected HTTP {status}", body=body, **where)


def collection(body: Any, key: str) -> list[dict[str, Any]]:
    """The list under `key` of a Xero envelope (empty when absent)."""
    if not isinstance(body, dict):
        raise ApiError(SERVICE, f"expected a JSON object holding {key!r}")
    items = body.get(key) or []
    if not isinstance(items, list):
        raise ApiError(SERVICE, f"{key!r} is not a list")
    return [item for item in items if isinstance(item, dict)]


def header_int(headers: httpx.Headers, name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def chunks(values: Iterable[str], size: int) -> list[list[str]]:
    """Split `values` into lists of at most `size` items."""
    items = list(values)
    return [items[i : i + size] for i in range(0, len(items), size)]
