"""Commands that run or inspect the flows: sync, retry, status, reconcile, backfill."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from kommo_xero.cli_common import (
    ConfigOption,
    ConnectionOption,
    DatabaseOption,
    console,
    fail,
    load_cli_settings,
    one_connection,
    run_with_engine,
)

flows_app = typer.Typer()
sync_app = typer.Typer(help="Run one flow by hand.", no_args_is_help=True)


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
    settings = load_cli_settings(config, database_url, executor_id="cli")
    name = one_connection(settings, connection)
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

    outcome = run_with_engine(settings, job)
    console.print(f"deal {lead_id}: {outcome}")
    if outcome == "parked":
        console.print("see `kommo-xero status` for the reason and the fix")


@flows_app.command()
def retry(
    item_ids: list[int] = typer.Argument(None, help="Parked item ids (default: all open items)."),
    config: Path | None = ConfigOption,
    database_url: str | None = DatabaseOption,
    connection: str | None = ConnectionOption,
) -> None:
    """Retry parked work after fixing its cause."""
    settings = load_cli_settings(config, database_url, executor_id="cli")
    name = one_connection(settings, connection)

    async def job(service: Any) -> list[tuple[str, Any]]:
        from kommo_xero.workflows import engine
        from kommo_xero.workflows.retry import retry_parked

        started = await retry_parked(name, list(item_ids or []) or None)
        return [(wid, await engine.wait_result(wid)) for wid in started]

    results = run_with_engine(settings, job)
    if not results:
        console.print("nothing to retry")
    for workflow_id, outcome in results:
        console.print(f"{workflow_id}: {outcome}")


@flows_app.command()
def status(
    config: Path | None = ConfigOption,
    database_url: str | None = DatabaseOption,
    limit: int = typer.Option(20, help="How many recent links to list."),
    connection: str | None = ConnectionOption,
) -> None:
    """What is linked, what is parked and why."""
    from kommo_xero.store import Store, make_engine, migrate

    settings = load_cli_settings(config, database_url)
    name = one_connection(settings, connection)
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
    settings = load_cli_settings(config, database_url, executor_id="cli")
    name = one_connection(settings, connection)

    async def job(service: Any) -> str:
        import time

        from kommo_xero.workflows import engine, status_sync

        cause = f"manual:{name}:{invoice_id}:{int(time.time())}"
        workflow_id = await status_sync.start(name, invoice_id, cause)
        return str(await engine.wait_result(workflow_id))

    console.print(f"invoice {invoice_id}: {run_with_engine(settings, job)}")


@flows_app.command()
def reconcile(
    config: Path | None = ConfigOption,
    database_url: str | None = DatabaseOption,
    connection: str | None = ConnectionOption,
) -> None:
    """Catch up on missed webhooks now (Kommo events, Xero invoices changed since last time)."""
    settings = load_cli_settings(config, database_url, executor_id="cli")
    name = one_connection(settings, connection)

    async def job(service: Any) -> dict[str, Any]:
        from kommo_xero.workflows import engine
        from kommo_xero.workflows.reconcile import run_now

        found = await run_now(name)
        for workflow_id in [*found["deals"], *found["invoices"]]:
            await engine.wait_result(workflow_id)
        return found

    found = run_with_engine(settings, job)
    console.print(
        f"deals that entered the trigger stage: {len(found['deals'])}; "
        f"invoices changed in Xero: {len(found['invoices'])}"
    )
    for problem in found["problems"]:
        console.print(f"[yellow]could not check {problem}[/]")


@flows_app.command()
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
        raise fail(f"--since {since!r} is not a date (YYYY-MM-DD)") from None
    settings = load_cli_settings(config, database_url, executor_id="cli")
    name = one_connection(settings, connection)

    async def job(service: Any) -> Any:
        from kommo_xero.workflows import runtime
        from kommo_xero.workflows.backfill import backfill as run_backfill

        return await run_backfill(runtime.get(name), first_day)

    report = run_with_engine(settings, job)
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
