"""The Kommo client end to end against the Kommo simulator."""

from __future__ import annotations

import io

import pytest
from fpdf import FPDF

from kommo_xero.kommo import KommoClient
from kommo_xero.kommo.models import (
    CompanyCreate,
    ComplexLead,
    ContactCreate,
    CustomFieldCreate,
    FieldValue,
    LeadCreate,
    LeadPatch,
    LinkCreate,
    NoteCreate,
    find_stage,
)
from kommo_xero.transport import ValidationFailed

pytestmark = pytest.mark.anyio

SALES = 7712003
PAYMENT_APPROVED = 63459811


def small_pdf() -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="Invoice INV-0042")
    out = io.BytesIO()
    pdf.output(out)
    return out.getvalue()


async def test_account_pipelines_and_stage_lookup(kommo: KommoClient) -> None:
    """The account reports its drive, and "Payment Approved" is found in "Sales" by name."""
    account = await kommo.get_account(with_drive_url=True)
    stage = find_stage(await kommo.list_pipelines(), "payment approved", "Sales")
    assert (account.id, bool(account.drive_url)) == (30000001, True)
    assert stage is not None and (stage.id, stage.pipeline_id) == (PAYMENT_APPROVED, SALES)


async def test_lead_fields_create_list_delete(kommo: KommoClient) -> None:
    """Lead fields the integration needs can be created, found, and deleted again."""
    created = await kommo.create_lead_fields(
        [
            CustomFieldCreate(name="Xero invoice number", type="text"),
            CustomFieldCreate(
                name="Xero invoice status",
                type="select",
                enums=["Draft", "Awaiting payment", "Paid"],
            ),
        ]
    )
    status = created[1]
    assert status.enum_id("paid") is not None
    names = {f.name for f in await kommo.list_lead_fields()}
    assert {"Xero invoice number", "Xero invoice status"} <= names
    await kommo.delete_lead_field(created[0].id)
    assert created[0].id not in {f.id for f in await kommo.list_lead_fields()}


async def test_contact_lead_round_trip_with_fields(kommo: KommoClient) -> None:
    """A lead created with a contact and field values reads back with both."""
    [contact_ref] = await kommo.create_contacts(
        [ContactCreate(name="Jane Roe", email="jane.roe@example.com", phone="+15551234567")]
    )
    fields = await kommo.create_lead_fields([CustomFieldCreate(name="Invoice no", type="text")])
    [ref] = await kommo.create_leads(
        [
            LeadCreate(
                name="Website redesign",
                price=4500,
                pipeline_id=SALES,
                contact_id=contact_ref.id,
                fields=[FieldValue.text(fields[0].id, "INV-0042")],
                request_id="r-1",
            )
        ]
    )
    lead = await kommo.get_lead(ref.id)
    contact = await kommo.get_contact(contact_ref.id)
    assert ref.request_id == "r-1"
    assert lead is not None and ("INV-0042", contact_ref.id) == (
        lead.field_text(fields[0].id),
        lead.main_contact_id,
    )
    assert contact is not None
    assert (contact.email, contact.phone) == ("jane.roe@example.com", "+15551234567")
    found = await kommo.search_contacts("jane.roe@example.com")
    assert contact_ref.id in [c.id for c in found]


async def test_contacts_and_companies_are_read_many_at_once(kommo: KommoClient) -> None:
    """Several contacts (and companies) come back from one call by id; unknown ids are absent."""
    refs = await kommo.create_contacts([ContactCreate(name=f"Many {n}") for n in range(3)])
    companies = await kommo.create_companies([CompanyCreate(name="Many Co")])
    ids = [r.id for r in refs]
    found = await kommo.get_contacts([*ids, 999999999])
    assert sorted(ids) == sorted(c.id for c in found)
    assert [companies[0].id] == [c.id for c in await kommo.get_companies([companies[0].id])]


async def test_empty_answers_are_empty_not_errors(kommo: KommoClient) -> None:
    """No search match, no lead, no files: empty results (Kommo's 204), not exceptions."""
    assert await kommo.search_contacts("no-such-person-zz@example.invalid") == []
    assert await kommo.get_lead(999_999_999) is None
    [ref] = await kommo.create_leads([LeadCreate(name="No files", pipeline_id=SALES)])
    assert await kommo.list_lead_files(ref.id) == []


async def test_batch_patch_moves_many_leads(kommo: KommoClient) -> None:
    """60 leads are created and moved to Payment Approved in two PATCH batches."""
    refs = await kommo.create_leads(
        [LeadCreate(name=f"Bulk {i}", pipeline_id=SALES) for i in range(60)]
    )
    ids = [r.id for r in refs]
    updated = await kommo.update_leads(
        [LeadPatch(id=i, pipeline_id=SALES, status_id=PAYMENT_APPROVED) for i in ids]
    )
    leads = await kommo.get_leads(ids)
    assert sorted(ids) == sorted(u.id for u in updated)
    assert {PAYMENT_APPROVED} == {lead.status_id for lead in leads}
    in_stage = [
        lead.id
        async for lead in kommo.iter_leads(pipeline_id=SALES, status_id=PAYMENT_APPROVED, limit=25)
    ]
    assert set(ids) <= set(in_stage)
    events = [
        e
        async for e in kommo.iter_events(
            types=["lead_status_changed"], pipeline_id=SALES, status_id=PAYMENT_APPROVED
        )
    ]
    assert set(ids) <= {e.entity_id for e in events}


async def test_single_update_and_validation_error(kommo: KommoClient) -> None:
    """A single PATCH bumps updated_at; an invalid select choice is a readable error."""
    [ref] = await kommo.create_leads([LeadCreate(name="Single", pipeline_id=SALES)])
    updated = await kommo.update_lead(LeadPatch(id=ref.id, price=99))
    assert ref.id == updated.id
    [select] = await kommo.create_lead_fields(
        [CustomFieldCreate(name="Status pick", type="select", enums=["A", "B"])]
    )
    with pytest.raises(ValidationFailed) as caught:
        await kommo.update_leads(
            [LeadPatch(id=ref.id, fields=[FieldValue.select(select.id, enum_id=1)])]
        )
    assert any("custom_fields_values.0" in message for message in caught.value.errors)


async def test_complex_lead_creates_contact_and_company(kommo: KommoClient) -> None:
    """A complex create returns the new lead, contact and company ids."""
    [result] = await kommo.create_complex_leads(
        [
            ComplexLead(
                lead=LeadCreate(
                    name="INV-0042 ACME Ltd", price=1200, pipeline_id=SALES, request_id="c1"
                ),
                contact=ContactCreate(first_name="Ann", last_name="Lee", email="ann@acme.test"),
                company=CompanyCreate(name="ACME Ltd"),
            )
        ]
    )
    lead = await kommo.get_lead(result.id)
    assert lead is not None and result.contact_id == lead.main_contact_id
    company = await kommo.get_company(result.company_id or 0)
    assert company is not None and company.name == "ACME Ltd"


async def test_pdf_upload_attach_and_note(kommo: KommoClient) -> None:
    """A PDF uploads through the drive, shows in the lead's files, and gets a note."""
    [ref] = await kommo.create_leads([LeadCreate(name="With PDF", pipeline_id=SALES)])
    uploaded = await kommo.upload_file("INV-0042.pdf", small_pdf(), "application/pdf")
    await kommo.attach_files_to_lead(ref.id, [uploaded.uuid])
    notes = await kommo.add_lead_notes(
        [
            NoteCreate.attachment(
                ref.id,
                file_uuid=uploaded.uuid,
                file_name="INV-0042.pdf",
                version_uuid=uploaded.version_uuid,
            ),
            NoteCreate.service(ref.id, "Invoice INV-0042 created"),
            NoteCreate.common(ref.id, "hello"),
        ]
    )
    assert [uploaded.uuid] == [f.file_uuid for f in await kommo.list_lead_files(ref.id)]
    assert len(notes) == 3


async def test_multi_part_upload(kommo: KommoClient) -> None:
    """A file larger than the drive's part size arrives whole, in several parts."""
    content = bytes(range(256)) * 1200  # 300 KB: three parts of at most 128 KB
    uploaded = await kommo.upload_file("big.bin", content, "application/octet-stream")
    assert len(content) == uploaded.size


async def test_links_and_catalog_elements(kommo: KommoClient) -> None:
    """A product linked to a lead reads back with its price, sku and quantity."""
    [ref] = await kommo.create_leads([LeadCreate(name="Products", pipeline_id=SALES)])
    catalogs = {c.type: c for c in await kommo.list_catalogs()}
    products = catalogs["products"]
    await kommo.link_to_lead(
        ref.id, [LinkCreate.catalog_element(525401, catalog_id=products.id, quantity=2)]
    )
    lead = await kommo.get_lead(ref.id)
    element = await kommo.get_catalog_element(products.id, 525401)
    links = await kommo.get_lead_links(ref.id)
    assert lead is not None and [(e.id, e.quantity) for e in lead.catalog_elements] == [(525401, 2)]
    assert (element.name, element.price, element.sku) == ("Website design", 1500, "WEB-DES")
    assert 525401 in [link.to_entity_id for link in links]


async def test_webhook_subscriptions(kommo: KommoClient) -> None:
    """A webhook is registered, listed, and removed by its URL."""
    url = "http://127.0.0.1:9/kommo/secret/webhook"
    hook = await kommo.add_webhook(url, ["status_lead", "add_lead"])
    assert url in [w.destination for w in await kommo.list_webhooks()]
    await kommo.delete_webhook(url)
    assert url not in [w.destination for w in await kommo.list_webhooks()]
    assert hook.settings == ["status_lead", "add_lead"]
