"""Approved decisions become billing adjustment lines (fct_billing_adjustments), settled once,
adding up to the cent, written as the month's CSV and the workbook's Adjustments sheet.

Starts from a copy of conftest.decided_history (MONTH_ONE built, decisions, MONTH_TWO built),
records more approvals in its resolutions CSV and rebuilds only what the decisions feed
(the seed and its descendants), so the added cost is a few small builds.
"""

from __future__ import annotations

import csv
import re
import shutil
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from conftest import MONTH_ONE, MONTH_TWO, RESOLUTIONS_HEADER, copy_state, discrepancy_id
from dbt_helpers import query

from recon.config import PROJECT_DIR, Settings
from recon.dbt import PRODUCTION_BUILD_ARGS, run_dbt, target_dir
from recon.export import ADJUSTMENTS_CSV_COLUMNS, export_month
from recon.publish import publish_month

MONTH_THREE = "2026-11"
DECISIONS_AND_DESCENDANTS = ("--select", "discrepancy_resolutions+")

# MONTH_ONE's findings (conftest): A1 RCM OVERBILLED, 1 seat too many at 120.00 on the closed
# invoice INV1 (line L1, 3 seats); A6 EHR OVERBILLED, 2 seats too many at 80.00 on the open
# invoice INV5 (line L5, 3 seats). MONTH_TWO: A4 EHR UNBILLED_USAGE, 1 seat at 80.00, no line.
CREDITED = discrepancy_id(MONTH_ONE, "A1", "RCM", "OVERBILLED")
CORRECTED = discrepancy_id(MONTH_ONE, "A6", "EHR", "OVERBILLED")
LATER = discrepancy_id(MONTH_TWO, "A4", "EHR", "UNBILLED_USAGE")
APPROVALS = (
    f"{CREDITED},APPROVE_CREDIT,finance@example.com,2026-10-05T09:00:00,120.00,USD,CN-1\n"
    # a partial correction: 100.00 of the finding's 160.00
    f"{CORRECTED},APPROVE_INVOICE_CORRECTION,finance@example.com,2026-10-05T10:00:00,"
    "100.00,USD,goodwill\n"
)
LATER_APPROVAL = (
    f"{LATER},APPROVE_INVOICE_CORRECTION,finance@example.com,2026-12-02T09:00:00,80.00,USD,\n"
)


@dataclass(frozen=True)
class Settled:
    settings: Settings
    resolutions: Path
    month_two_first: list[tuple]
    month_two_again: list[tuple]
    month_three: list[tuple]
    month_two_after_month_three: list[tuple]


def _adjustments(settings: Settings, month: str) -> list[tuple]:
    return query(
        settings.duckdb_path,
        f"""select * exclude (decided_at) from recon.fct_billing_adjustments
            where settled_in_month = '{month}-01' order by all""",
    )


def _lines(settings: Settings, month: str) -> dict[str, list[dict]]:
    """The month's adjustment lines by finding, as dictionaries."""
    columns = [
        row[0] for row in query(settings.duckdb_path, "describe recon.fct_billing_adjustments")
    ]
    lines: dict[str, list[dict]] = {}
    for row in query(
        settings.duckdb_path,
        f"""select * from recon.fct_billing_adjustments
            where settled_in_month = '{month}-01' order by discrepancy_id, line_number""",
    ):
        line = dict(zip(columns, row, strict=True))
        lines.setdefault(line["discrepancy_id"], []).append(line)
    return lines


def _build(settings: Settings, month: str) -> None:
    result = run_dbt("build", settings, month, *PRODUCTION_BUILD_ARGS, *DECISIONS_AND_DESCENDANTS)
    assert result.success, f"dbt build of {month} failed:\n" + "\n".join(result.failures)


@pytest.fixture(scope="module")
def settled(decided_history, tmp_path_factory, dbt_target) -> Settled:
    root = tmp_path_factory.mktemp("adjustments")
    for name in ("raw", "seeds"):
        shutil.copytree(decided_history.root / name, root / name)
    copy_state(decided_history.root, root)
    resolutions_dir = root / "resolutions"
    shutil.copytree(decided_history.root / "resolutions", resolutions_dir)
    resolutions = resolutions_dir / "discrepancy_resolutions.csv"
    earlier = resolutions.read_text(encoding="utf-8")
    assert earlier.startswith(RESOLUTIONS_HEADER)
    resolutions.write_text(earlier + APPROVALS, encoding="utf-8")
    settings = Settings(
        project_dir=PROJECT_DIR,
        raw_dir=root / "raw",
        seeds_dir=root / "seeds",
        duckdb_path=root / "warehouse.duckdb",
        report_dir=root / "reports",
        target="duckdb",
        resolutions_dir=resolutions_dir,
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DBT_TARGET_PATH", str(dbt_target))
        patch.setenv("DBT_LOG_PATH", str(dbt_target / "logs"))
        _build(settings, MONTH_TWO)
        first = _adjustments(settings, MONTH_TWO)
        publish_month(settings, MONTH_TWO, target_dir(settings) / "manifest.json")
        _build(settings, MONTH_TWO)  # the month run again
        again = _adjustments(settings, MONTH_TWO)
        # approved after MONTH_TWO's run: the next run settles it
        resolutions.write_text(earlier + APPROVALS + LATER_APPROVAL, encoding="utf-8")
        _build(settings, MONTH_THREE)
    return Settled(
        settings,
        resolutions,
        first,
        again,
        _adjustments(settings, MONTH_THREE),
        _adjustments(settings, MONTH_TWO),
    )


def test_an_overbilled_finding_on_a_closed_invoice_gets_credit_note_lines(settled):
    (line,) = _lines(settled.settings, MONTH_TWO)[CREDITED]
    assert line["adjustment_kind"] == "credit_note"
    assert (line["invoice_id"], line["invoice_line_id"]) == ("INV1", "L1")
    assert (line["account_id"], line["product_code"], line["currency"]) == ("A1", "RCM", "USD")
    assert (line["quantity"], line["unit_price"]) == (-1, Decimal("120.0000"))
    assert line["amount"] == line["approved_amount"] == Decimal("-120.00")
    assert line["corrected_quantity"] is None
    assert not line["is_partial"]
    assert line["finding_month"].isoformat() == f"{MONTH_ONE}-01"


def test_an_open_invoice_gets_corrected_quantities_and_a_partial_amount_adds_up(settled):
    (line,) = _lines(settled.settings, MONTH_TWO)[CORRECTED]
    assert line["adjustment_kind"] == "invoice_correction"
    assert (line["invoice_id"], line["invoice_line_id"]) == ("INV5", "L5")
    # 3 seats billed, 1 billable: the line goes from 3 to 1
    assert (line["original_quantity"], line["quantity"], line["corrected_quantity"]) == (3, -2, 1)
    # the approved 100.00 of the finding's 160.00, to the cent
    assert line["amount"] == Decimal("-100.00")
    assert line["is_partial"]
    assert "Partial" in line["reason"]


def test_the_months_lines_add_up_to_its_approved_amounts(settled):
    lines = _lines(settled.settings, MONTH_TWO)
    # decided_history's own approval is settled with them: A4 EHR, +80.00 on closed INV3
    credited_id = discrepancy_id(MONTH_ONE, "A4", "EHR", "UNBILLED_USAGE")
    assert set(lines) == {CREDITED, CORRECTED, credited_id}
    (supplement,) = lines[credited_id]
    assert (supplement["adjustment_kind"], supplement["quantity"]) == ("supplementary_invoice", 1)
    approved = {
        row[0]: row[1]
        for row in query(
            settled.settings.duckdb_path,
            "select discrepancy_id, decided_amount from recon.fct_discrepancy_resolutions",
        )
    }
    for finding, finding_lines in lines.items():
        assert abs(sum(line["amount"] for line in finding_lines)) == approved[finding]
    total = sum(line["amount"] for finding_lines in lines.values() for line in finding_lines)
    assert total == Decimal("-120.00") + Decimal("-100.00") + Decimal("80.00")


def test_running_the_month_again_rewrites_the_same_lines(settled):
    assert len(settled.month_two_first) == 3
    assert settled.month_two_again == settled.month_two_first


def test_the_next_month_settles_only_what_was_approved_since(settled):
    assert settled.month_two_after_month_three == settled.month_two_first
    (line,) = _lines(settled.settings, MONTH_THREE)[LATER]
    assert len(settled.month_three) == 1
    # usage never invoiced: a supplementary invoice's line, no invoice yet, at the list price
    assert line["adjustment_kind"] == "supplementary_invoice"
    assert (line["invoice_id"], line["invoice_line_id"]) == (None, None)
    assert (line["quantity"], line["unit_price"], line["amount"]) == (
        1,
        Decimal("80.0000"),
        Decimal("80.00"),
    )


def _documented_columns() -> list[str]:
    """The columns of the adjustments CSV as the README's table lists them."""
    readme = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Billing adjustments to import", 1)[1].split("\n## ", 1)[0]
    columns: list[str] = []
    for row in re.findall(r"^\| (`[^|]+`) \|", section, flags=re.MULTILINE):
        columns += re.findall(r"`([a-z0-9_]+)`", row)
    return columns


def test_the_months_csv_has_the_documented_columns_and_the_workbook_a_sheet(settled, tmp_path):
    assert _documented_columns() == list(ADJUSTMENTS_CSV_COLUMNS)
    report = export_month(replace(settled.settings, report_dir=tmp_path), MONTH_TWO)
    assert report.adjustments_csv_path == tmp_path / MONTH_TWO / f"adjustments_{MONTH_TWO}.csv"
    with report.adjustments_csv_path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == list(ADJUSTMENTS_CSV_COLUMNS)
    amounts = [Decimal(row[rows[0].index("amount")]) for row in rows[1:]]
    assert sorted(amounts) == [Decimal("-120.00"), Decimal("-100.00"), Decimal("80.00")]
    sheet = openpyxl.load_workbook(report.xlsx_path)["Adjustments"]
    header = [cell.value for cell in sheet[1]]
    assert header[:3] == ["Customer", "Product", "Adjustment"]
    kinds = sorted(row[2] for row in sheet.iter_rows(min_row=2, values_only=True))
    assert kinds == ["credit_note", "invoice_correction", "supplementary_invoice"]


def test_the_flow_writes_the_months_adjustments_csv_even_without_approvals(reconciled_month):
    path = Path(reconciled_month.result["adjustments_csv"])
    assert path == reconciled_month.report_dir / MONTH_ONE / f"adjustments_{MONTH_ONE}.csv"
    with path.open(encoding="utf-8-sig", newline="") as handle:
        assert list(csv.reader(handle)) == [list(ADJUSTMENTS_CSV_COLUMNS)]
    assert reconciled_month.result["adjustment_lines"] == 0
    sheet = openpyxl.load_workbook(reconciled_month.result["report_xlsx"])["Adjustments"]
    assert sheet.cell(row=2, column=1).value.startswith("No adjustments")
