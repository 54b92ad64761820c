"""A local simulator of the Kommo REST API v4 (see docs/sandbox-kommo.md).

from kommo_xero.sandbox.kommo import KommoSimConfig, create_app
app = create_app(KommoSimConfig(webhook_time_scale=0.001))
"""

from __future__ import annotations

from kommo_xero.sandbox.kommo.app import create_app
from kommo_xero.sandbox.kommo.config import KommoSimConfig
from kommo_xero.sandbox.kommo.dispatcher import WebhookFaults
from kommo_xero.sandbox.kommo.state import KommoState

__all__ = ["KommoSimConfig", "KommoState", "WebhookFaults", "create_app"]
