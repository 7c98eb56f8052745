"""panelctl as installed by a plain `pip install .`, and the direction of imports."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import REPO

SRC = REPO / "src" / "panelctl"

#: third-party module -> the only panelctl modules allowed to import it
OWNERS = {
    "cryptography": {"crypto"},
    "yaml": {"yamlio"},
    "ruamel": {"yamlio"},
    "typer": {"cli"},
    "rich": {"cli"},
    "click": set(),
    "git": set(),  # git is called through its command line, in gitio
    "msgspec": {"index"},
    "jinja2": {"render"},
    "openpyxl": {"importer"},
}


def test_imports_point_one_way():
    offences = []
    for path in SRC.rglob("*.py"):
        module = path.relative_to(SRC).with_suffix("").parts
        owner = module[0]
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif (
                isinstance(node, ast.ImportFrom)
                and node.level
                and node.module
                and node.module.startswith("cli")
            ):
                offences.append(f"{path.name} imports the CLI")
            for name in names:
                top = name.split(".")[0]
                if top in OWNERS and owner not in OWNERS[top]:
                    offences.append(f"{'/'.join(module)} imports {top}")
    assert offences == []


def test_a_plain_wheel_install_finds_its_templates_and_profiles(tmp_path):
    """Build the wheel, install it (not editable) into a folder, and create a store with it."""
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(wheels),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("panelctl-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "panelctl/templates/store/README.md.j2" in names
    assert "panelctl/profiles/mace.yaml" in names
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    run = tmp_path / "elsewhere"
    run.mkdir()
    script = (
        "import panelctl, sys\n"
        f"assert panelctl.__file__.startswith({str(target)!r}), panelctl.__file__\n"
        "sys.argv = ['panelctl'] + sys.argv[1:]\n"
        "from panelctl.cli.main import run; run()\n"
    )

    def panelctl(*args):
        return subprocess.run(
            [sys.executable, "-c", script, *args], cwd=run, env=env, capture_output=True, text=True
        )

    made = panelctl(
        "identity",
        "new",
        "--name",
        "Wheel Tester",
        "--no-passphrase",
        "--out",
        str(tmp_path / "id.json"),
    )
    assert made.returncode == 0, made.stderr
    created = panelctl(
        "--identity",
        str(tmp_path / "id.json"),
        "init",
        str(tmp_path / "store"),
        "--profile",
        "macse",
        "--name",
        "Wheel MACSE",
        "--agency",
        "Council",
    )
    assert created.returncode == 0, created.stderr
    readme = Path(tmp_path / "store" / "README.md").read_text()
    assert "Wheel MACSE" in readme and "CYSUR" in readme
