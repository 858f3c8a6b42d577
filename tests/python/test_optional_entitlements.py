"""Without contract_entitlements*.csv files (the family is optional, contract 5.1) the month
builds as before: every other mart is the same, row for row, as with the files, and there
are no entitlement findings."""

from __future__ import annotations

from pathlib import Path

from dbt_helpers import build_month, query, settings_for

MONTH_ONE = "2026-09"  # as in conftest.py
SAME_MARTS = (
    "fct_provider_counts_monthly",
    "fct_billing_discrepancies",
    "fct_provider_discrepancies",
    "rpt_finance_report",
)


def _rows(duckdb_path: Path, sql: str) -> list[tuple]:
    return sorted(query(duckdb_path, sql), key=repr)


def test_a_month_without_entitlement_files_is_unchanged(copy_of_month_one, reconciled_month):
    raw_dir = Path(copy_of_month_one["RECON_RAW_DIR"])
    removed = sorted(raw_dir.glob("contract_entitlements*.csv"))
    assert removed, "the small dataset should have entitlement files to remove"
    for path in removed:
        path.unlink()
    settings = settings_for(
        raw_dir, Path(copy_of_month_one["RECON_SEEDS_DIR"]), raw_dir.parent / "bare.duckdb"
    )
    build_month(settings, MONTH_ONE)

    with_files, without_files = reconciled_month.duckdb_path, settings.duckdb_path
    for mart in SAME_MARTS:
        sql = f"select * from recon.{mart}"
        assert _rows(without_files, sql) == _rows(with_files, sql), mart
    issues = "select * from recon.fct_data_quality_issues where source <> 'contract_entitlements'"
    assert _rows(without_files, issues) == _rows(with_files, issues)
    assert query(without_files, "select count(*) from recon.fct_entitlement_findings") == [(0,)]
    assert query(with_files, "select count(*) from recon.fct_entitlement_findings") == [(5,)]
    ((above, below, none, true_up),) = query(
        without_files,
        "select seats_above_entitlement, seats_below_entitlement, seats_without_entitlement,"
        " true_up_amount from recon.rpt_monthly_summary",
    )
    assert (above, below, none, float(true_up)) == (0, 0, 0, 0.0)
