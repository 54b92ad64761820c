"""The `kommo-xero` command line."""

from __future__ import annotations

import asyncio
import signal
import tempfile
import threading
from enum import StrEnum
from pathlib import Path

import typer

from kommo_xero.cli_admin import admin_app
from kommo_xero.cli_common import (
    ConfigOption,
    DatabaseOption,
    console,
    fail,
    load_cli_settings,
    preflight,
)
from kommo_xero.cli_connect import connect_app
from kommo_xero.cli_flows import flows_app, sync_app
from kommo_xero.cli_setup import setup_app
from kommo_xero.observability.logging import configure_logging

app = typer.Typer(
    help="Keep Kommo deals and Xero invoices in step, both ways.",
    no_args_is_help=True,
    add_completion=False,
)
app.registered_commands += flows_app.registered_commands
app.add_typer(sync_app, name="sync")
app.add_typer(admin_app, name="admin")
app.add_typer(connect_app, name="connect")
app.registered_commands += setup_app.registered_commands

# The demo's dashboard password (the demo runs on loopback with sandbox data only).
DEMO_PASSWORD = "kommo-xero-demo"


class SimulatorName(StrEnum):
    kommo = "kommo"
    xero = "xero"


@app.command()
def serve(
    config: Path | None = ConfigOption,
    database_url: str | None = DatabaseOption,
    host: str | None = typer.Option(None, help="Interface to listen on (default from config)."),
    port: int | None = typer.Option(None, help="TCP port (default from config: 8100)."),
    executor_id: str | None = typer.Option(
        None,
        help="Stable id of this process: after a crash, a restart with the same id "
        "resumes the workflows it had in flight. Default: $DBOS__VMID or 'local'.",
    ),
) -> None:
    """Production: webhooks, dashboard, OAuth callbacks and workers in one process."""
    import uvicorn

    from kommo_xero.bootstrap import Service
    from kommo_xero.web.app import create_app

    settings = load_cli_settings(config, database_url, executor_id=executor_id)
    configure_logging(settings.service.log_format)
    preflight(settings)
    service = Service(settings)
    uvicorn.run(
        create_app(service),
        host=host or settings.service.host,
        port=port or settings.service.port,
        log_level="warning",
    )


@app.command()
def worker(
    config: Path | None = ConfigOption,
    database_url: str | None = DatabaseOption,
    executor_id: str | None = typer.Option(
        None, help="Stable id of this worker (see `serve --help`); must differ per process."
    ),
) -> None:
    """An extra worker process (no web): takes queued work from the shared database."""
    from kommo_xero.bootstrap import Service

    settings = load_cli_settings(config, database_url, executor_id=executor_id)
    configure_logging(settings.service.log_format)
    preflight(settings)

    async def run() -> None:
        service = Service(settings)
        await service.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        console.print(f"worker {settings.service.executor_id} running; Ctrl-C to stop")
        await stop.wait()
        await service.stop()

    asyncio.run(run())


@app.command()
def migrate(config: Path | None = ConfigOption, database_url: str | None = DatabaseOption) -> None:
    """Bring the app tables and the engine's tables to the newest schema.

    Run it once per upgrade before starting the processes (each would otherwise migrate at
    start-up, which is safe but slower)."""
    from kommo_xero.store import migrate as run_migrations
    from kommo_xero.workflows.engine import migrate_engine

    settings = load_cli_settings(config, database_url)
    url = settings.service.resolved_database_url()
    run_migrations(url)
    console.print("app tables are up to date")
    migrate_engine(url)
    console.print("engine tables are up to date")


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
    console.print(f"{which.value} simulator on http://{host}:{port} (control API under /_sim)")
    uvicorn.run(sim_app, host=host, port=port, log_level="warning")


@app.command()
def demo(
    port: int = typer.Option(8100, help="Port of the service (dashboard and webhooks)."),
    kommo_port: int = typer.Option(8101, help="Port of the Kommo simulator."),
    xero_port: int = typer.Option(8102, help="Port of the Xero simulator."),
    data_dir: Path | None = typer.Option(
        None, help="Where the demo's SQLite files go (default: a fresh temporary folder)."
    ),
    exit_after: bool = typer.Option(
        False, "--exit", help="Stop after the scenario; exit 0 only if every expectation held."
    ),
) -> None:
    """Both simulators and the service on loopback, playing the demo scenario."""
    from kommo_xero.sandbox.demo import DemoScenario, summary_table
    from kommo_xero.sandbox.stack import (
        register_kommo_webhook,
        register_xero_webhook,
        sandbox_settings,
        start_service,
        start_simulators,
    )
    from kommo_xero.web.dashboard.passwords import hash_password, store_password_hash

    folder = data_dir or Path(tempfile.mkdtemp(prefix="kommo-xero-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    store_password_hash(folder, hash_password(DEMO_PASSWORD))
    console.print(f"[bold]kommo-xero demo[/] — data in {folder}")
    try:
        sims = start_simulators(kommo_port=kommo_port, xero_port=xero_port)
    except OSError as exc:
        raise fail(
            f"cannot start the simulators ({exc}); free ports 8101/8102 or pass "
            "--kommo-port/--xero-port"
        ) from None
    settings = sandbox_settings(
        folder, kommo_url=sims.kommo.base_url, xero_url=sims.xero.base_url, service_port=port
    )
    try:
        service = start_service(
            settings,
            port=port,
            sandbox_urls={"kommo": sims.kommo.base_url, "xero": sims.xero.base_url},
        )
    except (OSError, RuntimeError) as exc:
        sims.stop()
        raise fail(f"cannot start the service on port {port} ({exc}); pass --port") from None
    register_kommo_webhook(sims.kommo.base_url, service.base_url)
    register_xero_webhook(sims.xero.base_url, service.base_url)
    console.print(f"  Kommo simulator  {sims.kommo.base_url}  (token kommo-sandbox-token)")
    console.print(f"  Xero simulator   {sims.xero.base_url}  (client xero-sandbox-client)")
    console.print(f"  Service          {service.base_url}")
    console.print(f"  Dashboard        {service.base_url}/dashboard  (password: {DEMO_PASSWORD})")
    report = DemoScenario(sims, console).run()
    console.print(summary_table(report))
    for expectation in report.expectations:
        mark = "[green]✓[/]" if expectation.held else "[red]✗[/]"
        console.print(f"  {mark} {expectation.what}")
    if exit_after:
        service.stop()
        sims.stop()
        raise typer.Exit(0 if report.all_held else 1)
    console.print(f"\nServing on {service.base_url} — press Ctrl-C to stop.")
    stopped = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    stopped.wait()
    service.stop()
    sims.stop()


def main() -> None:
    app()
