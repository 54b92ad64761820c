"""Xero-side and local checks: organisation, currencies, scopes, stored credentials, key."""

from __future__ import annotations

import json
from collections.abc import Iterable

import httpx
from sqlalchemy import distinct, select

from kommo_xero.config import Settings
from kommo_xero.connections.checks import FAIL, OK, WARN, Check
from kommo_xero.connections.crypto import SECRET_KEY_ENV, SecretBox, key_file_too_open
from kommo_xero.connections.records import OAUTH, Credential, jwt_claim
from kommo_xero.connections.status import LABELS, expiry_alert
from kommo_xero.store import Store
from kommo_xero.store.tables import links
from kommo_xero.xero.tokens import (
    CUSTOM_CONNECTION_SCOPES,
    token_from_response,
    token_request,
    utc_now,
)

# Cursor where `setup` records the currencies that were enabled in Xero and offered in Kommo.
CURRENCIES_CURSOR = "setup:currencies"
# Each capability with the scopes that grant it (granular since March 2026, or legacy).
XERO_NEEDS = {
    "invoices": {"accounting.invoices", "accounting.transactions"},
    "payments": {
        "accounting.payments",
        "accounting.payments.read",
        "accounting.transactions",
        "accounting.transactions.read",
    },
    "contacts": {"accounting.contacts"},
    "settings": {"accounting.settings", "accounting.settings.read"},
}


def currencies_in_use(settings: Settings, store: Store, base_currency: str) -> set[str]:
    """The default currency, those recorded at setup, and those of invoiced deals."""
    used = {(settings.mapping.default_currency or base_currency).upper()}
    recorded = store.cursor(settings.connection_name, CURRENCIES_CURSOR)
    if recorded:
        used |= set(json.loads(recorded))
    with store.tx() as conn:
        rows = conn.execute(
            select(distinct(links.c.currency)).where(
                links.c.connection_id == settings.connection_name, links.c.currency.is_not(None)
            )
        ).scalars()
        used |= {str(code).upper() for code in rows}
    return used


def check_currencies(enabled: Iterable[str], in_use: set[str], offered: Iterable[str]) -> Check:
    enabled_set = {c.upper() for c in enabled}
    missing = sorted(in_use - enabled_set)
    if missing:
        return Check(
            "currencies",
            FAIL,
            "in use but not enabled in Xero: " + ", ".join(missing),
            "Enable them in Xero (Settings → Currencies, needs a plan with multi-currency); "
            "deals in them are parked until then and can be retried after.",
        )
    never = sorted({c.upper() for c in offered} - enabled_set - in_use)
    if never:
        return Check(
            "currencies",
            WARN,
            "offered in Kommo's currency field but not enabled in Xero: " + ", ".join(never),
            "Enable them in Xero, or remove them from the Kommo field: such deals get parked.",
        )
    return Check("currencies", OK, "enabled in Xero: " + ", ".join(sorted(in_use)))


def check_scopes(granted: str, *, oauth: bool) -> Check:
    scopes = set(granted.split())
    lacking = [need for need, grants in XERO_NEEDS.items() if not scopes & grants]
    if oauth and "offline_access" not in scopes:
        lacking.append("offline_access")
    if lacking:
        return Check(
            "Xero scopes",
            FAIL,
            "the grant lacks " + ", ".join(lacking) + f" (granted: {granted or 'none'})",
            "Reconnect with `kommo-xero connect xero` (add `--legacy-scopes` for apps created "
            "before March 2026); a custom connection needs those scopes ticked in the portal.",
        )
    return Check("Xero scopes", OK, granted)


async def client_credentials_scope(settings: Settings, http: httpx.AsyncClient) -> str:
    x = settings.xero
    assert x.client_id and x.client_secret is not None
    request = token_request(
        f"{x.identity_url.rstrip('/')}/connect/token",
        x.client_id,
        x.client_secret.get_secret_value(),
        {"grant_type": "client_credentials", "scope": CUSTOM_CONNECTION_SCOPES},
    )
    return token_from_response(await http.send(request), utc_now()).scope


def check_credential(service: str, credential: Credential | None, source: str) -> list[Check]:
    """Is the stored credential usable, and when does it expire."""
    label = LABELS[service]
    name = f"{label} credentials"
    if credential is None:
        return [Check(name, OK, source)]
    if credential.paused:
        return [
            Check(
                name,
                FAIL,
                f"paused: {credential.pause_reason}",
                f"Reconnect with `kommo-xero connect {service}`; the parked work resumes then.",
            )
        ]
    detail = source or f"{credential.kind.replace('_', ' ')}, stored encrypted"
    if credential.kind == OAUTH:
        detail += f", {credential.rotations} refreshes"
    checks = [Check(name, OK, detail)]
    alert = expiry_alert(credential)
    if alert is not None:
        checks.append(
            Check(
                f"{label} token expiry",
                FAIL if alert.level == "error" else WARN,
                alert.message,
                alert.fix,
            )
        )
    else:
        checks.append(Check(f"{label} token expiry", OK, "not expiring soon"))
    return checks


def kommo_scopes_check(token: str | None) -> Check:
    scopes = jwt_claim(token, "scopes") if token else None
    if not isinstance(scopes, list):
        return Check("Kommo scopes", OK, "not stated by this token (long-lived tokens carry all)")
    if "crm" not in scopes:
        return Check(
            "Kommo scopes",
            FAIL,
            "the token lacks the crm scope (granted: " + ", ".join(scopes) + ")",
            "Tick 'CRM' (and 'Files') in the integration's scopes, then reconnect Kommo.",
        )
    return Check("Kommo scopes", OK, ", ".join(scopes))


def check_secret_key(box: SecretBox, settings: Settings) -> Check:
    source = box.source
    if source.kind == "file" and source.path is not None:
        if key_file_too_open(source.path):
            return Check(
                "secret key",
                FAIL,
                f"{source.path} can be read by other users",
                f"Run `chmod 600 {source.path}`.",
            )
        if not settings.service.resolved_database_url().startswith("sqlite"):
            return Check(
                "secret key",
                WARN,
                f"{source.describe()}, but the database is shared",
                f"Set {SECRET_KEY_ENV} to the same key on every machine (copy the file's "
                "content), or workers elsewhere cannot read the tokens.",
            )
    return Check("secret key", OK, source.describe())


def check_config(settings: Settings) -> Check:
    problems = []
    if settings.xero.webhook_key is None:
        problems.append("xero.webhook_key is not set (Xero invoice events cannot be verified)")
    public = settings.service.public_url
    loopback = "://127.0.0.1" in public or "://localhost" in public
    if not public.startswith("https://") and not loopback:
        problems.append(f"service.public_url {public} is not https")
    if problems:
        return Check(
            "config",
            WARN,
            "; ".join(problems),
            "Set the webhook key from Xero's developer portal (KOMMO_XERO_XERO__WEBHOOK_KEY) "
            "and serve the public URL over https (see docs/setup-xero.md).",
        )
    return Check("config", OK, f"connection {settings.connection_name!r}, {public}")
