"""The `kommo-xero` command line."""

from __future__ import annotations

from enum import StrEnum

import typer

app = typer.Typer(
    help="Keep Kommo deals and Xero invoices in step, both ways.",
    no_args_is_help=True,
    add_completion=False,
)


class SimulatorName(StrEnum):
    kommo = "kommo"
    xero = "xero"


@app.command()
def simulate(
    which: SimulatorName = typer.Argument(..., help="Which simulator to serve."),
    port: int = typer.Option(8101, help="TCP port on 127.0.0.1."),
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    token: str | None = typer.Option(
        None, help="Kommo: long-lived token accepted for the sandbox account."
    ),
    client_id: str | None = typer.Option(None, help="Xero: the sandbox app's client id."),
    client_secret: str | None = typer.Option(None, help="Xero: the sandbox app's client secret."),
) -> None:
    """Serve one simulator (Kommo or Xero) alone, for trying clients and mappings."""
    import uvicorn

    if which is SimulatorName.kommo:
        from kommo_xero.sandbox.kommo import KommoSimConfig, create_app

        kcfg = KommoSimConfig()
        if token:
            kcfg.long_lived_token = token
        sim_app = create_app(kcfg)
    else:
        from kommo_xero.sandbox.xero import XeroSimConfig
        from kommo_xero.sandbox.xero import create_app as create_xero_app

        xcfg = XeroSimConfig()
        if client_id:
            xcfg.client_id = client_id
        if client_secret:
            xcfg.client_secret = client_secret
        sim_app = create_xero_app(xcfg)
    typer.echo(f"{which.value} simulator on http://{host}:{port} (control API under /_sim)")
    uvicorn.run(sim_app, host=host, port=port, log_level="warning")


def main() -> None:
    app()
