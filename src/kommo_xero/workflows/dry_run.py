"""`sync deal ID --dry-run`: everything the flow would send for one deal, sending nothing.

Reads only: the deal from Kommo, the organisation's settings and the matching contact from
Xero. Nothing is written to Kommo, Xero or our database.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from kommo_xero.config import Settings
from kommo_xero.domain.mapping import plan_invoice
from kommo_xero.workflows.deal_reading import read_deal
from kommo_xero.workflows.runtime import Runtime, ensure_lead_fields_readonly, find_trigger
from kommo_xero.workflows.xero_invoices import invoice_request
from kommo_xero.xero.responses import dump_json
from kommo_xero.xero.writes import request_element, where_equals


async def dry_run_deal(settings: Settings, lead_id: int, store: Any) -> dict[str, Any]:
    from kommo_xero.bootstrap import build_kommo, build_xero

    pacers: list[Any] = []
    kommo, xero = build_kommo(settings, store, pacers), build_xero(settings, store, pacers)
    try:
        account = await kommo.get_account()
        stage = find_trigger(
            await kommo.list_pipelines(),
            settings.mapping.trigger_pipeline,
            settings.mapping.trigger_stage,
        )
        rt = Runtime(
            connection_id=settings.connection_name,
            settings=settings,
            kommo=kommo,
            xero=xero,
            store=store,
            fields=await ensure_lead_fields_readonly(kommo, settings),
            pipeline_id=stage.pipeline_id or 0,
            trigger_status_id=stage.id,
            kommo_account_id=account.id,
            kommo_ui_url=settings.kommo.base_url,
        )
        deal = await read_deal(rt, lead_id)
        if deal is None:
            return {"lead_id": lead_id, "result": "no such deal in Kommo"}
        org = await rt.organisation()
        planned = plan_invoice(deal, org, rt.rules, datetime.now(UTC).date())
        if isinstance(planned, list):
            return {
                "lead_id": lead_id,
                "result": "would be parked",
                "problems": [{"message": p.message, "fix": p.fix} for p in planned],
            }
        party = planned.bill_to
        contact_id = store.xero_contact_for(rt.connection_id, party.kind.value, party.kommo_id)
        found_by = "stored link" if contact_id else None
        for field, value in (("EmailAddress", party.email), ("Name", party.name)):
            if contact_id or not value:
                continue
            body = await xero.send_json(
                "GET", "/Contacts", params={"where": where_equals(field, value), "page": "1"}
            )
            matches = (body or {}).get("Contacts", [])
            if matches:
                contact_id, found_by = matches[0]["ContactID"], f"{field} match"
        invoice = request_element(invoice_request(planned, contact_id or "<new contact>"))
        return {
            "lead_id": lead_id,
            "result": "would create an invoice",
            "contact": {
                "name": party.name,
                "email": party.email,
                "xero_contact_id": contact_id,
                "found_by": found_by or "not found: would be created",
            },
            "request": {
                "method": "PUT",
                "path": "/Invoices?summarizeErrors=false",
                # Exactly the JSON that would go out (amounts as numbers, dates as text).
                "body": json.loads(dump_json({"Invoices": [invoice]})),
            },
        }
    finally:
        await kommo.close()
        await xero.close()
        for pacer in pacers:
            pacer.close()
