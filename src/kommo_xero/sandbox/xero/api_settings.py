"""Settings and payments: /Organisation, /Currencies, /Accounts, /TaxRates, /Payments."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from .api_common import (
    apply_where,
    batch_response,
    caller,
    elements,
    failed_element,
    modified_since,
    not_found,
    ok,
    order_by,
    paginate,
    run_batch,
    summarize_flag,
    where_filter,
)
from .config import CURRENCY_NAMES
from .formats import ms_datetime
from .models import Payment
from .payment_ops import delete_payment, write_payment
from .render import payment_json

router = APIRouter()
# Organisation.Version is Xero's regional edition, not the ISO country code.
_VERSIONS = {"US": "US", "GB": "UK", "AU": "AU", "NZ": "NZ"}


@router.get("/Organisation")
async def organisation(request: Request) -> Response:
    state, org, _ = caller(request)
    tenant = org.tenant
    body = {
        "OrganisationID": tenant.tenant_id,
        "APIKey": "",
        "Name": tenant.name,
        "LegalName": tenant.name,
        "PaysTax": True,
        "Version": _VERSIONS.get(tenant.country_code, "GLOBAL"),
        "OrganisationType": "COMPANY",
        "BaseCurrency": tenant.base_currency,
        "CountryCode": tenant.country_code,
        "IsDemoCompany": False,
        "OrganisationStatus": "ACTIVE",
        "FinancialYearEndDay": 31,
        "FinancialYearEndMonth": 12,
        "SalesTaxBasis": "ACCRUALS",
        "DefaultSalesTax": "Tax Exclusive",
        "DefaultPurchasesTax": "Tax Exclusive",
        "CreatedDateUTC": ms_datetime(org.created),
        "OrganisationEntityType": "COMPANY",
        "Timezone": "UTC",
        "ShortCode": tenant.short_code,
        "Edition": "BUSINESS",
        "Class": "PREMIUM",
        "Addresses": [],
        "Phones": [],
        "ExternalLinks": [],
        "PaymentTerms": {},
    }
    return ok(state, "Organisations", [body])


@router.get("/Currencies")
async def currencies(request: Request) -> Response:
    state, org, _ = caller(request)
    rows = [
        (code, {"Code": code, "Description": CURRENCY_NAMES.get(code, code)})
        for code in org.currencies
    ]
    chosen = apply_where(rows, where_filter(request))
    return ok(
        state, "Currencies", [{"Code": c, "Description": CURRENCY_NAMES.get(c, c)} for c in chosen]
    )


@router.get("/Accounts")
async def accounts(request: Request) -> Response:
    state, org, _ = caller(request)
    bodies: list[dict[str, Any]] = []
    for account in org.accounts.values():
        bodies.append(
            {
                "AccountID": account.account_id,
                "Code": account.code,
                "Name": account.name,
                "Type": account.type,
                "Status": "ACTIVE",
                "TaxType": account.tax_type,
                "EnablePaymentsToAccount": account.enable_payments,
                "ShowInExpenseClaims": False,
                "Class": "ASSET" if account.type == "BANK" else "REVENUE",
                "ReportingCode": "",
                "HasAttachments": False,
                "UpdatedDateUTC": ms_datetime(org.created),
                "AddToWatchlist": False,
            }
        )
        if account.type == "BANK":
            bodies[-1].update({"BankAccountType": "BANK", "CurrencyCode": org.tenant.base_currency})
    rows = [(b, {"Code": b["Code"], "Type": b["Type"], "Name": b["Name"]}) for b in bodies]
    return ok(state, "Accounts", apply_where(rows, where_filter(request)))


@router.get("/TaxRates")
async def tax_rates(request: Request) -> Response:
    state, org, _ = caller(request)
    bodies = [
        {
            "Name": rate.name,
            "TaxType": rate.tax_type,
            "Status": "ACTIVE",
            "ReportTaxType": "OUTPUT" if rate.rate else "NONE",
            "CanApplyToAssets": True,
            "CanApplyToEquity": True,
            "CanApplyToExpenses": True,
            "CanApplyToLiabilities": True,
            "CanApplyToRevenue": True,
            "DisplayTaxRate": float(rate.rate),
            "EffectiveRate": float(rate.rate),
            "TaxComponents": [
                {
                    "Name": rate.name,
                    "Rate": float(rate.rate),
                    "IsCompound": False,
                    "IsNonRecoverable": False,
                }
            ],
        }
        for rate in org.tax_rates.values()
    ]
    return ok(state, "TaxRates", bodies)


def payment_fields(payment: Payment) -> dict[str, Any]:
    return {
        "PaymentID": payment.payment_id,
        "Status": payment.status,
        "Reference": payment.reference,
        "Amount": payment.amount,
        "Date": payment.day,
        "Invoice.InvoiceID": payment.invoice_id,
        "UpdatedDateUTC": payment.updated,
    }


@router.get("/Payments")
async def list_payments(request: Request) -> Response:
    state, org, _ = caller(request)
    since = modified_since(request)
    rows = [p for p in org.payments.values() if since is None or p.updated > since]
    rows = apply_where(((p, payment_fields(p)) for p in rows), where_filter(request))
    rows = order_by(request, rows, payment_fields)
    page, pagination = paginate(request, rows)
    extra = {"pagination": pagination} if pagination is not None else {}
    return ok(state, "Payments", [payment_json(org, p) for p in page], **extra)


@router.get("/Payments/{payment_id}")
async def get_payment(request: Request, payment_id: str) -> Response:
    state, org, _ = caller(request)
    payment = org.payments.get(payment_id.lower())
    if payment is None:
        return not_found()
    return ok(state, "Payments", [payment_json(org, payment)])


async def _create_payments(request: Request, *, summarize: bool) -> Response:
    state, org, who = caller(request)
    items = await elements(request, "Payments")
    status, results = run_batch(
        state,
        org,
        who.client_id,
        items,
        write_payment,
        lambda payment: payment_json(org, payment),
        summarize=summarize,
    )
    return batch_response(state, "Payments", status, results)


@router.put("/Payments")
async def create_payments(request: Request) -> Response:
    return await _create_payments(request, summarize=summarize_flag(request))


@router.post("/Payments")
async def create_payment(request: Request) -> Response:
    return await _create_payments(request, summarize=True)


@router.post("/Payments/{payment_id}")
async def delete_payment_route(request: Request, payment_id: str) -> Response:
    state, org, who = caller(request)
    payment = org.payments.get(payment_id.lower())
    if payment is None:
        return not_found()
    items = await elements(request, "Payments")
    if not items or str(items[0].get("Status", "")).upper() != "DELETED":
        echo = failed_element(items[0] if items else {}, ["Payments can only be deleted."])
        return batch_response(state, "Payments", 400, [echo])
    with state.writing(org, who.client_id) as ctx:
        delete_payment(ctx, payment)
    return ok(state, "Payments", [payment_json(org, payment)])
