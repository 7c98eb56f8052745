"""YAML round trips of record data, and YAML errors that never quote the document."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import CANARY
from panelctl.base import yamlio

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
scalars = st.one_of(text, st.integers(-(10**9), 10**9), st.booleans(), st.none(), st.dates())
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(text, values, max_size=8))
def test_any_record_data_round_trips(data):
    assert yamlio.load(yamlio.dump(data)) == data


@given(st.dictionaries(text, values, max_size=8))
def test_dumping_is_deterministic(data):
    assert yamlio.dump(data) == yamlio.dump(data)


def test_dates_are_stored_as_iso():
    assert yamlio.dump({"dob": date(2011, 3, 14)}) == b"dob: 2011-03-14\n"


@pytest.mark.parametrize(
    "broken", [f"name: [{CANARY}\n", f"a: b\n  c: {CANARY}: d\n", f"- {CANARY}\n\t- x"]
)
def test_yaml_errors_give_position_only(broken):
    with pytest.raises(yamlio.YamlProblem) as caught:
        yamlio.load(broken.encode())
    assert CANARY not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_roundtrip_mode_keeps_comments():
    source = "# reviewed by the chair\nrisk: High  # agreed 14 Mar\n"
    assert yamlio.dump_roundtrip(yamlio.load_roundtrip(source)) == source
