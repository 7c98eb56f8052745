"""panelctl.cli.fastparams: option values exactly as typer's own (pydantic) coercion gives
them, for every option of every command, and a real command that never imports pydantic."""

from __future__ import annotations

import subprocess
import sys
from enum import Enum

import pytest
import typer
from typer._click import Context
from typer._click.exceptions import BadParameter
from typer._coercion import build_runtime_param
from typer.core import _TyperParameter

from panelctl.cli.fastparams import PlainRuntimeParam, plain_runtime_param
from panelctl.cli.main import LAZY, app


def every_parameter():
    """(command path, click command, parameter) for every typer parameter of every command."""
    root = typer.main.get_command(app)
    found = []

    def walk(command, path):
        for param in command.params:
            if isinstance(param, _TyperParameter):
                found.append((" ".join(path) or "panelctl", command, param))
        if hasattr(command, "commands"):
            ctx = Context(command)
            for name in [*command.list_commands(ctx)]:
                walk(command.get_command(ctx, name), [*path, name])

    walk(root, [])
    return found


PARAMETERS = every_parameter()


def samples(param, tmp_path) -> list:
    a_file = tmp_path / "a file.csv"
    a_file.write_text("x\n")
    plain = [
        "",
        "x",
        "Sam Coordinator",
        "json",
        "JSON",
        " table",
        "csv",
        "0",
        "7",
        "007",
        "-1",
        " 5",
        "1_000",
        "1e3",
        "9" * 30,
        "\u0663",  # an Arabic-Indic digit: isdigit() but not ASCII
        str(a_file),
        str(tmp_path),
        str(tmp_path / "missing.csv"),
        "-",
        0,
        3,
        True,
        False,
        a_file,
    ]
    annotation = param.type_descriptor.annotation
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        plain += list(annotation)
    if param.multiple or param.nargs == -1:
        return [(), ("x",), ("x", "y"), ["a", "b"], ("x", 3), (str(a_file), "")]
    return plain


def outcome(runtime, value, param, ctx):
    try:
        result = runtime._coerce_value(value, param=param, ctx=ctx)
    except BadParameter as error:
        return ("error", type(error), error.format_message())
    except Exception as error:  # noqa: BLE001 - compared as it is
        return ("error", type(error), str(error))
    return ("value", type(result), result)


def test_every_command_has_parameters_it_coerces_plainly():
    plain = [p for _path, _c, p in PARAMETERS if plain_runtime_param(p.type_descriptor)]
    assert len(plain) > 100  # --store, --format, --as-of... in every command
    assert {name for name in LAZY} <= {path.split()[0] for path, _c, _p in PARAMETERS}


@pytest.mark.parametrize(
    "path, command, param", PARAMETERS, ids=[f"{p} {x.name}" for p, _c, x in PARAMETERS]
)
def test_values_and_errors_are_typers_own(path, command, param, tmp_path):
    plain = plain_runtime_param(param.type_descriptor)
    if plain is None:
        pytest.skip("typer's own coercion (pydantic) handles this one")
    assert isinstance(plain, PlainRuntimeParam)
    typers = build_runtime_param(param.type_descriptor)
    ctx = Context(command, info_name=path.split()[-1])
    for value in samples(param, tmp_path):
        assert outcome(plain, value, param, ctx) == outcome(typers, value, param, ctx), (
            f"{path} {param.name} given {value!r}"
        )


def test_a_cron_command_does_not_import_pydantic(sample):
    """typer 0.29 coerces through pydantic (about 130 ms to import); cron runs need none of it.
    Bad input still gets typer's own message, which does import it."""
    base = [
        sys.executable, "-X", "importtime", "-m", "panelctl",
        "--store", str(sample.store), "--identity", str(sample.identity),
    ]  # fmt: skip
    for args in (
        ["actions", "overdue", "--as-of", "03/01/2025", "--format", "json"],
        ["review", "due", "--within", "14", "--format", "csv"],
        ["case", "list", "--status", "open", "--risk", "High"],
    ):
        done = subprocess.run([*base, *args], capture_output=True, text=True)
        assert done.returncode in (0, 1), done.stderr[-2000:]
        imported = [line for line in done.stderr.splitlines() if line.startswith("import time:")]
        assert imported, "no import timings: -X importtime did not run"
        assert not [line for line in imported if "pydantic" in line], args

    done = subprocess.run(
        [*base, "review", "due", "--within", "-1"], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "Invalid value for '--within'" in done.stderr
    assert any("pydantic" in line for line in done.stderr.splitlines())
