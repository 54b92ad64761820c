"""A small evaluator for Xero's `where` filter (the subset integrations use).

Supported: `Field == value` (also `=`, `!=`, `>`, `>=`, `<`, `<=`), `Field.Contains("x")`,
`.StartsWith`, `.EndsWith`, values "string", numbers, true/false, `DateTime(y,m,d)`,
`Guid("...")`, joined by AND/&& and OR/|| with parentheses. String comparisons ignore case,
as Xero's do.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>"(?:[^"\\]|\\.)*")
      | (?P<dt>DateTime\s*\(\s*\d+\s*,\s*\d+\s*,\s*\d+\s*(?:,[^)]*)?\))
      | (?P<guid>Guid\s*\(\s*"[^"]*"\s*\))
      | (?P<op>==|!=|>=|<=|=|>|<|&&|\|\||\(|\))
      | (?P<method>\.(?:Contains|StartsWith|EndsWith)\s*\()
      | (?P<num>-?\d+(?:\.\d+)?)
      | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "=": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
_METHODS: dict[str, Callable[[str, str], bool]] = {
    "Contains": lambda field, arg: arg in field,
    "StartsWith": lambda field, arg: field.startswith(arg),
    "EndsWith": lambda field, arg: field.endswith(arg),
}

Predicate = Callable[[Mapping[str, Any]], bool]


class WhereError(ValueError):
    """The filter could not be parsed (answered as a 400 QueryParseException)."""


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise WhereError(f"Unexpected text in where clause at: {text[pos : pos + 20]!r}")
        kind = match.lastgroup or ""
        value = match.group(kind).strip()
        if kind == "word" and value.upper() in ("AND", "OR"):
            kind, value = "op", "&&" if value.upper() == "AND" else "||"
        out.append((kind, value))
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def _literal(kind: str, value: str) -> Any:
    if kind == "str":
        return value[1:-1].replace('\\"', '"')
    if kind == "num":
        return Decimal(value)
    if kind == "dt":
        parts = [int(p) for p in re.findall(r"\d+", value)[:3]]
        return date(parts[0], parts[1], parts[2])
    if kind == "guid":
        return value[value.index('"') + 1 : value.rindex('"')]
    if kind == "word" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise WhereError(f"Expected a value, found {value!r}")


def _norm(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise WhereError("Unexpected end of where clause")
        self.pos += 1
        return token

    def parse_or(self) -> Predicate:
        parts = [self.parse_and()]
        while self.peek() == ("op", "||"):
            self.take()
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else (lambda row: any(p(row) for p in parts))

    def parse_and(self) -> Predicate:
        parts = [self.parse_term()]
        while self.peek() == ("op", "&&"):
            self.take()
            parts.append(self.parse_term())
        return parts[0] if len(parts) == 1 else (lambda row: all(p(row) for p in parts))

    def parse_term(self) -> Predicate:
        kind, value = self.take()
        if (kind, value) == ("op", "("):
            inner = self.parse_or()
            if self.take() != ("op", ")"):
                raise WhereError("Missing ')' in where clause")
            return inner
        if kind != "word":
            raise WhereError(f"Expected a field name, found {value!r}")
        field = value
        kind, value = self.take()
        if kind == "method":
            name = value.strip(". (").strip()
            arg = _literal(*self.take())
            if self.take() != ("op", ")"):
                raise WhereError("Missing ')' after method argument")
            method = _METHODS[name]
            return lambda row: method(str(_norm(_field(row, field))), str(_norm(arg)))
        if kind != "op" or value not in _COMPARE:
            raise WhereError(f"Expected a comparison after {field}, found {value!r}")
        compare = _COMPARE[value]
        right = _literal(*self.take())
        return lambda row: _safe_compare(compare, _field(row, field), right)


def _field(row: Mapping[str, Any], name: str) -> Any:
    if name not in row:
        raise WhereError(f"No property or field '{name}' exists")
    return row[name]


def _safe_compare(compare: Callable[[Any, Any], bool], left: Any, right: Any) -> bool:
    if left is None:
        return compare is operator.ne
    if isinstance(right, str):
        return compare(_norm(str(left)), _norm(right))
    try:
        return compare(left, right)
    except TypeError:
        return False


def compile_where(text: str) -> Predicate:
    parser = _Parser(_tokens(text))
    predicate = parser.parse_or()
    leftover = parser.peek()
    if leftover is not None:
        raise WhereError(f"Unexpected {leftover[1]!r} in where clause")
    return predicate
