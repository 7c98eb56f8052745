"""A subject access bundle's files: print-ready HTML, the same as an encrypted PDF, and
JSON. Pure: the bundle's content (see :func:`panelctl.casework.subject.bundle`) in, text
or bytes out. The HTML is ``templates/export/subject.html.j2`` (a store's own, signed
``templates/export/`` overrides it, as for papers)."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

from panelctl.base.errors import InvalidInputError
from panelctl.outputs import papers, pdf, render

TEMPLATE = "export/subject.html.j2"
#: the JSON's shape; a change to it takes the next number
JSON_FORMAT = 1


def _context(content: dict, fmt: str) -> dict:
    context = {
        "marking": papers.MARKING,
        "generated": content["prepared"],
        "fmt": fmt,
        "b": content,
        "panel": {**content["panel"], "confidentiality_statement": None},
    }
    if fmt == "pdf":
        context["pdf_fonts"] = pdf.font_faces()
    return context


def html_bundle(content: dict, store_root: Path | None = None) -> str:
    hint = "check the store's templates/export/ folder"
    return render.run(papers.environment(store_root), TEMPLATE, _context(content, "html"), hint)


def pdf_bundle(content: dict, fmt: str, store_root: Path | None = None) -> bytes:
    """The bundle as a PDF, encrypted with the password ``fmt`` (a ProtectedPdf) holds."""
    if not isinstance(fmt, papers.ProtectedPdf):
        raise InvalidInputError(
            "A PDF is always encrypted, and no password was given for it.", "password"
        )
    hint = "check the store's templates/export/ folder"
    html = render.run(papers.environment(store_root), TEMPLATE, _context(content, "pdf"), hint)
    return pdf.protected_pdf(html, fmt.password, name="subject access bundle")


def json_bundle(content: dict) -> str:
    """The bundle as JSON: keys sorted (stable from run to run), dates ISO 8601, UTF-8."""
    return (
        json.dumps(
            {"format": JSON_FORMAT, **content},
            default=_plain,
            ensure_ascii=False,
            indent=2,
            sort_keys=True,
        )
        + "\n"
    )


def _plain(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")
