"""Sending one Xero call: headers, pacing, retries, the daily-budget guard, typed errors.

`XeroSession` is the base of `XeroClient`; it knows nothing about invoices or contacts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from kommo_xero.transport import Pacer, RateLimited, RetryPolicy, send_with_retry
from kommo_xero.xero.models import XeroLimits
from kommo_xero.xero.responses import SERVICE, dump_json, header_int, parse_json, raise_for_status

ACCOUNTING_PATH = "/api.xro/2.0"
# Below this many calls left today we stop calling: the rest is kept for humans and retries.
DAY_LIMIT_FLOOR = 50
# Xero caps Idempotency-Key at 128 characters.
IDEMPOTENCY_KEY_MAX = 128
_WRITE_METHODS = frozenset({"PUT", "POST", "DELETE", "PATCH"})


def fit_idempotency_key(key: str) -> str:
    """Keys longer than Xero accepts are shortened deterministically, so retries still match."""
    if not key:
        raise ValueError("an Idempotency-Key is required on every Xero write")
    if len(key) <= IDEMPOTENCY_KEY_MAX:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{key[: IDEMPOTENCY_KEY_MAX - len(digest) - 1]}:{digest}"


def _next_utc_midnight(now: datetime) -> datetime:
    return datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)


# Set by `XeroSession.wait_for_budget` in the caller's task; the next call it makes there
# spends that budget instead of waiting again.
_prepaid: ContextVar[bool] = ContextVar("xero_call_prepaid", default=False)


class XeroSession:
    """HTTP plumbing shared by every Xero call of one connection (one tenant)."""

    def __init__(
        self,
        base_url: str,
        auth: httpx.Auth,
        *,
        tenant_id: str | None,
        pacer: Pacer | None = None,
        http: httpx.AsyncClient | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.tenant_id = tenant_id
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient()
        # The auth flow must run on every call, also on a client the caller built.
        self._http.auth = auth
        self._pacer = pacer
        self._retry = retry
        self._timeout = timeout
        self._clock = clock or (lambda: datetime.now(UTC))
        self._limits = XeroLimits()
        self._paused_until: datetime | None = None

    @property
    def pace_key(self) -> str:
        return f"xero:{self.tenant_id or 'custom-connection'}"

    async def wait_for_budget(self) -> None:
        """Wait until this organisation's pacing admits one more call, and keep that call for
        the next request made from the current task. A caller that builds its request from
        whatever is waiting (an invoice batch) waits first, so the wait fills the batch."""
        if self._pacer is not None:
            await self._pacer.acquire(self.pace_key)
            _prepaid.set(True)

    def forgo_budget(self) -> None:
        """The call waited for is not made after all: the task's next call waits for its own
        turn, so no call leaves on budget taken long before it (a minute's count would miss it)."""
        _prepaid.set(False)

    @property
    def limits(self) -> XeroLimits:
        """Rate-limit headers of the latest response."""
        return self._limits

    def _check_day_budget(self) -> None:
        if self._paused_until is None:
            return
        now = self._clock()
        if now >= self._paused_until:
            self._paused_until = None
            return
        raise RateLimited(
            SERVICE,
            f"Xero daily call budget nearly spent ({self._limits.day_remaining} left)",
            retry_after=(self._paused_until - now).total_seconds(),
            status=429,
        )

    def _observe_limits(self, response: httpx.Response) -> None:
        headers = response.headers
        day = header_int(headers, "X-DayLimit-Remaining")
        minute = header_int(headers, "X-MinLimit-Remaining")
        app_minute = header_int(headers, "X-AppMinLimit-Remaining")
        if day is None and minute is None and app_minute is None:
            return
        now = self._clock()
        self._limits = XeroLimits(day, minute, app_minute, now)
        if day is not None and day < DAY_LIMIT_FLOOR:
            self._paused_until = _next_utc_midnight(now)

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        idempotency_key: str | None = None,
        accept: str = "application/json",
        headers: Mapping[str, str] | None = None,
        accounting: bool = True,
    ) -> httpx.Response:
        """One call; returns the 2xx response or raises the typed error for the failure."""
        if method in _WRITE_METHODS and idempotency_key is None:
            raise ValueError(f"{method} {path} needs an idempotency_key")
        if accounting:
            self._check_day_budget()
        all_headers = {"Accept": accept, **(headers or {})}
        if accounting and self.tenant_id:
            all_headers["xero-tenant-id"] = self.tenant_id
        if idempotency_key is not None:
            all_headers["Idempotency-Key"] = fit_idempotency_key(idempotency_key)
        content: bytes | None = None
        if body is not None:
            content = dump_json(body)
            all_headers["Content-Type"] = "application/json"
        url = f"{self.base_url}{ACCOUNTING_PATH if accounting else ''}{path}"

        def build() -> httpx.Request:
            return self._http.build_request(
                method,
                url,
                params=dict(params or {}),
                content=content,
                headers=all_headers,
                timeout=self._timeout,
            )

        prepaid = accounting and _prepaid.get()
        if prepaid:
            _prepaid.set(False)
        response = await send_with_retry(
            self._http,
            build,
            service=SERVICE,
            pace_key=self.pace_key if accounting else "xero:identity",
            pacer=self._pacer,
            policy=self._retry,
            prepaid=prepaid,
        )
        if accounting:
            self._observe_limits(response)
        raise_for_status(response)
        return response

    async def send_json(self, method: str, path: str, **kwargs: Any) -> Any:
        """Like `send`, returning the parsed JSON body (numbers as Decimal)."""
        return parse_json(await self.send(method, path, **kwargs))

    async def close(self) -> None:
        if self._owns_http:
            await self._http.aclose()
