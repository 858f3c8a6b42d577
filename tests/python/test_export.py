"""The report files: safe for spreadsheets, the sheets and the chart, atomic writes."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import duckdb
import openpyxl
import pytest
from conftest import copy_state
from openpyxl.utils import column_index_from_string

import recon.export as export
from recon import vocabulary
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


def _records(sheet, header_row: int = 0) -> list[dict[str, object]]:
    """A sheet's table as {header: value} rows (openpyxl, 0-based header row)."""
    header, *rows = list(sheet.iter_rows(min_row=header_row + 1, values_only=True))
    return [dict(zip(header, row, strict=True)) for row in rows]


def _formats(sheet, header_row: int = 0) -> dict[str, set[str]]:
    """{header: the number formats of its non-empty cells}."""
    header = [cell.value for cell in sheet[header_row + 1]]
    formats: dict[str, set[str]] = {name: set() for name in header}
    for row in sheet.iter_rows(min_row=header_row + 2):
        for name, cell in zip(header, row, strict=False):
            if cell.value is not None:
                formats[name].add(cell.number_format)
    return formats


def _summary(workbook) -> dict[str, object]:
    rows = _records(workbook["Summary"], export.SUMMARY_HEADER_ROW)
    return {row["Measure"]: row["Value"] for row in rows}


def _month_findings(duckdb_path: Path) -> list[tuple]:
    with duckdb.connect(str(duckdb_path), read_only=True) as connection:
        return connection.execute(
            """select customer_name, product_code, discrepancy_type, status_label, amount_delta
               from recon.fct_billing_discrepancies where billing_month = ?""",
            [export.month_start(MONTH_ONE)],
        ).fetchall()


def test_workbook_sheets_chart_and_no_formula_cells(reconciled_month):
    workbook = openpyxl.load_workbook(reconciled_month.result["report_xlsx"])
    assert workbook.sheetnames == [
        "Summary",
        "Findings",
        "All customer-products",
        "Provider findings",
        "Adjustments",
        "Entitlements",
        "Data quality",
        "Trend",
    ]
    assert len(workbook["Trend"]._charts) == 1
    cells = [cell for sheet in workbook for row in sheet.iter_rows() for cell in row]
    assert cells and all(cell.data_type != "f" for cell in cells)
    # text is written as text, as it is: no quote in front of a name in the workbook
    for sheet_name, expected in (
        ("Findings", ("+Plus Clinic", "@At Health")),  # the two with a finding
        ("All customer-products", FORMULA_NAMES),
    ):
        sheet = workbook[sheet_name]
        column = [cell.value for cell in sheet[1]].index("Customer")
        names = {row[column].value: row[column] for row in sheet.iter_rows(min_row=2)}
        for name in expected:
            assert names[name].data_type == "s", (sheet_name, name)
        assert not any(str(name).startswith("'") for name in names), sheet_name
    report = _records(workbook["All customer-products"])
    assert {"=Formula Clinic", "-Minus Medical"} <= {row["Customer"] for row in report}
    assert len(report) == reconciled_month.result["report_rows"]


def test_findings_sheet_lists_only_findings_largest_first(reconciled_month):
    """One row per finding of fct_billing_discrepancies, the product findings by dollar impact,
    then the account-level ones (about the customer: "All products", no dollar impact of its
    own); human headers, the action and invoice status up front, the ids at the far right."""
    workbook = openpyxl.load_workbook(reconciled_month.result["report_xlsx"])
    sheet = workbook["Findings"]
    header = [cell.value for cell in sheet[1]]
    assert header[:8] == [
        "Customer", "Product", "Status", "Dollar impact", "Action", "Invoice status",
        "Invoices", "Reason",
    ]  # fmt: skip
    assert header[-3:] == ["Customer key", "Account ID", "Finding ID"]
    assert all("_" not in name for name in header)
    rows = _records(sheet)
    findings = _month_findings(reconciled_month.duckdb_path)
    assert len(rows) == len(findings) == 4
    shown = [(row["Customer"], row["Product"], row["Status"], row["Dollar impact"]) for row in rows]
    assert shown == [
        ("@At Health", "EHR", "Billing mismatch", 160.0),
        ("Acme Health, Inc.", "RCM", "Billing mismatch", 120.0),
        ("+Plus Clinic", "EHR", "Unbilled usage", -80.0),
        ("ghost clinic", "All products", "Missing from CRM", None),
    ]
    # the same words as the marts, for the same finding (one vocabulary)
    assert {(name, label) for name, _, _, label, _ in findings} == {
        (customer, status) for customer, _, status, _ in shown
    }
    assert rows[0]["Action"] == "Correct the invoice before it is sent"
    assert rows[0]["Invoice status"] == "open" and rows[0]["Invoices"] == "INV5"
    assert rows[0]["New this month"] == "Yes"
    assert rows[0]["Reason"].startswith("Billed 3 providers of EHR but 1 are billable")


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
    providers = _records(workbook["Provider findings"])
    assert len(providers) == provider_rows  # none in this dataset's month
    provider_labels = {
        spec.label for spec in vocabulary.finding_types().values() if spec.level == "provider"
    }
    assert {row["Status"] for row in providers} <= provider_labels

    quality = _records(workbook["Data quality"])
    assert [row["Detected by"] for row in quality].count("dbt") == issue_rows
    (warning,) = [row for row in quality if row["Detected by"] == "raw file check"]
    assert warning["Issue"] == "Low date parse rate"
    assert warning["Column"] == "event_at"
    assert warning["Source"] == "ops_intake_log"

    summary = _summary(workbook)
    assert summary["Billing month"] == MONTH_ONE
    assert summary["Overbilled"] == pytest.approx(280.0)
    assert summary["Raw-file warnings"] == 1
    assert summary["Billing match rate"] == pytest.approx(0.5)  # A2, A5, Ghost of six

    trend = _records(workbook["Trend"], export.TREND_HEADER_ROW)
    assert len(trend) == 1 and trend[0]["Billing match rate"] == pytest.approx(0.5)


FLAGS = ("New this month", "Material", "New finding", "Billed equals billable", "Reopened")


def test_workbook_formats_headers_and_print_setup(reconciled_month):
    """Percentages as percentages, dollars, months and yes/no the same way on every sheet;
    human headers; landscape, fitted to the page width, the header row repeated, the ids
    right of the print area."""
    workbook = openpyxl.load_workbook(reconciled_month.result["report_xlsx"])
    money, percent, month = "$#,##0.00;-$#,##0.00", "0.0%", "yyyy-mm"
    formats = {
        row[0].value: row[1].number_format
        for row in workbook["Summary"].iter_rows(min_row=export.SUMMARY_HEADER_ROW + 2)
    }
    assert formats["Billing match rate"] == percent
    assert formats["Overbilled"] == formats["True-up at list price"] == money
    assert formats["Findings"] == "#,##0"

    findings = _formats(workbook["Findings"])
    assert findings["Dollar impact"] == {money}
    assert findings["First seen"] == {month}
    report = _formats(workbook["All customer-products"])
    assert report["Dollar impact"] == {money} and report["Unit price"] == {"$#,##0.00##"}
    entitlements = _formats(workbook["Entitlements"])
    assert entitlements["Utilisation"] == {percent}
    assert entitlements["True-up at list price"] == {money}
    trend = _formats(workbook["Trend"], export.TREND_HEADER_ROW)
    assert trend["Billing match rate"] == {percent} and trend["Billing month"] == {month}
    assert trend["Overbilled"] == {money}

    for sheet_name in ("Findings", "All customer-products", "Entitlements"):
        rows = _records(workbook[sheet_name])
        flags = [name for name in rows[0] if name in FLAGS]
        assert flags, sheet_name
        for name in flags:
            assert {row[name] for row in rows} - {None} <= {"Yes", "No"}, (sheet_name, name)

    header_rows = {"Summary": export.SUMMARY_HEADER_ROW, "Trend": export.TREND_HEADER_ROW}
    for sheet in workbook:
        header = [cell.value for cell in sheet[header_rows.get(sheet.title, 0) + 1]]
        assert header and all("_" not in str(name) for name in header if name), sheet.title
        assert sheet.page_setup.orientation == "landscape", sheet.title
        assert sheet.sheet_properties.pageSetUpPr.fitToPage, sheet.title
        assert sheet.page_setup.fitToWidth in (1, None), sheet.title  # None: openpyxl's 1
        assert sheet.print_title_rows and sheet.print_area, sheet.title
    # the ids stay at the far right, out of the print area
    findings_sheet = workbook["Findings"]
    area = findings_sheet.print_area
    last_printed = (area if isinstance(area, str) else area[0]).split(":")[-1].strip("$0123456789")
    header = [cell.value for cell in findings_sheet[1]]
    assert header.index("Finding ID") >= column_index_from_string(last_printed)
    assert header.index("New this month") == column_index_from_string(last_printed) - 1


def test_one_vocabulary_in_the_workbook_csv_and_marts(reconciled_month):
    """The same words for the same finding in the marts, the CSV and the workbook; a
    customer-level finding never becomes the label of one of its products."""
    report_csv = Path(reconciled_month.result["report_csv"])
    with report_csv.open(encoding="utf-8-sig", newline="") as handle:
        csv_rows = {
            (row["customer_key"], row["product_code"]): row for row in csv.DictReader(handle)
        }
    ghost = next(row for key, row in csv_rows.items() if key[0].startswith("UNMATCHED:"))
    # Ghost Clinic's RCM: billed 1, billable 1: a match; the customer is missing from the CRM
    assert (ghost["status_label"], ghost["account_finding_types"]) == ("Match", "MISSING_FROM_CRM")
    assert ghost["recommended_action"] == ""
    workbook = openpyxl.load_workbook(reconciled_month.result["report_xlsx"])
    report = {
        (row["Customer key"], row["Product"]): row
        for row in _records(workbook["All customer-products"])
    }
    assert set(report) == set(csv_rows)
    for key, row in csv_rows.items():
        assert report[key]["Status"] == row["status_label"], key
        assert report[key]["Customer-level findings"] == vocabulary.finding_labels(
            row["account_finding_types"]
        )
    assert report[(ghost["customer_key"], "RCM")]["Customer-level findings"] == "Missing from CRM"
    findings = _records(workbook["Findings"])
    for row in findings:
        if row["Product"] != vocabulary.ACCOUNT_LEVEL_PRODUCT:
            assert csv_rows[(row["Customer key"], row["Product"])]["status_label"] == row["Status"]


def test_vocabulary_is_the_marts_labels(reconciled_month):
    """recon/vocabulary.py reads the one definition the SQL uses: every label in the marts is
    the vocabulary's label of its type."""
    with duckdb.connect(str(reconciled_month.duckdb_path), read_only=True) as connection:
        billing = connection.execute(
            "select distinct discrepancy_type, status_label from recon.fct_billing_discrepancies"
        ).fetchall()
        entitlements = connection.execute(
            "select distinct finding_type, status_label from recon.rpt_entitlement_usage"
        ).fetchall()
        report = connection.execute(
            "select distinct discrepancy_type, status_label from recon.rpt_finance_report"
        ).fetchall()
    assert len(billing) == 3 and len(entitlements) == 4 and len(report) == 3
    for code, label in billing + report:
        assert vocabulary.finding_label(code) == label
    for code, label in entitlements:
        assert vocabulary.finding_label(code, "entitlement") == label


def test_entitlements_sheet_and_summary_section(reconciled_month):
    """The small dataset's entitlements (conftest.py): A1 above (1 seat, 2 billable), A2 below
    (3 seats, 1 billable), A5 within, A4 and A6 (expired in August) without entitlement."""
    workbook = openpyxl.load_workbook(reconciled_month.result["report_xlsx"])
    usage = {
        (row["Customer key"], row["Product"]): row for row in _records(workbook["Entitlements"])
    }
    assert {key: row["Status"] for key, row in usage.items()} == {
        ("A1", "RCM"): "True-up or upsell",
        ("A2", "RCM"): "Unused seats: churn risk",
        ("A4", "EHR"): "No entitlement",
        ("A5", "RCM"): "Within entitlement",
        ("A6", "EHR"): "No entitlement",
    }
    above = usage[("A1", "RCM")]
    assert above["Customer"] == "Acme Health, Inc."
    assert above["True-up at list price"] == pytest.approx(120.0)
    assert usage[("A2", "RCM")]["Utilisation"] == pytest.approx(0.3333)

    summary = _summary(workbook)
    assert summary["Seats above entitlement"] == 1
    assert summary["Seats below entitlement"] == 2
    assert summary["Seats without entitlement"] == 2
    assert summary["True-up at list price"] == pytest.approx(120.0)


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
    header = [cell.value for cell in workbook["All customer-products"][1]]
    assert {"Invoices", "Invoice status", "Action"} <= set(header[:8])


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
