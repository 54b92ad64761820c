"""Bracketed form keys to nested data and back."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

from hypothesis import given
from hypothesis import strategies as st

from kommo_xero.kommo._form import flatten, items_of, split_key, unflatten

KEYS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
VALUES = st.text(max_size=12)
NESTED: st.SearchStrategy[Any] = st.recursive(
    VALUES,
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=4),
        st.dictionaries(KEYS, children, min_size=1, max_size=4),
    ),
    max_leaves=20,
)
DOCUMENTS = st.dictionaries(KEYS, NESTED, min_size=1, max_size=4)


class TestUnflatten:
    def test_split_key_reads_each_bracket_segment(self) -> None:
        """A bracketed key splits into its name and every segment in order."""
        assert split_key("leads[status][0][id]") == ["leads", "status", "0", "id"]

    def test_numeric_keys_become_a_list_in_index_order(self) -> None:
        """Items keyed 1 then 0 come back as a list ordered by index, not arrival."""
        data = unflatten([("leads[add][1][id]", "2"), ("leads[add][0][id]", "1")])
        assert data == {"leads": {"add": [{"id": "1"}, {"id": "2"}]}}

    def test_empty_brackets_append(self) -> None:
        """`tags[]` repeated builds a list the way PHP does."""
        assert unflatten([("tags[]", "a"), ("tags[]", "b")]) == {"tags": ["a", "b"]}

    def test_object_values_stay_objects(self) -> None:
        """A radiobutton's values arrive as an object and stay one."""
        data = unflatten([("f[values][value]", "2"), ("f[values][enum]", "566642")])
        assert data == {"f": {"values": {"value": "2", "enum": "566642"}}}

    def test_gapped_indexes_are_still_iterable_in_order(self) -> None:
        """Indexes with a gap stay a mapping, and items_of still yields them in numeric order."""
        data = unflatten([("x[10]", "b"), ("x[2]", "a")])
        assert items_of(data["x"]) == ["a", "b"]

    def test_malformed_key_is_kept_literally(self) -> None:
        """A key with unbalanced brackets is not guessed at; it stays one flat key."""
        assert unflatten([("a[b", "1")]) == {"a[b": "1"}

    @given(DOCUMENTS)
    def test_flatten_then_unflatten_is_identity(self, document: dict[str, Any]) -> None:
        """Any nested structure of strings survives flatten → unflatten unchanged."""
        assert document == unflatten(flatten(document))

    @given(DOCUMENTS)
    def test_survives_percent_encoding(self, document: dict[str, Any]) -> None:
        """The round trip holds through real form encoding, as Kommo sends it."""
        body = urlencode(flatten(document))
        assert document == unflatten(parse_qsl(body, keep_blank_values=True))
