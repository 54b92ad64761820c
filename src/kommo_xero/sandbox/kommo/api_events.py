"""The Events API (reconciliation) and the Webhooks API (subscriptions)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from kommo_xero.sandbox.kommo import render
from kommo_xero.sandbox.kommo.auth import require_user, sim
from kommo_xero.sandbox.kommo.models import Event, Webhook
from kommo_xero.sandbox.kommo.phpform import as_list
from kommo_xero.sandbox.kommo.responses import (
    ApiProblem,
    base,
    hal,
    href,
    json_body,
    no_content,
    paged,
    query,
)
from kommo_xero.sandbox.kommo.validation import ValidationFailed, choice_error

router = APIRouter()
MAX_WEBHOOKS = 100
WEBHOOK_SETTINGS = frozenset(
    [
        "add_lead",
        "update_lead",
        "delete_lead",
        "restore_lead",
        "status_lead",
        "responsible_lead",
        "note_lead",
        "add_contact",
        "update_contact",
        "delete_contact",
        "restore_contact",
        "responsible_contact",
        "note_contact",
        "add_company",
        "update_company",
        "delete_company",
        "restore_company",
        "responsible_company",
        "note_company",
        "add_task",
        "delete_task",
        "responsible_task",
        "add_talk",
        "add_message",
        "add_chat_template_review",
    ]
)


def _stage_filter(spec: Any) -> list[tuple[int | None, int | None]]:
    if not isinstance(spec, dict):
        return []
    statuses = spec.get("leads_statuses")
    entries = statuses.values() if isinstance(statuses, dict) else statuses or []
    return [
        (
            int(e["pipeline_id"]) if e.get("pipeline_id") else None,
            int(e["status_id"]) if e.get("status_id") else None,
        )
        for e in entries
        if isinstance(e, dict)
    ]


def _stage_matches(
    values: list[dict[str, Any]], wanted: list[tuple[int | None, int | None]]
) -> bool:
    stages = [v["lead_status"] for v in values if "lead_status" in v]
    return any(
        (p is None or s["pipeline_id"] == p) and (st is None or s["id"] == st)
        for s in stages
        for p, st in wanted
    )


def _event_matches(event: Event, flt: dict[str, Any]) -> bool:
    checks = {
        "id": lambda v: event.id in as_list(v),
        "type": lambda v: event.type in as_list(v),
        "entity": lambda v: event.entity_type in as_list(v),
        "entity_id": lambda v: str(event.entity_id) in as_list(v),
        "created_by": lambda v: str(event.created_by) in as_list(v),
        "created_at": lambda v: (
            (v.get("from") is None or event.created_at >= int(v["from"]))
            and (v.get("to") is None or event.created_at <= int(v["to"]))
            if isinstance(v, dict)
            else event.created_at >= int(v)
        ),
        "value_after": lambda v: _stage_matches(event.value_after, _stage_filter(v)),
        "value_before": lambda v: _stage_matches(event.value_before, _stage_filter(v)),
    }
    return all(check(flt[key]) for key, check in checks.items() if key in flt)


@router.get("/api/v4/events")
def events(request: Request, user: int = Depends(require_user)) -> Response:
    state = sim(request)
    params = query(request)
    raw = params.get("filter")
    flt: dict[str, Any] = raw if isinstance(raw, dict) else {}
    with state.lock:
        try:
            found = [e for e in state.events if _event_matches(e, flt)]
        except (TypeError, ValueError):
            raise ApiProblem(400, "Bad Request", "Invalid filter") from None
        found.sort(key=lambda e: (e.created_at, e.id), reverse=True)  # newest first, as Kommo
        rendered = [render.event(state, e, base(request)) for e in found]
    return paged(request, "events", rendered, params)


@router.get("/api/v4/events/{event_id}")
def event(event_id: str, request: Request, user: int = Depends(require_user)) -> Response:
    state = sim(request)
    with state.lock:
        for item in state.events:
            if item.id == event_id:
                return hal(render.event(state, item, base(request)))
    return no_content()


@router.post("/api/v4/webhooks")
async def subscribe(request: Request, user: int = Depends(require_user)) -> Response:
    state = sim(request)
    body = await json_body(request)
    if not isinstance(body, dict) or not isinstance(body.get("destination"), str):
        raise ValidationFailed([("0", [choice_error("destination")])])
    settings = body.get("settings")
    if not isinstance(settings, list) or not settings or not set(settings) <= WEBHOOK_SETTINGS:
        raise ValidationFailed([("0", [choice_error("settings")])])
    with state.lock:
        now = state.now()
        existing = next(
            (w for w in state.webhooks.values() if w.destination == body["destination"]), None
        )
        if existing is not None:
            # Saving an existing hook again is how Kommo re-enables a disabled one.
            existing.settings, existing.disabled, existing.updated_at = list(settings), False, now
            existing.invalid_at.clear()
            hook = existing
        else:
            if len(state.webhooks) >= MAX_WEBHOOKS:
                raise ApiProblem(400, "Bad Request", f"Limit {MAX_WEBHOOKS} webhooks per account")
            hook = Webhook(
                state.next_id("webhook"),
                body["destination"],
                list(settings),
                int(body.get("sort", 10)),
                now,
                now,
                user,
            )
            state.webhooks[hook.id] = hook
        return hal(render.webhook(state, hook))


@router.get("/api/v4/webhooks")
def webhooks(request: Request, user: int = Depends(require_user)) -> Response:
    state = sim(request)
    flt = query(request).get("filter")
    destination = flt.get("destination") if isinstance(flt, dict) else None
    with state.lock:
        found = [
            render.webhook(state, w)
            for w in state.webhooks.values()
            if destination is None or w.destination == destination
        ]
    if not found:
        return no_content()
    return hal(
        {
            "_total_items": len(found),
            "_links": href(request, "/api/v4/webhooks"),
            "_embedded": {"webhooks": found},
        }
    )


@router.delete("/api/v4/webhooks")
async def unsubscribe(request: Request, user: int = Depends(require_user)) -> Response:
    state = sim(request)
    body = await json_body(request)
    destination = body.get("destination") if isinstance(body, dict) else None
    with state.lock:
        hook = next((w for w in state.webhooks.values() if w.destination == destination), None)
        if hook is None:
            raise ApiProblem(404, "Not Found", "Webhook not found")
        del state.webhooks[hook.id]
    return no_content()
