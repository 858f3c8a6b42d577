"""The monthly flow end to end on a small hand-made dataset (tests/python/conftest.py)."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from flows.monthly_reconciliation import (
    deployment_schedule,
    monthly_reconciliation,
    resolve_billing_month,
    served_deployment,
)
from recon.dbt import DbtBuildFailed
from recon.export import FORMULA_PREFIXES
from recon.validate import RawFilesInvalid

MONTH_ONE, MONTH_TWO = "2026-09", "2026-10"  # as in conftest.py
FACT_TABLES = (
    "fct_provider_counts_monthly",
    "fct_billing_discrepancies",
    "fct_provider_discrepancies",
    "fct_data_quality_issues",
)


def _rows_as_text(duckdb_path: Path, table: str, where: str, order_by: str) -> list[list[str]]:
    """The table's rows as DuckDB itself writes them as text (NULL as empty)."""
    with duckdb.connect(str(duckdb_path), read_only=True) as connection:
        columns = [row[0] for row in connection.execute(f"describe recon.{table}").fetchall()]
        casts = ", ".join(f"coalesce(cast({column} as varchar), '')" for column in columns)
        sql = f"select {casts} from recon.{table} where {where} order by {order_by}"
        return [list(row) for row in connection.execute(sql).fetchall()]


def _unneutralised(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_PREFIXES) else cell


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _snapshot(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): _digest(path)
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _month_rows(duckdb_path: Path, month: str) -> dict[str, int]:
    with duckdb.connect(str(duckdb_path), read_only=True) as connection:
        return {
            table: connection.execute(
                f"select count(*) from recon.{table} where billing_month = ?",
                [date.fromisoformat(f"{month}-01")],
            ).fetchall()[0][0]
            for table in FACT_TABLES
        }


# --------------------------------------------------------------------------- a good month
def test_report_csv_rows_equal_the_months_finance_report(reconciled_month):
    csv_path = Path(reconciled_month.result["report_csv"])
    assert csv_path == reconciled_month.report_dir / MONTH_ONE / f"reconciliation_{MONTH_ONE}.csv"
    with csv_path.open(encoding="utf-8-sig", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    expected = _rows_as_text(
        reconciled_month.duckdb_path,
        "rpt_finance_report",
        f"billing_month = '{MONTH_ONE}-01'",
        "impact_rank",
    )
    assert [[_unneutralised(cell) for cell in row] for row in rows] == expected
    assert header[:4] == ["customer_key", "account_id", "customer_name", "product_code"]
    # the dataset's six customer-products of the month, a match listed as a match
    assert len(rows) == 6
    labels = {row[header.index("customer_key")]: row[header.index("status_label")] for row in rows}
    assert labels["A2"] == "Match"
    assert labels["A1"] == "Billing mismatch"


def test_flow_result_has_paths_and_the_months_numbers(reconciled_month):
    result = reconciled_month.result
    assert result["billing_month"] == MONTH_ONE
    assert Path(result["report_xlsx"]).is_file()
    assert Path(result["data_docs"]).is_file()
    assert Path(result["data_docs"]).parent == reconciled_month.report_dir / MONTH_ONE / "data_docs"
    assert result["report_rows"] == 6
    assert result["overbilled_amount"] == pytest.approx(280.0)  # A1 +120, A6 +160
    # entitlements (conftest.py): A1 one seat above (120.00 at list price), A2 two below
    assert (result["seats_above_entitlement"], result["seats_below_entitlement"]) == (1, 2)
    assert result["true_up_amount"] == pytest.approx(120.0)
    assert result["underbilled_amount"] == pytest.approx(80.0)  # A4 unbilled usage
    assert result["raw_file_warnings"] == 1  # one event_at of eight is not a date
    assert result["dbt_nodes"] > 100


def test_dbt_docs_are_written_next_to_the_report(reconciled_month):
    docs = reconciled_month.report_dir / MONTH_ONE / "dbt_docs"
    assert Path(reconciled_month.result["dbt_docs"]) == docs / "static_index.html"
    manifest = json.loads((docs / "manifest.json").read_text(encoding="utf-8"))
    catalog = json.loads((docs / "catalog.json").read_text(encoding="utf-8"))
    report = manifest["nodes"]["model.provider_recon.rpt_finance_report"]
    assert report["description"].startswith("One row per customer and product")
    # the catalog holds the built table's columns, as the database has them
    assert "impact_rank" in catalog["nodes"]["model.provider_recon.rpt_finance_report"]["columns"]
    assert {"dashboard", "monthly_report"} <= {
        exposure["name"] for exposure in manifest["exposures"].values()
    }
    assert "rpt_finance_report" in (docs / "static_index.html").read_text(encoding="utf-8")


def test_the_build_is_one_task_and_artifacts_are_published(reconciled_month):
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, FlowRunFilter

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name={"any_": [f"reconcile-{MONTH_ONE}"]})
        )
        assert [run.state.type.value for run in runs] == ["COMPLETED"]
        # Task runs are recorded from events, asynchronously: wait until the last one is in.
        names: list[str] = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not any(
            name.startswith("export-report") for name in names
        ):
            names = [
                task.name
                for task in client.read_task_runs(
                    flow_run_filter=FlowRunFilter(id={"any_": [runs[0].id]}), limit=200
                )
            ]
            time.sleep(1)
        # Prefect names a task run <task name>-<three characters>
        steps = {re.sub(r"-[0-9a-z]{3}$", "", name) for name in names}
        assert f"validate-raw-files-{MONTH_ONE}" in names
        assert {"dbt-build", "publish", "export-report", "dbt-docs"} <= steps, sorted(names)
        assert not any(name.startswith(("model ", "test ")) for name in names)  # no task per node
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key={
                    "any_": [
                        "reconciliation-summary",
                        "reconciliation-largest-findings",
                        "dbt-build-results",
                    ]
                },
                # this run's (the session's Prefect API also holds test_snowflake_flow.py's)
                flow_run_id={"any_": [runs[0].id]},
            )
        )
    kinds = {artifact.key: artifact.type for artifact in artifacts}
    assert kinds == {
        "reconciliation-summary": "markdown",
        "reconciliation-largest-findings": "table",
        "dbt-build-results": "table",
    }
    build_results = next(a for a in artifacts if a.key == "dbt-build-results")
    assert "model.provider_recon." in str(build_results.data)  # the slowest nodes, named
    summary = next(a for a in artifacts if a.key == "reconciliation-summary")
    assert f"# Provider reconciliation {MONTH_ONE}" in summary.data
    assert "280.00" in summary.data
    assert "| Seats above entitlement | 1 |" in summary.data
    assert "| Seats below entitlement | 2 |" in summary.data
    assert "| True-up at list price | $120.00 |" in summary.data
    assert "| Billing match rate | 50.0% |" in summary.data  # A2, A5 and Ghost Clinic of six
    # the largest findings in the words and headers of the workbook's Findings sheet
    largest = next(a for a in artifacts if a.key == "reconciliation-largest-findings")
    rows = json.loads(largest.data) if isinstance(largest.data, str) else largest.data
    assert (rows[0]["Customer"], rows[0]["Product"], rows[0]["Status"]) == (
        "@At Health", "EHR", "Billing mismatch",
    )  # fmt: skip
    assert rows[0]["Dollar impact"] == pytest.approx(160.0)
    ghost = next(row for row in rows if row["Status"] == "Missing from CRM")
    assert (ghost["Product"], ghost["Dollar impact"]) == ("All products", None)


# --------------------------------------------------------------------------- bad runs
def test_missing_column_stops_before_anything_is_written(
    copy_of_month_one: dict[str, str], monkeypatch: pytest.MonkeyPatch
):
    for name, value in copy_of_month_one.items():
        monkeypatch.setenv(name, value)
    root = Path(copy_of_month_one["RECON_REPORT_DIR"]).parent
    duckdb_path = Path(copy_of_month_one["RECON_DUCKDB_PATH"])
    broken = Path(copy_of_month_one["RECON_RAW_DIR"]) / "ops_intake_log_2026_10.csv"
    header, *lines = broken.read_text(encoding="utf-8").splitlines()
    broken.write_text(
        "\n".join([header.replace(",npi,", ",npi_number,"), *lines]) + "\n", encoding="utf-8"
    )
    database_before = _digest(duckdb_path)
    reports_before = _snapshot(root / "reports")

    with pytest.raises(RawFilesInvalid) as raised:
        monthly_reconciliation(MONTH_TWO)

    message = str(raised.value)
    assert "ops_intake_log_2026_10.csv" in message
    assert "column npi" in message and "'npi' is missing" in message
    assert _digest(duckdb_path) == database_before
    assert _snapshot(root / "reports") == reports_before
    assert not (root / "reports" / MONTH_TWO).exists()
    assert set(_month_rows(duckdb_path, MONTH_TWO).values()) == {0}
    month_one_rows = _month_rows(duckdb_path, MONTH_ONE)
    assert month_one_rows["fct_provider_counts_monthly"] == 6


def test_failing_data_test_stops_the_run_before_the_export(
    copy_of_month_one: dict[str, str], monkeypatch: pytest.MonkeyPatch
):
    for name, value in copy_of_month_one.items():
        monkeypatch.setenv(name, value)
    root = Path(copy_of_month_one["RECON_REPORT_DIR"]).parent
    products = Path(copy_of_month_one["RECON_SEEDS_DIR"]) / "products.csv"
    products.write_text(
        products.read_text(encoding="utf-8") + "RCM,Revenue Cycle Again,true,99.00\n",
        encoding="utf-8",
    )

    with pytest.raises(DbtBuildFailed) as raised:
        monthly_reconciliation(MONTH_TWO)

    assert "unique_products_product_code" in str(raised.value)
    assert not (root / "reports" / MONTH_TWO / f"reconciliation_{MONTH_TWO}.csv").exists()
    assert not (root / "reports" / MONTH_TWO / f"reconciliation_{MONTH_TWO}.xlsx").exists()
    assert set(_month_rows(root / "warehouse.duckdb", MONTH_TWO).values()) == {0}


# --------------------------------------------------------------------------- month and schedule
def test_billing_month_defaults_to_the_previous_calendar_month():
    assert resolve_billing_month(None, today=date(2027, 1, 2)) == "2026-12"
    assert resolve_billing_month("", today=date(2026, 3, 31)) == "2026-02"
    assert resolve_billing_month(" 2026-10 ") == "2026-10"
    for bad in ("2026-13", "2026-1", "October"):
        with pytest.raises(ValueError, match="YYYY-MM"):
            resolve_billing_month(bad)


def test_deployment_and_serve_share_the_schedule(monkeypatch: pytest.MonkeyPatch):
    import yaml

    monkeypatch.delenv("RECON_SCHEDULE_TIMEZONE", raising=False)
    assert deployment_schedule() == ("0 6 2 * *", "UTC")
    monkeypatch.setenv("RECON_SCHEDULE_TIMEZONE", "America/New_York")
    assert deployment_schedule() == ("0 6 2 * *", "America/New_York")

    config = yaml.safe_load((Path(__file__).parents[2] / "prefect.yaml").read_text())
    # the DuckDB deployment (the Snowflake one: test_snowflake_flow.py)
    (deployment,) = [d for d in config["deployments"] if d["name"] == "monthly-reconciliation"]
    assert deployment["parameters"] == {"billing_month": None}
    module, function = deployment["entrypoint"].split(":")
    assert (module, function) == ("flows/monthly_reconciliation.py", "monthly_reconciliation")
    assert monthly_reconciliation.name == "monthly-reconciliation"

    served = served_deployment()  # what `recon serve` serves
    (schedule,) = served.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone) == ("0 6 2 * *", "America/New_York")
    assert served.parameters == {"billing_month": None}
    assert served.entrypoint == deployment["entrypoint"]


def test_a_late_scheduled_run_reconciles_the_month_before_its_scheduled_day(
    monkeypatch: pytest.MonkeyPatch,
):
    """The machine was off on 2 September; the run scheduled then starts on 3 December: it
    reconciles August (the month before its scheduled day), not November."""
    from datetime import UTC, datetime
    from types import SimpleNamespace

    import flows.monthly_reconciliation as flow_module

    late = SimpleNamespace(
        scheduled_start_time=datetime(2026, 9, 2, 6, 0, tzinfo=UTC),
        parameters={"billing_month": None},
    )
    monkeypatch.setattr(flow_module, "flow_run", late)
    assert flow_module.scheduled_day() == date(2026, 9, 2)
    assert flow_module.run_name() == "reconcile-2026-08"
    late.parameters = {"billing_month": "2026-10"}  # a month given by hand wins
    assert flow_module.run_name() == "reconcile-2026-10"
