"""`kommo-xero setup`: make a Kommo account and a Xero organisation ready for the service.

Creates the lead fields the integration writes, registers the Kommo webhook with the
secret URL, checks the trigger stage and the currencies, and returns what to paste in
Xero's developer portal (Xero has no API to register webhooks).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from kommo_xero.config import Settings
from kommo_xero.connections.checks import (
    FAIL,
    KOMMO_WEBHOOK_EVENTS,
    OK,
    Check,
    check_fields,
    check_kommo_webhook,
    check_trigger,
    kommo_webhook_url,
    xero_webhook_url,
)
from kommo_xero.connections.checks_xero import (
    CURRENCIES_CURSOR,
    check_currencies,
    currencies_in_use,
)
from kommo_xero.kommo import KommoClient
from kommo_xero.kommo.models import CustomField
from kommo_xero.store import Store
from kommo_xero.transport import ApiError
from kommo_xero.workflows.runtime import INTEGRATION_FIELDS, SetupError, ensure_lead_fields
from kommo_xero.xero.client import XeroClient


@dataclass
class SetupReport:
    checks: list[Check] = field(default_factory=list)
    xero_webhook_url: str = ""

    @property
    def ready(self) -> bool:
        return not any(c.failed for c in self.checks)


def hidden_secret_url(settings: Settings) -> str:
    """The Kommo webhook URL with its secret part elided, for printing."""
    return f"{settings.service.public_url.rstrip('/')}/webhooks/kommo/…"


async def _kommo_side(settings: Settings, kommo: KommoClient) -> list[Check]:
    account = await kommo.get_account()
    checks = [Check("Kommo", OK, f"account {account.name or account.subdomain} ({account.id})")]
    before = {f.name.casefold() for f in await kommo.list_lead_fields()}
    try:
        await ensure_lead_fields(kommo, settings)
    except SetupError as exc:
        checks.append(Check("lead fields", FAIL, str(exc), "Check the token has admin rights."))
    created = [s.name for s in INTEGRATION_FIELDS if s.name.casefold() not in before]
    if created:
        checks.append(Check("lead fields created", OK, ", ".join(created)))
    checks += check_fields(settings, await kommo.list_lead_fields())
    url = kommo_webhook_url(settings)
    hooks = await kommo.list_webhooks()
    if check_kommo_webhook(settings, hooks).failed:
        # Saving the hook again also re-enables one Kommo disabled.
        await kommo.add_webhook(url, KOMMO_WEBHOOK_EVENTS)
        hooks = await kommo.list_webhooks()
    webhook = check_kommo_webhook(settings, hooks)
    checks.append(
        Check(
            webhook.name,
            webhook.status,
            f"{hidden_secret_url(settings)}: {webhook.detail}",
            webhook.fix,
        )
    )
    checks.append(check_trigger(settings, await kommo.list_pipelines()))
    return checks


def offered_currencies(fields: list[CustomField], settings: Settings) -> list[str]:
    """The options of the mapped currency field: what sales managers can pick on a deal."""
    name = (settings.mapping.currency_field or "").casefold()
    for f in fields:
        if name and f.name.casefold() == name:
            return [e.value.upper() for e in f.enums]
    return []


async def _xero_side(
    settings: Settings, kommo: KommoClient, xero: XeroClient, store: Store
) -> list[Check]:
    org = await xero.get_organisation()
    checks = [Check("Xero", OK, f"organisation {org.name} (base currency {org.base_currency})")]
    enabled = {c.upper() for c in await xero.get_currencies()} | {org.base_currency.upper()}
    offered = offered_currencies(await kommo.list_lead_fields(), settings)
    default = (settings.mapping.default_currency or org.base_currency).upper()
    baseline = sorted((set(offered) & enabled) | ({default} & enabled))
    store.set_cursor(settings.connection_name, CURRENCIES_CURSOR, json.dumps(baseline))
    checks.append(
        check_currencies(enabled, currencies_in_use(settings, store, org.base_currency), offered)
    )
    return checks


async def run_setup(settings: Settings, store: Store) -> SetupReport:
    from kommo_xero.bootstrap import StartupError, build_kommo, build_xero

    report = SetupReport(xero_webhook_url=xero_webhook_url(settings))
    try:
        kommo = build_kommo(settings, store)
        xero = build_xero(settings, store)
    except StartupError as exc:
        report.checks.append(Check("connections", FAIL, str(exc), "See docs/setup-kommo.md."))
        return report
    try:
        report.checks += await _kommo_side(settings, kommo)
        report.checks += await _xero_side(settings, kommo, xero, store)
    except ApiError as exc:
        report.checks.append(
            Check(
                exc.service,
                FAIL,
                exc.describe(),
                "Run `kommo-xero doctor` for details on the connection.",
            )
        )
    finally:
        await kommo.close()
        await xero.close()
    return report
