"""The disclosure log (issue 14, item 4): every command that writes personal data out of the
store records one DISCLOSURE (ids, never names); nobody may change or delete one, however
they write; `panelctl disclosures` lists them. Real stores, real git, a real SMTP server.

The sample store as of 1 Nov 2026, with one more child (the CANARY, C-0007): M-0001 held
(C-0001 to C-0005 discussed, A-00001 to A-00005 set), M-0002 planned.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime

import pytest
import test_remind
from test_pdf_papers import password_file
from test_remind import AS_OF, JO, SAM, mail_settings, set_mail

from conftest import CANARY, assert_unchanged, git, store_state
from panelctl.base.dates import LONDON
from panelctl.base.errors import ExitCode, LockedError, NotAllowedError
from panelctl.crypto import envelope
from panelctl.crypto.identity import read_identity_file
from panelctl.panel.access import add_reader, remove_reader
from panelctl.store import gitio
from panelctl.store.core import Store
from panelctl.store.disclosures import list_disclosures, log_disclosure, set_command

AS_OF_DAY = "01/11/2026"
mail_panel = test_remind.panel  # the fixtures: a store with actions, and a real SMTP server
smtp = test_remind.smtp


@pytest.fixture
def demo(sample):
    """The sample store with a child named CANARY (C-0007), nominated on 20 Oct 2026."""
    store = Store(sample.store, read_identity_file(sample.identity).unlock())
    store.create(
        "case",
        {
            "status": "open",
            "child": {"name": CANARY, "dob": date(2011, 3, 14)},
            "nominated": date(2026, 10, 20),
            "lead_professional": "Dana Whitfield",
            "risk": "High",
        },
    )
    return sample


def run(cli, demo, *args, env=None):
    return cli(*args, store=demo.store, identity=demo.identity, env=env)


def open_demo(demo) -> Store:
    return Store(demo.store, read_identity_file(demo.identity).unlock())


def disclosures(demo) -> list[dict]:
    return list_disclosures(open_demo(demo))


def new_one(demo, before: list[dict]) -> dict:
    """The one disclosure made since ``before``, read whole (decrypted)."""
    now = disclosures(demo)
    assert len(now) == len(before) + 1, [d["id"] for d in now]
    return open_demo(demo).read(now[0]["id"])


def assert_no_name_in_the_log(demo) -> None:
    """No disclosure, decrypted, and no commit message or diff of one holds the child's name."""
    store = open_demo(demo)
    for row in list_disclosures(store):
        assert CANARY.encode() not in store.read_plaintext(row["id"])
        assert "Quillonia" not in json.dumps(row, default=str)
    history = git(demo.store, "log", "-p", "--textconv", "--format=%B", "--", "disclosures")
    assert "DL-00001" in history  # decrypted by textconv: the check below means something
    assert CANARY not in history and "Quillonia" not in history
    assert CANARY not in git(demo.store, "log", "--format=%B")


# --- every command that writes personal data out logs one disclosure ----------------------


def test_agenda_papers_are_one_disclosure_in_the_agenda_s_commit(demo, cli, tmp_path):
    out = tmp_path / "papers"
    built = run(cli, demo, "agenda", "build", "M-0002", "--out", str(out), "--as-of", AS_OF_DAY)
    assert built.exit_code == 0, built.output
    (only,) = disclosures(demo)
    record = open_demo(demo).read(only["id"])
    assert record["output"] == "papers" and record["form"] == "md,html,ics"
    assert record["records"][0] == "M-0002" and "C-0007" in record["records"]
    assert {"meeting", "case", "assessment", "action"} <= set(record["kinds"])
    me = open_demo(demo).me()
    assert record["by"] == {"reader": me.label, "role": "coordinator", "agency": me.agency}
    assert record["command"] == "panelctl agenda build"
    assert "recipients" not in record
    assert record["at"].utcoffset() == datetime(2026, 12, 1, tzinfo=LONDON).utcoffset()
    # the agenda and the disclosure of its papers are one commit
    changed = git(demo.store, "show", "--name-only", "--format=", "HEAD").split()
    assert changed == [f"disclosures/{only['id']}.enc", "meetings/M-0002.enc"]
    assert any(CANARY in p.read_text() for p in out.iterdir())  # the papers do name the child
    assert not [p for p in out.iterdir() if p.name.startswith(".tmp-")]
    assert_no_name_in_the_log(demo)


def test_a_dry_run_and_an_agenda_without_papers_disclose_nothing(demo, cli):
    for extra in (("--dry-run",), ()):
        built = run(cli, demo, "agenda", "build", "M-0002", "--as-of", AS_OF_DAY, *extra)
        assert built.exit_code == 0, built.output
    assert disclosures(demo) == []


def test_minutes_to_stdout_to_a_file_and_as_a_pdf_are_one_disclosure_each(demo, cli, tmp_path):
    out = tmp_path / "minutes"
    shown = run(cli, demo, "minutes", "render", "M-0001")
    assert shown.exit_code == 0 and "C-0001" in shown.stdout, shown.output
    first = open_demo(demo).read(disclosures(demo)[0]["id"])
    assert (first["output"], first["form"]) == ("minutes", "md")
    assert first["records"][:2] == ["M-0001", "C-0001"] and "A-00001" in first["records"]
    assert first["command"] == "panelctl minutes render"
    before = disclosures(demo)
    html = run(cli, demo, "minutes", "render", "M-0001", "--format", "html", "--out", str(out))
    assert html.exit_code == 0, html.output
    assert new_one(demo, before)["form"] == "html"
    before = disclosures(demo)
    secret = password_file(tmp_path)
    pdf = run(cli, demo, "minutes", "render", "M-0001", "--format", "pdf", "--out", str(out),
              "--password-file", str(secret))  # fmt: skip
    assert pdf.exit_code == 0, pdf.output
    assert new_one(demo, before)["form"] == "pdf"
    assert sorted(p.name for p in out.iterdir()) == ["minutes-M-0001.html", "minutes-M-0001.pdf"]
    assert_no_name_in_the_log(demo)


def test_reports_disclose_only_when_small_numbers_are_shown(demo, cli, tmp_path):
    period = ("--period", "2026-09..2026-10", "--as-of", AS_OF_DAY)
    suppressed = run(cli, demo, "report", "bimonthly", *period, "--format", "json",
                     "--suppress-small")  # fmt: skip
    assert suppressed.exit_code == 0, suppressed.output
    assert disclosures(demo) == []  # figures only, small ones hidden: not a disclosure
    shown = run(cli, demo, "report", "bimonthly", *period, "--format", "csv")
    assert shown.exit_code == 0, shown.output
    report = open_demo(demo).read(disclosures(demo)[0]["id"])
    assert (report["output"], report["form"], report["kinds"]) == ("report", "csv", ["case"])
    assert "C-0007" in report["records"] and "C-0001" in report["records"]
    before = disclosures(demo)
    annual = run(cli, demo, "report", "annual", "--from", "01/01/2026", "--to", "31/10/2026",
                 "--as-of", AS_OF_DAY, "--out", str(tmp_path / "annual.html"))  # fmt: skip
    assert annual.exit_code == 0, annual.output
    review = new_one(demo, before)
    assert (review["output"], review["form"]) == ("annual-review", "html")
    assert "C-0007" in review["records"]
    before = disclosures(demo)
    quiet = run(cli, demo, "report", "annual", "--from", "01/01/2026", "--to", "31/10/2026",
                "--as-of", AS_OF_DAY, "--suppress-small", "--out", str(tmp_path / "wide.html"))  # fmt: skip
    assert quiet.exit_code == 0 and (tmp_path / "wide.html").exists(), quiet.output
    assert disclosures(demo) == before


def test_the_map_names_nobody_and_is_not_a_disclosure(demo, cli, tmp_path):
    mapped = run(cli, demo, "map", "--format", "json")
    assert mapped.exit_code == 0 and CANARY not in mapped.stdout, mapped.output
    assert disclosures(demo) == []


def test_each_mail_accepted_is_one_disclosure_committed_with_its_reminder(
    mail_panel, coordinator, cli, smtp
):
    store = mail_panel
    server, port = smtp()
    set_mail(store, **mail_settings(port, names_in_body=True))
    before = git(store.root, "rev-parse", "HEAD").strip()
    sent = cli("remind", "--as-of", AS_OF, store=store.root, identity=coordinator.path)
    assert sent.exit_code == 0, sent.output
    assert any(CANARY in body for _to, _subject, body, _m in server.messages)  # names in bodies
    logged = list_disclosures(store)
    assert len(logged) == len(server.messages) == 3
    assert {d["recipients"][0] for d in logged} == {rcpt[0] for rcpt, *_ in server.messages}
    assert all((d["output"], d["form"]) == ("mail", "mail") for d in logged)
    to_jo = next(d for d in logged if d["recipients"] == [JO])
    assert to_jo["records"] == ["A-00001", "C-0001", "A-00002"]
    assert next(d for d in logged if d["recipients"] == [SAM])["command"] == "panelctl remind"
    # one commit: the reminders' sent marks and their disclosures
    assert git(store.root, "rev-list", "--count", f"{before}..HEAD").strip() == "1"
    changed = git(store.root, "show", "--name-only", "--format=", "HEAD").split()
    assert sum(p.startswith("disclosures/") for p in changed) == 3
    assert sum(p.startswith("reminders/") for p in changed) == 3
    for row in logged:
        assert CANARY.encode() not in store.read_plaintext(row["id"])
    again = cli("remind", "--as-of", AS_OF, store=store.root, identity=coordinator.path)
    assert again.exit_code == 0 and len(list_disclosures(store)) == 3  # nothing sent twice


# --- a file and its disclosure never disagree --------------------------------------------


def test_a_disclosure_that_cannot_be_committed_leaves_no_file(demo, tmp_path, monkeypatch):
    from panelctl.meetings.minutes import minutes_out

    monkeypatch.setenv("PANELCTL_LOCK_TIMEOUT", "0.2")
    out = tmp_path / "minutes"
    holder = open_demo(demo)
    before = store_state(demo.store)
    with holder.lock(), pytest.raises(LockedError):  # another write holds the store
        minutes_out(open_demo(demo), "M-0001", "html", out=out)
    assert list(out.iterdir()) == []  # not the minutes, not a temp file
    assert_unchanged(before, store_state(demo.store))


def test_an_agenda_whose_commit_fails_leaves_no_paper(demo, tmp_path, monkeypatch):
    """The papers are staged inside the agenda's transaction: its commit failing (here git
    itself) removes them, and the agenda is not saved either."""
    from panelctl.base.errors import GitError
    from panelctl.meetings.agenda import build_agenda

    def broken(*args, **kwargs):
        raise GitError("git commit failed: the disk is gone")

    monkeypatch.setattr(gitio, "commit", broken)
    out = tmp_path / "papers"
    before = store_state(demo.store)
    with pytest.raises(GitError):
        build_agenda(open_demo(demo), "M-0002", date(2026, 11, 1), papers_to=out)
    assert list(out.iterdir()) == []
    after = store_state(demo.store)
    # (a failed write leaves the folder of a first record of its type, empty: store/core.py)
    assert after["files"].pop("disclosures") == "folder"
    assert_unchanged(before, after)


def test_a_file_that_cannot_be_written_leaves_no_disclosure(demo, cli, tmp_path):
    out = tmp_path / "minutes"
    out.mkdir()
    (out / "minutes-M-0001.html").write_text("an earlier copy")
    before = store_state(demo.store)
    refused = run(cli, demo, "minutes", "render", "M-0001", "--format", "html", "--out", str(out))
    assert refused.exit_code == ExitCode.NOT_ALLOWED, refused.output
    out.chmod(0o500)  # read-only
    try:
        refused = run(cli, demo, "report", "bimonthly", "--out", str(out / "report.html"))
        assert refused.exit_code == ExitCode.INVALID_INPUT, refused.output
    finally:
        out.chmod(0o700)
    assert_unchanged(before, store_state(demo.store))
    assert disclosures(demo) == []


def test_a_full_disk_while_papers_are_written_leaves_no_disclosure(demo, tmp_path, monkeypatch):
    """The temp files are written before the disclosure: a write that fails is seen first."""
    from panelctl.meetings.agenda import build_agenda
    from panelctl.outputs import papers

    def full(folder, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(papers, "_stage_one", full)
    before = store_state(demo.store)
    out = tmp_path / "papers"
    with pytest.raises(OSError):
        build_agenda(open_demo(demo), "M-0002", date(2026, 11, 1), papers_to=out)
    assert_unchanged(before, store_state(demo.store))
    assert list(out.iterdir()) == []


# --- roles: everyone who produces output may log; nobody may change or delete --------------


@pytest.mark.parametrize(
    "role", ["coordinator", "chair", "vice-chair", "business-support", "member", "cron"]
)
def test_every_role_that_produces_output_can_log_a_disclosure(demo, make_person, role):
    person = make_person(f"Robin {role.title().replace('-', '')}")
    add_reader(open_demo(demo), person.recipient, person.name, "Test Agency", role)
    store = Store(demo.store, person.unlock())
    set_command("a test")
    made = log_disclosure(store, output="report", form="csv", records=["C-0001", "A-00002"])
    record = store.read(made)
    assert record["by"]["role"] == role and record["kinds"] == ["case", "action"]
    assert record["command"] == "a test"


def test_a_recovery_key_cannot_log_so_it_writes_nothing_out(demo, make_person, tmp_path):
    from panelctl.meetings.minutes import minutes_out

    keeper = make_person("Rae Recovery")
    add_reader(open_demo(demo), keeper.recipient, keeper.name, "Test Council", "recovery")
    store = Store(demo.store, keeper.unlock())
    out = tmp_path / "minutes"
    with pytest.raises(NotAllowedError, match="may not record a disclosure"):
        minutes_out(store, "M-0001", "md", out=out)
    assert not out.exists() and disclosures(demo) == []


def test_nobody_may_change_or_delete_a_disclosure_through_the_library(demo):
    store = open_demo(demo)
    made = log_disclosure(store, output="papers", form="html", records=["M-0002"])
    changed = {**store.read(made), "records": ["M-0001"]}
    with pytest.raises(NotAllowedError, match="changes a disclosure record, which nobody may"):
        store.update(changed)
    with pytest.raises(NotAllowedError, match="deletes a disclosure record, which nobody may"):
        store.delete(made)  # not even the coordinator
    assert store.read(made)["records"] == ["M-0002"]


def _forge(demo, path: str, plaintext: bytes | None, message: str) -> None:
    """A commit made with git by hand, signed by the coordinator's own key (a reader of the
    store), changing ``path``; this clone's HEAD moves to it unverified."""
    identity = read_identity_file(demo.identity).unlock()
    store = open_demo(demo)
    target = demo.store / path
    if plaintext is None:
        git(demo.store, "rm", "-q", path)
    else:
        keyring = store.keyring
        target.write_bytes(
            envelope.encrypt(keyring.key, keyring.epoch, store.store_id, path, plaintext)
        )
        git(demo.store, "add", path)
    tree = git(demo.store, "write-tree").strip()
    parent = git(demo.store, "rev-parse", "HEAD").strip()
    author = gitio.Author(identity.name, "x@example.invalid")
    new = gitio.write_signed_commit(demo.store, tree, [parent], message, author, identity.sign)
    git(demo.store, "update-ref", "HEAD", new, parent)
    git(demo.store, "reset", "-q", "--hard")


@pytest.mark.parametrize("forgery", ["change", "delete", "someone else's"])
def test_a_disclosure_forged_with_git_is_refused_by_verify(demo, cli, make_person, forgery):
    store = open_demo(demo)
    made = log_disclosure(store, output="papers", form="html", records=["M-0002", "C-0007"])
    path = f"disclosures/{made}.enc"
    plaintext = store.read_plaintext(made)
    if forgery == "change":  # hide that C-0007's data went out
        _forge(demo, path, plaintext.replace(b"- C-0007\n", b""), "Tidy the log")
        words = "changes a disclosure record, which nobody may do"
    elif forgery == "delete":
        _forge(demo, path, None, "Tidy the log")
        words = "deletes a disclosure record, which nobody may do"
    else:  # a new one, blaming another reader
        other = make_person("Pat Member")
        add_reader(open_demo(demo), other.recipient, other.name, "Police", "member")
        label = open_demo(demo).keyring.reader(other.recipient).label
        me = open_demo(demo).me().label
        forged = plaintext.replace(me.encode(), label.encode()).replace(b"coordinator", b"member")
        _forge(demo, "disclosures/DL-00002.enc", forged.replace(made.encode(), b"DL-00002"), "Log")
        words = "names another reader than the one who signed it"
    checked = cli("verify", store=demo.store, identity=demo.identity)
    assert checked.exit_code == ExitCode.PROBLEMS_FOUND, checked.output
    assert words in checked.output


def test_a_new_key_epoch_re_encrypts_the_log_and_verify_accepts_it(demo, cli, make_person):
    store = open_demo(demo)
    made = log_disclosure(store, output="minutes", form="md", records=["M-0001"])
    leaver = make_person("Lee Leaver")
    add_reader(store, leaver.recipient, leaver.name, "Police", "member")
    remove_reader(open_demo(demo), leaver.recipient)
    assert open_demo(demo).read(made)["records"] == ["M-0001"]
    checked = cli("verify", "--all", store=demo.store, identity=demo.identity)
    assert checked.exit_code == 0, checked.output


# --- panelctl disclosures ------------------------------------------------------------------


def _three(demo) -> dict[str, str]:
    """A paper of C-0007, a mail about an action of C-0001, a report: their ids."""
    store = open_demo(demo)
    store.create("action", {"description": "Visit", "case": "C-0003", "due": date(2026, 12, 1),
                            "status": "open"})  # fmt: skip
    return {
        "paper": log_disclosure(store, output="papers", form="html", records=["C-0007"]),
        "mail": log_disclosure(
            store,
            output="mail",
            form="mail",
            records=["A-00006"],
            recipients=["jo@example.police.uk"],
        ),
        "meeting": log_disclosure(store, output="minutes", form="md", records=["M-0001"]),
    }


def test_the_list_is_newest_first_and_filters_by_case_and_day(demo, cli):
    made = _three(demo)
    listed = run(cli, demo, "disclosures", "--format", "json")
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert [r["id"] for r in rows] == [made["meeting"], made["mail"], made["paper"]]
    assert set(rows[0]) == {"id", "at", "output", "form", "records", "kinds", "recipients",
                            "reader", "role", "agency", "command"}  # fmt: skip
    assert rows[1]["recipients"] == ["jo@example.police.uk"] and rows[1]["kinds"] == ["action"]
    assert datetime.fromisoformat(rows[0]["at"]).tzinfo is not None

    def ids(*args):
        found = run(cli, demo, "disclosures", "--format", "json", *args)
        assert found.exit_code == 0, found.output
        return [r["id"] for r in json.loads(found.stdout)]

    assert ids("--case", "C-0007") == [made["paper"]]
    # the meeting that discussed it, and the mail about its action
    assert ids("--case", "C-0003") == [made["meeting"], made["mail"]]
    assert ids("--case", "C-0006") == []  # on no agenda, in no disclosure
    assert ids("--since", "01/01/2099") == []
    assert len(ids("--since", "01/01/2026")) == 3
    bad = run(cli, demo, "disclosures", "--case", CANARY)
    assert bad.exit_code == ExitCode.INVALID_INPUT and CANARY not in bad.output, bad.output


def test_csv_and_table_shapes(demo, cli):
    made = _three(demo)
    shown = run(cli, demo, "disclosures", "--format", "csv")
    assert shown.exit_code == 0, shown.output
    rows = list(csv.DictReader(io.StringIO(shown.stdout)))
    assert list(rows[0]) == ["id", "at", "output", "form", "records", "kinds", "recipients",
                             "reader", "role", "agency", "command"]  # fmt: skip
    assert rows[1]["id"] == made["mail"] and rows[1]["records"] == "A-00006"
    assert rows[1]["recipients"] == "jo@example.police.uk"
    table = run(cli, demo, "disclosures")
    assert table.exit_code == 0 and made["paper"] in table.stdout, table.output
    assert "Disclosure" in table.stdout.splitlines()[0]


def test_showing_records_on_the_terminal_is_not_a_disclosure(demo, cli):
    for args in (("case", "show", "C-0007"), ("record", "show", "C-0007"), ("case", "list")):
        shown = run(cli, demo, *args)
        assert shown.exit_code == 0, shown.output
    assert disclosures(demo) == []


def test_disclosures_made_in_two_clones_both_survive_a_sync(team, cli):
    """Both clones log DL-00001 offline; the sync renumbers one, and every clone and the
    remote still verify from the first commit (each disclosure names its own signer)."""
    coordinator, chair = team["coordinator"], team["chair"]
    mine = log_disclosure(coordinator.store(), output="minutes", form="md", records=["M-0001"])
    theirs = log_disclosure(chair.store(), output="papers", form="pdf", records=["M-0002"])
    assert mine == theirs == "DL-00001"
    for clone in (coordinator, chair, coordinator):
        synced = cli("sync", store=clone.root, identity=clone.identity)
        assert synced.exit_code == 0, synced.output
    for clone in (coordinator, chair):
        rows = list_disclosures(clone.store())
        assert sorted((r["id"], r["role"], r["form"]) for r in rows) == [
            ("DL-00001", "coordinator", "md"),
            ("DL-00002", "chair", "pdf"),
        ]
        checked = cli("verify", "--all", store=clone.root, identity=clone.identity)
        assert checked.exit_code == 0, checked.output
