"""`kommo-xero connect xero|kommo`: consent flows, pasted tokens, custom connections.

The consent's callback lands on the running service (`/oauth/{service}/callback`); when the
service is not running, this command serves the callback itself on the configured port
until the consent is done.
"""

from __future__ import annotations

import asyncio
import time
import webbrowser
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import typer
from fastapi import FastAPI
from rich.console import Console
from rich.table import Table

from kommo_xero.config import ConfigError, Settings, load_settings
from kommo_xero.connections.consent import (
    CHOOSE_TENANT,
    DONE,
    PENDING,
    ConsentOutcome,
    ConsentStart,
    consent_outcome,
    start_kommo,
    start_xero,
)
from kommo_xero.connections.crypto import SecretKeyError
from kommo_xero.connections.records import (
    CLIENT_CREDENTIALS,
    KOMMO,
    LONG_LIVED,
    XERO,
    CredentialStore,
    TokenUpdate,
    jwt_claim,
)
from kommo_xero.connections.wiring import ConnectionConfigError, open_credentials
from kommo_xero.kommo import KommoClient
from kommo_xero.transport import ApiError
from kommo_xero.xero.auth import ClientCredentialsAuth
from kommo_xero.xero.client import XeroClient

connect_app = typer.Typer(
    help="Connect Kommo or Xero: OAuth consent, a long-lived token, or a custom connection.",
    no_args_is_help=True,
)
console = Console()

ConfigOption = typer.Option(
    None,
    "--config",
    "-c",
    envvar="KOMMO_XERO_CONFIG",
    help="Settings file (TOML); default: $KOMMO_XERO_CONFIG.",
)


ConnectionOption = typer.Option(
    None, "--connection", help="Which connection (its name); default: the only or first one."
)


def load(config: Path | None, connection: str | None) -> tuple[Settings, Settings, CredentialStore]:
    """The whole deployment's settings, the chosen connection's, and the credential store."""
    try:
        settings = load_settings(config)
        return settings, settings.for_connection(connection), open_credentials(settings)
    except (ConfigError, SecretKeyError) as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None


class _Receiver:
    """Stands in for the service while it is not running: the OAuth callbacks only."""

    def __init__(self, settings: Settings, credentials: CredentialStore) -> None:
        self.settings = settings
        self.store = credentials.store
        self.started = False


def _service_answers(settings: Settings) -> bool:
    try:
        answer = httpx.get(f"{settings.service.public_url.rstrip('/')}/healthz", timeout=3.0)
    except httpx.HTTPError:
        return False
    return answer.status_code == 200


@contextmanager
def callback_receiver(settings: Settings, credentials: CredentialStore) -> Iterator[None]:
    if _service_answers(settings):
        yield
        return
    from kommo_xero.sandbox.server import start_in_thread
    from kommo_xero.web.oauth import oauth_router

    app = FastAPI()
    app.include_router(oauth_router(_Receiver(settings, credentials)))
    handle = start_in_thread(app, host=settings.service.host, port=settings.service.port)
    console.print(f"Waiting for the callback on {settings.service.host}:{handle.port}.")
    try:
        yield
    finally:
        handle.stop()


def wait_for_consent(
    settings: Settings,
    credentials: CredentialStore,
    start: ConsentStart,
    *,
    browser: bool,
    timeout: float,
) -> ConsentOutcome:
    with callback_receiver(settings, credentials):
        console.print("Open this address to give consent:")
        console.print(start.url, soft_wrap=True, markup=False)
        if browser:
            webbrowser.open(start.url)
        deadline = time.monotonic() + timeout
        outcome = consent_outcome(credentials, start.state)
        while outcome.status == PENDING and time.monotonic() < deadline:
            time.sleep(0.2)
            outcome = consent_outcome(credentials, start.state)
    if outcome.status == PENDING:
        return ConsentOutcome("failed", f"no consent arrived within {timeout:.0f} s")
    return outcome


def _ask_tenant(tenants: list[dict[str, str]]) -> str:
    table = Table("#", "organisation", "tenant id")
    for number, tenant in enumerate(tenants, start=1):
        table.add_row(str(number), tenant["tenantName"], tenant["tenantId"])
    console.print(table)
    chosen = typer.prompt("Which organisation", type=int, default=1)
    if not 1 <= chosen <= len(tenants):
        raise typer.BadParameter(f"choose 1 to {len(tenants)}")
    return tenants[chosen - 1]["tenantId"]


def _finish(message: str) -> None:
    console.print(f"[green]✔[/] {message}")


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]✖ {message}[/]")
    return typer.Exit(1)


async def _check_custom(settings: Settings) -> list[dict[str, str]]:
    x = settings.xero
    assert x.client_id and x.client_secret is not None
    auth = ClientCredentialsAuth(
        f"{x.identity_url.rstrip('/')}/connect/token",
        x.client_id,
        x.client_secret.get_secret_value(),
    )
    async with XeroClient(x.base_url, auth, tenant_id=None) as client:
        org = await client.get_organisation()
        connections = await client.list_connections()
    found = [{"tenantId": c.tenant_id, "tenantName": c.tenant_name or ""} for c in connections]
    return found or [{"tenantId": "", "tenantName": org.name}]


@connect_app.command("xero")
def connect_xero(
    config: Path | None = ConfigOption,
    custom: bool = typer.Option(
        False, "--custom", help="Use a custom connection (client credentials, one organisation)."
    ),
    legacy_scopes: bool = typer.Option(
        False, "--legacy-scopes", help="Ask for the broad scopes (apps created before March 2026)."
    ),
    tenant: str | None = typer.Option(None, "--tenant", help="Organisation (tenant id) to use."),
    browser: bool = typer.Option(True, "--browser/--no-browser", help="Open the consent page."),
    timeout: float = typer.Option(1200, help="Seconds to wait for the consent."),
    connection: str | None = ConnectionOption,
) -> None:
    """Connect Xero: OAuth consent and organisation choice, or check a custom connection."""
    deployment, settings, credentials = load(config, connection)
    if not settings.xero.client_id or settings.xero.client_secret is None:
        raise _fail("set xero.client_id and xero.client_secret first (docs/setup-xero.md)")
    if custom:
        try:
            orgs = asyncio.run(_check_custom(settings))
        except ApiError as exc:
            raise _fail(f"the custom connection does not work: {exc.describe()}") from None
        credentials.connect(
            settings.connection_name,
            XERO,
            CLIENT_CREDENTIALS,
            None,
            tenant_id=orgs[0]["tenantId"] or None,
            tenant_name=orgs[0]["tenantName"],
        )
        _finish(f"custom connection works: {orgs[0]['tenantName']}")
        if settings.xero.auth != CLIENT_CREDENTIALS:
            console.print('Set xero.auth = "client_credentials" in the settings to use it.')
        return
    stored = credentials.get(settings.connection_name, XERO)
    if tenant and stored is not None and not stored.paused and stored.tenants:
        credentials.choose_tenant(settings.connection_name, tenant)  # no new consent needed
        _finish(f"Xero organisation set to {tenant}")
        return
    try:
        start = asyncio.run(start_xero(settings, credentials, legacy=legacy_scopes))
    except ConnectionConfigError as exc:
        raise _fail(str(exc)) from None
    outcome = wait_for_consent(deployment, credentials, start, browser=browser, timeout=timeout)
    if outcome.status == CHOOSE_TENANT:
        chosen = tenant or _ask_tenant(outcome.tenants)
        try:
            record = credentials.choose_tenant(settings.connection_name, chosen)
        except LookupError as exc:
            raise _fail(str(exc)) from None
        outcome = ConsentOutcome(DONE, f"Xero connected to {record.tenant_name or chosen}")
    if outcome.status != DONE:
        raise _fail(outcome.message)
    _finish(outcome.message)
    if settings.xero.auth != "oauth":
        console.print('Set xero.auth = "oauth" in the settings to use this connection.')


async def _check_long_lived(settings: Settings, token: str) -> str:
    async with KommoClient(settings.kommo.base_url, token, account_key="kommo:connect") as kommo:
        account = await kommo.get_account()
    return f"{account.name or account.subdomain} ({account.id})"


def _expiry(token: str) -> datetime | None:
    exp = jwt_claim(token, "exp")
    return datetime.fromtimestamp(exp, UTC) if isinstance(exp, int | float) else None


@connect_app.command("kommo")
def connect_kommo(
    config: Path | None = ConfigOption,
    long_lived: bool = typer.Option(
        False, "--long-lived", help="Paste a long-lived token instead of the OAuth consent."
    ),
    browser: bool = typer.Option(True, "--browser/--no-browser", help="Open the consent page."),
    timeout: float = typer.Option(1200, help="Seconds to wait for the consent."),
    connection: str | None = ConnectionOption,
) -> None:
    """Connect Kommo: OAuth consent, or a long-lived token of a private integration."""
    deployment, settings, credentials = load(config, connection)
    if long_lived:
        token = typer.prompt("Long-lived token", hide_input=True).strip()
        try:
            account = asyncio.run(_check_long_lived(settings, token))
        except ApiError as exc:
            raise _fail(f"Kommo refused the token: {exc.message}") from None
        update = TokenUpdate(token, None, _expiry(token))
        credentials.connect(settings.connection_name, KOMMO, LONG_LIVED, update)
        _finish(f"Kommo connected with a long-lived token: account {account}")
        return
    try:
        start = asyncio.run(start_kommo(settings, credentials))
    except ConnectionConfigError as exc:
        raise _fail(str(exc)) from None
    outcome = wait_for_consent(deployment, credentials, start, browser=browser, timeout=timeout)
    if outcome.status != DONE:
        raise _fail(outcome.message)
    _finish(outcome.message)
    if settings.kommo.token is not None:
        console.print(
            "kommo.token is set and wins over the stored connection: remove it to use OAuth."
        )
