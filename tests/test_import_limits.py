"""`rfm import` reads CSV as Excel encodes it, and refuses oversized files, zip bombs and sheets that claim
to be huge: quickly, with one sentence and exit 15, before anything is parsed or written."""

from __future__ import annotations

import re
import time
import zipfile
from datetime import date

import pytest

from conftest import git
from panelctl.base import yamlio
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
    assert "long-field.csv row 2" in message and "128 KB" in message and "A Child" not in message


# --- CSV encodings as Excel writes them -------------------------------------------------

CSV_TEXT = (
    "name,dob,assessment_date,assessor,assessor_agency,level\r\n"
    "Zoë Ashdown,02/07/2011,01/11/2026,Jo Worker,Police,High\r\n"
)


@pytest.mark.parametrize(
    "encoded",
    [
        CSV_TEXT.encode("utf-8"),
        b"\xef\xbb\xbf" + CSV_TEXT.encode("utf-8"),  # Excel's "CSV UTF-8"
        CSV_TEXT.encode("utf-16"),  # Excel's "Unicode text" (with its mark), little-endian
        CSV_TEXT.encode("utf-16-be").join([b"\xfe\xff", b""]),
        CSV_TEXT.encode("cp1252"),  # Excel's "CSV (Comma delimited)" on Windows
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-le", "utf-16-be", "cp1252"],
)
def test_csv_encodings_excel_writes_are_read(cli, store, coordinator, tmp_path, encoded):
    path = tmp_path / "rows.csv"
    path.write_bytes(encoded)
    result = run_import(cli, store, coordinator, str(path))
    assert result.exit_code == 0, result.output
    assert store.read("C-0001")["child"]["name"] == "Zoë Ashdown"
    assert ("read as Windows-1252" in result.stderr) == (encoded == CSV_TEXT.encode("cp1252"))


def test_the_encoding_option_overrides_the_guess(cli, store, coordinator, tmp_path):
    path = tmp_path / "rows.csv"
    path.write_bytes(CSV_TEXT.encode("latin-1"))
    result = run_import(cli, store, coordinator, str(path), "--encoding", "latin-1")
    assert result.exit_code == 0, result.output
    assert "Windows-1252" not in result.stderr
    assert store.read("C-0001")["child"]["name"] == "Zoë Ashdown"


@pytest.mark.parametrize(
    ("encoded", "args", "says"),
    [
        (CSV_TEXT.encode("utf-16-le"), (), "save it from Excel as 'CSV UTF-8'"),
        (CSV_TEXT.encode("cp1252"), ("--encoding", "utf-8"), "is not utf-8 text"),
        (CSV_TEXT.encode("utf-8"), ("--encoding", "klingon"), "not an encoding"),
    ],
    ids=["utf-16-without-mark", "wrong-encoding", "unknown-encoding"],
)
def test_an_undecodable_csv_is_refused_with_the_fix(
    cli, store, coordinator, tmp_path, encoded, args, says
):
    path = tmp_path / "rows.csv"
    path.write_bytes(encoded)
    message = refused(cli, store, coordinator, path, *args)
    assert says in message and "--encoding" in message and "Zoë" not in message


# --- a council's Excel return as it comes -------------------------------------------------

MESSY_MAPPING = {
    "columns": {
        "name": "Young person",
        "dob": "D.O.B",
        "assessment_date": "Date completed",
        "assessor": "Completed by",
        "assessor_agency": "Agency",
        "level": "Overall risk",
    },
    "values": {"level": {"H": "High", "M": "Medium", "L": "Low"}},
}


def messy_return(path):
    """Merged title and subtitle, the header on row 3, an empty row, a text date, a footer."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Return"
    sheet["A1"] = "Stoke-on-Trent MACE return: risk matrices"
    sheet.merge_cells("A1:G1")
    sheet["A2"] = "Quarter 3, prepared by the MACE coordinator"
    sheet.merge_cells("A2:G2")
    sheet.append(
        ["Young person", "D.O.B", "Date completed", "Completed by", "Agency", "Overall risk",
         "No. of indicators"]
    )  # fmt: skip
    sheet.append(
        ["Morgan Tealby", date(2012, 1, 30), date(2026, 11, 1), "Jo Worker", "Police", "H", 4]
    )
    sheet.append([None] * 7)  # row 5: empty
    sheet.append(
        ["Casey Oakridge", "31/02/2010", date(2026, 11, 2), "Jo Worker", "Police", "M", "six"]
    )
    sheet.append(["Riley Ashdown", date(2011, 7, 2), "not yet", "Jo Worker", "Police", "L", 2])
    sheet.append(["Total", None, None, None, None, None, 12])
    book.save(path)
    return path


@pytest.mark.parametrize("header_row", [3, None], ids=["header_row", "found"])
def test_a_messy_council_return_names_its_bad_rows_by_their_real_numbers(
    cli, store, coordinator, tmp_path, header_row
):
    path = messy_return(tmp_path / "return.xlsx")
    mapping = dict(MESSY_MAPPING, **({"header_row": header_row} if header_row else {}))
    (tmp_path / "map.yaml").write_bytes(yamlio.dump(mapping))
    message = refused(cli, store, coordinator, path, "--mapping", str(tmp_path / "map.yaml"))
    assert "2 bad rows" in message
    assert "row 6, column D.O.B (field dob)" in message
    assert "row 7, column Date completed (field assessment_date)" in message
    assert "row 8" not in message and "row 4" not in message
    assert not any(n in message for n in ("Casey", "Riley", "Morgan"))


def test_the_good_rows_of_a_messy_return_import(cli, store, coordinator, tmp_path):
    book_path = messy_return(tmp_path / "return.xlsx")
    book = openpyxl.load_workbook(book_path)
    book.active.delete_rows(6, 2)  # the two bad rows
    book.save(book_path)
    (tmp_path / "map.yaml").write_bytes(yamlio.dump(MESSY_MAPPING))
    result = run_import(
        cli, store, coordinator, str(book_path), "--mapping", str(tmp_path / "map.yaml")
    )
    assert result.exit_code == 0, result.output
    assert store.read("C-0001")["risk"] == "High"
    assert "1 create case" in result.stderr


def test_a_missing_heading_names_the_header_row_read(cli, store, coordinator, tmp_path):
    path = messy_return(tmp_path / "return.xlsx")
    mapping = dict(MESSY_MAPPING, header_row=2)
    (tmp_path / "map.yaml").write_bytes(yamlio.dump(mapping))
    message = refused(cli, store, coordinator, path, "--mapping", str(tmp_path / "map.yaml"))
    assert "columns the file does not have: Young person, D.O.B" in message
    assert "the header was read from row 2" in message


def test_a_file_with_no_rows_to_import_exits_non_zero(cli, store, coordinator, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("name,dob,assessment_date,assessor,assessor_agency,level\n\n\nTotal,,,,,\n")
    assert "has no rows to import" in refused(cli, store, coordinator, path)


def test_csv_row_numbers_count_blank_lines(cli, store, coordinator, tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text(
        "name,dob,assessment_date,assessor,assessor_agency,level\n"
        "\n"
        "Riley Ashdown,02/07/2011,01/11/2026,Jo Worker,Police,High\n"
        "\n"
        "Morgan Tealby,31/02/2012,01/11/2026,Jo Worker,Police,High\n"
    )
    message = refused(cli, store, coordinator, path)
    assert "row 5, column dob" in message


def test_a_count_of_indicators_is_checked_against_the_factors(cli, store, coordinator, tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text(
        "Young person,DOB,Date completed,Completed by,Agency,Indicators,No. of indicators\n"
        "Riley Ashdown,02/07/2011,01/11/2026,Jo Worker,Police,,0\n"
        "Morgan Tealby,30/01/2012,01/11/2026,Jo Worker,Police,,six\n"
        "Casey Oakridge,08/09/2010,01/11/2026,Jo Worker,Police,,3\n"
    )
    (tmp_path / "map.yaml").write_text(
        "columns:\n  name: Young person\n  dob: DOB\n  assessment_date: Date completed\n"
        "  assessor: Completed by\n  assessor_agency: Agency\n  factors: Indicators\n"
        "  factor_count: No. of indicators\n"
    )
    message = refused(cli, store, coordinator, path, "--mapping", str(tmp_path / "map.yaml"))
    assert (
        "row 3, column No. of indicators (field factor_count)" in message
        and "write it in digits" in message
    )
    assert (
        "row 4, column No. of indicators (field factor_count): says 3 but the row lists 0"
        in message
    )
    assert "row 2, column No. of indicators" not in message  # 0 listed, 0 said


def test_the_summary_counts_skipped_rows_and_lists_columns_not_imported(
    cli, store, coordinator, tmp_path
):
    path = tmp_path / "rows.csv"
    path.write_text(
        "name,dob,assessment_date,assessor,assessor_agency,level,Notes,Social worker\n"
        "Riley Ashdown,02/07/2011,01/11/2026,Jo Worker,Police,High,,\n"
        ",,,,,,,\n"
        ",,,,,,see file,\n"
        "Total,,,,,,,\n"
    )
    head = git(store.root, "rev-parse", "HEAD")
    result = run_import(cli, store, coordinator, str(path), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Columns not imported: Notes, Social worker." in result.stderr
    assert "1 create case; 2 rows (3, 5) skipped (blank or a total)" in result.stderr
    assert "1 row (4) skipped (nothing in an imported column)" in result.stderr
    assert result.stderr.count("Columns not imported") == 1
    assert git(store.root, "rev-parse", "HEAD") == head
    result = run_import(cli, store, coordinator, str(path))
    assert result.exit_code == 0, result.output
    assert "Imported: 1 create case; 2 rows (3, 5) skipped" in result.stderr
