"""API JSON for stored records (GET bodies), with `_links` built from the request's base URL."""

from __future__ import annotations

from typing import Any

from kommo_xero.sandbox.kommo import customfields
from kommo_xero.sandbox.kommo.models import (
    Catalog,
    CatalogElement,
    CustomField,
    Event,
    Lead,
    Note,
    Party,
    Pipeline,
    Status,
    Webhook,
)
from kommo_xero.sandbox.kommo.state import KommoState


def _self(base: str, path: str) -> dict[str, Any]:
    return {"self": {"href": f"{base}{path}"}}


def lead(state: KommoState, item: Lead, base: str, with_: set[str]) -> dict[str, Any]:
    embedded: dict[str, Any] = {
        "tags": [dict(t) for t in item.tags],
        "companies": (
            [{"id": item.company_id, "_links": _self(base, f"/api/v4/companies/{item.company_id}")}]
            if item.company_id
            else []
        ),
    }
    if "contacts" in with_:
        embedded["contacts"] = [
            {"id": cid, "is_main": main, "_links": _self(base, f"/api/v4/contacts/{cid}")}
            for cid, main in item.contacts.items()
        ]
    if "catalog_elements" in with_:
        embedded["catalog_elements"] = [
            {"id": eid, "metadata": dict(meta)} for eid, meta in item.catalog_elements.items()
        ]
    return {
        "id": item.id,
        "name": item.name,
        "price": item.price,
        "responsible_user_id": item.responsible_user_id,
        "group_id": 0,
        "status_id": item.status_id,
        "pipeline_id": item.pipeline_id,
        "loss_reason_id": item.loss_reason_id,
        "created_by": item.created_by,
        "updated_by": item.updated_by,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
        "closed_at": item.closed_at,
        "closest_task_at": None,
        "is_deleted": item.is_deleted,
        "custom_fields_values": customfields.render(state.fields, item.custom_fields),
        "score": None,
        "account_id": state.config.account_id,
        "labor_cost": None,
        "is_price_computed": False,
        "_links": _self(base, f"/api/v4/leads/{item.id}"),
        "_embedded": embedded,
    }


def party(state: KommoState, item: Party, base: str, with_: set[str]) -> dict[str, Any]:
    embedded: dict[str, Any] = {"tags": [dict(t) for t in item.tags]}
    if item.kind == "contacts":
        embedded["companies"] = (
            [{"id": item.company_id, "_links": _self(base, f"/api/v4/companies/{item.company_id}")}]
            if item.company_id
            else []
        )
    if "leads" in with_:
        embedded["leads"] = [
            {"id": lead_id, "_links": _self(base, f"/api/v4/leads/{lead_id}")}
            for lead_id, stored in state.leads.items()
            if not stored.is_deleted
            and (
                item.id in stored.contacts
                if item.kind == "contacts"
                else stored.company_id == item.id
            )
        ]
    body: dict[str, Any] = {"id": item.id, "name": item.name}
    if item.kind == "contacts":
        body.update(first_name=item.first_name, last_name=item.last_name)
    body.update(
        responsible_user_id=item.responsible_user_id,
        group_id=0,
        created_by=item.created_by,
        updated_by=item.updated_by,
        created_at=item.created_at,
        updated_at=item.updated_at,
        closest_task_at=None,
        is_deleted=False,
    )
    if item.kind == "contacts":
        body["is_unsorted"] = False
    body.update(
        custom_fields_values=customfields.render(state.fields, item.custom_fields),
        account_id=state.config.account_id,
        _links=_self(base, f"/api/v4/{item.kind}/{item.id}"),
        _embedded=embedded,
    )
    return body


def field(state: KommoState, item: CustomField, base: str) -> dict[str, Any]:
    path = (
        f"/api/v4/catalogs/{item.catalog_id}/custom_fields/{item.id}"
        if item.catalog_id
        else f"/api/v4/{item.entity_type}/custom_fields/{item.id}"
    )
    with_enums = item.type in customfields.ENUM_TYPES
    return {
        "id": item.id,
        "name": item.name,
        "type": item.type,
        "account_id": state.config.account_id,
        "code": item.code,
        "sort": item.sort,
        "is_api_only": item.is_api_only,
        "enums": (
            [
                {"id": e.id, "value": e.value, "sort": e.sort}
                | ({"code": e.code} if e.code else {})
                for e in item.enums
            ]
            if with_enums
            else None
        ),
        "group_id": None,
        "required_statuses": [],
        "is_deletable": item.is_deletable,
        "is_predefined": item.is_predefined,
        "entity_type": item.entity_type,
        "catalog_id": item.catalog_id,
        "tracking_callback": None,
        "remind": None,
        "triggers": [],
        "currency": item.currency,
        "hidden_statuses": [],
        "chained_lists": None,
        **item.extra,
        "_links": _self(base, path),
    }


def status(state: KommoState, pipeline: Pipeline, item: Status, base: str) -> dict[str, Any]:
    return {
        "id": item.id,
        "name": item.name,
        "sort": item.sort,
        "is_editable": item.is_editable,
        "pipeline_id": pipeline.id,
        "color": item.color,
        "type": item.type,
        "account_id": state.config.account_id,
        "_links": _self(base, f"/api/v4/leads/pipelines/{pipeline.id}/statuses/{item.id}"),
    }


def pipeline(state: KommoState, item: Pipeline, base: str) -> dict[str, Any]:
    return {
        "id": item.id,
        "name": item.name,
        "sort": item.sort,
        "is_main": item.is_main,
        "is_unsorted_on": True,
        "is_archive": False,
        "account_id": state.config.account_id,
        "_links": _self(base, f"/api/v4/leads/pipelines/{item.id}"),
        "_embedded": {"statuses": [status(state, item, s, base) for s in item.statuses]},
    }


def note(state: KommoState, item: Note, base: str) -> dict[str, Any]:
    return {
        "id": item.id,
        "entity_id": item.entity_id,
        "created_by": item.created_by,
        "updated_by": item.created_by,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
        "responsible_user_id": item.created_by,
        "group_id": 0,
        "note_type": item.note_type,
        "params": dict(item.params),
        "account_id": state.config.account_id,
        "is_pinned": False,
        "_links": _self(base, f"/api/v4/{item.entity_type}/{item.entity_id}/notes/{item.id}"),
    }


def catalog(state: KommoState, item: Catalog, base: str) -> dict[str, Any]:
    return {
        "id": item.id,
        "name": item.name,
        "created_by": state.config.user_id,
        "updated_by": state.config.user_id,
        "created_at": item.created_at,
        "updated_at": item.created_at,
        "sort": item.sort,
        "type": item.type,
        "can_add_elements": True,
        "can_show_in_cards": item.can_show_in_cards,
        "can_link_multiple": True,
        "can_be_deleted": item.type == "regular",
        "sdk_widget_code": None,
        "account_id": state.config.account_id,
        "_links": _self(base, f"/api/v4/catalogs/{item.id}"),
    }


def element(state: KommoState, item: CatalogElement, base: str) -> dict[str, Any]:
    return {
        "id": item.id,
        "name": item.name,
        "catalog_id": item.catalog_id,
        "created_by": item.created_by,
        "updated_by": item.created_by,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
        "is_deleted": False,
        "custom_fields_values": customfields.render(state.fields, item.custom_fields),
        "account_id": state.config.account_id,
        "_links": _self(base, f"/api/v4/catalogs/{item.catalog_id}/elements/{item.id}"),
    }


def event(state: KommoState, item: Event, base: str) -> dict[str, Any]:
    entity_path = {"lead": "leads", "contact": "contacts", "company": "companies"}
    entity_href = f"/api/v4/{entity_path.get(item.entity_type, item.entity_type)}/{item.entity_id}"
    return {
        "id": item.id,
        "type": item.type,
        "entity_id": item.entity_id,
        "entity_type": item.entity_type,
        "created_by": item.created_by,
        "created_at": item.created_at,
        "value_after": item.value_after,
        "value_before": item.value_before,
        "account_id": state.config.account_id,
        "_links": _self(base, f"/api/v4/events/{item.id}"),
        "_embedded": {"entity": {"id": item.entity_id, "_links": _self(base, entity_href)}},
    }


def webhook(state: KommoState, item: Webhook) -> dict[str, Any]:
    return {
        "id": item.id,
        "destination": item.destination,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
        "account_id": state.config.account_id,
        "created_by": item.created_by,
        "sort": item.sort,
        "disabled": item.disabled,
        "settings": list(item.settings),
    }
