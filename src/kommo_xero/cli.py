"""The `kommo-xero` command line."""

from __future__ import annotations

import asyncio
import json
import signal
import tempfile
import threading
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from kommo_xero.cli_admin import admin_app
from kommo_xero.cli_connect import connect_app
from kommo_xero.cli_setup import setup_app
from kommo_xero.config import ConfigError, Settings, load_settings
from kommo_xero.observability.logging import configure_logging

app = typer.Typer(
    help="Keep Kommo deals and Xero invoices in step, both ways.",
    no_args_is_help=True,
    add_completion=False,
)
sync_app = typer.Typer(help="Run one flow by hand.", no_args_is_help=True)
app.add_typer(sync_app, name="sync")
app.add_typer(admin_app, name="admin")
app.add_typer(connect_app, name="connect")
app.registered_commands += setup_app.registered_commands
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


def _one(settings: Settings, name: str | None) -> str:
    """The connection id a one-connection command acts on."""
    try:
        return settings.for_connection(name).connection_name
    except ConfigError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None


# The demo's dashboard password (the demo runs on loopback with sandbox data only).
DEMO_PASSWORD = "kommo-xero-demo"


class SimulatorName(StrEnum):
    kommo = "kommo"
    xero = "xero"


def _settings(config: Path | None, database_url: str | None = None, **service: Any) -> Settings:
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


def _preflight(settings: Settings) -> None:
    """Refuse to start, with the fix, when credentials are missing (before any server starts)."""
    from kommo_xero.bootstrap import StartupError, build_kommo, build_xero

    pacers: list[Any] = []
    try:
        build_kommo(settings, pacers=pacers)
        build_xero(settings, pacers=pacers)
    except StartupError as exc:
        raise _fail(str(exc)) from None
    finally:
        for pacer in pacers:
            pacer.close()


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]{message}[/]")
    return typer.Exit(1)


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

    settings = _settings(config, database_url, executor_id=executor_id)
    configure_logging(settings.service.log_format)
    _preflight(settings)
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

    settings = _settings(config, database_url, executor_id=executor_id)
    configure_logging(settings.service.log_format)
    _preflight(settings)

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

    settings = _settings(config, database_url)
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
        raise _fail(
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
        raise _fail(f"cannot start the service on port {port} ({exc}); pass --port") from None
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


def _run_with_engine(settings: Settings, job: Any) -> Any:
    """Start the connections and the engine in this process, run `job(service)`, stop."""
    from kommo_xero.bootstrap import Service, StartupError

    async def run() -> Any:
        service = Service(settings)
        try:
            await service.start()
        except StartupError as exc:
            raise _fail(str(exc)) from None
        try:
            return await job(service)
        finally:
            await service.stop()

    return asyncio.run(run())


@sync_app.command("deal")
def sync_deal(
    lead_id: int = typer.Argument(..., help="The Kommo lead (deal) id."),
    config: Path | None = ConfigOption,
    database_url: str | None = DatabaseOption,
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Print what would be sent; send nothing."
    ),
    connection: str | None = ConnectionOption,
) -> None:
    """Run the deal → invoice flow for one deal now."""
    settings = _settings(config, database_url, executor_id="cli")
    name = _one(settings, connection)
    if dry_run:
        from kommo_xero.store import Store, make_engine, migrate
        from kommo_xero.workflows.dry_run import dry_run_deal

        url = settings.service.resolved_database_url()
        migrate(url)
        one = settings.for_connection(name)
        plan = asyncio.run(dry_run_deal(one, lead_id, Store(make_engine(url))))
        console.print_json(json.dumps(plan, default=str))
        return

    async def job(service: Any) -> str:
        import time

        from kommo_xero.workflows import deal_to_invoice, engine

        cause = f"manual:{name}:{lead_id}:{int(time.time())}"
        workflow_id = await deal_to_invoice.start(name, lead_id, cause)
        return str(await engine.wait_result(workflow_id))

    outcome = _run_with_engine(settings, job)
    console.print(f"deal {lead_id}: {outcome}")
    if outcome == "parked":
        console.print("see `kommo-xero status` for the reason and the fix")


@app.command()
def retry(
    item_ids: list[int] = typer.Argument(None, help="Parked item ids (default: all open items)."),
    config: Path | None = ConfigOption,
    database_url: str | None = DatabaseOption,
    connection: str | None = ConnectionOption,
) -> None:
    """Retry parked work after fixing its cause."""
    settings = _settings(config, database_url, executor_id="cli")
    name = _one(settings, connection)

    async def job(service: Any) -> list[tuple[str, Any]]:
        from kommo_xero.workflows import engine
        from kommo_xero.workflows.retry import retry_parked

        started = await retry_parked(name, list(item_ids or []) or None)
        return [(wid, await engine.wait_result(wid)) for wid in started]

    results = _run_with_engine(settings, job)
    if not results:
        console.print("nothing to retry")
    for workflow_id, outcome in results:
        console.print(f"{workflow_id}: {outcome}")


@app.command()
def status(
    config: Path | None = ConfigOption,
    database_url: str | None = DatabaseOption,
    limit: int = typer.Option(20, help="How many recent links to list."),
    connection: str | None = ConnectionOption,
) -> None:
    """What is linked, what is parked and why."""
    from kommo_xero.store import Store, make_engine, migrate

    settings = _settings(config, database_url)
    name = _one(settings, connection)
    url = settings.service.resolved_database_url()
    migrate(url)
    store = Store(make_engine(url))
    rows, total = store.links_page(name, limit=limit)
    table = Table(title=f"Links ({total} in all, newest first)")
    for column in ("deal", "invoice", "status", "amount due", "state", "updated"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            f"{row['deal_name'] or ''} (#{row['kommo_lead_id']})",
            row["invoice_number"] or "—",
            row["status_label"] or "—",
            f"{row['amount_due'] or '—'} {row['currency'] or ''}",
            row["state"],
            row["updated_at"].strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)
    parked = store.open_parked(name)
    if not parked:
        console.print("[green]nothing parked[/]")
        return
    console.print(f"[yellow]{len(parked)} parked item(s):[/]")
    for item in parked:
        console.print(f"  [bold]#{item['id']}[/] deal {item['subject']}: {item['message']}")
        console.print(f"      fix: {item['fix']}  (then `kommo-xero retry {item['id']}`)")


@sync_app.command("invoice")
def sync_invoice(
    invoice_id: str = typer.Argument(..., help="The Xero InvoiceID."),
    config: Path | None = ConfigOption,
    database_url: str | None = DatabaseOption,
    connection: str | None = ConnectionOption,
) -> None:
    """Run the invoice → deal flow (status sync, or a new deal for a hand-made invoice) now."""
    settings = _settings(config, database_url, executor_id="cli")
    name = _one(settings, connection)

    async def job(service: Any) -> str:
        import time

        from kommo_xero.workflows import engine, status_sync

        cause = f"manual:{name}:{invoice_id}:{int(time.time())}"
        workflow_id = await status_sync.start(name, invoice_id, cause)
        return str(await engine.wait_result(workflow_id))

    console.print(f"invoice {invoice_id}: {_run_with_engine(settings, job)}")


@app.command()
def reconcile(
    config: Path | None = ConfigOption,
    database_url: str | None = DatabaseOption,
    connection: str | None = ConnectionOption,
) -> None:
    """Catch up on missed webhooks now (Kommo events, Xero invoices changed since last time)."""
    settings = _settings(config, database_url, executor_id="cli")
    name = _one(settings, connection)

    async def job(service: Any) -> dict[str, Any]:
        from kommo_xero.workflows import engine
        from kommo_xero.workflows.reconcile import run_now

        found = await run_now(name)
        for workflow_id in [*found["deals"], *found["invoices"]]:
            await engine.wait_result(workflow_id)
        return found

    found = _run_with_engine(settings, job)
    console.print(
        f"deals that entered the trigger stage: {len(found['deals'])}; "
        f"invoices changed in Xero: {len(found['invoices'])}"
    )
    for problem in found["problems"]:
        console.print(f"[yellow]could not check {problem}[/]")


@app.command()
def backfill(
    since: str = typer.Option(..., "--since", help="First invoice date to link (YYYY-MM-DD)."),
    config: Path | None = ConfigOption,
    database_url: str | None = DatabaseOption,
    connection: str | None = ConnectionOption,
) -> None:
    """Link existing Xero invoices to existing deals (by reference, then client and amount)."""
    from datetime import date

    try:
        first_day = date.fromisoformat(since)
    except ValueError:
        raise _fail(f"--since {since!r} is not a date (YYYY-MM-DD)") from None
    settings = _settings(config, database_url, executor_id="cli")
    name = _one(settings, connection)

    async def job(service: Any) -> Any:
        from kommo_xero.workflows import runtime
        from kommo_xero.workflows.backfill import backfill as run_backfill

        return await run_backfill(runtime.get(name), first_day)

    report = _run_with_engine(settings, job)
    table = Table(title=f"Linked {len(report.linked)} invoice(s)")
    for column in ("invoice", "deal", "matched by"):
        table.add_column(column)
    for number, lead_id, how in report.linked:
        table.add_row(number, str(lead_id), how)
    console.print(table)
    if report.already_linked:
        console.print(f"{report.already_linked} invoice(s) were linked already")
    for number, why in report.unmatched:
        console.print(f"[yellow]not linked: {number} ({why})[/]")


def main() -> None:
    app()
