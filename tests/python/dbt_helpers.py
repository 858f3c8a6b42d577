"""Helpers for tests that build the dbt project on generated data in a temporary folder."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from recon.config import PROJECT_DIR, Settings
from recon.dbt import run_dbt

MART_TABLES = (
    "fct_provider_counts_monthly",
    "fct_billing_discrepancies",
    "fct_provider_discrepancies",
    "fct_data_quality_issues",
    "fct_entitlement_findings",
)


# Every mart of the project (models/marts/): what is published and what readers read.
MARTS = (
    "fct_provider_counts_monthly",
    "fct_billing_discrepancies",
    "fct_provider_discrepancies",
    "fct_data_quality_issues",
    "fct_entitlement_findings",
    "fct_discrepancy_resolutions",
    "fct_billable_providers_monthly",
    "rpt_finance_report",
    "rpt_monthly_summary",
    "rpt_entitlement_usage",
    "rpt_unmatched_customer_suggestions",
    "rpt_finding_evidence",
    "fct_billing_adjustments",
)
RESOLUTIONS_HEADER = "discrepancy_id,decision,decided_by,decided_at,amount,currency,note\n"


def settings_for(raw_dir: Path, seeds_dir: Path, duckdb_path: Path) -> Settings:
    return Settings(
        project_dir=PROJECT_DIR,
        raw_dir=raw_dir,
        seeds_dir=seeds_dir,
        duckdb_path=duckdb_path,
        report_dir=duckdb_path.parent / "reports",
        target="duckdb",
    )


def build_month(settings: Settings, month: str) -> None:
    """dbt build of one month; fails the test with dbt's own words when anything fails."""
    result = run_dbt("build", settings, month)
    assert result.success, "dbt build failed for " + month + ":\n" + "\n".join(result.failures)


@contextmanager
def read_only(duckdb_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(duckdb_path), read_only=True)
    try:
        yield connection
    finally:
        connection.close()


def table_rows(duckdb_path: Path, table: str, order_by: str = "all") -> list[tuple]:
    with read_only(duckdb_path) as connection:
        return connection.sql(f"select * from recon.{table} order by {order_by}").fetchall()


def query(duckdb_path: Path, sql: str) -> list[tuple]:
    with read_only(duckdb_path) as connection:
        return connection.sql(sql).fetchall()


def read_answer_key(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def raw_row_count(raw_dir: Path, pattern: str) -> int:
    """Data rows of a file family, counted with the csv module (quoted newlines honoured)."""
    total = 0
    for path in sorted(raw_dir.glob(pattern)):
        with path.open(newline="", encoding="utf-8-sig") as handle:
            total += sum(1 for _ in csv.reader(handle)) - 1
    return total


def dbt_env_isolated() -> dict[str, str]:
    """Environment for a dbt run that must not see a developer's own settings."""
    return {key: value for key, value in os.environ.items() if not key.startswith("RECON_")}
