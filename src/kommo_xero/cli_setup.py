"""`kommo-xero setup` and `kommo-xero doctor`.

`setup_app` holds both commands so the main CLI can take them over with
`app.registered_commands += setup_app.registered_commands`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from rich.console import Console

from kommo_xero.config import ConfigError, Settings, load_settings
from kommo_xero.connections.checks import FAIL, OK, WARN, Check
from kommo_xero.connections.crypto import SecretKeyError
from kommo_xero.connections.doctor import run_doctor
from kommo_xero.connections.setup import run_setup
from kommo_xero.store import Store, make_engine, migrate

setup_app = typer.Typer(help="Prepare and check an installation.", no_args_is_help=True)
console = Console(highlight=False)

ConfigOption = typer.Option(
    None,
    "--config",
    "-c",
    envvar="KOMMO_XERO_CONFIG",
    help="Settings file (TOML); default: $KOMMO_XERO_CONFIG.",
)
MARKS = {OK: "[green]✔[/]", WARN: "[yellow]![/]", FAIL: "[red]✖[/]"}


def _open(config: Path | None) -> tuple[Settings, Store]:
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        print_checks([Check("config", FAIL, str(exc), "Fix the settings file or variables.")])
        raise typer.Exit(2) from None
    url = settings.service.resolved_database_url()
    migrate(url)
    return settings, Store(make_engine(url))


def print_checks(checks: list[Check]) -> None:
    """One line per check; failures and warnings get their fix on the next line."""
    width = max((len(c.name) for c in checks), default=0)
    for check in checks:
        console.print(f"{MARKS[check.status]} {check.name.ljust(width)}  ", end="")
        console.print(check.detail, markup=False)
        if check.status != OK and check.fix:
            console.print(" " * (width + 4) + "→ ", end="")
            console.print(check.fix, markup=False)


ConnectionOption = typer.Option(
    None, "--connection", help="Only this connection (its name); default: every connection."
)


def _chosen(settings: Settings, name: str | None) -> list[Settings]:
    """The connections a command covers: the one named, or all of them."""
    if name is None:
        return settings.connection_settings()
    try:
        return [settings.for_connection(name)]
    except ConfigError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None


def _heading(one: Settings, several: bool) -> None:
    if several:
        console.print(f"[bold]connection {one.connection_name}[/]", markup=True)


@setup_app.command("setup")
def setup_command(
    config: Path | None = ConfigOption, connection: str | None = ConnectionOption
) -> None:
    """Create the Kommo lead fields, register the Kommo webhook, check stages and currencies."""
    settings, store = _open(config)
    chosen = _chosen(settings, connection)
    ready = True
    webhook_url = ""
    for one in chosen:
        _heading(one, len(chosen) > 1)
        try:
            report = asyncio.run(run_setup(one, store))
        except SecretKeyError as exc:
            print_checks([Check("secret key", FAIL, str(exc), "See docs/troubleshooting.md.")])
            raise typer.Exit(1) from None
        print_checks(report.checks)
        ready = ready and report.ready
        webhook_url = report.xero_webhook_url
    console.print()
    console.print("[bold]Xero webhook[/] (Xero has no API for it): in developer.xero.com → My Apps")
    console.print("→ your app → Webhooks, tick Invoices (and Contacts), set the delivery URL to")
    console.print(f"    {webhook_url}", markup=False)
    console.print("and copy the 'Webhooks key' shown there into KOMMO_XERO_XERO__WEBHOOK_KEY.")
    if len(chosen) > 1:
        console.print(
            "(each connection's Xero app has its own key: put it in "
            "KOMMO_XERO_CONNECTION_<NAME>__XERO__WEBHOOK_KEY)"
        )
    if not ready:
        console.print("[red]Not ready:[/] fix the items marked ✖, then run setup again.")
        raise typer.Exit(1)
    console.print("[green]Ready.[/] Run `kommo-xero doctor` any time to check again.")


@setup_app.command("doctor")
def doctor_command(
    config: Path | None = ConfigOption, connection: str | None = ConnectionOption
) -> None:
    """Check config, connectivity, scopes, tokens, stages, fields, currencies and webhooks."""
    settings, store = _open(config)
    chosen = _chosen(settings, connection)
    failed = 0
    for one in chosen:
        _heading(one, len(chosen) > 1)
        checks = asyncio.run(run_doctor(one, store))
        print_checks(checks)
        failed += sum(1 for c in checks if c.status == FAIL)
    if failed:
        console.print(f"[red]{failed} problem(s)[/]: see the → lines, or docs/troubleshooting.md.")
        raise typer.Exit(1)
    console.print("[green]All checks passed.[/]")
