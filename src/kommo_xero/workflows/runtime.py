"""What a running connection holds: its clients, store, Kommo field ids and batchers.

Workflows receive only a connection id (their arguments must be durable and small), and
look up the live objects here. `bootstrap.py` builds and registers one Runtime per
connection before the engine starts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from kommo_xero.config import Settings
from kommo_xero.domain.mapping import MappingRules
from kommo_xero.domain.model import Organisation
from kommo_xero.domain.status import STATUS_LABELS
from kommo_xero.kommo import KommoClient
from kommo_xero.kommo._payloads import CustomFieldCreate
from kommo_xero.kommo.models import CustomField, Pipeline, Status, find_stage
from kommo_xero.store import Store
from kommo_xero.transport.gate import Gate, LocalGate
from kommo_xero.workflows.batching import Batcher
from kommo_xero.xero.client import XeroClient

FIELD_INVOICE_NUMBER = "Xero invoice number"
FIELD_STATUS = "Xero invoice status"
FIELD_AMOUNT_DUE = "Xero amount due"
FIELD_AMOUNT_PAID = "Xero amount paid"
FIELD_LINK = "Xero invoice link"

# The lead fields the integration writes, created in Kommo when missing.
INTEGRATION_FIELDS: tuple[CustomFieldCreate, ...] = (
    CustomFieldCreate(name=FIELD_INVOICE_NUMBER, type="text", sort=510),
    CustomFieldCreate(name=FIELD_STATUS, type="select", sort=511, enums=list(STATUS_LABELS)),
    CustomFieldCreate(name=FIELD_AMOUNT_DUE, type="numeric", sort=512),
    CustomFieldCreate(name=FIELD_AMOUNT_PAID, type="numeric", sort=513),
    CustomFieldCreate(name=FIELD_LINK, type="url", sort=514),
)

_T = TypeVar("_T")


class SetupError(Exception):
    """The Kommo account or Xero organisation is not set up as the configuration expects."""


@dataclass(frozen=True)
class LeadFields:
    """Ids of the Kommo lead fields the integration reads and writes."""

    invoice_number: int
    status: int
    status_enums: dict[str, int]
    amount_due: int
    amount_paid: int
    link: int
    description: int | None
    currency: int | None
    due_date: int | None


def _by_name(fields: list[CustomField], name: str | None) -> CustomField | None:
    if not name:
        return None
    if name.isdigit():
        return next((f for f in fields if f.id == int(name)), None)
    return next((f for f in fields if f.name.casefold() == name.casefold()), None)


async def ensure_lead_fields(kommo: KommoClient, settings: Settings) -> LeadFields:
    """Create the integration's lead fields if missing; find the mapped input fields."""
    fields = await kommo.list_lead_fields()
    missing = [spec for spec in INTEGRATION_FIELDS if _by_name(fields, spec.name) is None]
    if missing:
        fields += await kommo.create_lead_fields(missing)
    own = {spec.name: _by_name(fields, spec.name) for spec in INTEGRATION_FIELDS}
    if any(f is None for f in own.values()):
        raise SetupError("Kommo did not create the integration's lead fields")
    status = own[FIELD_STATUS]
    assert status is not None
    mapping = settings.mapping
    inputs = {
        key: _by_name(fields, name)
        for key, name in (
            ("description", mapping.description_field),
            ("currency", mapping.currency_field),
            ("due_date", mapping.due_date_field),
        )
    }
    return LeadFields(
        invoice_number=own[FIELD_INVOICE_NUMBER].id,  # type: ignore[union-attr]
        status=status.id,
        status_enums={e.value: e.id for e in status.enums},
        amount_due=own[FIELD_AMOUNT_DUE].id,  # type: ignore[union-attr]
        amount_paid=own[FIELD_AMOUNT_PAID].id,  # type: ignore[union-attr]
        link=own[FIELD_LINK].id,  # type: ignore[union-attr]
        description=inputs["description"].id if inputs["description"] else None,
        currency=inputs["currency"].id if inputs["currency"] else None,
        due_date=inputs["due_date"].id if inputs["due_date"] else None,
    )


async def ensure_lead_fields_readonly(kommo: KommoClient, settings: Settings) -> LeadFields:
    """Like `ensure_lead_fields` but never creates anything (missing fields get id 0)."""
    fields = await kommo.list_lead_fields()
    found = {spec.name: _by_name(fields, spec.name) for spec in INTEGRATION_FIELDS}
    status = found[FIELD_STATUS]
    mapping = settings.mapping

    def fid(name: str | None) -> int | None:
        field = _by_name(fields, name)
        return field.id if field else None

    return LeadFields(
        invoice_number=fid(FIELD_INVOICE_NUMBER) or 0,
        status=status.id if status else 0,
        status_enums={e.value: e.id for e in status.enums} if status else {},
        amount_due=fid(FIELD_AMOUNT_DUE) or 0,
        amount_paid=fid(FIELD_AMOUNT_PAID) or 0,
        link=fid(FIELD_LINK) or 0,
        description=fid(mapping.description_field),
        currency=fid(mapping.currency_field),
        due_date=fid(mapping.due_date_field),
    )


def find_trigger(pipelines: list[Pipeline], pipeline: str, stage: str) -> Status:
    """The trigger stage, by name or id; a clear error naming what exists otherwise."""
    chosen = [p for p in pipelines if str(p.id) == pipeline or p.name == pipeline]
    if not chosen:
        names = ", ".join(repr(p.name) for p in pipelines)
        raise SetupError(
            f"mapping.trigger_pipeline: no pipeline {pipeline!r} in Kommo (have {names})"
        )
    found = find_stage(chosen, stage) if not stage.isdigit() else None
    if found is None:
        found = next((s for s in chosen[0].statuses if str(s.id) == stage), None)
    if found is None:
        names = ", ".join(repr(s.name) for s in chosen[0].statuses)
        raise SetupError(
            f"mapping.trigger_stage: no stage {stage!r} in pipeline {chosen[0].name!r} "
            f"(have {names})"
        )
    return found


@dataclass
class OrgCache:
    """Xero organisation facts, re-read at most every `ttl` seconds (or when invalidated)."""

    ttl: float = 60.0
    value: Organisation | None = None
    read_at: float = 0.0
    lock: asyncio.Lock | None = None

    def invalidate(self) -> None:
        self.value = None


@dataclass
class Runtime:
    connection_id: str
    settings: Settings
    kommo: KommoClient
    xero: XeroClient
    store: Store
    fields: LeadFields
    pipeline_id: int
    trigger_status_id: int
    kommo_account_id: int
    kommo_ui_url: str
    org: OrgCache = field(default_factory=OrgCache)
    extras: dict[str, Any] = field(default_factory=dict)  # batchers, gates (built lazily)
    stages: FlowStages | None = None  # flows B and C (None until resolved at start)
    # Xero calls in flight for this tenant; bootstrap sets a cross-process gate on PostgreSQL.
    gate: Gate | None = None
    # One sender of invoice batches for this connection at a time (across processes on
    # PostgreSQL), so that queued orders of every process go out together.
    batch_gate: Gate | None = None
    # One holder at a time for a key across every process (PostgreSQL); None: this process
    # is the only one doing the work (SQLite), and in-process locks are enough.
    mutex: Callable[[str], Gate] | None = None

    def shared(self, name: str, make: Callable[[], _T]) -> _T:
        """This connection's one `name` in this process (a batcher, say), made on first use."""
        found = self.extras.get(name)
        if found is None:
            found = self.extras[name] = make()
        return cast(_T, found)

    def close_shared(self) -> None:
        """Close this process's batchers as the service stops (see `Batcher.close`)."""
        for extra in self.extras.values():
            if isinstance(extra, Batcher):
                extra.close()

    @property
    def rules(self) -> MappingRules:
        m = self.settings.mapping
        return MappingRules(
            account_code=m.account_code,
            tax_type=m.tax_type,
            invoice_status=m.invoice_status,
            due_days=m.due_days,
            line_amount_types=m.line_amount_types,
            reference_template=m.reference_template,
            bill_to=m.bill_to,
            default_currency=m.default_currency,
        )

    def deal_url(self, lead_id: int) -> str:
        return f"{self.kommo_ui_url.rstrip('/')}/leads/detail/{lead_id}"

    def xero_gate(self) -> AbstractAsyncContextManager[None]:
        """One slot of the cap on Xero calls in flight for this tenant (Xero allows 5):
        `async with rt.xero_gate(): <call>`."""
        if self.gate is None:
            self.gate = LocalGate(self.settings.service.xero_concurrency)
        return self.gate.slot()

    def invoice_batch_slot(self) -> AbstractAsyncContextManager[None]:
        """The connection's one slot for sending invoice batches."""
        if self.batch_gate is None:
            self.batch_gate = LocalGate(1)
        return self.batch_gate.slot()

    async def organisation(self) -> Organisation:
        cache = self.org
        if cache.lock is None:
            cache.lock = asyncio.Lock()
        async with cache.lock:
            if cache.value is None or time.monotonic() - cache.read_at > cache.ttl:
                async with self.xero_gate():
                    org = await self.xero.get_organisation()
                    currencies = await self.xero.get_currencies()
                    accounts = await self.xero.get_accounts()
                    taxes = await self.xero.get_tax_rates()
                cache.value = Organisation(
                    name=org.name,
                    base_currency=org.base_currency,
                    currencies=frozenset(currencies) | {org.base_currency},
                    account_codes=frozenset(
                        a.code for a in accounts if a.code and a.status != "ARCHIVED"
                    ),
                    tax_types=frozenset(t.tax_type for t in taxes if t.status != "DELETED"),
                )
                cache.read_at = time.monotonic()
            return cache.value


_RUNTIMES: dict[str, Runtime] = {}


def register(runtime: Runtime) -> None:
    _RUNTIMES[runtime.connection_id] = runtime


def unregister_all() -> None:
    _RUNTIMES.clear()


def get(connection_id: str) -> Runtime:
    try:
        return _RUNTIMES[connection_id]
    except KeyError:
        raise LookupError(f"connection {connection_id!r} is not configured here") from None


def all_runtimes() -> list[Runtime]:
    return list(_RUNTIMES.values())


# -- flows B and C: stages and the currency field (resolved once at start) -----------------


@dataclass(frozen=True)
class FlowStages:
    """Where flows B and C put deals, as (pipeline_id, status_id) pairs."""

    paid: tuple[int, int] | None = None
    voided: tuple[int, int] | None = None
    invoice_deal: tuple[int, int] | None = None
    # Enum ids of the deal's currency field when it is a select ("USD" → 908101).
    currency_enums: dict[str, int] = field(default_factory=dict)


def _stage_pair(pipelines: list[Pipeline], pipeline: str, stage: str | None) -> tuple[int, int]:
    if stage is None:
        # The pipeline's first ordinary stage (type 0), as Kommo itself picks for new leads.
        chosen = [p for p in pipelines if str(p.id) == pipeline or p.name == pipeline]
        ordinary = sorted(
            (s for p in chosen[:1] for s in p.statuses if s.type == 0 and s.id not in (142, 143)),
            key=lambda s: s.sort,
        )
        if not ordinary:
            raise SetupError(f"mapping.invoice_deal_pipeline: no open stage in {pipeline!r}")
        return (ordinary[0].pipeline_id or chosen[0].id, ordinary[0].id)
    found = find_trigger(pipelines, pipeline, stage)
    return (found.pipeline_id or 0, found.id)


async def resolve_flow_stages(
    kommo: KommoClient, settings: Settings, trigger_status_id: int
) -> FlowStages:
    """Find the configured paid/voided/new-deal stages; refuse a new-deal stage = trigger."""
    m = settings.mapping
    pipelines = await kommo.list_pipelines()
    paid = _stage_pair(pipelines, m.trigger_pipeline, m.paid_stage) if m.paid_stage else None
    voided = _stage_pair(pipelines, m.trigger_pipeline, m.voided_stage) if m.voided_stage else None
    invoice_deal = _stage_pair(
        pipelines, m.invoice_deal_pipeline or m.trigger_pipeline, m.invoice_deal_stage
    )
    if invoice_deal[1] == trigger_status_id:
        raise SetupError(
            "mapping.invoice_deal_stage is the trigger stage: a deal made from a Xero invoice "
            "would ask for a second invoice. Choose another stage."
        )
    enums: dict[str, int] = {}
    currency = _by_name(await kommo.list_lead_fields(), m.currency_field)
    if currency is not None and currency.enums:
        enums = {e.value.upper(): e.id for e in currency.enums}
    return FlowStages(paid=paid, voided=voided, invoice_deal=invoice_deal, currency_enums=enums)
