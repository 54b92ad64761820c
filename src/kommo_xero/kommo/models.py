"""Typed views of what Kommo returns. Unknown fields and unknown custom-field types are ignored
or kept as plain values, because Kommo adds both without notice (a strict parser broke on
`tracking_data` once)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kommo_xero.kommo._payloads import (
    CompanyCreate,
    ComplexLead,
    ComplexResult,
    ContactCreate,
    CreatedRef,
    CustomFieldCreate,
    FieldValue,
    LeadCreate,
    LeadPatch,
    LinkCreate,
    NoteCreate,
    UpdatedRef,
)

__all__ = [
    "Account",
    "Catalog",
    "CatalogElement",
    "Company",
    "CompanyCreate",
    "ComplexLead",
    "ComplexResult",
    "Contact",
    "ContactCreate",
    "CreatedRef",
    "CustomField",
    "CustomFieldCreate",
    "CustomFieldValue",
    "Event",
    "FieldValue",
    "Lead",
    "LeadCreate",
    "LeadFile",
    "LeadPatch",
    "Link",
    "LinkCreate",
    "LinkedCatalogElement",
    "NoteCreate",
    "Pipeline",
    "Status",
    "UpdatedRef",
    "UploadedFile",
    "Webhook",
    "find_stage",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class ValueItem(_Model):
    value: Any = None
    enum_id: int | None = None
    enum_code: str | None = None


class CustomFieldValue(_Model):
    field_id: int
    field_name: str | None = None
    field_code: str | None = None
    field_type: str | None = None  # a plain string: new types must not break parsing
    values: list[ValueItem] = Field(default_factory=list)

    @field_validator("values", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value

    @property
    def first(self) -> Any:
        return self.values[0].value if self.values else None


class _WithFields(_Model):
    custom_fields_values: list[CustomFieldValue] = Field(default_factory=list)

    @field_validator("custom_fields_values", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        # Kommo sends `null`, not `[]`, when an entity has no values.
        return [] if value is None else value

    def field(self, name_or_id: int | str) -> CustomFieldValue | None:
        """The field by id, by name (case-insensitive) or by code (`EMAIL`, `PRICE`)."""
        for field in self.custom_fields_values:
            if isinstance(name_or_id, int):
                if field.field_id == name_or_id:
                    return field
            elif name_or_id.casefold() in {
                (field.field_name or "").casefold(),
                (field.field_code or "").casefold(),
            }:
                return field
        return None

    def field_value(self, field_id: int | str) -> Any:
        """The first value of a field (enum text for selects), or None when it is empty."""
        field = self.field(field_id)
        return field.first if field else None

    def field_text(self, name_or_id: int | str) -> str | None:
        """The first value of a field as text, or None when it is empty."""
        value = self.field_value(name_or_id)
        return None if value is None else str(value)


class _Ref(_Model):
    id: int


class _ContactRef(_Model):
    id: int
    is_main: bool = False


class _CatalogMetadata(_Model):
    quantity: float = 1
    catalog_id: int
    price_id: int | None = None


class _CatalogRef(_Model):
    id: int
    metadata: _CatalogMetadata


class Tag(_Model):
    id: int | None = None
    name: str


class _LeadEmbedded(_Model):
    tags: list[Tag] = Field(default_factory=list)
    companies: list[_Ref] = Field(default_factory=list)
    contacts: list[_ContactRef] = Field(default_factory=list)
    catalog_elements: list[_CatalogRef] = Field(default_factory=list)


class LinkedCatalogElement(_Model):
    id: int
    catalog_id: int
    quantity: float
    price_id: int | None = None


class Lead(_WithFields):
    id: int
    name: str = ""
    price: float | None = None
    status_id: int | None = None
    pipeline_id: int | None = None
    responsible_user_id: int | None = None
    created_by: int | None = None
    updated_by: int | None = None
    created_at: int | None = None
    updated_at: int | None = None
    closed_at: int | None = None
    is_deleted: bool = False
    account_id: int | None = None
    embedded: _LeadEmbedded = Field(default_factory=_LeadEmbedded, alias="_embedded")

    @property
    def main_contact_id(self) -> int | None:
        """The main contact, else the first linked one (only present when read with contacts)."""
        contacts = self.embedded.contacts
        main = [c.id for c in contacts if c.is_main]
        return main[0] if main else (contacts[0].id if contacts else None)

    @property
    def contact_ids(self) -> list[int]:
        return [contact.id for contact in self.embedded.contacts]

    @property
    def company_id(self) -> int | None:
        return self.embedded.companies[0].id if self.embedded.companies else None

    @property
    def tags(self) -> list[str]:
        return [tag.name for tag in self.embedded.tags]

    @property
    def catalog_elements(self) -> list[LinkedCatalogElement]:
        return [
            LinkedCatalogElement(id=ref.id, **ref.metadata.model_dump())
            for ref in self.embedded.catalog_elements
        ]


class _Party(_WithFields):
    id: int
    name: str = ""

    def _multitext(self, code: str) -> str | None:
        field = self.field(code)
        return str(field.first) if field and field.first is not None else None

    @property
    def email(self) -> str | None:
        return self._multitext("EMAIL")

    @property
    def phone(self) -> str | None:
        return self._multitext("PHONE")


class _ContactEmbedded(_Model):
    companies: list[_Ref] = Field(default_factory=list)


class Contact(_Party):
    first_name: str = ""
    last_name: str = ""
    embedded: _ContactEmbedded = Field(default_factory=_ContactEmbedded, alias="_embedded")

    @property
    def company_id(self) -> int | None:
        return self.embedded.companies[0].id if self.embedded.companies else None


class Company(_Party):
    pass


class Account(_Model):
    id: int
    name: str = ""
    subdomain: str = ""
    currency: str | None = None
    drive_url: str | None = None


class Status(_Model):
    id: int
    name: str
    sort: int = 0
    pipeline_id: int | None = None
    type: int = 0
    color: str | None = None


class _PipelineEmbedded(_Model):
    statuses: list[Status] = Field(default_factory=list)


class Pipeline(_Model):
    id: int
    name: str
    sort: int = 0
    is_main: bool = False
    is_archive: bool = False
    embedded: _PipelineEmbedded = Field(default_factory=_PipelineEmbedded, alias="_embedded")

    @property
    def statuses(self) -> list[Status]:
        return self.embedded.statuses

    def status_named(self, name: str) -> Status | None:
        wanted = name.strip().casefold()
        return next((s for s in self.statuses if s.name.strip().casefold() == wanted), None)


def find_stage(pipelines: list[Pipeline], stage: str, pipeline: str | None = None) -> Status | None:
    """The stage called `stage` (case-insensitive), in `pipeline` if given, else in the main
    pipeline first and then the others."""
    if pipeline is not None:
        wanted = pipeline.strip().casefold()
        candidates = [p for p in pipelines if p.name.strip().casefold() == wanted]
    else:
        candidates = sorted(pipelines, key=lambda p: not p.is_main)
    for candidate in candidates:
        found = candidate.status_named(stage)
        if found is not None:
            return found
    return None


class Enum(_Model):
    id: int
    value: str
    sort: int = 0


class CustomField(_Model):
    id: int
    name: str
    type: str
    code: str | None = None
    sort: int = 0
    is_api_only: bool = False
    entity_type: str | None = None
    enums: list[Enum] = Field(default_factory=list)

    @field_validator("enums", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value

    def enum_id(self, text: str) -> int | None:
        """The id of the option whose text is `text` (case-insensitive)."""
        wanted = text.casefold()
        return next((e.id for e in self.enums if e.value.casefold() == wanted), None)


class UploadedFile(_Model):
    uuid: str
    version_uuid: str | None = None
    name: str = ""
    size: int | None = None
    type: str | None = None


class LeadFile(_Model):
    file_uuid: str
    id: int | None = None


class Link(_Model):
    entity_id: int | None = None
    entity_type: str | None = None
    to_entity_id: int
    to_entity_type: str
    metadata: dict[str, Any] | None = None


class Catalog(_Model):
    id: int
    name: str
    type: str = "regular"
    can_show_in_cards: bool = False


class CatalogElement(_WithFields):
    id: int
    catalog_id: int | None = None
    name: str = ""

    @property
    def price(self) -> Decimal | None:
        """The element's PRICE field as a Decimal, None when missing or unreadable."""
        value = self.field_value("PRICE")
        try:
            return None if value in (None, "") else Decimal(str(value))
        except InvalidOperation:
            return None

    @property
    def sku(self) -> str | None:
        return self.field_text("SKU")


class Event(_Model):
    id: str
    type: str
    entity_id: int
    entity_type: str
    created_by: int = 0
    created_at: int
    value_after: list[dict[str, Any]] = Field(default_factory=list)
    value_before: list[dict[str, Any]] = Field(default_factory=list)

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        return str(value)

    @field_validator("value_after", "value_before", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value

    @property
    def status_after(self) -> tuple[int, int] | None:
        """(pipeline_id, status_id) the lead moved into, for lead_status_changed events."""
        for item in self.value_after:
            status = item.get("lead_status")
            if isinstance(status, dict) and "id" in status:
                return int(status.get("pipeline_id") or 0), int(status["id"])
        return None


class Webhook(_Model):
    id: int | None = None
    destination: str
    settings: list[str] = Field(default_factory=list)
    sort: int | None = None
    disabled: bool = False
    created_at: int | None = None
