"""Kommo webhook bodies (fixtures copied from the reference §2.4) become typed events."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlencode

import pytest

from kommo_xero.kommo.webhook import LeadEvent, MalformedWebhook, parse_webhook

FIXTURES = Path(__file__).parents[2] / "fixtures" / "kommo"
FORM = "application/x-www-form-urlencoded"


def fixture(name: str) -> bytes:
    return (FIXTURES / f"parser_{name}.txt").read_bytes()


class TestLeadEvents:
    def test_status_change_reads_every_lead_field(self) -> None:
        """A stage change yields the lead, both stages, pipeline, price and who changed it."""
        hook = parse_webhook(fixture("status_lead"), FORM)
        assert (
            hook.account_id,
            hook.subdomain,
            hook.base_url,
        ) == (31234567, "acmetrading", "https://acmetrading.kommo.com")
        assert [
            LeadEvent(
                action="status",
                lead_id=22514871,
                status_id=63459811,
                old_status_id=63459807,
                pipeline_id=7712003,
                name="Website redesign – ACME Ltd",
                price="4500",
                modified_user_id=10584713,
                updated_at=1754300112,
                last_modified=1754300112,
            )
        ] == hook.lead_events

    def test_add_by_robot_keeps_user_zero(self) -> None:
        """A lead added by the API or a robot reports modified_user_id 0, not None."""
        event = parse_webhook(fixture("add_lead"), FORM).lead_events[0]
        assert (
            event.action,
            event.lead_id,
            event.modified_user_id,
            event.old_status_id,
        ) == ("add", 22514901, 0, None)

    def test_real_amocrm_update_capture(self) -> None:
        """The 2025 amoCRM capture (legacy .amocrm.ru host, Cyrillic field names) parses."""
        hook = parse_webhook(fixture("update_lead"), f"{FORM}; charset=UTF-8")
        assert hook.base_url == "https://etesttask.amocrm.ru"
        assert [(e.action, e.lead_id, e.name) for e in hook.lead_events] == [
            ("update", 32966269, "Test")
        ]
        assert hook.raw["leads"]["update"][0]["custom_fields"][0]["name"] == "Поле1"

    def test_official_example_with_account_last_and_quirky_fields(self) -> None:
        """Account keys last, empty name, corrupted date_create, radiobutton object: all fine."""
        hook = parse_webhook(fixture("status_doc_account_last"), FORM)
        event = hook.lead_events[0]
        assert (
            hook.account_id,
            hook.base_url,
            event.name,
            event.status_id,
        ) == (12345678, None, "", 67548619)
        fields = hook.raw["leads"]["status"][0]["custom_fields"]
        assert fields[1]["values"] == ["1725915600"]
        assert fields[2]["values"] == {"value": "2", "enum": "566642"}

    def test_delete_carries_only_ids(self) -> None:
        """A deleted lead comes with its id, stage and pipeline and nothing else."""
        event = parse_webhook(fixture("lead_delete"), FORM).lead_events[0]
        assert (
            event.action,
            event.lead_id,
            event.status_id,
            event.pipeline_id,
            event.price,
        ) == ("delete", 12345678, 67548607, 8572511, None)

    def test_several_leads_and_actions_in_one_post(self) -> None:
        """Every item of every action in one body becomes an event."""
        body = urlencode(
            [
                ("leads[status][1][id]", "2"),
                ("leads[status][0][id]", "1"),
                ("leads[update][0][id]", "3"),
                ("account[id]", "5"),
            ]
        ).encode()
        hook = parse_webhook(body, FORM)
        assert [(e.action, e.lead_id) for e in hook.lead_events] == [
            ("status", 1),
            ("status", 2),
            ("update", 3),
        ]


class TestContactEvents:
    def test_contact_update(self) -> None:
        """A contact update is a contact event, not a company one."""
        event = parse_webhook(fixture("contact_update"), FORM).contact_events[0]
        assert (
            event.action,
            event.entity_id,
            event.name,
            event.is_company,
        ) == ("update", 37054081, "Jane Roe", False)

    def test_company_arrives_under_contacts(self) -> None:
        """An item with type=company under `contacts` is recognised as a company."""
        event = parse_webhook(fixture("company_delete"), FORM).contact_events[0]
        assert (event.is_company, event.entity_id) == (True, 17611273)


class TestMalformed:
    @pytest.mark.parametrize(
        ("body", "content_type", "reason"),
        [
            (b'{"leads": []}', "application/json", "expected application/x-www-form-urlencoded"),
            (b"", FORM, "empty"),
            (b"just some text", FORM, "not form-encoded"),
            (b"\xff\xfe=\x00", FORM, "not form-encoded"),
            (b"foo=bar&baz=1", FORM, "no Kommo entity"),
            (b"leads%5Badd%5D%5B0%5D%5Bid%5D=1", FORM, "account[id]"),
            (b"account%5Bid%5D=abc&leads%5Badd%5D%5B0%5D%5Bid%5D=1", FORM, "account[id]"),
            (b"account%5Bid%5D=1&leads%5Badd%5D%5B0%5D%5Bid%5D=x1", FORM, "leads[add][0][id]"),
            (b"account%5Bid%5D=1&leads%5Badd%5D%5B0%5D%5Bname%5D=n", FORM, "leads[add][0][id]"),
            (b"account%5Bid%5D=1&leads=flat", FORM, "leads must hold actions"),
            (
                b"account%5Bid%5D=1&leads%5Bstatus%5D%5B0%5D%5Bid%5D=1"
                b"&leads%5Bstatus%5D%5B0%5D%5Bstatus_id%5D=oops",
                FORM,
                "status_id",
            ),
        ],
    )
    def test_garbage_is_rejected_with_a_reason(
        self, body: bytes, content_type: str, reason: str
    ) -> None:
        """Bodies that are not Kommo webhooks raise MalformedWebhook saying what is wrong."""
        with pytest.raises(MalformedWebhook, match=re.escape(reason)):
            parse_webhook(body, content_type)

    def test_missing_content_type_is_sniffed(self) -> None:
        """Without a Content-Type the body is still parsed as a form."""
        assert parse_webhook(fixture("add_lead"), None).account_id == 31234567

    def test_other_entities_are_accepted_without_events(self) -> None:
        """A task webhook is recognised (no error) but produces no lead or contact events."""
        hook = parse_webhook(b"account%5Bid%5D=1&task%5Badd%5D%5B0%5D%5Bid%5D=9", FORM)
        assert (hook.lead_events, hook.contact_events) == ([], [])
