"""List filters of GET /api/v4/leads, /contacts and /companies (`filter[...]`, `query`, `order`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from kommo_xero.sandbox.kommo.models import FieldValues, Lead, Party
from kommo_xero.sandbox.kommo.phpform import as_list
from kommo_xero.sandbox.kommo.responses import ApiProblem

T = TypeVar("T", Lead, Party)


def with_set(params: dict[str, Any]) -> set[str]:
    return set(as_list(params.get("with")))


def _ints(value: Any) -> set[int]:
    try:
        return {int(v) for v in as_list(value)}
    except ValueError:
        raise ApiProblem(400, "Bad Request", "Filter values should be integers") from None


def _in_range(value: float | None, bounds: Any) -> bool:
    if not isinstance(bounds, dict):
        return value is not None and str(value) == str(bounds)
    if value is None:
        return False
    low, high = bounds.get("from"), bounds.get("to")
    return (low is None or value >= float(low)) and (high is None or value <= float(high))


def _field_matches(values: FieldValues, field_filters: Any) -> bool:
    if not isinstance(field_filters, dict):
        return True
    for field_id, wanted in field_filters.items():
        stored = values.get(int(field_id), [])
        if isinstance(wanted, dict) and ("from" in wanted or "to" in wanted):
            if not any(_in_range(_num(v.get("value")), wanted) for v in stored):
                return False
            continue
        options = set(as_list(wanted))
        texts = {str(v.get("value")) for v in stored} | {str(v.get("enum_id")) for v in stored}
        if not options & texts:
            return False
    return True


def _num(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _stage_pairs(statuses: Any) -> list[tuple[int | None, int | None]]:
    entries = statuses.values() if isinstance(statuses, dict) else statuses or []
    pairs = []
    for entry in entries:
        if isinstance(entry, dict):
            pipeline = entry.get("pipeline_id")
            status = entry.get("status_id")
            pairs.append((int(pipeline) if pipeline else None, int(status) if status else None))
    return pairs


def _common_filters(flt: dict[str, Any]) -> list[Callable[[Any], bool]]:
    checks: list[Callable[[Any], bool]] = []
    if "id" in flt:
        ids = _ints(flt["id"])
        checks.append(lambda e: e.id in ids)
    if "name" in flt:
        names = set(as_list(flt["name"]))
        checks.append(lambda e: e.name in names)
    for key in ("created_at", "updated_at"):
        if key in flt:
            bounds = flt[key]
            checks.append(_range_check(key, bounds))
    if "custom_fields_values" in flt:
        wanted = flt["custom_fields_values"]
        checks.append(lambda e: _field_matches(e.custom_fields, wanted))
    return checks


def _range_check(key: str, bounds: Any) -> Callable[[Any], bool]:
    return lambda entity: _in_range(getattr(entity, key), bounds)


def _lead_filters(flt: dict[str, Any]) -> list[Callable[[Any], bool]]:
    checks = _common_filters(flt)
    if "pipeline_id" in flt:
        pipelines = _ints(flt["pipeline_id"])
        checks.append(lambda lead: lead.pipeline_id in pipelines)
    if "statuses" in flt:
        pairs = _stage_pairs(flt["statuses"])
        checks.append(
            lambda lead: any(
                (p is None or lead.pipeline_id == p) and (s is None or lead.status_id == s)
                for p, s in pairs
            )
        )
    if "price" in flt:
        bounds = flt["price"]
        checks.append(lambda lead: _in_range(lead.price, bounds))
    return checks


def _matches_query(entity: Lead | Party, text: str) -> bool:
    needle = text.casefold()
    haystack = [entity.name, str(entity.id)]
    for values in entity.custom_fields.values():
        haystack.extend(str(v.get("value", "")) for v in values)
    return any(needle in item.casefold() for item in haystack)


def apply(items: Iterable[T], params: dict[str, Any], is_lead: bool) -> list[T]:
    """Filter, search and order entities the way Kommo's list endpoints do."""
    raw = params.get("filter")
    flt: dict[str, Any] = raw if isinstance(raw, dict) else {}
    checks = _lead_filters(flt) if is_lead else _common_filters(flt)
    text = str(params.get("query", "")).strip()
    chosen = [
        e
        for e in items
        if all(check(e) for check in checks) and (not text or _matches_query(e, text))
    ]
    order = params.get("order")
    if isinstance(order, dict) and order:
        key, direction = next(iter(order.items()))
        if key not in ("id", "created_at", "updated_at"):
            raise ApiProblem(400, "Bad Request", f"Unsupported order field {key}")
        chosen.sort(key=lambda e: (getattr(e, key), e.id), reverse=str(direction) == "desc")
    else:
        chosen.sort(key=lambda e: e.id)
    return chosen
