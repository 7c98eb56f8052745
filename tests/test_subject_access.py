"""`panelctl export subject` (issue 14, item 3): everything held about one child, in one
HTML, PDF and JSON bundle, third parties' names redacted unless a coordinator asks.

The store is built through the commands a coordinator uses: two children nominated (the
subject, and another child with the CANARY name), persons of concern, links, missing
episodes and flags, two meetings run from scripts that discuss both children, actions with
updates and the decisions the meetings made."""

from __future__ import annotations

import io
import json
import os
import re
import stat
from html import unescape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_meetings import NOMINATION, POLICE, SCRIPT_PEOPLE, run, script_for

from conftest import CANARY, assert_unchanged, store_state
from panelctl.base import yamlio
from panelctl.base.errors import ExitCode
from panelctl.outputs.redaction import REDACTED, Redactor

SUBJECT = "Riley Ashdown"
#: persons of concern (fictional): a name with an apostrophe, a nickname, one with accents
DEAN, DEANO, PHONE = "Dean O'Neill", "Deano", "07700 900123"
MAREK = "Marek Zieliński"
#: words that may appear only in records about other children
OTHER_ONLY = ("Sparrowhawk-Vantablack", "Greywether")
THIRD_PARTY = (CANARY, "Quillonia", "Featherstonehaugh", "O'Neill", "O’Neill", DEANO,
               "Zieliński", "Zielinski", PHONE, "07700900123", *OTHER_ONLY)  # fmt: skip
PROFILE = "mace"
PASSWORD = "correct horse battery"


def ok(result):
    assert result.exit_code == 0, result.output
    return result


def both_discussed(levels=("Medium", "Medium")):
    """A meeting script that keeps both cases open, each with one action."""
    script = script_for(["C-0001", "C-0002"], levels=levels)
    for case in script["cases"].values():
        case["decision"] = "keep"
        case.pop("closure", None)
        case["actions"][0]["due"] = "2027-01-15"
    return script


@pytest.fixture
def panel(tmp_path, coordinator, make_person, cli):
    root = tmp_path / PROFILE
    ok(cli("init", str(root), "--profile", PROFILE, "--name", "Test MACE", "--agency",
           "Council", "--seed-agencies", identity=coordinator.path))  # fmt: skip
    chair, cron = make_person("Chris Chair"), make_person("Cron Server")
    for person, role in ((chair, "chair"), (cron, "cron")):
        ok(cli("access", "add", person.recipient, "--name", person.name, "--agency",
               POLICE[PROFILE], "--role", role, store=root, identity=coordinator.path))  # fmt: skip
    for name in SCRIPT_PEOPLE:
        ok(cli("member", "add", "--name", name, "--agency", POLICE[PROFILE], "--role", "core",
               store=root, identity=coordinator.path))  # fmt: skip
    for name, dob in ((SUBJECT, "02/07/2011"), (CANARY, "14/03/2011")):
        ok(cli("nominate", "--name", name, "--dob", dob, "--referring-agency", POLICE[PROFILE],
               "--lead-professional", "Jo Worker", *NOMINATION[PROFILE], "--date",
               "02/11/2026", store=root, identity=coordinator.path))  # fmt: skip

    def do(*args, who=coordinator):
        return ok(run(cli, root, who, *args)).stdout.strip()

    dean = do("person", "add", "--kind", "person", "--name", DEAN, "--nickname", DEANO,
              "--phone", PHONE)  # fmt: skip
    marek = do("person", "add", "--kind", "person", "--name", MAREK)
    do("link", "C-0001", dean, "--nature", "seen together", "--source", "police",
       "--date", "03/11/2026")  # fmt: skip
    do("link", "C-0001", "C-0002", "--nature", "friends", "--source", "school",
       "--date", "03/11/2026")  # fmt: skip
    do("link", "C-0002", marek, "--nature", "Greywether's associate", "--source", "police",
       "--date", "03/11/2026")  # fmt: skip
    do("case", "update", "C-0001", "--concern",
       f"Picked up near school by {DEAN.replace(chr(39), '’')} ({DEANO.upper()}), who rang "
       f"her on 07700900123.\n\nSeen with {CANARY.replace('-', ' ')} and with Marek; "
       f"the marsh behind the park is a worry. {SUBJECT}'s own words were recorded.",
       "--child-views", "Riley says she feels safe at home.")  # fmt: skip
    do("case", "update", "C-0002", "--concern", f"{OTHER_ONLY[0]} concern, private to C-0002.")
    do("case", "missing", "C-0001", "--from", "14/11/2026 18:30", "--to", "15/11/2026 09:10")
    do("case", "flag", "C-0001", "--flag", "Older associates", "--owner", "Jo Worker",
       "--review", "01/04/2027")  # fmt: skip
    for day in ("19/11/2026", "03/12/2026"):
        do("meeting", "schedule", day, "--time", "09:30")
    for meeting, as_of in (("M-0001", "05/11/2026"), ("M-0002", "20/11/2026")):
        if meeting == "M-0002":  # the chair set a review for both at the next meeting
            for case in ("C-0001", "C-0002"):
                do("case", "update", case, "--review-due", "01/12/2026", "--date", "20/11/2026")
        do("agenda", "build", meeting, "--out", str(tmp_path / f"papers-{meeting}"),
           "--as-of", as_of)  # fmt: skip
        script = both_discussed()
        script["cases"]["C-0001"]["items"] = {
            "summary": f"{SUBJECT} was seen again with Deano; {MAREK} was named by school."
        }
        script["cases"]["C-0002"]["items"] = {"summary": f"{OTHER_ONLY[1]} said she is well."}
        script["closing"] = {
            "locations": f"{OTHER_ONLY[0]}: a pattern at the park.",
            "persons of concern and trends": "C-0001 seen at the park with Deano.",
        }
        path = tmp_path / f"script-{meeting}.yaml"
        path.write_bytes(yamlio.dump(script))
        do("meeting", "run", meeting, "--script", str(path))
    do("actions", "update", "A-00001", "--note", "Spoke to Deano's sister at the school",
       "--date", "20/11/2026")  # fmt: skip
    do("actions", "update", "A-00002", "--note", f"{OTHER_ONLY[1]} visited",
       "--date", "20/11/2026")  # fmt: skip
    return root, chair, cron


def export(cli, root, who, out, *more):
    return run(cli, root, who, "export", "subject", "C-0001", "--out", str(out), *more)


def index_rows(root, coordinator):
    from conftest import Clone

    store = Clone(root, coordinator.path).store()
    return {t: dict(store.index().rows(t)) for t in ("assessment", "action", "decision", "link",
                                                       "meeting", "reminder")}  # fmt: skip


def test_the_bundle_holds_every_record_about_the_child_and_no_third_party(
    panel, cli, coordinator, tmp_path
):
    root, _chair, _cron = panel
    out = tmp_path / "sar" / "C-0001"
    done = ok(export(cli, root, coordinator, out, "--formats", "html,json", "--as-of",
                     "14/12/2026"))  # fmt: skip
    assert "C-0001" in done.stderr and CANARY not in done.output and SUBJECT not in done.output

    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "sar").stat().st_mode) == 0o700
    assert sorted(p.name for p in out.iterdir()) == [
        "subject-access-C-0001.html",
        "subject-access-C-0001.json",
    ]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in out.iterdir())

    rows = index_rows(root, coordinator)
    expected = {"C-0001"}
    for kind in ("assessment", "action", "decision"):
        expected |= {rid for rid, f in rows[kind].items() if f["case"] == "C-0001"}
    expected |= {rid for rid, f in rows["link"].items() if "C-0001" in (f["a"], f["b"])}
    expected |= {"M-0001", "M-0002"}
    bundle = json.loads((out / "subject-access-C-0001.json").read_text())
    assert set(bundle["exported"]) == expected
    assert len([r for r in expected if r.startswith("A-")]) == 2  # one per meeting
    assert len([r for r in expected if r.startswith("D-")]) == 2
    assert len([r for r in expected if r.startswith("K-")]) == 2
    others = {rid for kind in ("assessment", "action", "decision") for rid, f in
              rows[kind].items() if f["case"] != "C-0001"}  # fmt: skip
    others |= {rid for rid, f in rows["link"].items() if "C-0001" not in (f["a"], f["b"])}
    assert others and not others & set(bundle["exported"])
    assert bundle["redacted"] is True and bundle["case"] == "C-0001"
    assert bundle["prepared"] == "2026-12-14"
    assert set(bundle["versions"]) == expected  # each record's last change
    from conftest import Clone
    from panelctl.store.history import changes

    store = Clone(root, coordinator.path).store()
    for rid, version in bundle["versions"].items():  # as `panelctl log ID` tells it
        told = changes(store, rid)
        assert version["changes"] == len(told), rid
        assert version["by"] == told[0].author and version["changed"] == told[0].when.isoformat()

    # the action's update, the chronology, both meetings' extracts of this case only
    [first] = [a for a in bundle["actions"] if a["record"]["meeting"] == "M-0001"]
    assert [u["note"] for u in first["updates"] if u.get("note")] == [
        f"Spoke to {REDACTED}'s sister at the school"
    ]
    what = [e["what"] for e in bundle["chronology"]]
    assert any(w.startswith("Missing from 14/11/2026") for w in what)
    assert any(w.startswith("Flag: Older associates") for w in what)
    assert [m["id"] for m in bundle["meetings"]] == ["M-0001", "M-0002"]
    for meeting in bundle["meetings"]:
        assert meeting["discussion"]["case"] == "C-0001"
        assert meeting["discussion"]["items"]["summary"] == (
            f"{SUBJECT} was seen again with {REDACTED}; {REDACTED} was named by school."
        )
        # a closing item only where it names the case
        assert meeting["mentioned"] == [
            {
                "item": "persons of concern and trends",
                "text": f"C-0001 seen at the park with {REDACTED}.",
            }
        ]
    links = {lk["with"]: lk for lk in bundle["links"]}
    assert links["C-0002"]["type"] == "case" and "names" not in links["C-0002"]
    assert links["P-0001"]["type"] == "person" and links["P-0001"]["kind"] == "person"

    case = bundle["case_record"]
    assert case["child"]["name"] == SUBJECT  # the child's own name is theirs
    assert case["concern"] == (
        f"Picked up near school by {REDACTED} ({REDACTED}), who rang her on {REDACTED}.\n\n"
        f"Seen with {REDACTED} and with {REDACTED}; the marsh behind the park is a worry. "
        f"{SUBJECT}'s own words were recorded."
    )
    labels = {row["field"]: row["label"] for row in bundle["case_fields"]}
    assert labels["child.name"] == "Name" and labels["concern"] == "Nature of concern"
    assert labels["missing[1]"] == "Missing episode 1"

    html = unescape((out / "subject-access-C-0001.html").read_text())  # O&#39;Neill: O'Neill
    text = json.dumps(bundle, ensure_ascii=False)
    for name in THIRD_PARTY:
        assert name not in html, name
        assert name not in text, name
    assert "Subject access: C-0001 — prepared 14 Dec 2026 — redacted" in html
    assert "OFFICIAL-SENSITIVE" in html and SUBJECT in html and REDACTED in html
    assert "@page" in html and "counter(page)" in html
    for label in ("Nature of concern", "Voice of the child", "Chronology", "Risk assessments",
                  "Meeting M-0002", "Actions", "Links", "Decisions"):  # fmt: skip
        assert label in html, label
    assert "Only this case's part of each meeting" in html
    assert "Lou Council" not in html  # the attendance is not in an extract
    assert "Nina Nurse" not in html


def test_json_is_stable_from_run_to_run(panel, cli, coordinator, tmp_path):
    root, _chair, _cron = panel
    ok(export(cli, root, coordinator, tmp_path / "a", "--formats", "json", "--as-of", "14/12/2026"))
    ok(export(cli, root, coordinator, tmp_path / "b", "--formats", "json", "--as-of", "14/12/2026"))
    a = (tmp_path / "a" / "subject-access-C-0001.json").read_bytes()
    assert a == (tmp_path / "b" / "subject-access-C-0001.json").read_bytes()
    keys = list(json.loads(a))
    assert keys == sorted(keys) and keys[0] == "actions"


def test_unredacted_is_a_coordinators_and_says_so_on_every_page(panel, cli, coordinator, tmp_path):
    root, chair, cron = panel
    before = store_state(root)
    for who in (chair, cron):
        refused = export(cli, root, who, tmp_path / "no", "--unredacted")
        assert refused.exit_code == ExitCode.NOT_ALLOWED, refused.output
        assert "coordinator" in refused.stderr and "--unredacted" not in refused.stderr[:0]
    refused = export(cli, root, cron, tmp_path / "no")  # cron may not export at all
    assert refused.exit_code == ExitCode.NOT_ALLOWED
    assert "coordinator or chair" in refused.stderr
    assert not (tmp_path / "no").exists()
    assert_unchanged(before, store_state(root))

    ok(export(cli, root, chair, tmp_path / "chair"))  # the chair: redacted only
    chair_html = unescape((tmp_path / "chair" / "subject-access-C-0001.html").read_text())
    assert CANARY not in chair_html and "O'Neill" not in chair_html and REDACTED in chair_html

    out = tmp_path / "full"
    done = ok(export(cli, root, coordinator, out, "--unredacted", "--formats",
                     "html,json,pdf", "--password-file", str(password_file(tmp_path))))  # fmt: skip
    assert "UNREDACTED" in done.stderr and CANARY not in done.output
    html = unescape((out / "subject-access-C-0001.html").read_text())  # O&#39;Neill: O'Neill
    assert CANARY.replace("-", " ") in html and DEAN in html
    assert "UNREDACTED: redact by hand before release" in html
    assert "must be redacted by hand before it is released" in html
    bundle = json.loads((out / "subject-access-C-0001.json").read_text())
    assert bundle["redacted"] is False
    assert {lk["with"]: lk["names"] for lk in bundle["links"]}["P-0001"] == [DEAN, DEANO]
    pages = pdf_pages(out / "subject-access-C-0001.pdf")
    assert len(pages) > 1
    for page in pages:
        flat = " ".join(page.split())
        assert "Subject access: C-0001" in flat and "UNREDACTED" in flat, flat[:300]


def password_file(tmp_path):
    path = tmp_path / "pdf-password"
    path.write_text(PASSWORD + "\n")
    os.chmod(path, 0o600)
    return path


def pdf_pages(path) -> list[str]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(path.read_bytes()))
    assert reader.is_encrypted and not reader.decrypt("")
    assert reader.decrypt(PASSWORD)
    return [page.extract_text() for page in reader.pages]


def test_the_pdf_is_encrypted_and_holds_no_third_party_name(panel, cli, coordinator, tmp_path):
    root, _chair, _cron = panel
    out = tmp_path / "sar"
    ok(export(cli, root, coordinator, out, "--formats", "pdf", "--password-file",
              str(password_file(tmp_path)), "--as-of", "14/12/2026"))  # fmt: skip
    data = (out / "subject-access-C-0001.pdf").read_bytes()
    assert data.startswith(b"%PDF-")
    assert stat.S_IMODE((out / "subject-access-C-0001.pdf").stat().st_mode) == 0o600
    pages = pdf_pages(out / "subject-access-C-0001.pdf")
    text = " ".join(" ".join(pages).split())
    assert "C-0001" in text and "Nature of concern" in text and SUBJECT in text
    assert "[redacted: third party]" in text
    for name in THIRD_PARTY:
        assert name not in text, name
    for n, page in enumerate(pages, start=1):
        flat = " ".join(page.split())
        assert "Subject access: C-0001 — prepared 14 Dec 2026 — redacted" in flat
        assert f"page {n} of {len(pages)}" in flat


def test_errors_exit_cleanly_and_leave_the_store_and_folder_as_they_were(
    panel, cli, coordinator, tmp_path
):
    root, _chair, _cron = panel
    before = store_state(root)
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    cases = [
        (("export", "subject", "C-0099", "--out", str(tmp_path / "x")), ExitCode.NOT_FOUND),
        (("export", "subject", "M-0001", "--out", str(tmp_path / "x")), ExitCode.INVALID_INPUT),
        (("export", "subject", "Riley", "--out", str(tmp_path / "x")), ExitCode.INVALID_INPUT),
        (("export", "subject", "C-0001", "--out", str(a_file)), ExitCode.INVALID_INPUT),
        (("export", "subject", "C-0001", "--out", str(root / "sar")), ExitCode.INVALID_INPUT),
        (
            ("export", "subject", "C-0001", "--out", str(tmp_path / "x"), "--formats", "md"),
            ExitCode.INVALID_INPUT,
        ),  # fmt: skip
        (
            ("export", "subject", "C-0001", "--out", str(tmp_path / "x"), "--formats", "pdf"),
            ExitCode.NO_TERMINAL,
        ),  # a password is needed and there is no terminal  # fmt: skip
    ]
    for args, code in cases:
        result = run(cli, root, coordinator, *args)
        assert result.exit_code == code, (args, result.output)
        assert result.stderr.startswith("panelctl: ") and "Traceback" not in result.output
        assert SUBJECT not in result.output and CANARY not in result.output
    assert not (tmp_path / "x").exists() and not (root / "sar").exists()
    assert a_file.read_text() == "not a folder"
    assert_unchanged(before, store_state(root))

    out = tmp_path / "sar"
    ok(export(cli, root, coordinator, out, "--formats", "json"))
    (out / "subject-access-C-0001.json").write_text("kept")
    before = store_state(root)  # (an export that is written is logged as a disclosure)
    again = export(cli, root, coordinator, out, "--formats", "json")
    assert again.exit_code == ExitCode.NOT_ALLOWED and "--overwrite" in again.stderr
    assert (out / "subject-access-C-0001.json").read_text() == "kept"
    assert_unchanged(before, store_state(root))
    ok(export(cli, root, coordinator, out, "--formats", "json", "--overwrite"))
    assert json.loads((out / "subject-access-C-0001.json").read_text())["case"] == "C-0001"
    assert sorted(p.name for p in out.iterdir()) == ["subject-access-C-0001.json"]  # no temp


def test_a_perpetrator_referral_is_not_exported(panel, cli, coordinator, tmp_path):
    root, _chair, _cron = panel
    refer = run(cli, root, coordinator, "person", "refer", "P-0001", "--lead-agency",
                POLICE[PROFILE], "--concern", "Intelligence")  # fmt: skip
    case_id = ok(refer).stdout.strip()
    assert case_id == "C-0003"
    result = run(cli, root, coordinator, "export", "subject", case_id, "--out",
                 str(tmp_path / "x"))  # fmt: skip
    assert result.exit_code == ExitCode.NOT_ALLOWED, result.output
    assert "perpetrator referral" in result.stderr and not (tmp_path / "x").exists()


# --- redaction on its own ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Seen with Dean O'Neill.", f"Seen with {REDACTED}."),
        ("Seen with DEAN O’NEILL.", f"Seen with {REDACTED}."),  # case, curly apostrophe
        ("Seen with Dean\nO Neill.", f"Seen with {REDACTED}."),  # broken across a line
        ("Deano's car; deano again", f"{REDACTED}'s car; {REDACTED} again"),
        ("Deanna and Deanoxx are other people", "Deanna and Deanoxx are other people"),
        ("Zoe Marsh and ZOË MARSH", f"{REDACTED} and {REDACTED}"),  # diacritics either way
        ("Marsh said; the marsh flooded", f"{REDACTED} said; the marsh flooded"),
        ("Kim Smith-Jones and Smith Jones", f"{REDACTED} and {REDACTED}"),
        ("Riley and Riley Ashdown", "Riley and Riley Ashdown"),  # the subject's own name
        ("Riley Brown visited", f"{REDACTED} visited"),  # another Riley, whole
        ("Brown visited; brown shoes", f"{REDACTED} visited; brown shoes"),
        ("Ring 07700 900123 or 07700900123", f"Ring {REDACTED} or {REDACTED}"),
        ("Планировка: Олена Коваль", f"Планировка: {REDACTED}"),
        ("", ""),
    ],
)
def test_the_redactor_takes_out_whole_names_only(text, expected):
    redactor = Redactor(
        [DEAN, DEANO, "Zoë Marsh", "Kim Smith-Jones", "Riley Brown", "Олена Коваль",
         "Riley Ashdown"],
        own=["Riley Ashdown"],
        numbers=[PHONE],
    )  # fmt: skip
    assert redactor.text(text) == expected


def test_the_redactor_leaves_dates_numbers_and_keys():
    from datetime import date

    redactor = Redactor(["Deano"])
    record = {"Deano": "Deano", "on": date(2026, 1, 2), "n": 3, "list": ["a Deano", None, True]}
    assert redactor.value(record) == {
        "Deano": REDACTED,
        "on": date(2026, 1, 2),
        "n": 3,
        "list": [f"a {REDACTED}", None, True],
    }


def test_a_professionals_name_is_not_taken_apart():
    redactor = Redactor(["Jo Smith"], colleagues=["Jo Worker"])
    assert redactor.text("Jo Worker met Jo Smith; Smith said so to Jo") == (
        f"Jo Worker met {REDACTED}; {REDACTED} said so to Jo"
    )


def test_police_only_links_are_withheld_unless_unredacted(panel, cli, coordinator, tmp_path):
    root, _chair, _cron = panel
    secret = ok(run(cli, root, coordinator, "person", "add", "--kind", "person", "--name",
                    "Vance Holloway", "--police-only")).stdout.strip()  # fmt: skip
    link = ok(run(cli, root, coordinator, "link", "C-0001", secret, "--nature", "intelligence",
                  "--source", "police", "--date", "04/11/2026")).stdout.strip()  # fmt: skip
    ok(export(cli, root, coordinator, tmp_path / "red", "--formats", "json,html"))
    bundle = json.loads((tmp_path / "red" / "subject-access-C-0001.json").read_text())
    assert bundle["withheld"] == [link] and link not in bundle["exported"]
    assert secret not in json.dumps(bundle["links"]) and "Vance" not in json.dumps(bundle)
    html = unescape((tmp_path / "red" / "subject-access-C-0001.html").read_text())
    assert f"{link}: police information" in html and secret not in html
    ok(export(cli, root, coordinator, tmp_path / "full", "--formats", "json", "--unredacted"))
    full = json.loads((tmp_path / "full" / "subject-access-C-0001.json").read_text())
    assert full["withheld"] == [] and link in full["exported"]
    assert {lk["with"]: lk["names"] for lk in full["links"]}[secret] == ["Vance Holloway"]


_LETTERS = "abcdefghijklmnopqrstuvwxyzéëñøłçåöüабвгдеж"


@settings(max_examples=300, deadline=None)
@given(
    words=st.lists(st.text(alphabet=_LETTERS, min_size=2, max_size=8), min_size=1, max_size=3),
    case=st.sampled_from(["lower", "upper", "title", "capitalize"]),
    sep=st.sampled_from([" ", "  ", "\n", "-", "’", "'"]),
    before=st.text(alphabet="abc .,;:()\n", max_size=12),
    after=st.text(alphabet="abc .,;:()'\n", max_size=12),
)
def test_a_known_name_never_survives_however_it_is_written(words, case, sep, before, after):
    from panelctl.base.names import name_key

    written = getattr(sep.join(words), case)()
    out = Redactor([" ".join(words)]).text(f"{before} {written} {after}")
    assert REDACTED in out
    left = name_key(out.replace(REDACTED, " ")).split()
    wanted = name_key(" ".join(words)).split()
    assert not any(left[i : i + len(wanted)] == wanted for i in range(len(left))), out


def test_each_export_is_logged_as_one_disclosure_of_every_record_in_it(
    panel, cli, coordinator, tmp_path
):
    from conftest import Clone

    root, _chair, _cron = panel
    store = Clone(root, coordinator.path).store()
    before = len(store.ids(store.index().table("disclosure").rtype))
    ok(export(cli, root, coordinator, tmp_path / "x", "--formats", "html,json"))
    store = Clone(root, coordinator.path).store()
    logged = [store.read(i) for i in store.ids(store.index().table("disclosure").rtype)]
    assert len(logged) == before + 1
    last = logged[-1]
    exported = json.loads((tmp_path / "x" / "subject-access-C-0001.json").read_bytes())
    assert last["output"] == "subject-access" and last["form"] == "html,json"
    assert "C-0001" in last["records"] and CANARY not in json.dumps(last, default=str)
    actions = set(re.findall(r'"(A-[0-9]{5})"', json.dumps(exported["actions"])))
    assert actions and actions <= set(last["records"])
