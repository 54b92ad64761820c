"""Shared checks for write payloads and the `validation-errors` problem they produce."""

from __future__ import annotations

from typing import Any

Error = dict[str, str]


class ValidationFailed(Exception):
    """A batch with invalid items; Kommo rejects the whole request with one 400."""

    def __init__(self, per_item: list[tuple[str, list[Error]]]) -> None:
        super().__init__("Request validation failed")
        self.per_item = per_item

    def body(self) -> dict[str, Any]:
        return {
            "validation-errors": [
                {"request_id": request_id, "errors": errors} for request_id, errors in self.per_item
            ],
            "title": "Bad Request",
            "type": "https://httpstatus.es/400",
            "status": 400,
            "detail": "Request validation failed",
        }


def error(code: str, path: str, detail: str) -> Error:
    return {"code": code, "path": path, "detail": detail}


def choice_error(path: str) -> Error:
    return error("NotSupportedChoice", path, "The value you selected is not a valid choice.")


def check_int(item: dict[str, Any], key: str, errors: list[Error], nullable: bool = True) -> None:
    if key not in item:
        return
    value = item[key]
    if value is None and nullable:
        return
    if not isinstance(value, int) or isinstance(value, bool):
        errors.append(error("InvalidType", key, "This value should be of type int."))


def check_str(item: dict[str, Any], key: str, errors: list[Error]) -> None:
    if key in item and not isinstance(item[key], str):
        errors.append(error("InvalidType", key, "This value should be of type string."))


def check_number(item: dict[str, Any], key: str, errors: list[Error]) -> None:
    value = item.get(key)
    if key in item and (not isinstance(value, int | float) or isinstance(value, bool)):
        errors.append(error("InvalidType", key, "This value should be of type int."))


def request_id_of(item: Any, index: int) -> str:
    if isinstance(item, dict) and item.get("request_id") is not None:
        return str(item["request_id"])
    return str(index)


def embedded_ids(item: dict[str, Any], key: str) -> list[dict[str, Any]]:
    embedded = item.get("_embedded")
    if not isinstance(embedded, dict):
        return []
    entries = embedded.get(key)
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []
