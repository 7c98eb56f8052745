"""Password-protected, print-ready PDF papers, made and encrypted in memory.

Some panels send their papers "by secure e-mail or password protected" (the Stoke CSE
panel's terms of reference). A paper's HTML (the same template as the ``html`` format,
rendered with ``fmt == "pdf"`` so that ``meeting/_base.html.j2`` lays out the marking for
a PDF page) is turned into a PDF by xhtml2pdf (pure Python, on ReportLab: it installs from
wheels with no system library, unlike a browser engine such as WeasyPrint, which needs
Pango) and encrypted by pypdf with AES-256 (through the ``cryptography`` package panelctl
already uses). The plain PDF exists only in memory: :func:`protected_pdf` returns the
encrypted bytes, and :mod:`panelctl.outputs.papers` writes them as it writes every paper
(a private temp file, then linked into place, 0600).

Rendering reads nothing but the fonts shipped beside this module (DejaVu, which draws
Welsh, Polish, Cyrillic, Greek... names that the PDF standard fonts cannot): a template
cannot make the renderer read a file or reach the network. xhtml2pdf's log, which quotes
the HTML it could not lay out (a child's name among it), is silenced while it runs.
"""

from __future__ import annotations

import io
import logging
import secrets
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from panelctl.base.errors import InvalidInputError

#: The shortest password a protected PDF takes.
MIN_PASSWORD = 10
#: The longest: pypdf's AES-256 takes at most 127 bytes of UTF-8.
MAX_PASSWORD_BYTES = 127
#: A render that takes longer than this is abandoned (a store's template gone wrong).
MAX_RENDER_SECONDS = 120.0

_LOGGERS = ("xhtml2pdf", "reportlab", "pypdf", "PIL", "svglib", "fontTools")


def fonts_folder() -> Path:
    """The folder of the fonts a PDF paper is set in (packaged with this module)."""
    return Path(str(resources.files("panelctl.outputs") / "fonts"))


def font_faces() -> str:
    """CSS ``@font-face`` rules for the packaged DejaVu fonts (for ``_base.html.j2``)."""
    folder = fonts_folder()
    faces = [
        ("DejaVu Sans", "normal", "normal", "DejaVuSans.ttf"),
        ("DejaVu Sans", "bold", "normal", "DejaVuSans-Bold.ttf"),
        ("DejaVu Sans", "normal", "italic", "DejaVuSans-Oblique.ttf"),
        ("DejaVu Sans", "bold", "italic", "DejaVuSans-BoldOblique.ttf"),
        ("DejaVu Serif", "bold", "normal", "DejaVuSerif-Bold.ttf"),
        ("DejaVu Serif", "normal", "normal", "DejaVuSerif-Bold.ttf"),  # headings only: bold
    ]
    return "\n".join(
        f'@font-face {{ font-family: "{family}"; font-weight: {weight}; font-style: {style}; '
        f'src: url("{(folder / name).as_posix()}"); }}'
        for family, weight, style, name in faces
    )


def check_password(password: str) -> str:
    """The password, refused (without ever quoting it) unless it is long enough and fits."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise InvalidInputError(
            f"A PDF password needs at least {MIN_PASSWORD} characters; choose a longer one.",
            "password",
        )
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise InvalidInputError(
            f"A PDF password may be at most {MAX_PASSWORD_BYTES} bytes long; choose a "
            "shorter one.",
            "password",
        )
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in password):
        raise InvalidInputError(
            "A PDF password may not hold control characters (tabs, line breaks).", "password"
        )
    return password


def render(html: str, name: str = "paper") -> bytes:
    """The unencrypted PDF of ``html``, in memory only: for :func:`protected_pdf`."""
    from xhtml2pdf import pisa
    from xhtml2pdf.config.resources import ResourceAccessPolicy

    policy = ResourceAccessPolicy.server(
        fonts_folder(),
        allow_remote=False,
        max_render_seconds=MAX_RENDER_SECONDS,
    )
    fonts = {(fonts_folder() / f).as_posix() for f in _font_files()}

    def only_our_fonts(uri: str, rel: str | None) -> str:
        # A second gate behind the policy: a paper may use the packaged fonts, nothing else.
        return uri if uri in fonts else ""

    out = io.BytesIO()
    with _quiet():
        try:
            status = pisa.CreatePDF(
                html,
                dest=out,
                encoding="utf-8",
                link_callback=only_our_fonts,
                resource_policy=policy,
                raise_exception=False,
                capacity=-1,  # its buffers never spill to a temp file on disk
            )
        except Exception:  # noqa: BLE001 - the library's own errors can quote the HTML
            status = None
    if status is None or status.err:
        raise InvalidInputError(
            f"The {name} could not be laid out as a PDF; check the store's paper templates "
            "(the HTML format of the same paper shows what went in)."
        )
    return out.getvalue()


def encrypt(plain: bytes, password: str) -> bytes:
    """``plain`` (a PDF) encrypted with AES-256 under ``password``: it opens only with the
    password, and may then be printed and read aloud (text extraction for accessibility)
    but not changed. The owner password is random and forgotten, so nobody can lift the
    restrictions with it."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.constants import UserAccessPermissions as Allow
    from pypdf.generic import DictionaryObject, NameObject, NumberObject

    check_password(password)
    reserved = Allow.R7 | Allow.R8 | Allow(0xFFFFF000)  # bits 7, 8, 13-32: set, as ISO 32000 asks
    allowed = Allow.PRINT | Allow.PRINT_TO_REPRESENTATION | Allow.EXTRACT_TEXT_AND_GRAPHICS
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(plain)))
    # AES-256 (revision 6) is PDF 2.0's; PDF 1.7 readers know it as Adobe's extension level 8.
    writer.pdf_header = b"%PDF-1.7"
    writer.root_object[NameObject("/Extensions")] = DictionaryObject(
        {
            NameObject("/ADBE"): DictionaryObject(
                {
                    NameObject("/BaseVersion"): NameObject("/1.7"),
                    NameObject("/ExtensionLevel"): NumberObject(8),
                }
            )
        }
    )
    writer.encrypt(
        user_password=password,
        owner_password=secrets.token_urlsafe(32),
        algorithm="AES-256",
        permissions_flag=allowed | reserved,
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def protected_pdf(html: str, password: str, name: str = "paper") -> bytes:
    """The PDF of ``html``, encrypted with ``password``: the one way a PDF paper is made."""
    check_password(password)
    return encrypt(render(html, name), password)


def _font_files() -> list[str]:
    return sorted(p.name for p in fonts_folder().glob("*.ttf"))


@contextmanager
def _quiet():
    """The renderers' loggers muted: their warnings quote the HTML (names, notes)."""
    import warnings

    loggers = [logging.getLogger(name) for name in _LOGGERS]
    saved = [lg.level for lg in loggers]
    for lg in loggers:  # their child loggers (xhtml2pdf.tables...) inherit the level
        lg.setLevel(logging.CRITICAL + 1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, saved, strict=True):
            lg.setLevel(level)


def is_encrypted(data: bytes) -> bool:
    """True when ``data`` is a PDF that opens only with a password (AES-256 or not)."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        with _quiet():
            reader = PdfReader(io.BytesIO(data))
            return bool(reader.is_encrypted) and not reader.decrypt("")
    except (PdfReadError, ValueError, OSError):
        return False
