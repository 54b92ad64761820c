"""The durable engine (DBOS): configuration, launch, queues and enqueueing in one place.

DBOS's API moves fast between majors, so every call into it outside the workflow
decorators lives here. Workflows run on the event loop that launched the engine (the
service's), which lets concurrent workflow steps share in-process batchers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dbos import DBOS, DBOSConfig, SetEnqueueOptions, SetWorkflowID

APP_NAME = "kommo-xero"
# Pinned on purpose: DBOS otherwise hashes the workflow source, and a code change would
# strand in-flight workflows of the old version at the next restart.
APPLICATION_VERSION = "kommo-xero-1"

DEALS_QUEUE = "deals"
DOCUMENTS_QUEUE = "documents"
INVOICES_QUEUE = "invoices"
# The executor id of one-shot commands (`kommo-xero retry`, `sync deal`): they exit as soon
# as the flow they wait for is done, and never come back to recover what they left running.
ONE_SHOT_EXECUTOR = "cli"


@dataclass(frozen=True)
class EngineSettings:
    database_url: str  # sqlite:///file or postgresql://…
    executor_id: str = "local"
    xero_concurrency: int = 5
    polling_interval_sec: float = 0.1


def engine_database_url(app_database_url: str) -> str:
    """The engine's tables sit in a SQLite file beside ours, or in our PostgreSQL database."""
    if app_database_url.startswith("sqlite:///"):
        path = Path(app_database_url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path.with_name(path.stem + '-engine' + path.suffix).as_posix()}"
    return app_database_url.replace("postgresql+psycopg://", "postgresql://")


def migrate_engine(app_database_url: str) -> None:
    """Create or upgrade the engine's own tables (DBOS also does this at launch; running it
    ahead, from one place, keeps several processes from racing to migrate at start-up)."""
    DBOS.migrate(engine_database_url(app_database_url))


async def launch(settings: EngineSettings) -> None:
    """Start DBOS (recovering this executor's unfinished workflows) and declare the queues."""
    config: DBOSConfig = {
        "name": APP_NAME,
        "system_database_url": engine_database_url(settings.database_url),
        "application_version": APPLICATION_VERSION,
        "executor_id": settings.executor_id,
        "log_level": "WARNING",
        "notification_listener_polling_interval_sec": 0.05,
    }
    if not engine_database_url(settings.database_url).startswith("sqlite"):
        # DBOS's default of 20 per process exhausts PostgreSQL's 100 connections at four
        # processes; the engine's statements are short, so a smaller pool keeps up.
        config["sys_db_pool_size"] = 8
    DBOS(config=config)
    _SHUTDOWN_NOISE.stopping = False
    DBOS.launch()
    # Deal workflows mostly wait on shared batchers, so many may run at once per connection.
    await DBOS.register_queue_async(
        DEALS_QUEUE,
        partition_concurrency=100,
        polling_interval_sec=settings.polling_interval_sec,
        on_conflict="always_update",
    )
    # PDFs and online links cost one Xero call each: never more in flight than Xero allows.
    await DBOS.register_queue_async(
        DOCUMENTS_QUEUE,
        partition_concurrency=max(1, settings.xero_concurrency - 2),
        # Each document workflow costs two Xero calls: at most 20 starts a minute leaves
        # room in Xero's 60/min for the invoices themselves during a burst.
        partition_limiter={"limit": 20, "period": 60.0},
        polling_interval_sec=settings.polling_interval_sec,
        on_conflict="always_update",
    )
    # Invoice workflows (flows B and C) mostly wait on shared batchers too.
    await DBOS.register_queue_async(
        INVOICES_QUEUE,
        partition_concurrency=500,
        polling_interval_sec=settings.polling_interval_sec,
        on_conflict="always_update",
    )
    await _apply_reconcile_schedules()
    if settings.executor_id != ONE_SHOT_EXECUTOR:
        await _adopt_one_shot_leftovers()


async def _adopt_one_shot_leftovers() -> None:
    """Put documents work a one-shot command had started back on its queue, for us to finish.

    Without this, a deal retried from the command line got its invoice but never its PDF:
    the command's engine dequeued the follow-up and stopped mid-way, under an executor id
    no long-running process recovers.
    """
    stranded: Any = await DBOS.list_workflows_async(
        status="PENDING",
        executor_id=ONE_SHOT_EXECUTOR,
        queue_name=DOCUMENTS_QUEUE,
        load_input=False,
        load_output=False,
    )
    for workflow in stranded:
        await DBOS.resume_workflow_async(workflow.workflow_id, queue_name=DOCUMENTS_QUEUE)


async def _apply_reconcile_schedules() -> None:
    # Imported here: reconcile imports this module.
    from kommo_xero.workflows.reconcile import schedules

    apply, remove = schedules()
    if apply:
        await DBOS.apply_schedules_async(
            [
                {"schedule_name": name, "workflow_fn": fn, "schedule": cron, "context": context}
                for name, fn, cron, context in apply
            ]
        )
    for name in remove:
        await DBOS.delete_schedule_async(name)


# How DBOS reports a workflow cut off by the engine's shutdown or by the loop's end.
_CUT_OFF_MESSAGES = ("Exception encountered in", "Asyncio task cancelled for workflow")


class _CutOffByShutdown(logging.Filter):
    """Stopping the engine cuts off workflows mid-step; DBOS logs each with a traceback
    ("cannot schedule new futures after shutdown"). Nothing is lost (the executor recovers
    them at its next start), so while stopping they are counted and reported in one line."""

    def __init__(self) -> None:
        super().__init__()
        self.stopping = False
        self.cut_off = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if not (self.stopping and record.getMessage().startswith(_CUT_OFF_MESSAGES)):
            return True
        self.cut_off += 1
        if self.cut_off == 1:  # the first of this stop speaks for all of them
            _log.warning(
                "the engine stopped with workflows in flight; "
                "they resume when this executor (same executor id) starts again"
            )
        return False


_log = logging.getLogger(__name__)
_SHUTDOWN_NOISE = _CutOffByShutdown()
logging.getLogger("dbos").addFilter(_SHUTDOWN_NOISE)


def shutdown() -> None:
    # Workflows run on the service's loop, so they are cut off after this returns, too:
    # the filter stays on until the next launch.
    _SHUTDOWN_NOISE.stopping, _SHUTDOWN_NOISE.cut_off = True, 0
    DBOS.destroy(workflow_completion_timeout_sec=0)


async def enqueue(queue: str, workflow: Any, workflow_id: str, partition: str, *args: Any) -> str:
    """Enqueue `workflow(*args)` under a deterministic id; a repeat attaches to the first."""
    with SetWorkflowID(workflow_id), SetEnqueueOptions(queue_partition_key=partition):
        handle: Any = await DBOS.enqueue_workflow_async(queue, workflow, *args)
    return str(handle.workflow_id)


async def workflow_status(workflow_id: str) -> str | None:
    handle: Any = await DBOS.retrieve_workflow_async(workflow_id, existing_workflow=False)
    status = await handle.get_status()
    return None if status is None else str(status.status)


async def wait_result(workflow_id: str) -> Any:
    handle: Any = await DBOS.retrieve_workflow_async(workflow_id)
    return await handle.get_result()


def current_workflow_id() -> str:
    return str(DBOS.workflow_id or "")


async def durable_sleep(seconds: float) -> None:
    await DBOS.sleep_async(seconds)
