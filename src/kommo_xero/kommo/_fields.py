"""Custom field values as Kommo returns them, and lookups shared by every entity model."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class ValueItem(_Model):
    value: Any = None
    enum_id: int | None = None
    enum_code: str | None = None


class CustomFieldValue(_Model):
    field_id: int
    field_name: str | None = None
    field_code: str | None = None
    field_type: str | None = None  # a plain string: new types must not break parsing
    values: list[ValueItem] = Field(default_factory=list)

    @field_validator("values", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value

    @property
    def first(self) -> Any:
        return self.values[0].value if self.values else None


class _WithFields(_Model):
    custom_fields_values: list[CustomFieldValue] = Field(default_factory=list)

    @field_validator("custom_fields_values", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        # Kommo sends `null`, not `[]`, when an entity has no values.
        return [] if value is None else value

    def field(self, name_or_id: int | str) -> CustomFieldValue | None:
        """The field by id, by name (case-insensitive) or by code (`EMAIL`, `PRICE`)."""
        for field in self.custom_fields_values:
            if isinstance(name_or_id, int):
                if field.field_id == name_or_id:
                    return field
            elif name_or_id.casefold() in {
                (field.field_name or "").casefold(),
                (field.field_code or "").casefold(),
            }:
                return field
        return None

    def field_value(self, field_id: int | str) -> Any:
        """The first value of a field (enum text for selects), or None when it is empty."""
        field = self.field(field_id)
        return field.first if field else None

    def field_text(self, name_or_id: int | str) -> str | None:
        """The first value of a field as text, or None when it is empty."""
        value = self.field_value(name_or_id)
        return None if value is None else str(value)
