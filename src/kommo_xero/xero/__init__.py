"""Xero adapter: typed async Accounting client, OAuth and custom-connection auth, webhooks."""

from kommo_xero.xero.auth import (
    GRANULAR_SCOPES,
    LEGACY_SCOPES,
    ClientCredentialsAuth,
    RefreshingAuth,
    TokenSet,
    TokenSource,
    XeroOAuth,
)
from kommo_xero.xero.client import XeroClient
from kommo_xero.xero.models import (
    Connection,
    Contact,
    ContactCreate,
    Invoice,
    InvoiceContact,
    InvoiceCreate,
    InvoicePage,
    ItemResult,
    LineItemCreate,
    XeroLimits,
)
from kommo_xero.xero.webhook import (
    MalformedWebhook,
    XeroEvent,
    XeroWebhook,
    parse_webhook,
    verify_signature,
)

__all__ = [
    "GRANULAR_SCOPES",
    "LEGACY_SCOPES",
    "ClientCredentialsAuth",
    "Connection",
    "Contact",
    "ContactCreate",
    "Invoice",
    "InvoiceContact",
    "InvoiceCreate",
    "InvoicePage",
    "ItemResult",
    "LineItemCreate",
    "MalformedWebhook",
    "RefreshingAuth",
    "TokenSet",
    "TokenSource",
    "XeroClient",
    "XeroEvent",
    "XeroLimits",
    "XeroOAuth",
    "XeroWebhook",
    "parse_webhook",
    "verify_signature",
]
