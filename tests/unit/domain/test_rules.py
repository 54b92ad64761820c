"""Pure rules of flow A: mapping, status labels, triggers and Xero refusals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from kommo_xero.domain.mapping import MappingRules, plan_invoice
from kommo_xero.domain.model import Deal, Organisation, Party, PartyKind, ProductLine
from kommo_xero.domain.refusals import explain_refusal
from kommo_xero.domain.status import allows_new_invoice, status_label
from kommo_xero.domain.triggers import cause_id, entered_trigger_stage

TODAY = date(2026, 3, 2)
ORG = Organisation(
    "Demo", "USD", frozenset({"USD", "EUR"}), frozenset({"200"}), frozenset({"NONE"})
)
RULES = MappingRules(
    "200", "NONE", "AUTHORISED", 14, "Exclusive", "Kommo deal {lead_id}", "main_contact", None
)
ACME = Party(PartyKind.contact, 7, "ACME Ltd", "ap@acme.example")
CORP = Party(PartyKind.company, 8, "ACME Group")


def deal(**changes: object) -> Deal:
    base: dict[str, object] = {
        "lead_id": 42,
        "name": "Redesign",
        "price": Decimal("4500"),
        "pipeline_id": 1,
        "status_id": 2,
        "url": "https://k/leads/detail/42",
        "currency": "USD",
        "contact": ACME,
    }
    return Deal(**{**base, **changes})  # type: ignore[arg-type]


def codes(result: object) -> list[str]:
    assert isinstance(result, list)
    return [p.code for p in result]


def test_plan_uses_price_description_and_due_days() -> None:
    """A deal without products becomes one line at its price, due after the configured days."""
    plan = plan_invoice(deal(description="Phase 1"), ORG, RULES, TODAY)
    assert not isinstance(plan, list)
    assert [(ln.description, ln.quantity, ln.unit_amount) for ln in plan.lines] == [
        ("Phase 1", 1, 4500)
    ]
    assert plan.due_date == date(2026, 3, 16)
    assert plan.reference == "Kommo deal 42"
    assert plan.bill_to == ACME


def test_plan_has_one_line_per_product() -> None:
    """Linked products become one line each, with quantity and price, and set the total."""
    products = (
        ProductLine("Hosting", Decimal("2"), Decimal("10.50")),
        ProductLine("Setup", Decimal("1"), Decimal("99")),
    )
    plan = plan_invoice(deal(products=products), ORG, RULES, TODAY)
    assert not isinstance(plan, list)
    assert [ln.description for ln in plan.lines] == ["Hosting", "Setup"]
    assert plan.total == Decimal("120.00")


def test_company_billing_falls_back_to_contact() -> None:
    """With bill_to=company the company is billed; without a company, the contact."""
    rules = MappingRules(**{**RULES.__dict__, "bill_to": "company"})
    with_company = plan_invoice(deal(company=CORP), ORG, rules, TODAY)
    without = plan_invoice(deal(), ORG, rules, TODAY)
    assert not isinstance(with_company, list) and with_company.bill_to == CORP
    assert not isinstance(without, list) and without.bill_to == ACME


def test_every_problem_is_reported_at_once() -> None:
    """No contact, zero amount and a disabled currency are all named, each with a fix."""
    result = plan_invoice(deal(contact=None, price=Decimal("0"), currency="NZD"), ORG, RULES, TODAY)
    assert codes(result) == ["no_contact", "zero_amount", "currency_not_enabled"]
    assert all(p.fix for p in result)  # type: ignore[union-attr]


def test_unknown_account_and_tax_type_are_problems() -> None:
    """An account code or tax type missing in Xero parks the deal instead of sending it."""
    rules = MappingRules(**{**RULES.__dict__, "account_code": "999", "tax_type": "GST"})
    assert codes(plan_invoice(deal(), ORG, rules, TODAY)) == [
        "unknown_account_code",
        "unknown_tax_type",
    ]


def test_past_due_date_is_replaced_by_due_days() -> None:
    """A due date already past is not used; a future one is."""
    past = plan_invoice(deal(due_date=date(2026, 1, 1)), ORG, RULES, TODAY)
    future = plan_invoice(deal(due_date=date(2026, 4, 1)), ORG, RULES, TODAY)
    assert not isinstance(past, list) and past.due_date == date(2026, 3, 16)
    assert not isinstance(future, list) and future.due_date == date(2026, 4, 1)


def test_status_labels_and_reinvoicing() -> None:
    """AUTHORISED reads "Awaiting payment" (or "Part paid"); only voided/deleted allow a new one."""
    assert status_label("AUTHORISED") == "Awaiting payment"
    assert status_label("AUTHORISED", Decimal("1")) == "Part paid"
    assert status_label("PAID") == "Paid"
    assert allows_new_invoice("VOIDED") and allows_new_invoice(None)
    assert not allows_new_invoice("AUTHORISED")


def test_trigger_stage_entry_rules() -> None:
    """Status moves and adds into the stage count; plain updates and other pipelines do not."""
    kw = {"trigger_pipeline_id": 1, "trigger_status_id": 2}
    assert entered_trigger_stage("status", 2, 3, 1, **kw)
    assert entered_trigger_stage("add", 2, None, 1, **kw)
    assert not entered_trigger_stage("update", 2, None, 1, **kw)
    assert not entered_trigger_stage("status", 2, 3, 9, **kw)
    assert not entered_trigger_stage("status", 5, 3, 1, **kw)
    assert cause_id(1, 42, 2, 100) == cause_id(1, 42, 2, "100")


def test_refusals_are_explained() -> None:
    """Xero's messages map to a code and a fix; unknown ones keep Xero's words."""
    assert explain_refusal(["Account must be valid."]).code == "unknown_account_code"
    assert explain_refusal(["The currency NZD is not enabled"]).code == "currency_not_enabled"
    odd = explain_refusal(["Something odd"])
    assert odd.code == "xero_refused" and "Something odd" in odd.message
