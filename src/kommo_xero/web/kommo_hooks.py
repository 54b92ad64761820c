"""POST /webhooks/kommo/{secret}: verify, record durably, answer in milliseconds.

Kommo signs nothing, so the URL carries an unguessable per-connection secret, the body's
account must be ours, and the body is only a trigger: the flow re-reads the deal.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from kommo_xero.bootstrap import Service
from kommo_xero.domain.triggers import cause_id, entered_trigger_stage
from kommo_xero.kommo import MalformedWebhook, parse_webhook
from kommo_xero.observability import record_webhook
from kommo_xero.store.inbox import Trigger
from kommo_xero.workflows import deal_to_invoice


def kommo_router(service: Service) -> APIRouter:
    router = APIRouter()

    @router.post("/webhooks/kommo/{secret}", include_in_schema=False)
    async def kommo_webhook(secret: str, request: Request) -> JSONResponse:
        rt = service.runtime_for_kommo_secret(secret)
        if rt is None:
            record_webhook("kommo", "unknown_url")
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        body = await request.body()
        try:
            hook = parse_webhook(body, request.headers.get("content-type"))
        except MalformedWebhook as exc:
            record_webhook("kommo", "malformed", [rt.connection_id])
            return JSONResponse({"detail": f"malformed Kommo webhook: {exc}"}, status_code=400)
        if hook.account_id != rt.kommo_account_id:
            record_webhook("kommo", "wrong_account", [rt.connection_id])
            return JSONResponse(
                {
                    "detail": f"webhook is for Kommo account {hook.account_id}, but this URL "
                    f"belongs to account {rt.kommo_account_id}"
                },
                status_code=403,
            )
        triggers = []
        for event in hook.lead_events:
            if event.status_id is None or not entered_trigger_stage(
                event.action,
                event.status_id,
                event.old_status_id,
                event.pipeline_id,
                trigger_pipeline_id=rt.pipeline_id,
                trigger_status_id=rt.trigger_status_id,
            ):
                continue
            cause = cause_id(
                hook.account_id,
                event.lead_id,
                event.status_id,
                event.updated_at or event.last_modified,
            )
            triggers.append(
                Trigger(rt.connection_id, deal_to_invoice.FLOW, cause, str(event.lead_id))
            )
        new = service.accept(triggers) if triggers else 0
        record_webhook("kommo", "accepted" if triggers else "ignored", [rt.connection_id])
        return JSONResponse({"accepted": len(triggers), "new": new})

    return router
