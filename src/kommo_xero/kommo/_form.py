"""PHP-style bracketed form keys (`leads[status][0][id]=1`) to nested data and back.

Kommo posts its webhooks as a PHP array flattened into bracketed keys. `unflatten` rebuilds the
nesting; a mapping whose keys are exactly "0".."n-1" becomes a list, the way PHP would render a
list. `flatten` is the inverse, used by tests and by the simulator side of fixtures.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

# name, then zero or more [segment]; anything else is taken literally as one flat key.
_KEY = re.compile(r"^(?P<name>[^\[\]]+)(?P<rest>(?:\[[^\[\]]*\])*)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")


def split_key(key: str) -> list[str]:
    """`a[b][0]` → `["a", "b", "0"]`; an empty segment `[]` stays "" (meaning "append")."""
    match = _KEY.match(key)
    if match is None:
        return [key]
    return [match["name"], *_SEGMENT.findall(match["rest"])]


def _insert(tree: dict[str, Any], path: list[str], value: str) -> None:
    node = tree
    for segment in path[:-1]:
        name = segment if segment != "" else str(len(node))
        child = node.get(name)
        if not isinstance(child, dict):
            # A later nested key wins over an earlier scalar, as PHP does.
            child = {}
            node[name] = child
        node = child
    last = path[-1] if path[-1] != "" else str(len(node))
    node[last] = value


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {key: _listify(child) for key, child in node.items()}
    if converted and set(converted) == {str(i) for i in range(len(converted))}:
        return [converted[str(i)] for i in range(len(converted))]
    return converted


def unflatten(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Nest bracketed key/value pairs; mappings keyed 0..n-1 become lists."""
    tree: dict[str, Any] = {}
    for key, value in pairs:
        _insert(tree, split_key(key), value)
    result = _listify(tree)
    return result if isinstance(result, dict) else {str(i): v for i, v in enumerate(result)}


def _walk(prefix: str, node: Any) -> Iterator[tuple[str, str]]:
    if isinstance(node, Mapping):
        for key, child in node.items():
            yield from _walk(f"{prefix}[{key}]", child)
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _walk(f"{prefix}[{index}]", child)
    else:
        yield prefix, str(node)


def flatten(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Inverse of `unflatten`: nested mappings and lists to bracketed key/value pairs."""
    pairs: list[tuple[str, str]] = []
    for key, node in data.items():
        if isinstance(node, Mapping | list):
            pairs.extend(_walk(key, node))
        else:
            pairs.append((key, str(node)))
    return pairs


def items_of(node: Any) -> list[Any]:
    """The elements of a PHP array however it arrived: a list, or a mapping with gaps in its
    numeric keys (kept in numeric order), or a single object."""
    if isinstance(node, list):
        return node
    if isinstance(node, dict):
        if node and all(key.isdigit() for key in node):
            return [node[key] for key in sorted(node, key=int)]
        return [node]
    return []
