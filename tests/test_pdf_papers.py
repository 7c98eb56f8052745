"""Password-protected PDF papers (the Stoke CSE panel sends papers "by secure e-mail or
password protected"): `agenda build --formats pdf` and `minutes render --format pdf` write
AES-256 encrypted PDFs that open with the password and not without it, 0600, with no plain
PDF or temp file left; the password comes from a terminal (asked twice, hidden) or a private
file, never the command line, and never reaches the output."""

from __future__ import annotations

import io
import logging
import os
import stat
import sys

import pexpect
import pytest
import test_meetings
from pypdf import PdfReader
from pypdf.errors import FileNotDecryptedError
from test_meetings import run, script_for
from test_papers import PAPERS

from conftest import CANARY, git
from panelctl.base import yamlio
from panelctl.base.errors import ExitCode, InvalidInputError
from panelctl.outputs import papers, pdf

#: test_meetings' `panel` fixture (a store of the profile its parameter names, with members,
#: a chair and two nominated children), under a name of its own here.
meetings_panel = test_meetings.panel
PASSWORD = "Kettle-Marmalade-47"


def opened(path_or_bytes, password: str = PASSWORD) -> str:
    """The text of an encrypted PDF, opened with ``password`` (which must be needed), its
    white space (line breaks in table cells) made single spaces."""
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else path_or_bytes.read_bytes()
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    assert reader.is_encrypted
    assert not reader.decrypt(""), "the PDF opens without a password"
    assert not PdfReader(io.BytesIO(data)).decrypt("not the password")
    with pytest.raises(FileNotDecryptedError):
        PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert reader.decrypt(password)
    encrypt = reader.trailer["/Encrypt"].get_object()
    assert (encrypt["/V"], encrypt["/R"]) == (5, 6)  # AES-256 (ISO 32000-2)
    assert encrypt["/CF"]["/StdCF"]["/CFM"] == "/AESV3"
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def password_file(tmp_path, text=PASSWORD, mode=0o600):
    path = tmp_path / "pdf-password"
    path.write_text(text + "\n")
    path.chmod(mode)
    return path


def assert_no_plain_leftovers(folder):
    for path in folder.iterdir():
        assert not path.name.startswith(".tmp-"), path
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        if path.read_bytes().startswith(b"%PDF"):
            assert pdf.is_encrypted(path.read_bytes()), path


# --- the library ----------------------------------------------------------------------------


@pytest.mark.parametrize("paper", sorted(PAPERS))
def test_every_paper_makes_a_protected_pdf_with_its_text(paper):
    render, context = PAPERS[paper]
    data = render(context(), papers.ProtectedPdf(PASSWORD))
    text = opened(data)
    # The marking once at the top and once at the bottom of every page.
    pages = PdfReader(io.BytesIO(data))
    pages.decrypt(PASSWORD)
    for page in pages.pages:
        assert page.extract_text().count("OFFICIAL-SENSITIVE") == 2
    assert "M-0003" in text and "14 Apr 2026" in text
    assert "Tŷ Afon" in text  # the Welsh letter drawn (DejaVu), not a blank
    fonts = {
        str(font["/BaseFont"])
        for page in pages.pages
        for font in page["/Resources"]["/Font"].values()
    }
    # The text is set in the packaged DejaVu fonts, embedded (ReportLab may draw list bullets
    # in Helvetica or Symbol, standard PDF fonts).
    assert {"/AAAAAA+DejaVuSans", "/AAAAAA+DejaVuSerif-Bold"} <= fonts, fonts
    assert fonts <= {"/Helvetica", "/Symbol"} | {f for f in fonts if "DejaVu" in f}, fonts


@pytest.mark.parametrize("paper", sorted(set(PAPERS) - {"action-log"}))  # it has one table
def test_no_page_ends_with_a_heading(paper):
    """A heading stays with what follows it (xhtml2pdf once left "Quorum" alone at the foot
    of the minutes' first page)."""
    import html
    import re

    render, context = PAPERS[paper]
    headings = {
        html.unescape(re.sub(r"<[^>]+>", "", h)).strip()
        for h in re.findall(r"<h[234][^>]*>(.*?)</h[234]>", render(context(), "html"), re.S)
    }
    reader = PdfReader(io.BytesIO(render(context(), papers.ProtectedPdf(PASSWORD))))
    reader.decrypt(PASSWORD)
    assert headings
    for number, page in enumerate(reader.pages, 1):
        last = page.extract_text().rstrip().splitlines()[-1].strip()
        assert last not in headings, f"page {number} ends with the heading {last!r}"


def test_a_case_paper_pdf_holds_the_child_and_the_draft_minutes_say_draft():
    render, context = PAPERS["case-paper"]
    assert "Kasey Brightwater" in opened(render(context(), papers.ProtectedPdf(PASSWORD)))
    render, context = PAPERS["minutes-draft"]
    assert "DRAFT" in opened(render(context(), papers.ProtectedPdf(PASSWORD)))


def test_pdf_without_a_password_is_refused():
    render, context = PAPERS["agenda"]
    with pytest.raises(InvalidInputError, match="no password"):
        render(context(), "pdf")
    with pytest.raises(InvalidInputError, match="no password"):
        papers.check_formats(("md", "pdf"))
    assert papers.check_formats(("md", "pdf"), password=False) == ("md", "pdf")


@pytest.mark.parametrize("bad", ["short", "x" * 128, "tab\there-and-long"])
def test_unusable_passwords_are_refused_without_being_quoted(bad):
    with pytest.raises(InvalidInputError) as refused:
        papers.ProtectedPdf(bad)
    assert bad not in str(refused.value)


def test_the_password_is_hidden_from_repr():
    protected = papers.ProtectedPdf(PASSWORD)
    assert protected == "pdf" and f"x.{protected}" == "x.pdf"
    assert PASSWORD not in repr(protected) and PASSWORD not in repr((protected,))


def test_a_plain_pdf_is_never_written(tmp_path):
    plain = pdf.render("<html><body><p>Plain</p></body></html>")
    out = tmp_path / "out"
    with pytest.raises(InvalidInputError, match="not an encrypted PDF"):
        papers.write_papers(out, {"agenda.html": "<p>x</p>", "agenda.pdf": plain})
    assert not out.exists()  # refused before anything was written
    written = papers.write_papers(out, {"agenda.pdf": pdf.encrypt(plain, PASSWORD)})
    assert "Plain" in opened(written[0])
    assert_no_plain_leftovers(out)


_OPENED: list[str] | None = None


def _audit(event: str, args: tuple) -> None:
    if _OPENED is not None and event == "open" and isinstance(args[0], str | bytes | os.PathLike):
        _OPENED.append(os.fsdecode(args[0]))


sys.addaudithook(_audit)


def test_a_large_pdf_is_made_in_memory(tmp_path, monkeypatch):
    """Nothing of a paper reaches a temp file, even past xhtml2pdf's 100 KB buffer."""
    import tempfile

    global _OPENED
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    import secrets

    rows = "".join(
        f"<tr><td>{CANARY} {n}</td><td>{secrets.token_hex(120)}</td></tr>" for n in range(900)
    )
    html = f"<html><body><table>{rows}</table></body></html>"
    _OPENED = []
    try:
        data = pdf.protected_pdf(html, PASSWORD)
        opened_paths, _OPENED = _OPENED, None
    finally:
        _OPENED = None
    assert len(data) > 150_000
    assert list(spool.iterdir()) == []
    assert not [p for p in opened_paths if p.startswith(str(spool))]
    assert f"{CANARY} 599" in opened(data)


def test_the_renderer_reads_no_file_and_logs_nothing(tmp_path, caplog, capfd):
    """A store's template cannot make the renderer read a local file (the packaged fonts
    only); its warnings (which quote the HTML, a child's name with it) are not logged."""
    global _OPENED
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"not an image")
    html = (
        f'<html><head><style>@import url("{tmp_path}/x.css");</style></head><body>'
        f'<p>{CANARY} 子</p><img src="{secret}"><img src="file://{secret}">'
        '<img src="http://127.0.0.1:9/x.png"></body></html>'
    )
    caplog.set_level(logging.DEBUG)
    _OPENED = []
    try:
        data = pdf.protected_pdf(html, PASSWORD)
        opened_paths, _OPENED = _OPENED, None
    finally:
        _OPENED = None
    assert not [p for p in opened_paths if p.startswith((str(secret), f"{tmp_path}/x.css"))]
    assert not [p for p in opened_paths if p.startswith(str(tmp_path)) and "reportlab" not in p]
    assert CANARY in opened(data)
    assert not [r for r in caplog.records if CANARY in r.getMessage()]
    out, err = capfd.readouterr()
    assert CANARY not in out + err


# --- the command line -------------------------------------------------------------------------


def meeting_with_agenda(cli, root, coordinator):
    made = run(cli, root, coordinator, "meeting", "schedule", "19/11/2026", "--time", "09:30")
    assert made.exit_code == 0, made.output


@pytest.mark.parametrize("meetings_panel", ["cse-panel"], indirect=True)
def test_agenda_build_writes_password_protected_pdfs(meetings_panel, cli, coordinator, tmp_path):
    _profile, root, _chair = meetings_panel
    meeting_with_agenda(cli, root, coordinator)
    out = tmp_path / "papers"
    built = run(
        cli, root, coordinator,
        "agenda", "build", "M-0001", "--out", str(out), "--as-of", "05/11/2026",
        "--formats", "pdf", "--password-file", str(password_file(tmp_path)),
    )  # fmt: skip
    assert built.exit_code == 0, built.output
    assert "encrypted (AES-256)" in built.stderr and "NOT encrypted" not in built.stderr
    assert PASSWORD not in built.output
    names = sorted(p.name for p in out.iterdir())
    assert "agenda-M-0001.pdf" in names and "paper-M-0001-C-0001.pdf" in names
    assert "action-log-M-0001.pdf" in names and "invite-M-0001-C-0001.ics" in names
    assert not [n for n in names if n.endswith((".md", ".html"))]
    assert_no_plain_leftovers(out)
    assert "C-0001" in opened(out / "agenda-M-0001.pdf")
    assert CANARY in opened(out / "paper-M-0001-C-0001.pdf")
    assert CANARY not in opened(out / "agenda-M-0001.pdf")


@pytest.mark.parametrize("meetings_panel", ["cse-panel"], indirect=True)
def test_minutes_render_pdf_asks_for_the_password_twice_on_a_terminal(
    meetings_panel, cli, coordinator, tmp_path
):
    _profile, root, _chair = meetings_panel
    meeting_with_agenda(cli, root, coordinator)
    built = run(cli, root, coordinator, "agenda", "build", "M-0001", "--as-of", "05/11/2026")
    assert built.exit_code == 0, built.output
    script = tmp_path / "script.yaml"
    script.write_bytes(yamlio.dump(script_for(["C-0001", "C-0002"])))
    ran = run(cli, root, coordinator, "meeting", "run", "M-0001", "--script", str(script))
    assert ran.exit_code == 0, ran.output
    out = tmp_path / "minutes"

    def render(first: str, second: str) -> pexpect.spawn:
        child = pexpect.spawn(
            sys.executable,
            ["-m", "panelctl", "--store", str(root), "--identity", str(coordinator.path),
             "minutes", "render", "M-0001", "--format", "pdf", "--out", str(out)],
            env=dict(os.environ), encoding="utf-8", timeout=60,
        )  # fmt: skip
        child.expect("Password for the PDF: ")
        child.sendline(first)
        child.expect("Same password again: ")
        child.sendline(second)
        child.expect(pexpect.EOF)
        child.close()
        assert first not in child.before and second not in child.before  # not echoed
        return child

    differ = render(PASSWORD, PASSWORD + "x")
    assert differ.exitstatus == ExitCode.INVALID_INPUT
    assert "differ" in differ.before and not out.exists()
    done = render(PASSWORD, PASSWORD)
    assert done.exitstatus == 0, done.before
    text = opened(out / "minutes-M-0001.pdf")
    assert "DRAFT" in text and "Chris Chair" in text
    assert_no_plain_leftovers(out)


@pytest.mark.parametrize("meetings_panel", ["cse-panel"], indirect=True)
def test_the_password_file_must_be_private_and_not_a_secret_of_panelctl(
    meetings_panel, cli, coordinator, tmp_path
):
    _profile, root, _chair = meetings_panel
    meeting_with_agenda(cli, root, coordinator)
    commits = git(root, "rev-list", "--count", "HEAD")
    out = tmp_path / "papers"

    def build(*extra):
        return run(
            cli, root, coordinator,
            "agenda", "build", "M-0001", "--out", str(out), "--as-of", "05/11/2026",
            "--formats", "html,pdf", *extra,
        )  # fmt: skip

    shared = build("--password-file", str(password_file(tmp_path, mode=0o640)))
    assert shared.exit_code == ExitCode.INVALID_INPUT and "chmod 600" in shared.stderr
    inside = root / "pw.txt"
    inside.write_text(PASSWORD)
    inside.chmod(0o600)
    in_store = build("--password-file", str(inside))
    assert in_store.exit_code == ExitCode.INVALID_INPUT and "outside the store" in in_store.stderr
    identity = build("--password-file", str(coordinator.path))
    assert identity.exit_code == ExitCode.INVALID_INPUT and "identity" in identity.stderr
    short = build("--password-file", str(password_file(tmp_path, text="short")))
    assert short.exit_code == ExitCode.INVALID_INPUT and "at least" in short.stderr
    no_terminal = build()
    assert no_terminal.exit_code == ExitCode.NO_TERMINAL
    assert "--password-file" in no_terminal.stderr
    for result in (shared, in_store, identity, short, no_terminal):
        assert PASSWORD not in result.output
    # Nothing written, and the agenda not saved.
    assert not out.exists()
    assert git(root, "rev-list", "--count", "HEAD") == commits


def test_no_command_takes_a_password_on_the_command_line(cli):
    from typer.main import get_command

    from panelctl.cli.main import app

    def options(command, path=()):
        for param in command.params:
            for opt in param.opts:
                yield " ".join(path), opt
        if hasattr(command, "list_commands"):  # a group (of typer's own click)
            ctx = command.context_class(command)
            for name in command.list_commands(ctx):
                yield from options(command.get_command(ctx, name), (*path, name))

    every = list(options(get_command(app)))
    assert ("agenda build", "--formats") in every and len(every) > 100
    found = {(where, opt) for where, opt in every if "password" in opt.lower()}
    assert found == {
        ("agenda build", "--password-file"),
        ("minutes render", "--password-file"),
        ("export subject", "--password-file"),
    }
    refused = cli("agenda", "build", "M-0001", "--formats", "pdf", "--password", PASSWORD)
    assert refused.exit_code == ExitCode.USAGE and "No such option" in refused.stderr
