"""PHP-style bracketed keys: `filter[statuses][0][status_id]=1` <-> nested dicts.

Kommo reads query filters this way and writes webhook bodies this way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from itertools import pairwise
from typing import Any

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")


def parse(items: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Nest bracketed pairs; an empty `[]` appends to a list, every other segment is a dict key."""
    root: dict[str, Any] = {}
    for key, value in items:
        match = _KEY.match(key)
        if match is None:
            root[key] = value
            continue
        path = [match.group(1), *_PART.findall(match.group(2))]
        node: Any = root
        for segment, nxt in pairwise(path):
            child = node.get(segment) if isinstance(node, dict) else None
            if child is None:
                child = [] if nxt == "" else {}
                if isinstance(node, dict):
                    node[segment] = child
                else:
                    node.append(child)
            node = child
        last = path[-1]
        if isinstance(node, list):
            node.append(value)
        elif last == "":
            node.setdefault("", []).append(value)
        else:
            node[last] = value
    return root


def as_list(value: Any) -> list[str]:
    """A filter given as `x=1`, `x[]=1&x[]=2`, `x[0]=1` or `x=1,2` as a flat list of strings."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, dict):
        return [str(v) for v in value.values() if not isinstance(v, dict | list)]
    return [part for part in str(value).split(",") if part != ""]


def flatten(data: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Flatten nested dicts and lists into bracketed keys with string values, in order."""
    pairs: list[tuple[str, str]] = []
    for key, value in data.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        pairs.extend(_flatten_value(name, value))
    return pairs


def _flatten_value(name: str, value: Any) -> list[tuple[str, str]]:
    if isinstance(value, Mapping):
        return flatten(value, name)
    if isinstance(value, list):
        return flatten({str(i): item for i, item in enumerate(value)}, name)
    if isinstance(value, bool):
        return [(name, "1" if value else "0")]
    return [(name, "" if value is None else str(value))]
