"""The read-only pages: overview, links, one link's history, parked work, settings, sandbox."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse

from kommo_xero.web.dashboard import queries, views
from kommo_xero.web.dashboard.app_context import Dashboard
from kommo_xero.web.dashboard.auth import PREFIX
from kommo_xero.web.dashboard.sandbox_panel import sandbox_urls


def _int(value: str | None, default: int) -> int:
    return int(value) if value and value.isdigit() else default


def add_pages(router: APIRouter, board: Dashboard) -> None:
    service = board.service
    page_auth = Depends(board.auth.require_page)
    api_auth = Depends(board.auth.require_api)

    def connection_ids() -> list[str]:
        return [rt.connection_id for rt in service.runtimes] or [
            s.connection_name for s in service.settings.connection_settings()
        ]

    def connection_choice(request: Request) -> str:
        known = connection_ids()
        chosen = request.query_params.get("connection", "")
        return chosen if chosen in known else known[0]

    @router.get(PREFIX, response_class=HTMLResponse, dependencies=[page_auth])
    def overview(request: Request) -> HTMLResponse:
        return board.page(
            request,
            "overview.html",
            active="overview",
            connections=views.connection_health(service),
            deal_url=lambda c, lead: views.deal_url(service, c, lead),
        )

    @router.get(f"{PREFIX}/links", response_class=HTMLResponse, dependencies=[page_auth])
    def links(request: Request) -> HTMLResponse:
        params = request.query_params
        connection_id = connection_choice(request)
        filters = {
            "q": params.get("q", "").strip()[:200],
            "status": params.get("status", ""),
            "origin": params.get("origin", ""),
        }
        page = queries.links_page(
            service.store,
            connection_id,
            search=filters["q"],
            status=filters["status"],
            origin=filters["origin"],
            page=_int(params.get("page"), 1),
            page_size=board.config.page_size,
        )
        return board.page(
            request,
            "links.html",
            active="links",
            connection_id=connection_id,
            connection_ids=connection_ids(),
            filters=filters,
            page=page,
            statuses=queries.XERO_STATUSES,
            origins=queries.ORIGINS,
            deal_url=lambda lead: views.deal_url(service, connection_id, lead),
            invoice_url=lambda row: views.invoice_url(service, row),
        )

    @router.get(
        f"{PREFIX}/links/{{link_id}}", response_class=HTMLResponse, dependencies=[page_auth]
    )
    def link_history(request: Request, link_id: int) -> HTMLResponse:
        row = queries.link(service.store, link_id)
        if row is None:
            raise HTTPException(404, f"No link {link_id}")
        parked_items = [
            p
            for p in queries.open_parked(service.store, row["connection_id"])
            if p["subject"] == str(row["kommo_lead_id"])
        ]
        return board.page(
            request,
            "link.html",
            active="links",
            link=row,
            events=queries.timeline(service.store, row),
            parked_items=parked_items,
            deal_url=views.deal_url(service, row["connection_id"], row["kommo_lead_id"]),
            invoice_url=views.invoice_url(service, row),
        )

    @router.get(f"{PREFIX}/parked", response_class=HTMLResponse, dependencies=[page_auth])
    def parked(request: Request) -> HTMLResponse:
        items = queries.open_parked(service.store)
        reasons: dict[str, int] = {}
        for item in items:
            reasons[item["reason_code"]] = reasons.get(item["reason_code"], 0) + 1
        return board.page(
            request,
            "parked.html",
            active="parked",
            items=items,
            reasons=reasons,
            deal_url=lambda c, lead: views.deal_url(service, c, lead),
        )

    @router.get(f"{PREFIX}/settings", response_class=HTMLResponse, dependencies=[page_auth])
    def settings(request: Request) -> HTMLResponse:
        connection_id = connection_choice(request)
        chosen = service.settings.for_connection(connection_id)
        return board.page(
            request,
            "settings.html",
            active="settings",
            connection_id=connection_id,
            connection_ids=connection_ids(),
            sections=views.settings_sections(chosen),
            mapping=chosen.mapping,
            runtime=views.runtime_for(service, connection_id),
            paid_stage=getattr(chosen.mapping, "paid_stage", None),
            webhooks=views.webhook_urls(chosen),
        )

    @router.get(f"{PREFIX}/sandbox", response_class=HTMLResponse, dependencies=[page_auth])
    def sandbox(request: Request) -> HTMLResponse:
        urls = sandbox_urls(service)
        if urls is None:
            raise HTTPException(404, "The sandbox panel exists only in the demo.")
        connection_id = connection_choice(request)
        return board.page(
            request,
            "sandbox.html",
            active="sandbox",
            urls=urls,
            recent=queries.links_page(service.store, connection_id, page_size=8).rows,
        )

    @router.get(f"{PREFIX}/api/changes", dependencies=[api_auth])
    def changes() -> JSONResponse:
        """A stamp that changes whenever a page's data does; polled by live.js."""
        return JSONResponse(
            {"stamp": queries.change_stamp(service.store)}, headers={"Cache-Control": "no-store"}
        )

    @router.get(f"{PREFIX}/api/summary", dependencies=[api_auth])
    def summary() -> dict[str, Any]:
        return {
            "connections": [
                {
                    "connection_id": c.connection_id,
                    "connected": c.connected,
                    "counts": vars(c.counts),
                    "xero_day_remaining": c.limits.day_remaining if c.limits else None,
                }
                for c in views.connection_health(service)
            ]
        }
