"""Configuration of the Xero simulator: credentials, organisations (tenants), limits, timing."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

DEFAULT_TENANT_ID = "c2cc9b6e-9458-4c7d-93cc-f02b81b0594f"
UK_TENANT_ID = "4f0a9c2e-8d3b-4b7a-9e61-2c5d7f8a1b34"

CURRENCY_NAMES = {
    "USD": "United States Dollar",
    "EUR": "Euro",
    "GBP": "British Pound",
    "NZD": "New Zealand Dollar",
    "AUD": "Australian Dollar",
    "CAD": "Canadian Dollar",
    "JPY": "Japanese Yen",
}


@dataclass
class SimAccount:
    """A chart-of-accounts entry (only what invoices and payments look at)."""

    code: str
    name: str
    type: str  # REVENUE, BANK, ...
    account_id: str
    enable_payments: bool = False
    tax_type: str = "NONE"


@dataclass
class SimTaxRate:
    tax_type: str
    name: str
    rate: Decimal  # percent, e.g. Decimal("10")


@dataclass
class SimTenant:
    """One Xero organisation as the simulator starts it."""

    tenant_id: str = DEFAULT_TENANT_ID
    name: str = "Sandbox Company (US)"
    base_currency: str = "USD"
    currencies: list[str] = field(default_factory=lambda: ["USD", "EUR", "GBP"])
    country_code: str = "US"
    short_code: str = "!sbxUS"
    invoice_prefix: str = "INV-"
    accounts: list[SimAccount] = field(default_factory=lambda: default_accounts())
    tax_rates: list[SimTaxRate] = field(default_factory=lambda: default_tax_rates())


def default_accounts() -> list[SimAccount]:
    return [
        SimAccount("200", "Sales", "REVENUE", "7d05a53d-613d-4eb2-a2fc-dcb6adb80b80"),
        SimAccount("260", "Other Revenue", "REVENUE", "e0a1f5c4-2f6a-4a87-9d3e-6a0b1c2d3e4f"),
        SimAccount(
            "090",
            "Business Bank Account",
            "BANK",
            "13918178-849a-4823-9a31-57b7eac713d7",
            enable_payments=True,
        ),
    ]


def default_tax_rates() -> list[SimTaxRate]:
    return [
        SimTaxRate("NONE", "No Tax", Decimal("0")),
        SimTaxRate("OUTPUT", "Sales Tax on Income", Decimal("10")),
        # A US-style state sales tax so tests can see a non-round rate at work.
        SimTaxRate("TAX001", "State Sales Tax", Decimal("8.25")),
    ]


def default_tenant() -> SimTenant:
    """The organisation every simulator starts with ("Sandbox Company (US)")."""
    return SimTenant()


def uk_tenant() -> SimTenant:
    """A second organisation for multi-tenant tests ("Sandbox Company (UK)", base GBP)."""
    return SimTenant(
        tenant_id=UK_TENANT_ID,
        name="Sandbox Company (UK)",
        base_currency="GBP",
        currencies=["GBP", "EUR", "USD"],
        country_code="GB",
        short_code="!sbxUK",
    )


@dataclass
class XeroSimConfig:
    """Knobs of the simulator; the defaults mimic Xero's published limits and lifetimes."""

    client_id: str = "xero-sandbox-client"
    client_secret: str = "xero-sandbox-secret"
    webhook_key: str = "xero-sandbox-webhook-key"
    app_name: str = "kommo-xero sandbox"
    tenants: list[SimTenant] = field(default_factory=lambda: [default_tenant()])
    minute_limit: int = 60
    concurrent_limit: int = 5
    day_limit: int = 5000
    app_minute_limit: int = 10000
    enforce_limits: bool = True
    access_token_ttl: int = 1800
    refresh_grace_s: int = 1800
    webhook_time_scale: float = 1.0
    webhook_timeout_s: float = 5.0
    webhook_batch_window_s: float = 0.2
    idempotency_ttl_s: int = 360
    seed: int = 7
