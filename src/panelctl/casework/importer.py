"""Bulk import of risk matrices from CSV, Excel (.xlsx), YAML or JSON.

Every row is one assessment of one child. A row names its case by ``case_id``, or by the
child's name and date of birth, or else it nominates a new case under the profile's entry
rules. A row joins a case only when the child is exactly the same: the same date of birth
and the same name as `panelctl.base.names.name_key` compares them (any script; case,
accents on Latin letters, punctuation and spacing aside; digits count). A row whose child
has the same date of birth as a case, or as a child earlier in the file, and only a
*similar* name (`names.similar`) is an error naming the row and that case (or row): it
is never merged, and never made a second case, silently. The row then says which: the
case's id in ``case_id``, or ``case_id: new`` for a different child (twins, say).

The default column layout (a mapping file can rename any column, see below):

| column | meaning |
|---|---|
| case_id | an existing case (optional), or `new` for a new child whose name is only similar to a known one |
| name | the child's name (needed unless case_id is given) |
| dob | date of birth: 14/03/2011 or 2011-03-14 |
| gender, ethnicity, school, area | the child's details (new cases) |
| looked_after | yes or no |
| referring_agency, lead_professional | (new cases) |
| exploitation_types | separated by semicolons |
| assessment_date | when the matrix was completed (required) |
| assessor, assessor_agency | who completed it (required) |
| tool | rfm, seraf, ... (default: the profile's) |
| factors | factor ids separated by semicolons (see `panelctl rfm factors`) |
| factor_count | how many factors the sheet says it lists (checked against factors) |
| level | the agreed level (needed when there are no factors) |
| override_reason | why the agreed level differs from the derived one |

A mapping file (YAML) for an area's own layout::

    sheet: RFM export          # .xlsx only: which worksheet (default: the first)
    header_row: 3              # the headings' row (default: found in the first 20 rows)
    columns:                   # panelctl column: the heading in your file
      name: Young person
      dob: DOB
      assessment_date: Date completed
      level: Overall risk
    values:                    # your values: panelctl's
      level: {H: High, M: Medium, L: Low}

All or nothing: every row is checked first, and one bad row anywhere means nothing is
written; every bad row is reported by row number and column. Importing the same file
again changes nothing: an assessment already recorded (same case, date, tool, assessor
and level) is left as it is. The whole import is one commit.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from panelctl.base import yamlio
from panelctl.base.dates import parse_date
from panelctl.base.dates import today as uk_today
from panelctl.base.errors import InvalidInputError, PanelctlError
from panelctl.base.names import name_key, similar
from panelctl.casework import cases
from panelctl.casework.assessments import stage
from panelctl.model import entry, records, risk
from panelctl.rules import ages, plausible
from panelctl.store.core import Store

COLUMNS = (
    "case_id",
    "name",
    "dob",
    "gender",
    "ethnicity",
    "school",
    "area",
    "looked_after",
    "referring_agency",
    "lead_professional",
    "exploitation_types",
    "assessment_date",
    "assessor",
    "assessor_agency",
    "tool",
    "factors",
    "factor_count",
    "level",
    "override_reason",
)
MAX_ERRORS_SHOWN = 200
# case_id's value for "a new child", when a row's child is only similar to a known one
NEW_CASE = "new"
MAX_FILE_BYTES = 10 * 1024 * 1024  # an input file, unless the caller allows more
MAX_XLSX_UNPACKED = 100 * 1024 * 1024  # all the parts of an .xlsx, unpacked
MAX_SHEET_ROWS = 50_000
MAX_SHEET_COLUMNS = 200
MAX_CSV_FIELD = 128 * 1024  # Python's csv default field_size_limit


@dataclass
class RowError:
    row: int
    column: str | None  # panelctl's field
    message: str
    heading: str | None = None  # the file's own heading for it, when a mapping renames it

    def __str__(self) -> str:
        where = f"row {self.row}"
        if self.column and self.heading and self.heading != self.column:
            where += f", column {self.heading} (field {self.column})"
        elif self.column:
            where += f", column {self.column}"
        return f"{where}: {self.message}"


class ImportRefusedError(InvalidInputError):
    """One or more bad rows: nothing was written."""

    def __init__(self, source: str, errors: list[RowError]):
        shown = "\n".join(f"  {e}" for e in errors[:MAX_ERRORS_SHOWN])
        more = (
            f"\n  ... and {len(errors) - MAX_ERRORS_SHOWN} more"
            if len(errors) > MAX_ERRORS_SHOWN
            else ""
        )
        super().__init__(
            f"{source}: {len(errors)} bad row{'s' if len(errors) != 1 else ''}; nothing was imported. "
            f"Fix them and import again:\n{shown}{more}"
        )
        self.errors = errors


@dataclass
class Step:
    row: int
    action: str  # "create case", "add assessment", "unchanged"
    case_id: str  # an id, or "new case N" before the import runs
    level: str
    assessment: dict = field(repr=False, default_factory=dict)
    nomination: dict | None = field(repr=False, default=None)


@dataclass
class Reading:
    """What reading a file left out: blank and footer rows ("Total..."), rows with values
    only in columns that are not imported, and the headings of those columns."""

    skipped: list[int] = field(default_factory=list)
    unimported: list[int] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    steps: list[Step]
    committed: bool
    notes: list[str] = field(default_factory=list)
    reading: Reading = field(default_factory=Reading)

    def counts(self) -> dict[str, int]:
        counted: dict[str, int] = {}
        for step in self.steps:
            counted[step.action] = counted.get(step.action, 0) + 1
        return counted


# --- reading -------------------------------------------------------------------------


def read_mapping(path: Path | None) -> dict:
    if path is None:
        return {"columns": {}, "values": {}}
    data = yamlio.read_hand_written(path, "mapping file") or {}
    if not isinstance(data, dict) or set(data) - {"columns", "values", "sheet", "header_row"}:
        raise InvalidInputError(
            f"Mapping file {path} may only have columns, values, sheet and header_row."
        )
    header_row = data.get("header_row")
    if header_row is not None and (
        isinstance(header_row, bool) or not isinstance(header_row, int) or header_row < 1
    ):
        raise InvalidInputError(
            f"Mapping file {path}: header_row must be a row number (1 for the first row)."
        )
    columns = data.get("columns") or {}
    unknown = set(columns) - set(COLUMNS)
    if unknown:
        raise InvalidInputError(
            f"Mapping file {path} maps unknown columns: {', '.join(sorted(map(str, unknown)))}; "
            f"panelctl's columns are: {', '.join(COLUMNS)}."
        )
    values = data.get("values") or {}
    if not isinstance(values, dict) or not all(isinstance(t, dict) for t in values.values()):
        raise InvalidInputError(
            f"Mapping file {path}: values must map a column to a table of {{their value: ours}}."
        )
    return {
        "columns": {k: str(v) for k, v in columns.items()},
        # keys as text: a cell is compared as text, and `1: High` must match the cell 1
        "values": {k: {str(theirs): ours for theirs, ours in t.items()} for k, t in values.items()},
        "sheet": data.get("sheet"),
        "header_row": header_row,
    }


def read_rows(
    path: Path,
    mapping: dict,
    max_bytes: int = MAX_FILE_BYTES,
    encoding: str | None = None,
    notes: list[str] | None = None,
    reading: Reading | None = None,
) -> list[tuple[int, dict]]:
    """(row number as a person sees it, {panelctl column: raw value}) for each data row.
    A note for the user (how a CSV file was decoded) is added to notes; the rows and
    columns left out are recorded in reading."""
    reading = reading if reading is not None else Reading()
    suffix = path.suffix.lower()
    try:
        if not path.is_file():
            raise InvalidInputError(f"{path.name} is not a file.")
        size = path.stat().st_size
        if size > max_bytes:
            raise InvalidInputError(
                f"{path.name} is larger than {_megabytes(max_bytes)}, the most an import "
                "file may be.",
                "max_size",
            )
        if suffix == ".csv":
            table = _read_csv(path, encoding, notes if notes is not None else [])
        elif suffix == ".xlsx":
            table = _read_xlsx(path, mapping.get("sheet"))
        elif suffix in (".yaml", ".yml", ".json"):
            table = _read_yaml(path)
        else:
            raise InvalidInputError(f"{path.name}: import reads .csv, .xlsx, .yaml or .json files.")
    except OSError:
        raise InvalidInputError(f"Cannot read {path}.") from None
    rename = {theirs: ours for ours, theirs in mapping["columns"].items()}
    if isinstance(table, list):  # a spreadsheet: (row number, cells) lines
        header_row, header, rows = _find_header(path, table, mapping, rename, reading)
        where = f" (the header was read from row {header_row})"
    else:
        header, rows = table
        where = ""
    missing = [theirs for theirs in rename if theirs not in header]
    if missing:
        raise InvalidInputError(
            f"{path.name}: the mapping names columns the file does not have: "
            f"{', '.join(missing)}{where}."
        )
    reading.unmapped = [
        heading
        for heading in dict.fromkeys(header)
        if heading and rename.get(heading, heading) not in COLUMNS
    ]
    result = []
    for number, values in rows:
        row = {}
        for heading, value in values.items():
            key = rename.get(heading, heading)
            if key in COLUMNS and value not in (None, ""):
                row[key] = value.strip() if isinstance(value, str) else value
        for column, table_of in mapping["values"].items():
            if column in row and str(row[column]) in table_of:
                row[column] = table_of[str(row[column])]
        if row:
            result.append((number, row))
        elif any(value not in (None, "") for value in values.values()):
            reading.unimported.append(number)
        else:
            reading.skipped.append(number)
    return result


HEADER_SEARCH_ROWS = 20


def _find_header(
    path: Path, lines: list[tuple[int, list]], mapping: dict, rename: dict, reading: Reading
):
    """The header row (the mapping's header_row, else the first of the first rows holding
    every mapped heading, else the one holding most of panelctl's columns), its headings,
    and the data rows below it as (row number, {heading: value}); blank rows and footer
    rows ("Total...") are left out."""
    given = mapping.get("header_row")
    numbered = dict(lines)
    if given is not None:
        if given not in numbered:
            raise InvalidInputError(
                f"{path.name} has nothing in row {given}, the header row the mapping gives."
            )
        chosen = given
    else:
        wanted = set(rename) or set(COLUMNS)
        chosen, best = lines[0][0] if lines else 1, 0
        for number, cells in lines[:HEADER_SEARCH_ROWS]:
            found = len(wanted & {_heading(c) for c in cells})
            if rename and found == len(wanted):
                chosen = number
                break
            if found > best:
                chosen, best = number, found
    header = [_heading(c) for c in numbered.get(chosen, [])]
    rows = []
    for number, cells in lines:
        if number <= chosen:
            continue
        texts = [str(c).strip() for c in cells if c not in (None, "")]
        if not texts or re.match(r"(grand )?totals?\b", texts[0], re.IGNORECASE):
            reading.skipped.append(number)  # a blank or footer row
            continue
        values = {}
        for heading, value in zip(header, cells, strict=False):
            if isinstance(value, datetime):
                value = value.date()
            values[heading] = value
        rows.append((number, values))
    return chosen, header, rows


def _heading(cell: object) -> str:
    return str(cell).strip() if cell is not None else ""


def _megabytes(size: int) -> str:
    megabytes = size / (1024 * 1024)
    return f"{megabytes:.0f} MB" if megabytes == int(megabytes) else f"{megabytes:.1f} MB"


def _decode(path: Path, encoding: str | None, notes: list[str]) -> str:
    """A CSV file's text: in the encoding given, else as Excel writes them: UTF-8 (with or
    without a byte-order mark), UTF-16 with its mark, or Windows-1252 (with a note)."""
    import codecs

    raw = path.read_bytes()
    if encoding:
        try:
            name = codecs.lookup(encoding).name
        except LookupError:
            raise InvalidInputError(
                f"{encoding!r} is not an encoding Python knows.", "encoding"
            ) from None
        if name == "utf-8":
            name = "utf-8-sig"  # a mark at the start is not part of the first heading
        try:
            text = raw.decode(name)
        except UnicodeError:
            raise InvalidInputError(f"{path.name} is not {encoding} text.", "encoding") from None
    elif raw.startswith(codecs.BOM_UTF8):
        text = raw.decode("utf-8-sig", errors="replace")
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = raw.decode("utf-16")
        except UnicodeError:
            raise InvalidInputError(f"{path.name} is not UTF-16 text.", "encoding") from None
    else:
        fix = (
            f"{path.name} is not text panelctl can recognise; save it from Excel as "
            "'CSV UTF-8', or give its encoding."
        )
        if b"\x00" in raw:  # UTF-16 without its mark, or not text at all
            raise InvalidInputError(fix, "encoding")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            try:
                text = raw.decode("cp1252")
            except UnicodeDecodeError:
                raise InvalidInputError(fix, "encoding") from None
            notes.append(
                f"{path.name} is not UTF-8; it was read as Windows-1252 (as Excel saves "
                "'CSV (Comma delimited)'). Give its encoding if that is wrong."
            )
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _read_csv(path: Path, encoding: str | None, notes: list[str]):
    text = _decode(path, encoding, notes)
    reader = csv.reader(io.StringIO(text))
    lines: list[tuple[int, list]] = []
    try:  # numbered as a spreadsheet shows them: blank lines count
        for cells in reader:
            lines.append((len(lines) + 1, list(cells)))
    except csv.Error:
        raise InvalidInputError(
            f"{path.name} row {len(lines) + 1}: a field is longer than "
            f"{MAX_CSV_FIELD // 1024} KB or the quoting is broken; it cannot be read as CSV."
        ) from None
    return lines


def _check_xlsx(path: Path) -> None:
    """Refuse what is not a workbook, and a zip bomb, before openpyxl parses anything:
    the parts' declared sizes, then their real sizes (read in chunks, stopping at the cap)."""
    import zipfile

    not_a_book = f"{path.name} is not an Excel workbook (.xlsx is a zip file; this is not one)."
    if not zipfile.is_zipfile(path):
        raise InvalidInputError(not_a_book)
    too_big = (
        f"{path.name} unpacks to more than {_megabytes(MAX_XLSX_UNPACKED)}; "
        "it is refused as a possible zip bomb."
    )
    try:
        with zipfile.ZipFile(path) as book:
            parts = book.infolist()
            if sum(part.file_size for part in parts) > MAX_XLSX_UNPACKED:
                raise InvalidInputError(too_big)
            unpacked = 0
            for part in parts:
                with book.open(part) as stream:
                    while chunk := stream.read(1024 * 1024):
                        unpacked += len(chunk)
                        if unpacked > MAX_XLSX_UNPACKED:
                            raise InvalidInputError(too_big)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, ValueError):
        raise InvalidInputError(not_a_book) from None


def _read_xlsx(path: Path, sheet: str | None):
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    _check_xlsx(path)
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds on a damaged workbook
        raise InvalidInputError(f"{path.name} is not a readable Excel workbook.") from None
    try:
        if sheet and sheet not in book.sheetnames:
            raise InvalidInputError(f"{path.name} has no worksheet named {sheet!r}.")
        cells = book[sheet] if sheet else book.worksheets[0]
        if not hasattr(cells, "iter_rows"):
            raise InvalidInputError(f"{path.name}: the worksheet is a chart, not a table.")
        try:
            table = _sheet_lines(path, cells)
        except (InvalidFileException, KeyError, ValueError, TypeError, AttributeError):
            raise InvalidInputError(f"{path.name} is not a readable Excel workbook.") from None
        return [(number, list(line)) for number, line in enumerate(table, start=1)]
    finally:
        book.close()


def _sheet_lines(path: Path, cells) -> list[tuple]:
    """The cells actually present, row by row, with trailing empty cells dropped. The sheet's
    declared extent (its `dimension`, which may claim A1:XFD1048576) is ignored, and reading
    stops at the row or column limit."""
    if hasattr(cells, "reset_dimensions"):
        cells.reset_dimensions()
    lines: list[tuple] = []
    for number, line in enumerate(cells.iter_rows(values_only=True), start=1):
        if number > MAX_SHEET_ROWS:
            raise InvalidInputError(
                f"{path.name} has more than {MAX_SHEET_ROWS:,} rows; split it into smaller files."
            )
        line = tuple(line)
        end = len(line)
        while end and line[end - 1] in (None, ""):
            end -= 1
        if end > MAX_SHEET_COLUMNS:
            raise InvalidInputError(
                f"{path.name} row {number} has more than {MAX_SHEET_COLUMNS} columns; "
                "an import sheet may have at most that many."
            )
        lines.append(line[:end])
    return lines


def _read_yaml(path: Path):
    data = yamlio.read_hand_written(path, "import file")  # a .json file as JSON
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise InvalidInputError(f"{path.name} must be a list of rows, each a mapping of columns.")
    header = sorted({str(k) for r in data for k in r})
    return header, [
        (number, {str(k): v for k, v in r.items()}) for number, r in enumerate(data, start=1)
    ]


# --- planning ------------------------------------------------------------------------


class _Row:
    """One row's values, collecting every problem instead of stopping at the first."""

    def __init__(self, number: int, values: dict, errors: list[RowError]):
        self.number, self.values, self.errors = number, values, errors

    def fail(self, column: str | None, message: str) -> None:
        self.errors.append(RowError(self.number, column, message))

    def text(self, column: str, required: bool = False) -> str | None:
        value = self.values.get(column)
        if value is None:
            if required:
                self.fail(column, "is empty; it is required")
            return None
        return str(value).strip()

    def date(self, column: str, required: bool = False) -> date | None:
        value = self.values.get(column)
        if value is None:
            if required:
                self.fail(column, "is empty; it is required")
            return None
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        try:
            return parse_date(str(value), "date", "The date")
        except InvalidInputError:
            self.fail(
                column, "the value is not a real date (write 14/03/2026 or 2026-03-14)"
            )
            return None

    def items(self, column: str) -> list[str]:
        value = self.values.get(column)
        if value is None:
            return []
        if isinstance(value, list):
            return [str(v).strip() for v in value if str(v).strip()]
        return [part.strip() for part in str(value).split(";") if part.strip()]

    def yes_no(self, column: str) -> bool | None:
        value = self.values.get(column)
        if value is None or isinstance(value, bool):
            return value
        text = str(value).strip().casefold()
        if text in ("yes", "y", "true", "1"):
            return True
        if text in ("no", "n", "false", "0"):
            return False
        self.fail(column, "the value is not yes or no")
        return None


def _near(known: list[tuple[str, str]], key: str) -> list[str]:
    """The cases (or earlier rows) with a name similar to `key` but not the same."""
    return [where for other, where in known if other != key and similar(other, key)]


def _which(where: str) -> str:
    """Case C-0001, or "row 7" for a child an earlier row of the file would create."""
    if where.startswith("row "):
        return f"the child of {where} of this file"
    if where.startswith("new case"):
        return "a child earlier in this file"
    return f"case {where}"


def plan(
    store: Store, rows: list[tuple[int, dict]], today: date
) -> tuple[list[Step], list[RowError]]:
    """Check every row and work out what the import would do; writes nothing."""
    errors: list[RowError] = []
    steps: list[Step] = []
    index = store.index()
    # who each child is: (date of birth, name_key) -> a case id, or "new case N"
    by_child: dict[tuple[date, str], str] = {}
    # every child by date of birth, for the near-match check: (key, case id or row number)
    born: dict[date, list[tuple[str, str]]] = {}
    for case_id, fields in sorted(index.rows("case")):
        if fields.get("dob"):
            key = name_key(fields.get("name") or "")
            by_child.setdefault((fields["dob"], key), case_id)
            born.setdefault(fields["dob"], []).append((key, case_id))
    recorded = {
        (f.get("case"), f.get("date"), f.get("tool"), f.get("assessor"), f.get("agreed"))
        for _id, f in index.rows("assessment")
    }
    statuses = {case_id: f.get("status") for case_id, f in index.rows("case")}
    tools: dict[str, dict] = {}
    new_cases = 0
    planned: set[tuple] = set()
    for number, values in rows:
        row = _Row(number, values, errors)
        before = len(errors)
        assessment = _assessment(store, row, tools, today)
        case_id = row.text("case_id")
        name, dob = row.text("name"), row.date("dob")
        _check_dates(row, dob, assessment, today)
        nomination = None
        wants_new = bool(case_id) and case_id.casefold() == NEW_CASE
        if wants_new:
            case_id = None
        if case_id:
            if not records.ID_PATTERN.match(case_id) or not case_id.startswith("C-"):
                row.fail(
                    "case_id", f"the value is neither a case id such as C-0042 nor {NEW_CASE}"
                )
            elif case_id not in statuses:
                row.fail("case_id", f"there is no case {case_id}")
            elif statuses[case_id] != "open":
                row.fail("case_id", f"case {case_id} is closed; reopen it first")
        elif not name:
            row.fail("name", "is empty; a row needs case_id, or the child's name and date of birth")
        elif not name_key(name):
            row.fail("name", "has no letter or digit in it, so it cannot name a child")
        elif dob is None:
            if values.get("dob") is None:  # (a bad date was reported already)
                row.fail("dob", "is empty; needed to match or create the child's case")
        else:
            key = (dob, name_key(name))
            case_id = by_child.get(key)
            near = [] if case_id or wants_new else _near(born.get(dob, []), key[1])
            if case_id and wants_new:
                row.fail("case_id", f"says {NEW_CASE}, but the child is {_which(case_id)} already")
                case_id = None
            elif case_id and statuses.get(case_id) != "open":
                row.fail("name", f"matches closed case {case_id}; reopen it first")
            elif near:
                row.fail(
                    "name",
                    f"the child has the same date of birth as {_which(near[0])} and a similar "
                    "name but not the same one, so the row is not matched; to add to that case "
                    f"give its case_id, or give case_id {NEW_CASE} for a different child",
                )
            elif case_id is None:
                new_cases += 1
                case_id = f"new case {new_cases}"
                by_child[key] = case_id
                born.setdefault(dob, []).append((key[1], f"row {number}"))
                statuses[case_id] = "open"
                nomination = _nomination(store, row, name, dob, assessment, today)
        if len(errors) > before or assessment is None:
            continue
        identity = (
            case_id,
            assessment["date"],
            assessment["tool"],
            assessment["assessor"],
            assessment["agreed"],
        )
        if identity in recorded or identity in planned:
            steps.append(Step(number, "unchanged", case_id, assessment["agreed"]))
            continue
        planned.add(identity)
        action = "create case" if nomination is not None else "add assessment"
        steps.append(Step(number, action, case_id, assessment["agreed"], assessment, nomination))
    return steps, errors


def _check_dates(row: _Row, dob: date | None, assessment: dict | None, today: date) -> None:
    """The row's date of birth and assessment date are plausible (rules.plausible), as for a
    nomination: a row error names the column, never the date."""
    try:
        plausible.check_dob(dob, today, "")
        if assessment is not None:
            plausible.check_past(assessment["date"], today, "assessment_date", dob)
    except InvalidInputError as error:
        row.fail(error.field, error.message.removeprefix(error.field or "").strip().rstrip("."))


def _assessment(store: Store, row: _Row, tools: dict, today: date) -> dict | None:
    on = row.date("assessment_date", required=True)
    assessor = row.text("assessor", required=True)
    agency = row.text("assessor_agency", required=True)
    tool_name = row.text("tool") or store.profile["risk_tool"]
    if tool_name not in tools:
        try:
            tools[tool_name] = risk.load_tool(tool_name, store.root)
        except PanelctlError:
            row.fail("tool", "the value is not a risk tool of this store")
            return None
    if on is not None and on > today:
        row.fail("assessment_date", "is in the future")
        return None
    tool, factor_ids, level = tools[tool_name], row.items("factors"), row.text("level")
    count = row.values.get("factor_count")
    if count is not None:
        text = str(count).strip()
        if isinstance(count, float) and count.is_integer():
            text = str(int(count))
        if not text.isascii() or not text.isdigit():
            row.fail("factor_count", "is not a number of factors (write it in digits)")
            return None
        if int(text) != len(factor_ids):
            row.fail(
                "factor_count",
                f"says {int(text)} but the row lists {len(factor_ids)} factor"
                f"{'s' if len(factor_ids) != 1 else ''}",
            )
            return None
    try:
        if factor_ids or not level:
            result = risk.assess(tool, factor_ids, level, row.text("override_reason"))
        else:  # a matrix completed elsewhere: its level is what was agreed
            agreed = risk.level_of(tool, level)
            result = {"factors": [], "score": None, "derived": agreed, "agreed": agreed}
            result["override_reason"] = None
    except InvalidInputError as error:
        column = {"reason": "override_reason", "agreed": "level"}.get(error.field or "")
        row.fail(column or ("factors" if "factor" in error.message else "level"), error.message)
        return None
    if on is None or not assessor or not agency:
        return None
    return {
        "tool": tool_name,
        "date": on,
        "assessor": assessor,
        "agency": agency,
        "factors": result["factors"],
        "score": result["score"],
        "derived": result["derived"],
        "agreed": result["agreed"],
        "override_reason": result["override_reason"],
        "source": "import",
    }


def _nomination(
    store: Store, row: _Row, name: str, dob: date, assessment: dict | None, today: date
) -> dict | None:
    child = {"name": name, "dob": dob}
    for column in ("gender", "ethnicity", "school", "area"):
        if row.text(column):
            child[column] = row.text(column)
    looked_after = row.yes_no("looked_after")
    if looked_after is not None:
        child["looked_after"] = looked_after
    nomination = {"child": child}
    for column in ("referring_agency", "lead_professional"):
        if row.text(column):
            nomination[column] = row.text(column)
    if row.items("exploitation_types"):
        nomination["exploitation_types"] = row.items("exploitation_types")
    if assessment:
        nomination["assessment"] = {"tool": assessment["tool"], "level": assessment["agreed"]}
        reasons = entry.refusals(store.profile["entry_rules"], nomination)
        if reasons:
            row.fail(
                None,
                f"a new case would be refused under the {store.profile['name']} profile: {'; '.join(reasons)}",
            )
    too_old = ages.age_refusal(dob, today, store.profile.get("ages"), None)
    if too_old:  # a young adult needs a recorded reason: nominate them instead
        row.fail("dob", f"a new case would be refused under the {store.profile['name']} profile: {too_old}")
    try:
        cases.check_agencies(store, nomination)
    except InvalidInputError as error:
        row.fail("referring_agency", error.message)
    return nomination


# --- running -------------------------------------------------------------------------


def _headed(errors: list[RowError], mapping: dict) -> list[RowError]:
    """Each error with the file's own heading of its column, as the mapping gives it."""
    for error in errors:
        error.heading = mapping["columns"].get(error.column or "")
    return errors


def run_import(
    store: Store,
    path: Path,
    mapping: Path | None = None,
    *,
    dry_run: bool = False,
    today: date | None = None,
    progress: Callable[[int, int], None] | None = None,
    max_bytes: int = MAX_FILE_BYTES,
    encoding: str | None = None,
) -> Outcome:
    today = today or uk_today()
    notes: list[str] = []
    reading = Reading()
    layout = read_mapping(mapping)
    rows = read_rows(path, layout, max_bytes, encoding, notes, reading)
    if not rows:
        raise InvalidInputError(f"{path.name} has no rows to import below its header.")
    if dry_run:
        with store.lock():
            steps, errors = plan(store, rows, today)
        if errors:
            raise ImportRefusedError(path.name, _headed(errors, layout))
        return Outcome(steps, committed=False, notes=notes, reading=reading)
    created: dict[str, str] = {}
    with store.transaction() as tx:
        steps, errors = plan(store, rows, today)  # under the lock: nothing changes meanwhile
        if errors:
            raise ImportRefusedError(path.name, _headed(errors, layout))
        work = [s for s in steps if s.action != "unchanged"]
        open_cases: dict[str, dict] = {}
        for done, step in enumerate(work, start=1):
            if step.nomination is not None and step.case_id not in created:
                case = cases.case_from_nomination(
                    step.nomination, today, "Nominated (risk matrix import)"
                )
                new_id = tx.create("case", case)
                created[step.case_id] = new_id
                open_cases[new_id] = {"id": new_id, **case}
            case_id = created.get(step.case_id, step.case_id)
            if case_id not in open_cases:
                open_cases[case_id] = store.read(case_id)
            stage(tx, open_cases[case_id], step.assessment)
            step.case_id = case_id
            if progress:
                progress(done, len(work))
        counts = Outcome(steps, True).counts()
        tx.message = (
            f"Import risk matrices: {counts.get('create case', 0)} cases created, "
            f"{counts.get('add assessment', 0) + counts.get('create case', 0)} assessments recorded"
        )
    return Outcome(steps, committed=tx.committed, notes=notes, reading=reading)
