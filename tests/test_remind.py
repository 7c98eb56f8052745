"""`panelctl remind`: reminder e-mails through a real SMTP server (aiosmtpd, on 127.0.0.1).

The panel, as of Monday 2 March 2026 (soon = 7 days, so due by 9 March):

* A-00001 (C-0001, Jo Worker) due 25 Feb: overdue; its description names the child.
* A-00002 (C-0001, Jo Worker) due 9 Mar: due soon (the last day that counts).
* A-00003 (Jo Worker) due 10 Mar: not yet; A-00004 done: never.
* A-00005 (Nobody Known, no address) due 1 Mar: only in the coordinator's digest.
* C-0001 (lead professional Lee Lead): assessed 5 Jan (refresh due by 16 Feb: overdue);
  nominated 5 Jan, never discussed, so its bi-monthly review is due 5 Mar.
* C-0002 is closed: nothing.
"""

from __future__ import annotations

import email
import os
import socket
import subprocess
import threading
from datetime import date
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from conftest import CANARY, git, run_panelctl
from panelctl.base import yamlio
from panelctl.base.errors import ExitCode
from panelctl.notify.mail import MailSettings, allowed
from panelctl.notify.reminders import Item, address_for, due_actions, plan, subject_for
from panelctl.panel.settings import commit_settings

AS_OF = "2026-03-02"
SENDER = "mace-panel@stoke.gov.uk"
JO = "jo.worker@staffordshire.police.uk"
LEE = "Lee.Lead@NHS.net"
SAM = "sam@stoke.gov.uk"
DESCRIPTION = f"Share the safety plan with {CANARY}'s carer"
SUBJECTS = {
    JO: "panelctl: 2 actions overdue or due soon (Test MACE)",
    LEE: "panelctl: 1 case review and 1 risk assessment refresh overdue or due soon (Test MACE)",
    SAM: "panelctl digest: 3 actions, 1 case review and 1 risk assessment refresh overdue or "
    "due soon (Test MACE)",
}


# --- a real SMTP server ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Collector:
    """Keeps every message; with ``accept=N``, drops the connection at message N + 1."""

    def __init__(self, accept: int | None = None):
        self.envelopes = []
        self.accept = accept

    async def handle_DATA(self, server, session, envelope):
        if self.accept is not None and len(self.envelopes) >= self.accept:
            server.transport.close()  # the server dies halfway
            return "421 closing"
        self.envelopes.append(envelope)
        return "250 OK"

    @property
    def messages(self) -> list:
        found = []
        for envelope in self.envelopes:
            message = email.message_from_bytes(envelope.content, policy=policy.default)
            found.append((envelope.rcpt_tos, message["Subject"], message.get_content(), message))
        return found


def only(user: str, password: str):
    def authenticate(server, session, envelope, mechanism, data):
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            user.encode(),
            password.encode(),
        )
        return AuthResult(success=ok, handled=False)

    return authenticate


@pytest.fixture
def smtp():
    """start(**controller options) -> (collector, port): a server for this test only."""
    controllers = []

    def start(collector: Collector | None = None, **options):
        collector = collector or Collector()
        controller = Controller(collector, hostname="127.0.0.1", port=free_port(), **options)
        controller.start()
        controllers.append(controller)
        return collector, controller.port

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def closing_server():
    """A plain socket server that accepts each connection and closes it at once."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()

    def serve():
        while True:
            try:
                conn, _address = sock.accept()
            except OSError:
                return
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield sock.getsockname()[1]
    sock.close()


# --- the panel ------------------------------------------------------------------------


def set_mail(store, **mail) -> None:
    root = store.root
    data = yamlio.load((root / "panelctl.yaml").read_bytes())
    data["settings"] = {**(data.get("settings") or {}), "mail": mail}
    (root / "panelctl.yaml").write_bytes(yamlio.dump(data))
    assert commit_settings(store)


def mail_settings(port: int, **more) -> dict:
    return {"host": "127.0.0.1", "port": port, "security": "none", "from": SENDER, **more}


def action(case, owner, due, status="open", **more) -> dict:
    found = {"description": "Visit the school", "owner": owner, "due": due, "status": status}
    return {**found, **({"case": case} if case else {}), "agency": "Police", **more}


@pytest.fixture
def panel(store):
    with store.transaction() as tx:
        for name, role, address in (
            ("Sam Coordinator", "coordinator", SAM),
            ("Jo Worker", "core", JO),
            ("Lee Lead", "core", LEE),
            ("Old Member", "core", "old@stoke.gov.uk"),
        ):
            tx.create("member", {"name": name, "agency": "Test", "role": role, "email": address})
        child = {"name": CANARY, "dob": date(2011, 3, 14)}
        tx.create(
            "case",
            {
                "status": "open",
                "child": child,
                "nominated": date(2026, 1, 5),
                "assessed": date(2026, 1, 5),
                "lead_professional": "lee  LEAD",
                "risk": "High",
            },
        )
        tx.create(
            "case",
            {"status": "closed", "child": child, "nominated": date(2025, 1, 5), "risk": "Low"},
        )
        tx.create(
            "action", action("C-0001", "Jo Worker", date(2026, 2, 25), description=DESCRIPTION)
        )
        tx.create("action", action("C-0001", "jo worker", date(2026, 3, 9)))
        tx.create("action", action(None, "Jo Worker", date(2026, 3, 10)))
        tx.create("action", action("C-0001", "Jo Worker", date(2026, 2, 1), status="done"))
        tx.create("action", action("C-0001", "Nobody Known", date(2026, 3, 1)))
    return store


def head(root) -> str:
    return git(root, "rev-parse", "HEAD").strip()


def reminders_recorded(store, cli, coordinator) -> list[dict]:
    listed = cli(
        "record",
        "list",
        "reminder",
        "--format",
        "json",
        store=store.root,
        identity=coordinator.path,
    )
    import json

    return json.loads(listed.stdout)


def remind(cli, store, coordinator, *args):
    return cli("remind", "--as-of", AS_OF, *args, store=store.root, identity=coordinator.path)


def one_line_error(result, code, *words) -> None:
    assert result.exit_code == code, result.output
    assert result.stderr.startswith("panelctl: ") and result.stderr.count("\n") == 1, result.stderr
    for word in words:
        assert word in result.stderr
    assert "Traceback" not in result.output and CANARY not in result.output


# --- sending --------------------------------------------------------------------------


def test_each_person_gets_their_reminders_once_a_day(panel, coordinator, cli, smtp):
    server, port = smtp()
    set_mail(panel, **mail_settings(port))

    result = remind(cli, panel, coordinator)
    assert (result.exit_code, result.output) == (0, ""), result.output
    got = {tuple(to): (subject, body, message) for to, subject, body, message in server.messages}
    assert set(got) == {(JO,), (LEE,), (SAM,)}
    assert {to[0]: subject for to, (subject, _b, _m) in got.items()} == SUBJECTS
    for _subject, body, message in got.values():
        assert message["From"] == SENDER and message["Auto-Submitted"] == "auto-generated"
        assert CANARY not in message.as_string() and "Quillonia" not in body
        assert body.startswith("OFFICIAL-SENSITIVE")
    jo_body = got[(JO,)][1]
    assert "A-00001  case C-0001  due 25 Feb 2026  (5 days overdue)" in jo_body
    assert "A-00002  case C-0001  due 9 Mar 2026  (due in 7 days)" in jo_body
    assert "A-00003" not in jo_body and "A-00004" not in jo_body and "safety plan" not in jo_body
    lee_body = got[(LEE,)][1]
    assert "case C-0001  risk assessment refresh due 16 Feb 2026  (14 days overdue)" in lee_body
    assert "case C-0001  panel review due 5 Mar 2026  (due in 3 days)" in lee_body
    digest = got[(SAM,)][1]
    assert "A-00005" in digest and "not e-mailed: no member with the owner's name" in digest
    assert "C-0002" not in digest and "A-00003" not in digest

    recorded = reminders_recorded(panel, cli, coordinator)
    assert [(r["recipient"], r["kind"], r["day"], r["items"]) for r in recorded] == [
        (JO, "actions", AS_OF, ["A-00001", "A-00002"]),
        (LEE, "reviews", AS_OF, ["C-0001:assessment", "C-0001:review"]),
        (
            SAM,
            "digest",
            AS_OF,
            ["A-00001", "A-00005", "A-00002", "C-0001:assessment", "C-0001:review"],
        ),
    ]
    assert git(panel.root, "log", "-1", "--format=%s") == f"Record 3 reminders sent for {AS_OF}\n"

    before = head(panel.root)
    again = remind(cli, panel, coordinator)
    assert (again.exit_code, again.output) == (0, "")
    assert len(server.envelopes) == 3 and head(panel.root) == before


def test_names_in_body_puts_names_in_bodies_never_in_subjects(panel, coordinator, cli, smtp):
    server, port = smtp()
    set_mail(panel, **mail_settings(port, names_in_body=True))
    result = remind(cli, panel, coordinator)
    assert result.exit_code == 0, result.output
    assert len(server.messages) == 3
    for to, subject, body, _message in server.messages:
        assert CANARY not in subject and "C-0001" not in subject
        assert f"case C-0001 ({CANARY})" in body, to
    (jo_body,) = [body for to, _s, body, _m in server.messages if to == [JO]]
    assert DESCRIPTION in jo_body


def test_dry_run_prints_what_it_would_send_and_sends_nothing(panel, coordinator, cli, smtp):
    server, port = smtp()
    set_mail(panel, **mail_settings(port, user="reminders", password_env="UNSET_VARIABLE"))
    before = head(panel.root)
    result = remind(cli, panel, coordinator, "--dry-run")
    assert result.exit_code == 0, result.output
    for address, subject in SUBJECTS.items():
        assert f"To:      {address}" in result.stdout and subject in result.stdout
    assert "Items:   A-00001 A-00002\n" in result.stdout
    assert "C-0001:assessment C-0001:review" in result.stdout and CANARY not in result.output
    as_json = remind(cli, panel, coordinator, "--dry-run", "--format", "json")
    assert '"items": ["A-00001", "A-00002"]' in as_json.stdout
    assert server.envelopes == [] and head(panel.root) == before
    assert reminders_recorded(panel, cli, coordinator) == []


def test_a_recipient_outside_the_allowlist_is_refused_and_the_rest_are_sent(
    panel, coordinator, cli, smtp
):
    with panel.transaction() as tx:
        outside = action("C-0001", "Pat External", date(2026, 3, 3), owner_email="pat@Example.com")
        tx.create("action", outside)  # A-00006
    server, port = smtp()
    set_mail(panel, **mail_settings(port))
    result = remind(cli, panel, coordinator)
    assert result.exit_code == ExitCode.MAIL_REFUSED, result.output
    assert "action owner of A-00006" in result.stderr and "example.com" in result.stderr
    assert "pat@" not in result.stderr and CANARY not in result.output
    assert "1 reminder was not sent (see above); the others were sent." in result.stderr
    recipients = sorted(to[0] for to, *_rest in server.messages)
    assert recipients == sorted([JO, LEE, SAM])
    (digest,) = [body for to, _s, body, _m in server.messages if to == [SAM]]
    assert "A-00006" in digest and "not in settings.mail.allowlist" in digest
    assert len(reminders_recorded(panel, cli, coordinator)) == 3


# --- failures -------------------------------------------------------------------------


def test_a_refused_login_sends_and_records_nothing(
    panel, coordinator, cli, smtp, monkeypatch, tmp_path
):
    server, port = smtp(auth_require_tls=False, authenticator=only("reminders", "s3cret"))
    login = mail_settings(port, user="reminders", password_env="MACE_SMTP_PASSWORD")
    set_mail(panel, **login)
    monkeypatch.setenv("MACE_SMTP_PASSWORD", "wrong")
    before = head(panel.root)
    result = remind(cli, panel, coordinator)
    one_line_error(result, ExitCode.MAIL, f"127.0.0.1:{port}", "refused the login")
    assert "wrong" not in result.output
    assert server.envelopes == [] and head(panel.root) == before

    secret = tmp_path / "smtp-password"
    secret.write_text("s3cret\n")
    secret.chmod(0o600)
    set_mail(panel, **{**login, "password_env": None, "password_file": str(secret)})
    result = remind(cli, panel, coordinator)
    assert result.exit_code == 0, result.output
    assert len(server.envelopes) == 3


def test_a_server_dying_halfway_records_only_what_it_accepted(panel, coordinator, cli, smtp):
    _server, port = smtp(Collector(accept=1))
    set_mail(panel, **mail_settings(port))
    result = remind(cli, panel, coordinator)
    one_line_error(result, ExitCode.MAIL, f"127.0.0.1:{port}", "dropped the connection", "1 of 3")
    recorded = reminders_recorded(panel, cli, coordinator)
    assert [(r["recipient"], r["kind"]) for r in recorded] == [(JO, "actions")]

    healthy, port = smtp()
    set_mail(panel, **mail_settings(port))
    result = remind(cli, panel, coordinator)
    assert result.exit_code == 0, result.output
    assert sorted(to[0] for to, *_rest in healthy.messages) == sorted([LEE, SAM])


def test_a_server_that_closes_the_connection_at_once(panel, coordinator, cli, closing_server):
    set_mail(panel, **mail_settings(closing_server))
    before = head(panel.root)
    result = remind(cli, panel, coordinator)
    one_line_error(result, ExitCode.MAIL, f"127.0.0.1:{closing_server}", "dropped the connection")
    assert head(panel.root) == before


def test_a_server_that_is_down(panel, coordinator, cli):
    port = free_port()  # nothing listens there any more
    set_mail(panel, **mail_settings(port))
    before = head(panel.root)
    result = remind(cli, panel, coordinator)
    one_line_error(result, ExitCode.MAIL, f"127.0.0.1:{port}", "Could not connect", "refused")
    assert head(panel.root) == before


def test_starttls_is_required_by_default(panel, coordinator, cli, smtp):
    server, port = smtp()  # a server without STARTTLS: nothing may go in clear
    set_mail(panel, **{**mail_settings(port), "security": "starttls"})
    result = remind(cli, panel, coordinator)
    one_line_error(result, ExitCode.MAIL, f"127.0.0.1:{port}", "does not offer STARTTLS")
    assert server.envelopes == []


def test_settings_missing_or_wrong_are_named(panel, coordinator, cli, tmp_path):
    def refused(words, **mail):
        set_mail(panel, **mail)
        one_line_error(remind(cli, panel, coordinator), ExitCode.INVALID_INPUT, words)

    refused("settings.mail.host", port=587, security="starttls")
    refused("settings.mail.from", host="smtp.stoke.gov.uk")
    refused("settings.mail.security", host="smtp.stoke.gov.uk", security="smoke-signals")
    refused("settings.mail.prot", host="smtp.stoke.gov.uk", prot=25)
    login = mail_settings(25, user="reminders")
    refused("NOT_SET_ANYWHERE", **login, password_env="NOT_SET_ANYWHERE")
    refused("outside the store", **login, password_file=str(panel.root / "smtp-password"))
    refused("outside the store", **login, password_file="smtp-password")
    too_open = tmp_path / "smtp-password"
    too_open.write_text("s3cret")
    too_open.chmod(0o644)
    refused("chmod 600", **login, password_file=str(too_open))


# --- cron -----------------------------------------------------------------------------


def test_cron_runs_it_without_a_terminal_or_a_passphrase(panel, make_person, smtp):
    from panelctl.panel.access import add_reader

    job = make_person("Reminder Job")  # no passphrase: an unprotected cron identity
    add_reader(panel, job.recipient, job.name, "Test Council", "cron")
    server, port = smtp()
    set_mail(panel, **mail_settings(port))
    env = {"PANELCTL_IDENTITY": str(job.path), "PANELCTL_STORE": str(panel.root)}
    ran = run_panelctl("remind", "--as-of", AS_OF, env=env, stdin=subprocess.DEVNULL, timeout=60)
    assert (ran.returncode, ran.stdout, ran.stderr) == (0, "", "")
    assert len(server.envelopes) == 3
    assert git(panel.root, "log", "-1", "--format=%an") == "Reminder Job\n"


# --- the rules, directly --------------------------------------------------------------


def test_due_actions_counts_the_last_soon_day_and_skips_closed_ones():
    rows = [
        ("A-00001", {"status": "open", "due": date(2026, 3, 1), "owner": "Jo"}),
        ("A-00002", {"status": "open", "due": date(2026, 3, 2)}),
        ("A-00003", {"status": "open", "due": date(2026, 3, 9)}),
        ("A-00004", {"status": "open", "due": date(2026, 3, 10)}),
        ("A-00005", {"status": "done", "due": date(2026, 2, 1)}),
        ("A-00006", {"status": "cancelled", "due": date(2026, 2, 1)}),
    ]
    found = due_actions(rows, date(2026, 3, 2), 7)
    assert [(i.id, i.overdue) for i in found] == [
        ("A-00001", True),
        ("A-00002", False),
        ("A-00003", False),
    ]


@pytest.mark.parametrize(
    ("address", "ok"),
    [
        ("a@stoke.gov.uk", True),
        ("a@STOKE.GOV.UK", True),
        ("a@nhs.net", True),
        ("a@trust.nhs.net", True),
        ("a@staffordshire.police.uk", True),
        ("a@gov.uk", False),
        ("a@gov.uk.example.com", False),
        ("a@evilnhs.net", False),
        ("a@gmail.com", False),
        ("a@stoke.gov.uk\nBcc: x@gmail.com", False),
        ("not an address", False),
    ],
)
def test_the_default_allowlist(address, ok):
    assert allowed(address, MailSettings().allowlist) is ok


def test_an_owner_is_found_by_name_unless_the_name_is_ambiguous():
    item = Item("A-00001", "action", "C-0001", date(2026, 3, 1), True, "Jo  WORKER")
    assert address_for(item, {"jo worker": ["jo@x.gov.uk"]}) == ("jo@x.gov.uk", None)
    assert address_for(item, {"jo worker": ["jo@x.gov.uk", "j@y.gov.uk"]})[0] is None
    assert address_for(item, {})[0] is None
    explicit = Item("A-00001", "action", None, date(2026, 3, 1), True, "Jo", "jo@z.nhs.net")
    assert address_for(explicit, {})[0] == "jo@z.nhs.net"
    assert subject_for("actions", [item], "Stoke-on-Trent MACE") == (
        "panelctl: 1 action overdue or due soon (Stoke-on-Trent MACE)"
    )


def test_the_digest_goes_to_coordinators_and_its_absence_is_warned_of():
    item = Item("A-00001", "action", "C-0001", date(2026, 3, 1), True, "Nobody")
    members = [
        ("MB-0001", {"name": "Sam", "role": "coordinator", "email": "sam@stoke.gov.uk"}),
        ("MB-0002", {"name": "Ex", "role": "coordinator", "email": "ex@x.gov.uk", "active": False}),
    ]
    shared = MailSettings(coordinator="SAM@stoke.gov.uk")
    mails, refused, warnings = plan([item], [], members, shared, "P", date(2026, 3, 2))
    assert [(m.recipient, m.kind) for m in mails] == [("SAM@stoke.gov.uk", "digest")]
    assert (refused, warnings) == ([], [])
    mails, refused, warnings = plan([item], [], [], MailSettings(), "P", date(2026, 3, 2))
    assert mails == [] and "No coordinator" in warnings[0] and "A-00001" in warnings[1]
    assert plan([], [], members, MailSettings(), "P", date(2026, 3, 2)) == ([], [], [])


# --- a hostile panelctl.yaml: panelctl's own secrets are never a "password" ----------------


class Recorder:
    """An authenticator that keeps every login the server was offered, and refuses them."""

    def __init__(self):
        self.offered = []

    def __call__(self, server, session, envelope, mechanism, data):
        self.offered.append(data)
        return AuthResult(success=False, handled=False)


def hostile(port: int, **secret) -> dict:
    """What an attacker would have panelctl.yaml say. Pushed with plain git it is never read
    (the commit is unverified: test_trust); here it is committed as a coordinator would commit
    settings given to them, and the password rules must still hold."""
    return {
        **mail_settings(port, user="harvest", **secret),
        "from": "panel@attacker.example",
        "coordinator": "drop@attacker.example",
        "allowlist": ["*"],
        "names_in_body": True,
    }


def private_file(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o600)
    return path


@pytest.fixture
def attacker(smtp):
    recorder = Recorder()
    server, port = smtp(auth_require_tls=False, authenticator=recorder)
    return server, port, recorder


def assert_nothing_sent(result, server, recorder, panel, before, *words, secret: str = "") -> None:
    one_line_error(result, ExitCode.INVALID_INPUT, *words)
    assert recorder.offered == [] and server.envelopes == []
    assert head(panel.root) == before
    assert git(panel.root, "status", "--porcelain", "--untracked-files=all") == ""
    for line in secret.splitlines():
        if len(line.strip()) > 12:
            assert line.strip() not in result.output


def test_the_identity_file_is_never_sent_as_the_smtp_password(
    panel, coordinator, cli, attacker, monkeypatch, tmp_path
):
    server, port, recorder = attacker
    identity_text = coordinator.path.read_text()
    copy = private_file(tmp_path / "elsewhere" / "notes.txt", identity_text)
    link = tmp_path / "elsewhere" / "smtp-password"
    os.symlink(coordinator.path, link)
    monkeypatch.setenv("PANELCTL_IDENTITY", str(coordinator.path))
    for given, words in (
        (coordinator.path, "panelctl's own secret files"),  # by PANELCTL_IDENTITY
        (link, "panelctl's own secret files"),  # a link to it, resolved
        (copy, "is a panelctl identity"),  # a copy, known by its content
    ):
        set_mail(panel, **hostile(port, password_file=str(given)))
        before = head(panel.root)
        result = remind(cli, panel, coordinator)
        assert_nothing_sent(
            result, server, recorder, panel, before, "settings.mail.password_file", *[words],
            secret=identity_text,
        )  # fmt: skip
    # The server does see a login when there is one to see (so the checks above can fail).
    ordinary = private_file(tmp_path / "elsewhere" / "ordinary", "s3cret\n")
    set_mail(panel, **hostile(port, password_file=str(ordinary)))
    result = remind(cli, panel, coordinator)
    assert result.exit_code == ExitCode.MAIL, result.output
    offered = {(d.login, d.password) for d in recorder.offered}  # one per mechanism tried
    assert offered == {(b"harvest", b"s3cret")}
    assert server.envelopes == []


def test_the_default_identity_and_the_passphrase_file_are_refused(
    panel, coordinator, cli, attacker, monkeypatch, tmp_path
):
    from panelctl.base import config

    server, port, recorder = attacker
    default = private_file(config.default_identity_path(), coordinator.path.read_text())
    passphrase = private_file(tmp_path / "secrets" / "passphrase", "correct horse battery\n")
    monkeypatch.setenv("PANELCTL_PASSPHRASE_FILE", str(passphrase))
    also_in_config = private_file(config.config_dir() / "smtp-password", "s3cret\n")
    for given in (default, passphrase, also_in_config):
        set_mail(panel, **hostile(port, password_file=str(given)))
        before = head(panel.root)
        result = remind(cli, panel, coordinator)
        assert_nothing_sent(
            result, server, recorder, panel, before, "settings.mail.password_file",
            "panelctl's own secret files", secret="correct horse battery",
        )  # fmt: skip


@pytest.mark.parametrize(
    "variable", ["PANELCTL_PASSPHRASE", "PANELCTL_PASSPHRASE_FILE", "panelctl_x"]
)
def test_password_env_may_not_name_panelctls_own_variables(
    panel, coordinator, cli, attacker, monkeypatch, variable
):
    server, port, recorder = attacker
    monkeypatch.setenv(variable, "correct horse battery")
    set_mail(panel, **hostile(port, password_env=variable))
    before = head(panel.root)
    result = remind(cli, panel, coordinator)
    assert_nothing_sent(
        result, server, recorder, panel, before, "settings.mail.password_env", variable,
        "MACE_SMTP_PASSWORD", secret="correct horse battery",
    )  # fmt: skip


def test_a_password_file_must_be_the_users_own_private_one_line_file(
    panel, coordinator, cli, attacker, tmp_path
):
    server, port, recorder = attacker
    outside = tmp_path / "outside"

    def refused(given, *words, secret=""):
        set_mail(panel, **hostile(port, password_file=str(given)))
        before = head(panel.root)
        result = remind(cli, panel, coordinator)
        assert_nothing_sent(result, server, recorder, panel, before, *words, secret=secret)

    key = private_file(
        outside / "id_ed25519",
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n"
        "-----END OPENSSH PRIVATE KEY-----\n",
    )
    refused(key, "settings.mail.password_file", "one line", secret=key.read_text())
    long = private_file(outside / "long", "x" * 2000 + "\n")
    refused(long, "settings.mail.password_file", "at most 1024 bytes")
    group = private_file(outside / "group", "s3cret\n")
    group.chmod(0o640)
    refused(group, "settings.mail.password_file", "chmod 600")
    os.mkfifo(outside / "fifo", 0o600)
    refused(outside / "fifo", "settings.mail.password_file", "not a regular file")
    refused(outside / "missing", "settings.mail.password_file", "Cannot read")
    refused("/dev/zero", "settings.mail.password_file", "not a regular file")
    refused(outside, "settings.mail.password_file", "not a regular file")
    # A link from outside into the store is resolved, and refused as inside it.
    inside = private_file(panel.root / ".git" / "smtp-password", "s3cret\n")
    os.symlink(inside, outside / "into-the-store")
    refused(outside / "into-the-store", "settings.mail.password_file", "outside the store")


def test_a_password_file_of_another_user_is_refused(panel, coordinator, cli, attacker, tmp_path):
    server, port, recorder = attacker
    theirs = private_file(tmp_path / "theirs" / "smtp-password", "s3cret\n")
    if os.getuid() == 0:
        os.chown(theirs, 65534, 65534)  # nobody's
    else:
        theirs = Path("/etc/hostname")  # root's, readable by all
        if not theirs.is_file():
            pytest.skip("needs a readable file that belongs to another user")
    set_mail(panel, **hostile(port, password_file=str(theirs)))
    before = head(panel.root)
    result = remind(cli, panel, coordinator)
    assert_nothing_sent(result, server, recorder, panel, before, "belongs to another user")


def test_a_proper_password_file_still_logs_in(panel, coordinator, cli, smtp, tmp_path):
    server, port = smtp(auth_require_tls=False, authenticator=only("reminders", "s3cret"))
    secret = private_file(tmp_path / "etc" / "smtp-password", "s3cret\r\n")
    set_mail(panel, **mail_settings(port, user="reminders", password_file=str(secret)))
    result = remind(cli, panel, coordinator)
    assert result.exit_code == 0, result.output
    assert len(server.envelopes) == 3


def test_a_panel_level_saved_as_an_assessment_before_0_3_0_does_not_stop_a_refresh_reminder(
    panel, coordinator, cli, smtp
):
    """panelctl before 0.3.0 saved the panel's agreed level as an RFM by "Panel (chair)";
    the refresh reminder still counts from the last real assessment (5 Jan 2026)."""
    from panelctl.base.dates import today
    from panelctl.casework.assessments import stage

    with panel.transaction() as tx:
        case = panel.read("C-0001")
        stage(tx, case, {"tool": "rfm", "date": today(), "assessor": "Panel (chair)",
                         "agency": "Test", "factors": [], "derived": "High", "agreed": "High",
                         "source": "panel M-0001"})  # fmt: skip
    assert panel.read("C-0001")["assessed"] == today()
    server, port = smtp()
    set_mail(panel, **mail_settings(port, user="reminders", password_env="UNSET_VARIABLE"))
    result = remind(cli, panel, coordinator, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "C-0001:assessment" in result.stdout
