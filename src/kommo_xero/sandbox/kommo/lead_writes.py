"""Creating, changing and deleting leads: validation, events and webhook changes in one place.

The REST API and the control API (a person in the UI) both go through `LeadWrites`, so every
change records the same events and fires the same webhooks whoever made it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kommo_xero.sandbox.kommo import customfields, webhook_body
from kommo_xero.sandbox.kommo.models import Lead
from kommo_xero.sandbox.kommo.seed import LOST_STATUS_ID, WON_STATUS_ID
from kommo_xero.sandbox.kommo.state import Change, KommoState
from kommo_xero.sandbox.kommo.validation import (
    Error,
    ValidationFailed,
    check_int,
    check_number,
    check_str,
    choice_error,
    embedded_ids,
    error,
    request_id_of,
)

_PLAIN_INTS = ("responsible_user_id", "closed_at", "loss_reason_id", "created_at", "updated_at")


@dataclass
class LeadPatch:
    """A validated write for one lead."""

    values: dict[str, Any] = field(default_factory=dict)
    fields: dict[int, list[dict[str, Any]] | None] = field(default_factory=dict)
    tags: list[dict[str, Any]] | None = None
    contacts: dict[int, bool] | None = None
    company_id: int | None = None


class LeadWrites:
    """Writes made by one actor in one request; `publish()` hands the webhook changes on."""

    def __init__(self, state: KommoState, actor: int) -> None:
        self.state = state
        self.actor = actor
        self.changes: list[Change] = []

    def prepare(self, item: Any, existing: Lead | None) -> tuple[LeadPatch, list[Error]]:
        if not isinstance(item, dict):
            return LeadPatch(), [error("InvalidType", "", "This value should be of type object.")]
        errors: list[Error] = []
        check_str(item, "name", errors)
        check_number(item, "price", errors)
        for key in (*_PLAIN_INTS, "status_id", "pipeline_id"):
            check_int(item, key, errors, nullable=key in ("closed_at", "loss_reason_id"))
        patch = LeadPatch(values={k: item[k] for k in ("name", "price", *_PLAIN_INTS) if k in item})
        if not errors:
            self._prepare_stage(item, existing, patch, errors)
        fields, field_errors = customfields.normalise(
            self.state.fields_for("leads"), item.get("custom_fields_values")
        )
        patch.fields = fields
        errors.extend(field_errors)
        self._prepare_embedded(item, patch, errors)
        return patch, errors

    def _prepare_stage(
        self, item: dict[str, Any], existing: Lead | None, patch: LeadPatch, errors: list[Error]
    ) -> None:
        pipeline_id = item.get("pipeline_id") or (existing.pipeline_id if existing else None)
        pipeline = (
            self.state.pipelines.get(pipeline_id) if pipeline_id else self.state.default_pipeline()
        )
        if pipeline is None:
            errors.append(choice_error("pipeline_id"))
            return
        status_ids = {s.id for s in pipeline.statuses}
        status_id = item.get("status_id")
        if status_id is None:
            if existing is not None and existing.pipeline_id == pipeline.id:
                # The stage is left as it is when the write is applied: a batch may move
                # this lead in an earlier item, and a later field-only item keeps that move.
                return
            # Leads created, or moved to another pipeline, without a stage land in the first
            # stage after "Incoming leads".
            status_id = min((s for s in pipeline.statuses if s.type == 0), key=lambda s: s.sort).id
        elif status_id not in status_ids:
            errors.append(choice_error("status_id"))
            return
        patch.values["pipeline_id"] = pipeline.id
        patch.values["status_id"] = status_id

    def _prepare_embedded(
        self, item: dict[str, Any], patch: LeadPatch, errors: list[Error]
    ) -> None:
        raw = item.get("_embedded")
        embedded: dict[str, Any] = raw if isinstance(raw, dict) else {}
        if "tags" in embedded:
            patch.tags = [
                self.state.tag(str(t["name"])) if t.get("name") else self._tag_by_id(t)
                for t in embedded_ids(item, "tags")
            ]
        if "contacts" in embedded:
            patch.contacts = {}
            for index, contact in enumerate(embedded_ids(item, "contacts")):
                if contact.get("id") not in self.state.contacts:
                    errors.append(choice_error(f"_embedded.contacts.{index}.id"))
                    continue
                patch.contacts[contact["id"]] = bool(contact.get("is_main", not patch.contacts))
        companies = embedded_ids(item, "companies")
        if companies:
            if companies[0].get("id") not in self.state.companies:
                errors.append(choice_error("_embedded.companies.0.id"))
            else:
                patch.company_id = companies[0]["id"]

    def _tag_by_id(self, tag: dict[str, Any]) -> dict[str, Any]:
        name = next(
            (n for n, i in self.state.tags.items() if i == tag.get("id")), str(tag.get("id"))
        )
        return self.state.tag(name)

    def prepare_batch(
        self, items: list[Any], with_ids: bool
    ) -> list[tuple[Lead | None, LeadPatch]]:
        """Validate every item first; any invalid item rejects the whole batch."""
        prepared: list[tuple[Lead | None, LeadPatch]] = []
        failures: list[tuple[str, list[Error]]] = []
        for index, item in enumerate(items):
            existing = None
            if with_ids:
                lead_id = item.get("id") if isinstance(item, dict) else None
                existing = self.state.leads.get(lead_id) if isinstance(lead_id, int) else None
                if existing is None or existing.is_deleted:
                    failures.append((request_id_of(item, index), [choice_error("id")]))
                    continue
            patch, errors = self.prepare(item, existing)
            if errors:
                failures.append((request_id_of(item, index), errors))
            prepared.append((existing, patch))
        if failures:
            raise ValidationFailed(failures)
        return prepared

    def create(self, patch: LeadPatch) -> Lead:
        now = self.state.now()
        values = patch.values
        lead = Lead(
            id=self.state.next_id("lead"),
            name=values.get("name", ""),
            price=values.get("price", 0),
            status_id=values["status_id"],
            pipeline_id=values["pipeline_id"],
            responsible_user_id=values.get("responsible_user_id") or self.state.config.user_id,
            created_by=self.actor,
            updated_by=self.actor,
            created_at=values.get("created_at") or now,
            updated_at=values.get("updated_at") or now,
            closed_at=values.get("closed_at"),
        )
        customfields.apply(lead.custom_fields, patch.fields)
        self._apply_links(lead, patch)
        self.state.leads[lead.id] = lead
        self.state.record_event("lead_added", "lead", lead.id, self.actor)
        self.changes.append(
            Change("add_lead", "leads", "add", lead.id, webhook_body.lead_item(self.state, lead))
        )
        return lead

    def update(self, lead: Lead, patch: LeadPatch) -> Lead:
        values = patch.values
        old_status, old_pipeline = lead.status_id, lead.pipeline_id
        old_name, old_price = lead.name, lead.price
        for key in ("name", "price", "status_id", "pipeline_id", *_PLAIN_INTS):
            if key in values and key not in ("created_at", "updated_at"):
                setattr(lead, key, values[key])
        changed_fields = customfields.apply(lead.custom_fields, patch.fields)
        self._apply_links(lead, patch)
        stage_moved = (lead.status_id, lead.pipeline_id) != (old_status, old_pipeline)
        if stage_moved and lead.status_id in (WON_STATUS_ID, LOST_STATUS_ID):
            lead.closed_at = lead.closed_at or self.state.now()
        lead.updated_at = values.get("updated_at") or max(self.state.now(), lead.updated_at)
        lead.updated_by = self.actor
        self._record_update_events(lead, old_name, old_price, changed_fields)
        if stage_moved:
            self.state.record_event(
                "lead_status_changed",
                "lead",
                lead.id,
                self.actor,
                after=[{"lead_status": {"id": lead.status_id, "pipeline_id": lead.pipeline_id}}],
                before=[{"lead_status": {"id": old_status, "pipeline_id": old_pipeline}}],
            )
            item = webhook_body.lead_item(self.state, lead, old_status_id=old_status)
            self.changes.append(Change("status_lead", "leads", "status", lead.id, item))
        if stage_moved or changed_fields or (lead.name, lead.price) != (old_name, old_price):
            item = webhook_body.lead_item(
                self.state, lead, old_status_id=old_status if stage_moved else None
            )
            self.changes.append(Change("update_lead", "leads", "update", lead.id, item))
        return lead

    def _record_update_events(
        self, lead: Lead, old_name: str, old_price: float, changed_fields: list[int]
    ) -> None:
        record = self.state.record_event
        if lead.name != old_name:
            record(
                "name_field_changed",
                "lead",
                lead.id,
                self.actor,
                after=[{"name_field_value": {"name": lead.name}}],
                before=[{"name_field_value": {"name": old_name}}],
            )
        if lead.price != old_price:
            record(
                "sale_field_changed",
                "lead",
                lead.id,
                self.actor,
                after=[{"sale_field_value": {"sale": lead.price}}],
                before=[{"sale_field_value": {"sale": old_price}}],
            )
        for field_id in changed_fields:
            after = [
                {"custom_field_value": {"field_id": field_id, "text": str(v.get("value"))}}
                for v in lead.custom_fields.get(field_id, [])
            ]
            record("custom_field_value_changed", "lead", lead.id, self.actor, after=after)

    def _apply_links(self, lead: Lead, patch: LeadPatch) -> None:
        if patch.tags is not None:
            lead.tags = patch.tags
        if patch.contacts is not None:
            lead.contacts = dict(patch.contacts)
        if patch.company_id is not None:
            lead.company_id = patch.company_id

    def delete(self, lead: Lead) -> None:
        lead.is_deleted = True
        lead.updated_at = self.state.now()
        lead.updated_by = self.actor
        self.state.record_event("lead_deleted", "lead", lead.id, self.actor)
        item = webhook_body.lead_delete_item(lead)
        self.changes.append(Change("delete_lead", "leads", "delete", lead.id, item))

    def publish(self) -> None:
        self.state.publish(self.changes)
        self.changes = []
