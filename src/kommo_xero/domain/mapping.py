"""Deal → invoice: the pure rules that turn a Kommo deal into a Xero sales invoice plan.

Every reason a deal cannot be invoiced becomes a `Problem` that says what is wrong and how
to fix it, so the flow can write it on the deal and park the work instead of failing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from kommo_xero.domain.model import (
    Deal,
    InvoicePlan,
    Organisation,
    Party,
    PlannedLine,
    Problem,
)


@dataclass(frozen=True)
class MappingRules:
    """The parts of the configuration the mapping needs (kept free of config classes)."""

    account_code: str
    tax_type: str
    invoice_status: str
    due_days: int
    line_amount_types: str
    reference_template: str
    bill_to: str  # "main_contact" or "company"
    default_currency: str | None


def choose_party(deal: Deal, bill_to: str) -> Party | None:
    """The configured party first, the other one as a fallback."""
    preferred = (
        (deal.company, deal.contact) if bill_to == "company" else (deal.contact, deal.company)
    )
    return next((p for p in preferred if p is not None and p.name.strip()), None)


def plan_lines(deal: Deal, rules: MappingRules) -> tuple[PlannedLine, ...]:
    """One line per linked product; otherwise one line from the deal's price and description."""
    if deal.products:
        return tuple(
            PlannedLine(
                description=p.name,
                quantity=p.quantity,
                unit_amount=p.unit_price,
                account_code=rules.account_code,
                tax_type=rules.tax_type,
                item_code=None,
            )
            for p in deal.products
        )
    description = (deal.description or "").strip() or deal.name.strip() or f"Deal {deal.lead_id}"
    return (
        PlannedLine(
            description=description,
            quantity=Decimal("1"),
            unit_amount=deal.price,
            account_code=rules.account_code,
            tax_type=rules.tax_type,
        ),
    )


Check = Callable[[Deal, Organisation, MappingRules, str], Problem | None]


def _no_party(deal: Deal, org: Organisation, rules: MappingRules, currency: str) -> Problem | None:
    if choose_party(deal, rules.bill_to) is not None:
        return None
    return Problem(
        "no_contact",
        f"Deal {deal.lead_id} has no contact or company with a name, so Xero cannot tell who to "
        "bill.",
        "Link a contact (or company) with a name to the deal in Kommo, then move it to the "
        "trigger stage again or run `kommo-xero retry`.",
    )


def _zero_amount(
    deal: Deal, org: Organisation, rules: MappingRules, currency: str
) -> Problem | None:
    lines = plan_lines(deal, rules)
    total = sum((line.amount for line in lines), Decimal("0"))
    if total > 0:
        return None
    return Problem(
        "zero_amount",
        f"Deal {deal.lead_id} has a total of {total} {currency}; an invoice needs an amount above "
        "zero.",
        "Set the deal's sale amount (or link products with prices) in Kommo, then retry.",
    )


def _currency_not_enabled(
    deal: Deal, org: Organisation, rules: MappingRules, currency: str
) -> Problem | None:
    if currency in org.currencies:
        return None
    enabled = ", ".join(sorted(org.currencies)) or "none"
    return Problem(
        "currency_not_enabled",
        f"Currency {currency} is not enabled in the Xero organisation {org.name!r} "
        f"(enabled: {enabled}).",
        f"Enable {currency} in Xero (Settings → Currencies), or change the deal's currency, "
        "then retry.",
    )


def _unknown_account(
    deal: Deal, org: Organisation, rules: MappingRules, currency: str
) -> Problem | None:
    if rules.account_code in org.account_codes:
        return None
    return Problem(
        "unknown_account_code",
        f"Account code {rules.account_code!r} does not exist in the Xero organisation "
        f"{org.name!r}.",
        "Set mapping.account_code to a revenue account code from Xero's chart of accounts, "
        "restart the service, then retry.",
    )


def _unknown_tax_type(
    deal: Deal, org: Organisation, rules: MappingRules, currency: str
) -> Problem | None:
    if rules.tax_type in org.tax_types:
        return None
    return Problem(
        "unknown_tax_type",
        f"Tax type {rules.tax_type!r} does not exist in the Xero organisation {org.name!r}.",
        "Set mapping.tax_type to a tax type listed in Xero (Settings → Tax rates), restart "
        "the service, then retry.",
    )


CHECKS: tuple[Check, ...] = (
    _no_party,
    _zero_amount,
    _currency_not_enabled,
    _unknown_account,
    _unknown_tax_type,
)


def deal_currency(deal: Deal, org: Organisation, rules: MappingRules) -> str:
    return (deal.currency or rules.default_currency or org.base_currency).strip().upper()


def plan_invoice(
    deal: Deal, org: Organisation, rules: MappingRules, today: date
) -> InvoicePlan | list[Problem]:
    """The invoice plan for `deal`, or every problem that prevents one."""
    currency = deal_currency(deal, org, rules)
    problems = [p for check in CHECKS if (p := check(deal, org, rules, currency)) is not None]
    if problems:
        return problems
    party = choose_party(deal, rules.bill_to)
    assert party is not None  # guaranteed by _no_party
    due = deal.due_date if deal.due_date and deal.due_date >= today else None
    return InvoicePlan(
        lead_id=deal.lead_id,
        bill_to=party,
        currency=currency,
        lines=plan_lines(deal, rules),
        issue_date=today,
        due_date=due or today + timedelta(days=rules.due_days),
        reference=rules.reference_template.format(
            lead_id=deal.lead_id, lead_name=deal.name, contact_name=party.name
        )[:255],
        url=deal.url,
        status=rules.invoice_status,
        line_amount_types=rules.line_amount_types,
    )
