"""Steps report typed failures as plain data; the workflow decides to wait, retry or park.

Exceptions do not cross the step boundary (they would have to survive serialization in
the engine's database); a step returns `{"ok": True, "value": …}` or a failure record.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec

from kommo_xero.transport import AuthFailed, NotFound, RateLimited, TransientError, ValidationFailed
from kommo_xero.transport.errors import ApiError
from kommo_xero.workflows import engine
from kommo_xero.workflows.xero_invoices import InvoiceRefused

P = ParamSpec("P")

Outcome = dict[str, Any]


def failure(kind: str, message: str, **extra: Any) -> Outcome:
    return {"ok": False, "kind": kind, "message": message, **extra}


def _classify(exc: Exception) -> Outcome:
    if isinstance(exc, RateLimited):
        return failure("rate_limited", exc.describe(), retry_after=exc.retry_after)
    if isinstance(exc, TransientError):
        return failure("transient", exc.describe())
    if isinstance(exc, AuthFailed):
        return failure("auth", exc.describe(), service=exc.service)
    if isinstance(exc, InvoiceRefused):
        return failure("refused", str(exc), errors=exc.errors)
    if isinstance(exc, ValidationFailed):
        return failure("refused", exc.describe(), errors=exc.errors)
    if isinstance(exc, NotFound):
        return failure("not_found", exc.describe())
    if isinstance(exc, ApiError):
        if exc.status >= 500 or exc.status == 0:
            return failure("transient", exc.describe())
        return failure("api_error", exc.describe(), status=exc.status, body=str(exc.body)[:2000])
    if isinstance(exc, (TimeoutError, ConnectionError, OSError)):
        return failure("transient", f"{type(exc).__name__}: {exc}")
    raise exc


def guarded(fn: Callable[P, Awaitable[Any]]) -> Callable[P, Awaitable[Outcome]]:
    """Wrap a step body so typed API failures come back as data."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> Outcome:
        try:
            return {"ok": True, "value": await fn(*args, **kwargs)}
        except Exception as exc:
            return _classify(exc)

    return wrapper


class Stop(Exception):
    """Raised inside a workflow (never a step) when the work must be parked."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.get("message", "stopped"))
        self.outcome = outcome


MAX_TRIES = 8


async def run(step: Callable[..., Awaitable[Outcome]], *args: Any) -> Any:
    """Call a guarded step; wait out rate limits and transient failures durably."""
    last: Outcome = {}
    for attempt in range(MAX_TRIES):
        outcome = await step(*args)
        if outcome["ok"]:
            return outcome["value"]
        last = outcome
        if outcome["kind"] == "rate_limited":
            await engine.durable_sleep(min(float(outcome["retry_after"]) + 0.5, 3600))
        elif outcome["kind"] == "transient":
            await engine.durable_sleep(min(0.5 * 2**attempt, 60))
        else:
            raise Stop(outcome)
    raise Stop({**last, "message": f"gave up after {MAX_TRIES} tries: {last.get('message')}"})
