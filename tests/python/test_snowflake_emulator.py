"""The project on Snowflake, proven against the local emulator fakesnow (no account, no network).

The builds are the session fixture `snowflake_flow_runs` (tests/python/snowflake_runs.py): one
generated dataset (recon.generate: every finding type, every kind of noise) reconciled by the
monthly flow for two months on DuckDB and on the emulator (fakesnow in server mode; the raw
files loaded by `recon.load`, `dbt build` through dbt-snowflake on the profile target
`snowflake_emulator`, the month published by recon/publish_snowflake.py), then month two again
on the emulator (a build that fails its data test). test_snowflake_flow.py compares the
reports; this module compares what is under them:

- every published mart is the same on both engines, row for row, after types are normalised
  (decimals, dates, booleans);
- the RAW tables equal DuckDB's RAW tables, each row once after three loads, and a changed
  drop is replaced;
- publishing (small hand-made tables, no dbt): the month and the changed months only, new
  columns, a refused type change, a rolled-back transaction, and the reporting role's grants
  on the published schema only;
- dbt's unit tests pass on the emulator; the dashboard's queries read the same.

fakesnow translates Snowflake SQL to DuckDB, so this proves the Snowflake code path of the
project (dispatch macros, dbt-snowflake materializations, the loader, the publish), not
Snowflake's own engine: see docs/snowflake.md for what it does not prove.
"""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dbt_helpers import dbt_env_isolated, raw_row_count
from snowflake_runs import (
    EMULATOR,
    MONTHS,
    PUBLISHED_MARTS,
    PUBLISHED_SCHEMA,
    Dataset,
    FlowRuns,
    copy_raw_dir,
    emulator_connection,
    emulator_query,
    epoch_as_null,
    sorted_rows,
)

from recon.config import PROJECT_DIR, Settings
from recon.load import FAMILIES, load_raw_files
from recon.publish import Mart
from recon.publish_snowflake import (
    PublishRefused,
    grant_statements,
    publish_to_schema,
    widened_type,
)

DBT_TIMEOUT_SECONDS = 600  # a query fakesnow cannot run can make the connector retry forever


def _duckdb_published(runs: FlowRuns, mart: str) -> tuple[list[str], list[tuple]]:
    with duckdb.connect(str(runs.duckdb.published_catalog), read_only=True) as connection:
        relation = connection.sql(f"select * from recon.{mart}")
        return relation.columns, relation.fetchall()


# --------------------------------------------------------------------------- the marts
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


def test_reloading_a_changed_drop_replaces_its_rows(
    generated_dataset: Dataset, emulator_port: int, tmp_path: Path
) -> None:
    """A drop rewritten with a line fewer: its rows are replaced, the other drops are left as
    they were (positions are per file), and nothing is duplicated."""
    raw_dir = copy_raw_dir(generated_dataset, tmp_path / "raw")
    with emulator_connection(emulator_port) as connection:
        load_raw_files(connection, raw_dir, schema="raw_reload", report=lambda _: None)
        first_drop = sorted(raw_dir.glob("ops_intake_log*.csv"))[0]
        lines = first_drop.read_text(encoding="utf-8").splitlines(keepends=True)
        first_drop.write_text("".join(lines[:-1]), encoding="utf-8")
        messages: list[str] = []
        load_raw_files(connection, raw_dir, schema="raw_reload", report=messages.append)
        cursor = connection.cursor()
        cursor.execute(
            "select _file_name, count(*), count(distinct _source_row_number),"
            " min(_source_row_number), max(_source_row_number)"
            " from raw_reload.ops_intake_log group by _file_name order by _file_name"
        )
        loaded = cursor.fetchall()
    expected = []
    for path in sorted(raw_dir.glob("ops_intake_log*.csv")):
        count = raw_row_count(raw_dir, path.name)
        expected.append((path.name, count, count, 1, count))
    assert loaded == expected
    assert any("unchanged, skipped" in message for message in messages), messages
    assert sum("rows loaded into raw_reload.ops_intake_log" in m for m in messages) == 1, messages


# --------------------------------------------------------------------------- publishing
class Recording:
    """A connection that records every statement it is given. GRANT statements are recorded
    and not sent: fakesnow cannot parse GRANT; everything else runs on the emulator."""

    def __init__(self, connection: Any, fail_on: str = "") -> None:
        self.connection = connection
        self.statements: list[str] = []
        self.fail_on = fail_on

    def cursor(self) -> Any:
        recording = self
        cursor = self.connection.cursor()

        class Cursor:
            def execute(self, sql: str, parameters: Any = None) -> Any:
                recording.statements.append(sql)
                if recording.fail_on and sql.startswith(recording.fail_on):
                    raise RuntimeError(f"planted failure at: {sql}")
                if sql.startswith("grant "):
                    return self
                return cursor.execute(sql, parameters) if parameters else cursor.execute(sql)

            def __getattr__(self, name: str) -> Any:
                return getattr(cursor, name)

        return Cursor()


def _settings(published_schema: str) -> Settings:
    return Settings(
        project_dir=PROJECT_DIR,
        raw_dir=Path(),
        seeds_dir=Path(),
        duckdb_path=Path("unused.duckdb"),
        report_dir=Path(),
        target=EMULATOR,
        published_schema=published_schema,
    )


SMALL_MARTS = [
    Mart("by_month_built", "small_build", by_month=True, month_built_only=True),
    Mart("by_month_all", "small_build", by_month=True, month_built_only=False),
    Mart("whole", "small_build", by_month=False, month_built_only=False),
]


def _execute(connection: Any, *statements: str) -> None:
    cursor = connection.cursor()
    for statement in statements:
        cursor.execute(statement)


def _rows(connection: Any, relation: str) -> list[tuple]:
    cursor = connection.cursor()
    cursor.execute(f"select * from {relation}")
    return sorted_rows(cursor.fetchall())


@pytest.fixture
def small_build(emulator_port: int) -> Any:
    """A build schema of three small marts on the emulator: two months each."""
    with emulator_connection(emulator_port) as connection:
        _execute(
            connection,
            "drop schema if exists small_build cascade",
            "drop schema if exists small_published cascade",
            "create schema small_build",
            "create table small_build.by_month_built (billing_month date, n number(38,2),"
            " label varchar(10))",
            "insert into small_build.by_month_built values ('2026-09-01', 1.50, 'a'),"
            " ('2026-10-01', 2.25, 'b'), ('2026-10-01', 3.00, null)",
            "create table small_build.by_month_all (billing_month date, n number(38,0))",
            "insert into small_build.by_month_all values ('2026-09-01', 1), ('2026-10-01', 2)",
            "create table small_build.whole (k varchar, n number(38,0))",
            "insert into small_build.whole values ('x', 1), ('y', 2)",
        )
        yield connection


def test_publish_writes_the_month_and_the_changed_months_only(small_build: Any) -> None:
    settings = _settings("small_published")
    first = publish_to_schema(settings, "2026-10", SMALL_MARTS, small_build)
    assert first.partitions == {
        "by_month_built": ["2026-10"],  # incremental by month: the month built only
        "by_month_all": ["2026-09", "2026-10"],  # both months differ from nothing
        "whole": ["all"],
    }
    assert _rows(small_build, "small_published.by_month_built") == sorted_rows(
        [(datetime.date(2026, 10, 1), 2.25, "b"), (datetime.date(2026, 10, 1), 3.0, None)]
    )
    assert len(_rows(small_build, "small_published.by_month_all")) == 2
    # a past month of the summary-like mart changes; the month built is published again
    _execute(small_build, "update small_build.by_month_all set n = 5 where n = 1")
    second = publish_to_schema(settings, "2026-10", SMALL_MARTS, small_build)
    assert second.partitions["by_month_all"] == ["2026-09", "2026-10"]
    third = publish_to_schema(settings, "2026-10", SMALL_MARTS, small_build)
    assert third.partitions["by_month_all"] == ["2026-10"]  # nothing else changed
    assert _rows(small_build, "small_published.by_month_all") == sorted_rows(
        [(datetime.date(2026, 9, 1), 5), (datetime.date(2026, 10, 1), 2)]
    )
    months = _rows(small_build, "small_published.published_months")
    assert [row[0] for row in months] == [datetime.date(2026, 10, 1)]
    assert months[0][2] == third.build_id


def test_publish_adds_new_columns_widens_and_refuses_a_type_change(small_build: Any) -> None:
    settings = _settings("small_published")
    publish_to_schema(settings, "2026-10", SMALL_MARTS, small_build)
    _execute(
        small_build,
        "alter table small_build.by_month_built add column note varchar",
        "update small_build.by_month_built set note = 'new'",
    )
    recording = Recording(small_build)
    publish_to_schema(settings, "2026-10", SMALL_MARTS, recording)
    assert any('add column "NOTE" VARCHAR' in sql for sql in recording.statements)
    rows = _rows(small_build, "small_published.by_month_built")
    assert {row[-1] for row in rows} == {"new"}  # the month built, with its new column

    _execute(small_build, "create or replace table small_build.whole (k number(38,0), n number)")
    before = _rows(small_build, "small_published.whole")
    with pytest.raises(PublishRefused, match=r"column K of small_published\.whole changed type"):
        publish_to_schema(settings, "2026-10", SMALL_MARTS, small_build)
    assert _rows(small_build, "small_published.whole") == before


def test_widened_type_lengthens_text_and_numbers_and_refuses_the_rest() -> None:
    assert widened_type("VARCHAR(10)", "VARCHAR(10)") is None
    assert widened_type("VARCHAR(10)", "VARCHAR(40)") == "VARCHAR(40)"
    assert widened_type("VARCHAR(40)", "VARCHAR(10)") is None  # already wide enough
    assert widened_type("NUMBER(18,2)", "NUMBER(38,2)") == "NUMBER(38,2)"
    for published, built in (("NUMBER(38,2)", "NUMBER(38,4)"), ("VARCHAR(10)", "NUMBER(38,0)")):
        with pytest.raises(PublishRefused):
            widened_type(published, built)


def test_a_failure_inside_the_publish_transaction_rolls_it_back(small_build: Any) -> None:
    settings = _settings("small_published")
    publish_to_schema(settings, "2026-09", SMALL_MARTS, small_build)
    tables = ("by_month_built", "by_month_all", "whole", "published_months")
    before = {table: _rows(small_build, f"small_published.{table}") for table in tables}
    recording = Recording(small_build, fail_on="insert into small_published.whole")
    with pytest.raises(RuntimeError, match="planted failure"):
        publish_to_schema(settings, "2026-10", SMALL_MARTS, recording)
    assert recording.statements[-1] == "rollback"
    assert recording.statements[-2].startswith("insert into small_published.whole")
    # the month's rows of the first two marts were deleted and inserted, then rolled back
    statements = recording.statements
    assert any(sql.startswith("delete from small_published.by_month_built") for sql in statements)
    after = {table: _rows(small_build, f"small_published.{table}") for table in tables}
    assert after == before


def test_the_reporting_role_is_granted_on_the_published_schema_only(
    small_build: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """After the commit: USAGE on the published schema and SELECT on each published table; the
    build schema is never named. dbt grants nothing (no `grants` on any node), so the build
    schema's tables are never readable by the reporting role."""
    monkeypatch.setenv("RECON_REPORTING_ROLE", "BI_READER")
    recording = Recording(small_build)
    publish_to_schema(_settings("small_published"), "2026-10", SMALL_MARTS, recording)
    grants = [sql for sql in recording.statements if sql.startswith("grant ")]
    assert grants == grant_statements(
        "small_published",
        ["by_month_built", "by_month_all", "whole", "published_months"],
        "BI_READER",
    )
    assert grants[0] == "grant usage on schema small_published to role BI_READER"
    assert grants[1] == "grant select on table small_published.by_month_built to role BI_READER"
    assert recording.statements.index("commit") < recording.statements.index(grants[0])
    assert not any("small_build" in sql for sql in grants)

    monkeypatch.setenv("RECON_REPORTING_ROLE", "BI_READER; drop table x")
    with pytest.raises(ValueError, match="RECON_REPORTING_ROLE"):
        publish_to_schema(_settings("small_published"), "2026-10", SMALL_MARTS, small_build)

    env = {
        **dbt_env_isolated(),
        "RECON_REPORTING_ROLE": "BI_READER",
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
    }
    dbt = Path(sys.executable).parent / "dbt"
    args = ["parse", "--project-dir", str(PROJECT_DIR), "--target", EMULATOR]
    args += ["--profiles-dir", str(PROJECT_DIR / "profiles")]
    subprocess.run([str(dbt), *args], env=env, cwd=PROJECT_DIR, check=True,
                   capture_output=True, timeout=DBT_TIMEOUT_SECONDS)  # fmt: skip
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    granted = {
        node["name"]: node["config"].get("grants")
        for node in manifest["nodes"].values()
        if node["resource_type"] in ("model", "seed", "snapshot")
    }
    assert "rpt_finance_report" in granted
    assert not any(granted.values()), {name: g for name, g in granted.items() if g}


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
