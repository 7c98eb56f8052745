"""Sending e-mail over SMTP: a store's mail settings, the allowlist, and one connection.

The settings live under ``settings: mail:`` in the store's ``panelctl.yaml``::

    settings:
      mail:
        host: smtp.stoke.gov.uk
        port: 587                  # default
        security: starttls         # starttls (default), tls (SMTPS) or none
        user: panel-reminders      # log in only when a user is set
        password_file: /etc/panelctl/smtp-password   # or password_env: MACE_SMTP_PASSWORD
        from: mace-panel@stoke.gov.uk
        coordinator: mace-coordinator@stoke.gov.uk   # also gets the digest
        allowlist: ['*.gov.uk', nhs.net, '*.nhs.net', police.uk, '*.police.uk']
        names_in_body: false       # default: bodies name children by case id only
        soon_days: 7               # "due soon": due within this many days

The password is never in the settings themselves: only the path of a file that holds it
(outside the store, the user's own, 0600, not one of panelctl's identity or passphrase
files), or the NAME of an environment variable that does (not a ``PANELCTL_*`` one).
Certificates are checked with the system's trust store (``ssl.create_default_context``).
Errors name the server and what failed; never a recipient's mail or its contents.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from panelctl.base.addresses import is_address
from panelctl.base.errors import InvalidInputError, MailError
from panelctl.base.secretfile import SecretFile, read_secret_line

SECURITY = ("starttls", "tls", "none")
DEFAULT_ALLOWLIST = (
    "*.gov.uk",
    "nhs.net",
    "*.nhs.net",
    "police.uk",
    "*.police.uk",
    "gcsx.gov.uk",
    "*.gcsx.gov.uk",
)

@dataclass(frozen=True)
class MailSettings:
    host: str | None = None
    port: int = 587
    security: str = "starttls"
    user: str | None = None
    password_file: str | None = None
    password_env: str | None = None
    sender: str | None = None  # the ``from`` setting
    coordinator: str | None = None
    allowlist: tuple[str, ...] = DEFAULT_ALLOWLIST
    names_in_body: bool = False
    soon_days: int = 7
    timeout: float = 30.0

    @property
    def server(self) -> str:
        return f"{self.host}:{self.port}"


def settings_from(profile: dict) -> MailSettings:
    """The ``mail`` settings of a store's effective profile, with defaults, checked."""
    raw = profile.get("mail") or {}
    if not isinstance(raw, dict):
        raise InvalidInputError("settings.mail in panelctl.yaml must be a mapping of settings.")
    known = {
        "host",
        "port",
        "security",
        "user",
        "password_file",
        "password_env",
        "from",
        "coordinator",
        "allowlist",
        "names_in_body",
        "soon_days",
        "timeout",
    }
    unknown = sorted(str(k) for k in raw if k not in known)
    if unknown:
        raise InvalidInputError(
            f"settings.mail.{unknown[0]} in panelctl.yaml is not a mail setting; use: "
            f"{', '.join(sorted(known))}."
        )
    text = {k: _text(raw, k) for k in ("host", "user", "password_file", "password_env")}
    security = raw.get("security", "starttls")
    if security not in SECURITY:
        raise InvalidInputError(f"settings.mail.security must be one of: {', '.join(SECURITY)}.")
    allowlist = raw.get("allowlist", list(DEFAULT_ALLOWLIST))
    if not isinstance(allowlist, list) or not all(isinstance(p, str) for p in allowlist):
        raise InvalidInputError("settings.mail.allowlist must be a list of domain patterns.")
    names = raw.get("names_in_body", False)
    if not isinstance(names, bool):
        raise InvalidInputError("settings.mail.names_in_body must be true or false.")
    sender, coordinator = _text(raw, "from"), _text(raw, "coordinator")
    for name, value in (("from", sender), ("coordinator", coordinator)):
        if value is not None and not is_address(value):
            raise InvalidInputError(f"settings.mail.{name} is not an e-mail address.")
    if text["password_file"] and text["password_env"]:
        raise InvalidInputError(
            "settings.mail has both password_file and password_env; keep one of them."
        )
    return MailSettings(
        host=text["host"],
        port=_number(raw, "port", 587, 1, 65535),
        security=security,
        user=text["user"],
        password_file=text["password_file"],
        password_env=text["password_env"],
        sender=sender,
        coordinator=coordinator,
        allowlist=tuple(p.strip().lower() for p in allowlist if p.strip()),
        names_in_body=names,
        soon_days=_number(raw, "soon_days", 7, 0, 366),
        timeout=float(_number(raw, "timeout", 30, 1, 600)),
    )


def _text(raw: dict, key: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or any(c in value for c in "\r\n"):
        raise InvalidInputError(f"settings.mail.{key} must be one line of text.")
    return value.strip() or None


def _number(raw: dict, key: str, default: int, low: int, high: int) -> int:
    value = raw.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidInputError(f"settings.mail.{key} must be a whole number from {low} to {high}.")
    return value


def check_sendable(settings: MailSettings) -> None:
    """Refuse, before anything is sent, settings that cannot send mail."""
    if settings.host is None:
        raise InvalidInputError(
            "settings.mail.host is not set in the store's panelctl.yaml; name the SMTP server."
        )
    if settings.sender is None:
        raise InvalidInputError(
            "settings.mail.from is not set in the store's panelctl.yaml; give the sending address."
        )
    if settings.user is not None and not (settings.password_file or settings.password_env):
        raise InvalidInputError(
            "settings.mail.user is set but neither password_file nor password_env is; "
            "say where the SMTP password is kept."
        )


# --- addresses ----------------------------------------------------------------------------


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


def allowed(address: str, allowlist: Sequence[str]) -> bool:
    """True when the address's domain matches a pattern (fnmatch, case-insensitive):
    ``*.gov.uk`` matches ``stoke.gov.uk`` but not ``gov.uk`` itself or ``gov.uk.example.com``."""
    if not is_address(address):
        return False
    domain = domain_of(address)
    return any(fnmatch.fnmatchcase(domain, pattern.lower()) for pattern in allowlist)


# --- the password -------------------------------------------------------------------------


def password(settings: MailSettings, root: Path) -> str | None:
    """The SMTP password: from ``password_file`` (see :func:`read_password_file`) or the
    variable ``password_env`` names (never a ``PANELCTL_*`` one); ``None`` when no user is
    set (no login).

    ``panelctl.yaml`` can be changed by whoever can push to the store, so these rules stop
    it from turning a secret of panelctl's own (an identity, its passphrase) into the
    "password" sent to a server it names."""
    if settings.user is None:
        return None
    if settings.password_env:
        name = settings.password_env
        if name.upper().startswith("PANELCTL_"):
            raise InvalidInputError(
                f"settings.mail.password_env names {name}, one of panelctl's own variables, "
                "which never hold the SMTP password; name a variable of its own such as "
                "MACE_SMTP_PASSWORD."
            )
        value = os.environ.get(name)
        if not value:
            raise InvalidInputError(
                f"The environment variable {name} (settings.mail.password_env) "
                "is not set or empty; set it to the SMTP password."
            )
        return value
    return read_password_file(settings.password_file, root)


#: The longest SMTP password file read, in bytes: a password, not a key.
MAX_PASSWORD_BYTES = 1024


def read_password_file(setting: str, root: Path) -> str:
    """The password held, on one line, in the file ``setting`` names, under the rules of
    :func:`panelctl.base.secretfile.read_secret_line` (outside the store, the user's own,
    0600, not one of panelctl's own secrets, one line of at most :data:`MAX_PASSWORD_BYTES`)."""
    return read_secret_line(setting, root, _SMTP_PASSWORD_FILE, MAX_PASSWORD_BYTES)


_SMTP_PASSWORD_FILE = SecretFile(
    what="SMTP password file",
    where="settings.mail.password_file",
    secret="the SMTP password",
    use="sent to a mail server",
)


# --- messages and sending -----------------------------------------------------------------


def message(sender: str, recipient: str, subject: str, body: str):
    """A plain-text message, marked as sent by a machine (RFC 3834)."""
    from email.message import EmailMessage
    from email.utils import formatdate, make_msgid

    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = recipient
    mail["Subject"] = subject
    mail["Date"] = formatdate(localtime=True)
    mail["Message-ID"] = make_msgid(domain=domain_of(sender))
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(body)
    return mail


def send_all(
    settings: MailSettings,
    secret: str | None,
    messages: Sequence,
    accepted: Callable[[int], None],
    refused: Callable[[int, str], None],
) -> None:
    """Send ``messages`` over one connection, calling ``accepted(i)`` for each message the
    server took and ``refused(i, reason)`` for each it turned away. A server that cannot
    be reached, refuses the login or drops the connection raises :class:`MailError` (after
    the ``accepted`` calls for the messages it took before that)."""
    import smtplib

    if not messages:
        return
    client = _connect(settings, secret)
    done = 0
    try:
        for number, mail in enumerate(messages):
            try:
                client.send_message(mail)
            except smtplib.SMTPRecipientsRefused as error:
                code = next(iter(error.recipients.values()))[0]
                refused(number, f"the mail server {settings.host} refused the recipient ({code})")
                continue
            except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
                if error.smtp_code == 421:  # "closing the channel": nothing more will go
                    raise _failure(settings, error, done, len(messages)) from None
                refused(number, f"the mail server {settings.host} refused it ({error.smtp_code})")
                continue
            except (smtplib.SMTPException, OSError) as error:
                raise _failure(settings, error, done, len(messages)) from None
            done += 1
            accepted(number)
    finally:
        _close(client)


def _connect(settings: MailSettings, secret: str | None):
    """A connected (and, with a user, logged-in) client, or a MailError saying what failed."""
    import smtplib
    import ssl

    host, server = settings.host, settings.server
    context = ssl.create_default_context()
    stage = "connect to"
    client = None
    try:
        if settings.security == "tls":
            client = smtplib.SMTP_SSL(
                host, settings.port, timeout=settings.timeout, context=context
            )
        else:
            client = smtplib.SMTP(host, settings.port, timeout=settings.timeout)
        stage = "greet"
        client.ehlo()
        if settings.security == "starttls":
            stage = "start TLS with"
            client.starttls(context=context)
            client.ehlo()
        if settings.user is not None:
            stage = "log in to"
            client.login(settings.user, secret or "")
        return client
    except smtplib.SMTPAuthenticationError as error:
        _close(client)
        raise MailError(
            f"The mail server {server} refused the login of settings.mail.user "
            f"({error.smtp_code}); check the user and its password; nothing was sent."
        ) from None
    except smtplib.SMTPNotSupportedError:
        _close(client)
        what = "STARTTLS" if stage == "start TLS with" else "a login (AUTH)"
        raise MailError(
            f"The mail server {server} does not offer {what}; check settings.mail.security "
            "and user; nothing was sent."
        ) from None
    except smtplib.SMTPServerDisconnected:
        _close(client)
        raise MailError(
            f"The mail server {server} dropped the connection when panelctl tried to {stage} it; "
            "nothing was sent."
        ) from None
    except ssl.SSLError as error:
        _close(client)
        raise MailError(
            f"TLS with the mail server {server} failed ({_reason(error)}); check "
            "settings.mail.security and port, and the server's certificate; nothing was sent."
        ) from None
    except (smtplib.SMTPException, OSError) as error:
        _close(client)
        raise MailError(
            f"Could not {stage} the mail server {server} ({_reason(error)}); check "
            "settings.mail.host and port, and that the server is up; nothing was sent."
        ) from None


def _failure(settings: MailSettings, error: Exception, done: int, total: int) -> MailError:
    import smtplib

    what = (
        "dropped the connection"
        if isinstance(error, smtplib.SMTPServerDisconnected | ConnectionError)
        else f"failed ({_reason(error)})"
    )
    return MailError(
        f"The mail server {settings.server} {what} after accepting {done} of {total} "
        "messages; only the messages it accepted are recorded as sent."
    )


def _reason(error: Exception) -> str:
    """A short, content-free reason: an SMTP code, an OS error's text, or the error's kind."""
    import socket

    code = getattr(error, "smtp_code", None)
    if code is not None:
        return f"SMTP {code}"
    if isinstance(error, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(error, socket.gaierror):
        return "unknown host"
    if getattr(error, "reason", None):  # an SSL error: CERTIFICATE_VERIFY_FAILED
        return str(error.reason).lower().replace("_", " ")
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return type(error).__name__


def _close(client) -> None:
    if client is None:
        return
    try:
        client.quit()
    except Exception:  # the connection is already gone: nothing to tidy
        try:
            client.close()
        except Exception:
            pass
