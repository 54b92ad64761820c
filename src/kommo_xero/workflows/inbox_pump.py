"""Turns inbox rows into engine workflows, in bulk, off the webhook's request path.

A receiver only inserts a row and answers; this pump wakes up (notified, or every half
second to pick up rows left by a crash) and starts each flow under its deterministic id, so
a row started twice still makes one workflow.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from kommo_xero.background import BackgroundLoop
from kommo_xero.store.inbox import Inbox, Trigger

Starter = Callable[[Trigger], Awaitable[str]]


class InboxPump(BackgroundLoop):
    task_name = "inbox-pump"

    def __init__(self, inbox: Inbox, starters: dict[str, Starter], idle: float = 0.5) -> None:
        self.inbox = inbox
        self.starters = starters  # flow name → how to start it (a dispatch table)
        self.idle = idle
        self._wake = asyncio.Event()
        self.failures = 0

    def notify(self) -> None:
        self._wake.set()

    async def drain_once(self) -> int:
        batch = self.inbox.pending()
        started: list[int] = []
        for row_id, trigger in batch:
            starter = self.starters.get(trigger.flow)
            if starter is None:
                continue
            await starter(trigger)
            started.append(row_id)
        self.inbox.mark_enqueued(started)
        return len(started)

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.idle)
            self._wake.clear()
            try:
                while await self.drain_once():
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                self.failures += 1
