"""Request bodies of the /_sim control API."""

from __future__ import annotations

from pydantic import BaseModel, Field


class LineIn(BaseModel):
    description: str = "Services"
    quantity: float = 1
    unit_amount: float = 0
    account_code: str = "200"
    tax_type: str = "NONE"


class ManualInvoiceIn(BaseModel):
    contact_name: str
    contact_email: str = ""
    lines: list[LineIn] = Field(default_factory=lambda: [LineIn(unit_amount=100)])
    currency: str | None = None
    status: str = "DRAFT"
    reference: str = ""
    date: str | None = None
    due_date: str | None = None
    tenant_id: str | None = None


class PayIn(BaseModel):
    amount: float | None = None
    date: str | None = None
    reference: str = "Paid by customer"
    account_code: str = "090"


class CurrencyIn(BaseModel):
    code: str
    enabled: bool = True
    tenant_id: str | None = None


class AccountIn(BaseModel):
    code: str
    name: str = "Added account"
    type: str = "REVENUE"
    remove: bool = False
    enable_payments: bool = False
    tenant_id: str | None = None


class LimitsIn(BaseModel):
    minute_limit: int | None = None
    concurrent_limit: int | None = None
    day_limit: int | None = None
    app_minute_limit: int | None = None
    enforce: bool | None = None
    latency_ms: int | None = None


class ConsentIn(BaseModel):
    deny: bool = False
    tenant_ids: list[str] | None = None


class ClockIn(BaseModel):
    seconds: float


class WebhookIn(BaseModel):
    url: str
    key: str | None = None


class WebhookFaultsIn(BaseModel):
    drop_rate: float = 0.0
    duplicate_rate: float = 0.0
    reorder: bool = False
