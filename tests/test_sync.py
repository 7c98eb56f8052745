"""`panelctl sync` with a real bare remote and clones (coordinator, chair, cron), each with
its own identity: signed commits, verified history, records merged by field, ids renumbered.
"""

from __future__ import annotations

import subprocess
from datetime import date

from conftest import CANARY, Clone, git, store_state
from panelctl.base.errors import ExitCode
from panelctl.crypto.identity import read_identity_file
from panelctl.panel import sync as syncing
from panelctl.panel.access import add_reader, remove_reader
from panelctl.store import chain, gitio
from panelctl.store.core import setup_clone

CASE = {"status": "open", "child": {"name": CANARY, "dob": date(2011, 4, 2)}, "risk": "High"}


def sync(cli, clone: Clone, *args: str):
    return cli("sync", *args, store=clone.root, identity=clone.identity)


def tree(clone: Clone) -> str:
    return git(clone.root, "rev-parse", "HEAD^{tree}").strip()


def test_nothing_to_do_is_quiet(team, cli):
    result = sync(cli, team["chair"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")


def test_two_offline_nominations_get_different_ids(team, cli):
    coordinator, chair = team["coordinator"], team["chair"]
    first = coordinator.store().create("case", CASE)
    mine = chair.store().create("case", {**CASE, "risk": "Low"})
    assert first == mine  # both took the next id offline
    assert sync(cli, coordinator).exit_code == 0
    result = sync(cli, chair)
    assert result.exit_code == 0, result.output
    assert f"Your {mine} is now " in result.stderr
    renamed = result.stderr.split(" is now ")[1].split(":")[0]
    assert sync(cli, coordinator).exit_code == 0
    assert tree(coordinator) == tree(chair)
    store = coordinator.store()
    assert store.read(first)["risk"] == "High" and store.read(renamed)["risk"] == "Low"
    for clone in (coordinator, chair):
        done = cli("verify", "--all", store=clone.root, identity=clone.identity)
        assert (done.exit_code, done.stdout) == (0, ""), done.output


def test_edits_to_different_fields_merge(team, cli):
    coordinator, chair = team["coordinator"], team["chair"]
    case_id = coordinator.store().create("case", CASE)
    assert sync(cli, coordinator).exit_code == 0
    assert sync(cli, chair).exit_code == 0
    a = coordinator.store()
    a.update({**a.read(case_id), "risk": "Medium"})
    b = chair.store()
    b.update({**b.read(case_id), "lead_agency": "Test Council"})
    assert sync(cli, coordinator).exit_code == 0
    assert sync(cli, chair).exit_code == 0
    assert sync(cli, coordinator).exit_code == 0
    merged = coordinator.store().read(case_id)
    assert merged["risk"] == "Medium" and merged["lead_agency"] == "Test Council"
    assert tree(coordinator) == tree(chair)


def test_a_forged_remote_commit_is_refused_and_nothing_taken(team, cli, tmp_path):
    coordinator, chair = team["coordinator"], team["chair"]
    (coordinator.root / "notes.txt").write_text("pushed with plain git\n")
    git(coordinator.root, "add", "notes.txt")
    git(coordinator.root, "-c", "user.name=M", "-c", "user.email=m@x.invalid", "commit", "-qm", "x")
    git(coordinator.root, "push", "-q", "origin", "main")
    before = store_state(chair.root)
    result = sync(cli, chair)
    assert result.exit_code == ExitCode.SYNC_REFUSED, result.output
    assert "nothing of them was taken" in result.stderr
    assert store_state(chair.root) == before


def test_a_removed_reader_stays_out_and_stale_epoch_is_reencrypted(team, cli):
    coordinator, chair, cron = team["coordinator"], team["chair"], team["cron"]
    case_id = chair.store().create("case", CASE)  # chair, offline, at epoch 1
    remove_reader(coordinator.store(), "Cron Server")  # epoch 2
    assert sync(cli, coordinator).exit_code == 0
    result = sync(cli, chair)
    assert result.exit_code == 0, result.output
    store = chair.store()
    from panelctl.crypto import envelope

    blob = (chair.root / store.path_of(case_id)).read_bytes()
    assert envelope.epoch_of(blob) == store.keyring.epoch == 2
    # the removed cron clone cannot take the new history, and its pushes are refused
    refused = sync(cli, cron)
    assert refused.exit_code != 0
    assert chain.read_trust(chair.store().private).verified == git(chair.root, "rev-parse", "HEAD").strip()


def test_a_removed_readers_push_is_refused_by_everyone(team, cli):
    coordinator, chair, cron = team["coordinator"], team["chair"], team["cron"]
    remove_reader(coordinator.store(), "Cron Server")
    assert sync(cli, coordinator).exit_code == 0
    # the removed cron clone, at the old epoch, signs a commit and pushes it by hand
    (cron.root / "notes.txt").write_text("still here\n")
    git(cron.root, "add", "notes.txt")
    identity = read_identity_file(cron.identity).unlock()
    tree_id = git(cron.root, "write-tree").strip()
    parent = git(cron.root, "rev-parse", "HEAD").strip()
    forged = gitio.write_signed_commit(
        cron.root, tree_id, [parent], "notes", gitio.Author("Cron", "c@x.invalid"), identity.sign
    )
    git(cron.root, "push", "-q", "-f", "origin", f"{forged}:refs/heads/main")
    before = store_state(chair.root)
    result = sync(cli, chair)
    assert result.exit_code == ExitCode.SYNC_REFUSED, result.output
    assert forged[:12] in result.stderr
    assert store_state(chair.root) == before


def test_a_sync_killed_halfway_is_undone_by_the_next(team, cli):
    coordinator, chair = team["coordinator"], team["chair"]
    coordinator.store().create("case", CASE)
    assert sync(cli, coordinator).exit_code == 0
    mine = chair.store().create("case", {**CASE, "risk": "Low"})
    head = git(chair.root, "rev-parse", "HEAD").strip()
    # as if killed after moving to the remote's commit, before replaying: the journal stays
    store = chair.store()
    incoming = gitio.fetch(chair.root, "origin", "main")
    syncing._begin(store, head)
    syncing._checkout(store, head, incoming)
    assert git(chair.root, "rev-parse", "HEAD").strip() == incoming
    # (a read here is refused as mid-sync: tests/test_clone.py)
    result = sync(cli, chair)
    assert result.exit_code == 0, result.output
    assert sync(cli, coordinator).exit_code == 0
    assert tree(coordinator) == tree(chair)
    assert len(list((coordinator.root / "cases").iterdir())) == 2
    assert coordinator.store().read(mine)["risk"] == "High"  # the remote's C-0001 kept its id


def test_a_newcomer_can_read_once_added_and_synced(team, cli, make_person, tmp_path):
    coordinator = team["coordinator"]
    case_id = coordinator.store().create("case", CASE)
    assert sync(cli, coordinator).exit_code == 0
    newcomer = make_person("Nia Newcomer")
    root = tmp_path / "newcomer"
    git(tmp_path, "clone", "-q", str(tmp_path / "remote.git"), str(root))
    setup_clone(root)
    clone = Clone(root, newcomer.path)
    early = sync(cli, clone)
    assert early.exit_code == ExitCode.NOT_A_READER, early.output
    assert newcomer.recipient in early.stderr and CANARY not in early.output
    add_reader(coordinator.store(), newcomer.recipient, newcomer.name, "Test Council", "member")
    assert sync(cli, coordinator).exit_code == 0
    result = sync(cli, clone)
    assert result.exit_code == 0, result.output
    assert clone.store().read(case_id)["risk"] == "High"
    assert tree(clone) == tree(coordinator)
    assert cli("verify", store=root, identity=newcomer.path).exit_code == 0


def test_dry_run_changes_nothing_and_no_push_keeps_commits_here(team, cli):
    coordinator, chair = team["coordinator"], team["chair"]
    coordinator.store().create("case", CASE)
    assert sync(cli, coordinator).exit_code == 0
    chair.store().create("case", {**CASE, "risk": "Low"})
    before = store_state(chair.root)
    dry = sync(cli, chair, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "Would take 1 commit(s) from the remote and put 1 of yours on top" in dry.stderr
    assert store_state(chair.root) == before
    remote_head = git(coordinator.root, "ls-remote", "origin", "main").split()[0]
    kept = sync(cli, chair, "--no-push")
    assert kept.exit_code == 0, kept.output
    assert git(coordinator.root, "ls-remote", "origin", "main").split()[0] == remote_head
    assert len(list((chair.root / "cases").iterdir())) == 2


def test_abort_undoes_a_git_merge_made_by_hand(team, cli):
    coordinator, chair = team["coordinator"], team["chair"]
    for clone, text in ((coordinator, "ours\n"), (chair, "theirs\n")):
        (clone.root / "README.md").write_text(text)
        git(clone.root, "add", "README.md")
        git(clone.root, "-c", "user.name=X", "-c", "user.email=x@x.invalid", "commit", "-qm", "r")
    git(coordinator.root, "push", "-q", "origin", "main")
    pull = ["git", "-c", "user.name=X", "-c", "user.email=x@x.invalid", "pull", "-q"]
    subprocess.run([*pull, "--no-rebase", "--no-edit", "origin", "main"], cwd=chair.root)
    assert (chair.root / ".git" / "MERGE_HEAD").exists()
    result = sync(cli, chair, "--abort")
    assert result.exit_code == 0, result.output
    assert not (chair.root / ".git" / "MERGE_HEAD").exists()


def test_two_removals_offline_on_both_sides_end_in_one_epoch_without_either(
    team, cli, make_person, tmp_path
):
    coordinator = team["coordinator"]
    deputy = make_person("Dee Deputy")
    add_reader(coordinator.store(), deputy.recipient, deputy.name, "Test Council", "coordinator")
    assert sync(cli, coordinator).exit_code == 0
    root = tmp_path / "deputy"
    git(tmp_path, "clone", "-q", str(tmp_path / "remote.git"), str(root))
    setup_clone(root)
    assert cli("verify", store=root, identity=deputy.path).exit_code == 0
    other = Clone(root, deputy.path)
    mine = coordinator.store().create("case", CASE)
    remove_reader(coordinator.store(), "Cron Server")  # epoch 2 here
    theirs = other.store().create("case", {**CASE, "risk": "Low"})
    remove_reader(other.store(), "Chris Chair")  # another epoch 2 there
    assert sync(cli, other).exit_code == 0
    result = sync(cli, coordinator)
    assert result.exit_code == 0, result.output
    assert sync(cli, other).exit_code == 0
    assert tree(coordinator) == tree(other)
    store = coordinator.store()
    assert store.keyring.epoch == 3
    assert {r.name for r in store.keyring.readers} == {"Dee Deputy", store.me().name}
    renamed = result.stderr.split(" is now ")[1].split(":")[0] if " is now " in result.stderr else mine
    assert {store.read(theirs)["risk"], store.read(renamed)["risk"]} == {"High", "Low"}
    from panelctl.crypto import envelope

    for path in (coordinator.root / "cases").iterdir():
        assert envelope.epoch_of(path.read_bytes()) == 3
    done = cli("verify", "--all", store=coordinator.root, identity=coordinator.identity)
    assert (done.exit_code, done.stdout) == (0, ""), done.output


def test_a_change_to_minutes_approved_meanwhile_is_not_applied_and_said(team, cli):
    from datetime import UTC, datetime

    from panelctl.meetings.minutes import approve_minutes

    coordinator, chair = team["coordinator"], team["chair"]
    meeting = coordinator.store().create(
        "meeting",
        {"date": date(2026, 11, 2), "time": "10:00", "status": "held", "minutes": {"status": "draft"}},
    )
    assert sync(cli, coordinator).exit_code == 0
    assert sync(cli, chair).exit_code == 0
    approve_minutes(chair.store(), meeting, datetime(2026, 11, 3, 9, tzinfo=UTC))
    assert sync(cli, chair).exit_code == 0
    store = coordinator.store()
    store.update({**store.read(meeting), "venue": "Room 4"})
    mine = git(coordinator.root, "rev-parse", "HEAD").strip()
    result = sync(cli, coordinator)
    assert result.exit_code == 0, result.output
    assert f"Your change to {meeting} (commit {mine[:12]}) was not applied" in result.stderr
    kept = coordinator.store().read(meeting)
    assert kept["minutes"]["status"] == "approved" and "venue" not in kept
    assert tree(coordinator) == tree(chair)
