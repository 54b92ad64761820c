"""Typed views of Kommo's JSON: helpers and tolerance of what Kommo adds without notice."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kommo_xero.kommo.models import (
    CatalogElement,
    Contact,
    Event,
    FieldValue,
    Lead,
    Pipeline,
    find_stage,
)

LEAD = {
    "id": 22514871,
    "name": "Website redesign",
    "price": 4500,
    "status_id": 63459811,
    "pipeline_id": 7712003,
    "brand_new_top_level_field": {"x": 1},
    "custom_fields_values": [
        {
            "field_id": 1118164,
            "field_name": "Xero invoice status",
            "field_code": None,
            "field_type": "select",
            "values": [{"value": "Awaiting payment", "enum_id": 908107}],
        },
        {
            "field_id": 1246491,
            "field_name": "Due date",
            "field_type": "date",
            "values": [{"value": 1756684800}],
        },
        {
            "field_id": 99,
            "field_name": "Tracking",
            "field_type": "tracking_data_v9",
            "values": [{"value": {"utm": "x"}, "surprise": True}],
        },
    ],
    "_embedded": {
        "tags": [{"id": 51233, "name": "xero", "color": None}],
        "companies": [{"id": 10971463}],
        "contacts": [{"id": 1, "is_main": False}, {"id": 37054081, "is_main": True}],
        "catalog_elements": [{"id": 525439, "metadata": {"quantity": 2, "catalog_id": 4521}}],
    },
}


class TestLead:
    def test_field_helpers_find_by_id_and_by_name(self) -> None:
        """Field values are found by id, or by name regardless of case."""
        lead = Lead.model_validate(LEAD)
        assert (
            lead.field_value(1118164),
            lead.field_value("due DATE"),
            lead.field_text(1246491),
        ) == ("Awaiting payment", 1756684800, "1756684800")
        assert lead.field_value(123) is None

    def test_unknown_field_types_and_fields_do_not_break_parsing(self) -> None:
        """A field type the code has never seen is kept as a plain value."""
        assert Lead.model_validate(LEAD).field_value(99) == {"utm": "x"}

    def test_embedded_relations(self) -> None:
        """Main contact, company, tags and catalog elements read from _embedded."""
        lead = Lead.model_validate(LEAD)
        assert (lead.main_contact_id, lead.company_id, lead.tags) == (37054081, 10971463, ["xero"])
        element = lead.catalog_elements[0]
        assert (
            element.id,
            element.catalog_id,
            element.quantity,
            element.price_id,
        ) == (525439, 4521, 2, None)

    def test_null_custom_fields_and_no_embedded(self) -> None:
        """A lead with `custom_fields_values: null` and no _embedded reads as empty."""
        lead = Lead.model_validate({"id": 1, "custom_fields_values": None})
        assert (lead.field_value(1), lead.main_contact_id, lead.tags) == (None, None, [])


def test_contact_exposes_first_email_and_phone() -> None:
    """A contact's email and phone are the first EMAIL and PHONE multitext values."""
    contact = Contact.model_validate(
        {
            "id": 5,
            "name": "Jane Roe",
            "custom_fields_values": [
                {
                    "field_id": 1,
                    "field_code": "PHONE",
                    "field_type": "multitext",
                    "values": [{"value": "+15551234567", "enum_code": "WORK"}],
                },
                {
                    "field_id": 2,
                    "field_code": "EMAIL",
                    "field_type": "multitext",
                    "values": [{"value": "jane@example.com"}, {"value": "other@example.com"}],
                },
            ],
            "_embedded": {"companies": [{"id": 9}]},
        }
    )
    assert (
        contact.name,
        contact.email,
        contact.phone,
        contact.company_id,
    ) == ("Jane Roe", "jane@example.com", "+15551234567", 9)


def test_catalog_element_price_and_sku() -> None:
    """A product's price comes from its PRICE field as an exact Decimal, sku from SKU."""
    element = CatalogElement.model_validate(
        {
            "id": 1,
            "catalog_id": 4521,
            "name": "Widget",
            "custom_fields_values": [
                {"field_id": 3, "field_code": "PRICE", "values": [{"value": "100.10"}]},
                {"field_id": 4, "field_code": "SKU", "values": [{"value": "W-1"}]},
            ],
        }
    )
    assert (Decimal("100.10"), "W-1") == (element.price, element.sku)
    assert CatalogElement.model_validate({"id": 2}).price is None


def test_find_stage_by_name_prefers_main_pipeline() -> None:
    """A stage name is looked up case-insensitively, in the main pipeline first."""

    def pipeline(pid: int, name: str, is_main: bool) -> Pipeline:
        return Pipeline.model_validate(
            {
                "id": pid,
                "name": name,
                "is_main": is_main,
                "_embedded": {"statuses": [{"id": pid * 10, "name": "Payment Approved"}]},
            }
        )

    pipelines = [pipeline(1, "Other", False), pipeline(2, "Sales", True)]
    assert find_stage(pipelines, "payment approved").id == 20  # type: ignore[union-attr]
    assert find_stage(pipelines, "Payment Approved", "other").id == 10  # type: ignore[union-attr]
    assert find_stage(pipelines, "Paid") is None


def test_event_ids_are_text() -> None:
    """Event ids are strings even if a server sends a number."""
    event = Event.model_validate(
        {
            "id": 42,
            "type": "lead_added",
            "entity_id": 1,
            "entity_type": "lead",
            "created_at": 1,
            "value_after": None,
        }
    )
    assert (event.id, event.status_after) == ("42", None)


def test_select_builder_requires_one_choice() -> None:
    """FieldValue.select takes an enum id or a text, not both and not neither."""
    assert FieldValue.select(1, enum_id=5).values == [{"enum_id": 5}]
    with pytest.raises(ValueError):
        FieldValue.select(1)
