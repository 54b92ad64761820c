"""Which Xero organisation a connection serves, and the event-time format of Xero webhooks."""

from __future__ import annotations

from datetime import UTC, datetime

from kommo_xero.workflows.runtime import Runtime


async def tenant_id(rt: Runtime) -> str:
    """The configured tenant; with a custom connection (no tenant configured) the single
    organisation the token is bound to, read once."""
    known = rt.settings.xero.tenant_id or rt.extras.get("xero_tenant_id")
    if known:
        return str(known)
    async with rt.xero_gate():
        org = await rt.xero.get_organisation()
    found = (org.organisation_id or "").lower()
    if found:
        rt.extras["xero_tenant_id"] = found
    return found


def event_time(moment: datetime) -> str:
    """`eventDateUtc` as Xero writes it: UTC, milliseconds, no zone."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
