"""`panelctl map`: clusters of linked cases, persons and locations, and the hidden links.

The store below holds known hidden links and known non-links; the map must flag exactly
the first, and no format may carry a child's name.
"""

from __future__ import annotations

import json
import os
import stat
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime

import pytest

from conftest import CANARY
from panelctl.base.errors import ExitCode
from panelctl.outputs import mapping


def at(day: int, hour: int = 0, month: int = 1) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


# --- pure functions ------------------------------------------------------------------------


def test_overlapping_needs_a_real_overlap_and_treats_no_end_as_until_now():
    episodes = [
        {"case": "C-0001", "start": at(1), "end": at(2)},
        {"case": "C-0002", "start": at(2), "end": at(3)},  # touches C-0001: no overlap
        {"case": "C-0003", "start": at(2, 12), "end": None},  # open-ended
        {"case": "C-0004", "start": at(10), "end": at(11)},  # overlaps C-0003 (until now)
        {"case": "C-0004", "start": at(10, 1), "end": at(10, 2)},  # same case: never a pair
    ]
    pairs = mapping.overlapping(episodes, now=at(20))
    assert [(p["a"], p["b"]) for p in pairs] == [("C-0002", "C-0003"), ("C-0003", "C-0004")]
    # open-ended until a now that is before C-0004 went missing: no overlap with it
    assert [(p["a"], p["b"]) for p in mapping.overlapping(episodes, now=at(5))] == [
        ("C-0002", "C-0003")
    ]


def test_build_graph_makes_connected_components():
    links = [
        {"id": "K-00001", "a": "C-0001", "b": "P-0001"},
        {"id": "K-00002", "a": "P-0001", "b": "C-0002"},
        {"id": "K-00003", "a": "C-0003", "b": "L-0001"},
    ]
    clusters = mapping.build_graph(
        ["C-0001", "C-0002", "C-0003", "C-0004", "P-0001", "L-0001"], links
    )
    assert [(c["id"], c["nodes"], c["links"]) for c in clusters] == [
        ("G1", ["C-0001", "C-0002", "P-0001"], ["K-00001", "K-00002"]),
        ("G2", ["C-0003", "L-0001"], ["K-00003"]),
        ("G3", ["C-0004"], []),
    ]


def test_a_stated_link_between_two_cases_is_not_hidden():
    links = [
        {"id": "K-00001", "a": "C-0001", "b": "L-0001"},
        {"id": "K-00002", "a": "C-0002", "b": "L-0001"},
        {"id": "K-00003", "a": "C-0001", "b": "C-0002"},
    ]
    episodes = [
        {"case": "C-0001", "start": at(1), "end": at(3)},
        {"case": "C-0002", "start": at(2), "end": at(4)},
    ]
    assert mapping.hidden_links(links, episodes, at(20)) == []


# --- a store with known hidden links -------------------------------------------------------


@pytest.fixture
def mapped(store):
    """Cases C1..C9 (C8 closed), persons P1..P3, locations L1..L2, links and a meeting."""
    ids: dict[str, str] = {}
    with store.transaction() as tx:

        def case(name, risk, missing=(), status="open"):
            record = {"status": status, "child": {"name": CANARY}, "risk": risk}
            if missing:
                record["missing"] = [{"start": s, **({"end": e} if e else {})} for s, e in missing]
            ids[name] = tx.create("case", record)

        case("C1", "High")
        case("C2", "Medium")
        case("C3", "Low")
        case("C4", "Medium")
        # C5 and C6 are missing together twice (one pair, one flag); C7 only touches C5
        case("C5", "High", [(at(1, 10), at(2, 10)), (at(10, 0, 3), at(11, 0, 3))])
        case("C6", "Medium", [(at(1, 20), at(1, 22)), (at(1, 0, 3), None)])
        case("C7", "Low", [(at(2, 10), at(2, 12))])
        case("C8", "High", [(at(1, 12), at(1, 14))], status="closed")  # closed: not read
        case("C9", None)
        for name in ("P1", "P2", "P3"):
            ids[name] = tx.create(
                "person", {"kind": "person", "names": [f"{CANARY} {name}"], "police_only": False}
            )
        ids["L1"] = tx.create("location", {"kind": "address", "name": f"{CANARY} House"})
        ids["L2"] = tx.create("location", {"kind": "hotspot", "name": "The Arches"})
        pairs = [
            ("C1", "P1"),
            ("C2", "P1"),  # two cases, one person
            ("C3", "L1"),
            ("C4", "L1"),  # two cases, one location
            ("C5", "P2"),
            ("C6", "P2"),
            ("C9", "P2"),  # one person, three cases
            ("C7", "P3"),  # a person linked to one case
            ("P3", "L2"),  # a location linked only to a person
        ]
        for a, b in pairs:
            tx.create(
                "link",
                {
                    "a": ids[a],
                    "b": ids[b],
                    "nature": f"seen with {CANARY}",
                    "source": "police",
                    "date": date(2026, 1, 5),
                    "police_only": a == "C7",
                },
            )
        ids["M"] = tx.create("meeting", {"date": date(2026, 4, 1), "cases": [ids["C7"]]})
    return store, ids


def expected_flags(i):
    return [
        ("shared person", [i["C1"], i["C2"], i["P1"]]),
        ("shared person", [i["C5"], i["C6"], i["P2"]]),
        ("shared person", [i["C5"], i["C9"], i["P2"]]),
        ("shared person", [i["C6"], i["C9"], i["P2"]]),
        ("shared location", [i["C3"], i["C4"], i["L1"]]),
        ("missing together", [i["C5"], i["C6"]]),
        ("person across cases", [i["P1"], i["C1"], i["C2"]]),
        ("person across cases", [i["P2"], i["C5"], i["C6"], i["C9"]]),
    ]


def test_the_map_flags_exactly_the_hidden_links_and_clusters_them(mapped):
    store, i = mapped
    data = mapping.load(store, now=at(1, 0, 4))
    assert [(f["kind"], f["ids"]) for f in data["flags"]] == expected_flags(i)
    assert all(x in f["reason"] for f in data["flags"] for x in f["ids"])
    clusters = {tuple(c["nodes"]): c for c in data["clusters"]}
    assert sorted(clusters) == sorted(
        [
            (i["C5"], i["C6"], i["C9"], i["P2"]),
            (i["C1"], i["C2"], i["P1"]),
            (i["C3"], i["C4"], i["L1"]),
            (i["C7"], i["P3"], i["L2"]),
        ]
    )
    assert data["clusters"][0]["nodes"] == [i["C5"], i["C6"], i["C9"], i["P2"]]
    assert clusters[(i["C1"], i["C2"], i["P1"])]["risks"] == {i["C1"]: "High", i["C2"]: "Medium"}
    assert i["C8"] not in {n["id"] for n in data["nodes"]}  # closed and unlinked
    assert len(data["edges"]) == 9


def test_meeting_filter_and_every_format(mapped, cli, coordinator, tmp_path):
    store, i = mapped

    def run(*args):
        result = cli("map", *args, store=store.root, identity=coordinator.path)
        assert result.exit_code == 0, result.output
        assert CANARY not in result.output and "Arches" not in result.output
        return result.stdout

    data = json.loads(run("--format", "json"))
    assert set(data) >= {"nodes", "edges", "clusters", "flags"}
    assert [(f["kind"], f["ids"]) for f in data["flags"]] == expected_flags(i)

    only = json.loads(run("--format", "json", "--meeting", i["M"]))
    assert [c["nodes"] for c in only["clusters"]] == [[i["C7"], i["P3"], i["L2"]]]
    assert only["flags"] == [] and len(only["edges"]) == 2

    dot = run("--format", "dot")
    assert dot.startswith("graph panel_map {")
    assert f'"{i["C1"]}" -- "{i["P1"]}"' in dot and f'"{i["P3"]}" -- "{i["L2"]}"' in dot
    assert "style=dashed" in dot

    svg = run("--format", "svg")
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert i["C9"] in svg and "person across cases" in svg

    html = run("--format", "html", "--meeting", i["M"])
    assert "OFFICIAL-SENSITIVE" in html and "<svg" in html and i["C7"] in html
    assert i["C1"] not in html

    out = tmp_path / "papers" / "map.html"
    result = cli("map", "--out", str(out), store=store.root, identity=coordinator.path)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    text = out.read_text()
    assert "OFFICIAL-SENSITIVE" in text and CANARY not in text
    again = cli("map", "--out", str(out), store=store.root, identity=coordinator.path)
    assert again.exit_code == ExitCode.NOT_ALLOWED  # an existing file is refused...
    assert "--overwrite" in again.stderr and "nothing was written" in again.stderr  # ...saying so
    replaced = cli(
        "map", "--out", str(out), "--overwrite", store=store.root, identity=coordinator.path
    )
    assert replaced.exit_code == 0, replaced.output


def test_a_meeting_without_an_agenda_says_so(mapped, cli, coordinator):
    store, _i = mapped
    made = cli(
        "meeting", "schedule", "16/12/2026", "--time", "10:00",
        store=store.root, identity=coordinator.path,
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    meeting = made.stdout.strip()
    result = cli("map", "--meeting", meeting, store=store.root, identity=coordinator.path)
    assert result.exit_code == ExitCode.NOT_ALLOWED
    assert f"{meeting} has no agenda yet" in result.stderr
    assert f"panelctl agenda build {meeting}" in result.stderr and result.stdout == ""


def test_unknown_meeting_and_format_are_refused(mapped, cli, coordinator):
    store, _i = mapped
    for args in (["--meeting", "M-0099"], ["--meeting", "C-0001"], ["--format", "png"]):
        result = cli("map", *args, store=store.root, identity=coordinator.path)
        assert result.exit_code != 0
        assert CANARY not in result.output


@pytest.mark.parametrize("fmt", ["json", "dot", "svg", "html"])
def test_map_matches_its_golden_file(mapped, fmt):
    """Golden files: PANELCTL_REGENERATE_GOLDEN=1 rewrites them (see tests/golden/README.md)."""
    from datetime import date

    from test_papers import check_golden

    store, _ids = mapped if isinstance(mapped, tuple) else (mapped, None)
    data = mapping.load(store, now=at(1, 0, 4))
    panel = {
        "name": "Test MACE",
        "title": "MACE",
        "area": "Test",
        "confidentiality_statement": "Confidential.",
    }
    check_golden(f"map.{fmt}", mapping.render_map(data, fmt, panel, date(2026, 11, 23)))
