"""Jinja2 environment and the filters the templates use (dates, money, statuses)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

TEMPLATES = Path(__file__).parent / "templates"

# Plain words for the reason codes the flows park with.
REASON_TITLES = {
    "currency_not_enabled": "Currency not enabled in Xero",
    "unknown_account_code": "Account code not found in Xero",
    "unknown_tax_type": "Tax rate not found in Xero",
    "contact_refused": "Xero refused the contact",
    "period_locked": "Accounting period is locked",
    "xero_refused": "Xero refused the invoice",
    "connection_revoked": "Access was revoked",
    "deal_gone": "The deal no longer exists",
    "no_contact": "The deal has no client",
    "zero_amount": "The deal has no amount",
    "not_found": "Something was not found",
    "transient": "The service did not answer",
    "rate_limited": "Rate limit reached",
    "api_error": "An API call failed",
    "documents_failed": "The PDF could not be attached",
}


def when(value: datetime | str | None) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if value.tzinfo is None:  # SQLite hands back naive datetimes that were stored as UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def unix_when(value: float | None) -> str:
    return when(datetime.fromtimestamp(value, UTC)) if value else "—"


def money(value: Decimal | float | int | None) -> str:
    if value is None:
        return "—"
    return f"{Decimal(value):,.2f}"


def reason_title(code: str) -> str:
    return REASON_TITLES.get(code, code.replace("_", " ").capitalize())


def pretty_json(text: str | None) -> str:
    if not text:
        return ""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False, default=str)
    except ValueError:
        return text


def status_class(value: str | None) -> str:
    return f"badge-{(value or 'none').lower().replace(' ', '-')}"


def make_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        when=when,
        unix_when=unix_when,
        money=money,
        reason_title=reason_title,
        pretty_json=pretty_json,
        status_class=status_class,
    )
    return env


def render(env: Environment, template: str, **context: Any) -> str:
    return env.get_template(template).render(**context)
