"""YAML round trips of record data, and YAML errors that never quote the document."""

from __future__ import annotations

import time
from datetime import UTC, date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import CANARY, REPO
from panelctl.base import yamlio
from panelctl.base.errors import InvalidInputError

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


def test_hand_written_yaml_is_yaml_1_2():
    data = yamlio.load_hand_written(
        "time: 10:00\nlooked_after: No\nout_of_area: true\ncode: 012\ndue: 2027-01-10\n"
    )
    assert data == {
        "time": "10:00",  # YAML 1.1 (PyYAML) reads 600
        "looked_after": "No",  # YAML 1.1 reads False
        "out_of_area": True,
        "code": 12,  # YAML 1.1 reads 10 (octal)
        "due": date(2027, 1, 10),
    }


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (f"child: {{name: {CANARY}, name: {CANARY}}}\n", "given twice"),
        (f"a: &x {CANARY}\nb: *x\n", "anchors and aliases"),
        (f"a: [{CANARY}\n", "expected ',' or ']'"),
        (f"a: !!python/object {CANARY}\n", "constructor for the tag"),
        (f"a: {CANARY}\n---\nb: c\n", "another document"),
        (f'a: "{CANARY}\\q"\n', "unknown escape character"),
        (f"? [{CANARY}]\n: x\n", "a key must be plain text"),
    ],
)
def test_hand_written_errors_give_line_column_and_reason_only(document, reason):
    with pytest.raises(yamlio.YamlProblem) as caught:
        yamlio.load_hand_written(document)
    assert reason in caught.value.reason and caught.value.where.startswith("line ")
    assert CANARY not in str(caught.value) and CANARY.split()[0] not in caught.value.reason
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_an_alias_bomb_is_refused_at_its_first_anchor_quickly():
    bomb = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
        f"{x}: &{x} [{', '.join([f'*{p}'] * 9)}]\n"
        for p, x in zip("abcdefgh", "bcdefghi", strict=True)
    )
    started = time.perf_counter()
    with pytest.raises(yamlio.YamlProblem) as caught:
        yamlio.load_hand_written(bomb)
    assert time.perf_counter() - started < 1
    assert caught.value.where == "line 1, column 4" and "anchors and aliases" in caught.value.reason


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"name: \xff\xfe", "not UTF-8"),
        ("[" * 3000, "nested too deeply"),
        (b"x" * (yamlio.MAX_HAND_WRITTEN + 1), "larger than 10 MB"),
    ],
)
def test_unreadable_hand_written_input_is_a_problem_not_a_crash(raw, reason):
    with pytest.raises(yamlio.YamlProblem, match=reason):
        yamlio.load_hand_written(raw)


def test_json_files_refuse_repeated_keys_and_name_the_line():
    assert yamlio.load_json('[{"name": "x", "dob": "2011-03-14"}]') == [
        {"name": "x", "dob": "2011-03-14"}
    ]
    with pytest.raises(yamlio.YamlProblem, match="given twice"):
        yamlio.load_json(f'{{"name": "{CANARY}", "name": "{CANARY}"}}')
    with pytest.raises(yamlio.YamlProblem) as caught:
        yamlio.load_json(f'{{\n"name": "{CANARY}",\n}}')
    assert caught.value.where == "line 3, column 1" and CANARY not in str(caught.value)


def test_reading_a_file_names_it_and_bounds_its_size(tmp_path):
    big = tmp_path / "huge.yaml"
    with big.open("wb") as out:
        out.truncate(yamlio.MAX_HAND_WRITTEN + 1)
    with pytest.raises(InvalidInputError, match=r"import file .*huge.yaml is larger than 10 MB"):
        yamlio.read_hand_written(big, "import file")
    broken = tmp_path / "script.yaml"
    broken.write_text(f"attendance:\n  - {{name: {CANARY}\n")
    with pytest.raises(InvalidInputError) as caught:
        yamlio.read_hand_written(broken, "meeting script")
    assert "meeting script" in caught.value.message and "script.yaml" in caught.value.message
    assert "line 3, column 1" in caught.value.message and CANARY not in caught.value.message
    with pytest.raises(InvalidInputError, match="Cannot read the mapping file"):
        yamlio.read_hand_written(tmp_path / "missing.yaml", "mapping file")


@pytest.mark.parametrize("word", ["yes", "Yes", "YES", "no", "No", True, False])
def test_flags_take_true_false_or_the_words_yes_and_no(word):
    assert yamlio.flag(word) is (word if isinstance(word, bool) else word.lower() == "yes")


@pytest.mark.parametrize("other", ["y", "on", "1", 1, 0, None, ""])
def test_other_flag_values_are_not_guessed(other):
    assert yamlio.flag(other) is None


record_text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc")), max_size=40
) | st.sampled_from(
    ["yes", "No", "10:00", "0o17", "1e3", "null", "~", "true", "", " lead", "two\nlines\n", "#x"]
)
record_scalars = st.one_of(
    record_text,
    st.integers(-(10**9), 10**9),
    st.booleans(),
    st.none(),
    st.dates(),
    st.datetimes(timezones=st.just(UTC)),
)
record_values = st.recursive(
    record_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(record_text, children, max_size=4)
    ),
    max_leaves=20,
)


@settings(deadline=None)  # a loaded CI machine is slow, not wrong
@given(st.dictionaries(record_text, record_values, max_size=8))
def test_a_record_in_the_editor_reads_back_as_the_same_data(data):
    text = yamlio.dump_for_editing(data)
    assert yamlio.load_hand_written(text) == data
    assert list(yamlio.load_hand_written(text) or {}) == list(data)  # key order kept


def test_text_over_several_lines_is_a_block_in_the_editor():
    assert yamlio.dump_for_editing({"concern": "Seen late\nwith older males"}) == (
        "concern: |-\n  Seen late\n  with older males\n"
    )


@pytest.mark.parametrize(
    "path",
    sorted((REPO / "src/panelctl/model/profiles").glob("*.yaml"))
    + sorted((REPO / "src/panelctl/model/risktools").glob("*.yaml")),
    ids=lambda p: p.name,
)
def test_packaged_profiles_and_tools_mean_the_same_in_yaml_1_2(path):
    """They are read with the fast loader; a copy made to start an area's own file is read
    as YAML 1.2, and must mean the same."""
    raw = path.read_bytes()
    assert yamlio.load_hand_written(raw) == yamlio.load(raw)


def test_a_value_used_twice_is_written_out_twice_not_as_an_alias():
    day, part = date(2026, 11, 2), {"event": "Nominated"}
    data = {"nominated": day, "history": [{"date": day, **part}], "again": part, "more": part}
    text = yamlio.dump_for_editing(data)
    assert "&" not in text and "*" not in text
    assert yamlio.load_hand_written(text) == data


def test_records_are_written_without_anchors():
    from datetime import date

    day = date(2026, 3, 14)
    text = yamlio.dump({"nominated": day, "history": [{"date": day, "event": "Nominated"}]})
    assert b"&" not in text and b"*" not in text
    assert yamlio.load(text) == {"nominated": day, "history": [{"date": day, "event": "Nominated"}]}
