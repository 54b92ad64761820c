"""Every recorded Kommo webhook variant replayed against the service's webhook URL."""

from __future__ import annotations

from tests.integration.flows.conftest import Sandbox, wait_until
from tests.integration.flows.kommo_bodies import (
    TRIGGER_STATUS,
    fixture_names,
    lead_ids,
    read_body,
    rewrite,
)

# The variants that report a deal entering "Payment Approved" in the "Sales" pipeline.
STARTS_A_FLOW = {
    "parser_status_lead.txt",
    "webhook_lead_status.txt",
    "webhook_lead_status_empty_name.txt",
    "webhook_lead_status_two_leads.txt",
}
IGNORED = {
    "parser_add_lead.txt",
    "parser_company_delete.txt",
    "parser_contact_update.txt",
    "parser_lead_delete.txt",
    "parser_status_doc_account_last.txt",
    "parser_update_lead.txt",
    "webhook_company_add.txt",
    "webhook_contact_add.txt",
    "webhook_lead_add.txt",
    "webhook_lead_add_account_last.txt",
    "webhook_lead_delete.txt",
    "webhook_lead_update.txt",
    "webhook_lead_update_radiobutton_date.txt",
}


def _with_real_deals(sandbox: Sandbox, body: str, prefix: str) -> tuple[str, list[int]]:
    """The body with each lead id replaced by a fresh sandbox deal (so a start would invoice)."""
    mapping = {
        old: sandbox.new_deal(f"{prefix} {i}", 100 + i, client=f"Client {prefix} {i}")
        for i, old in enumerate(dict.fromkeys(lead_ids(body)))
    }
    return rewrite(body, leads=mapping), list(mapping.values())


def test_every_variant_is_accepted_and_only_stage_entries_start_the_flow(sandbox: Sandbox) -> None:
    """All recorded variants answer 2xx; only deals entering the trigger stage get an invoice."""
    assert set(fixture_names()) == STARTS_A_FLOW | IGNORED
    ignored_deals: list[int] = []
    for name in sorted(IGNORED):
        body, deals = _with_real_deals(sandbox, read_body(name), name.removesuffix(".txt"))
        answer = sandbox.post_webhook(body)
        assert 200 <= answer.status_code < 300, (name, answer.text)
        assert answer.json()["accepted"] == 0, name
        ignored_deals += deals
    started_deals: list[int] = []
    for name in sorted(STARTS_A_FLOW):
        body, deals = _with_real_deals(sandbox, read_body(name), name.removesuffix(".txt"))
        answer = sandbox.post_webhook(body)
        assert 200 <= answer.status_code < 300, (name, answer.text)
        assert len(deals) == answer.json()["accepted"], name
        started_deals += deals
    # A lead created straight in the trigger stage counts as entering it.
    body, deals = _with_real_deals(
        sandbox, rewrite(read_body("webhook_lead_add.txt"), status_id=TRIGGER_STATUS), "added"
    )
    assert sandbox.post_webhook(body).json()["accepted"] == 1
    started_deals += deals

    for lead_id in started_deals:
        wait_until(lambda lead_id=lead_id: sandbox.invoiced(lead_id))
        assert len(sandbox.invoices_for(lead_id)) == 1
    for lead_id in ignored_deals:
        assert sandbox.link(lead_id) is None, lead_id
        assert sandbox.invoices_for(lead_id) == []
    assert len(started_deals) == len(sandbox.all_invoices())


def test_rejected_deliveries_start_nothing(sandbox: Sandbox) -> None:
    """Wrong secret → 404, garbage → 400, another account → 403, and no deal is invoiced."""
    lead_id = sandbox.new_deal("Rejected", 700, client="Nobody Ltd")
    status = read_body("webhook_lead_status.txt")
    good = rewrite(status, leads={22514871: lead_id})
    other_account = rewrite(status, account_id=31234567, leads={22514871: lead_id})

    assert sandbox.post_webhook(good, secret="not-the-secret").status_code == 404
    assert sandbox.post_webhook(b"\x00\xff{not a form").status_code == 400
    assert sandbox.post_webhook("leads[status][0][id]=1").status_code == 400
    assert sandbox.post_webhook(other_account).status_code == 403

    # A proper delivery for another deal goes through the same queue; once it is done,
    # anything the rejected ones had started would have run too.
    control = sandbox.new_deal("Control", 800, client="Control Ltd")
    assert sandbox.post_webhook(rewrite(status, leads={22514871: control})).json()["accepted"] == 1
    wait_until(lambda: sandbox.invoiced(control))
    assert sandbox.link(lead_id) is None
    assert sandbox.invoices_for(lead_id) == []
    assert len(sandbox.all_invoices()) == 1
