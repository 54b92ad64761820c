"""Share this process's webhook counts, so every `serve` dashboard shows all of them.

Behind a load balancer each `serve` receives part of the webhooks. Every few seconds each one
writes its counts of the last hour to the database (`publish`); a dashboard adds the others'
rows to its own live counts. The hot path (answering a webhook) never touches the database
for this.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from kommo_xero.background import BackgroundLoop
from kommo_xero.observability.metrics import MinuteCount, recent_by_minute

PUBLISH_EVERY_S = 10.0
_log = logging.getLogger(__name__)


class ActivityPublisher(BackgroundLoop):
    task_name = "webhook-activity"

    def __init__(
        self, publish: Callable[[Sequence[MinuteCount]], None], every: float = PUBLISH_EVERY_S
    ) -> None:
        self._publish = publish
        self._every = every
        self._published_any = False

    async def stop(self) -> None:
        await super().stop()
        await self.publish_now()  # the last counts outlive this process for the hour

    async def publish_now(self) -> None:
        counts = recent_by_minute()
        if not counts and not self._published_any:
            return  # a worker (no webhooks) never writes a row
        try:
            await asyncio.to_thread(self._publish, counts)
            self._published_any = True
        except Exception:  # a dashboard figure is not worth stopping the service for
            _log.warning("could not share webhook counts with the other processes", exc_info=True)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            await self.publish_now()
