"""Everything the simulator knows: organisations, tokens, limits, idempotency, webhooks, clock."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .config import XeroSimConfig
from .limits import Limits
from .models import Org
from .tokens import TokenStore
from .webhooks import WebhookDispatcher
from .writes import WriteContext


@dataclass
class CachedResponse:
    fingerprint: str
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    stored_at: datetime


@dataclass
class XeroState:
    config: XeroSimConfig
    base_url: str = ""  # filled from the first request; online-invoice links use it
    clock_offset: timedelta = timedelta(0)
    orgs: dict[str, Org] = field(default_factory=dict)
    consent_denied: bool = False
    consent_tenants: list[str] | None = None  # None: a consent connects every organisation
    idempotency: dict[tuple[str, str], CachedResponse] = field(default_factory=dict)

    def __post_init__(self) -> None:
        cfg = self.config
        self.tokens = TokenStore(access_ttl=cfg.access_token_ttl, grace_s=cfg.refresh_grace_s)
        self.limits = Limits(
            minute_limit=cfg.minute_limit,
            concurrent_limit=cfg.concurrent_limit,
            day_limit=cfg.day_limit,
            app_minute_limit=cfg.app_minute_limit,
            enforce=cfg.enforce_limits,
        )
        self.webhooks = WebhookDispatcher(cfg, self.now)
        now = self.now()
        self.orgs = {t.tenant_id: Org.from_tenant(copy.deepcopy(t), now) for t in cfg.tenants}

    def now(self) -> datetime:
        """The simulated clock: wall time plus whatever /_sim/clock/advance added."""
        return datetime.now(UTC) + self.clock_offset

    def advance(self, seconds: float) -> datetime:
        self.clock_offset += timedelta(seconds=seconds)
        return self.now()

    @property
    def first_org(self) -> Org:
        return next(iter(self.orgs.values()))

    @contextmanager
    def writing(
        self, org: Org, client_id: str | None, *, atomic: bool = False
    ) -> Iterator[WriteContext]:
        """A write: events go out only if it completes; `atomic` also rolls data back on error."""
        snapshot = copy.deepcopy(
            (org.contacts, org.invoices, org.payments, org.next_invoice_number)
        )
        ctx = WriteContext(org=org, now=self.now(), client_id=client_id)
        try:
            yield ctx
        except BaseException:
            if atomic:
                org.contacts, org.invoices, org.payments, org.next_invoice_number = snapshot
            raise
        for category, event_type, resource_id in ctx.events:
            self.webhooks.emit(org.tenant_id, category, event_type, resource_id, ctx.now)

    def reset(self) -> None:
        """Back to the state a fresh simulator starts with (tokens and subscription included)."""
        self.webhooks.close_pending()
        fresh = XeroState(self.config, base_url=self.base_url)
        self.__dict__.update(fresh.__dict__)

    def summary(self) -> dict[str, Any]:
        return {
            "now": self.now().isoformat(),
            "tenants": {
                org.tenant_id: {
                    "name": org.tenant.name,
                    "base_currency": org.tenant.base_currency,
                    "currencies": list(org.currencies),
                    "accounts": sorted(org.accounts),
                    "contacts": len(org.contacts),
                    "invoices": {
                        inv.number or inv.invoice_id: inv.status for inv in org.invoices.values()
                    },
                    "payments": len(org.payments),
                }
                for org in self.orgs.values()
            },
            "connections": [c.tenant_id for c in self.tokens.connections.values()],
            "refresh_calls": self.tokens.refresh_calls,
            "refresh_uses": self.tokens.refresh_uses(),
            "webhook_status": self.webhooks.status,
        }
