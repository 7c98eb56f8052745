"""panelctl as installed by a plain `pip install .`, and the direction of imports."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import REPO

SRC = REPO / "src" / "panelctl"

#: third-party module -> the only panelctl modules (or packages) allowed to import it
OWNERS = {
    "cryptography": {"crypto/primitives"},
    "yaml": {"base/yamlio"},
    "ruamel": {"base/yamlio"},
    "typer": {"cli"},
    "rich": {"cli"},
    "click": set(),
    "git": set(),  # git is called through its command line, in store/gitio
    "msgspec": {"store/index", "model"},
    "jinja2": {"outputs/render"},
    "openpyxl": {"casework/importer"},
    "xhtml2pdf": {"outputs/pdf"},
    "pypdf": {"outputs/pdf"},
    "reportlab": set(),
}


def _owns(owners: set[str], module: tuple[str, ...]) -> bool:
    path = "/".join(module)
    return any(path == o or path.startswith(o + "/") for o in owners)


def test_each_third_party_library_has_one_home():
    offences = []
    for path in SRC.rglob("*.py"):
        module = path.relative_to(SRC).with_suffix("").parts
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top in OWNERS and not _owns(OWNERS[top], module):
                    offences.append(f"{'/'.join(module)} imports {top}")
    assert offences == []


def test_layers_point_one_way():
    """The import-linter contracts in pyproject.toml: cli -> features -> store -> crypto ->
    rules -> model -> base, with no way back up."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint)],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


def test_library_code_imports_at_the_top():
    """Outside cli/ (where commands import lazily for start-up speed) every import of panelctl
    is at module level: a function-local import would be hiding a cycle."""
    offences = []
    for path in SRC.rglob("*.py"):
        module = path.relative_to(SRC).with_suffix("").parts
        if module[0] == "cli":
            continue
        tree = ast.parse(path.read_text())
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                if isinstance(node, ast.ImportFrom) and (
                    node.level or (node.module or "").startswith("panelctl")
                ):
                    offences.append(f"{'/'.join(module)}:{node.lineno}")
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
    assert "panelctl/templates/export/subject.html.j2" in names  # subject access
    assert "panelctl/model/profiles/mace.yaml" in names
    assert "panelctl/outputs/fonts/DejaVuSans.ttf" in names  # for the PDF papers
    assert "panelctl/outputs/fonts/LICENSE-DejaVu.txt" in names
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
    # A password-protected PDF paper, from the installed templates and fonts.
    made_pdf = subprocess.run(
        [sys.executable, "-c", PDF_FROM_THE_WHEEL, str(target)],
        cwd=run, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert made_pdf.returncode == 0, made_pdf.stderr
    assert made_pdf.stdout.split() == ["DejaVuSans", "Tŷ", "Afon"]


PDF_FROM_THE_WHEEL = """
import io, sys
from pypdf import PdfReader
from panelctl.outputs import pdf
assert str(pdf.fonts_folder()).startswith(sys.argv[1]), pdf.fonts_folder()
html = ("<html><head><style>" + pdf.font_faces() + " * { font-family: 'DejaVu Sans'; }"
        "</style></head><body><p>Tŷ Afon</p></body></html>")
data = pdf.protected_pdf(html, "a long enough password")
reader = PdfReader(io.BytesIO(data))
assert reader.is_encrypted and reader.decrypt("a long enough password")
fonts = {str(f["/BaseFont"]) for f in reader.pages[0]["/Resources"]["/Font"].values()}
text = " ".join(reader.pages[0].extract_text().split())
print("DejaVuSans" if "/AAAAAA+DejaVuSans" in fonts else fonts, text)
"""


def test_the_library_names_fields_not_options():
    """Messages raised outside cli/ never name a command-line option: the library names the
    field (``error.field``) and the CLI points at the option that gave it."""
    offences = []
    for path in SRC.rglob("*.py"):
        module = path.relative_to(SRC).with_suffix("").parts
        if module[0] == "cli":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and node.exc is not None:
                for part in ast.walk(node.exc):
                    if isinstance(part, ast.Constant) and isinstance(part.value, str):
                        if re.search(r"(^|[\s(])--[a-z]", part.value):
                            offences.append(f"{'/'.join(module)}:{node.lineno}")
    assert offences == []


def test_no_module_imports_itself_round_a_cycle():
    """The layers forbid cycles between packages; this forbids them between any two modules
    (grimp builds the graph import-linter checks)."""
    import grimp

    graph = grimp.build_graph("panelctl")
    modules = sorted(graph.modules)
    state: dict[str, int] = {}  # 1 on the path, 2 done
    cycles = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph.find_modules_directly_imported_by(module)):
            if state.get(target) == 1:
                cycles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in modules:
        if module not in state:
            visit(module, [module])
    assert cycles == []
