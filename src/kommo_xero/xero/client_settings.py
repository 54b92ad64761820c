"""Xero calls for organisation settings, connections and contacts (base of `XeroClient`)."""

from __future__ import annotations

from collections.abc import Sequence

from kommo_xero.transport import ApiError
from kommo_xero.xero.models import (
    Account,
    Connection,
    Contact,
    ContactCreate,
    ItemResult,
    Organisation,
    TaxRate,
)
from kommo_xero.xero.responses import SERVICE, collection, parse_json
from kommo_xero.xero.session import XeroSession
from kommo_xero.xero.writes import MAX_BATCH, item_results, request_element, where_equals


class SettingsAndContacts(XeroSession):
    """Reads of the organisation's settings, the connection list, contact lookup and creation."""

    # --- settings -----------------------------------------------------------------------

    async def get_organisation(self) -> Organisation:
        body = await self.send_json("GET", "/Organisation")
        organisations = collection(body, "Organisations")
        if not organisations:
            raise ApiError(SERVICE, "Xero returned no organisation")
        return Organisation.model_validate(organisations[0])

    async def get_currencies(self) -> list[str]:
        """Codes of the currencies enabled in the organisation (base currency included)."""
        body = await self.send_json("GET", "/Currencies")
        return [str(item["Code"]) for item in collection(body, "Currencies") if item.get("Code")]

    async def get_accounts(self) -> list[Account]:
        body = await self.send_json("GET", "/Accounts")
        return [Account.model_validate(item) for item in collection(body, "Accounts")]

    async def get_tax_rates(self) -> list[TaxRate]:
        body = await self.send_json("GET", "/TaxRates")
        return [TaxRate.model_validate(item) for item in collection(body, "TaxRates")]

    async def list_connections(self) -> list[Connection]:
        """Organisations the token may act for (identity API: no tenant header)."""
        response = await self.send("GET", "/connections", accounting=False)
        body = parse_json(response)
        if not isinstance(body, list):
            raise ApiError(SERVICE, "expected a list of connections")
        return [Connection.model_validate(item) for item in body]

    # --- contacts -----------------------------------------------------------------------

    async def find_contacts(
        self,
        *,
        email: str | None = None,
        name: str | None = None,
        search_term: str | None = None,
        ids: Sequence[str] | None = None,
    ) -> list[Contact]:
        """Contacts matching every criterion given (first page: up to 100)."""
        params = {"page": "1"}
        clauses = []
        if email is not None:
            clauses.append(where_equals("EmailAddress", email))
        if name is not None:
            clauses.append(where_equals("Name", name))
        if clauses:
            params["where"] = " AND ".join(clauses)
        if search_term:
            params["searchTerm"] = search_term
        if ids:
            params["IDs"] = ",".join(ids)
        body = await self.send_json("GET", "/Contacts", params=params)
        return [Contact.model_validate(item) for item in collection(body, "Contacts")]

    async def create_contacts(
        self, contacts: list[ContactCreate], *, idempotency_key: str
    ) -> list[ItemResult[Contact]]:
        if len(contacts) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} contacts per call, got {len(contacts)}")
        if not contacts:
            return []
        body = await self.send_json(
            "PUT",
            "/Contacts",
            params={"summarizeErrors": "false"},
            body={"Contacts": [request_element(contact) for contact in contacts]},
            idempotency_key=idempotency_key,
        )
        return item_results(Contact, collection(body, "Contacts"), len(contacts))
