"""One flow, both engines: the project on Snowflake, proven against the local emulator fakesnow.

The runs are the session fixture `snowflake_flow_runs` (tests/python/snowflake_runs.py), used
by this module only (pytest-xdist runs a module on one worker: the runs happen once): the same
generated raw files (recon_testkit.generate: every finding type, every kind of noise), two months,
decisions recorded between them, through `monthly_reconciliation` with RECON_TARGET=duckdb
and RECON_TARGET=snowflake_emulator (load the RAW tables, dbt build through dbt-snowflake in
the build schema, publish to the published schema, export from it), then month two again on
the emulator with a decision naming an unknown finding. This module checks that:

- the CSV and the workbook are the same on both engines, and so are the flow's numbers;
- every published mart is the same on both engines, row for row, after types are normalised
  (decimals, dates, booleans); the RAW tables equal DuckDB's, each row once after three loads;
- a failed build leaves the published schema and the reports as they were; the marts it
  rebuilt have the same rows (re-running a month replaces it);
- dbt's unit tests pass on the emulator; the dashboard's queries read the same;
- prefect.yaml, session parameters and Secret blocks (no flow run needed).

The only difference allowed between the engines: fakesnow reads a NULL timestamp as 1970-01-01
(snowflake_runs.NULL_TIMESTAMP_COLUMNS: decided_at), mapped back to NULL before comparing; and
the workbook's generated_at_utc is the time of each export. fakesnow translates Snowflake SQL
to DuckDB, so this proves the Snowflake code path of the project, not Snowflake's own engine:
see docs/snowflake.md for what it does not prove.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from dbt_helpers import dbt_env_isolated
from snowflake_runs import (
    BUILD_SCHEMA,
    CREDITED_AT,
    EMULATOR,
    EPOCH,
    EPOCH_TEXT,
    MONTHS,
    NULL_TIMESTAMP_COLUMNS,
    PUBLISHED_MARTS,
    PUBLISHED_SCHEMA,
    FlowRuns,
    emulator_query,
    epoch_as_null,
    sorted_rows,
)

from recon import vocabulary
from recon.config import PROJECT_DIR, Settings
from recon.export import CSV_ENCODING, SHEETS, SUMMARY_HEADER_ROW, TREND_HEADER_ROW
from recon.load import FAMILIES

DBT_TIMEOUT_SECONDS = 600  # a query fakesnow cannot run can make the connector retry forever


# --------------------------------------------------------------------------- the report files
def _csv_rows(path: Path) -> list[list[str]]:
    with path.open(encoding=CSV_ENCODING, newline="") as handle:
        return list(csv.reader(handle))


def _csv_bytes(rows: list[list[str]]) -> bytes:
    """The rows as recon/export.py writes them (csv module defaults, UTF-8 with a BOM)."""
    out = io.StringIO(newline="")
    csv.writer(out).writerows(rows)
    return out.getvalue().encode(CSV_ENCODING)


def _epoch_cells_emptied(rows: list[list[str]]) -> list[list[str]]:
    header, *body = rows
    positions = {index for index, name in enumerate(header) if name in NULL_TIMESTAMP_COLUMNS}
    return [
        header,
        *[
            [
                "" if index in positions and cell == EPOCH_TEXT else cell
                for index, cell in enumerate(row)
            ]
            for row in body
        ],
    ]


@pytest.mark.parametrize("month", MONTHS)
def test_the_csv_report_is_the_same_on_both_engines(month: str, snowflake_flow_runs: FlowRuns):
    name = f"{month}/reconciliation_{month}.csv"
    on_duckdb = (snowflake_flow_runs.duckdb.report_dir / name).read_bytes()
    on_emulator = (snowflake_flow_runs.emulator.report_dir / name).read_bytes()
    duckdb_rows = _csv_rows(snowflake_flow_runs.duckdb.report_dir / name)
    assert _csv_bytes(duckdb_rows) == on_duckdb, "the comparison must rewrite files exactly"
    emulator_rows = _epoch_cells_emptied(_csv_rows(snowflake_flow_runs.emulator.report_dir / name))
    assert len(duckdb_rows) > 40, "the month's report should list every customer-product"
    for row_number, (expected, actual) in enumerate(zip(duckdb_rows, emulator_rows, strict=True)):
        assert actual == expected, f"{name} line {row_number + 1}"
    assert _csv_bytes(emulator_rows) == on_duckdb
    if month == MONTHS[1]:  # the decision recorded before month two is in its report
        decided_at = duckdb_rows[0].index("decided_at")
        assert CREDITED_AT in [row[decided_at] for row in duckdb_rows[1:]]
    assert (
        on_emulator.count(EPOCH_TEXT.encode())
        == sum(  # only NULL decisions were mapped
            row[duckdb_rows[0].index("decided_at")] == "" for row in duckdb_rows[1:]
        )
    )


def _sheet(workbook: Any, name: str) -> list[list[tuple[Any, str]]]:
    """Each cell's value and number format."""
    return [
        [(cell.value, cell.number_format) for cell in row] for row in workbook[name].iter_rows()
    ]


HEADER_ROWS = {"Summary": SUMMARY_HEADER_ROW, "Trend": TREND_HEADER_ROW}


def _workbook_cells(path: Path, map_epoch: bool) -> dict[str, list[list[tuple[Any, str]]]]:
    import openpyxl

    workbook = openpyxl.load_workbook(path)
    sheets = {}
    for name in workbook.sheetnames:
        rows = _sheet(workbook, name)
        if name == "Summary":  # the time of the export
            rows = [row for row in rows if row[0][0] != vocabulary.header("generated_at_utc")]
        header_row = HEADER_ROWS.get(name, 0)
        if map_epoch and len(rows) > header_row:
            names = [value for value, _ in rows[header_row]]
            headers = {vocabulary.header(column) for column in NULL_TIMESTAMP_COLUMNS}
            positions = {i for i, column in enumerate(names) if column in headers}
            rows = [
                [
                    (None, cell[1]) if index in positions and cell[0] in EPOCH else cell
                    for index, cell in enumerate(row)
                ]
                for row in rows
            ]
        sheets[name] = rows
    return sheets


@pytest.mark.parametrize("month", MONTHS)
def test_the_workbook_is_the_same_on_both_engines(month: str, snowflake_flow_runs: FlowRuns):
    name = f"{month}/reconciliation_{month}.xlsx"
    on_duckdb = _workbook_cells(snowflake_flow_runs.duckdb.report_dir / name, map_epoch=False)
    on_emulator = _workbook_cells(snowflake_flow_runs.emulator.report_dir / name, map_epoch=True)
    assert list(on_duckdb) == list(on_emulator) == list(SHEETS)
    for sheet in SHEETS:
        assert len(on_duckdb[sheet]) > 1, f"{sheet} is empty: nothing was compared"
        for row_number, (expected, actual) in enumerate(
            zip(on_duckdb[sheet], on_emulator[sheet], strict=True)
        ):
            assert actual == expected, f"{name}, sheet {sheet}, row {row_number + 1}"
    trend_months = {row[0][0] for row in on_duckdb["Trend"][TREND_HEADER_ROW + 1 :]}
    assert len(trend_months) == MONTHS.index(month) + 1


MEASURES = (
    "report_rows",
    "customer_products",
    "billing_match_rate",
    "overbilled_amount",
    "underbilled_amount",
    "account_findings",
    "new_account_findings",
    "provider_findings",
    "data_quality_issues",
    "seats_above_entitlement",
    "seats_below_entitlement",
    "true_up_amount",
    "raw_file_warnings",
    "published_partitions",
)


@pytest.mark.parametrize("month", MONTHS)
def test_the_flow_returns_the_same_numbers_on_both_engines(
    month: str, snowflake_flow_runs: FlowRuns
):
    on_duckdb = snowflake_flow_runs.duckdb.results[month]
    on_emulator = snowflake_flow_runs.emulator.results[month]
    assert {name: on_emulator[name] for name in MEASURES} == {
        name: on_duckdb[name] for name in MEASURES
    }
    assert (on_duckdb["target"], on_emulator["target"]) == ("duckdb", "snowflake_emulator")
    if month == MONTHS[1]:  # is_new and the trend: month two has recurring findings
        assert 0 < on_duckdb["new_account_findings"] < on_duckdb["account_findings"]


def test_the_build_cost_is_reported(snowflake_flow_runs: FlowRuns):
    """The summary's build seconds are the sum of the nodes' execution_time; the emulator's
    dbt-snowflake reports a query id per node, DuckDB none."""
    for run in (snowflake_flow_runs.duckdb, snowflake_flow_runs.emulator):
        result = run.results[MONTHS[1]]
        assert result["build_nodes"] == result["dbt_nodes"] > 100
        assert result["build_seconds"] > 0
        slowest = result["build_slowest_nodes"]
        assert len(slowest) == 5 and slowest[0]["seconds"] >= slowest[-1]["seconds"]
    assert snowflake_flow_runs.duckdb.results[MONTHS[1]]["build_query_ids"] == 0
    emulated = snowflake_flow_runs.emulator.results[MONTHS[1]]
    assert emulated["build_query_ids"] >= emulated["build_nodes"] - 10  # hooks, exposures
    assert all(node["query_id"] for node in emulated["build_slowest_nodes"])


# --------------------------------------------------------------------------- the flow's steps
def _task_names(flow_run_id: str) -> set[str]:
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, TaskRunFilter

    names: set[str] = set()
    with get_client(sync_client=True) as client:
        offset = 0
        while True:
            page = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id={"any_": [flow_run_id]}),
                task_run_filter=TaskRunFilter(name={"like_": "load-raw-files"}),
                limit=200,
                offset=offset,
            )
            names |= {task.name for task in page}
            if len(page) < 200:
                return names
            offset += 200


def test_the_raw_files_are_loaded_on_snowflake_only(snowflake_flow_runs: FlowRuns):
    """The load-raw-files task runs on the emulator (every family, entitlements included, each
    row once after three loads: two months and the failed re-run), not on DuckDB."""
    emulator = snowflake_flow_runs.emulator.flow_run_ids
    duckdb = snowflake_flow_runs.duckdb.flow_run_ids
    assert all(
        any(n.startswith("load-raw-files") for n in _task_names(i)) for i in emulator.values()
    )
    assert not any(_task_names(flow_run_id) for flow_run_id in duckdb.values())

    raw_dir = snowflake_flow_runs.dataset.raw_dir
    expected = 0
    for path in sorted(raw_dir.glob("contract_entitlements*.csv")):
        with path.open(newline="", encoding="utf-8-sig") as handle:
            expected += sum(1 for row in csv.reader(handle) if row) - 1
    _, rows = emulator_query(
        snowflake_flow_runs.emulator_port,
        "select count(*), count(distinct _file_name || ':' || _source_row_number),"
        " count(distinct entitlement_id) from raw.contract_entitlements",
    )
    ((count, distinct_positions, entitlements),) = rows
    assert expected > 10
    assert (count, distinct_positions) == (expected, expected)
    assert entitlements > 10


# --------------------------------------------------------------------------- a failed build
def test_a_failed_build_leaves_the_published_schema_as_it_was(snowflake_flow_runs: FlowRuns):
    failed = snowflake_flow_runs.failed_rerun
    assert "assert_every_decision_names_a_known_finding" in failed.error
    for table, rows in failed.published_before.items():
        assert rows, f"published {table} is empty: nothing was compared"
        assert failed.published_after[table] == rows, f"published {table} changed"
    assert failed.reports_after == failed.reports_before
    # The build schema was written: the failed build re-ran month two there (the models
    # upstream of the failed test), and stopped what depends on fct_billing_discrepancies.
    assert failed.node_statuses["fct_billing_discrepancies"] == "success"
    assert failed.node_statuses["rpt_finance_report"] == "skipped"
    _, decisions = emulator_query(
        snowflake_flow_runs.emulator_port,
        f"select count(*) from {BUILD_SCHEMA}.discrepancy_resolutions",
    )
    assert decisions[0][0] == 3  # the two decisions and the unknown one: the build's seed


def test_the_rebuilt_marts_of_the_failed_rerun_have_the_same_rows(snowflake_flow_runs: FlowRuns):
    """Re-running month two replaced its rows in every mart it rebuilt (replace_month on the
    emulator): the same rows, no duplicates, month one untouched."""
    failed = snowflake_flow_runs.failed_rerun
    rebuilt = [mart for mart in PUBLISHED_MARTS if failed.node_statuses.get(mart) == "success"]
    assert {"fct_provider_counts_monthly", "fct_billing_discrepancies"} <= set(rebuilt)
    for mart in rebuilt:
        assert failed.build_after[mart] == failed.build_before[mart], mart


# --------------------------------------------------------------------------- prefect.yaml
SECRET_VARIABLES = ("SNOWFLAKE_PASSWORD", "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE", "SNOWFLAKE_TOKEN")
SECRET_MARKERS = ("-----BEGIN", "PRIVATE KEY", "password:", "passphrase:", "token:", "secret:")


def secrets_in_prefect_yaml(text: str) -> list[str]:
    """Secret values written in a prefect.yaml: a secret variable given a value in a
    deployment's job variables, or text that only credentials contain."""
    config = yaml.safe_load(text)
    found = []
    for deployment in config.get("deployments") or []:
        env = ((deployment.get("work_pool") or {}).get("job_variables") or {}).get("env") or {}
        found += [
            f"{deployment['name']}: {name}"
            for name in env
            if name in SECRET_VARIABLES or name.endswith(("_PASSWORD", "_PASSPHRASE", "_KEY"))
        ]
    lowered = [line.split("#", 1)[0].lower() for line in text.splitlines()]
    found += [
        marker for marker in SECRET_MARKERS if any(marker.lower() in line for line in lowered)
    ]
    return found


def test_prefect_yaml_holds_no_secret_and_both_deployments_share_the_schedule():
    text = (PROJECT_DIR / "prefect.yaml").read_text(encoding="utf-8")
    deployments = {d["name"]: d for d in yaml.safe_load(text)["deployments"]}
    duckdb, snowflake = (
        deployments["monthly-reconciliation"],
        deployments["monthly-reconciliation-snowflake"],
    )
    assert snowflake["schedules"] == duckdb["schedules"]
    assert snowflake["schedules"][0]["cron"] == "0 6 2 * *"
    assert snowflake["entrypoint"] == duckdb["entrypoint"]
    assert snowflake["parameters"] == duckdb["parameters"] == {"billing_month": None}
    assert snowflake["work_pool"]["job_variables"]["env"] == {"RECON_TARGET": "snowflake"}
    assert snowflake["concurrency_limit"] == 1
    assert secrets_in_prefect_yaml(text) == []
    # the check finds a secret written in the file
    planted = text.replace(
        "RECON_TARGET: snowflake", "RECON_TARGET: snowflake\n          SNOWFLAKE_PASSWORD: hunter2"
    )
    assert "monthly-reconciliation-snowflake: SNOWFLAKE_PASSWORD" in secrets_in_prefect_yaml(
        planted
    )
    assert secrets_in_prefect_yaml(text + "\n# a comment with password: is fine\n") == []
    assert secrets_in_prefect_yaml(text + "\nkey: '-----BEGIN PRIVATE KEY-----'\n") != []


# --------------------------------------------------------------------------- sessions and secrets
def _snowflake_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("RECON_", "SNOWFLAKE_")):
            monkeypatch.delenv(name)
    for name, value in {
        "SNOWFLAKE_ACCOUNT": "example-account",
        "SNOWFLAKE_USER": "recon_service",
        "SNOWFLAKE_ROLE": "RECON_BUILDER",
        "SNOWFLAKE_WAREHOUSE": "RECON_WH",
        "SNOWFLAKE_DATABASE": "ANALYTICS",
    }.items():
        monkeypatch.setenv(name, value)


def test_every_recon_session_has_the_query_tag_and_a_statement_timeout(monkeypatch):
    from recon.load import connection_kwargs

    _snowflake_env(monkeypatch)
    monkeypatch.setenv("SNOWFLAKE_PASSWORD", "not-a-secret")
    for target in ("snowflake", "snowflake_emulator"):
        parameters = connection_kwargs(target)["session_parameters"]
        assert parameters == {"QUERY_TAG": "provider_recon", "STATEMENT_TIMEOUT_IN_SECONDS": 3600}
    monkeypatch.setenv("RECON_SNOWFLAKE_STATEMENT_TIMEOUT_SECONDS", "900")
    monkeypatch.setenv("SNOWFLAKE_QUERY_TAG", "recon_prod")
    assert connection_kwargs("snowflake")["session_parameters"] == {
        "QUERY_TAG": "recon_prod",
        "STATEMENT_TIMEOUT_IN_SECONDS": 900,
    }
    for bad in ("0", "-5", "an hour"):
        monkeypatch.setenv("RECON_SNOWFLAKE_STATEMENT_TIMEOUT_SECONDS", bad)
        with pytest.raises(ValueError, match="RECON_SNOWFLAKE_STATEMENT_TIMEOUT_SECONDS"):
            connection_kwargs("snowflake")


def test_the_password_can_come_from_a_prefect_secret_block(prefect_harness, monkeypatch):
    """Read at run time, only when SNOWFLAKE_PASSWORD is unset, and only for the run."""
    import uuid

    from prefect.blocks.system import Secret

    from recon.load import connection_kwargs, secrets_from_blocks

    _snowflake_env(monkeypatch)
    password = f"from-block-{uuid.uuid4().hex}"
    block = f"recon-snowflake-password-{uuid.uuid4().hex[:8]}"
    Secret(value=password).save(block)
    monkeypatch.setenv("RECON_SNOWFLAKE_PASSWORD_BLOCK", block)
    with pytest.raises(ValueError, match="SNOWFLAKE_PASSWORD"):
        connection_kwargs("snowflake")  # outside the run: not read
    with secrets_from_blocks() as from_blocks:
        assert from_blocks == ["SNOWFLAKE_PASSWORD"]
        assert connection_kwargs("snowflake")["password"] == password
    assert "SNOWFLAKE_PASSWORD" not in os.environ
    monkeypatch.setenv("SNOWFLAKE_PASSWORD", "from-the-environment")
    with secrets_from_blocks() as from_blocks:  # the environment wins; the block is not read
        assert from_blocks == []
        assert os.environ["SNOWFLAKE_PASSWORD"] == "from-the-environment"
    monkeypatch.delenv("SNOWFLAKE_PASSWORD")
    monkeypatch.setenv("RECON_SNOWFLAKE_PASSWORD_BLOCK", f"{block}-missing")
    with pytest.raises(ValueError), secrets_from_blocks():
        pass


def test_published_dates_and_numbers_come_back_as_python_values(snowflake_flow_runs: FlowRuns):
    """What the export reads from Snowflake (recon/marts.py): dates as dates, decimals with
    their scale, integers as int, booleans as bool, timestamps as datetimes."""
    from decimal import Decimal

    from recon.marts import MartReader

    os.environ["RECON_EMULATOR_PORT"] = str(snowflake_flow_runs.emulator_port)
    try:
        reader = MartReader("snowflake_emulator", Path(), "recon")
        rows = reader.query(
            "select billing_month, amount_delta, billable_providers, is_match, decided_at"
            " from {schema}.rpt_finance_report where billing_month = ? and decided_at is not null",
            [datetime.date.fromisoformat(f"{MONTHS[1]}-01")],
        )
    finally:
        del os.environ["RECON_EMULATOR_PORT"]
    ((month, amount, billable, is_match, decided_at),) = rows.rows
    assert month == datetime.date.fromisoformat(f"{MONTHS[1]}-01")
    assert isinstance(amount, Decimal) and amount.as_tuple().exponent == -2
    assert isinstance(billable, int) and isinstance(is_match, bool)
    assert decided_at == datetime.datetime.fromisoformat(CREDITED_AT)


def _duckdb_published(runs: FlowRuns, mart: str) -> tuple[list[str], list[tuple]]:
    with duckdb.connect(str(runs.duckdb.published_catalog), read_only=True) as connection:
        relation = connection.sql(f"select * from recon.{mart}")
        return relation.columns, relation.fetchall()


# --------------------------------------------------------------------------- the published marts
@pytest.mark.parametrize("mart", PUBLISHED_MARTS)
def test_published_mart_equals_duckdb(mart: str, snowflake_flow_runs: FlowRuns) -> None:
    duckdb_columns, duckdb_rows = _duckdb_published(snowflake_flow_runs, mart)
    columns, rows = emulator_query(
        snowflake_flow_runs.emulator_port, f"select * from {PUBLISHED_SCHEMA}.{mart}"
    )
    assert columns == duckdb_columns
    expected = sorted_rows(duckdb_rows)
    actual = sorted_rows(epoch_as_null(columns, rows))
    assert expected, f"{mart} is empty on DuckDB: nothing was compared"
    missing = [row for row in expected if row not in actual]
    unexpected = [row for row in actual if row not in expected]
    assert actual == expected, (
        f"{mart}: {len(expected)} rows on DuckDB, {len(actual)} on the emulator\n"
        f"only on DuckDB: {missing[:5]}\nonly on the emulator: {unexpected[:5]}"
    )


def test_both_months_and_every_finding_type_were_compared(snowflake_flow_runs: FlowRuns) -> None:
    def column(mart: str, name: str) -> set:
        columns, rows = _duckdb_published(snowflake_flow_runs, mart)
        return {row[columns.index(name)] for row in rows}

    months = {str(month) for month in column("fct_provider_counts_monthly", "billing_month")}
    assert months == {f"{month}-01" for month in MONTHS}
    assert column("fct_billing_discrepancies", "discrepancy_type") == {
        "OVERBILLED",
        "UNDERBILLED",
        "UNBILLED_USAGE",
        "MISSING_FROM_CRM",
        "ACCOUNT_NOT_ACTIVE_IN_CRM",
        "GO_LIVE_MISMATCH",
    }
    assert column("fct_provider_discrepancies", "discrepancy_type") == {
        "PROVIDER_MISSING_FROM_CRM",
        "PROVIDER_INACTIVE_IN_CRM",
        "PROVIDER_NOT_LIVE",
        "PROVIDER_NAME_MISMATCH",
    }
    assert column("fct_entitlement_findings", "finding_type") == {
        None,
        "USAGE_ABOVE_ENTITLEMENT",
        "USAGE_BELOW_ENTITLEMENT",
        "NO_ENTITLEMENT",
    }
    assert column("fct_discrepancy_resolutions", "resolution_status") >= {"open", "disputed"}


def test_null_timestamps_are_stored_as_null(snowflake_flow_runs: FlowRuns) -> None:
    """What NULL_TIMESTAMP_COLUMNS relies on: the emulator stores NULL, only reads it as 1970."""
    sql = "select count(*) from recon.fct_discrepancy_resolutions where decided_at is null"
    with duckdb.connect(str(snowflake_flow_runs.duckdb.published_catalog), read_only=True) as db:
        ((on_duckdb,),) = db.sql(sql).fetchall()
    _, rows = emulator_query(snowflake_flow_runs.emulator_port, sql)
    assert on_duckdb > 0
    assert rows[0][0] == on_duckdb


# --------------------------------------------------------------------------- RAW tables
@pytest.mark.parametrize("family", list(FAMILIES))
def test_raw_tables_equal_the_duckdb_raw_tables(family: str, snowflake_flow_runs: FlowRuns) -> None:
    """The loader's tables hold what DuckDB ingests from the files: the same columns and
    values, file names and positions, each row once (the flow loaded them three times)."""
    sql = f"select * exclude (_loaded_at) from raw.{family}"
    with duckdb.connect(str(snowflake_flow_runs.duckdb.duckdb_path), read_only=True) as db:
        relation = db.sql(sql)
        duckdb_columns, duckdb_rows = relation.columns, relation.fetchall()
    columns, rows = emulator_query(snowflake_flow_runs.emulator_port, sql)
    assert sorted(columns) == sorted(duckdb_columns)
    reorder = [columns.index(column) for column in duckdb_columns]
    reordered = [tuple(row[position] for position in reorder) for row in rows]
    assert len(duckdb_rows) > 10
    assert sorted_rows(reordered) == sorted_rows(duckdb_rows)


# --------------------------------------------------------------------------- dbt and readers
def test_dbt_unit_tests_pass_on_the_emulator(
    snowflake_flow_runs: FlowRuns, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dbt's unit tests (the SQL of the rules) on the Snowflake code path, over the relations
    the flow built (the monthly build leaves them out; DuckDB runs them in the rest of the
    suite)."""
    from recon.dbt import dbt_args, dbt_env

    env = snowflake_flow_runs.emulator.env
    settings = Settings(
        project_dir=PROJECT_DIR,
        raw_dir=Path(env["RECON_RAW_DIR"]),
        seeds_dir=Path(env["RECON_SEEDS_DIR"]),
        duckdb_path=Path(env["RECON_DUCKDB_PATH"]),
        report_dir=Path(env["RECON_REPORT_DIR"]),
        target=EMULATOR,
        resolutions_dir=Path(env["RECON_RESOLUTIONS_DIR"]),
    )
    monkeypatch.setenv("DBT_TARGET_PATH", env["DBT_TARGET_PATH"])  # where the seeds are staged
    dbt = Path(sys.executable).parent / "dbt"
    result = subprocess.run(
        [str(dbt), *dbt_args("test", settings, "--select", "test_type:unit")],
        env={**dbt_env_isolated(), **env, **dbt_env(settings, MONTHS[1])},
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=DBT_TIMEOUT_SECONDS,
    )
    assert result.returncode == 0, result.stdout[-6000:]
    results = json.loads((Path(env["DBT_TARGET_PATH"]) / "run_results.json").read_text())
    statuses = {r["unique_id"]: r["status"] for r in results["results"]}
    unit_tests = {name: status for name, status in statuses.items() if name.startswith("unit_")}
    assert len(unit_tests) > 20 and set(unit_tests.values()) == {"pass"}
    others = set(statuses) - set(unit_tests)  # the on-run-start hooks only (RAW, the month)
    assert others and all(
        name.startswith("operation.provider_recon.provider_recon-on-run-start-") for name in others
    ), others


def _frame_rows(frame: Any) -> list[tuple]:
    """A DataFrame's rows as plain Python values (NULL as None), for sorted_rows."""
    import pandas as pd

    def plain(value: Any) -> Any:
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return None
        if isinstance(value, pd.Timestamp):
            return value.to_pydatetime()
        return value.item() if hasattr(value, "item") else value

    return [tuple(plain(value) for value in row) for row in frame.itertuples(index=False)]


@pytest.mark.parametrize("query", ["summary", "provider_counts", "findings", "billable_providers"])
def test_dashboard_reads_the_same_from_snowflake(
    query: str, snowflake_flow_runs: FlowRuns, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dashboard's queries (recon/dashboard/data.py) on the Snowflake path give what they
    give on DuckDB, both over the published marts."""
    from recon.dashboard.data import MartSource
    from recon.marts import MART_SCHEMA, MartReader

    monkeypatch.setenv("RECON_EMULATOR_PORT", str(snowflake_flow_runs.emulator_port))
    month_two = datetime.date.fromisoformat(f"{MONTHS[1]}-01")
    parameters = [] if query in ("summary", "provider_counts") else [month_two]
    catalog = snowflake_flow_runs.duckdb.published_catalog
    on_duckdb = MartSource(MartReader("duckdb", catalog, MART_SCHEMA)).query(query, *parameters)
    on_emulator = MartSource(MartReader(EMULATOR, Path(), PUBLISHED_SCHEMA)).query(
        query, *parameters
    )
    assert list(on_emulator.columns) == list(on_duckdb.columns)
    assert len(on_duckdb) > 0, f"{query} is empty on DuckDB: nothing was compared"
    emulator_rows = epoch_as_null(list(on_emulator.columns), _frame_rows(on_emulator))
    assert sorted_rows(emulator_rows) == sorted_rows(_frame_rows(on_duckdb))
