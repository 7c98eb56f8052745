"""Option values that need no pydantic: typer 0.29 coerces every parameter with a pydantic
``TypeAdapter``, and importing pydantic costs about 130 ms, more than the rest of a cron
command's start-up.

:func:`install` gives each parameter a coercion that handles the plain cases itself (a
string for a ``str``, a bool for a ``bool``, a known choice for an enum, digits within
the bounds for an ``int``, a path for a
``Path``, lists of these) with the same helpers typer's adapters call, so the value is
exactly the one typer would give. Anything else (a value typer rejects, a bool from an
environment variable, a custom parser, bounds) goes to typer's own pydantic coercion, so
every error message stays typer's. Help is untouched: it never coerces.

This reaches into typer's private ``_TyperParameter.get_runtime_param`` and
``typer._coercion.RuntimeParam`` (typer is pinned below 0.30 in pyproject.toml);
tests/test_fastparams.py checks the results against typer's own for every option of every
command, and that a real command runs without importing pydantic.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any

from typer._click.exceptions import BadParameter
from typer._coercion import RuntimeParam, TypeDescriptor, build_runtime_param
from typer._param_types import coerce_cli_choice, coerce_cli_path, lenient_issubclass
from typer._typing import get_args, get_origin
from typer.core import _TyperParameter

#: "let typer's own coercion decide"
_TYPER = object()
_MAX_DIGITS = 18  # any such string of digits is an int for int() and pydantic alike


class PlainRuntimeParam(RuntimeParam):
    """The plain cases here; the rest through typer's runtime parameter, built on demand.

    (A plain subclass of typer's frozen dataclass: making it a dataclass too costs about
    a millisecond of every start-up, --help included.)"""

    def __init__(self, descriptor: TypeDescriptor):
        set_attribute = object.__setattr__  # (the dataclass is frozen)
        set_attribute(self, "parameter_info", descriptor.parameter_info)
        set_attribute(self, "annotation", descriptor.annotation)
        set_attribute(self, "descriptor", descriptor)
        set_attribute(self, "_typer", None)

    def _coerce_value(self, value: Any, param, ctx) -> Any:
        if get_origin(self.annotation) is list:
            leaf = get_args(self.annotation)[0]
            if isinstance(value, list | tuple):
                items = [_plain(leaf, self.parameter_info, item, param, ctx) for item in value]
                if not any(item is _TYPER for item in items):
                    return items
        else:
            result = _plain(self.annotation, self.parameter_info, value, param, ctx)
            if result is not _TYPER:
                return result
        return self.typer()._coerce_value(value, param=param, ctx=ctx)

    def typer(self) -> RuntimeParam:
        if self._typer is None:
            object.__setattr__(self, "_typer", build_runtime_param(self.descriptor))
        return self._typer


def _plain(annotation: Any, info, value: Any, param, ctx) -> Any:
    """The value typer's adapter would give for a plain case, or ``_TYPER``."""
    if annotation is str:
        return value if type(value) is str else _TYPER
    if annotation is bool:
        return value if type(value) is bool else _TYPER
    if annotation is int:
        if type(value) is str and value.isascii() and value.isdigit():
            if len(value) > _MAX_DIGITS:
                return _TYPER
            value = int(value)
        if type(value) is not int:
            return _TYPER
        # within the bounds, typer's check (or its clamp) leaves the number as it is
        if (info.min is not None and value < info.min) or (
            info.max is not None and value > info.max
        ):
            return _TYPER
        return value
    if lenient_issubclass(annotation, Enum):
        try:
            return coerce_cli_choice(
                value, choices=list(annotation), case_sensitive=info.case_sensitive, ctx=ctx
            )
        except ValueError:
            return _TYPER  # typer words the error
    if lenient_issubclass(annotation, Path):
        path_type = info.path_type or annotation
        if not lenient_issubclass(path_type, Path) or not (
            isinstance(value, path_type) or (type(value) is str and value)
        ):
            return _TYPER
        try:
            return coerce_cli_path(
                value if isinstance(value, path_type) else path_type(value),
                info,
                path_type=path_type,
                param=param,
                ctx=ctx,
            )
        except BadParameter:
            return _TYPER  # typer words the error (it names the value as given)
    return _TYPER


def plain_runtime_param(descriptor: TypeDescriptor) -> RuntimeParam | None:
    """A :class:`PlainRuntimeParam` for a parameter whose plain cases it knows, else None."""
    info, annotation = descriptor.parameter_info, descriptor.annotation
    if descriptor.file_annotation is not None or info.parser is not None:
        return None
    if getattr(info, "click_type", None) is not None:
        return None
    leaf = annotation
    if get_origin(annotation) is list:
        (leaf,) = get_args(annotation)
    elif get_origin(annotation) is not None:
        return None
    if not (
        leaf in (str, int, bool) or lenient_issubclass(leaf, Enum) or lenient_issubclass(leaf, Path)
    ):
        return None
    return PlainRuntimeParam(descriptor)


def install() -> None:
    """Give every typer parameter the plain coercion where it applies (once per process)."""
    if getattr(_TyperParameter.get_runtime_param, "_panelctl", False):
        return
    original = _TyperParameter.get_runtime_param

    def get_runtime_param(self) -> RuntimeParam:
        if self._runtime_param is None:
            plain = plain_runtime_param(self.type_descriptor)
            if plain is None:
                return original(self)  # (which keeps what it builds)
            self._runtime_param = plain
        return self._runtime_param

    get_runtime_param._panelctl = True
    _TyperParameter.get_runtime_param = get_runtime_param
