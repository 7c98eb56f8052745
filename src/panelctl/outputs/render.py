"""Jinja2 templates: a store's own ``templates/`` first, then the packaged defaults."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def packaged_templates() -> Path:
    """The packaged templates folder, in a wheel install and in a source checkout alike."""
    installed = resources.files("panelctl") / "templates"
    if installed.is_dir():
        return Path(str(installed))
    checkout = Path(__file__).resolve().parents[3] / "templates"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError("panelctl's templates are missing from this installation")


def environment(store_root: Path | None = None):
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    search = [packaged_templates()]
    if store_root is not None and (store_root / "templates").is_dir():
        search.insert(0, store_root / "templates")
    return Environment(
        loader=FileSystemLoader([str(p) for p in search]),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )


def render(template: str, store_root: Path | None = None, **context) -> str:
    return environment(store_root).get_template(template).render(**context)


def paper_environment(store_root: Path | None = None):
    """As :func:`environment`, with HTML autoescaping for ``*.html`` and ``*.html.j2`` templates.

    Meeting papers carry names typed by people; in HTML they must be escaped. Markdown and
    other templates are left as they are (the same loader order and StrictUndefined).
    """
    from jinja2 import select_autoescape

    env = environment(store_root)
    env.autoescape = select_autoescape(
        enabled_extensions=("html", "htm", "html.j2", "htm.j2"),
        default_for_string=False,
        default=False,
    )
    return env


def template_errors() -> tuple[type[Exception], ...]:
    """The exceptions a template raises when it cannot be rendered (for ``except``)."""
    from jinja2 import TemplateError

    return (TemplateError,)
