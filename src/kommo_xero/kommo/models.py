"""Typed views of what Kommo returns. Unknown fields and unknown custom-field types are ignored
or kept as plain values, because Kommo adds both without notice (a strict parser broke on
`tracking_data` once)."""

from __future__ import annotations

from pydantic import Field

from kommo_xero.kommo._fields import CustomFieldValue, _Model, _WithFields
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
from kommo_xero.kommo._records import (
    Account,
    Catalog,
    CatalogElement,
    CustomField,
    Event,
    LeadFile,
    Link,
    Pipeline,
    Status,
    UploadedFile,
    Webhook,
    find_stage,
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
