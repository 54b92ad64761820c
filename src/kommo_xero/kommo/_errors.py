"""Map Kommo's HTTP answers to the transport's typed errors, with messages a person can act on."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import httpx

from kommo_xero.transport import (
    ApiError,
    AuthFailed,
    NotFound,
    TransientError,
    ValidationFailed,
)

SERVICE = "kommo"

IP_BLOCKED = (
    "Kommo is refusing every call from this server's IP address (HTTP 403 block, usually after "
    "repeated rate-limit violations). Stop the integration and contact Kommo support to lift "
    "the block, giving them the server IP, the account subdomain and the account id."
)


def _problem(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def retry_after_from_body(response: httpx.Response) -> float | None:
    """Kommo puts the wait of a 429 in the problem+json body (`retry_after`), not a header."""
    value = _problem(response).get("retry_after")
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def validation_messages(problem: dict[str, Any]) -> list[str]:
    """`custom_fields_values.0.field_id: The value you selected is not a valid choice.` lines."""
    messages: list[str] = []
    for batch in problem.get("validation-errors") or []:
        if not isinstance(batch, dict):
            continue
        prefix = (
            f"item {batch['request_id']}: " if batch.get("request_id") not in (None, "0") else ""
        )
        for error in batch.get("errors") or []:
            if isinstance(error, dict):
                path = error.get("path") or ""
                detail = error.get("detail") or error.get("code") or "invalid"
                messages.append(f"{prefix}{path}: {detail}" if path else f"{prefix}{detail}")
    return messages


def _scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<hidden>")
    return text


def _looks_like_html(response: httpx.Response) -> bool:
    return "html" in response.headers.get("content-type", "") or response.text.lstrip().startswith(
        "<"
    )


def _validation(status: int, problem: dict[str, Any], response: httpx.Response) -> ApiError:
    errors = validation_messages(problem) or [str(problem.get("detail") or "request refused")]
    return ValidationFailed(SERVICE, "; ".join(errors), errors=errors, **_where(response))


def _where(response: httpx.Response) -> dict[str, Any]:
    request = response.request
    return {
        "status": response.status_code,
        "method": request.method,
        # The query can hold search terms (emails, phones): keep it out of messages.
        "url": str(request.url.copy_with(query=None)),
    }


def _auth(status: int, problem: dict[str, Any], response: httpx.Response) -> ApiError:
    if status == 403 and (not problem or _looks_like_html(response)):
        return AuthFailed(SERVICE, IP_BLOCKED, **_where(response))
    detail = problem.get("hint") or problem.get("detail") or problem.get("title") or "unauthorized"
    return AuthFailed(SERVICE, f"access refused: {detail}", **_where(response))


def _not_found(status: int, problem: dict[str, Any], response: httpx.Response) -> ApiError:
    return NotFound(SERVICE, str(problem.get("detail") or "not found"), **_where(response))


def _payment(status: int, problem: dict[str, Any], response: httpx.Response) -> ApiError:
    return ApiError(
        SERVICE, "the Kommo account's subscription or trial has ended", **_where(response)
    )


_BY_STATUS: dict[int, Callable[[int, dict[str, Any], httpx.Response], ApiError]] = {
    400: _validation,
    422: _validation,
    401: _auth,
    403: _auth,
    402: _payment,
    404: _not_found,
}


def raise_for_kommo(response: httpx.Response, *, secrets: Iterable[str] = ()) -> None:
    """Raise the typed error for a non-2xx answer; 2xx (204 included) passes through."""
    status = response.status_code
    if 200 <= status < 300:
        return
    problem = _problem(response)
    factory = _BY_STATUS.get(status)
    if factory is not None:
        error = factory(status, problem, response)
    elif status >= 500:
        error = TransientError(
            SERVICE, f"server error: {problem.get('detail') or status}", **_where(response)
        )
    else:
        detail = problem.get("detail") or problem.get("title") or response.reason_phrase
        error = ApiError(SERVICE, str(detail), **_where(response))
    secrets = tuple(secrets)
    error.message = _scrub(error.message, secrets)
    error.args = (error.message,)
    if isinstance(error, ValidationFailed):
        error.errors = [_scrub(e, secrets) for e in error.errors]
    error.body = json.loads(_scrub(json.dumps(problem), secrets)) if problem else None
    raise error
