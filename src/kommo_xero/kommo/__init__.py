"""Kommo adapter: the typed API client, the webhook parser, OAuth helpers and models."""

from kommo_xero.kommo.auth import (
    BearerToken,
    KommoOAuth,
    RefreshingAuth,
    TokenSet,
    TokenSource,
)
from kommo_xero.kommo.client import KommoClient
from kommo_xero.kommo.webhook import (
    ContactEvent,
    KommoWebhook,
    LeadEvent,
    MalformedWebhook,
    parse_webhook,
)

__all__ = [
    "BearerToken",
    "ContactEvent",
    "KommoClient",
    "KommoOAuth",
    "KommoWebhook",
    "LeadEvent",
    "MalformedWebhook",
    "RefreshingAuth",
    "TokenSet",
    "TokenSource",
    "parse_webhook",
]
