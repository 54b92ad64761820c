"""Patches for one lead queued together are sent as the one write they add up to."""

from __future__ import annotations

from kommo_xero.kommo._payloads import FieldValue, LeadPatch, merge_lead_patches


def test_a_field_write_after_a_stage_move_keeps_the_move() -> None:
    """A stage move then a field-only write for one deal become one item with both."""
    move = LeadPatch(id=1, status_id=15, pipeline_id=7, fields=[FieldValue.text(100, "Paid")])
    fields = LeadPatch(id=1, fields=[FieldValue.text(100, "Voided"), FieldValue.number(101, 0)])
    [merged] = merge_lead_patches([move, fields])
    body = merged.to_api()
    assert (body["status_id"], body["pipeline_id"]) == (15, 7)
    assert body["custom_fields_values"] == [
        {"field_id": 100, "values": [{"value": "Voided"}]},
        {"field_id": 101, "values": [{"value": 0}]},
    ]


def test_leads_keep_their_order_and_the_later_stage_wins() -> None:
    """Other leads' patches stay apart, in first-seen order; a later move replaces an earlier."""
    patches = [
        LeadPatch(id=2, status_id=11, pipeline_id=7),
        LeadPatch(id=3, price=5),
        LeadPatch(id=2, status_id=19, pipeline_id=7),
    ]
    merged = merge_lead_patches(patches)
    assert [(p.id, p.status_id, p.price) for p in merged] == [(2, 19, None), (3, None, 5)]
