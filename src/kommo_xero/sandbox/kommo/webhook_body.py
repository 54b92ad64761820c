"""Webhook items and form bodies in Kommo's wire format (reference §2.2-2.4)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from kommo_xero.sandbox.kommo import phpform
from kommo_xero.sandbox.kommo.customfields import DATE_TYPES
from kommo_xero.sandbox.kommo.models import CustomField, FieldValues, Lead, Party

if TYPE_CHECKING:
    from kommo_xero.sandbox.kommo.state import Change, KommoState


def _value_with_enum(stored: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = {"value": stored.get("value")}
    if stored.get("enum_id") is not None:
        value["enum"] = stored["enum_id"]  # webhooks say `enum`, the REST API `enum_id`
    return value


def _values(field: CustomField, stored: list[dict[str, Any]]) -> Any:
    if field.type in DATE_TYPES:
        return [v.get("value") for v in stored]  # dates have no [value] level
    if field.type == "radiobutton":
        return _value_with_enum(stored[0])  # radiobutton values are an object, not a list
    return [_value_with_enum(v) for v in stored]


def custom_fields(state: KommoState, values: FieldValues) -> list[dict[str, Any]]:
    rendered = []
    for field_id, stored in values.items():
        field = state.fields.get(field_id)
        if field is None or not stored:
            continue
        entry: dict[str, Any] = {"id": field.id, "name": field.name}
        entry["values"] = _values(field, stored)
        if field.code:
            entry["code"] = field.code
        rendered.append(entry)
    return rendered


def lead_item(state: KommoState, lead: Lead, old_status_id: int | None = None) -> dict[str, Any]:
    """A `leads[add|update|status][N]` item as Kommo sends it (every value becomes a string)."""
    item: dict[str, Any] = {"id": lead.id, "name": lead.name, "status_id": lead.status_id}
    if old_status_id is not None:
        item["old_status_id"] = old_status_id
    item.update(
        price=lead.price,
        responsible_user_id=lead.responsible_user_id,
        last_modified=lead.updated_at,
        modified_user_id=lead.updated_by,
        created_user_id=lead.created_by,
        date_create=lead.created_at,
        pipeline_id=lead.pipeline_id,
    )
    if lead.tags:
        item["tags"] = [{"id": t["id"], "name": t["name"]} for t in lead.tags]
    item["account_id"] = state.config.account_id
    fields = custom_fields(state, lead.custom_fields)
    if fields:
        item["custom_fields"] = fields
    item.update(created_at=lead.created_at, updated_at=lead.updated_at)
    return item


def lead_delete_item(lead: Lead) -> dict[str, Any]:
    return {"id": lead.id, "status_id": lead.status_id, "pipeline_id": lead.pipeline_id}


def party_item(state: KommoState, party: Party) -> dict[str, Any]:
    """A `contacts[add|update][N]` item; companies use the same key with type=company."""
    item: dict[str, Any] = {
        "id": party.id,
        "name": party.name,
        "responsible_user_id": party.responsible_user_id,
        "date_create": party.created_at,
        "last_modified": party.updated_at,
        "created_user_id": party.created_by,
        "modified_user_id": party.updated_by,
        "account_id": state.config.account_id,
    }
    company = state.companies.get(party.company_id) if party.company_id else None
    if company is not None:
        item["linked_company_id"] = company.id
        item["company_name"] = company.name
    linked = sorted(
        lead.id
        for lead in state.leads.values()
        if party.id in lead.contacts or (party.kind == "companies" and lead.company_id == party.id)
    )
    if linked:
        item["linked_leads_id"] = {str(lead_id): {"ID": lead_id} for lead_id in linked}
    fields = custom_fields(state, party.custom_fields)
    if fields:
        item["custom_fields"] = fields
    item.update(created_at=party.created_at, updated_at=party.updated_at)
    item["type"] = "contact" if party.kind == "contacts" else "company"
    return item


def party_delete_item(party: Party) -> dict[str, Any]:
    return {"id": party.id, "type": "contact" if party.kind == "contacts" else "company"}


def form_pairs(
    state: KommoState, changes: Sequence[Change], *, account_last: bool = False
) -> list[tuple[str, str]]:
    """The body's key/value pairs for changes that share one entity key and action."""
    base = state.base_url
    account = phpform.flatten(
        {
            "account": {
                "subdomain": state.config.subdomain,
                "id": state.config.account_id,
                "_links": {"self": base},
            }
        }
    )
    first = changes[0]
    entities = phpform.flatten({first.entity_key: {first.action: [c.item for c in changes]}})
    return entities + account if account_last else account + entities


def form_body(pairs: list[tuple[str, str]]) -> bytes:
    """Percent-encode like PHP/Kommo: brackets as %5B %5D, spaces as +."""
    return urlencode(pairs).encode()
