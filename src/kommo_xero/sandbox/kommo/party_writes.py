"""Creating and changing contacts and companies (webhooks arrive under `contacts[...]`)."""

from __future__ import annotations

from typing import Any

from kommo_xero.sandbox.kommo import customfields, webhook_body
from kommo_xero.sandbox.kommo.models import Party
from kommo_xero.sandbox.kommo.state import Change, KommoState
from kommo_xero.sandbox.kommo.validation import (
    Error,
    ValidationFailed,
    check_int,
    check_str,
    choice_error,
    embedded_ids,
    error,
    request_id_of,
)

_SETTING_SUFFIX = {"contacts": "contact", "companies": "company"}


class PartyWrites:
    """Writes to contacts or companies by one actor in one request."""

    def __init__(self, state: KommoState, kind: str, actor: int) -> None:
        self.state = state
        self.kind = kind
        self.actor = actor
        self.changes: list[Change] = []

    def prepare(self, item: Any, existing: Party | None) -> tuple[dict[str, Any], list[Error]]:
        if not isinstance(item, dict):
            return {}, [error("InvalidType", "", "This value should be of type object.")]
        errors: list[Error] = []
        for key in ("name", "first_name", "last_name"):
            check_str(item, key, errors)
        check_int(item, "responsible_user_id", errors)
        fields, field_errors = customfields.normalise(
            self.state.fields_for(self.kind), item.get("custom_fields_values")
        )
        errors.extend(field_errors)
        patch: dict[str, Any] = {
            k: item[k]
            for k in ("name", "first_name", "last_name", "responsible_user_id")
            if k in item
        }
        patch["fields"] = fields
        companies = embedded_ids(item, "companies")
        if companies and self.kind == "contacts":
            if companies[0].get("id") not in self.state.companies:
                errors.append(choice_error("_embedded.companies.0.id"))
            else:
                patch["company_id"] = companies[0]["id"]
        if "tags" in (item.get("_embedded") or {}):
            patch["tags"] = [self.state.tag(str(t.get("name"))) for t in embedded_ids(item, "tags")]
        return patch, errors

    def prepare_batch(
        self, items: list[Any], with_ids: bool
    ) -> list[tuple[Party | None, dict[str, Any]]]:
        prepared: list[tuple[Party | None, dict[str, Any]]] = []
        failures: list[tuple[str, list[Error]]] = []
        for index, item in enumerate(items):
            existing = None
            if with_ids:
                party_id = item.get("id") if isinstance(item, dict) else None
                existing = self.state.parties(self.kind).get(party_id)  # type: ignore[arg-type]
                if existing is None:
                    failures.append((request_id_of(item, index), [choice_error("id")]))
                    continue
            patch, errors = self.prepare(item, existing)
            if errors:
                failures.append((request_id_of(item, index), errors))
            prepared.append((existing, patch))
        if failures:
            raise ValidationFailed(failures)
        return prepared

    def create(self, patch: dict[str, Any]) -> Party:
        now = self.state.now()
        first, last = patch.get("first_name", ""), patch.get("last_name", "")
        party = Party(
            id=self.state.next_id(self.kind),
            kind=self.kind,
            name=patch.get("name") or f"{first} {last}".strip(),
            first_name=first,
            last_name=last,
            responsible_user_id=patch.get("responsible_user_id") or self.state.config.user_id,
            created_by=self.actor,
            updated_by=self.actor,
            created_at=now,
            updated_at=now,
            company_id=patch.get("company_id"),
            tags=patch.get("tags", []),
        )
        customfields.apply(party.custom_fields, patch["fields"])
        self.state.parties(self.kind)[party.id] = party
        suffix = _SETTING_SUFFIX[self.kind]
        self.state.record_event(f"{suffix}_added", suffix, party.id, self.actor)
        self._change("add", party)
        return party

    def update(self, party: Party, patch: dict[str, Any]) -> Party:
        for key in ("name", "first_name", "last_name", "responsible_user_id", "company_id", "tags"):
            if key in patch:
                setattr(party, key, patch[key])
        if "name" not in patch and ("first_name" in patch or "last_name" in patch):
            party.name = f"{party.first_name} {party.last_name}".strip()
        customfields.apply(party.custom_fields, patch["fields"])
        party.updated_at = max(self.state.now(), party.updated_at)
        party.updated_by = self.actor
        self._change("update", party)
        return party

    def _change(self, action: str, party: Party) -> None:
        setting = f"{action}_{_SETTING_SUFFIX[self.kind]}"
        item = webhook_body.party_item(self.state, party)
        self.changes.append(Change(setting, "contacts", action, party.id, item))

    def publish(self) -> None:
        self.state.publish(self.changes)
        self.changes = []
