"""Outgoing webhooks the way Xero sends them (§5): signed batches, Intent-to-Receive, retries."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import random
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from .config import XeroSimConfig

# Seconds between attempts, growing ("decreasing frequency"); multiplied by webhook_time_scale.
RETRY_DELAYS_S = (10, 30, 60, 300, 900, 1800, 3600, 7200, 14400)
GIVE_UP_AFTER_S = 24 * 3600
ITR_PENDING = "Intent to receive required"


def sign(key: str, body: bytes) -> str:
    """x-xero-signature: base64(HMAC-SHA256(key, raw body))."""
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def entropy(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_uppercase) for _ in range(20))


@dataclass
class Batch:
    events: list[dict[str, Any]]
    first: int
    last: int
    first_attempt: float = 0.0
    attempts: int = 0


@dataclass
class WebhookFaults:
    drop_rate: float = 0.0
    duplicate_rate: float = 0.0
    reorder: bool = False


@dataclass
class WebhookDispatcher:
    config: XeroSimConfig
    clock: Callable[[], datetime]
    url: str = ""
    key: str = ""
    status: str = "NONE"
    faults: WebhookFaults = field(default_factory=WebhookFaults)
    sequence: int = 0
    pending: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    itr_results: list[dict[str, Any]] = field(default_factory=list)
    loop: asyncio.AbstractEventLoop | None = None
    _flush_handle: asyncio.TimerHandle | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.config.seed)
        self.key = self.config.webhook_key

    # -- events --------------------------------------------------------------------------
    def emit(self, tenant_id: str, category: str, event_type: str, rid: str, at: datetime) -> None:
        if self.status != "OK":
            return
        resource = "Invoices" if category == "INVOICE" else "Contacts"
        self.pending.append(
            {
                "resourceUrl": f"https://api.xero.com/api.xro/2.0/{resource}/{rid}",
                "resourceId": rid,
                "tenantId": tenant_id,
                "tenantType": "ORGANISATION",
                "eventCategory": category,
                "eventType": event_type,
                "eventDateUtc": at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3],
            }
        )
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        loop = self._loop()
        if loop is None or self._flush_handle is not None:
            return
        # Events within the batch window go out together in one POST, as Xero batches them.
        self._flush_handle = loop.call_later(
            self.config.webhook_batch_window_s, lambda: self._spawn(self.flush_pending())
        )

    def _loop(self) -> asyncio.AbstractEventLoop | None:
        with contextlib.suppress(RuntimeError):  # called from a thread: keep the known loop
            self.loop = asyncio.get_running_loop()
        return self.loop

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def take_batches(self) -> list[Batch]:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        events, self.pending = self.pending, []
        if not events:
            return []
        batches = []
        if self.faults.reorder:
            # Deliver one event per POST, newest first: the receiver sees sequences out of order.
            for event in events:
                self.sequence += 1
                batches.append(Batch([event], self.sequence, self.sequence))
            return list(reversed(batches))
        first = self.sequence + 1
        self.sequence += len(events)
        return [Batch(events, first, self.sequence)]

    async def flush_pending(self) -> None:
        for batch in self.take_batches():
            await self.deliver(batch)

    async def flush_all(self) -> None:
        """Deliver what is pending now, and wait for deliveries a batch timer already started:
        after this, every event emitted so far has reached the receiver (or failed once)."""
        in_flight = [task for task in self._tasks if not task.done()]
        await self.flush_pending()
        if in_flight:
            await asyncio.gather(*in_flight, return_exceptions=True)

    async def deliver(self, batch: Batch) -> None:
        if self.status != "OK":
            return
        if batch.attempts == 0:
            batch.first_attempt = time.monotonic()
            if self.rng.random() < self.faults.drop_rate:
                self._log("event", batch, None, ok=True, note="dropped by fault injection")
                return
        batch.attempts += 1
        body = json.dumps(
            {
                "events": batch.events,
                "firstEventSequence": batch.first,
                "lastEventSequence": batch.last,
                "entropy": entropy(self.rng),
            },
            separators=(",", ":"),
        ).encode()
        copies = 2 if batch.attempts == 1 and self.rng.random() < self.faults.duplicate_rate else 1
        ok = False
        for _ in range(copies):
            status, error = await self._post(body, sign(self.key, body))
            ok = status == 200
            self._log("event", batch, status, ok=ok, note=error)
        if not ok:
            self._retry_later(batch)

    def _retry_later(self, batch: Batch) -> None:
        scale = self.config.webhook_time_scale
        elapsed = time.monotonic() - batch.first_attempt
        if elapsed >= GIVE_UP_AFTER_S * scale:
            self.status = "DISABLED"
            self._log("event", batch, None, ok=False, note="disabled after 24 h of failures")
            return
        delay = RETRY_DELAYS_S[min(batch.attempts - 1, len(RETRY_DELAYS_S) - 1)] * scale
        loop = self._loop()
        if loop is not None:
            loop.call_later(delay, lambda: self._spawn(self.deliver(batch)))

    async def _post(self, body: bytes, signature: str) -> tuple[int | None, str]:
        headers = {"Content-Type": "application/json", "x-xero-signature": signature}
        try:
            async with httpx.AsyncClient(timeout=self.config.webhook_timeout_s) as client:
                response = await client.post(self.url, content=body, headers=headers)
        except httpx.TimeoutException:
            return None, f"no answer within {self.config.webhook_timeout_s} s"
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"
        note = "" if not response.content else "receiver answered with a body (Xero wants none)"
        return response.status_code, note

    def _log(self, kind: str, batch: Batch, status: int | None, *, ok: bool, note: str) -> None:
        self.deliveries.append(
            {
                "kind": kind,
                "at": self.clock().isoformat(),
                "url": self.url,
                "status": status,
                "ok": ok,
                "attempt": batch.attempts,
                "firstEventSequence": batch.first,
                "lastEventSequence": batch.last,
                "events": batch.events,
                "note": note,
            }
        )

    # -- subscription and Intent to Receive ------------------------------------------------
    async def subscribe(self, url: str, key: str | None) -> dict[str, Any]:
        self.url = url
        self.key = key or self.config.webhook_key
        self.status = ITR_PENDING
        self.itr_results = []
        expectations = [True, False, True, False]
        self.rng.shuffle(expectations)
        for well_signed in expectations:
            body = json.dumps(
                {
                    "events": [],
                    "lastEventSequence": 0,
                    "firstEventSequence": 0,
                    "entropy": entropy(self.rng),
                },
                separators=(",", ":"),
            ).encode()
            signature = sign(self.key if well_signed else self.key + "-wrong", body)
            status, note = await self._post(body, signature)
            expected = 200 if well_signed else 401
            self.itr_results.append(
                {
                    "correctly_signed": well_signed,
                    "expected": expected,
                    "status": status,
                    "passed": status == expected,
                    "note": note,
                }
            )
        passed = all(result["passed"] for result in self.itr_results)
        self.status = "OK" if passed else ITR_PENDING
        return {"status": self.status, "url": url, "results": self.itr_results}

    def close_pending(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        for task in list(self._tasks):
            task.cancel()
