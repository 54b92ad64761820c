"""POST /webhooks/xero: verify the signature, start one durable flow per event, answer 200
with an empty body in milliseconds (Xero wants 200 within 5 s, no body, 401 when the
signature is wrong, Intent-to-Receive included).

The events are only triggers: each flow re-reads the invoice. An event that the deal already
reflects (the integration's own new invoice, a repeat) starts nothing.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from kommo_xero.bootstrap import Service
from kommo_xero.domain.invoice_events import as_utc
from kommo_xero.observability import record_webhook
from kommo_xero.store.inbox import Trigger
from kommo_xero.workflows import status_sync
from kommo_xero.workflows.runtime import Runtime
from kommo_xero.workflows.xero_tenant import event_time, tenant_id
from kommo_xero.xero.webhook import (
    SIGNATURE_HEADER,
    MalformedWebhook,
    XeroEvent,
    parse_webhook,
    verify_signature,
)

# What each event category means for us; CONTACT and CREDITNOTE changes need no flow (yet).
HANDLED_CATEGORIES = frozenset({"INVOICE"})


def _signed_for(service: Service, body: bytes, signature: str | None) -> list[Runtime]:
    """The connections whose webhook key signed this body (constant-time comparison)."""
    signed = []
    for rt in service.runtimes:
        key = rt.settings.xero.webhook_key
        if key is not None and verify_signature(body, signature, key.get_secret_value()):
            signed.append(rt)
    return signed


async def _serves(rt: Runtime, event: XeroEvent, only: bool) -> bool:
    # With several connections on one Xero app, the event's tenant picks the connection: the
    # configured one, the one an OAuth connection chose, or the one a custom connection found.
    configured = rt.settings.xero.tenant_id or rt.xero.tenant_id or rt.extras.get("xero_tenant_id")
    if configured:
        return str(configured).lower() == event.tenant_id.lower()
    if not only:
        return False
    try:
        return (await tenant_id(rt)) in ("", event.tenant_id.lower())
    except Exception:
        return True  # cannot tell now; the flow's re-read answers for the right tenant


def _already_shown(rt: Runtime, event: XeroEvent) -> bool:
    """The deal already shows this invoice at (or after) the event's time: nothing to do."""
    link = rt.store.link_by_invoice(rt.connection_id, event.resource_id)
    if link is None or not link["kommo_lead_id"] or link["xero_updated_at"] is None:
        return False
    return bool(as_utc(link["xero_updated_at"]) >= event.event_date)


def xero_router(service: Service) -> APIRouter:
    router = APIRouter()

    @router.post("/webhooks/xero", include_in_schema=False)
    async def xero_webhook(request: Request) -> Response:
        body = await request.body()
        signed = _signed_for(service, body, request.headers.get(SIGNATURE_HEADER))
        if not signed:
            record_webhook("xero", "bad_signature")
            return Response(status_code=401)
        try:
            hook = parse_webhook(body)
        except MalformedWebhook:
            record_webhook("xero", "malformed", [rt.connection_id for rt in signed])
            return Response(status_code=400)
        triggers = []
        for event in hook.events:
            if event.category not in HANDLED_CATEGORIES:
                continue
            for rt in signed:
                if not await _serves(rt, event, only=len(signed) == 1):
                    continue
                if _already_shown(rt, event):
                    continue
                cause = status_sync.event_cause(
                    event.tenant_id, event.category, event.resource_id, event_time(event.event_date)
                )
                triggers.append(
                    Trigger(rt.connection_id, status_sync.FLOW, cause, event.resource_id)
                )
        if triggers:
            service.accept(triggers)
        outcome = "intent_to_receive" if hook.is_intent_to_receive else "accepted"
        record_webhook(
            "xero",
            outcome if triggers or hook.is_intent_to_receive else "ignored",
            [rt.connection_id for rt in signed],
        )
        return Response(status_code=200)

    return router
