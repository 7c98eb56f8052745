"""Restricted groups and restricted items (issue 14, item 1): only a group's members can
read what is sealed to it, through every command and output; groups change only by a
coordinator's signed commit; removal from a group holds as removal from the store does."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from test_meetings import panel as _panel  # noqa: F401  (the fixture, found by its name)
from test_meetings import run, script_for

from conftest import CANARY, Person, git, signed_commit
from panelctl.base import yamlio
from panelctl.base.errors import ExitCode, NotAllowedError, TamperedError
from panelctl.casework import restricted
from panelctl.crypto import primitives as crypto
from panelctl.crypto.identity import read_identity_file
from panelctl.model import records
from panelctl.panel import access, groups
from panelctl.store.core import Store
from panelctl.store.verify import verify

#: fictional words that exist only inside restricted content: none may reach a non-member
CANARIES = ("Zorvath", "Quillbeck", "Kestrel", "Thimbleroot")
SECRET = "Zorvath Quillbeck collects children from the Kestrel Arms on Fridays."
CASE = {"status": "open", "child": {"name": "Test Child", "dob": date(2012, 5, 6)}, "risk": "High"}
MARK = "Contains information restricted to: police"
PDF_PASSWORD = "Kettle-Marmalade-47"


def leaks(text: str | bytes) -> list[str]:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return [c for c in CANARIES if c in text]


@dataclass
class Panel:
    store: Store
    coordinator: Person
    police: Person  # in the police group
    other: Person  # a reader of the store, not in the group

    def as_(self, person: Person) -> Store:
        return Store(self.store.root, person.unlock())


@pytest.fixture
def panel(store, coordinator, make_person) -> Panel:
    police = make_person("Pat Police")
    other = make_person("Olly Other")
    access.add_reader(store, police.recipient, police.name, "Police", "member")
    access.add_reader(store, other.recipient, other.name, "Health", "member")
    store.create("case", CASE)
    groups.add_member(store, "police", store.keyring.reader(police.recipient))
    return Panel(store, coordinator, police, other)


# --- reading -------------------------------------------------------------------------------


def test_a_member_reads_an_item_and_a_non_member_sees_only_that_it_exists(panel):
    item = restricted.add_note(panel.as_(panel.police), "C-0001", "police", SECRET)
    plain, content = restricted.show_item(panel.as_(panel.police), item)
    assert content == {"text": SECRET}
    assert plain["subject"] == "C-0001" and plain["by"] == "Pat Police"
    plain, content = restricted.show_item(panel.as_(panel.other), item)
    assert content is None and plain["group"] == "police" and "sealed" not in plain
    # the coordinator made the group but is not in it, and cannot read it either
    assert restricted.show_item(panel.as_(panel.coordinator), item)[1] is None
    # a reader not in the group may still add to it (police information passed to them)
    second = restricted.add_note(panel.as_(panel.other), "C-0001", "police", "From health")
    assert restricted.show_item(panel.as_(panel.other), second)[1] is None
    assert restricted.show_item(panel.as_(panel.police), second)[1] == {"text": "From health"}


def test_sealed_content_is_bound_to_its_group_and_says_where_it_was_sealed(panel):
    member = panel.as_(panel.police)
    first = restricted.add_note(member, "C-0001", "police", SECRET)
    item = member.read(first)
    keys = groups.my_groups(member)["police"]
    assert restricted.open_item(member, item, keys) == {"text": SECRET}
    for forged in ({**item, "by": "Someone Else"}, {**item, "added": date(2020, 1, 1)}):
        with pytest.raises(TamperedError) as error:
            restricted.open_item(member, forged, keys)
        assert leaks(error.value.message) == []
    # copied to another item about another record (or renumbered by sync): the member is
    # shown where it was sealed
    moved = restricted.open_item(member, {**item, "id": "RI-00009", "subject": "C-0002"}, keys)
    assert moved == {"text": SECRET, "sealed_as": first, "sealed_about": "C-0001"}


# --- every command and output, for a non-member and a member ------------------------------


@pytest.mark.parametrize("_panel", ["mace"], indirect=True)
def test_a_non_member_reads_nothing_restricted_through_any_command_or_output(
    _panel,  # noqa: F811
    cli,
    coordinator,
    make_person,
    tmp_path,
    monkeypatch,
):
    _profile, root, _chair = _panel
    police, other = make_person("Pat Police"), make_person("Olly Other")
    for person, agency in ((police, "Police"), (other, "Health")):
        added = run(cli, root, coordinator, "access", "add", person.recipient, "--name",
                    person.name, "--agency", agency, "--role", "member")  # fmt: skip
        assert added.exit_code == 0, added.output
    made = run(cli, root, coordinator, "access", "group", "add", "police", "Pat Police")
    assert made.exit_code == 0, made.output

    def ok(who, *args, input=None):
        done = cli(*args, store=root, identity=who.path, input=input)
        assert done.exit_code == 0, (args, done.output)
        return done

    note = ok(
        police, "restricted", "add", "C-0001", "--group", "police", input=SECRET
    ).stdout.strip()
    person = ok(police, "person", "add", "--kind", "person", "--name", "Zorvath Quillbeck",
                "--nickname", "Thimbleroot", "--restricted-to", "police").stdout.strip()  # fmt: skip
    place = ok(police, "location", "add", "--kind", "address", "--name", "Kestrel Arms",
               "--address", "1 Quillbeck Row", "--area", "Hanley", "--restricted-to", "police").stdout.strip()  # fmt: skip
    link = ok(police, "link", "C-0001", person, "--nature", "associate", "--source",
              "Kestrel informant", "--restricted-to", "police").stdout.strip()  # fmt: skip
    ok(police, "link", "C-0001", place, "--nature", "seen at", "--source", "police")
    assert (note, person, place, link) == ("RI-00001", "P-0001", "L-0001", "K-00001")

    # the member reads all of it
    assert "RI-00002 (to police; you can read it)" in ok(police, "person", "show", person).stdout
    shown = ok(police, "restricted", "show", note).stdout
    assert SECRET in shown
    listed = json.loads(
        ok(police, "restricted", "list", "--subject", person, "--format", "json").stdout
    )
    assert [r["readable"] for r in listed] == [True]
    details = json.loads(
        ok(police, "restricted", "show", listed[0]["id"], "--format", "json").stdout
    )
    assert details["content"]["fields"]["names"] == ["Zorvath Quillbeck"]

    # papers and minutes, for everyone and for the member who asks for restricted items
    ok(coordinator, "meeting", "schedule", "19/11/2026", "--time", "09:30")
    ok(coordinator, "agenda", "build", "M-0001", "--out", str(tmp_path / "papers"),
       "--as-of", "05/11/2026", "--formats", "md,html")  # fmt: skip
    refused = cli("agenda", "build", "M-0001", "--out", str(tmp_path / "other-papers"),
                  "--as-of", "05/11/2026", "--include-restricted", store=root, identity=other.path)  # fmt: skip
    assert refused.exit_code == ExitCode.NOT_ALLOWED, refused.output
    assert not (tmp_path / "other-papers").exists() or not any(
        (tmp_path / "other-papers").iterdir()
    )
    ok(police, "agenda", "build", "M-0001", "--out", str(tmp_path / "police-papers"),
       "--as-of", "05/11/2026", "--formats", "md,html", "--include-restricted")  # fmt: skip
    from test_meetings import POLICE

    ok(coordinator, "member", "add", "--name", "Jo Worker", "--agency", POLICE["mace"],
       "--role", "virtual", "--email", "jo.worker@example.gov.uk")  # fmt: skip
    script = tmp_path / "script.yaml"
    script.write_bytes(yamlio.dump(script_for(["C-0001", "C-0002"])))
    ok(coordinator, "meeting", "run", "M-0001", "--script", str(script))

    outputs: dict[str, str | bytes] = {}
    for paper in sorted((tmp_path / "papers").iterdir()):
        outputs[f"papers/{paper.name}"] = paper.read_bytes()
    commands = [
        ("restricted", "list"),
        ("restricted", "list", "--format", "json"),
        ("restricted", "show", note),
        ("restricted", "show", note, "--format", "json"),
        ("restricted", "show", "RI-00002", "--format", "json"),
        ("person", "list", "--format", "json"),
        ("person", "show", person, "--format", "json"),
        ("person", "show", person),
        ("location", "list", "--format", "json"),
        ("location", "show", place, "--format", "json"),
        ("case", "show", "C-0001", "--format", "json"),
        ("log",),
        *(("log", i, "--patch") for i in (note, person, place, link)),
        ("map", "--format", "json"),
        ("map", "--format", "dot"),
        ("report", "bimonthly", "--period", "2026-11..2026-12", "--as-of", "2026-12-31", "--format", "json"),
        ("report", "annual", "--year", "2026", "--format", "md"),
        ("remind", "--dry-run", "--as-of", "28/11/2026"),
        ("minutes", "render", "M-0001"),
        ("minutes", "render", "M-0001", "--format", "html"),
        ("access", "group", "list", "--format", "json"),
        *(("record", "list", t, "--format", "json") for t in ("restricted", "person", "location", "link")),
        *(("record", "show", i) for i in (note, person, place, link)),
    ]  # fmt: skip
    for args in commands:
        done = cli(*args, store=root, identity=other.path)
        assert done.exit_code in (0, 1), (args, done.output)  # 1: remind --check style lists
        outputs[" ".join(args)] = done.output
    # the non-member is told plainly, and sees who added what, about which record, when
    assert "Restricted to police: you are not in this group." in outputs[f"restricted show {note}"]
    assert "Pat Police" in outputs["restricted list"] and "C-0001" in outputs["restricted list"]
    # mail: the bodies as sent, with the children's names (the most a mail ever holds)
    from panelctl.notify import mail, reminders

    outsider = Store(root, other.unlock())
    planned = reminders._planned(
        outsider, mail.settings_from(outsider.profile), date(2026, 11, 28), True
    )
    assert planned.planned, "no mail was planned: the check would prove nothing"
    outputs["mail"] = "\n".join(m.subject + "\n" + m.body for m in planned.planned)
    # the query index, decrypted with the store key every reader holds
    outputs["index"] = json.dumps(
        {t: list(outsider.index().rows(t)) for t in records.TYPES}, default=str
    )
    # record edit cannot reach the sealed content (nor lose it)
    monkeypatch.setenv("VISUAL", "true")
    edit = cli("record", "edit", note, store=root, identity=other.path)
    assert edit.exit_code == ExitCode.NOT_ALLOWED, edit.output
    outputs["record edit"] = edit.output
    # (the checks see real content: the child's own paper names them, the mail and the
    # index are there, and the visible records carry the marker)
    assert CANARY in outputs["papers/paper-M-0001-C-0001.html"].decode()
    assert "jo.worker@example.gov.uk" not in outputs["mail"] and "A-00001" in outputs["mail"]
    assert "C-0001" in outputs["index"] and "RI-00001" in outputs["index"]
    assert "Restricted to police" in outputs[f"person show {person}"]
    assert "restricted: RI-00002 (to police; you are not in this group)" in outputs[f"person show {person}"]
    found = {where: leaks(text) for where, text in outputs.items() if leaks(text)}
    assert found == {}
    # and nothing in git, but ciphertext (the whole history, every object)
    objects = subprocess.run(["git", "cat-file", "--batch-all-objects", "--batch"], cwd=root,
                             capture_output=True, check=True).stdout  # fmt: skip
    assert leaks(objects) == []

    # the member's papers and minutes, with --include-restricted, hold it and are marked
    member_papers = {p.name: p.read_text() for p in (tmp_path / "police-papers").iterdir()}
    paper = member_papers["paper-M-0001-C-0001.html"]
    assert SECRET in paper and "Zorvath Quillbeck" in paper and "Kestrel informant" in paper
    assert MARK in paper
    assert MARK in member_papers["paper-M-0001-C-0001.md"]
    md = member_papers["paper-M-0001-C-0001.md"].splitlines()
    assert MARK in md[0] and MARK in md[-1]
    assert MARK not in member_papers["paper-M-0001-C-0002.md"]  # nothing restricted about it
    assert leaks(member_papers["paper-M-0001-C-0002.html"]) == []
    assert leaks(member_papers["agenda-M-0001.html"]) == []
    minutes = ok(police, "minutes", "render", "M-0001", "--include-restricted").stdout
    assert SECRET in minutes and MARK in minutes.splitlines()[0]
    plain_minutes = ok(police, "minutes", "render", "M-0001").stdout
    assert leaks(plain_minutes) == [] and MARK not in plain_minutes


# --- changing a restricted item ------------------------------------------------------------


def test_no_write_may_change_a_restricted_item(panel):
    item_id = restricted.add_note(panel.as_(panel.police), "C-0001", "police", SECRET)
    outsider = panel.as_(panel.other)
    item = outsider.read(item_id)
    for changed in (
        {**item, "sealed": crypto.b64(b"\0" * 120)},
        {**item, "subject": "C-0001", "by": "Someone"},
    ):
        with pytest.raises(NotAllowedError) as error:
            outsider.update(changed)
        assert "restricted item" in error.value.message
    assert restricted.show_item(panel.as_(panel.police), item_id)[1] == {"text": SECRET}


def test_an_item_cannot_be_added_in_another_readers_name(panel):
    outsider = panel.as_(panel.other)
    item_id = restricted.add_note(outsider, "C-0001", "police", "From health")
    forged = {**outsider.read(item_id), "id": "RI-00002", "by": "Pat Police"}
    with pytest.raises(NotAllowedError) as error:
        outsider.create("restricted", forged)
    assert "another reader's name" in error.value.message


def test_verify_refuses_a_restricted_item_changed_with_git(panel):
    item_id = restricted.add_note(panel.as_(panel.police), "C-0001", "police", SECRET)
    outsider = panel.as_(panel.other)
    item = outsider.read(item_id)
    path = outsider.path_of(item_id)
    from panelctl.crypto import envelope

    keyring = outsider.keyring
    forged = records.dump(records.RESTRICTED, {**item, "sealed": crypto.b64(b"\1" * 120)})
    (panel.store.root / path).write_bytes(
        envelope.encrypt(keyring.key, keyring.epoch, outsider.store_id, path, forged)
    )
    git(panel.store.root, "add", "-A")
    tree = git(panel.store.root, "write-tree").strip()
    parent = git(panel.store.root, "rev-parse", "HEAD").strip()
    from panelctl.store import gitio

    identity = panel.other.unlock()
    new = gitio.write_signed_commit(panel.store.root, tree, [parent], "Update restricted",
                                    gitio.Author(identity.name, "x@example.invalid"), identity.sign)  # fmt: skip
    git(panel.store.root, "update-ref", "HEAD", new, parent)
    report = verify(Store(panel.store.root, panel.coordinator.unlock()))
    assert any("changes a restricted item" in str(p) for p in report.problems), report.problems


# --- groups: membership and removal ---------------------------------------------------------


def test_a_member_removed_from_the_group_cannot_read_items_added_after(panel, make_person):
    extra = make_person("Rae Police")
    access.add_reader(panel.store, extra.recipient, extra.name, "Police", "member")
    groups.add_member(panel.store, "police", panel.store.keyring.reader(extra.recipient))
    before = restricted.add_note(panel.as_(panel.police), "C-0001", "police", "Before removal")
    leaver = panel.as_(panel.police)
    kept = groups.my_groups(leaver)["police"]  # the keys the leaver holds at removal
    coordinator = panel.as_(panel.coordinator)
    group = groups.remove_member(
        coordinator, "police", coordinator.keyring.reader(panel.police.recipient)
    )
    assert group.epoch.number == 3  # 1: made; 2: Rae added by a non-member; 3: Pat removed
    after = restricted.add_note(panel.as_(extra), "C-0001", "police", "After removal")
    leaver = panel.as_(panel.police)
    assert restricted.show_item(leaver, after)[1] is None
    # not with the keys they kept either
    assert restricted.open_item(leaver, leaver.read(after), kept) is None
    assert restricted.show_item(panel.as_(extra), after)[1] == {"text": "After removal"}
    # what was sealed to them before stays readable to them, as with removal from the store
    assert restricted.show_item(leaver, before)[1] == {"text": "Before removal"}


def test_removing_a_reader_from_the_store_takes_them_out_of_every_group(panel, make_person):
    extra = make_person("Rae Police")
    access.add_reader(panel.store, extra.recipient, extra.name, "Police", "member")
    groups.add_member(panel.store, "police", panel.store.keyring.reader(extra.recipient))
    groups.add_member(
        panel.store, "chair-and-police", panel.store.keyring.reader(panel.police.recipient)
    )
    access.remove_reader(panel.store, "Pat Police")
    rows = groups.list_groups(panel.store)
    assert {(r["group"], r["member"]) for r in rows} == {
        ("police", "Rae Police"),
        ("chair-and-police", "(none)"),
    }
    assert json.loads(git(panel.store.root, "show", "HEAD:" + groups.GROUPS_PATH))
    subject = git(panel.store.root, "log", "-1", "--format=%s").strip()
    assert subject.startswith("Remove reader")  # one commit: the store and its groups
    assert verify(Store(panel.store.root, panel.coordinator.unlock())).problems == []
    with pytest.raises(NotAllowedError):  # nothing could be read by anyone
        restricted.add_note(panel.store, "C-0001", "chair-and-police", "Nobody to read it")


def test_a_coordinator_in_the_group_gives_a_new_member_the_earlier_items(panel, make_person):
    keyring = panel.store.keyring
    groups.add_member(panel.store, "chair-and-police", keyring.reader(panel.coordinator.recipient))
    groups.add_member(panel.store, "chair-and-police", keyring.reader(panel.police.recipient))
    earlier = restricted.add_note(panel.as_(panel.police), "C-0001", "chair-and-police", "Earlier")
    extra = make_person("Rae Police")
    access.add_reader(panel.store, extra.recipient, extra.name, "Police", "member")
    assert groups.add_member(
        panel.store, "chair-and-police", panel.store.keyring.reader(extra.recipient)
    )
    assert restricted.show_item(panel.as_(extra), earlier)[1] == {"text": "Earlier"}
    assert groups.read_groups(panel.store).get("chair-and-police").epoch.number == 1


def test_a_new_member_added_by_a_non_member_reads_only_later_items(panel, make_person):
    earlier = restricted.add_note(panel.as_(panel.police), "C-0001", "police", "Earlier")
    extra = make_person("Rae Police")
    access.add_reader(panel.store, extra.recipient, extra.name, "Police", "member")
    assert not groups.add_member(panel.store, "police", panel.store.keyring.reader(extra.recipient))
    later = restricted.add_note(panel.as_(panel.police), "C-0001", "police", "Later")
    assert restricted.show_item(panel.as_(extra), earlier)[1] is None
    assert restricted.show_item(panel.as_(extra), later)[1] == {"text": "Later"}
    assert restricted.show_item(panel.as_(panel.police), earlier)[1] == {"text": "Earlier"}


def test_access_group_commands(panel, cli):
    def as_(who, *args):
        return cli("access", "group", *args, store=panel.store.root, identity=who.path)

    assert as_(panel.coordinator, "add", "police", "Olly Other").exit_code == 0
    again = as_(panel.coordinator, "add", "police", "Olly Other")
    assert again.exit_code == ExitCode.INVALID_INPUT and "already a member" in again.stderr
    bad = as_(panel.coordinator, "add", "Police Team", "Olly Other")
    assert bad.exit_code == ExitCode.INVALID_INPUT
    listed = json.loads(as_(panel.other, "list", "--format", "json").stdout)
    assert sorted(r["member"] for r in listed) == ["Olly Other", "Pat Police"]
    refused = as_(panel.police, "add", "police", "Sam Coordinator")
    assert refused.exit_code == ExitCode.NOT_ALLOWED
    removed = as_(panel.coordinator, "remove", "police", "Olly Other")
    assert removed.exit_code == 0 and "stay readable" in removed.stderr
    missing = as_(panel.coordinator, "remove", "police", "Olly Other")
    assert missing.exit_code == ExitCode.NOT_FOUND


# --- who may change groups -------------------------------------------------------------------


def test_a_non_coordinator_cannot_change_groups_through_the_library(panel):
    member = panel.as_(panel.police)
    with pytest.raises(NotAllowedError):
        groups.add_member(member, "police", member.keyring.reader(panel.other.recipient))
    # nor by staging the file directly, with a new epoch wrapped to the outsider
    forged = groups.without(groups.read_groups(member), panel.police.recipient)
    forged = groups.Groups(
        forged.store_id,
        {
            "police": groups.Group(
                "police", forged.groups["police"].epochs[:1], (panel.other.recipient,)
            )
        },
    )
    with pytest.raises(NotAllowedError) as error, member.transaction() as tx:
        tx.put_file(groups.GROUPS_PATH, forged.to_bytes())
    assert "coordinator" in error.value.message


def _forged_groups(panel) -> bytes:
    """groups.json with a new epoch of police wrapped to the outsider too: what someone
    without the group's key can write (a public key of their own)."""
    document = json.loads((panel.store.root / groups.GROUPS_PATH).read_text())
    secret, public = crypto.generate_x25519()
    recipients = [panel.police.recipient, panel.other.recipient]
    stanzas = []
    for to in recipients:
        from panelctl.crypto.identity import decode_recipient

        ephemeral, key = crypto.wrap_key(secret, decode_recipient(to))
        stanzas.append({"to": to, "ephemeral": crypto.b64(ephemeral), "key": crypto.b64(key)})
    group = document["groups"]["police"]
    group["members"] = recipients
    group["epochs"].append(
        {"epoch": len(group["epochs"]) + 1, "public": crypto.b64(public), "stanzas": stanzas}
    )
    return (json.dumps(document, indent=2) + "\n").encode()


def test_a_pusher_editing_groups_json_with_git_is_refused(panel):
    root = panel.store.root
    (root / groups.GROUPS_PATH).write_bytes(_forged_groups(panel))
    # uncommitted: not used
    with pytest.raises(TamperedError):
        groups.read_groups(panel.as_(panel.police))
    # committed with plain git, unsigned
    git(root, "commit", "-qam", "Add a member")
    report = verify(Store(root, panel.coordinator.unlock()))
    assert any("not signed by a reader" in str(p) for p in report.problems), report.problems


def test_a_reader_who_is_not_a_coordinator_cannot_sign_a_groups_change(panel):
    root = panel.store.root
    (root / groups.GROUPS_PATH).write_bytes(_forged_groups(panel))
    git(root, "add", "-A")
    tree = git(root, "write-tree").strip()
    parent = git(root, "rev-parse", "HEAD").strip()
    from panelctl.store import gitio

    identity = read_identity_file(panel.other.path).unlock()
    new = gitio.write_signed_commit(root, tree, [parent], "Add a member",
                                    gitio.Author(identity.name, "x@example.invalid"), identity.sign)  # fmt: skip
    git(root, "update-ref", "HEAD", new, parent)
    report = verify(Store(root, panel.coordinator.unlock()))
    assert any(groups.GROUPS_PATH in str(p) and "coordinator" in str(p) for p in report.problems), (
        report.problems
    )


def test_a_coordinator_signed_groups_change_verifies(panel):
    """The counterpart: the same kind of file, committed by a coordinator, is accepted."""
    root = panel.store.root
    (root / groups.GROUPS_PATH).write_bytes(_forged_groups(panel))
    signed_commit(root, panel.coordinator.path, "Add a member by hand")
    assert verify(Store(root, panel.coordinator.unlock()), everything=True).problems == []


# --- the marking on every printed page --------------------------------------------------------


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "headless_shell"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no Chromium to print with")


def test_every_printed_page_of_a_restricted_paper_is_marked(panel, tmp_path):
    browser = _chromium()
    if not shutil.which("pdftotext") or not shutil.which("pdftoppm"):
        pytest.skip("poppler's pdftotext and pdftoppm are needed")
    long_text = "\n\n".join(
        f"Paragraph {n}: sightings near the canal, vehicles and times as reported." * 3
        for n in range(60)
    )
    restricted.add_note(panel.as_(panel.police), "C-0001", "police", long_text)
    member = panel.as_(panel.police)
    member.create("meeting", {"date": date(2026, 11, 19), "status": "planned"})
    from panelctl.meetings.agenda import build_agenda

    out = tmp_path / "papers"
    from panelctl.outputs.papers import ProtectedPdf

    build_agenda(member, "M-0001", date(2026, 11, 5), papers_to=out,
                 formats=("html", ProtectedPdf(PDF_PASSWORD)), include_restricted=True)  # fmt: skip
    # the password-protected PDF panelctl writes itself (xhtml2pdf): its frames, every page
    from pypdf import PdfReader

    reader = PdfReader(out / "paper-M-0001-C-0001.pdf")
    assert reader.decrypt(PDF_PASSWORD)
    assert len(reader.pages) >= 3
    for number, page in enumerate(reader.pages, start=1):
        assert MARK in " ".join(page.extract_text().split()), f"PDF page {number} is not marked"
    html = out / "paper-M-0001-C-0001.html"
    pdf = tmp_path / "paper.pdf"
    # (a short profile folder: Chromium's socket in it must fit a Unix socket's path)
    profile = Path(tempfile.mkdtemp(prefix="pc-chromium-", dir="/tmp"))
    try:
        printed = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
             f"--user-data-dir={profile}", f"--print-to-pdf={pdf}", html.as_uri()],
            capture_output=True, text=True, timeout=120,
            env={**os.environ, "TMPDIR": str(profile)},
        )  # fmt: skip
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert pdf.is_file(), printed.stderr[-2000:]
    pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(
        ["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout).group(1))  # fmt: skip
    assert pages >= 3, "the paper should run over several pages"
    for page in range(1, pages + 1):
        text = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-layout", str(pdf), "-"],
                              capture_output=True, text=True, check=True).stdout  # fmt: skip
        assert MARK in " ".join(text.split()), f"page {page} is not marked"
    # and each page really renders (an image per page, not blank)
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(pdf), str(tmp_path / "page")], check=True)
    images = sorted(tmp_path.glob("page-*.png"))
    assert len(images) == pages and all(p.stat().st_size > 1000 for p in images)


def test_the_library_names_fields_and_the_cli_flags(panel):
    """--police-only now warns: it is only a label; --restricted-to is the way to restrict."""
    with pytest.raises(NotAllowedError) as error:
        from panelctl.meetings.agenda import my_restricted_groups

        my_restricted_groups(panel.as_(panel.other))
    assert "--" not in error.value.message


def test_police_only_is_still_a_label_and_warns(panel, cli):
    done = cli("person", "add", "--kind", "person", "--name", "Lark Mimsby", "--police-only",
               store=panel.store.root, identity=panel.police.path)  # fmt: skip
    assert done.exit_code == 0 and "--restricted-to police" in done.stderr
    assert panel.as_(panel.other).read("P-0001")["names"] == ["Lark Mimsby"]


def test_an_item_needs_a_known_subject_group_and_text(panel, cli):
    def add(*args, input=None):
        return cli("restricted", "add", *args, store=panel.store.root,
                   identity=panel.police.path, input=input)  # fmt: skip

    assert add("C-0009", "--group", "police", "--text", "x").exit_code == ExitCode.NOT_FOUND
    assert add("M-0001", "--group", "police", "--text", "x").exit_code == ExitCode.INVALID_INPUT
    assert add("C-0001", "--group", "nobody", "--text", "x").exit_code == ExitCode.NOT_FOUND
    assert add("C-0001", "--group", "police", "--text", "  ").exit_code == ExitCode.INVALID_INPUT
    note = Path(panel.store.root).parent / "note.txt"
    note.write_text("From a file")
    done = add("C-0001", "--group", "police", "--file", str(note))
    assert done.exit_code == 0, done.output
    assert restricted.show_item(panel.as_(panel.police), done.stdout.strip())[1] == {
        "text": "From a file"
    }
