"""What every write shares: the element error, the batch context and its pending events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from . import messages as msg
from .formats import new_id, parse_date
from .models import Contact, Org


class ItemError(Exception):
    """One element of a write failed; `messages` become its ValidationErrors."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


@dataclass
class WriteContext:
    org: Org
    now: datetime
    client_id: str | None  # the app writing, None when a person acts in the UI (/_sim)
    events: list[tuple[str, str, str]] = field(default_factory=list)  # (category, type, id)
    user: str = "System Generated"

    @property
    def today(self) -> date:
        return self.now.date()

    def event(self, category: str, event_type: str, resource_id: str) -> None:
        self.events.append((category, event_type, resource_id))


def optional_date(raw: dict[str, Any], key: str, errors: list[str]) -> date | None:
    try:
        return parse_date(raw.get(key))
    except ValueError:
        errors.append(msg.invalid_date(key))
        return None


@dataclass
class ContactPlan:
    """The contact an invoice names: an existing one, or a Name to create once all else is valid."""

    existing: Contact | None = None
    new_name: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def resolve(self, ctx: WriteContext) -> Contact:
        if self.existing is not None:
            return self.existing
        contact = Contact(
            contact_id=new_id(),
            name=self.new_name,
            updated=ctx.now,
            email=str(self.extra.get("EmailAddress") or ""),
            contact_number=str(self.extra.get("ContactNumber") or ""),
            first_name=str(self.extra.get("FirstName") or ""),
            last_name=str(self.extra.get("LastName") or ""),
        )
        ctx.org.contacts[contact.contact_id] = contact
        ctx.event("CONTACT", "CREATE", contact.contact_id)
        self.existing = contact
        return contact


def plan_contact(org: Org, raw: Any, errors: list[str]) -> ContactPlan:
    """Find the invoice's contact by ContactID, ContactNumber or Name (an unknown Name is new)."""
    if not isinstance(raw, dict) or not (
        raw.get("ContactID") or raw.get("Name") or raw.get("ContactNumber")
    ):
        errors.append(msg.CONTACT_MISSING)
        return ContactPlan()
    if raw.get("ContactID"):
        found = org.contacts.get(str(raw["ContactID"]).lower())
        if found is None:
            errors.append(msg.CONTACT_ID_UNKNOWN)
            return ContactPlan()
        if found.status != "ACTIVE":
            errors.append(msg.CONTACT_ARCHIVED)
        return ContactPlan(existing=found)
    if raw.get("ContactNumber"):
        found = org.contact_by_number(str(raw["ContactNumber"]))
        if found is not None:
            return ContactPlan(existing=found)
        if not raw.get("Name"):
            errors.append(msg.CONTACT_ID_UNKNOWN)
            return ContactPlan()
    name = str(raw["Name"]).strip()
    found = org.active_contact_named(name)
    if found is not None:
        return ContactPlan(existing=found)
    return ContactPlan(new_name=name, extra=dict(raw))
