"""`panelctl sync` with a real bare remote and clones (coordinator, chair, cron), each with
its own identity: signed commits, verified history, records merged by field, ids renumbered.
"""

from __future__ import annotations

from datetime import date

from conftest import CANARY, Clone, git, store_state
from panelctl.base.errors import ExitCode
from panelctl.crypto.identity import read_identity_file
from panelctl.panel import sync as syncing
from panelctl.panel.access import remove_reader
from panelctl.store import chain, gitio

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
