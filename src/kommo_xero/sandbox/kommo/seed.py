"""The fixed starting data of the sandbox account (ids documented in docs/sandbox-kommo.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kommo_xero.sandbox.kommo.models import (
    Catalog,
    CatalogElement,
    CustomField,
    Enum,
    Pipeline,
    Status,
)

if TYPE_CHECKING:
    from kommo_xero.sandbox.kommo.state import KommoState

SALES_PIPELINE_ID = 7712003
WON_STATUS_ID = 142
LOST_STATUS_ID = 143

_STATUSES = [
    Status(63459799, "Incoming leads", 10, "#c1c1c1", type=1, is_editable=False),
    Status(63459803, "New deal", 20, "#99ccff"),
    Status(63459807, "Negotiation", 30, "#ffff99"),
    Status(63459811, "Payment Approved", 40, "#ccff66"),
    Status(63459815, "Paid", 50, "#87f2c0"),
    Status(63459819, "Invoice voided", 60, "#ff8f92"),
    Status(WON_STATUS_ID, "Closed - won", 10000, "#CCFF66", is_editable=False),
    Status(LOST_STATUS_ID, "Closed - lost", 11000, "#D5D8DB", is_editable=False),
]

LEAD_FIELD_SERVICE_DESCRIPTION = 1118101
LEAD_FIELD_CURRENCY = 1118103
LEAD_FIELD_DUE_DATE = 1118105
CONTACT_FIELD_PHONE = 735649
CONTACT_FIELD_EMAIL = 735651
COMPANY_FIELD_PHONE = 735661
COMPANY_FIELD_EMAIL = 735663
PRODUCTS_CATALOG_ID = 4519
INVOICES_CATALOG_ID = 4521
PRODUCT_FIELD_PRICE = 771938
PRODUCT_FIELD_SKU = 771940


def _multitext(field_id: int, name: str, code: str, entity: str, enum_base: int) -> CustomField:
    codes = ["WORK", "PRIV", "OTHER"] if code == "EMAIL" else ["WORK", "MOB", "PRIV", "OTHER"]
    enums = [Enum(enum_base + i, c, i + 1, code=c) for i, c in enumerate(codes)]
    return CustomField(
        field_id,
        name,
        "multitext",
        entity,
        sort=4,
        code=code,
        enums=enums,
        is_predefined=True,
        is_deletable=False,
    )


def _fields() -> list[CustomField]:
    currencies = ["USD", "EUR", "GBP", "NZD", "AUD"]
    return [
        CustomField(LEAD_FIELD_SERVICE_DESCRIPTION, "Service description", "textarea", "leads"),
        CustomField(
            LEAD_FIELD_CURRENCY,
            "Currency",
            "select",
            "leads",
            enums=[Enum(908101 + i, c, i + 1) for i, c in enumerate(currencies)],
        ),
        CustomField(LEAD_FIELD_DUE_DATE, "Due date", "date", "leads"),
        _multitext(CONTACT_FIELD_PHONE, "Phone", "PHONE", "contacts", 718321),
        _multitext(CONTACT_FIELD_EMAIL, "Email", "EMAIL", "contacts", 718333),
        _multitext(COMPANY_FIELD_PHONE, "Phone", "PHONE", "companies", 718341),
        _multitext(COMPANY_FIELD_EMAIL, "Email", "EMAIL", "companies", 718353),
        CustomField(
            PRODUCT_FIELD_PRICE,
            "Price",
            "price",
            "catalogs",
            code="PRICE",
            catalog_id=PRODUCTS_CATALOG_ID,
            is_predefined=True,
            is_deletable=False,
        ),
        CustomField(
            PRODUCT_FIELD_SKU,
            "SKU",
            "text",
            "catalogs",
            code="SKU",
            catalog_id=PRODUCTS_CATALOG_ID,
            is_predefined=True,
            is_deletable=False,
        ),
        CustomField(
            771950,
            "Status",
            "select",
            "catalogs",
            code="BILL_STATUS",
            catalog_id=INVOICES_CATALOG_ID,
            is_predefined=True,
            is_deletable=False,
            enums=[
                Enum(908151, "Created", 1, code="created"),
                Enum(908152, "Paid", 2, code="paid"),
                Enum(908153, "Partially paid", 3, code="partially_paid"),
            ],
        ),
        CustomField(
            771952,
            "Amount",
            "numeric",
            "catalogs",
            code="BILL_PRICE",
            catalog_id=INVOICES_CATALOG_ID,
            is_predefined=True,
        ),
        CustomField(
            771954,
            "Payer",
            "linked_entity",
            "catalogs",
            code="PAYER",
            catalog_id=INVOICES_CATALOG_ID,
            is_predefined=True,
        ),
        CustomField(
            771956,
            "Items",
            "items",
            "catalogs",
            code="ITEMS",
            catalog_id=INVOICES_CATALOG_ID,
            is_predefined=True,
        ),
        CustomField(
            771958,
            "Payment date",
            "date",
            "catalogs",
            code="BILL_PAYMENT_DATE",
            catalog_id=INVOICES_CATALOG_ID,
            is_predefined=True,
        ),
        CustomField(
            771960,
            "Comment",
            "text",
            "catalogs",
            code="BILL_COMMENT",
            catalog_id=INVOICES_CATALOG_ID,
            is_predefined=True,
        ),
    ]


_PRODUCTS = [
    (525401, "Website design", 1500, "WEB-DES"),
    (525402, "Hosting (12 months)", 240, "HOST-12"),
    (525403, "SEO audit", 800, "SEO-AUD"),
]


def populate(state: KommoState) -> None:
    """Fill an empty state with the seed account (called at start and by /_sim/reset)."""
    now = state.now()
    state.pipelines = {
        SALES_PIPELINE_ID: Pipeline(SALES_PIPELINE_ID, "Sales", 1, True, list(_STATUSES))
    }
    state.fields = {f.id: f for f in _fields()}
    state.catalogs = {
        PRODUCTS_CATALOG_ID: Catalog(PRODUCTS_CATALOG_ID, "Products", "products", now),
        INVOICES_CATALOG_ID: Catalog(
            INVOICES_CATALOG_ID, "Invoices", "invoices", now, can_show_in_cards=True
        ),
    }
    state.elements = {
        element_id: CatalogElement(
            element_id,
            PRODUCTS_CATALOG_ID,
            name,
            now,
            now,
            state.config.user_id,
            custom_fields={
                PRODUCT_FIELD_PRICE: [{"value": price}],
                PRODUCT_FIELD_SKU: [{"value": sku}],
            },
        )
        for element_id, name, price, sku in _PRODUCTS
    }
