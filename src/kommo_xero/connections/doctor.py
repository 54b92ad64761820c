"""`kommo-xero doctor`: one line per check, each failure with what to do."""

from __future__ import annotations

from datetime import datetime

import httpx
from sqlalchemy import func, select

from kommo_xero.config import Settings
from kommo_xero.connections.checks import FAIL, OK, WARN, Check, kommo_setup_checks
from kommo_xero.connections.checks_xero import (
    check_config,
    check_credential,
    check_currencies,
    check_scopes,
    check_secret_key,
    client_credentials_scope,
    currencies_in_use,
    kommo_scopes_check,
)
from kommo_xero.connections.crypto import SecretKeyError, load_secret_box
from kommo_xero.connections.records import (
    ACTIVE,
    KOMMO,
    LONG_LIVED,
    OAUTH,
    XERO,
    Credential,
    CredentialStore,
)
from kommo_xero.connections.setup import offered_currencies
from kommo_xero.kommo import KommoClient
from kommo_xero.store import Store
from kommo_xero.store.tables import history
from kommo_xero.transport import ApiError
from kommo_xero.xero.client import XeroClient


def _credential_checks(settings: Settings, credentials: CredentialStore) -> list[Check]:
    name = settings.connection_name
    checks: list[Check] = []
    if settings.kommo.token is not None:
        token = settings.kommo.token.get_secret_value()
        from_settings = Credential(name, KOMMO, LONG_LIVED, ACTIVE, token, None, None)
        checks += check_credential(KOMMO, from_settings, "long-lived token from settings")
    else:
        checks += check_credential(KOMMO, credentials.get(name, KOMMO), "")
    if settings.xero.auth == OAUTH:
        stored = credentials.get(name, XERO)
        if stored is None:
            checks.append(
                Check(
                    "Xero credentials",
                    FAIL,
                    'xero.auth is "oauth" but Xero is not connected',
                    "Run `kommo-xero connect xero`.",
                )
            )
        else:
            checks += check_credential(XERO, stored, "")
    else:
        checks.append(Check("Xero credentials", OK, "custom connection (client credentials)"))
    return checks


async def _kommo_checks(settings: Settings, kommo: KommoClient, token: str | None) -> list[Check]:
    try:
        account = await kommo.get_account()
    except (ApiError, httpx.HTTPError) as exc:
        detail = exc.describe() if isinstance(exc, ApiError) else f"{type(exc).__name__}: {exc}"
        return [
            Check(
                "Kommo connectivity",
                FAIL,
                detail,
                f"Check kommo.base_url ({settings.kommo.base_url}) and the Kommo credentials; "
                "reconnect with `kommo-xero connect kommo` if access was revoked.",
            )
        ]
    checks = [Check("Kommo connectivity", OK, f"account {account.name} ({account.id})")]
    checks.append(kommo_scopes_check(token))
    return checks + await kommo_setup_checks(settings, kommo)


async def _xero_checks(
    settings: Settings, kommo: KommoClient, xero: XeroClient, credentials: CredentialStore
) -> list[Check]:
    try:
        org = await xero.get_organisation()
        enabled = set(await xero.get_currencies()) | {org.base_currency}
    except (ApiError, httpx.HTTPError) as exc:
        detail = exc.describe() if isinstance(exc, ApiError) else f"{type(exc).__name__}: {exc}"
        return [
            Check(
                "Xero connectivity",
                FAIL,
                detail,
                "Check xero.client_id/client_secret and xero.tenant_id; reconnect with "
                "`kommo-xero connect xero` if access was revoked.",
            )
        ]
    checks = [Check("Xero connectivity", OK, f"organisation {org.name}")]
    if settings.xero.auth == OAUTH:
        stored = credentials.get(settings.connection_name, XERO)
        checks.append(check_scopes(stored.scope if stored else "", oauth=True))
    else:
        async with httpx.AsyncClient(timeout=20.0) as http:
            checks.append(check_scopes(await client_credentials_scope(settings, http), oauth=False))
    try:
        offered = offered_currencies(await kommo.list_lead_fields(), settings)
    except ApiError:
        offered = []
    in_use = currencies_in_use(settings, credentials.store, org.base_currency)
    checks.append(check_currencies(enabled, in_use, offered))
    return checks


async def _delivery_check(settings: Settings, store: Store) -> Check:
    with store.tx() as conn:
        last: datetime | None = conn.execute(
            select(func.max(history.c.at)).where(
                history.c.connection_id == settings.connection_name
            )
        ).scalar()
    seen = f"last activity {last:%Y-%m-%d %H:%M} UTC" if last else "no activity recorded yet"
    url = f"{settings.service.public_url.rstrip('/')}/healthz"
    try:
        async with httpx.AsyncClient(timeout=5.0) as http:
            answer = await http.get(url)
        reachable = answer.status_code == 200
    except httpx.HTTPError:
        reachable = False
    if not reachable:
        return Check(
            "webhook delivery",
            WARN,
            f"the service does not answer at {url}; {seen}",
            "Start `kommo-xero serve` and make service.public_url reachable from the internet, "
            "or webhooks cannot arrive.",
        )
    return Check("webhook delivery", OK, f"service answers at {url}; {seen}")


async def run_doctor(settings: Settings, store: Store) -> list[Check]:
    from kommo_xero.bootstrap import StartupError, build_kommo, build_xero

    checks = [check_config(settings)]
    try:
        box = load_secret_box(settings.service.data_dir)
    except SecretKeyError as exc:
        return [*checks, Check("secret key", FAIL, str(exc), "Fix the key, then run doctor again.")]
    checks.append(check_secret_key(box, settings))
    credentials = CredentialStore(store, box)
    checks += _credential_checks(settings, credentials)
    try:
        kommo = build_kommo(settings, store)
        xero = build_xero(settings, store)
    except (StartupError, SecretKeyError) as exc:
        return [*checks, Check("connections", FAIL, str(exc), "See docs/troubleshooting.md.")]
    try:
        token = settings.kommo.token.get_secret_value() if settings.kommo.token else None
        if token is None:
            stored = credentials.get(settings.connection_name, KOMMO)
            token = stored.access_token if stored else None
        checks += await _kommo_checks(settings, kommo, token)
        checks += await _xero_checks(settings, kommo, xero, credentials)
    finally:
        await kommo.close()
        await xero.close()
    checks.append(await _delivery_check(settings, store))
    return checks


def broken(checks: list[Check]) -> bool:
    return any(c.status == FAIL for c in checks)
