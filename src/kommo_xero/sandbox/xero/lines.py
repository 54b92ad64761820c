"""Line items and totals: Exclusive / Inclusive / NoTax maths, rounded per line to 2 dp."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .formats import FOUR_DP, money, new_id, to_decimal
from .messages import ACCOUNT_INVALID, LINE_AMOUNT_TYPES_INVALID, TAX_RATE_INVALID
from .models import Invoice, LineItem, Org

LINE_AMOUNT_TYPES = ("Exclusive", "Inclusive", "NoTax")
HUNDRED = Decimal("100")


def build_line(
    org: Org, raw: dict[str, Any], previous: LineItem | None, errors: list[str]
) -> LineItem:
    """Turn one posted line into a LineItem, appending any validation message to `errors`."""
    quantity = _number(raw, "Quantity", errors)
    unit = _number(raw, "UnitAmount", errors)
    given_amount = _number(raw, "LineAmount", errors)
    discount = _number(raw, "DiscountRate", errors)
    if previous is not None:
        quantity = quantity if "Quantity" in raw else previous.quantity
        unit = unit if "UnitAmount" in raw else previous.unit_amount
        discount = discount if "DiscountRate" in raw else previous.discount_rate
    if quantity is None:
        # Xero derives the missing factor: LineAmount alone means one unit of that amount.
        quantity = Decimal("1") if (unit is not None or given_amount is not None) else Decimal("0")
    if unit is None:
        unit = (given_amount / quantity) if (given_amount is not None and quantity) else Decimal(0)
    account_code = str(raw.get("AccountCode") or (previous.account_code if previous else ""))
    if account_code and account_code not in org.accounts:
        errors.append(ACCOUNT_INVALID)
    default_tax = org.accounts[account_code].tax_type if account_code in org.accounts else "NONE"
    tax_type = str(raw.get("TaxType") or (previous.tax_type if previous else "") or default_tax)
    if tax_type not in org.tax_rates:
        errors.append(TAX_RATE_INVALID)
    gross = quantity * unit
    if discount:
        gross = gross * (HUNDRED - discount) / HUNDRED
    override = _number(raw, "TaxAmount", errors)
    return LineItem(
        line_item_id=previous.line_item_id if previous else new_id(),
        description=str(raw.get("Description") or (previous.description if previous else "")),
        quantity=quantity.quantize(FOUR_DP),
        unit_amount=unit.quantize(FOUR_DP),
        line_amount=money(gross),
        tax_amount=money(override) if override is not None else Decimal("-1"),
        account_code=account_code,
        tax_type=tax_type,
        item_code=str(raw.get("ItemCode") or (previous.item_code if previous else "")),
        discount_rate=discount,
        tracking=list(raw.get("Tracking") or (previous.tracking if previous else [])),
    )


def _number(raw: dict[str, Any], key: str, errors: list[str]) -> Decimal | None:
    try:
        return to_decimal(raw.get(key))
    except ValueError:
        errors.append(f"{key} must be a number.")
        return None


def compute_totals(org: Org, invoice: Invoice) -> None:
    """Fill TaxAmount per line (unless given) and the invoice's SubTotal, TotalTax, Total."""
    if invoice.line_amount_types not in LINE_AMOUNT_TYPES:
        raise ValueError(LINE_AMOUNT_TYPES_INVALID)
    sub_total = Decimal("0")
    total_tax = Decimal("0")
    for line in invoice.line_items:
        rate_record = org.tax_rates.get(line.tax_type)
        rate = rate_record.rate if rate_record else Decimal("0")
        if invoice.line_amount_types == "NoTax":
            line.tax_amount = Decimal("0")
        elif line.tax_amount < 0:
            if invoice.line_amount_types == "Exclusive":
                line.tax_amount = money(line.line_amount * rate / HUNDRED)
            else:
                line.tax_amount = money(line.line_amount * rate / (HUNDRED + rate))
        if invoice.line_amount_types == "Inclusive":
            sub_total += line.line_amount - line.tax_amount
        else:
            sub_total += line.line_amount
        total_tax += line.tax_amount
    invoice.sub_total = money(sub_total)
    invoice.total_tax = money(total_tax)
    invoice.total = money(sub_total + total_tax)
