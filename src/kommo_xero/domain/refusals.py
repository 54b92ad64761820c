"""Xero's refusal messages turned into a problem a person can act on."""

from __future__ import annotations

from kommo_xero.domain.model import Problem

# (words in Xero's message, code, what to do) — first match wins.
_FIXES: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (
        ("account",),
        "unknown_account_code",
        "Set mapping.account_code to an active revenue account in Xero, restart, then retry.",
    ),
    (
        ("tax",),
        "unknown_tax_type",
        "Set mapping.tax_type to a tax type listed in Xero (Settings → Tax rates), then retry.",
    ),
    (
        ("currency",),
        "currency_not_enabled",
        "Enable the currency in Xero (Settings → Currencies) or change the deal's currency, "
        "then retry.",
    ),
    (
        ("contact",),
        "contact_refused",
        "Check the client's name and email on the deal's contact in Kommo (an archived Xero "
        "contact must be restored first), then retry.",
    ),
    (
        ("lock date", "period"),
        "period_locked",
        "The invoice date falls in a locked period in Xero; ask your accountant, then retry.",
    ),
)


def explain_refusal(errors: list[str]) -> Problem:
    text = " ".join(errors).strip() or "Xero refused the invoice without saying why."
    lowered = text.casefold()
    for words, code, fix in _FIXES:
        if any(word in lowered for word in words):
            return Problem(code, f"Xero refused the invoice: {text}", fix)
    return Problem(
        "xero_refused",
        f"Xero refused the invoice: {text}",
        "Fix what Xero's message names (on the deal in Kommo or in Xero), then retry.",
    )
