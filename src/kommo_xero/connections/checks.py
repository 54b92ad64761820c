"""The checks `setup` and `doctor` share: each returns one line with, on failure, the fix.

Kommo-side checks live here; Xero-side and local ones in `checks_xero.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kommo_xero.config import Settings
from kommo_xero.domain.status import STATUS_LABELS
from kommo_xero.kommo import KommoClient
from kommo_xero.kommo.models import CustomField, Pipeline, Webhook
from kommo_xero.workflows.runtime import FIELD_STATUS, INTEGRATION_FIELDS, SetupError, find_trigger

OK, WARN, FAIL = "ok", "warn", "fail"
# Lead events the service listens to (new deals, edits, stage moves).
KOMMO_WEBHOOK_EVENTS = ("add_lead", "update_lead", "status_lead")


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok | warn | fail
    detail: str
    fix: str = ""

    @property
    def failed(self) -> bool:
        return self.status == FAIL


def kommo_webhook_url(settings: Settings) -> str:
    secret = settings.kommo.webhook_secret.get_secret_value()
    return f"{settings.service.public_url.rstrip('/')}/webhooks/kommo/{secret}"


def xero_webhook_url(settings: Settings) -> str:
    return f"{settings.service.public_url.rstrip('/')}/webhooks/xero"


def check_trigger(settings: Settings, pipelines: list[Pipeline]) -> Check:
    m = settings.mapping
    try:
        stage = find_trigger(pipelines, m.trigger_pipeline, m.trigger_stage)
    except SetupError as exc:
        return Check(
            "trigger stage",
            FAIL,
            str(exc),
            "Set mapping.trigger_pipeline and mapping.trigger_stage to a pipeline and stage that "
            "exist in Kommo (names or ids), or recreate the stage in Kommo.",
        )
    return Check("trigger stage", OK, f"{m.trigger_pipeline!r} → {stage.name!r} (id {stage.id})")


def _named(fields: Sequence[CustomField], name: str | None) -> CustomField | None:
    if not name:
        return None
    if name.isdigit():
        return next((f for f in fields if f.id == int(name)), None)
    return next((f for f in fields if f.name.casefold() == name.casefold()), None)


def check_fields(settings: Settings, fields: Sequence[CustomField]) -> list[Check]:
    """The integration's own lead fields, then the mapped input fields."""
    missing = [spec.name for spec in INTEGRATION_FIELDS if _named(fields, spec.name) is None]
    checks: list[Check] = []
    if missing:
        checks.append(
            Check(
                "lead fields",
                FAIL,
                "missing in Kommo: " + ", ".join(repr(n) for n in missing),
                "Run `kommo-xero setup` to create them.",
            )
        )
    else:
        status = _named(fields, FIELD_STATUS)
        values = {e.value for e in status.enums} if status else set()
        lacking = [label for label in STATUS_LABELS if label not in values]
        if lacking:
            checks.append(
                Check(
                    "lead fields",
                    FAIL,
                    f"{FIELD_STATUS!r} lacks the options " + ", ".join(map(repr, lacking)),
                    f"Add those options to {FIELD_STATUS!r} in Kommo (Settings → Fields), or "
                    "delete the field and run `kommo-xero setup`.",
                )
            )
        else:
            checks.append(
                Check("lead fields", OK, f"{len(INTEGRATION_FIELDS)} integration fields present")
            )
    m = settings.mapping
    for key, name in (
        ("mapping.description_field", m.description_field),
        ("mapping.currency_field", m.currency_field),
        ("mapping.due_date_field", m.due_date_field),
    ):
        if name and _named(fields, name) is None:
            checks.append(
                Check(
                    "mapped fields",
                    FAIL,
                    f"{key}: no lead field {name!r} in Kommo",
                    f"Create the lead field {name!r} in Kommo, or change {key} (empty to "
                    "disable where allowed).",
                )
            )
    if len(checks) == 1:
        checks.append(Check("mapped fields", OK, "description, currency and due-date fields found"))
    return checks


def check_kommo_webhook(settings: Settings, hooks: Sequence[Webhook]) -> Check:
    url = kommo_webhook_url(settings)
    hook = next((h for h in hooks if h.destination == url), None)
    if hook is None:
        return Check(
            "Kommo webhook",
            FAIL,
            "not registered for this service's URL",
            "Run `kommo-xero setup` (it registers the webhook through the API).",
        )
    if hook.disabled:
        return Check(
            "Kommo webhook",
            FAIL,
            "registered but disabled by Kommo after failed deliveries",
            f"Make sure {settings.service.public_url} is reachable from the internet and "
            "answers, then run `kommo-xero setup` to enable it again.",
        )
    absent = [e for e in KOMMO_WEBHOOK_EVENTS if e not in hook.settings]
    if absent:
        return Check(
            "Kommo webhook",
            FAIL,
            "does not send " + ", ".join(absent),
            "Run `kommo-xero setup` to update its events.",
        )
    return Check("Kommo webhook", OK, "registered and enabled (" + ", ".join(hook.settings) + ")")


async def kommo_setup_checks(settings: Settings, kommo: KommoClient) -> list[Check]:
    """Read-only checks of the Kommo account (used by doctor, and by setup after changes)."""
    checks = [check_trigger(settings, await kommo.list_pipelines())]
    checks += check_fields(settings, await kommo.list_lead_fields())
    checks.append(check_kommo_webhook(settings, await kommo.list_webhooks()))
    return checks
