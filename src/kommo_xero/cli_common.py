"""What the `kommo-xero` commands share: options, settings loading, failing with a fix."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from kommo_xero.config import ConfigError, Settings, load_settings

console = Console()

ConfigOption = typer.Option(
    None, "--config", "-c", help="Settings file (TOML); default: $KOMMO_XERO_CONFIG."
)
DatabaseOption = typer.Option(
    None, "--database-url", help="sqlite:///path or postgresql://… (overrides the config)."
)

ConnectionOption = typer.Option(
    None, "--connection", help="Which connection (its name); default: the only or first one."
)


def one_connection(settings: Settings, name: str | None) -> str:
    """The connection id a one-connection command acts on."""
    try:
        return settings.for_connection(name).connection_name
    except ConfigError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None


def load_cli_settings(
    config: Path | None, database_url: str | None = None, **service: Any
) -> Settings:
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    updates = {k: v for k, v in {"database_url": database_url, **service}.items() if v is not None}
    if updates:
        settings = settings.model_copy(
            update={"service": settings.service.model_copy(update=updates)}
        )
    return settings


def preflight(settings: Settings) -> None:
    """Refuse to start, with the fix, when credentials are missing (before any server starts)."""
    from kommo_xero.bootstrap import StartupError, build_kommo, build_xero

    pacers: list[Any] = []
    try:
        build_kommo(settings, pacers=pacers)
        build_xero(settings, pacers=pacers)
    except StartupError as exc:
        raise fail(str(exc)) from None
    finally:
        for pacer in pacers:
            pacer.close()


def fail(message: str) -> typer.Exit:
    console.print(f"[red]{message}[/]")
    return typer.Exit(1)


def run_with_engine(settings: Settings, job: Any) -> Any:
    """Start the connections and the engine in this process, run `job(service)`, stop."""
    from kommo_xero.bootstrap import Service, StartupError

    async def run() -> Any:
        service = Service(settings)
        try:
            await service.start()
        except StartupError as exc:
            raise fail(str(exc)) from None
        try:
            return await job(service)
        finally:
            await service.stop()

    return asyncio.run(run())
