"""The month's report files, read from the published marts (contract section 4; recon/marts.py).

In RECON_REPORT_DIR/YYYY-MM/:

- `reconciliation_YYYY-MM.csv`: the month's rows of rpt_finance_report, by impact_rank (every
  customer and product, a match listed as a match), the marts' column names, UTF-8 with a
  byte-order mark (so that Excel reads accented names right), NULL as an empty cell;
- `adjustments_YYYY-MM.csv`: the draft billing adjustments settled by the month's run
  (fct_billing_adjustments), one line per adjustment in the columns ADJUSTMENTS_CSV_COLUMNS,
  amounts in the invoice's currency, for the billing system's import (README); the header
  alone when the run settled no approval;
- `reconciliation_YYYY-MM.xlsx`, for a controller to read, print and send on, sheets in the
  order people read them:
  Summary (the month in a few numbers), Findings (one row per finding of
  fct_billing_discrepancies, the same rows as the dashboard: product findings by dollar
  impact, then the account-level findings, which are about the customer, product "All
  products", with no dollar impact of their own), All customer-products (rpt_finance_report,
  as the CSV), Provider findings, Adjustments (the draft billing adjustments the month's run
  settled, fct_billing_adjustments), Entitlements (usage against the contracted seats, true-up
  at list price), Data quality (fct_data_quality_issues and the raw-file validation
  warnings) and Trend (a chart of the billing match rate and the overbilled and underbilled
  dollars over the months, above the table of every month run).
  Headers, labels and formats come from recon/vocabulary.py (one vocabulary with the
  dashboard, the notification and the artifacts): percentages as percentages, dollars with
  two decimals, months yyyy-mm, dates yyyy-mm-dd, yes/no as Yes and No. Each sheet prints
  landscape, fitted to the page width, its header row repeated, the ids outside the print
  area (they stay at the far right of the sheet); the chart prints on one page.

Safe to open: in the CSV a text cell starting with =, +, -, @, a tab or a carriage return
gets a leading single quote, so no spreadsheet reads it as a formula. The workbook writes
every text as a text cell (write_string; strings_to_formulas off; no cell is a formula),
which no spreadsheet evaluates, so names keep their own spelling there, with no quote.
Numbers stay numbers: a negative amount is a number, not a formula.

Each file is written to a temporary file in the same folder, then moved over the previous
one (os.replace): a crash mid-export leaves the previous files intact. The marts are read
where readers read them (recon/marts.py): DuckDB's published catalog, opened read-only and
closed after each query, or Snowflake's published schema; the same queries on both.
"""

from __future__ import annotations

import csv
import os
import textwrap
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

from recon import vocabulary
from recon.config import Settings
from recon.csv_safe import CSV_ENCODING, csv_cell
from recon.csv_safe import FORMULA_PREFIXES as FORMULA_PREFIXES  # the cell rules, re-exported
from recon.csv_safe import neutralise as neutralise
from recon.marts import FINDINGS_QUERY, MartReader, NothingPublished

SHEETS = (
    "Summary",
    "Findings",
    "All customer-products",
    "Provider findings",
    "Adjustments",
    "Entitlements",
    "Data quality",
    "Trend",
)
TOP_FINDINGS = 10

QUERIES = {
    "finance_report": """
        select * from {schema}.rpt_finance_report
        where billing_month = ? order by impact_rank""",
    "findings": FINDINGS_QUERY,
    "provider_findings": """
        select provider_findings.*, names.customer_name
        from {schema}.fct_provider_discrepancies as provider_findings
        left join (
            select account_id, max(customer_name) as customer_name
            from {schema}.rpt_finance_report
            where account_id is not null
            group by account_id
        ) as names
            on provider_findings.account_id = names.account_id
        where provider_findings.billing_month = ?
        order by provider_findings.account_id, provider_findings.npi,
            provider_findings.discrepancy_type""",
    "entitlements": """
        select * exclude (billing_month) from {schema}.rpt_entitlement_usage
        where billing_month = ? order by gap_rank""",
    "data_quality": """
        select * from {schema}.fct_data_quality_issues
        where billing_month = ?
        order by source, source_file_name, source_row_number, issue, column_name""",
    "new_findings": """
        select customer_key, customer_name, product_code, discrepancy_type, status_label,
            amount_delta
        from {schema}.fct_billing_discrepancies
        where billing_month = ? and is_new
        order by abs(amount_delta) desc, customer_key, product_code nulls first""",
    "trend": """
        select * from {schema}.rpt_monthly_summary order by billing_month""",
    "adjustments": """
        select * from {schema}.fct_billing_adjustments
        where billing_month = ?
        order by customer_name, customer_key, invoice_id nulls last, decision_id, line_number""",
}

# The month's draft billing adjustments for the billing system's import (README, "Billing
# adjustments"): one line per adjustment, amounts in the invoice's currency, these columns in
# this order; the file has its header even when the month settled nothing.
ADJUSTMENTS_CSV_COLUMNS = (
    "adjustment_id",
    "adjustment_kind",
    "invoice_id",
    "invoice_line_id",
    "account_id",
    "customer_name",
    "product_code",
    "quantity",
    "original_quantity",
    "corrected_quantity",
    "unit_price",
    "amount",
    "currency",
    "reason",
    "discrepancy_id",
    "decision_id",
    "evidence_sha256",
    "decided_by",
    "decided_at",
    "finding_month",
    "settled_in_month",
)


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
    findings: Table
    provider_findings: Table
    entitlements: Table
    data_quality: Table
    new_findings: Table
    trend: Table
    adjustments: Table

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
    adjustments_csv_path: Path | None = None
    adjustment_lines: int = 0


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


def adjustments_for_import(adjustments: Table) -> Table:
    """The month's adjustments in the import's columns (ADJUSTMENTS_CSV_COLUMNS), in order."""
    positions = [adjustments.columns.index(name) for name in ADJUSTMENTS_CSV_COLUMNS]
    return Table(
        ADJUSTMENTS_CSV_COLUMNS,
        [tuple(row[position] for position in positions) for row in adjustments.rows],
    )


# --------------------------------------------------------------------------- workbook
# The columns of each sheet, in reading order: what to act on first, ids at the far right.
# A sheet prints its columns up to and including `printed`; the rest (ids, decision details)
# stay in the sheet, right of the print area. A mart column not named here is added at the
# far right, so that nothing the marts add is lost.
FINDINGS_COLUMNS = (
    *vocabulary.FINDINGS_LEAD_COLUMNS,
    "invoice_ids",
    "reason",
    "account_finding_types",
    "billable_providers",
    "billed_quantity",
    "crm_active_providers",
    "resolution_status",
    "is_new",
    "unit_price",
    "quantity_delta",
    "is_material",
    "decision",
    "decided_by",
    "decided_at",
    "age_days",
    "previous_decision",
    "is_reopened",
    "first_seen_month",
    "discrepancy_type",
    "customer_key",
    "account_id",
    "discrepancy_id",
)
REPORT_COLUMNS = (
    "customer_name",
    "product_code",
    "status_label",
    "account_finding_types",
    "amount_delta",
    "recommended_action",
    "invoice_status",
    "invoice_ids",
    "reason",
    "crm_active_providers",
    "billable_providers",
    "billed_quantity",
    "quantity_delta",
    "unit_price",
    "resolution_status",
    "has_new_finding",
    "is_match",
    "is_material",
    "decision",
    "decided_by",
    "decision_note",
    "decided_amount",
    "decided_at",
    "age_days",
    "days_to_resolve",
    "previous_decision",
    "previous_decision_month",
    "is_reopened",
    "first_seen_month",
    "impact_rank",
    "customer_key",
    "account_id",
    "discrepancy_id",
    "finding_key",
)
ADJUSTMENT_COLUMNS = (
    "customer_name",
    "product_code",
    "adjustment_kind",
    "invoice_id",
    "quantity",
    "unit_price",
    "amount",
    "currency",
    "reason",
    "corrected_quantity",
    "original_quantity",
    "approved_amount",
    "is_partial",
    "decision",
    "decided_by",
    "decided_at",
    "finding_month",
    "discrepancy_type",
    "invoice_line_id",
    "line_number",
    "customer_key",
    "account_id",
    "discrepancy_id",
    "decision_id",
    "adjustment_id",
)
PROVIDER_COLUMNS = (
    "customer_name",
    "npi",
    "status_label",
    "provider_name",
    "crm_provider_name",
    "reason",
    "account_id",
    "discrepancy_type",
    "discrepancy_id",
)
ENTITLEMENT_COLUMNS = (
    "customer_name",
    "product_code",
    "status_label",
    "entitled_seats",
    "billable_providers",
    "billed_quantity",
    "seat_delta",
    "utilisation",
    "list_price_usd",
    "true_up_amount",
    "is_new",
    "gap_rank",
    "finding_type",
    "customer_key",
    "account_id",
)
DATA_QUALITY_COLUMNS = (
    "source",
    "issue",
    "column_name",
    "raw_value",
    "source_file_name",
    "source_row_number",
    "record_id",
    "detected_by",
    "details",
    "issue_id",
)
TREND_COLUMNS = (
    "billing_month",
    "customer_products",
    "matched_customer_products",
    "billing_match_rate",
    "overbilled_amount",
    "underbilled_amount",
    "account_findings",
    "new_account_findings",
    "open_amount_at_risk",
    "provider_findings",
    "data_quality_issues",
    "true_up_amount",
)
SUMMARY_MEASURES = (
    "billing_month",
    "customer_products",
    "matched_customer_products",
    "billing_match_rate",
    "account_findings",
    "new_account_findings",
    "overbilled_amount",
    "underbilled_amount",
    "new_findings_amount",
    "open_amount_at_risk",
    "open_findings",
    "disputed_findings",
    "resolved_findings",
    "mean_days_to_resolve",
    "provider_findings",
    "data_quality_issues",
    "raw_file_warnings",
    "seats_above_entitlement",
    "seats_below_entitlement",
    "seats_without_entitlement",
    "true_up_amount",
    "generated_at_utc",
)
PRINTED = {  # the last printed column of each sheet
    "Findings": "is_new",
    "All customer-products": "has_new_finding",
    "Provider findings": "reason",
    "Adjustments": "reason",
    "Entitlements": "is_new",
    "Data quality": "details",
    "Trend": "true_up_amount",
}
SUMMARY_HEADER_ROW = 4  # 0-based: title, two lines on where to look, a blank row, the header
CHART_HEIGHT_PX = 340
ROW_HEIGHT_PX = 20
ROW_HEIGHT_POINTS = 15
TREND_HEADER_ROW = CHART_HEIGHT_PX // ROW_HEIGHT_PX + 2  # the table under the chart
NUMBER_FORMATS = {
    "count": "#,##0",
    "money": "$#,##0.00;-$#,##0.00",
    "price": "$#,##0.00##",
    "percent": "0.0%",
    "days": "0.0",
    "date": "yyyy-mm-dd",
    "month": "yyyy-mm",
    "datetime": "yyyy-mm-dd hh:mm",
}
DEFAULT_WIDTHS = {
    "count": 9,
    "money": 12,
    "price": 10,
    "percent": 9,
    "days": 9,
    "date": 11,
    "month": 9,
    "datetime": 16,
    "yes_no": 8,
    "status": 9,
    "id": 14,
    "wrap": 20,
}


class _Formats:
    def __init__(self, workbook: Any) -> None:
        base = {"valign": "top"}
        self.header = workbook.add_format(
            {**base, "bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True}
        )
        self.title = workbook.add_format({"bold": True, "font_size": 14})
        self.note = workbook.add_format({"italic": True})
        self.text = workbook.add_format(base)
        self.wrap = workbook.add_format({**base, "text_wrap": True})
        self.centred = workbook.add_format({**base, "align": "center"})
        self.right = workbook.add_format({**base, "align": "right"})
        self.by_kind = {
            kind: workbook.add_format({**base, "num_format": number_format})
            for kind, number_format in NUMBER_FORMATS.items()
        }

    def of(self, kind: str) -> Any:
        if kind == "wrap":
            return self.wrap
        if kind in ("status", "yes_no"):
            return self.centred
        return self.by_kind.get(kind, self.text)


def _as_datetime(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime(value.year, value.month, value.day)


def _write_cell(sheet: Any, row: int, col: int, value: Any, kind: str, formats: _Formats) -> None:
    """Writes one cell by its kind (never a formula: text is written as text, as it is)."""
    if value is None:
        sheet.write_blank(row, col, None, formats.of(kind))
    elif kind == "yes_no" or isinstance(value, bool):
        sheet.write_string(row, col, vocabulary.yes_no(value), formats.centred)
    elif isinstance(value, int | float | Decimal):
        number_kind = kind if kind in NUMBER_FORMATS else "count"
        if number_kind == "count" and isinstance(value, Decimal | float) and value % 1:
            number_kind = "days"
        sheet.write_number(row, col, float(value), formats.of(number_kind))
    elif isinstance(value, date):
        date_kind = kind if kind in ("date", "month", "datetime") else "date"
        if isinstance(value, datetime) and kind != "month":
            date_kind = "datetime"
        sheet.write_datetime(row, col, _as_datetime(value), formats.of(date_kind))
    else:
        text_kind = kind if kind in ("wrap", "status") else "text"
        sheet.write_string(row, col, str(value), formats.of(text_kind))


def _width(name: str, values: Sequence[Any]) -> int:
    spec = vocabulary.column(name)
    if spec.width:
        return spec.width
    if spec.kind in DEFAULT_WIDTHS:
        return DEFAULT_WIDTHS[spec.kind]
    longest = max((len(str(value)) for value in values if value is not None), default=0)
    return min(max(longest, len(spec.header) // 2, 8), 40) + 1


def _lines(text: str, width: int) -> int:
    """How many lines `text` takes wrapped in a column `width` characters wide."""
    characters_per_line = max(int(width * 1.1), 1)
    return sum(max(len(textwrap.wrap(part, characters_per_line)), 1) for part in text.split("\n"))


def _set_row_heights(
    sheet: Any, columns: Sequence[str], records: Sequence[dict[str, Any]], header_row: int
) -> None:
    """Rows as tall as their longest wrapped text (a spreadsheet does not grow a row written
    without a height when it opens the file: LibreOffice leaves the text overlapping)."""
    wrapped = [
        (name, _width(name, [record.get(name) for record in records[:200]]))
        for name in columns
        if vocabulary.column(name).kind == "wrap"
    ]
    header_lines = max(
        (_lines(vocabulary.header(name), _width(name, [])) for name in columns), default=1
    )
    sheet.set_row(header_row, 13 * header_lines + 3)
    for row_number, record in enumerate(records, start=header_row + 1):
        lines = max(
            (_lines(str(record[name]), width) for name, width in wrapped if record.get(name)),
            default=1,
        )
        if lines > 1:
            sheet.set_row(row_number, ROW_HEIGHT_POINTS * lines)


def _ordered(columns: Sequence[str], wanted: Sequence[str]) -> list[str]:
    """`wanted` columns that exist, then the others (new mart columns) at the far right."""
    present = set(columns)
    return [name for name in wanted if name in present] + [
        name for name in columns if name not in wanted and name != "billing_month"
    ]


def _print_setup(
    sheet: Any,
    title: str,
    header_row: int,
    last_row: int,
    last_printed_col: int,
) -> None:
    """Landscape letter, fitted to the page width, the header row repeated on every page;
    the header names the report, the footer the sheet and the page."""
    sheet.set_landscape()
    sheet.set_paper(1)  # US Letter
    sheet.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(header_row)
    sheet.print_area(0, 0, max(last_row, header_row), last_printed_col)
    sheet.set_header(f"&L{title.replace('&', '&&')}&RSheet: &A")
    sheet.set_footer("&LSheet: &A&RPage &P of &N")


def _write_table(
    sheet: Any,
    sheet_name: str,
    title: str,
    columns: Sequence[str],
    records: Sequence[dict[str, Any]],
    formats: _Formats,
    header_row: int = 0,
) -> int:
    """The header row (human headers) and the rows, by each column's kind; autofilter, frozen
    header and first column, print set-up. Returns the last row written."""
    for col, name in enumerate(columns):
        sheet.write_string(header_row, col, vocabulary.header(name), formats.header)
        kind = vocabulary.column(name).kind
        width = _width(name, [record.get(name) for record in records[:200]])
        sheet.set_column(col, col, width, formats.of("wrap") if kind == "wrap" else None)
        for row_number, record in enumerate(records, start=header_row + 1):
            _write_cell(sheet, row_number, col, record.get(name), kind, formats)
    _set_row_heights(sheet, columns, records, header_row)
    last_row = header_row + len(records)
    sheet.freeze_panes(header_row + 1, 1)
    if columns:
        sheet.autofilter(header_row, 0, max(last_row, header_row + 1), len(columns) - 1)
    printed = PRINTED.get(sheet_name)
    last_printed = columns.index(printed) if printed in columns else len(columns) - 1
    _print_setup(sheet, title, header_row, last_row, last_printed)
    return last_row


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


def _summary_values(
    tables: MonthTables, validation_warnings: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    return {
        **tables.summary(),
        "billing_month": tables.billing_month,
        "new_findings_amount": new_findings_amount(tables),
        "raw_file_warnings": len(validation_warnings),
        "generated_at_utc": datetime.now(UTC).replace(microsecond=0, tzinfo=None),
    }


def _write_summary(
    sheet: Any,
    title: str,
    tables: MonthTables,
    validation_warnings: Sequence[dict[str, Any]],
    formats: _Formats,
) -> None:
    """The month in a few numbers: a measure and its value per row, formatted by kind."""
    values = _summary_values(tables, validation_warnings)
    sheet.write_string(0, 0, title, formats.title)
    findings = len(tables.findings.rows)
    sheet.write_string(
        1,
        0,
        f"{findings} finding{'' if findings == 1 else 's'}: sheet Findings, largest first.",
        formats.note,
    )
    sheet.write_string(2, 0, "Every customer-product: sheet All customer-products.", formats.note)
    sheet.write_string(SUMMARY_HEADER_ROW, 0, "Measure", formats.header)
    sheet.write_string(SUMMARY_HEADER_ROW, 1, "Value", formats.header)
    row = SUMMARY_HEADER_ROW
    for name in SUMMARY_MEASURES:
        if name not in values:
            continue
        row += 1
        spec = vocabulary.column(name)
        sheet.write_string(row, 0, spec.header, formats.text)
        value = "n/a" if values[name] is None else values[name]
        _write_cell(sheet, row, 1, value, spec.kind, formats)
    sheet.set_column(0, 0, 34)
    sheet.set_column(1, 1, 20, formats.right)
    _print_setup(sheet, title, SUMMARY_HEADER_ROW, row, 1)
    sheet.fit_to_pages(1, 1)


def _finding_records(tables: MonthTables) -> list[dict[str, Any]]:
    """The Findings rows: labels from the vocabulary, an account-level finding's product
    shown as "All products", each product finding with its customer's account-level
    findings beside it."""
    records = tables.findings.records()
    account_level: dict[str, list[str]] = {}
    for record in records:
        if record["product_code"] is None:
            account_level.setdefault(record["customer_key"], []).append(record["status_label"])
    return [
        {
            **record,
            "product_code": vocabulary.product_shown(record["product_code"]),
            "account_finding_types": (
                ", ".join(account_level.get(record["customer_key"], [])) or None
                if record["product_code"] is not None
                else None
            ),
        }
        for record in records
    ]


def _report_records(tables: MonthTables) -> list[dict[str, Any]]:
    return [
        {
            **record,
            "account_finding_types": vocabulary.finding_labels(record["account_finding_types"]),
        }
        for record in tables.finance_report.records()
    ]


def _provider_records(tables: MonthTables) -> list[dict[str, Any]]:
    return [
        {
            **record,
            "customer_name": record.get("customer_name") or record["account_id"],
            "status_label": vocabulary.finding_label(record["discrepancy_type"], "provider"),
        }
        for record in tables.provider_findings.records()
    ]


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


def _data_quality_records(
    tables: MonthTables, validation_warnings: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The month's data-quality issues, then the raw-file validation warnings, one table;
    issue codes in words (UNPARSEABLE_DATE: Unparseable date)."""
    records = [{**record, "detected_by": "dbt"} for record in tables.data_quality.records()]
    for warning in validation_warnings:
        details = f"lines {warning['lines']}: {warning['message']}" if warning["lines"] else None
        records.append(
            {
                **_warning_as_issue(warning),
                "detected_by": "raw file check",
                "details": details or warning["message"],
            }
        )
    return [{**record, "issue": vocabulary.humanise(str(record["issue"]))} for record in records]


def _trend_chart(
    workbook: Any, sheet: Any, columns: Sequence[str], months: int, width_px: int
) -> None:
    """Columns of overbilled and underbilled dollars, a line of the match rate (right axis, in
    percent) with a marker on every month (one month run is one point), above the table."""
    if not months:
        return
    first, last = TREND_HEADER_ROW + 1, TREND_HEADER_ROW + months
    position = {name: index for index, name in enumerate(columns)}
    month_col = position["billing_month"]
    categories = ["Trend", first, month_col, last, month_col]
    amounts = workbook.add_chart({"type": "column"})
    for name, colour in (("overbilled_amount", "#C00000"), ("underbilled_amount", "#ED7D31")):
        col = position[name]
        amounts.add_series(
            {
                "name": ["Trend", TREND_HEADER_ROW, col],
                "categories": categories,
                "values": ["Trend", first, col, last, col],
                "fill": {"color": colour},
            }
        )
    rate_col = position["billing_match_rate"]
    match_rate = workbook.add_chart({"type": "line"})
    match_rate.add_series(
        {
            "name": ["Trend", TREND_HEADER_ROW, rate_col],
            "categories": categories,
            "values": ["Trend", first, rate_col, last, rate_col],
            "y2_axis": True,
            "marker": {"type": "circle", "size": 7},
            "line": {"color": "#2F5597"},
        }
    )
    amounts.combine(match_rate)
    amounts.set_title({"name": "Billing match rate and mis-billed dollars by month"})
    amounts.set_y_axis({"name": "Dollars", "num_format": "$#,##0"})
    match_rate.set_y2_axis({"name": "Billing match rate", "num_format": "0%", "min": 0, "max": 1})
    amounts.set_x_axis({"name": "Billing month", "date_axis": False, "num_format": "yyyy-mm"})
    amounts.set_legend({"position": "bottom"})
    amounts.set_size({"width": width_px, "height": CHART_HEIGHT_PX})
    sheet.insert_chart(0, 0, amounts, {"object_position": 3})


def _column_pixels(columns: Sequence[str], records: Sequence[dict[str, Any]]) -> int:
    return sum(_width(name, [record.get(name) for record in records]) * 7 + 5 for name in columns)


def write_workbook(
    tables: MonthTables, validation_warnings: Sequence[dict[str, Any]], path: Path
) -> None:
    import xlsxwriter

    title = f"Provider reconciliation, billing month {tables.billing_month}"
    with atomic_path(path) as temporary:
        workbook = xlsxwriter.Workbook(
            str(temporary),
            {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False},
        )
        workbook.set_properties({"title": title})
        formats = _Formats(workbook)
        sheets = {name: workbook.add_worksheet(name) for name in SHEETS}
        _write_summary(sheets["Summary"], title, tables, validation_warnings, formats)
        tables_of_sheets = (
            (
                "Findings",
                (*tables.findings.columns, "account_finding_types"),
                _finding_records(tables),
                FINDINGS_COLUMNS,
            ),
            (
                "All customer-products",
                tables.finance_report.columns,
                _report_records(tables),
                REPORT_COLUMNS,
            ),
            (
                "Provider findings",
                (*tables.provider_findings.columns, "status_label"),
                _provider_records(tables),
                PROVIDER_COLUMNS,
            ),
            (
                "Adjustments",
                tables.adjustments.columns,
                tables.adjustments.records(),
                ADJUSTMENT_COLUMNS,
            ),
            (
                "Entitlements",
                tables.entitlements.columns,
                tables.entitlements.records(),
                ENTITLEMENT_COLUMNS,
            ),
            (
                "Data quality",
                (*tables.data_quality.columns, "detected_by", "details"),
                _data_quality_records(tables, validation_warnings),
                DATA_QUALITY_COLUMNS,
            ),
        )
        for name, present, records, wanted in tables_of_sheets:
            columns = _ordered(present, wanted)
            _write_table(sheets[name], name, title, columns, records, formats)
            if name == "Findings" and not records:
                sheets[name].write_string(
                    1, 0, "No findings: every customer-product of the month matches.", formats.note
                )
            if name == "Adjustments" and not records:
                sheets[name].write_string(
                    1, 0, "No adjustments: this month's run settled no approval.", formats.note
                )
        trend_columns = _ordered(tables.trend.columns, TREND_COLUMNS)
        trend_records = tables.trend.records()
        _write_table(
            sheets["Trend"],
            "Trend",
            title,
            trend_columns,
            trend_records,
            formats,
            header_row=TREND_HEADER_ROW,
        )
        printed = trend_columns[: trend_columns.index(PRINTED["Trend"]) + 1]
        _trend_chart(
            workbook,
            sheets["Trend"],
            trend_columns,
            len(trend_records),
            min(_column_pixels(printed, trend_records), 1000),
        )
        sheets["Trend"].freeze_panes(0, 0)  # the chart above the table stays in view
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
    adjustments_csv_path = folder / f"adjustments_{billing_month}.csv"
    write_csv(tables.finance_report, csv_path)
    write_workbook(tables, validation_warnings, xlsx_path)
    # last: the file the billing system imports exists only beside a complete report
    write_csv(adjustments_for_import(tables.adjustments), adjustments_csv_path)
    return ReportExport(
        billing_month=billing_month,
        csv_path=csv_path,
        xlsx_path=xlsx_path,
        report_rows=len(tables.finance_report.rows),
        summary={name: _json_value(value) for name, value in tables.summary().items()},
        top_findings=[
            {name: _json_value(value) for name, value in row.items()}
            for row in tables.findings.records()[:TOP_FINDINGS]
        ],
        new_findings=[
            {name: _json_value(value) for name, value in row.items()}
            for row in tables.new_findings.records()
        ],
        adjustments_csv_path=adjustments_csv_path,
        adjustment_lines=len(tables.adjustments.rows),
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
