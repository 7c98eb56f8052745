"""Templates from a store run in Jinja2's sandbox: a template can neither run code nor read
a file, and the command that meets it fails with exit 15.

A template pushed with plain git by someone without a key never gets this far: the commit
is not signed by a coordinator, so nothing is read until `verify` has named it (exit 20;
test_trust). The sandbox is the second wall, for a template a coordinator committed without
reading it (one passed around between panels, say): here the hostile templates are
committed as a coordinator commits templates, with `panelctl settings commit`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from test_papers import agenda_context

from conftest import CANARY, commit_settings, git, run_panelctl
from panelctl.base.errors import ExitCode, InvalidInputError
from panelctl.outputs import papers, render

#: (template source, what it tries); {identity} and {marker} are filled in per test.
HOSTILE = {
    "subclasses": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "globals through cycler": (
        "{{ cycler.__init__.__globals__.os.system('cp {identity} {marker}') }}"
    ),
    "the template's context": "{{ self._TemplateReference__context }}",
    "os through lipsum": "{{ lipsum.__globals__['os'].popen('cat {identity} > {marker}').read() }}",
    "open through joiner": (
        "{{ joiner.__init__.__globals__.__builtins__.open('{identity}').read() }}"
    ),
    "attr filter": "{{ (lipsum|attr('__globals__'))['os'].system('touch {marker}') }}",
    "format string": "{{ '{0.__class__.__mro__}'.format(meeting) }}",
    "a mutating method": "{{ meeting.update({'id': 'X'}) }}{{ [].append(1) }}",
    "a mutating list method": "{% set xs = [1] %}{{ xs.append(2) }}",
    "a huge power": "{{ 10 ** 100000000 }}",
    "a huge string": "{{ 'x' * 10 ** 9 }}",
}

#: Loading a file by name from outside the templates: not found, never read.
TRAVERSAL = {
    "include the identity": "{% include '../../../../../../../{identity}' %}",
    "include by absolute path": "{% include '{identity}' %}",
}


def fill(source: str, identity: Path, marker: Path) -> str:
    return source.replace("{identity}", str(identity)).replace("{marker}", str(marker))


def hostile_store(root: Path, template: str, source: str, identity: Path) -> None:
    """Commit ``source`` as the store's ``templates/<template>``, as a coordinator commits a
    template (signed, with `panelctl settings commit`) without having read it."""
    path = root / "templates" / template
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)
    commit_settings(root, identity)


@pytest.fixture
def own_store(store, coordinator):
    """A store with these templates committed by its coordinator: make({name: text})."""

    def make(templates: dict[str, str]) -> Path:
        for name, text in templates.items():
            path = store.root / "templates" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        commit_settings(store.root, coordinator.path)
        return store.root

    return make


def assert_refused(result, template: str, identity: Path, marker: Path, words=()) -> None:
    assert result.exit_code == ExitCode.INVALID_INPUT, result.output
    assert result.stderr.startswith("panelctl: ") and result.stderr.count("\n") == 1, result.stderr
    assert f"Template {template}" in result.stderr
    for word in words:
        assert word in result.stderr
    assert "Traceback" not in result.output
    assert not marker.exists()
    secret = identity.read_text()
    assert secret not in result.output
    for line in secret.splitlines():
        if len(line.strip()) > 12:  # every field of the identity, one by one
            assert line.strip() not in result.output
    assert CANARY not in result.output


# --- in the library, every payload --------------------------------------------------------


@pytest.mark.parametrize("what", sorted(HOSTILE))
def test_a_hostile_template_is_stopped_by_the_sandbox(tmp_path, own_store, what):
    identity, marker = tmp_path / "identity.json", tmp_path / "marker"
    identity.write_text('{"panelctl_identity": 1, "secret": "not-for-templates"}\n')
    root = own_store({"meeting/agenda.md.j2": fill(HOSTILE[what], identity, marker)})
    with pytest.raises(InvalidInputError) as caught:
        papers.render_agenda(agenda_context(), "md", store_root=root)
    message = caught.value.message
    assert message.startswith("Template meeting/agenda.md.j2 ")
    assert "was stopped before anything was written" in message
    assert "not-for-templates" not in message and "__" not in message
    assert not marker.exists()


@pytest.mark.parametrize("what", sorted(TRAVERSAL))
def test_a_template_cannot_include_a_file_outside_the_templates(tmp_path, own_store, what):
    identity, marker = tmp_path / "identity.json", tmp_path / "marker"
    identity.write_text('{"panelctl_identity": 1, "secret": "not-for-templates"}\n')
    root = own_store({"meeting/agenda.md.j2": fill(TRAVERSAL[what], identity, marker)})
    with pytest.raises(InvalidInputError, match="TemplateNotFound") as caught:
        papers.render_agenda(agenda_context(), "md", store_root=root)
    assert "not-for-templates" not in caught.value.message


def test_ordinary_templates_still_work_in_the_sandbox(own_store):
    root = own_store(
        {
            "meeting/agenda.md.j2": "{% set ns = namespace(n=0) %}{% for s in case_items %}"
            "{% set ns.n = ns.n + 1 %}{% endfor %}"
            "{{ meeting.id }} {{ meeting.date|ukdate }} {{ ns.n * 2 }} {{ 2 ** 10 }} "
            "{{ '-' * 3 }} {{ meeting.get('id') }} {{ meeting.keys()|list|length > 0 }}\n"
        }
    )
    ctx = agenda_context()
    text = papers.render_agenda(ctx, "md", store_root=root)
    assert text == f"M-0003 14 Apr 2026 {2 * len(ctx['case_items'])} 1024 --- M-0003 True\n"


def test_every_environment_escapes_html_and_leaves_markdown_alone(own_store):
    tmp_path = own_store({"x/a.html.j2": "{{ v }}", "x/a.md.j2": "{{ v }}", "x/a.html": "{{ v }}"})
    env = render.environment(tmp_path)
    nasty = "<b>Kasey & co</b>"
    assert env.get_template("x/a.html.j2").render(v=nasty) == "&lt;b&gt;Kasey &amp; co&lt;/b&gt;"
    assert env.get_template("x/a.html").render(v=nasty) == "&lt;b&gt;Kasey &amp; co&lt;/b&gt;"
    assert env.get_template("x/a.md.j2").render(v=nasty) == nasty
    assert render.render("x/a.html.j2", tmp_path, v=nasty) == "&lt;b&gt;Kasey &amp; co&lt;/b&gt;"


def test_an_error_that_is_not_jinjas_names_its_kind_only(own_store):
    root = own_store({"meeting/agenda.md.j2": "{{ 1 // 0 }}{{ meeting.date|ukdate }}"})
    with pytest.raises(InvalidInputError) as caught:
        papers.render_agenda(agenda_context(), "md", store_root=root)
    assert caught.value.message == (
        "Template meeting/agenda.md.j2 could not be rendered (ZeroDivisionError); "
        "check the template and the meeting's records."
    )


# --- read_templates: the files own_templates reads, once the store is verified -------------


def test_own_templates_reads_regular_files_by_name(tmp_path):
    (tmp_path / "templates" / "meeting").mkdir(parents=True)
    (tmp_path / "templates" / "meeting" / "agenda.md.j2").write_text("Agenda ü\n")
    (tmp_path / "templates" / "report").mkdir()
    (tmp_path / "templates" / "report" / "report.md.j2").write_text("Report\n")
    (tmp_path / "templates" / ".DS_Store").write_bytes(b"\xff\x00")  # hidden: left out
    (tmp_path / "templates" / ".hidden").mkdir()
    (tmp_path / "templates" / ".hidden" / "x.j2").write_text("x")
    assert render.read_templates(tmp_path) == {
        "meeting/agenda.md.j2": "Agenda ü\n",
        "report/report.md.j2": "Report\n",
    }
    assert render.read_templates(tmp_path / "elsewhere") == {}


def test_own_templates_refuses_what_is_not_a_small_utf8_regular_file(tmp_path):
    identity = tmp_path / "identity.json"
    identity.write_text('{"panelctl_identity": 1}\n')
    own = tmp_path / "store" / "templates" / "meeting"
    own.mkdir(parents=True)
    store = tmp_path / "store"

    def refused(words: str) -> None:
        with pytest.raises(InvalidInputError, match=words) as caught:
            render.read_templates(store)
        assert "panelctl_identity" not in caught.value.message

    os.symlink(identity, own / "agenda.md.j2")
    refused("templates/meeting/agenda.md.j2 is a symbolic link")
    os.unlink(own / "agenda.md.j2")
    os.symlink(tmp_path, own / "linked")
    refused("templates/meeting/linked is a symbolic link")
    os.unlink(own / "linked")
    os.mkfifo(own / "agenda.md.j2")
    refused("templates/meeting/agenda.md.j2 is not a regular file")
    os.unlink(own / "agenda.md.j2")
    (own / "agenda.md.j2").write_bytes(b"caf\xe9\n")
    refused("is not UTF-8 text")
    (own / "agenda.md.j2").write_bytes(b"x" * (render.MAX_TEMPLATE_BYTES + 1))
    refused("is larger than 1,000,000 bytes")
    (own / "agenda.md.j2").write_bytes(b"x" * render.MAX_TEMPLATE_BYTES)
    assert len(render.read_templates(store)["meeting/agenda.md.j2"]) == render.MAX_TEMPLATE_BYTES
    (own / "agenda.md.j2").unlink()
    os.rename(store / "templates", tmp_path / "real-templates")
    os.symlink(tmp_path / "real-templates", store / "templates")
    refused("templates is a symbolic link")


# --- end to end: a coordinator's unread commit, an ordinary command -----------------------

#: command -> (its arguments, the template it renders first, is --out a folder)
COMMANDS = {
    "agenda build": (
        ["agenda", "build", "M-0002", "--formats", "md"],
        "meeting/agenda.md.j2",
        True,
    ),
    "minutes render": (["minutes", "render", "M-0001"], "meeting/minutes.md.j2", True),
    "report bimonthly": (
        ["report", "bimonthly", "--period", "2026-09..2026-10", "--format", "md"],
        "report/report.md.j2",
        False,
    ),
    "map": (["map", "--format", "html"], "map/map.html.j2", False),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("what", ["globals through cycler", "os through lipsum", "subclasses"])
def test_a_pushed_template_cannot_run_code_in_a_coordinators_command(
    sample, cli, tmp_path, command, what
):
    args, template, folder = COMMANDS[command]
    marker = tmp_path / "marker"
    hostile_store(
        sample.store, template, fill(HOSTILE[what], sample.identity, marker), sample.identity
    )
    out = tmp_path / "papers"
    target = out if folder else out / "paper.out"
    before = git(sample.store, "status", "--porcelain", "--ignored")
    result = cli(*args, "--out", str(target), store=sample.store, identity=sample.identity)
    assert_refused(result, template, sample.identity, marker, ["was stopped"])
    assert not out.exists() or list(out.iterdir()) == []
    assert git(sample.store, "status", "--porcelain", "--ignored") == before


def test_a_pushed_symlink_to_the_identity_is_refused(sample, cli, tmp_path):
    """git keeps symbolic links: a template that is a link to the identity would print it.
    Pushed with plain git it is never read (the commit is not verified); a coordinator
    cannot commit it (`settings commit` takes regular files only); and a link that got
    into a verified history by hand is still refused by the reader (test above)."""
    link = sample.store / "templates" / "meeting" / "agenda.md.j2"
    link.parent.mkdir(parents=True)
    os.symlink(sample.identity, link)
    refused = cli("settings", "commit", store=sample.store, identity=sample.identity)
    assert refused.exit_code == ExitCode.INVALID_INPUT, refused.output
    assert "templates/meeting/agenda.md.j2 is not a regular file" in refused.stderr
    git(sample.store, "add", "templates")
    git(sample.store, "commit", "-qm", "Agenda layout")
    out = tmp_path / "papers"
    result = cli(
        "agenda", "build", "M-0002", "--formats", "md", "--out", str(out),
        store=sample.store, identity=sample.identity,
    )  # fmt: skip
    assert result.exit_code == ExitCode.UNVERIFIED, result.output
    assert result.stderr.count("\n") == 1
    assert sample.identity.read_text() not in result.output and not out.exists()


def test_cron_running_a_report_with_a_pushed_template(sample, tmp_path):
    """As a real process, as cron would run it: exit 15, one line, no code run."""
    marker = tmp_path / "marker"
    hostile_store(
        sample.store,
        "report/report.md.j2",
        fill(HOSTILE["open through joiner"], sample.identity, marker),
        sample.identity,
    )
    out = tmp_path / "report.md"
    ran = run_panelctl(
        "report", "bimonthly", "--period", "2026-09..2026-10", "--format", "md",
        "--out", str(out),
        env={"PANELCTL_STORE": str(sample.store), "PANELCTL_IDENTITY": str(sample.identity)},
        timeout=120,
    )  # fmt: skip
    assert ran.returncode == ExitCode.INVALID_INPUT, ran.stderr
    assert ran.stderr.startswith("panelctl: Template report/report.md.j2 tried something")
    assert "Traceback" not in ran.stderr and not marker.exists() and not out.exists()
    assert sample.identity.read_text() not in ran.stdout + ran.stderr


def test_the_readme_documented_override_still_works_end_to_end(sample, cli, tmp_path):
    hostile_store(
        sample.store,
        "meeting/agenda.md.j2",
        "**{{ marking }}**\n\nOur own agenda for {{ meeting.id }} on {{ meeting.date|ukdate }}\n",
        sample.identity,
    )
    out = tmp_path / "papers"
    result = cli(
        "agenda", "build", "M-0002", "--formats", "md", "--out", str(out),
        store=sample.store, identity=sample.identity,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    text = (out / "agenda-M-0002.md").read_text()
    assert text.startswith("**OFFICIAL-SENSITIVE**\n\nOur own agenda for M-0002 on ")
