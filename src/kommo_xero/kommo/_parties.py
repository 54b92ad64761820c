"""Contacts, companies and catalog elements (products, invoices lists)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kommo_xero.kommo._base import WRITE_BATCH, KommoBase, chunked
from kommo_xero.kommo.models import (
    Catalog,
    CatalogElement,
    Company,
    CompanyCreate,
    Contact,
    ContactCreate,
    CreatedRef,
)
from kommo_xero.transport import NotFound

IDS_PER_REQUEST = 100


class PartiesApi(KommoBase):
    async def _one(self, path: str) -> Any:
        try:
            return await self._json("GET", path)
        except NotFound:
            return None

    async def get_contact(self, contact_id: int) -> Contact | None:
        body = await self._one(f"/api/v4/contacts/{contact_id}")
        return None if body is None else Contact.model_validate(body)

    async def get_company(self, company_id: int) -> Company | None:
        body = await self._one(f"/api/v4/companies/{company_id}")
        return None if body is None else Company.model_validate(body)

    async def get_contacts(self, ids: Sequence[int]) -> list[Contact]:
        """The contacts with these ids that exist (one list call per 100 ids)."""
        items = await self._by_ids("/api/v4/contacts", "contacts", ids)
        return [Contact.model_validate(item) for item in items]

    async def get_companies(self, ids: Sequence[int]) -> list[Company]:
        """The companies with these ids that exist (one list call per 100 ids)."""
        items = await self._by_ids("/api/v4/companies", "companies", ids)
        return [Company.model_validate(item) for item in items]

    async def _by_ids(self, path: str, key: str, ids: Sequence[int]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for chunk in chunked(list(dict.fromkeys(ids)), IDS_PER_REQUEST):
            params = {"filter[id][]": [str(i) for i in chunk]}
            found.extend([item async for item in self._pages(path, key, params)])
        return found

    async def search_contacts(self, query: str) -> list[Contact]:
        """Contacts whose filled fields match `query` (an email, a phone, a name); Kommo's
        matching is loose, so callers should compare the result exactly themselves."""
        items = await self._embedded("GET", "/api/v4/contacts", "contacts", params={"query": query})
        return [Contact.model_validate(item) for item in items]

    async def search_companies(self, query: str) -> list[Company]:
        items = await self._embedded(
            "GET", "/api/v4/companies", "companies", params={"query": query}
        )
        return [Company.model_validate(item) for item in items]

    async def _create(
        self, path: str, key: str, items: Sequence[ContactCreate]
    ) -> list[CreatedRef]:
        created: list[CreatedRef] = []
        for chunk in chunked(items, WRITE_BATCH):
            answer = await self._embedded(
                "POST", path, key, json=[c.to_api() for c in chunk], replay_safe=False
            )
            created.extend(CreatedRef.model_validate(item) for item in answer)
        return created

    async def create_contacts(self, contacts: Sequence[ContactCreate]) -> list[CreatedRef]:
        return await self._create("/api/v4/contacts", "contacts", contacts)

    async def create_companies(self, companies: Sequence[CompanyCreate]) -> list[CreatedRef]:
        return await self._create("/api/v4/companies", "companies", companies)

    async def list_catalogs(self, *, type: str | None = None) -> list[Catalog]:
        """Lists ("catalogs"); `type="invoices"` or `"products"` picks the special ones."""
        params = {"type": type} if type else None
        return [
            Catalog.model_validate(item)
            async for item in self._pages("/api/v4/catalogs", "catalogs", params)
        ]

    async def get_catalog_element(self, catalog_id: int, element_id: int) -> CatalogElement:
        """One list element (a product: name, `price`, `sku`); raises NotFound when missing."""
        body = await self._json("GET", f"/api/v4/catalogs/{catalog_id}/elements/{element_id}")
        if body is None:
            raise NotFound("kommo", f"catalog {catalog_id} has no element {element_id}", status=204)
        return CatalogElement.model_validate({"catalog_id": catalog_id, **body})
