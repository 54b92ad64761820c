"""Documents step aside while other deals of the connection still wait for their invoice."""

from __future__ import annotations

import time

from .conftest import Box, wait_until


def pdfs(box: Box, lead_id: int) -> list[str]:
    return [f["name"] for f in box.deal(lead_id)["files"] if f["is_pdf"]]


def test_a_deal_waiting_for_its_invoice_holds_back_other_deals_documents(box: Box) -> None:
    """While a deal is claimed and not yet invoiced, the PDF of an invoiced deal waits."""
    conn = box.settings.connection_name
    waiting = box.store.claim_deal(conn, 999_001, "kommo:test:waiting", "Waiting deal")
    lead_id = box.new_deal(price=300)
    box.approve_deal(lead_id)
    number = wait_until(lambda: box.deal(lead_id)["fields"].get("Xero invoice number"))
    time.sleep(3)  # documents would have been attached by now (they take well under a second)
    assert pdfs(box, lead_id) == []
    box.store.update_link(waiting.link_id, state="parked")  # the other deal is done with
    wait_until(lambda: pdfs(box, lead_id) == [f"{number}.pdf"])
