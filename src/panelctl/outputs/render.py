"""Jinja2 templates: a store's own ``templates/`` first, then the packaged defaults.

Anything in a store's repository may have been written by whoever can push to it, so every
template renders in Jinja2's immutable sandbox: a template can read the values it is given
and call panelctl's filters, but cannot reach Python's internals (``__class__``,
``__globals__``, ...), open files, run commands or change the values it was given. A
template that tries is refused with :class:`InvalidInputError`, before anything is written.
HTML templates (``*.html``, ``*.html.j2``) are autoescaped in every environment, so a name
typed by a person cannot become markup.

:func:`own_templates` is the one place the store's ``templates/`` folder is read.
"""

from __future__ import annotations

import os
import stat
from importlib import resources
from pathlib import Path

from panelctl.base.errors import InvalidInputError
from panelctl.store.core import Store

#: The largest store template read, in bytes.
MAX_TEMPLATE_BYTES = 1_000_000
#: Templates whose output is HTML, autoescaped (by the end of the template's name).
HTML_EXTENSIONS = ("html", "htm", "html.j2", "htm.j2")
#: A template may repeat text or raise a number to a power only up to this size, so that a
#: one-line template cannot hold the command for minutes or exhaust its memory.
MAX_PRODUCT = 1_000_000


def packaged_templates() -> Path:
    """The packaged templates folder, in a wheel install and in a source checkout alike."""
    installed = resources.files("panelctl") / "templates"
    if installed.is_dir():
        return Path(str(installed))
    checkout = Path(__file__).resolve().parents[3] / "templates"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError("panelctl's templates are missing from this installation")


def own_templates(store_root: Path) -> dict[str, str]:
    """The store's own templates, by name (``meeting/agenda.md.j2``) to text: the only
    place the store's ``templates/`` folder is read, and only once this clone has verified
    the store's history and ``templates/`` is as a coordinator committed it (exit 20 for
    commits not verified, exit 7 for a local edit; see Store.signed_files_unchanged)."""
    Store(store_root).signed_files_unchanged()
    return read_templates(store_root)


def read_templates(store_root: Path) -> dict[str, str]:
    """The files under ``store_root/templates``, by name, checked as files (not as signed:
    that is :func:`own_templates`).

    Regular files only, each at most :data:`MAX_TEMPLATE_BYTES` and UTF-8; names starting
    with a dot are left out. A symbolic link, a device or other special file, a file too
    large or not UTF-8 is refused with :class:`InvalidInputError` naming it, so that a
    store's override is never silently replaced by the packaged default.
    """
    folder = store_root / "templates"
    if not os.path.lexists(folder):
        return {}
    _check_kind(folder, "templates", folder=True)
    found: dict[str, str] = {}
    for here, dirs, files in os.walk(folder, followlinks=False):
        base = Path(here)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in dirs:
            _check_kind(base / name, _shown(base / name, store_root), folder=True)
        for name in sorted(f for f in files if not f.startswith(".")):
            path = base / name
            found[path.relative_to(folder).as_posix()] = _read_template(
                path, _shown(path, store_root)
            )
    return found


def _shown(path: Path, store_root: Path) -> str:
    return path.relative_to(store_root).as_posix()


def _check_kind(path: Path, shown: str, folder: bool) -> os.stat_result:
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        raise InvalidInputError(
            f"The store's {shown} is a symbolic link; panelctl reads only real files and "
            "folders under templates/: replace the link with what it points to."
        )
    wanted = stat.S_ISDIR if folder else stat.S_ISREG
    if not wanted(info.st_mode):
        kind = "folder" if folder else "regular file"
        raise InvalidInputError(f"The store's {shown} is not a {kind}; remove it from templates/.")
    return info


def _read_template(path: Path, shown: str) -> str:
    _check_kind(path, shown, folder=False)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        raise InvalidInputError(
            f"Cannot read the store's template {shown}; check that it is a readable file."
        ) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped since the check
        os.close(fd)
        raise InvalidInputError(f"The store's {shown} is not a regular file; remove it.")
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(MAX_TEMPLATE_BYTES + 1)
    if len(data) > MAX_TEMPLATE_BYTES:
        raise InvalidInputError(
            f"The store's template {shown} is larger than {MAX_TEMPLATE_BYTES:,} bytes; "
            "make it smaller."
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError(
            f"The store's template {shown} is not UTF-8 text; save it as UTF-8."
        ) from None


def environment(store_root: Path | None = None):
    """The sandboxed Jinja environment: the store's own templates (when ``store_root`` is
    given) ahead of the packaged ones, StrictUndefined, HTML templates autoescaped."""
    from jinja2 import (
        ChoiceLoader,
        DictLoader,
        FileSystemLoader,
        StrictUndefined,
        select_autoescape,
    )
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class Sandbox(ImmutableSandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**"})

        def call_binop(self, context, operator, left, right):
            return _bounded(operator, left, right)

    loaders = [FileSystemLoader(str(packaged_templates()))]
    if store_root is not None:
        loaders.insert(0, DictLoader(own_templates(store_root)))
    return Sandbox(
        loader=ChoiceLoader(loaders),
        undefined=StrictUndefined,
        autoescape=select_autoescape(
            enabled_extensions=HTML_EXTENSIONS, default_for_string=False, default=False
        ),
        keep_trailing_newline=True,
    )


def _bounded(operator: str, left, right):
    """``left * right`` or ``left ** right``, refused when the result would be huge."""
    from jinja2.exceptions import SecurityError

    if operator == "**":
        if isinstance(left, int | float) and isinstance(right, int | float):
            if abs(right) * max(abs(left), 2).bit_length() > MAX_PRODUCT:
                raise SecurityError("the result of ** would be too large")
        return left**right
    for count, sequence in ((right, left), (left, right)):
        if isinstance(count, int) and hasattr(sequence, "__len__"):
            if count * len(sequence) > MAX_PRODUCT:
                raise SecurityError("the result of * would be too large")
    return left * right


def render(template: str, store_root: Path | None = None, **context) -> str:
    return run(environment(store_root), template, context)


def paper_environment(store_root: Path | None = None):
    """As :func:`environment` (kept for its callers: every environment autoescapes HTML)."""
    return environment(store_root)


def run(env, name: str, context: dict, hint: str = "check the template") -> str:
    """Render template ``name`` of ``env``; a template that cannot be rendered, or tries
    something the sandbox refuses, is an :class:`InvalidInputError` naming it."""
    from jinja2 import TemplateError
    from jinja2.exceptions import SecurityError

    try:
        return env.get_template(name).render(**context)
    except SecurityError:
        # The error's own text can carry values the template computed: leave it out.
        raise InvalidInputError(
            f"Template {name} tried something templates may not do (reach Python's "
            "internals, change a value or make a huge result) and was stopped before "
            "anything was written; remove it from the store's templates/ folder."
        ) from None
    except template_errors() as exc:
        # Jinja's own messages name the template's line; others may quote a value.
        detail = type(exc).__name__
        if isinstance(exc, TemplateError):
            detail += f": {exc}"
        raise InvalidInputError(
            f"Template {name} could not be rendered ({detail}); {hint}."
        ) from None


def template_errors() -> tuple[type[Exception], ...]:
    """The exceptions a template raises when it cannot be rendered (for ``except``).

    Besides Jinja's own errors (a sandbox refusal is a ``SecurityError``, one of them), a
    store's template can divide by zero or apply an operator to the wrong kinds of value.
    """
    from jinja2 import TemplateError

    return (TemplateError, ArithmeticError, TypeError, ValueError, LookupError, RecursionError)
