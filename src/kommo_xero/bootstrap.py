"""The one place that builds concrete adapters from settings and starts the engine."""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from pyrate_limiter import Rate

from kommo_xero.config import Settings
from kommo_xero.connections.status import resume
from kommo_xero.connections.wiring import (
    ConnectionConfigError,
    stored_kommo_auth,
    stored_xero_auth,
)
from kommo_xero.kommo import KommoClient
from kommo_xero.observability.activity import ActivityPublisher
from kommo_xero.store import Store, make_engine, migrate
from kommo_xero.store.inbox import Inbox, Trigger
from kommo_xero.store.webhook_minutes import WebhookMinutes
from kommo_xero.transport import AuthFailed, RatePacer
from kommo_xero.transport.gate import Gate, GateSession, PostgresGate, claim_executor_id
from kommo_xero.transport.pacer import (
    BucketMaker,
    per_day,
    per_minute,
    per_minute_smoothed,
    postgres_buckets,
    spaced_per_second,
)
from kommo_xero.workflows import deal_to_invoice, engine, runtime, status_sync
from kommo_xero.workflows.inbox_pump import InboxPump, Starter
from kommo_xero.workflows.runtime import (
    Runtime,
    SetupError,
    ensure_lead_fields,
    find_trigger,
    resolve_flow_stages,
)
from kommo_xero.xero.auth import ClientCredentialsAuth
from kommo_xero.xero.client import XeroClient


class StartupError(Exception):
    """The service cannot start; the message says what to fix."""


def is_postgres(database_url: str) -> bool:
    return database_url.startswith(("postgresql", "postgres://"))


def pacer_url(settings: Settings) -> str:
    """Pacing buckets live beside the data: a SQLite file, or the shared PostgreSQL."""
    db = settings.service.resolved_database_url()
    if db.startswith("sqlite:///"):
        path = Path(db.removeprefix("sqlite:///"))
        return f"sqlite:///{path.with_name(path.stem + '-pacer' + path.suffix).as_posix()}"
    return db


def _pacer(settings: Settings, rates: list[Rate], buckets: BucketMaker | None) -> RatePacer:
    if buckets is not None:  # the service's shared buckets (one PostgreSQL pool per process)
        return RatePacer(rates, buckets)
    return RatePacer.from_url(rates, pacer_url(settings))


def build_kommo(
    settings: Settings,
    store: Store | None = None,
    pacers: list[RatePacer] | None = None,
    buckets: BucketMaker | None = None,
) -> KommoClient:
    try:
        # The long-lived token from settings, else the connection `connect kommo` stored.
        auth = stored_kommo_auth(settings, store)
    except ConnectionConfigError as exc:
        raise StartupError(str(exc)) from exc
    pacer = _pacer(settings, spaced_per_second(settings.kommo.requests_per_second), buckets)
    if pacers is not None:
        pacers.append(pacer)
    return KommoClient(
        settings.kommo.base_url,
        auth,
        account_key=f"kommo:{settings.connection_name}",
        pacer=pacer,
    )


def build_xero(
    settings: Settings,
    store: Store | None = None,
    pacers: list[RatePacer] | None = None,
    buckets: BucketMaker | None = None,
) -> XeroClient:
    x = settings.xero
    if not x.client_id or x.client_secret is None:
        raise StartupError(
            "xero.client_id and xero.client_secret are not set: set KOMMO_XERO_XERO__CLIENT_ID "
            "and KOMMO_XERO_XERO__CLIENT_SECRET (see docs/setup-xero.md)."
        )
    auth: httpx.Auth
    tenant_id = x.tenant_id
    if x.auth == "oauth":
        try:
            auth, tenant_id = stored_xero_auth(settings, store)
        except ConnectionConfigError as exc:
            raise StartupError(str(exc)) from exc
    else:
        auth = ClientCredentialsAuth(
            f"{x.identity_url.rstrip('/')}/connect/token",
            x.client_id,
            x.client_secret.get_secret_value(),
        )
    minute = per_minute_smoothed(x.calls_per_minute, x.burst_calls)
    if buckets is not None:
        # Shared PostgreSQL buckets keep the plain minute for now: with the two minute rates,
        # the 4-process 500-deal test saw a limit broken in 2 of 3 CI runs (decision 0008).
        minute = [per_minute(x.calls_per_minute)]
    rates = [*minute, per_day(x.calls_per_day)]
    pacer = _pacer(settings, rates, buckets)
    if pacers is not None:
        pacers.append(pacer)
    return XeroClient(x.base_url, auth, tenant_id=tenant_id, pacer=pacer)


async def _start_deal(trigger: Trigger) -> str:
    return await deal_to_invoice.start(trigger.connection_id, int(trigger.subject), trigger.cause)


async def _start_invoice_change(trigger: Trigger) -> str:
    return await status_sync.start(trigger.connection_id, trigger.subject, trigger.cause)


# inbox flow name → how to start it
_STARTERS: dict[str, Starter] = {
    deal_to_invoice.FLOW: _start_deal,
    status_sync.FLOW: _start_invoice_change,
}


@dataclass
class Service:
    """A configured kommo-xero: its store, its connections, and the engine once started."""

    settings: Settings
    store: Store = field(init=False)
    runtimes: list[Runtime] = field(default_factory=list)
    started: bool = False
    inbox: Inbox = field(init=False)
    pump: InboxPump | None = None
    webhook_minutes: WebhookMinutes = field(init=False)
    activity: ActivityPublisher | None = None
    # Set by the demo: base URLs of the simulators, which enables the dashboard's sandbox panel.
    sandbox_urls: dict[str, str] | None = None
    pacers: list[RatePacer] = field(default_factory=list)
    # PostgreSQL only: the session holding Xero gate slots, and the shared pacing buckets.
    gate_session: GateSession | None = None
    pace_buckets: BucketMaker | None = None
    _closers: list[Callable[[], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        url = self.settings.service.resolved_database_url()
        migrate(url)
        self.store = Store(make_engine(url))
        self.inbox = Inbox(self.store.engine)
        self.webhook_minutes = WebhookMinutes(self.store.engine, self.settings.service.executor_id)

    def accept(self, triggers: list[Trigger]) -> int:
        """Record webhook triggers durably and wake the pump; returns how many were new."""
        new = self.inbox.accept(triggers)
        if new and self.pump is not None:
            self.pump.notify()
        return new

    async def start(self) -> None:
        """Connect every configured connection to Kommo and Xero, check each one's setup,
        then start the engine (recovering this executor's unfinished work)."""
        database_url = self.settings.service.resolved_database_url()
        if is_postgres(database_url):
            # Xero's 5-in-flight limit must hold across every process on the database.
            self.gate_session = GateSession(database_url)
            await self._claim_executor_id(self.gate_session)
            # One small pool for every connection's pacing buckets, not one per client.
            self.pace_buckets, close_buckets = postgres_buckets(
                database_url.replace("postgresql+psycopg://", "postgresql://")
            )
            self._closers.append(close_buckets)
        for settings in self.settings.connection_settings():
            rt = await self._connect(settings)
            runtime.register(rt)
            self.runtimes.append(rt)
        await engine.launch(
            engine.EngineSettings(
                database_url=database_url,
                executor_id=self.settings.service.executor_id,
                xero_concurrency=self.settings.service.xero_concurrency,
            )
        )
        self.pump = InboxPump(self.inbox, _STARTERS)
        self.pump.start()
        self.activity = ActivityPublisher(self.webhook_minutes.publish)
        self.activity.start()
        self.started = True
        # Work parked while access was revoked resumes once the connection is healthy again
        # (a reconnect made while the service was down has no one else to resume it).
        for rt in self.runtimes:
            await resume(self.store, rt.connection_id)

    async def _claim_executor_id(self, session: GateSession) -> None:
        executor_id = self.settings.service.executor_id
        if executor_id == engine.ONE_SHOT_EXECUTOR:
            return  # one-shot commands share their id on purpose (see engine.ONE_SHOT_EXECUTOR)
        if not await claim_executor_id(session, executor_id):
            raise StartupError(
                f"executor id {executor_id!r} is in use by another running process on this "
                "database; give every process its own --executor-id (or DBOS__VMID), and reuse "
                "an id only to restart the process that had it (docs/scale-out.md)."
            )

    async def _connect(self, settings: Settings) -> Runtime:
        """One connection's clients and Kommo setup (fields, stages) as a Runtime."""
        kommo = build_kommo(settings, self.store, self.pacers, self.pace_buckets)
        xero = build_xero(settings, self.store, self.pacers, self.pace_buckets)
        try:
            account = await kommo.get_account()
            fields = await ensure_lead_fields(kommo, settings)
            stage = find_trigger(
                await kommo.list_pipelines(),
                settings.mapping.trigger_pipeline,
                settings.mapping.trigger_stage,
            )
            stages = await resolve_flow_stages(kommo, settings, stage.id)
        except httpx.HTTPError as exc:
            raise StartupError(f"cannot reach Kommo at {settings.kommo.base_url}: {exc}") from exc
        except AuthFailed as exc:
            raise StartupError(
                f"Kommo refused our access ({exc.message}); reconnect with "
                "`kommo-xero connect kommo` (or set a valid long-lived token), then start again."
            ) from exc
        except SetupError as exc:
            raise StartupError(f"{exc}; fix the configuration or run `kommo-xero setup`.") from exc
        gate = batch_gate = None
        mutex: Callable[[str], Gate] | None = None
        if self.gate_session is not None:
            mutex = functools.partial(PostgresGate, self.gate_session, slots=1)
            # Keyed like the pacer: two connections to one organisation share its limit.
            gate = PostgresGate(self.gate_session, xero.pace_key, settings.service.xero_concurrency)
            batch_gate = PostgresGate(
                self.gate_session, f"invoice-batches:{settings.connection_name}", slots=1
            )
        return Runtime(
            connection_id=settings.connection_name,
            settings=settings,
            kommo=kommo,
            xero=xero,
            store=self.store,
            fields=fields,
            pipeline_id=stage.pipeline_id or 0,
            trigger_status_id=stage.id,
            kommo_account_id=account.id,
            kommo_ui_url=settings.kommo.base_url,
            stages=stages,
            gate=gate,
            batch_gate=batch_gate,
            mutex=mutex,
        )

    async def stop(self) -> None:
        if self.pump is not None:
            await self.pump.stop()
            self.pump = None
        if self.activity is not None:
            await self.activity.stop()
            self.activity = None
        if self.started:
            engine.shutdown()
            self.started = False
        for rt in self.runtimes:
            rt.close_shared()
            await rt.kommo.close()
            await rt.xero.close()
        for pacer in self.pacers:
            pacer.close()
        self.pacers.clear()
        if self.gate_session is not None:
            await self.gate_session.close()
            self.gate_session = None
        for close in self._closers:
            close()
        self._closers.clear()
        self.pace_buckets = None
        self.runtimes = []
        runtime.unregister_all()

    def runtime_for_kommo_secret(self, secret: str) -> Runtime | None:
        """The connection whose webhook URL carries `secret` (compared in constant time)."""
        for rt in self.runtimes:
            expected = rt.settings.kommo.webhook_secret.get_secret_value()
            if hmac.compare_digest(expected.encode(), secret.encode()):
                return rt
        return None
