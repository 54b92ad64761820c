"""One place that sends a request, paces it, and retries what is worth retrying.

Transient failures (5xx, timeouts, connection errors) are retried with exponential
backoff and jitter; a 429 waits `Retry-After` when it is short, and otherwise surfaces as
`RateLimited` so the workflow can sleep durably instead of holding a worker.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from kommo_xero.observability.metrics import record_api_call
from kommo_xero.transport.errors import RateLimited, TransientError
from kommo_xero.transport.pacer import NoPacer, Pacer

RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})
# Failures that prove the request never reached the server: safe to send again, whatever it was.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base_delay: float = 0.2
    max_delay: float = 5.0
    # A 429 whose Retry-After is at most this many seconds is waited out in place.
    max_inline_wait: float = 10.0

    def backoff(self, attempt: int) -> float:
        delay: float = min(self.max_delay, self.base_delay * (2**attempt))
        return delay * (0.5 + random.random() / 2)


def retry_after_seconds(response: httpx.Response, body_hint: float | None = None) -> float:
    """Seconds to wait from `Retry-After`, else from a body hint, else one second."""
    header = response.headers.get("Retry-After")
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            pass
    return body_hint if body_hint is not None else 1.0


async def send_with_retry(
    client: httpx.AsyncClient,
    build: Callable[[], httpx.Request],
    *,
    service: str,
    pace_key: str,
    pacer: Pacer | None = None,
    policy: RetryPolicy | None = None,
    retry_after_hint: Callable[[httpx.Response], float | None] | None = None,
    prepaid: bool = False,
    replay_safe: bool = True,
) -> httpx.Response:
    """Send the request made by `build()` (rebuilt on every attempt) and return the final response.

    With `prepaid`, the caller has already waited for the pacer for the first attempt.
    A request that is not `replay_safe` (a create with no idempotency key) is sent again only
    when it surely never arrived (connection refused, 429): after a 5xx or a lost answer the
    server may have done it, so the caller gets the failure and checks before trying again.
    Non-retryable error statuses are returned as they are: the caller maps them to typed errors.
    Raises `TransientError` when every attempt failed, `RateLimited` for long server waits.
    """
    pacer = pacer or NoPacer()
    policy = policy or RetryPolicy()
    last_error = ""
    request = build()
    sent = 0
    for attempt in range(policy.attempts):
        sent = attempt + 1
        if attempt > 0 or not prepaid:
            await pacer.acquire(pace_key)
        request = build()
        try:
            response = await client.send(request)
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            record_api_call(service, "error")
            last_error = f"{type(exc).__name__}"
            if not replay_safe and not isinstance(exc, _NEVER_SENT):
                break
            await asyncio.sleep(policy.backoff(attempt))
            continue
        record_api_call(service, response.status_code)
        if response.status_code == 429:
            await response.aread()
            hint = retry_after_hint(response) if retry_after_hint else None
            wait = retry_after_seconds(response, hint)
            if wait > policy.max_inline_wait or attempt == policy.attempts - 1:
                raise RateLimited(
                    service,
                    f"rate limited ({response.headers.get('X-Rate-Limit-Problem', 'requests')})",
                    retry_after=wait,
                    status=429,
                    method=request.method,
                    url=str(request.url.copy_with(query=None)),
                )
            await asyncio.sleep(wait)
            continue
        if response.status_code in RETRYABLE_STATUSES:
            await response.aread()
            last_error = f"HTTP {response.status_code}"
            if replay_safe and attempt < policy.attempts - 1:
                await asyncio.sleep(policy.backoff(attempt))
                continue
        return response
    raise TransientError(
        service,
        f"gave up after {sent} attempt(s) ({last_error})",
        method=request.method,
        url=str(request.url.copy_with(query=None)),
    )
