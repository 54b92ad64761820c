"""A local Xero: Accounting API, identity/OAuth and webhooks, faithful to Xero's wire format.

from kommo_xero.sandbox.xero import XeroSimConfig, create_app
app = create_app(XeroSimConfig())          # app.state.sim is the XeroState
"""

from __future__ import annotations

from .app import create_app
from .config import (
    DEFAULT_TENANT_ID,
    UK_TENANT_ID,
    SimAccount,
    SimTaxRate,
    SimTenant,
    XeroSimConfig,
    default_tenant,
    uk_tenant,
)
from .state import XeroState
from .webhooks import sign

__all__ = [
    "DEFAULT_TENANT_ID",
    "UK_TENANT_ID",
    "SimAccount",
    "SimTaxRate",
    "SimTenant",
    "XeroSimConfig",
    "XeroState",
    "create_app",
    "default_tenant",
    "sign",
    "uk_tenant",
]
