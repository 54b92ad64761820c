"""What we send to Kommo: small typed builders that render the API's JSON shapes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class FieldWrite(BaseModel):
    """One entry of `custom_fields_values` in a write: by field id or by predefined code."""

    model_config = ConfigDict(frozen=True)

    field_id: int | None = None
    field_code: str | None = None
    values: list[dict[str, Any]]

    def to_api(self) -> dict[str, Any]:
        key: dict[str, Any] = (
            {"field_id": self.field_id}
            if self.field_id is not None
            else {"field_code": self.field_code}
        )
        return {**key, "values": self.values}


def _unix(moment: datetime | date | int) -> int:
    if isinstance(moment, int):
        return moment
    if isinstance(moment, datetime):
        aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return int(aware.timestamp())
    # A calendar date means midnight UTC: Kommo stores dates as unix seconds.
    return int(datetime(moment.year, moment.month, moment.day, tzinfo=UTC).timestamp())


class FieldValue:
    """Builders for custom field values: `FieldValue.text(1118166, "INV-0042")`."""

    @staticmethod
    def text(field_id: int, value: str) -> FieldWrite:
        return FieldWrite(field_id=field_id, values=[{"value": value}])

    @staticmethod
    def url(field_id: int, value: str) -> FieldWrite:
        return FieldWrite(field_id=field_id, values=[{"value": value}])

    @staticmethod
    def number(field_id: int, value: float | int | str) -> FieldWrite:
        return FieldWrite(field_id=field_id, values=[{"value": value}])

    @staticmethod
    def date(field_id: int, value: datetime | date | int) -> FieldWrite:
        return FieldWrite(field_id=field_id, values=[{"value": _unix(value)}])

    @staticmethod
    def select(
        field_id: int, *, enum_id: int | None = None, value: str | None = None
    ) -> FieldWrite:
        if (enum_id is None) == (value is None):
            raise ValueError("give exactly one of enum_id or value")
        item: dict[str, Any] = {"enum_id": enum_id} if enum_id is not None else {"value": value}
        return FieldWrite(field_id=field_id, values=[item])

    @staticmethod
    def multitext(code: str, value: str, enum_code: str = "WORK") -> FieldWrite:
        """EMAIL or PHONE by code: no account-specific ids needed."""
        return FieldWrite(field_code=code, values=[{"value": value, "enum_code": enum_code}])


def _fields(fields: list[FieldWrite]) -> list[dict[str, Any]]:
    return [field.to_api() for field in fields]


class _Write(BaseModel):
    model_config = ConfigDict(frozen=True)


class LeadCreate(_Write):
    name: str
    price: float | int | None = None
    pipeline_id: int | None = None
    status_id: int | None = None
    responsible_user_id: int | None = None
    fields: list[FieldWrite] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    contact_id: int | None = None  # linked as the main contact
    company_id: int | None = None
    request_id: str | None = None  # echoed back, lets a caller match results to inputs

    def to_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            key: value
            for key in ("name", "price", "pipeline_id", "status_id", "responsible_user_id")
            if (value := getattr(self, key)) is not None
        }
        if self.fields:
            body["custom_fields_values"] = _fields(self.fields)
        embedded: dict[str, Any] = {}
        if self.tags:
            embedded["tags"] = [{"name": tag} for tag in self.tags]
        if self.contact_id is not None:
            embedded["contacts"] = [{"id": self.contact_id, "is_main": True}]
        if self.company_id is not None:
            embedded["companies"] = [{"id": self.company_id}]
        if embedded:
            body["_embedded"] = embedded
        if self.request_id is not None:
            body["request_id"] = self.request_id
        return body


class LeadPatch(_Write):
    id: int
    name: str | None = None
    price: float | int | None = None
    pipeline_id: int | None = None
    status_id: int | None = None
    fields: list[FieldWrite] = Field(default_factory=list)
    tags: list[str] | None = None  # None leaves tags alone; [] clears them
    request_id: str | None = None

    def to_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            key: value
            for key in ("id", "name", "price", "pipeline_id", "status_id", "request_id")
            if (value := getattr(self, key)) is not None
        }
        if self.fields:
            body["custom_fields_values"] = _fields(self.fields)
        if self.tags is not None:
            body["_embedded"] = {"tags": [{"name": tag} for tag in self.tags]}
        return body

    def then(self, later: LeadPatch) -> LeadPatch:
        """This patch followed by `later` for the same lead, as one patch: later values win."""
        if later.id != self.id:
            raise ValueError(f"cannot merge patches of leads {self.id} and {later.id}")
        fields = {_field_key(f): f for f in self.fields}
        fields.update({_field_key(f): f for f in later.fields})
        scalars = {
            key: value
            for key in ("name", "price", "pipeline_id", "status_id", "tags", "request_id")
            if (value := getattr(later, key)) is not None
        }
        return self.model_copy(update={**scalars, "fields": list(fields.values())})


def _field_key(field: FieldWrite) -> tuple[int | None, str | None]:
    return field.field_id, field.field_code


def merge_lead_patches(patches: list[LeadPatch]) -> list[LeadPatch]:
    """One item per lead, in first-seen order, each lead's patches applied in turn.

    Kommo's docs say nothing of one lead appearing twice in a PATCH /leads batch, so we
    never send that: two writes queued together for one deal become the write they add up to.
    """
    merged: dict[int, LeadPatch] = {}
    for patch in patches:
        held = merged.get(patch.id)
        merged[patch.id] = patch if held is None else held.then(patch)
    return list(merged.values())


class ContactCreate(_Write):
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    fields: list[FieldWrite] = Field(default_factory=list)
    request_id: str | None = None

    def to_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            key: value
            for key in ("name", "first_name", "last_name", "request_id")
            if (value := getattr(self, key)) is not None
        }
        fields = list(self.fields)
        if self.email:
            fields.append(FieldValue.multitext("EMAIL", self.email))
        if self.phone:
            fields.append(FieldValue.multitext("PHONE", self.phone))
        if fields:
            body["custom_fields_values"] = _fields(fields)
        return body


class CompanyCreate(ContactCreate):
    """A company: `name` plus optional EMAIL/PHONE, the same shape as a contact."""


class ComplexLead(_Write):
    """A lead created together with (at most) one new contact and one new company."""

    lead: LeadCreate
    contact: ContactCreate | None = None
    company: CompanyCreate | None = None

    def to_api(self) -> dict[str, Any]:
        body = self.lead.to_api()
        embedded = dict(body.get("_embedded", {}))
        if self.contact is not None:
            embedded["contacts"] = [self.contact.to_api()]
        if self.company is not None:
            embedded["companies"] = [self.company.to_api()]
        if embedded:
            body["_embedded"] = embedded
        return body


class LinkCreate(_Write):
    to_entity_id: int
    to_entity_type: str  # contacts, companies, catalog_elements
    metadata: dict[str, Any] | None = None

    @classmethod
    def contact(cls, contact_id: int, *, is_main: bool = False) -> LinkCreate:
        return cls(
            to_entity_id=contact_id, to_entity_type="contacts", metadata={"is_main": is_main}
        )

    @classmethod
    def company(cls, company_id: int) -> LinkCreate:
        return cls(to_entity_id=company_id, to_entity_type="companies")

    @classmethod
    def catalog_element(
        cls, element_id: int, *, catalog_id: int, quantity: float = 1, price_id: int | None = None
    ) -> LinkCreate:
        metadata: dict[str, Any] = {"catalog_id": catalog_id, "quantity": quantity}
        if price_id is not None:
            metadata["price_id"] = price_id
        return cls(to_entity_id=element_id, to_entity_type="catalog_elements", metadata=metadata)

    def to_api(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class NoteCreate(_Write):
    entity_id: int
    note_type: str
    params: dict[str, Any]
    request_id: str | None = None

    @classmethod
    def common(cls, lead_id: int, text: str) -> NoteCreate:
        return cls(entity_id=lead_id, note_type="common", params={"text": text})

    @classmethod
    def service(cls, lead_id: int, text: str, *, service: str = "Xero") -> NoteCreate:
        """A collapsible service note ("Xero: Invoice INV-0042 paid")."""
        return cls(
            entity_id=lead_id,
            note_type="extended_service_message",
            params={"service": service, "text": text},
        )

    @classmethod
    def attachment(
        cls, lead_id: int, *, file_uuid: str, file_name: str, version_uuid: str | None = None
    ) -> NoteCreate:
        params = {"file_uuid": file_uuid, "file_name": file_name}
        if version_uuid:
            params["version_uuid"] = version_uuid
        return cls(entity_id=lead_id, note_type="attachment", params=params)

    def to_api(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class CustomFieldCreate(_Write):
    name: str
    type: str  # text, numeric, select, url, date, monetary, …
    sort: int = 500
    code: str | None = None
    is_api_only: bool = False
    enums: list[str] = Field(default_factory=list)  # option texts for select fields
    currency: str | None = None  # monetary fields

    def to_api(self) -> dict[str, Any]:
        body = self.model_dump(exclude_none=True, exclude={"enums"})
        if self.enums:
            body["enums"] = [{"value": v, "sort": i + 1} for i, v in enumerate(self.enums)]
        return body


class _Result(BaseModel):
    # Kommo echoes request_id as given; numbers are read as text so callers compare strings.
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class CreatedRef(_Result):
    id: int
    request_id: str | None = None


class UpdatedRef(_Result):
    id: int
    updated_at: int | None = None
    request_id: str | None = None


class ComplexResult(_Result):
    id: int
    contact_id: int | None = None
    company_id: int | None = None
    request_id: list[str] = Field(default_factory=list)  # an array here, unlike plain creates
    merged: bool = False  # True: Kommo's duplicate control merged it into an existing lead

    @field_validator("request_id", mode="before")
    @classmethod
    def _as_list(cls, value: Any) -> Any:
        if value is None:
            return []
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]
