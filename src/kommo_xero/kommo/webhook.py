"""Parse Kommo's form-encoded account webhooks into typed events.

The payload is only a trigger (Kommo signs nothing): callers re-read the lead through the API
before acting. Parsing is strict about what identifies an entity (account id, entity ids) and
lenient about everything else, because Kommo's own examples carry corrupted timestamps, empty
names and key orders that change between years.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict

from kommo_xero.kommo._form import items_of, unflatten

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
# Entity keys Kommo documents for account webhooks; a body with none of them is not a webhook.
KNOWN_ENTITIES = frozenset(
    {"leads", "contacts", "companies", "task", "unsorted", "catalogs", "message", "talk"}
)


class MalformedWebhook(ValueError):
    """The body is not a Kommo webhook; the reason says why (safe to return in a 400)."""


class LeadEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    action: str  # add, update, status, delete, restore, responsible, note
    lead_id: int
    status_id: int | None = None
    old_status_id: int | None = None
    pipeline_id: int | None = None
    name: str = ""
    price: str | None = None
    modified_user_id: int | None = None
    updated_at: int | None = None
    last_modified: int | None = None


class ContactEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    action: str
    entity_type: str  # "contact" or "company": companies arrive under `contacts` too
    entity_id: int
    name: str = ""
    modified_user_id: int | None = None
    updated_at: int | None = None

    @property
    def is_company(self) -> bool:
        return self.entity_type == "company"


class KommoWebhook(BaseModel):
    account_id: int
    subdomain: str
    base_url: str | None
    lead_events: list[LeadEvent]
    contact_events: list[ContactEvent]
    raw: dict[str, Any]


def _required_id(item: dict[str, Any], key: str, where: str) -> int:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip().isdigit():
        raise MalformedWebhook(f"{where}[{key}] must be a numeric id, got {value!r}")
    return int(value)


def _optional_id(item: dict[str, Any], key: str, where: str) -> int | None:
    value = item.get(key)
    if value is None or value == "":
        return None
    return _required_id(item, key, where)


def _lenient_int(item: dict[str, Any], key: str) -> int | None:
    # Timestamps: Kommo's own example carries "17265663a90"; an unreadable one is just unknown.
    value = item.get(key)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _text(item: dict[str, Any], key: str) -> str | None:
    value = item.get(key)
    return value if isinstance(value, str) else None


def _lead_event(action: str, item: dict[str, Any], where: str) -> LeadEvent:
    return LeadEvent(
        action=action,
        lead_id=_required_id(item, "id", where),
        status_id=_optional_id(item, "status_id", where),
        old_status_id=_optional_id(item, "old_status_id", where),
        pipeline_id=_optional_id(item, "pipeline_id", where),
        name=_text(item, "name") or "",
        price=_text(item, "price"),
        modified_user_id=_lenient_int(item, "modified_user_id"),
        updated_at=_lenient_int(item, "updated_at"),
        last_modified=_lenient_int(item, "last_modified"),
    )


def _contact_event(action: str, item: dict[str, Any], where: str) -> ContactEvent:
    return ContactEvent(
        action=action,
        entity_type=_text(item, "type") or "contact",
        entity_id=_required_id(item, "id", where),
        name=_text(item, "name") or "",
        modified_user_id=_lenient_int(item, "modified_user_id"),
        updated_at=_lenient_int(item, "updated_at"),
    )


def _events(
    entity: str, section: Any, build: Callable[[str, dict[str, Any], str], Any]
) -> list[Any]:
    if not isinstance(section, dict):
        raise MalformedWebhook(f"{entity} must hold actions such as {entity}[update][0][id]")
    events: list[Any] = []
    for action, items in section.items():
        for index, item in enumerate(items_of(items)):
            where = f"{entity}[{action}][{index}]"
            if not isinstance(item, dict):
                raise MalformedWebhook(f"{where} is not an object")
            events.append(build(action, item, where))
    return events


# entity key -> (KommoWebhook field, item builder)
_SECTIONS: dict[str, tuple[str, Callable[[str, dict[str, Any], str], Any]]] = {
    "leads": ("lead_events", _lead_event),
    "contacts": ("contact_events", _contact_event),
}


def _form_pairs(body: bytes, content_type: str | None) -> list[tuple[str, str]]:
    if content_type is not None:
        media_type = content_type.split(";", 1)[0].strip().lower()
        if media_type != FORM_CONTENT_TYPE:
            raise MalformedWebhook(f"expected {FORM_CONTENT_TYPE}, got {media_type or 'nothing'}")
    if not body.strip():
        raise MalformedWebhook("the body is empty")
    try:
        text = body.decode("utf-8")
        return parse_qsl(text, keep_blank_values=True, strict_parsing=True, errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedWebhook("the body is not form-encoded key=value pairs") from exc


def parse_webhook(body: bytes, content_type: str | None) -> KommoWebhook:
    """Turn a raw Kommo webhook body into typed lead and contact events.

    Raises `MalformedWebhook` when the body is not form-encoded, has no numeric account id,
    carries non-numeric entity ids, or holds no entity Kommo sends.
    """
    data = unflatten(_form_pairs(body, content_type))
    if not KNOWN_ENTITIES & data.keys():
        raise MalformedWebhook("no Kommo entity (leads, contacts, task, …) in the body")
    account = data.get("account")
    if not isinstance(account, dict):
        raise MalformedWebhook("account[id] is missing")
    account_id = _required_id(account, "id", "account")
    links = account.get("_links")
    base_url = links.get("self") if isinstance(links, dict) else None
    found: dict[str, list[Any]] = {"lead_events": [], "contact_events": []}
    for entity, (target, build) in _SECTIONS.items():
        if entity in data:
            found[target].extend(_events(entity, data[entity], build))
    return KommoWebhook(
        account_id=account_id,
        subdomain=_text(account, "subdomain") or "",
        base_url=base_url if isinstance(base_url, str) and base_url else None,
        lead_events=found["lead_events"],
        contact_events=found["contact_events"],
        raw=data,
    )
