"""The report files: safe for spreadsheets, the six sheets and the chart, atomic writes."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import duckdb
import openpyxl
import pytest
from conftest import copy_state

import recon.export as export
from recon.config import PROJECT_DIR, Settings

MONTH_ONE = "2026-09"  # as in conftest.py
FORMULA_NAMES = ("=Formula Clinic", "+Plus Clinic", "-Minus Medical", "@At Health")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Acme Health, Inc.", "Acme Health, Inc."),
        (" =not first", " =not first"),
        ("", ""),
    ],
)
def test_neutralise(text: str, expected: str):
    assert export.neutralise(text) == expected


def test_csv_cells_keep_numbers_as_numbers():
    assert export.csv_cell(Decimal("-80.00")) == "-80.00"
    assert export.csv_cell(-1) == "-1"
    assert export.csv_cell(None) == ""
    assert export.csv_cell(True) == "true"
    assert export.csv_cell("-Minus Medical") == "'-Minus Medical"


def test_csv_names_starting_with_formula_characters_are_neutralised(reconciled_month):
    report_csv = Path(reconciled_month.result["report_csv"])
    with report_csv.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    names = {row["customer_name"] for row in rows}
    assert {"'" + name for name in FORMULA_NAMES} <= names
    for row in rows:
        for cell in row.values():
            if cell.startswith("-"):
                float(cell)  # only numbers may start with a minus sign
            else:
                assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell


def test_workbook_sheets_chart_and_no_formula_cells(reconciled_month):
    workbook = openpyxl.load_workbook(reconciled_month.result["report_xlsx"])
    assert workbook.sheetnames == [
        "Summary",
        "Account findings",
        "Provider findings",
        "Entitlements",
        "Data quality",
        "Trend",
    ]
    assert len(workbook["Trend"]._charts) == 1
    cells = [cell for sheet in workbook for row in sheet.iter_rows() for cell in row]
    assert cells and all(cell.data_type != "f" for cell in cells)

    account = workbook["Account findings"]
    header = [cell.value for cell in account[1]]
    name_column = header.index("customer_name")
    names = {row[name_column].value: row[name_column] for row in account.iter_rows(min_row=2)}
    for name in FORMULA_NAMES:
        cell = names["'" + name]
        assert cell.data_type == "s"
    assert account.max_row - 1 == reconciled_month.result["report_rows"]


def test_workbook_sheets_hold_the_months_tables(reconciled_month):
    workbook = openpyxl.load_workbook(reconciled_month.result["report_xlsx"])
    with duckdb.connect(str(reconciled_month.duckdb_path), read_only=True) as connection:
        provider_rows = connection.execute(
            "select count(*) from recon.fct_provider_discrepancies where billing_month = ?",
            [export.month_start(MONTH_ONE)],
        ).fetchall()[0][0]
        issue_rows = connection.execute(
            "select count(*) from recon.fct_data_quality_issues where billing_month = ?",
            [export.month_start(MONTH_ONE)],
        ).fetchall()[0][0]
    assert workbook["Provider findings"].max_row - 1 == provider_rows

    quality = list(workbook["Data quality"].iter_rows(values_only=True))
    header, rows = quality[0], quality[1:]
    detected = [row[header.index("detected_by")] for row in rows]
    assert detected.count("dbt") == issue_rows
    (warning,) = [row for row in rows if row[0] == "raw file check"]
    assert warning[header.index("issue")] == "LOW_DATE_PARSE_RATE"
    assert warning[header.index("column_name")] == "event_at"
    assert warning[header.index("source")] == "ops_intake_log"

    summary = dict(workbook["Summary"].iter_rows(min_row=2, values_only=True))
    assert summary["billing_month"] == MONTH_ONE
    assert summary["overbilled_amount"] == pytest.approx(280.0)
    assert summary["raw_file_warnings"] == 1

    trend = list(workbook["Trend"].iter_rows(values_only=True))
    assert "billing_match_rate" in trend[0] and len(trend) == 2  # header and the one month run


def test_entitlements_sheet_and_summary_section(reconciled_month):
    """The small dataset's entitlements (conftest.py): A1 above (1 seat, 2 billable), A2 below
    (3 seats, 1 billable), A5 within, A4 and A6 (expired in August) without entitlement."""
    workbook = openpyxl.load_workbook(reconciled_month.result["report_xlsx"])
    header, *rows = list(workbook["Entitlements"].iter_rows(values_only=True))
    usage = {(row[header.index("customer_key")], row[header.index("product_code")]): row
             for row in rows}  # fmt: skip
    assert {key: row[header.index("finding_type")] for key, row in usage.items()} == {
        ("A1", "RCM"): "USAGE_ABOVE_ENTITLEMENT",
        ("A2", "RCM"): "USAGE_BELOW_ENTITLEMENT",
        ("A4", "EHR"): "NO_ENTITLEMENT",
        ("A5", "RCM"): None,
        ("A6", "EHR"): "NO_ENTITLEMENT",
    }
    above = usage[("A1", "RCM")]
    assert above[header.index("customer_name")] == "Acme Health, Inc."
    assert above[header.index("true_up_amount")] == pytest.approx(120.0)
    assert usage[("A2", "RCM")][header.index("utilisation")] == pytest.approx(0.3333)

    summary = dict(workbook["Summary"].iter_rows(min_row=2, values_only=True))
    assert summary["seats_above_entitlement"] == 1
    assert summary["seats_below_entitlement"] == 2
    assert summary["seats_without_entitlement"] == 2
    assert summary["true_up_amount"] == pytest.approx(120.0)


def test_findings_carry_invoices_status_and_action(reconciled_month):
    """Filtering invoice_status on open gives what can still be fixed before sending."""
    report_csv = Path(reconciled_month.result["report_csv"])
    with report_csv.open(encoding="utf-8-sig", newline="") as handle:
        rows = {row["customer_key"]: row for row in csv.DictReader(handle)}
    picked = ("invoice_ids", "invoice_status", "recommended_action")
    assert [rows["A1"][name] for name in picked] == ["INV1", "closed", "Issue a credit note"]
    assert [rows["A6"][name] for name in picked] == [
        "INV5", "open", "Correct the invoice before it is sent",
    ]  # fmt: skip
    assert [rows["A4"][name] for name in picked] == ["INV3", "closed", "Invoice the usage"]
    assert rows["A2"]["recommended_action"] == ""  # a match: nothing to do
    workbook = openpyxl.load_workbook(reconciled_month.result["report_xlsx"])
    header = [cell.value for cell in workbook["Account findings"][1]]
    assert set(picked) <= set(header)


def _settings(root: Path) -> Settings:
    return Settings(
        project_dir=PROJECT_DIR,
        raw_dir=root / "raw",
        seeds_dir=root / "seeds",
        duckdb_path=root / "warehouse.duckdb",
        report_dir=root / "reports",
        target="duckdb",
    )


@pytest.mark.parametrize("crash_in", ["csv", "workbook"])
def test_a_crash_mid_export_leaves_the_previous_files(
    reconciled_month, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crash_in: str
):
    copy_state(reconciled_month.root, tmp_path)
    settings = _settings(tmp_path)
    folder = export.report_folder(settings, MONTH_ONE)
    folder.mkdir(parents=True)
    previous = {
        folder / f"reconciliation_{MONTH_ONE}.csv": b"previous csv\n",
        folder / f"reconciliation_{MONTH_ONE}.xlsx": b"previous workbook",
    }
    for path, content in previous.items():
        path.write_bytes(content)

    calls = {"n": 0}

    def crashing_cell(value: object) -> str:
        calls["n"] += 1
        if calls["n"] > 20:
            raise RuntimeError("disk full")
        return export.neutralise(str(value))

    def crashing_chart(*args: object) -> None:
        raise RuntimeError("disk full")

    if crash_in == "csv":
        monkeypatch.setattr(export, "csv_cell", crashing_cell)
    else:
        monkeypatch.setattr(export, "_trend_chart", crashing_chart)

    with pytest.raises(RuntimeError, match="disk full"):
        export.export_month(settings, MONTH_ONE)

    if crash_in == "csv":
        assert all(path.read_bytes() == content for path, content in previous.items())
    else:  # the CSV was complete and replaced; the workbook is the previous one
        assert (folder / f"reconciliation_{MONTH_ONE}.xlsx").read_bytes() == b"previous workbook"
        assert (folder / f"reconciliation_{MONTH_ONE}.csv").read_bytes() != b"previous csv\n"
    assert sorted(path.name for path in folder.iterdir()) == sorted(p.name for p in previous)


def test_export_closes_its_read_only_connection(reconciled_month, tmp_path: Path):
    copy_state(reconciled_month.root, tmp_path)
    settings = _settings(tmp_path)
    report = export.export_month(settings, MONTH_ONE)
    assert report.report_rows == reconciled_month.result["report_rows"]
    # a writer can open the catalog in this very process: the export's connections are closed
    connection = duckdb.connect(str(settings.published_catalog))
    connection.close()
    assert [row["customer_key"] for row in report.top_findings][:1] == ["A6"]  # +160 first


def test_a_month_that_was_not_built_is_an_error_not_retried(reconciled_month, tmp_path: Path):
    from prefect.states import Failed

    copy_state(reconciled_month.root, tmp_path)
    settings = _settings(tmp_path)
    with pytest.raises(export.NothingToExport, match="no rows of 2030-01"):
        export.export_month(settings, "2030-01")
    assert not (tmp_path / "reports").exists()
    assert not export._worth_retrying(None, None, Failed(data=export.NothingToExport("x")))
    assert export._worth_retrying(None, None, Failed(data=OSError("database is locked")))
