"""Custom field values: validate what a client writes, store it, render it back."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from kommo_xero.sandbox.kommo.models import CustomField, Enum, FieldValues

FIELD_TYPES = frozenset(
    [
        "text",
        "numeric",
        "checkbox",
        "select",
        "multiselect",
        "multitext",
        "date",
        "url",
        "textarea",
        "radiobutton",
        "streetaddress",
        "smart_address",
        "birthday",
        "legal_entity",
        "date_time",
        "items",
        "category",
        "price",
        "tracking_data",
        "linked_entity",
        "org_legal_name",
        "monetary",
        "chained_list",
        "file",
        "payer",
        "supplier",
    ]
)
ENUM_TYPES = frozenset({"select", "multiselect", "radiobutton", "multitext", "category"})
DATE_TYPES = frozenset({"date", "date_time", "birthday"})

Error = dict[str, str]


class ValueProblem(Exception):
    """A single value that does not fit its field (becomes one validation error)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def _choice_error() -> ValueProblem:
    return ValueProblem("NotSupportedChoice", "The value you selected is not a valid choice.")


def _text(field: CustomField, item: Mapping[str, Any]) -> dict[str, Any]:
    value = item.get("value")
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ValueProblem("InvalidType", "This value should be of type string.")
    return {"value": str(value)}


def _number(field: CustomField, item: Mapping[str, Any]) -> dict[str, Any]:
    value = item.get("value")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueProblem("InvalidType", "This value should be of type numeric.") from None
    if field.type == "numeric":
        return {"value": str(value)}  # Kommo returns numeric field values as strings
    return {"value": int(number) if number.is_integer() else number}


def _checkbox(field: CustomField, item: Mapping[str, Any]) -> dict[str, Any]:
    value = item.get("value")
    if not isinstance(value, bool | int):
        raise ValueProblem("InvalidType", "This value should be of type bool.")
    return {"value": bool(value)}


def parse_date(value: Any) -> int:
    """A unix int or an RFC3339 string as unix seconds."""
    if isinstance(value, bool):
        raise ValueProblem("InvalidType", "This value should be a timestamp or RFC3339 date.")
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        if value.lstrip("-").isdigit():
            return int(value)
        try:
            return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
        except ValueError:
            pass
    raise ValueProblem("InvalidType", "This value should be a timestamp or RFC3339 date.")


def _date(field: CustomField, item: Mapping[str, Any]) -> dict[str, Any]:
    return {"value": parse_date(item.get("value"))}


def find_enum(field: CustomField, item: Mapping[str, Any]) -> Enum:
    """The enum picked by enum_id, enum_code or the exact value text."""
    for key, attr in (("enum_id", "id"), ("enum_code", "code"), ("value", "value")):
        if item.get(key) is not None:
            wanted = item[key]
            for enum in field.enums:
                if getattr(enum, attr) == wanted or (attr == "id" and str(enum.id) == str(wanted)):
                    return enum
            raise _choice_error()
    raise _choice_error()


def _enum_value(field: CustomField, item: Mapping[str, Any]) -> dict[str, Any]:
    enum = find_enum(field, item)
    stored: dict[str, Any] = {"value": enum.value, "enum_id": enum.id}
    if enum.code:
        stored["enum_code"] = enum.code
    return stored


def _multitext(field: CustomField, item: Mapping[str, Any]) -> dict[str, Any]:
    text = _text(field, item)["value"]
    enum_item = {k: item[k] for k in ("enum_id", "enum_code") if item.get(k) is not None}
    enum = find_enum(field, enum_item) if enum_item else field.enums[0]
    return {"value": text, "enum_id": enum.id, "enum_code": enum.code}


def _as_given(field: CustomField, item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k in ("value", "enum_id", "enum_code")}


_NORMALISERS: dict[str, Callable[[CustomField, Mapping[str, Any]], dict[str, Any]]] = {
    "text": _text,
    "textarea": _text,
    "url": _text,
    "streetaddress": _text,
    "numeric": _number,
    "monetary": _number,
    "price": _number,
    "checkbox": _checkbox,
    "select": _enum_value,
    "radiobutton": _enum_value,
    "multiselect": _enum_value,
    "category": _enum_value,
    "multitext": _multitext,
    "date": _date,
    "date_time": _date,
    "birthday": _date,
}
_SINGLE_VALUE = frozenset({"select", "radiobutton", "date", "date_time", "birthday", "checkbox"})


def normalise(
    fields: Mapping[int, CustomField], payload: Any, prefix: str = "custom_fields_values"
) -> tuple[dict[int, list[dict[str, Any]] | None], list[Error]]:
    """Check `custom_fields_values` of one entity; `None` in the result clears a field."""
    if payload is None:
        return {}, []
    if not isinstance(payload, list):
        return {}, [_error("InvalidType", prefix, "This value should be of type array.")]
    by_code = {f.code: f for f in fields.values() if f.code}
    changes: dict[int, list[dict[str, Any]] | None] = {}
    errors: list[Error] = []
    for index, entry in enumerate(payload):
        path = f"{prefix}.{index}"
        if not isinstance(entry, dict):
            errors.append(_error("InvalidType", path, "This value should be of type object."))
            continue
        field = _lookup(fields, by_code, entry)
        if field is None:
            key = "field_id" if "field_id" in entry else "field_code"
            errors.append(_error(**_choice_kwargs(f"{path}.{key}")))
            continue
        values = entry.get("values")
        if not values:
            changes[field.id] = None
            continue
        if not isinstance(values, list):
            errors.append(
                _error("InvalidType", f"{path}.values", "This value should be of type array.")
            )
            continue
        stored: list[dict[str, Any]] = []
        for position, item in enumerate(values):
            try:
                if not isinstance(item, dict):
                    raise ValueProblem("InvalidType", "This value should be of type object.")
                stored.append(_NORMALISERS.get(field.type, _as_given)(field, item))
            except ValueProblem as problem:
                errors.append(_error(problem.code, f"{path}.values.{position}", problem.detail))
        changes[field.id] = stored[:1] if field.type in _SINGLE_VALUE else stored
    return changes, errors


def _lookup(
    fields: Mapping[int, CustomField], by_code: Mapping[str, CustomField], entry: Mapping[str, Any]
) -> CustomField | None:
    if entry.get("field_id") is not None:
        try:
            return fields.get(int(entry["field_id"]))
        except (TypeError, ValueError):
            return None
    code = entry.get("field_code")
    return by_code.get(code) if isinstance(code, str) else None


def _choice_kwargs(path: str) -> dict[str, str]:
    return {
        "code": "NotSupportedChoice",
        "path": path,
        "detail": "The value you selected is not a valid choice.",
    }


def _error(code: str, path: str, detail: str) -> Error:
    return {"code": code, "path": path, "detail": detail}


def apply(target: FieldValues, changes: Mapping[int, list[dict[str, Any]] | None]) -> list[int]:
    """Write normalised changes into stored values; returns the ids whose value really changed."""
    changed: list[int] = []
    for field_id, values in changes.items():
        before = target.get(field_id)
        if values is None:
            target.pop(field_id, None)
        else:
            target[field_id] = values
        if before != target.get(field_id):
            changed.append(field_id)
    return changed


def render(fields: Mapping[int, CustomField], values: FieldValues) -> list[dict[str, Any]] | None:
    """`custom_fields_values` as GET returns it: null when the entity has none."""
    rendered = []
    for field_id, stored in values.items():
        field = fields.get(field_id)
        if field is None or not stored:
            continue  # a deleted field takes its values with it
        rendered.append(
            {
                "field_id": field.id,
                "field_name": field.name,
                "field_code": field.code,
                "field_type": field.type,
                "values": [dict(v) for v in stored],
            }
        )
    return rendered or None
