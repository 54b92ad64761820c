"""Create and update contacts with Xero's uniqueness rules (§3)."""

from __future__ import annotations

from typing import Any

from . import messages as msg
from .formats import new_id
from .models import Contact
from .writes import ItemError, WriteContext

# Posted keys we keep verbatim and echo back (Xero stores far more; these are the common ones).
_EXTRA_KEYS = ("Addresses", "Phones", "ContactPersons", "TaxNumber", "Website", "CompanyNumber")
_SIMPLE = {
    "EmailAddress": "email",
    "FirstName": "first_name",
    "LastName": "last_name",
    "AccountNumber": "account_number",
    "DefaultCurrency": "default_currency",
}


def write_contact(
    ctx: WriteContext, raw: dict[str, Any], *, allow_update: bool, path_id: str | None = None
) -> Contact:
    """PUT creates; POST updates the contact named by ContactID (or ContactNumber) or creates."""
    org = ctx.org
    target: Contact | None = None
    key = path_id or raw.get("ContactID")
    if key:
        target = org.contacts.get(str(key).lower())
        if target is None or (not allow_update and path_id is None):
            if target is None:
                raise ItemError([msg.CONTACT_ID_UNKNOWN])
            raise ItemError([msg.contact_name_taken(target.name)])
    elif allow_update and raw.get("ContactNumber"):
        target = org.contact_by_number(str(raw["ContactNumber"]))
    errors: list[str] = []
    name = str(raw.get("Name") or (target.name if target else "")).strip()
    if not name:
        errors.append(msg.CONTACT_NAME_REQUIRED)
    status = str(raw.get("ContactStatus") or (target.status if target else "ACTIVE"))
    clash = org.active_contact_named(name) if name and status == "ACTIVE" else None
    if clash is not None and clash is not target:
        errors.append(msg.contact_name_taken(name))
    number = str(raw.get("ContactNumber") or (target.contact_number if target else ""))
    owner = org.contact_by_number(number) if number else None
    if owner is not None and owner is not target:
        errors.append(msg.CONTACT_NUMBER_TAKEN)
    if errors:
        raise ItemError(errors)
    created = target is None
    contact = target or Contact(contact_id=new_id(), name=name, updated=ctx.now)
    contact.name = name
    contact.status = status
    contact.contact_number = number
    for wire, attr in _SIMPLE.items():
        if wire in raw:
            setattr(contact, attr, str(raw[wire] or ""))
    for extra in _EXTRA_KEYS:
        if extra in raw:
            contact.extra[extra] = raw[extra]
    contact.updated = ctx.now
    org.contacts[contact.contact_id] = contact
    ctx.event("CONTACT", "CREATE" if created else "UPDATE", contact.contact_id)
    return contact
