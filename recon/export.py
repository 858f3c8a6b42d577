"""The month's report files, read from the published marts (contract section 4; recon/marts.py).

In RECON_REPORT_DIR/YYYY-MM/:

- `reconciliation_YYYY-MM.csv`: the month's rows of rpt_finance_report, by impact_rank (every
  customer and product, a match listed as a match), UTF-8 with a byte-order mark (so that
  Excel reads accented names right), NULL as an empty cell;
- `reconciliation_YYYY-MM.xlsx`: sheets Summary, Account findings (the same rows, with the
  invoices, their status and the recommended action: filter invoice_status on `open` for
  what can still be fixed before the invoices go out), Provider findings
  (fct_provider_discrepancies), Entitlements (fct_entitlement_findings: usage against the
  contracted seats, with the true-up at list price; empty without entitlement files), Data
  quality (fct_data_quality_issues and the raw-file validation warnings) and Trend
  (rpt_monthly_summary of every month run, with a chart of the billing match rate and the
  overbilled and underbilled amounts).

Safe to open: a text cell starting with =, +, -, @, a tab or a carriage return gets a leading
single quote, in the CSV and in the workbook, so no spreadsheet reads it as a formula; the
workbook is written with strings_to_formulas off and every cell by its type (no cell is a
formula). Numbers stay numbers: a negative amount is a number, not a formula.

Each file is written to a temporary file in the same folder, then moved over the previous
one (os.replace): a crash mid-export leaves the previous files intact. The marts are read
where readers read them (recon/marts.py): DuckDB's published catalog, opened read-only and
closed after each query, or Snowflake's published schema; the same queries on both.
"""

from __future__ import annotations

import csv
import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from recon.config import Settings
from recon.marts import MartReader, NothingPublished

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
SHEETS = (
    "Summary",
    "Account findings",
    "Provider findings",
    "Entitlements",
    "Data quality",
    "Trend",
)
TOP_FINDINGS = 10
CSV_ENCODING = "utf-8-sig"  # a byte-order mark: Excel then reads the file as UTF-8

QUERIES = {
    "finance_report": """
        select * from {schema}.rpt_finance_report
        where billing_month = ? order by impact_rank""",
    "provider_findings": """
        select * from {schema}.fct_provider_discrepancies
        where billing_month = ? order by account_id, npi, discrepancy_type""",
    "entitlements": """
        select * exclude (billing_month) from {schema}.rpt_entitlement_usage
        where billing_month = ? order by gap_rank""",
    "data_quality": """
        select * from {schema}.fct_data_quality_issues
        where billing_month = ?
        order by source, source_file_name, source_row_number, issue, column_name""",
    "new_findings": """
        select customer_key, customer_name, product_code, discrepancy_type, amount_delta
        from {schema}.fct_billing_discrepancies
        where billing_month = ? and is_new
        order by abs(amount_delta) desc, customer_key, product_code nulls first""",
    "trend": """
        select * from {schema}.rpt_monthly_summary order by billing_month""",
}


class NothingToExport(RuntimeError):
    """The database or the month's rows are missing: exporting again will not help."""


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


@dataclass(frozen=True)
class MonthTables:
    billing_month: str
    finance_report: Table
    provider_findings: Table
    entitlements: Table
    data_quality: Table
    new_findings: Table
    trend: Table

    def summary(self) -> dict[str, Any]:
        """The month's rpt_monthly_summary row (empty when the month has no rows at all)."""
        first_day = month_start(self.billing_month)
        return next((row for row in self.trend.records() if row["billing_month"] == first_day), {})


@dataclass(frozen=True)
class ReportExport:
    """What the export wrote and the numbers the flow reports and notifies."""

    billing_month: str
    csv_path: Path
    xlsx_path: Path
    report_rows: int
    summary: dict[str, Any]
    top_findings: list[dict[str, Any]] = field(default_factory=list)
    new_findings: list[dict[str, Any]] = field(default_factory=list)


def month_start(billing_month: str) -> date:
    return date.fromisoformat(f"{billing_month}-01")


def report_folder(settings: Settings, billing_month: str) -> Path:
    return settings.report_dir / billing_month


# --------------------------------------------------------------------------- reading
def read_month(reader: MartReader, billing_month: str) -> MonthTables:
    """Every table of the report, from the published marts (DuckDB read-only, or Snowflake)."""
    tables: dict[str, Table] = {}
    try:
        for name, sql in QUERIES.items():
            parameters = [month_start(billing_month)] if "?" in sql else []
            rows = reader.query(sql, parameters)
            tables[name] = Table(rows.columns, rows.rows)
    except NothingPublished as error:
        raise NothingToExport(str(error)) from error
    return MonthTables(billing_month=billing_month, **tables)


# --------------------------------------------------------------------------- cell values
def neutralise(text: str) -> str:
    """A leading quote for text a spreadsheet would read as a formula."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def csv_cell(value: Any) -> str:
    """The CSV text of a value: NULL empty, booleans true/false, dates ISO, decimals plain."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return neutralise(str(value))


# --------------------------------------------------------------------------- atomic files
@contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """A temporary path beside `final`, moved over it only when the block succeeds."""
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = final.parent / f".{final.name}.{uuid.uuid4().hex}.tmp"
    try:
        yield Path(temporary)
        os.replace(temporary, final)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def write_csv(table: Table, path: Path) -> None:
    with (
        atomic_path(path) as temporary,
        temporary.open("w", encoding=CSV_ENCODING, newline="") as out,
    ):
        writer = csv.writer(out)
        writer.writerow(table.columns)
        writer.writerows([csv_cell(value) for value in row] for row in table.rows)


# --------------------------------------------------------------------------- workbook
class _Formats:
    def __init__(self, workbook: Any) -> None:
        self.header = workbook.add_format(
            {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True}
        )
        self.money = workbook.add_format({"num_format": "#,##0.00"})
        self.price = workbook.add_format({"num_format": "#,##0.00##"})
        self.rate = workbook.add_format({"num_format": "0.0%"})
        self.date = workbook.add_format({"num_format": "yyyy-mm-dd"})
        self.datetime = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self.title = workbook.add_format({"bold": True, "font_size": 14})


def _write_cell(sheet: Any, row: int, col: int, value: Any, name: str, formats: _Formats) -> int:
    """Writes one cell by its type (never a formula); returns its display width."""
    if value is None:
        sheet.write_blank(row, col, None)
        return 0
    if isinstance(value, bool):
        sheet.write_boolean(row, col, value)
        return 5
    if isinstance(value, int | float | Decimal):
        if name.endswith("_rate"):
            number_format = formats.rate
        elif name.endswith("price"):
            number_format = formats.price
        else:
            number_format = formats.money if isinstance(value, Decimal) else None
        sheet.write_number(row, col, float(value), number_format)
        return len(f"{float(value):,.2f}")
    if isinstance(value, datetime):
        sheet.write_datetime(row, col, value.replace(tzinfo=None), formats.datetime)
        return 19
    if isinstance(value, date):
        sheet.write_datetime(row, col, datetime(value.year, value.month, value.day), formats.date)
        return 10
    text = neutralise(str(value))
    sheet.write_string(row, col, text)
    return len(text)


def _write_table(
    sheet: Any, columns: Sequence[str], rows: Sequence[Sequence[Any]], formats: _Formats
) -> None:
    """A header row and the rows, filter and frozen header, columns sized to their content."""
    widths = [len(name) for name in columns]
    for col, name in enumerate(columns):
        sheet.write_string(0, col, name, formats.header)
    for row_number, row in enumerate(rows, start=1):
        for col, value in enumerate(row):
            width = _write_cell(sheet, row_number, col, value, columns[col], formats)
            widths[col] = max(widths[col], width)
    for col, width in enumerate(widths):
        sheet.set_column(col, col, min(max(width, 8), 60) + 2)
    sheet.freeze_panes(1, 0)
    if columns:
        sheet.autofilter(0, 0, max(len(rows), 1), len(columns) - 1)


def new_findings_amount(tables: MonthTables) -> Decimal:
    """Dollar impact of the month's new product findings (an account finding's amount is the
    sum of its products', so it is not added again)."""
    return sum(
        (
            row["amount_delta"]
            for row in tables.new_findings.records()
            if row["product_code"] is not None and row["amount_delta"] is not None
        ),
        Decimal("0.00"),
    )


def _summary_rows(
    tables: MonthTables, validation_warnings: Sequence[dict[str, Any]]
) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = [
        ("billing_month", tables.billing_month),
        ("generated_at_utc", datetime.now(UTC).replace(microsecond=0, tzinfo=None)),
        ("report_rows", len(tables.finance_report.rows)),
    ]
    rows += [(name, value) for name, value in tables.summary().items() if name != "billing_month"]
    rows += [
        ("new_findings_amount", new_findings_amount(tables)),
        ("raw_file_warnings", len(validation_warnings)),
    ]
    return rows


_FAMILY_NAMES = ("crm_accounts", "crm_providers", "ops_intake_log", "billing_invoice_lines")


def _warning_as_issue(warning: dict[str, Any]) -> dict[str, Any]:
    """A raw-file validation warning in the columns of fct_data_quality_issues."""
    file_name = str(warning["file"])
    return {
        "source": next((name for name in _FAMILY_NAMES if file_name.startswith(name)), file_name),
        "issue": warning["check"],
        "column_name": warning["column"],
        "source_file_name": file_name,
    }


def _data_quality_rows(
    tables: MonthTables, validation_warnings: Sequence[dict[str, Any]]
) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    """The month's data-quality issues, then the raw-file validation warnings, one table."""
    columns = tuple(name for name in tables.data_quality.columns if name != "billing_month")
    rows = [
        ("dbt", *(record[name] for name in columns), None)
        for record in tables.data_quality.records()
    ]
    for warning in validation_warnings:
        issue = _warning_as_issue(warning)
        details = f"lines {warning['lines']}: {warning['message']}" if warning["lines"] else None
        rows.append(
            (
                "raw file check",
                *(issue.get(name) for name in columns),
                details or warning["message"],
            )
        )
    return ("detected_by", *columns, "details"), rows


def _trend_chart(workbook: Any, sheet: Any, trend: Table) -> None:
    """Columns of overbilled and underbilled dollars, a line of the match rate (right axis)."""
    if not trend.rows:
        return
    last = len(trend.rows)
    position = {name: index for index, name in enumerate(trend.columns)}
    categories = ["Trend", 1, position["billing_month"], last, position["billing_month"]]
    amounts = workbook.add_chart({"type": "column"})
    for name, colour in (("overbilled_amount", "#C00000"), ("underbilled_amount", "#ED7D31")):
        col = position[name]
        amounts.add_series(
            {
                "name": ["Trend", 0, col],
                "categories": categories,
                "values": ["Trend", 1, col, last, col],
                "fill": {"color": colour},
            }
        )
    rate_col = position["billing_match_rate"]
    match_rate = workbook.add_chart({"type": "line"})
    match_rate.add_series(
        {
            "name": ["Trend", 0, rate_col],
            "categories": categories,
            "values": ["Trend", 1, rate_col, last, rate_col],
            "y2_axis": True,
            "marker": {"type": "circle"},
            "line": {"color": "#2F5597"},
        }
    )
    amounts.combine(match_rate)
    amounts.set_title({"name": "Billing match rate and mis-billed dollars by month"})
    amounts.set_y_axis({"name": "Dollars", "num_format": "#,##0"})
    match_rate.set_y2_axis({"name": "Match rate", "num_format": "0%", "min": 0, "max": 1})
    amounts.set_x_axis({"name": "Billing month", "date_axis": False, "num_format": "yyyy-mm"})
    amounts.set_legend({"position": "bottom"})
    amounts.set_size({"width": 760, "height": 380})
    sheet.insert_chart(last + 3, 0, amounts)


def write_workbook(
    tables: MonthTables, validation_warnings: Sequence[dict[str, Any]], path: Path
) -> None:
    import xlsxwriter

    with atomic_path(path) as temporary:
        workbook = xlsxwriter.Workbook(
            str(temporary),
            {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False},
        )
        formats = _Formats(workbook)
        sheets = {name: workbook.add_worksheet(name) for name in SHEETS}
        _write_table(
            sheets["Summary"],
            ("metric", "value"),
            _summary_rows(tables, validation_warnings),
            formats,
        )
        report = tables.finance_report
        _write_table(sheets["Account findings"], report.columns, report.rows, formats)
        providers = tables.provider_findings
        _write_table(sheets["Provider findings"], providers.columns, providers.rows, formats)
        entitlements = tables.entitlements
        _write_table(sheets["Entitlements"], entitlements.columns, entitlements.rows, formats)
        columns, rows = _data_quality_rows(tables, validation_warnings)
        _write_table(sheets["Data quality"], columns, rows, formats)
        _write_table(sheets["Trend"], tables.trend.columns, tables.trend.rows, formats)
        _trend_chart(workbook, sheets["Trend"], tables.trend)
        workbook.close()


# --------------------------------------------------------------------------- the task
def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def export_month(
    settings: Settings, billing_month: str, validation_warnings: Sequence[dict[str, Any]] = ()
) -> ReportExport:
    """Reads the month's marts and writes both report files; returns paths and numbers."""
    reader = MartReader.published(settings)
    tables = read_month(reader, billing_month)
    if not tables.finance_report.rows and not tables.summary():
        raise NothingToExport(
            f"no rows of {billing_month} in {reader.describe()}: was the month built and "
            "published, and are there raw records of that month?"
        )
    folder = report_folder(settings, billing_month)
    csv_path = folder / f"reconciliation_{billing_month}.csv"
    xlsx_path = folder / f"reconciliation_{billing_month}.xlsx"
    write_csv(tables.finance_report, csv_path)
    write_workbook(tables, validation_warnings, xlsx_path)
    findings = [
        row for row in tables.finance_report.records() if row.get("status_label") != "Match"
    ]
    return ReportExport(
        billing_month=billing_month,
        csv_path=csv_path,
        xlsx_path=xlsx_path,
        report_rows=len(tables.finance_report.rows),
        summary={name: _json_value(value) for name, value in tables.summary().items()},
        top_findings=[
            {name: _json_value(value) for name, value in row.items()}
            for row in findings[:TOP_FINDINGS]
        ],
        new_findings=[
            {name: _json_value(value) for name, value in row.items()}
            for row in tables.new_findings.records()
        ],
    )


def _worth_retrying(task: Any, task_run: Any, state: Any) -> bool:
    """Retry I/O trouble (the database locked by a writer, a full disk), not a missing month."""
    return not isinstance(getattr(state, "data", None), NothingToExport)


@task(
    name="export-report",
    retries=2,
    retry_delay_seconds=10,
    retry_condition_fn=_worth_retrying,
    cache_policy=NO_CACHE,
)
def export_report(
    billing_month: str, validation_warnings: Sequence[dict[str, Any]] = ()
) -> ReportExport:
    """Writes RECON_REPORT_DIR/<month>/reconciliation_<month>.csv and .xlsx from the marts."""
    return export_month(Settings.from_env(), billing_month, validation_warnings)
