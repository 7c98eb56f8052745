"""The query index stores each column on its own: a query decodes only the columns it reads,
and every value comes back exactly as it went in."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from panelctl.store import index
from panelctl.store.core import Store

plain = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False),
    st.just(-0.0),
    st.sampled_from(["open", "done", "2025-01-03", "Police", ""]),
    st.text(max_size=8),
)
values = st.one_of(plain, st.lists(plain, max_size=3))


@given(st.lists(values, max_size=60))
def test_a_column_comes_back_as_it_went_in(column):
    holder = {"c": index._encode_column(column)}
    back = index._column(holder, "c")
    assert back == column
    assert [type(v) for v in back] == [type(v) for v in column]  # True stays True, 1.0 stays 1.0
    assert [repr(v) for v in back] == [repr(v) for v in column]  # and -0.0 stays -0.0
    assert index._column(holder, "c") is back  # decoded once


def test_equal_but_different_values_stay_apart():
    column = [0.0, -0.0, 0.0, -0.0, 1, True, 1, True]
    back = index._column({"c": index._encode_column(column)}, "c")
    assert [repr(v) for v in back] == [repr(v) for v in column]


def test_repeated_values_are_stored_once_and_lists_never_shared():
    statuses = ["open", "done"] * 500
    stored = index._encode_column(statuses)
    assert len(stored) < 1200  # 1,000 one-byte positions and two strings
    assert index._column({"c": stored}, "c") == statuses
    lists = [["criminal"]] * 10
    back = index._column({"c": index._encode_column(lists)}, "c")
    back[0].append("sexual")
    assert back[1] == ["criminal"]


def _store_with_actions(store: Store) -> list[str]:
    case = store.create("case", {"status": "open", "child": {"name": "Tamsin Orrowvale"}})
    due = [date(2025, 1, 1), date(2025, 3, 1), date(2025, 3, 1)]
    return [
        store.create(
            "action",
            {
                "description": "Return home interview",
                "case": case,
                "agency": "Police",
                "owner": "Pat Owner",
                "due": day,
                "status": status,
            },
        )
        for day, status in zip(due, ["open", "done", "open"], strict=True)
    ]


def test_a_query_decodes_only_the_columns_it_asks_for(store, coordinator):
    ids = _store_with_actions(store)
    table = Store(store.root, coordinator.unlock()).index().table("action")
    stored = table._columns  # as loaded: nothing decoded yet
    assert all(isinstance(v, bytes) for v in stored["fields"].values())

    got_ids, columns = table.columns(["status", "due", "no such field"])
    assert got_ids == ids
    assert columns == {
        "status": ["open", "done", "open"],
        "due": [date(2025, 1, 1), date(2025, 3, 1), date(2025, 3, 1)],  # real dates again
    }
    decoded = {name for name, v in stored["fields"].items() if not isinstance(v, bytes)}
    assert decoded == {"status", "due"}
    assert isinstance(stored["paths"], bytes)

    # every other way of reading the table gives the same values
    assert table.field_names() == list(stored["fields"])
    everything = table.columns()[1]
    rows = dict(table.rows())
    for i, action_id in enumerate(ids):
        assert rows[action_id] == {name: everything[name][i] for name in everything}
    # and once rows were built (as a write does), columns come from them
    assert table.columns(["owner"]) == (ids, {"owner": ["Pat Owner"] * 3})


def test_a_table_of_another_format_is_rebuilt(store, coordinator, monkeypatch):
    ids = _store_with_actions(store)
    Store(store.root, coordinator.unlock()).index().table("action")  # saved as FORMAT
    monkeypatch.setattr(index, "FORMAT", index.FORMAT + 1)
    again = Store(store.root, coordinator.unlock())
    assert index.Table._load(again, again.index().table("action").rtype) is not None  # resaved
    assert [i for i, _f in again.index().rows("action")] == ids


def test_picking_rows_gives_what_the_columns_hold_at_those_rows(store, coordinator):
    ids = _store_with_actions(store)
    names = ["status", "due", "owner", "no such field"]
    full = Store(store.root, coordinator.unlock()).index().table("action").columns(names)[1]
    for rows in ([], [0], [2, 0], [0, 1, 2]):
        table = Store(store.root, coordinator.unlock()).index().table("action")  # undecoded
        assert table.pick(names, rows) == {k: [v[i] for i in rows] for k, v in full.items()}
    assert len(ids) == 3
