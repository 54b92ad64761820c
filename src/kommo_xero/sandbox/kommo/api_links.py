"""Links between a lead and contacts, companies and catalog elements."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from kommo_xero.sandbox.kommo.auth import require_user, sim
from kommo_xero.sandbox.kommo.models import Lead
from kommo_xero.sandbox.kommo.phpform import as_list
from kommo_xero.sandbox.kommo.responses import (
    ApiProblem,
    hal,
    href,
    json_batch,
    no_content,
    query,
)
from kommo_xero.sandbox.kommo.state import KommoState
from kommo_xero.sandbox.kommo.validation import ValidationFailed, choice_error

router = APIRouter(prefix="/api/v4/leads")


def _lead(state: KommoState, lead_id: int) -> Lead:
    lead = state.leads.get(lead_id)
    if lead is None or lead.is_deleted:
        raise ApiProblem(404, "Not Found", f"Lead {lead_id} not found")
    return lead


def _check(state: KommoState, links: list[Any]) -> None:
    known: dict[str, dict[int, Any]] = {
        "contacts": state.contacts,
        "companies": state.companies,
        "catalog_elements": state.elements,
    }
    failures = []
    for index, link in enumerate(links):
        kind = link.get("to_entity_type") if isinstance(link, dict) else None
        if kind not in known or link.get("to_entity_id") not in known[kind]:
            failures.append((str(index), [choice_error("to_entity_id")]))
    if failures:
        raise ValidationFailed(failures)


def link_entity(
    state: KommoState, lead: Lead, kind: str, to_id: int, metadata: dict[str, Any]
) -> None:
    """Attach one entity to a lead (shared with the control API)."""
    if kind == "contacts":
        is_main = bool(metadata.get("is_main", metadata.get("main_contact", not lead.contacts)))
        if is_main:
            lead.contacts = dict.fromkeys(lead.contacts, False)
        lead.contacts[to_id] = is_main
    elif kind == "companies":
        lead.company_id = to_id
    else:
        element = state.elements[to_id]
        meta: dict[str, Any] = {
            "quantity": metadata.get("quantity", 1),
            "catalog_id": metadata.get("catalog_id", element.catalog_id),
        }
        if metadata.get("price_id") is not None:
            meta["price_id"] = metadata["price_id"]
        lead.catalog_elements[to_id] = meta
    state.record_event(
        "entity_linked",
        "lead",
        lead.id,
        state.config.user_id,
        after=[{"link": {"entity": {"id": to_id, "type": kind}}}],
    )


def _link_body(lead: Lead, kind: str, to_id: int, metadata: Any) -> dict[str, Any]:
    return {
        "entity_id": lead.id,
        "entity_type": "leads",
        "to_entity_id": to_id,
        "to_entity_type": kind,
        "metadata": metadata,
    }


@router.post("/{lead_id:int}/link")
async def link(lead_id: int, request: Request, user: int = Depends(require_user)) -> Response:
    state = sim(request)
    links = await json_batch(request)
    with state.lock:
        lead = _lead(state, lead_id)
        _check(state, links)
        for item in links:
            link_entity(
                state,
                lead,
                item["to_entity_type"],
                item["to_entity_id"],
                item.get("metadata") or {},
            )
        lead.updated_at = max(state.now(), lead.updated_at)
        body = [
            _link_body(lead, i["to_entity_type"], i["to_entity_id"], i.get("metadata"))
            for i in links
        ]
    return hal(
        {"_links": href(request, f"/api/v4/leads/{lead_id}/link"), "_embedded": {"links": body}}
    )


@router.post("/{lead_id:int}/unlink")
async def unlink(lead_id: int, request: Request, user: int = Depends(require_user)) -> Response:
    state = sim(request)
    links = await json_batch(request)
    with state.lock:
        lead = _lead(state, lead_id)
        for item in links:
            kind, to_id = item.get("to_entity_type"), item.get("to_entity_id")
            if kind == "contacts":
                lead.contacts.pop(to_id, None)
            elif kind == "companies" and lead.company_id == to_id:
                lead.company_id = None
            elif kind == "catalog_elements":
                lead.catalog_elements.pop(to_id, None)
        lead.updated_at = max(state.now(), lead.updated_at)
    return no_content()


@router.get("/{lead_id:int}/links")
def links(lead_id: int, request: Request, user: int = Depends(require_user)) -> Response:
    state = sim(request)
    flt = query(request).get("filter") or {}
    with state.lock:
        lead = _lead(state, lead_id)
        found = [
            _link_body(lead, "contacts", cid, {"main_contact": main})
            for cid, main in lead.contacts.items()
        ]
        if lead.company_id:
            found.append(_link_body(lead, "companies", lead.company_id, None))
        found += [
            _link_body(lead, "catalog_elements", eid, dict(meta))
            for eid, meta in lead.catalog_elements.items()
        ]
    if isinstance(flt, dict):
        if flt.get("to_entity_type"):
            found = [f for f in found if f["to_entity_type"] == flt["to_entity_type"]]
        if flt.get("to_entity_id"):
            ids = {int(v) for v in as_list(flt["to_entity_id"])}
            found = [f for f in found if f["to_entity_id"] in ids]
        if flt.get("to_catalog_id"):
            found = [
                f
                for f in found
                if (f["metadata"] or {}).get("catalog_id") == int(flt["to_catalog_id"])
            ]
    if not found:
        return no_content()
    return hal(
        {
            "_total_items": len(found),
            "_links": href(request, f"/api/v4/leads/{lead_id}/links"),
            "_embedded": {"links": found},
        }
    )
