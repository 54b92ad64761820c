"""Plans and parties as plain JSON, so they can be durable workflow step results."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from kommo_xero.domain.model import InvoicePlan, Party, PartyKind, PlannedLine, Problem


def party_to_json(party: Party) -> dict[str, Any]:
    return {
        "kind": party.kind.value,
        "kommo_id": party.kommo_id,
        "name": party.name,
        "email": party.email,
        "phone": party.phone,
    }


def party_from_json(data: dict[str, Any]) -> Party:
    return Party(
        PartyKind(data["kind"]), int(data["kommo_id"]), data["name"], data["email"], data["phone"]
    )


def plan_to_json(plan: InvoicePlan) -> dict[str, Any]:
    return {
        "lead_id": plan.lead_id,
        "bill_to": party_to_json(plan.bill_to),
        "currency": plan.currency,
        "lines": [
            {
                "description": line.description,
                "quantity": str(line.quantity),
                "unit_amount": str(line.unit_amount),
                "account_code": line.account_code,
                "tax_type": line.tax_type,
                "item_code": line.item_code,
            }
            for line in plan.lines
        ],
        "issue_date": plan.issue_date.isoformat(),
        "due_date": plan.due_date.isoformat(),
        "reference": plan.reference,
        "url": plan.url,
        "status": plan.status,
        "line_amount_types": plan.line_amount_types,
    }


def plan_from_json(data: dict[str, Any]) -> InvoicePlan:
    return InvoicePlan(
        lead_id=int(data["lead_id"]),
        bill_to=party_from_json(data["bill_to"]),
        currency=data["currency"],
        lines=tuple(
            PlannedLine(
                description=line["description"],
                quantity=Decimal(line["quantity"]),
                unit_amount=Decimal(line["unit_amount"]),
                account_code=line["account_code"],
                tax_type=line["tax_type"],
                item_code=line["item_code"],
            )
            for line in data["lines"]
        ),
        issue_date=date.fromisoformat(data["issue_date"]),
        due_date=date.fromisoformat(data["due_date"]),
        reference=data["reference"],
        url=data["url"],
        status=data["status"],
        line_amount_types=data["line_amount_types"],
    )


def problem_to_json(problem: Problem) -> dict[str, str]:
    return {"code": problem.code, "message": problem.message, "fix": problem.fix}
