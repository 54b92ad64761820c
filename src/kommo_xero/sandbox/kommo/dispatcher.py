"""Webhook delivery: a background task that POSTs changes the way Kommo does (reference §2.5).

Changes are queued by whatever made them (API or control API) and delivered here, never inside
the request that caused them. One worker per destination keeps each receiver's order natural.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from kommo_xero.sandbox.kommo import webhook_body
from kommo_xero.sandbox.kommo.state import Change, KommoState

RETRY_DELAYS_S = (300, 900, 900, 3600)  # before attempts 2, 3, 4 and 5
_POLL_S = 0.005


@dataclass
class WebhookFaults:
    """Delivery faults set through POST /_sim/webhook-faults."""

    drop_rate: float = 0.0  # deliveries silently lost (no retry: Kommo never knew)
    duplicate_rate: float = 0.0  # deliveries sent twice
    reorder: bool = False  # hold deliveries, release them shuffled
    reorder_hold: int = 5  # release held deliveries once this many are waiting (or on flush)
    fail_status: int | None = None  # answer every delivery with this status without sending
    account_last: bool = False  # put account[...] keys after the entity keys, as in 2018


@dataclass
class Delivery:
    webhook_id: int
    destination: str
    setting: str
    entity_ids: list[int]
    body: bytes
    attempt: int = 1
    due_at: float = 0.0


@dataclass
class DeliveryRecord:
    destination: str
    kind: str
    lead_ids: list[int]
    attempt: int
    status: int | None
    ok: bool
    ms: float
    request_id: str
    at: float
    dropped: bool = False
    duplicate: bool = False
    error: str | None = None
    body: str = field(default="", repr=False)


class WebhookDispatcher:
    """Drains the state's outbox into deliveries, sends them, retries and disables hooks."""

    def __init__(self, state: KommoState) -> None:
        self.state = state
        self.faults = WebhookFaults()
        self.log: list[DeliveryRecord] = []
        self.retries: list[Delivery] = []
        self.held: list[Delivery] = []
        self._queues: dict[str, asyncio.Queue[Delivery]] = {}
        self._workers: list[asyncio.Task[None]] = []
        self._client: httpx.AsyncClient | None = None

    async def run(self) -> None:
        timeout = self.state.config.webhook_timeout_s
        async with httpx.AsyncClient(timeout=httpx.Timeout(timeout)) as client:
            self._client = client
            try:
                while True:
                    self._drain_outbox()
                    self._enqueue_due_retries(force=False)
                    await asyncio.sleep(_POLL_S)
            finally:
                for worker in self._workers:
                    worker.cancel()
                for worker in self._workers:
                    with contextlib.suppress(asyncio.CancelledError):
                        await worker

    def _drain_outbox(self) -> None:
        while True:
            with self.state.lock:
                if not self.state.outbox:
                    return
                batch = self.state.outbox.popleft()
                deliveries = self._deliveries_for(batch)
            for delivery in deliveries:
                if self.faults.reorder:
                    self.held.append(delivery)
                else:
                    self._enqueue(delivery)
            if self.faults.reorder and len(self.held) >= self.faults.reorder_hold:
                self.release_held()

    def _deliveries_for(self, batch: list[Change]) -> list[Delivery]:
        """One POST per subscribed hook and setting: leads changed together travel together."""
        groups: dict[str, list[Change]] = {}
        for change in batch:
            groups.setdefault(change.setting, []).append(change)
        deliveries = []
        hooks = sorted(self.state.webhooks.values(), key=lambda w: (w.sort, w.id))
        for setting, changes in groups.items():
            pairs = webhook_body.form_pairs(
                self.state, changes, account_last=self.faults.account_last
            )
            body = webhook_body.form_body(pairs)
            for hook in hooks:
                if not hook.disabled and setting in hook.settings:
                    ids = [c.entity_id for c in changes]
                    deliveries.append(Delivery(hook.id, hook.destination, setting, ids, body))
        return deliveries

    def release_held(self) -> None:
        held, self.held = self.held, []
        self.state.rng.shuffle(held)
        for delivery in held:
            self._enqueue(delivery)

    def flush(self, all_retries: bool = False) -> int:
        """Send held deliveries and due retries now (all pending retries if asked)."""
        count = len(self.held)
        self.release_held()
        return count + self._enqueue_due_retries(force=all_retries)

    def _enqueue_due_retries(self, force: bool) -> int:
        now = self.state.now_float()
        due = [d for d in self.retries if force or d.due_at <= now]
        if due:
            self.retries = [d for d in self.retries if d not in due]
            for delivery in due:
                self._enqueue(delivery)
        return len(due)

    def _enqueue(self, delivery: Delivery) -> None:
        queue = self._queues.get(delivery.destination)
        if queue is None:
            queue = self._queues[delivery.destination] = asyncio.Queue()
            self._workers.append(asyncio.create_task(self._worker(queue)))
        queue.put_nowait(delivery)

    async def _worker(self, queue: asyncio.Queue[Delivery]) -> None:
        while True:
            delivery = await queue.get()
            with self.state.lock:
                hook = self.state.webhooks.get(delivery.webhook_id)
                if hook is None or hook.disabled:
                    continue
                dropped = self.state.rng.random() < self.faults.drop_rate
                duplicated = self.state.rng.random() < self.faults.duplicate_rate
            if dropped:
                self._record(delivery, None, 0.0, str(uuid.uuid4()), dropped=True)
                continue
            ok = await self._attempt(delivery, duplicate=False)
            if duplicated:
                await self._attempt(delivery, duplicate=True)
            if not ok:
                self._after_failure(delivery)

    async def _attempt(self, delivery: Delivery, duplicate: bool) -> bool:
        request_id = str(uuid.uuid4())
        if self.faults.fail_status is not None:
            self._record(delivery, self.faults.fail_status, 0.0, request_id, duplicate=duplicate)
            return False
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "amoCRM-Webhooks/3.0",
            "X-Amocrm-Requestid": request_id,
            "Accept-Encoding": "gzip",
        }
        started = time.perf_counter()
        status: int | None = None
        error = None
        assert self._client is not None
        try:
            response = await asyncio.wait_for(
                self._client.post(delivery.destination, content=delivery.body, headers=headers),
                timeout=self.state.config.webhook_timeout_s,
            )
            status = response.status_code
        except (TimeoutError, httpx.HTTPError) as exc:
            error = type(exc).__name__
        elapsed_ms = (time.perf_counter() - started) * 1000
        self._record(delivery, status, elapsed_ms, request_id, duplicate=duplicate, error=error)
        return status is not None and 100 <= status < 300

    def _record(
        self,
        delivery: Delivery,
        status: int | None,
        ms: float,
        request_id: str,
        *,
        dropped: bool = False,
        duplicate: bool = False,
        error: str | None = None,
    ) -> None:
        ok = status is not None and 100 <= status < 300
        record = DeliveryRecord(
            delivery.destination,
            delivery.setting,
            list(delivery.entity_ids),
            delivery.attempt,
            status,
            ok,
            round(ms, 2),
            request_id,
            self.state.now_float(),
            dropped,
            duplicate,
            error,
            delivery.body.decode(),
        )
        with self.state.lock:
            self.log.append(record)
            if not ok and not dropped:
                self._count_invalid(delivery.webhook_id)

    def _count_invalid(self, webhook_id: int) -> None:
        hook = self.state.webhooks.get(webhook_id)
        if hook is None:
            return
        config = self.state.config
        now = self.state.now_float()
        window = config.webhook_disable_window_s * config.webhook_time_scale
        hook.invalid_at = [t for t in hook.invalid_at if t > now - window] + [now]
        # The latest answer is invalid (we are counting it), so the count alone decides.
        if len(hook.invalid_at) > config.webhook_disable_after:
            hook.disabled = True

    def _after_failure(self, delivery: Delivery) -> None:
        if delivery.attempt > len(RETRY_DELAYS_S):
            return
        delay = RETRY_DELAYS_S[delivery.attempt - 1] * self.state.config.webhook_time_scale
        retry = Delivery(
            delivery.webhook_id,
            delivery.destination,
            delivery.setting,
            delivery.entity_ids,
            delivery.body,
            delivery.attempt + 1,
            self.state.now_float() + delay,
        )
        with self.state.lock:
            self.retries.append(retry)

    def log_entries(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return [asdict(r) for r in self.log]

    def pending(self) -> dict[str, int]:
        return {
            "retries": len(self.retries),
            "held": len(self.held),
            "queued": sum(q.qsize() for q in self._queues.values()),
        }
