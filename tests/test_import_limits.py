"""`rfm import` refuses oversized files, zip bombs and sheets that claim to be huge: quickly,
with one sentence and exit 15, before anything is parsed or written."""

from __future__ import annotations

import re
import time
import zipfile
from datetime import date

import pytest

from conftest import git
from panelctl.base.errors import ExitCode

openpyxl = pytest.importorskip("openpyxl")

HEADINGS = ["name", "dob", "assessment_date", "assessor", "assessor_agency", "level"]


def run_import(cli, store, coordinator, *args):
    return cli(
        "rfm", "import", *args, "--date", "23/11/2026", store=store.root, identity=coordinator.path
    )


def workbook(path, rows=()):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADINGS)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def rewrite(path, change):
    """Rewrite the parts of an .xlsx through change(name, data) -> data."""
    with zipfile.ZipFile(path) as old:
        parts = [(info.filename, old.read(info)) for info in old.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new:
        for name, data in parts:
            new.writestr(name, change(name, data))


def refused(cli, store, coordinator, path, *args, within=5.0):
    head = git(store.root, "rev-parse", "HEAD")
    started = time.monotonic()
    result = run_import(cli, store, coordinator, str(path), *args)
    elapsed = time.monotonic() - started
    assert result.exit_code == ExitCode.INVALID_INPUT, result.output
    assert elapsed < within, elapsed
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert git(store.root, "rev-parse", "HEAD") == head
    return result.stderr


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(cli, store, coordinator, tmp_path):
    path = tmp_path / "big.csv"
    line = "Some Child,01/01/2012,01/11/2026,Jo Worker,Police,High\n"
    path.write_text(",".join(HEADINGS) + "\n" + line * (2 * 1024 * 1024 // len(line) + 1))
    message = refused(cli, store, coordinator, path, "--max-size", "1")
    assert "big.csv" in message and "larger than 1 MB" in message and "--max-size" in message
    assert "Some Child" not in message


def test_the_default_limit_is_ten_megabytes(cli, store, coordinator, tmp_path):
    path = tmp_path / "big.yaml"
    with path.open("w") as handle:
        handle.write("# padding\n" * (11 * 1024 * 1024 // 10))
    assert "larger than 10 MB" in refused(cli, store, coordinator, path)


@pytest.mark.parametrize(
    "content", [b"name,dob\nA Child,01/01/2012\n", b"\x00\xff garbage \x13" * 100, b""]
)
def test_a_file_renamed_xlsx_is_not_a_workbook(cli, store, coordinator, tmp_path, content):
    path = tmp_path / "export.xlsx"
    path.write_bytes(content)
    message = refused(cli, store, coordinator, path)
    assert "export.xlsx is not an Excel workbook" in message and "A Child" not in message


def test_a_zip_that_is_not_a_workbook_is_refused(cli, store, coordinator, tmp_path):
    path = tmp_path / "export.xlsx"
    with zipfile.ZipFile(path, "w") as book:
        book.writestr("notes.txt", "hello")
    assert "not a readable Excel workbook" in refused(cli, store, coordinator, path)


def test_a_zip_bomb_is_refused_in_seconds(cli, store, coordinator, tmp_path):
    path = workbook(tmp_path / "bomb.xlsx")
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as book:
        with book.open("xl/media/image1.bin", "w", force_zip64=True) as part:
            zeros = bytes(1024 * 1024)
            for _ in range(200):  # 200 MB unpacked
                part.write(zeros)
    assert path.stat().st_size < 1024 * 1024  # small on disk
    message = refused(cli, store, coordinator, path)
    assert "unpacks to more than 100 MB" in message and "zip bomb" in message


def test_a_sheet_declaring_a_huge_extent_is_read_by_what_it_holds(
    cli, store, coordinator, tmp_path
):
    path = workbook(
        tmp_path / "declared.xlsx",
        [["Morgan Tealby", date(2012, 1, 30), date(2026, 11, 1), "Jo Worker", "Police", "High"]],
    )

    def declare_everything(name, data):
        if name.startswith("xl/worksheets/"):
            data = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', data)
            assert b"XFD1048576" in data
        return data

    rewrite(path, declare_everything)
    assert path.stat().st_size < 10_000
    started = time.monotonic()
    result = run_import(cli, store, coordinator, str(path), "--dry-run")
    assert time.monotonic() - started < 5
    assert result.exit_code == 0, result.output
    assert "1 create case" in result.stderr


def test_a_sheet_whose_rows_run_past_the_limit_is_refused(cli, store, coordinator, tmp_path):
    path = workbook(tmp_path / "long.xlsx")

    def far_row(name, data):
        if name.startswith("xl/worksheets/"):
            data = data.replace(
                b"</sheetData>",
                b'<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>x</t></is></c></row>'
                b"</sheetData>",
            )
        return data

    rewrite(path, far_row)
    assert "more than 50,000 rows" in refused(cli, store, coordinator, path)


def test_a_sheet_wider_than_the_limit_is_refused(cli, store, coordinator, tmp_path):
    path = workbook(tmp_path / "wide.xlsx", [["x"] * 6 + [None] * 300 + ["far"]])
    message = refused(cli, store, coordinator, path)
    assert "row 2 has more than 200 columns" in message


def test_a_csv_field_over_128_kb_is_a_clear_error(cli, store, coordinator, tmp_path):
    path = tmp_path / "long-field.csv"
    path.write_text(
        ",".join(HEADINGS)
        + "\n"
        + f'A Child,01/01/2012,01/11/2026,Jo Worker,Police,"{"x" * 200_000}"\n'
    )
    message = refused(cli, store, coordinator, path)
    assert "long-field.csv line 2" in message and "128 KB" in message and "A Child" not in message
