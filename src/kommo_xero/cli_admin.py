"""`kommo-xero admin ...`: the dashboard's admin password."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from kommo_xero.config import ConfigError, load_settings
from kommo_xero.web.dashboard.passwords import (
    PASSWORD_HASH_ENV,
    PasswordError,
    hash_password,
    store_password_hash,
)

admin_app = typer.Typer(help="Manage the dashboard's admin sign-in.", no_args_is_help=True)


def _data_dir(config: Path | None, data_dir: Path | None) -> Path:
    if data_dir is not None:
        return data_dir
    try:
        return load_settings(config).service.data_dir
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first: str = typer.prompt("New admin password", hide_input=True)
    again: str = typer.prompt("Repeat it", hide_input=True)
    if first != again:
        typer.echo("The two passwords differ; nothing was changed.", err=True)
        raise typer.Exit(1)
    return first


@admin_app.command("set-password")
def set_password(
    config: Path | None = typer.Option(None, "--config", help="TOML settings file."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="Overrides service.data_dir."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin."
    ),
) -> None:
    """Set the dashboard password (stored as a scrypt hash, readable by this user only)."""
    directory = _data_dir(config, data_dir)
    try:
        encoded = hash_password(_read_password(password_stdin))
    except PasswordError as exc:
        typer.echo(f"Not changed: {exc}.", err=True)
        raise typer.Exit(1) from None
    path = store_password_hash(directory, encoded)
    typer.echo(
        f"Admin password set ({path}, mode 0600). Browsers signed in before must sign in again."
    )
    typer.echo(f"Note: {PASSWORD_HASH_ENV}, when set, takes precedence over this file.")


@admin_app.command("hash-password")
def print_hash(
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin."
    ),
) -> None:
    """Print a hash for KOMMO_XERO_ADMIN_PASSWORD_HASH (for containers and secret stores)."""
    try:
        typer.echo(hash_password(_read_password(password_stdin)))
    except PasswordError as exc:
        typer.echo(f"No hash: {exc}.", err=True)
        raise typer.Exit(1) from None
