"""Write-audit-publish on DuckDB (recon/publish.py): readers see exactly what was built and
tested, a month is published at the cost of its own rows, and replaced files are retired."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest
from conftest import MONTH_ONE, MONTH_TWO, published_catalog

from recon import cli
from recon.config import Settings
from recon.dbt import target_dir
from recon.publish import marts_of_manifest, publish_month

# Parquet has no 128-bit integer: DuckDB's sum() of integers is published as BIGINT.
PUBLISHED_TYPE = {"HUGEINT": "BIGINT"}


def _marts(database: Path) -> list[str]:
    with duckdb.connect(str(database), read_only=True) as connection:
        return [
            name
            for (name,) in connection.execute(
                "select table_name from information_schema.tables where table_schema = 'recon' "
                "and (table_name like 'fct_%' or table_name like 'rpt_%') order by 1"
            ).fetchall()
        ]


def _content(database: Path, mart: str) -> tuple[list[tuple[str, str]], list[tuple]]:
    with duckdb.connect(str(database), read_only=True) as connection:
        described = connection.execute(f"describe recon.{mart}").fetchall()
        columns = [(name, PUBLISHED_TYPE.get(kind, kind)) for name, kind, *_ in described]
        rows = connection.execute(f"select * from recon.{mart}").fetchall()
    return columns, sorted(rows, key=repr)


def _partitions(catalog: Path) -> dict[tuple[str, str], str]:
    with duckdb.connect(str(catalog), read_only=True) as connection:
        return {
            (mart, partition): path
            for mart, partition, path in connection.execute(
                "select mart, partition_name, file_path from recon_publish.partitions"
            ).fetchall()
        }


def test_readers_see_every_mart_as_built(reconciled_month):
    """Every mart of the build, published: same columns, same types, same rows."""
    marts = _marts(reconciled_month.duckdb_path)
    assert "rpt_finance_report" in marts and "fct_billing_discrepancies" in marts
    assert _marts(reconciled_month.published_catalog) == marts
    for mart in marts:
        built = _content(reconciled_month.duckdb_path, mart)
        assert _content(reconciled_month.published_catalog, mart) == built, mart
    with duckdb.connect(str(reconciled_month.published_catalog), read_only=True) as connection:
        months = connection.execute("select billing_month from recon.published_months").fetchall()
    assert months == [(date.fromisoformat(f"{MONTH_ONE}-01"),)]


def test_a_month_is_published_at_the_cost_of_its_own_rows(
    copy_of_month_one: dict[str, str], monkeypatch: pytest.MonkeyPatch
):
    for name, value in copy_of_month_one.items():
        monkeypatch.setenv(name, value)
    catalog = published_catalog(copy_of_month_one)
    before = _partitions(catalog)
    assert cli.main(["build", "--month", MONTH_TWO]) == 0
    after = _partitions(catalog)

    settings = Settings.from_env()
    marts = marts_of_manifest(target_dir(settings) / "manifest.json")
    by_month = [mart.name for mart in marts if mart.month_built_only]
    assert "fct_billing_discrepancies" in by_month and "fct_provider_counts_monthly" in by_month
    for mart in by_month:  # month one's files untouched, month two's new
        assert after[(mart, MONTH_ONE)] == before[(mart, MONTH_ONE)], mart
        assert (mart, MONTH_TWO) not in before and (mart, MONTH_TWO) in after, mart
    # the summary has a row per month: month one's is rewritten only if it changed
    summary_one = after[("rpt_monthly_summary", MONTH_ONE)]
    with duckdb.connect(str(catalog), read_only=True) as connection:
        months = connection.execute(
            "select strftime(billing_month, '%Y-%m') from recon.published_months order by 1"
        ).fetchall()
    assert months == [(MONTH_ONE,), (MONTH_TWO,)]
    for mart in _marts(settings.duckdb_path):
        assert _content(catalog, mart) == _content(settings.duckdb_path, mart), mart

    # Publishing month two again writes month two's partitions only; the files it replaces
    # are retired, kept while a reader of the older catalog may read them, then deleted.
    monkeypatch.setenv("RECON_PUBLISH_KEEP_SECONDS", "3600")
    again = publish_month(settings, MONTH_TWO, target_dir(settings) / "manifest.json")
    assert set(again.partitions["fct_billing_discrepancies"]) == {MONTH_TWO}
    replaced = _partitions(catalog)
    old_file = catalog.parent / after[("fct_billing_discrepancies", MONTH_TWO)]
    assert (
        replaced[("fct_billing_discrepancies", MONTH_TWO)]
        != after[("fct_billing_discrepancies", MONTH_TWO)]
    )
    assert old_file.exists()  # retired, kept for readers of the previous catalog
    assert replaced[("rpt_monthly_summary", MONTH_ONE)] == summary_one  # unchanged: not rewritten
    monkeypatch.setenv("RECON_PUBLISH_KEEP_SECONDS", "0")
    publish_month(settings, MONTH_TWO, target_dir(settings) / "manifest.json")
    assert not old_file.exists()
    referenced = {catalog.parent / path for path in _partitions(catalog).values()}
    on_disk = set(catalog.parent.glob("*/*.parquet"))
    assert on_disk == referenced  # nothing else left behind
