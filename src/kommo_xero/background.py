"""A loop that runs beside the service for as long as it is up (the inbox pump, the activity
publisher): started on the running event loop, cancelled and awaited on stop."""

from __future__ import annotations

import abc
import asyncio
import contextlib


class BackgroundLoop(abc.ABC):
    task_name = "background"
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=self.task_name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @abc.abstractmethod
    async def _run(self) -> None:
        """The loop itself; runs until cancelled."""
