"""What the overview and settings pages show, gathered from the runtimes, store and metrics."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr

from kommo_xero.bootstrap import Service
from kommo_xero.config import Settings
from kommo_xero.observability.metrics import (
    RECENT_WINDOW_S,
    WebhookActivity,
    last_api_status,
    webhook_activity,
)
from kommo_xero.web.dashboard import queries
from kommo_xero.workflows.runtime import Runtime
from kommo_xero.xero.models import XeroLimits

REAL_XERO_API = "https://api.xero.com"
MASK = "•••••••• (set)"


@dataclass(frozen=True)
class TokenHealth:
    service: str
    state: str  # "valid", "expired", "refused", "unknown"
    expires_at: datetime | None
    note: str


@dataclass
class ConnectionHealth:
    connection_id: str
    connected: bool
    kommo_account_id: int | None
    kommo_url: str
    xero_tenant: str | None
    tokens: list[TokenHealth]
    webhooks: list[WebhookActivity]
    cursors: list[dict[str, Any]]
    limits: XeroLimits | None
    counts: queries.Counts
    in_flight: list[dict[str, Any]] = field(default_factory=list)


def _jwt_expiry(token: str) -> datetime | None:
    """Kommo long-lived tokens are JWTs; their `exp` claim says when they stop working."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        return datetime.fromtimestamp(float(claims["exp"]), UTC)
    except (ValueError, KeyError, TypeError):
        return None


def _token_state(service: str, expires_at: datetime | None) -> str:
    last = last_api_status(service)
    if last is not None and last[0] in ("401", "403"):
        return "refused"
    if expires_at is not None and expires_at < datetime.now(UTC):
        # Xero access tokens live 30 minutes and are renewed on the next call: not a problem.
        return "renewed on next call" if service == "xero" else "expired"
    if last is not None and last[0].startswith("2"):
        return "valid"
    return "unknown" if expires_at is None else "valid"


def _tokens(settings: Settings, rt: Runtime | None) -> list[TokenHealth]:
    kommo_token = settings.kommo.token.get_secret_value() if settings.kommo.token else ""
    kommo_exp = _jwt_expiry(kommo_token)
    xero_token = None
    if rt is not None:
        auth = getattr(getattr(rt.xero, "_http", None), "auth", None)
        xero_token = getattr(auth, "token", None)
    xero_exp = getattr(xero_token, "expires_at", None)
    return [
        TokenHealth(
            "kommo",
            _token_state("kommo", kommo_exp) if kommo_token else "missing",
            kommo_exp,
            "long-lived token" if kommo_token else "run `kommo-xero connect kommo`",
        ),
        TokenHealth(
            "xero",
            _token_state("xero", xero_exp),
            xero_exp,
            f"{settings.xero.auth.replace('_', ' ')} access token",
        ),
    ]


def connection_health(service: Service) -> list[ConnectionHealth]:
    # Before the service has connected (or when it could not), every configured connection
    # is still listed, shown as not connected.
    pairs: list[tuple[Settings, Runtime | None]] = [(rt.settings, rt) for rt in service.runtimes]
    if not pairs:
        pairs = [(s, None) for s in service.settings.connection_settings()]
    found = []
    for settings, rt in pairs:
        connection_id = settings.connection_name
        found.append(
            ConnectionHealth(
                connection_id=connection_id,
                connected=rt is not None,
                kommo_account_id=rt.kommo_account_id if rt else settings.kommo.account_id,
                kommo_url=settings.kommo.base_url,
                xero_tenant=getattr(rt.xero, "tenant_id", None) if rt else settings.xero.tenant_id,
                tokens=_tokens(settings, rt),
                webhooks=_webhooks(service, connection_id),
                cursors=queries.cursor_rows(service.store, connection_id),
                limits=rt.xero.limits if rt else None,
                counts=queries.counts(service.store, connection_id),
                in_flight=queries.in_flight(service.store, connection_id),
            )
        )
    return found


def _webhooks(service: Service, connection_id: str) -> list[WebhookActivity]:
    """This process's live counts plus what the other processes shared (see activity.py)."""
    others = service.webhook_minutes.others(connection_id, time.time() - RECENT_WINDOW_S)
    found = []
    for mine in webhook_activity(connection_id):
        count, last_at = others.get(mine.source, (0, 0.0))
        latest = max(mine.last_at or 0.0, last_at) or None
        found.append(WebhookActivity(mine.source, mine.last_hour + count, latest))
    return found


def runtime_for(service: Service, connection_id: str) -> Runtime | None:
    return next((rt for rt in service.runtimes if rt.connection_id == connection_id), None)


def deal_url(service: Service, connection_id: str, lead_id: int) -> str:
    rt = runtime_for(service, connection_id)
    if rt is not None:
        return rt.deal_url(lead_id)
    return f"{service.settings.kommo.base_url.rstrip('/')}/leads/detail/{lead_id}"


def invoice_url(service: Service, row: dict[str, Any]) -> str | None:
    """Into Xero's own invoice screen; the sandbox has none, so its online invoice instead."""
    invoice_id = row.get("xero_invoice_id")
    if not invoice_id:
        return None
    if service.settings.xero.base_url.rstrip("/") == REAL_XERO_API:
        return f"https://go.xero.com/AccountsReceivable/View.aspx?InvoiceID={invoice_id}"
    return row.get("online_url") or None


def masked(value: Any) -> Any:
    """Settings as plain data with every secret replaced by a mask."""
    if isinstance(value, SecretStr):
        return MASK if value.get_secret_value() else "(empty)"
    if isinstance(value, dict):
        return {k: masked(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [masked(v) for v in value]
    return value


def settings_sections(settings: Settings) -> dict[str, dict[str, Any]]:
    dumped = {
        name: masked(dict(getattr(settings, name)))
        for name in ("mapping", "kommo", "xero", "service")
    }
    return dumped


def webhook_urls(settings: Settings) -> list[tuple[str, str, str]]:
    """(what, URL, where to paste it). The Kommo URL carries its secret, so it is shown once."""
    base = settings.service.public_url.rstrip("/")
    secret = settings.kommo.webhook_secret.get_secret_value()
    return [
        (
            "Kommo webhook",
            f"{base}/webhooks/kommo/{secret}",
            "Kommo → Settings → Integrations → Web hooks (events: deal added, deal changed, "
            "deal status changed)",
        ),
        (
            "Xero webhook",
            f"{base}/webhooks/xero",
            "developer.xero.com → your app → Webhooks (event: Invoices)",
        ),
        ("Xero OAuth redirect URI", f"{base}/oauth/xero/callback", "developer.xero.com → app"),
    ]
