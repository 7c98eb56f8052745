"""`panelctl clone URL [DIR]` (issue 12, point 1) against real bare remotes, real git and
real keys: a reader's clone works at once; a newcomer is told their recipient; a history
with an unsigned commit is refused and removed; a folder in use and a command-running
address are refused with nothing run and nothing touched."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from conftest import CANARY, git, share_case_keys, take_case_keys
from panelctl.base.errors import ExitCode, GitError
from panelctl.panel.clone import default_folder, key_fingerprint, shown
from panelctl.panel.setup import create_store
from panelctl.store import gitio

NOMINATION = [
    "nominate",
    "--name",
    CANARY,
    "--dob",
    "14/03/2011",
    "--protocol-followed",
    "--exploitation-type",
    "sexual",
    "--referring-agency",
    "Avon and Somerset Police",
    "--date",
    "01/11/2026",
]


@pytest.fixture
def origin(tmp_path, coordinator, cli):
    """A store with one case, and a bare remote it pushes to (as on a shared drive)."""
    store = create_store(
        tmp_path / "origin", "cse-marac", "Test CSE MARAC", coordinator.unlock(), "Test Council"
    )
    made = cli(*NOMINATION, store=store.root, identity=coordinator.path)
    assert made.exit_code == 0, made.output
    remote = tmp_path / "shared" / "panel.git"
    remote.parent.mkdir()
    git(tmp_path, "clone", "--quiet", "--bare", str(store.root), str(remote))
    share_case_keys(store.root, remote)
    git(store.root, "remote", "add", "origin", str(remote))
    return store, remote


def clone(cli, url, dest, person, *more):
    args = ["clone", *more, "--", str(url), *([str(dest)] if dest is not None else [])]
    return cli(*args, identity=person.path)


def test_the_coordinator_clones_and_works_at_once(cli, origin, coordinator, tmp_path):
    store, remote = origin
    dest = tmp_path / "laptop" / "panel"
    dest.parent.mkdir()
    result = clone(cli, remote, dest, coordinator)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # messages only, on stderr
    signing = coordinator.unlock().signing_public
    assert f"created by Sam Coordinator (Test Council), signing key {key_fingerprint(signing)}" in (
        result.stderr
    )
    assert "trust-on-first-use point" in result.stderr and "coordinator" in result.stderr
    assert "query index built (1 record)" in result.stderr
    assert CANARY not in result.output
    # installed per clone: the diff driver and the plaintext guard
    assert "panelctl textconv" in git(dest, "config", "diff.panelctl.textconv")
    assert (dest / ".git" / "hooks" / "pre-commit").exists()
    # pinned: the store, its first commit, its creator; verified up to HEAD
    trust = json.loads((dest / ".git" / "panelctl" / "trust.json").read_text())
    assert trust["verified"] == git(dest, "rev-parse", "HEAD").strip()
    assert trust["root"] == git(dest, "rev-list", "--max-parents=0", "HEAD").strip()
    assert trust["creator_name"] == "Sam Coordinator"
    # the index, built from the records as the history check read them, is the one a cold
    # build from the files makes
    from panelctl.model import records
    from panelctl.store.core import Store

    def tables():
        index = Store(dest, coordinator.unlock()).index()
        return {t: sorted(index.rows(t)) for t in records.TYPES}

    built = tables()
    assert [row[0] for row in built["case"]] == ["C-0001"]
    shutil.rmtree(dest / ".git" / "panelctl" / "index")
    assert tables() == built
    assert oct(dest.stat().st_mode & 0o777) == "0o700"
    # straight away, with no `verify` first
    listed = cli("case", "list", "--format", "csv", store=dest, identity=coordinator.path)
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.splitlines()[1].startswith("C-0001,")
    shown_case = cli("case", "show", "C-0001", store=dest, identity=coordinator.path)
    assert shown_case.exit_code == 0 and CANARY in shown_case.stdout


def test_the_fingerprint_is_the_one_ssh_keygen_shows(tmp_path, coordinator):
    from panelctl.crypto import sshsig

    keygen = shutil.which("ssh-keygen")
    if keygen is None:
        pytest.skip("ssh-keygen is not installed")
    public = coordinator.unlock().signing_public
    key_file = tmp_path / "key.pub"
    key_file.write_text(sshsig.public_line(public, "sam") + "\n")
    shown_by_ssh = subprocess.run(
        [keygen, "-l", "-E", "sha256", "-f", str(key_file)], capture_output=True, text=True
    ).stdout
    assert shown_by_ssh.split()[1] == key_fingerprint(public)


def test_a_newcomer_is_given_their_recipient_and_verifies_once_added(
    cli, origin, coordinator, make_person, tmp_path
):
    store, remote = origin
    newcomer = make_person("Robin Newcomer")
    dest = tmp_path / "robin"
    result = clone(cli, f"file://{remote}", dest, newcomer)
    assert result.exit_code == 0, result.output
    assert result.stdout == newcomer.recipient + "\n"  # the data: what to hand over
    assert "not (yet) a reader" in result.stderr and "panelctl access add" in result.stderr
    signing = coordinator.unlock().signing_public
    assert key_fingerprint(signing) in result.stderr and "trust-on-first-use" in result.stderr
    assert "Sam Coordinator" not in result.output  # a name only the keyring vouches for
    assert CANARY not in result.output
    trust = json.loads((dest / ".git" / "panelctl" / "trust.json").read_text())
    assert trust["verified"] is None and trust["creator_name"] == ""
    assert not (dest / ".git" / "panelctl" / "index").exists()
    refused = cli("case", "list", store=dest, identity=newcomer.path)
    assert refused.exit_code == ExitCode.NOT_A_READER, refused.output

    # the coordinator adds them and pushes; they pull and check the whole history once
    added = cli(
        "access", "add", newcomer.recipient, "--name", "Robin Newcomer", "--agency",
        "Test Police", "--role", "member", store=store.root, identity=coordinator.path,
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    git(store.root, "push", "--quiet", "origin", "main")
    git(dest, "pull", "--quiet", "--ff-only")
    take_case_keys(dest)  # (what `panelctl sync` does and a plain git pull does not)
    unverified = cli("case", "list", store=dest, identity=newcomer.path)
    assert unverified.exit_code == ExitCode.UNVERIFIED, unverified.output
    checked = cli("verify", store=dest, identity=newcomer.path)
    assert checked.exit_code == 0, checked.output
    listed = cli("case", "list", store=dest, identity=newcomer.path)
    assert listed.exit_code == 0 and "C-0001" in listed.stdout, listed.output


def test_a_newcomers_pin_catches_a_remote_replaced_before_they_are_added(
    cli, origin, coordinator, make_person, tmp_path
):
    """The pin made at clone time is what a later check holds the history to."""
    _store, remote = origin
    newcomer = make_person("Robin Newcomer")
    dest = tmp_path / "robin"
    assert clone(cli, remote, dest, newcomer).exit_code == 0
    impostor = make_person("Ivy Impostor")
    other = create_store(
        tmp_path / "other", "cse-marac", "Test CSE MARAC", impostor.unlock(), "Test Council"
    )
    from panelctl.panel.access import add_reader

    add_reader(other, newcomer.recipient, "Robin Newcomer", "Test Police", "member")
    git(other.root, "push", "--quiet", "--force", str(remote), "main")
    git(dest, "fetch", "--quiet", "origin")
    git(dest, "reset", "--quiet", "--hard", "origin/main")
    checked = cli("verify", store=dest, identity=newcomer.path)
    assert checked.exit_code == ExitCode.PROBLEMS_FOUND, checked.output
    assert "another first commit than the one this clone pinned" in checked.stdout


def test_a_history_with_an_unsigned_commit_is_refused_and_removed(
    cli, origin, coordinator, tmp_path
):
    _store, remote = origin
    work = tmp_path / "someone"
    git(tmp_path, "clone", "--quiet", str(remote), str(work))
    (work / "README.md").write_text("Edited with plain git, unsigned.\n")
    git(work, "commit", "--quiet", "-am", "Tidy the README")
    git(work, "push", "--quiet", "origin", "main")
    unsigned = git(work, "rev-parse", "HEAD").strip()

    dest = tmp_path / "laptop"
    result = clone(cli, remote, dest, coordinator)
    assert result.exit_code == ExitCode.PROBLEMS_FOUND, result.output
    assert f"commit {unsigned[:12]}: " in result.stdout  # named by commit, as verify does
    assert "clone was removed" in result.stderr
    assert not dest.exists()

    # an empty folder given: it stays, emptied again
    dest.mkdir()
    again = clone(cli, remote, dest, coordinator)
    assert again.exit_code == ExitCode.PROBLEMS_FOUND, again.output
    assert dest.is_dir() and list(dest.iterdir()) == []


def test_a_folder_in_use_is_refused_and_left_alone(cli, origin, coordinator, tmp_path):
    _store, remote = origin
    dest = tmp_path / "busy"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine\n")
    result = clone(cli, remote, dest, coordinator)
    assert result.exit_code == ExitCode.INVALID_INPUT, result.output
    assert "not empty" in result.stderr
    assert [p.name for p in dest.iterdir()] == ["notes.txt"]
    assert (dest / "notes.txt").read_text() == "mine\n"
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    assert clone(cli, remote, a_file, coordinator).exit_code == ExitCode.INVALID_INPUT


def test_the_default_folder_is_the_one_git_would_choose(
    cli, origin, coordinator, tmp_path, monkeypatch
):
    _store, remote = origin
    monkeypatch.chdir(tmp_path)
    result = clone(cli, f"{remote}/", None, coordinator)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "panel" / "panelctl.yaml").exists()
    assert default_folder("git@git.example.gov.uk:panels/stoke-mace.git") == "stoke-mace"
    assert default_folder("https://git.example.gov.uk/panels/stoke-mace/.git") == "stoke-mace"
    assert default_folder("ssh://host/srv/x.git/") == "x"
    assert default_folder("/srv/shared/panel") == "panel"


def test_something_that_is_not_a_store_is_refused_and_removed(cli, coordinator, tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    git(plain, "init", "--quiet", "--initial-branch=main")
    (plain / "README.md").write_text("Not a store.\n")
    git(plain, "add", "README.md")
    git(plain, "commit", "--quiet", "-m", "Start")
    dest = tmp_path / "clone"
    result = clone(cli, plain, dest, coordinator)
    assert result.exit_code == ExitCode.NOT_A_STORE, result.output
    assert "not a panelctl store" in result.stderr and not dest.exists()
    empty = tmp_path / "empty.git"
    git(tmp_path, "init", "--quiet", "--bare", str(empty))
    result = clone(cli, empty, dest, coordinator)
    assert result.exit_code == ExitCode.NOT_A_STORE, result.output
    assert not dest.exists()
    missing = clone(cli, tmp_path / "nowhere.git", dest, coordinator)
    assert missing.exit_code == ExitCode.GIT, missing.output
    assert not dest.exists()


EXT_URL = "ext::sh -c touch% {marker}"


def test_an_ext_address_is_refused_and_runs_nothing(cli, coordinator, tmp_path):
    marker = tmp_path / "ran"
    dest = tmp_path / "clone"
    for url in (
        EXT_URL.format(marker=marker),
        f"fd::17/{marker}",
        f"foo::{marker}",
        f"http://example.invalid/{marker.name}",
        f"--upload-pack=touch {marker}",
    ):
        result = clone(cli, url, dest, coordinator)
        assert result.exit_code == ExitCode.INVALID_INPUT, (url, result.output)
        assert result.stderr.startswith("panelctl: ") and "Traceback" not in result.output
        assert not marker.exists() and not dest.exists(), url


def test_git_itself_refuses_a_helper_even_when_the_users_config_allows_it(tmp_path, monkeypatch):
    """The second fence, below the address check: GIT_ALLOW_PROTOCOL, which git applies to
    every transport (redirects and submodules too) whatever the user's config says."""
    marker = tmp_path / "ran"
    allow_all = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "protocol.allow",
                 "GIT_CONFIG_VALUE_0": "always"}  # fmt: skip
    # the control: with that config, plain git runs the command
    subprocess.run(
        ["git", "clone", EXT_URL.format(marker=marker), str(tmp_path / "control")],
        cwd=tmp_path, capture_output=True, env={**os.environ, **allow_all},
    )  # fmt: skip
    assert marker.exists()
    marker.unlink()
    for name, value in allow_all.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(GitError):
        gitio.clone(EXT_URL.format(marker=marker), tmp_path / "clone")
    assert not marker.exists()


def test_no_filter_or_hook_of_the_users_git_config_runs_on_the_cloned_tree(
    cli, origin, coordinator, tmp_path, monkeypatch
):
    """A remote's .gitattributes can name a filter; the user's git config may define one
    (git-lfs does). The tree is checked out before anything is verified, so clone must not
    run it, nor a post-checkout hook of the user's."""
    _store, remote = origin
    work = tmp_path / "someone"
    git(tmp_path, "clone", "--quiet", str(remote), str(work))
    (work / ".gitattributes").write_text(
        (work / ".gitattributes").read_text() + "*.md filter=sneaky\n"
    )
    git(work, "commit", "--quiet", "-am", "Attributes")
    git(work, "push", "--quiet", "origin", "main")
    marker = tmp_path / "ran"
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "post-checkout").write_text(f"#!/bin/sh\necho hook >> {marker}\n")
    (hooks / "post-checkout").chmod(0o755)
    config = tmp_path / "gitconfig"
    config.write_text(
        f'[filter "sneaky"]\n\tsmudge = "echo filter >> {marker}; cat"\n'
        f'\tclean = "echo clean >> {marker}; cat"\n'
        f"[core]\n\thooksPath = {hooks}\n"
    )
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    git(tmp_path, "clone", "--quiet", str(remote), str(tmp_path / "control"))
    assert set(marker.read_text().split()) == {"filter", "hook"}  # the control: git runs both
    marker.unlink()
    result = clone(cli, remote, tmp_path / "laptop", coordinator)
    assert result.exit_code == ExitCode.PROBLEMS_FOUND, result.output  # unsigned: refused
    assert not marker.exists()


def test_an_address_with_a_password_is_not_shown_with_it():
    assert (
        shown("https://sam:hunter2@git.example.gov.uk/p.git") == "https://git.example.gov.uk/p.git"
    )
    assert shown("git@host:p.git") == "git@host:p.git"


def test_a_server_whose_head_names_another_branch_still_gives_main(
    cli, origin, coordinator, tmp_path
):
    """A bare repository made with git's default branch name ("master") and given the
    store's main by `panelctl sync`: its HEAD names a branch it lacks; clone takes main."""
    _store, remote = origin
    git(remote, "symbolic-ref", "HEAD", "refs/heads/master")
    dest = tmp_path / "panel"
    result = clone(cli, remote, dest, coordinator)
    assert result.exit_code == 0, result.output
    assert git(dest, "symbolic-ref", "--short", "HEAD").strip() == "main"
    assert git(dest, "rev-parse", "--abbrev-ref", "main@{upstream}").strip() == "origin/main"
    listed = cli("case", "list", store=dest, identity=coordinator.path)
    assert listed.exit_code == 0 and "C-0001" in listed.stdout, listed.output
