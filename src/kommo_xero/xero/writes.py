"""Building Xero request elements and reading per-element batch results."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from kommo_xero.transport import ApiError
from kommo_xero.xero.models import ItemResult
from kommo_xero.xero.responses import SERVICE, element_messages

# Xero recommends at most ~50 elements per write for timely answers.
MAX_BATCH = 50

M = TypeVar("M", bound=BaseModel)


def where_equals(field: str, value: str) -> str:
    """`Field=="value"` with the value quoted the way Xero's filter language expects."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{field}=="{escaped}"'


def request_element(model: BaseModel) -> dict[str, Any]:
    """A request element exactly as Xero spells it, with no nulls."""
    return model.model_dump(by_alias=True, exclude_none=True, mode="python")


def _warnings(element: dict[str, Any]) -> list[str]:
    return [str(w.get("Message", "")) for w in element.get("Warnings") or [] if isinstance(w, dict)]


def element_failed(element: dict[str, Any]) -> bool:
    """With summarizeErrors=false a refused element still comes back in a 200."""
    return bool(
        element.get("HasErrors")
        or element.get("HasValidationErrors")
        or element.get("StatusAttributeString") == "ERROR"
        or element_messages(element)
    )


def item_results(
    model: type[M], elements: list[dict[str, Any]], expected: int
) -> list[ItemResult[M]]:
    """One result per request element, in request order."""
    if len(elements) != expected:
        raise ApiError(SERVICE, f"sent {expected} elements, Xero answered {len(elements)}")
    return [
        ItemResult(
            index=index,
            ok=not element_failed(element),
            item=model.model_validate(element),
            errors=element_messages(element),
            warnings=_warnings(element),
        )
        for index, element in enumerate(elements)
    ]
