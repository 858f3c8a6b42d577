"""The project on Snowflake, proven against the local emulator fakesnow (no account, no network).

One generated dataset (recon.generate: every kind of noise) is reconciled twice:

- on DuckDB, the embedded default target;
- on the Snowflake emulator: fakesnow in server mode on a free local port, the raw files
  loaded by `recon.load` (the loader of `recon load --target snowflake`), and `dbt build`
  through dbt-snowflake (profile target `snowflake_emulator`).

Each engine builds two consecutive months and then the second again. Every mart must be the
same on both engines, row for row, after types are normalised (decimals, dates, booleans);
the RAW tables must equal the DuckDB views over the files, and loading twice must not
duplicate a row. dbt's unit tests run on the emulator in the second month's build.

fakesnow translates Snowflake SQL to DuckDB, so this proves the Snowflake code path of the
project (dispatch macros, dbt-snowflake materializations, the loader), not Snowflake's own
engine: see docs/snowflake.md for what it does not prove.
"""

from __future__ import annotations

import datetime
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
import snowflake.connector
from dbt_helpers import dbt_env_isolated, raw_row_count, settings_for

from recon.config import PROJECT_DIR
from recon.dbt import dbt_args, dbt_env
from recon.generate import generate
from recon.load import FAMILIES, connection_kwargs, load_raw_files

MONTHS = ("2026-09", "2026-10")
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
)
EMULATOR_SCHEMA = "recon"  # profiles.yml, target snowflake_emulator
DBT_TIMEOUT_SECONDS = 300  # a query fakesnow cannot run can make the connector retry forever
NO_UNIT_TESTS = ("--exclude-resource-type", "unit_test")


@dataclass(frozen=True)
class Run:
    """One engine's build of the dataset: its marts after each step."""

    marts: dict[str, list[tuple]]
    columns: dict[str, list[str]]
    marts_before_rerun: dict[str, list[tuple]]
    raw: dict[str, list[tuple]]
    database: str = ""  # DuckDB's file (empty for the emulator)


# --------------------------------------------------------------------------- normalising
def _normalise(value: Any) -> Any:
    """One spelling per value across engines: numbers as Decimal, midnight timestamps as dates."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        return Decimal(repr(round(value, 9))).normalize()
    if isinstance(value, int | Decimal):
        return Decimal(value).normalize()
    if isinstance(value, datetime.datetime) and value.time() == datetime.time(0):
        return value.date()
    return value


def _rows(rows: list[tuple]) -> list[tuple]:
    normalised = [tuple(_normalise(value) for value in row) for row in rows]
    return sorted(normalised, key=lambda row: [(value is None, str(value)) for value in row])


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("snowflake_data")
    raw_dir, seeds_dir = root / "raw", root / "seeds"
    generate(raw_dir, seeds_dir, root / "answer_key", accounts=20, months=2, seed=5,
             end_month=MONTHS[-1])  # fmt: skip
    return raw_dir, seeds_dir


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def emulator_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """fakesnow in server mode, in its own process (its log in a file), on a free port."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("fakesnow") / "fakesnow.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "fakesnow", "-s", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert server.poll() is None, "fakesnow stopped:\n" + log_path.read_text()
            assert time.monotonic() < deadline, "fakesnow did not start:\n" + log_path.read_text()
            time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def _dbt_build(target: str, month: str, env: dict[str, str], *extra: str) -> None:
    """`dbt build` of one month in a child process (a hung emulator query cannot hang pytest)."""
    settings = replace(settings_for(Path(), Path(), Path()), target=target)
    dbt = Path(sys.executable).parent / "dbt"
    result = subprocess.run(
        [str(dbt), *dbt_args("build", settings, *extra)],
        env={**env, "RECON_BILLING_MONTH": month},
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=DBT_TIMEOUT_SECONDS,
    )
    assert result.returncode == 0, f"dbt build {month} on {target} failed:\n{result.stdout[-6000:]}"


def _environment(dataset: tuple[Path, Path], work: Path, **extra: str) -> dict[str, str]:
    """The child dbt's environment: the dataset's paths, its own target and log folders."""
    raw_dir, seeds_dir = dataset
    target_path = work / "dbt_target"
    env = {
        **dbt_env_isolated(),
        "DBT_TARGET_PATH": str(target_path),
        "DBT_LOG_PATH": str(target_path / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        **extra,
    }
    saved = os.environ.get("DBT_TARGET_PATH")
    os.environ["DBT_TARGET_PATH"] = str(target_path)  # where dbt_env stages the seeds
    try:
        settings = settings_for(raw_dir, seeds_dir, work / "provider_recon.duckdb")
        env.update(dbt_env(settings))
    finally:
        if saved is None:
            os.environ.pop("DBT_TARGET_PATH")
        else:
            os.environ["DBT_TARGET_PATH"] = saved
    return env


def _build_every_month(target: str, env: dict[str, str], read_marts: Any) -> dict:
    """Month one, month two, month two again; returns the marts before the re-run. dbt's unit
    tests run in month two's build on the emulator (DuckDB runs them in the rest of the suite)."""
    _dbt_build(target, MONTHS[0], env, *NO_UNIT_TESTS)
    _dbt_build(target, MONTHS[1], env, *(NO_UNIT_TESTS if target == "duckdb" else ()))
    before_rerun = read_marts()
    _dbt_build(target, MONTHS[1], env, *NO_UNIT_TESTS)
    return before_rerun


@pytest.fixture(scope="module")
def duckdb_run(dataset: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Run:
    work = tmp_path_factory.mktemp("duckdb_run")
    env = _environment(dataset, work)
    database = env["RECON_DUCKDB_PATH"]

    def read_marts() -> dict[str, list[tuple]]:
        with duckdb.connect(database, read_only=True) as connection:
            return {
                mart: connection.sql(f"select * from recon.{mart}").fetchall() for mart in MARTS
            }

    before_rerun = _build_every_month("duckdb", env, read_marts)
    with duckdb.connect(database, read_only=True) as connection:
        columns = {mart: connection.sql(f"select * from recon.{mart}").columns for mart in MARTS}
        raw = {}
        for family in FAMILIES:
            relation = connection.sql(f"select * exclude (_loaded_at) from raw.{family}")
            raw[family] = [relation.columns, *relation.fetchall()]
    return Run(read_marts(), columns, before_rerun, raw, database)


def _emulator_query(port: int, sql: str) -> tuple[list[str], list[tuple]]:
    settings = connection_kwargs("snowflake_emulator") | {"port": port}
    with snowflake.connector.connect(**settings) as connection:
        cursor = connection.cursor()
        cursor.execute(sql)
        return [column[0].lower() for column in cursor.description], cursor.fetchall()


@pytest.fixture(scope="module")
def emulator_run(
    dataset: tuple[Path, Path], emulator_port: int, tmp_path_factory: pytest.TempPathFactory
) -> Run:
    work = tmp_path_factory.mktemp("emulator_run")
    env = _environment(dataset, work, RECON_EMULATOR_PORT=str(emulator_port))
    settings = connection_kwargs("snowflake_emulator") | {"port": emulator_port}
    with snowflake.connector.connect(**settings) as connection:
        for _ in range(2):  # the second load finds every file loaded and changes nothing
            load_raw_files(connection, dataset[0], schema="raw", report=lambda _: None)

    def read_marts() -> dict[str, list[tuple]]:
        return {mart: read(f"{EMULATOR_SCHEMA}.{mart}")[1] for mart in MARTS}

    def read(relation: str) -> tuple[list[str], list[tuple]]:
        query = relation if relation.startswith("select") else f"select * from {relation}"
        return _emulator_query(emulator_port, query)

    before_rerun = _build_every_month("snowflake_emulator", env, read_marts)
    columns = {mart: read(f"{EMULATOR_SCHEMA}.{mart}")[0] for mart in MARTS}
    raw = {}
    for family in FAMILIES:
        family_columns, rows = read(f"select * exclude (_loaded_at) from raw.{family}")
        raw[family] = [family_columns, *rows]
    return Run(read_marts(), columns, before_rerun, raw)


# --------------------------------------------------------------------------- tests
# fakesnow hands a NULL timestamp to the connector as 1970-01-01 (the value stored is NULL:
# test_null_timestamps_are_stored_as_null proves it), so these columns are compared with
# that reading mapped back to NULL. No production SQL is changed for it.
NULL_TIMESTAMP_COLUMNS = {"decided_at"}
EPOCH = (datetime.date(1970, 1, 1), datetime.datetime(1970, 1, 1))


def _epoch_as_null(columns: list[str], rows: list[tuple]) -> list[tuple]:
    positions = {index for index, name in enumerate(columns) if name in NULL_TIMESTAMP_COLUMNS}
    return [
        tuple(
            None if index in positions and value in EPOCH else value
            for index, value in enumerate(row)
        )
        for row in rows
    ]


@pytest.mark.parametrize("mart", MARTS)
def test_mart_equals_duckdb(mart: str, duckdb_run: Run, emulator_run: Run) -> None:
    assert emulator_run.columns[mart] == duckdb_run.columns[mart]
    expected = _rows(duckdb_run.marts[mart])
    actual = _rows(_epoch_as_null(emulator_run.columns[mart], emulator_run.marts[mart]))
    assert expected, f"{mart} is empty on DuckDB: nothing was compared"
    missing = [row for row in expected if row not in actual]
    unexpected = [row for row in actual if row not in expected]
    assert actual == expected, (
        f"{mart}: {len(expected)} rows on DuckDB, {len(actual)} on the emulator\n"
        f"only on DuckDB: {missing[:5]}\nonly on the emulator: {unexpected[:5]}"
    )


def test_both_months_and_every_finding_type_were_compared(duckdb_run: Run) -> None:
    def column(mart: str, name: str) -> set:
        position = duckdb_run.columns[mart].index(name)
        return {row[position] for row in duckdb_run.marts[mart]}

    months = {str(month) for month in column("fct_provider_counts_monthly", "billing_month")}
    assert months == {f"{month}-01" for month in MONTHS}
    types = column("fct_billing_discrepancies", "discrepancy_type")
    assert len(types) >= 5, f"the dataset should exercise most account findings, got {types}"


def test_rerunning_a_month_changes_nothing_on_the_emulator(emulator_run: Run) -> None:
    for mart in MARTS:
        assert _rows(emulator_run.marts[mart]) == _rows(emulator_run.marts_before_rerun[mart]), mart


@pytest.mark.parametrize("family", list(FAMILIES))
def test_raw_tables_equal_the_duckdb_views(family: str, duckdb_run: Run, emulator_run: Run) -> None:
    """The loader's tables hold what DuckDB reads from the files: the same columns and values,
    file names and positions, each row once (the files were loaded twice)."""
    duckdb_columns, *duckdb_rows = duckdb_run.raw[family]
    emulator_columns, *emulator_rows = emulator_run.raw[family]
    assert sorted(emulator_columns) == sorted(duckdb_columns)
    reorder = [emulator_columns.index(column) for column in duckdb_columns]
    reordered = [tuple(row[position] for position in reorder) for row in emulator_rows]
    assert len(duckdb_rows) > 10
    assert _rows(reordered) == _rows(duckdb_rows)


def test_reloading_a_changed_drop_replaces_its_rows(
    dataset: tuple[Path, Path], emulator_port: int, tmp_path: Path
) -> None:
    """A drop rewritten with a line fewer: its rows are replaced, the other drops are left as
    they were (positions are per file), and nothing is duplicated."""
    raw_dir = tmp_path / "raw"
    raw_dir.mkdir()
    for path in dataset[0].glob("*.csv"):
        (raw_dir / path.name).write_bytes(path.read_bytes())
    settings = connection_kwargs("snowflake_emulator") | {"port": emulator_port}
    with snowflake.connector.connect(**settings) as connection:
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


def test_reporting_role_gets_select_on_marts_on_snowflake_only(tmp_path: Path) -> None:
    """`grants` resolve to SELECT for RECON_REPORTING_ROLE on the Snowflake targets' marts, to
    nothing on DuckDB or without a role (fakesnow has no SHOW GRANTS to run them)."""
    dbt = Path(sys.executable).parent / "dbt"

    def grants(target: str, role: str) -> dict[str, Any]:
        env = {
            **dbt_env_isolated(),
            "RECON_REPORTING_ROLE": role,
            "DBT_TARGET_PATH": str(tmp_path / target),
            "DBT_LOG_PATH": str(tmp_path / target / "logs"),
        }
        args = ["parse", "--project-dir", str(PROJECT_DIR), "--target", target]
        args += ["--profiles-dir", str(PROJECT_DIR / "profiles")]
        subprocess.run([str(dbt), *args], env=env, cwd=PROJECT_DIR, check=True,
                       capture_output=True, timeout=DBT_TIMEOUT_SECONDS)  # fmt: skip
        manifest = json.loads((tmp_path / target / "manifest.json").read_text())
        return {
            node["name"]: node["config"].get("grants")
            for node in manifest["nodes"].values()
            if node["resource_type"] == "model"
        }

    on_snowflake = grants("snowflake_emulator", "BI_READER")
    for mart in MARTS:
        assert on_snowflake[mart] == {"select": ["BI_READER"]}, mart
    assert on_snowflake["stg_crm__accounts"] == {}
    assert not any(grants("duckdb", "BI_READER").values())


def _frame_rows(frame: Any) -> list[tuple]:
    """A DataFrame's rows as plain Python values (NULL as None), for _rows."""
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
    query: str, duckdb_run: Run, emulator_run: Run, emulator_port: int, monkeypatch
) -> None:
    """The dashboard's queries (recon/dashboard/data.py) on the Snowflake path give what they
    give on DuckDB."""
    from recon.dashboard.data import MartSource

    monkeypatch.setenv("RECON_EMULATOR_PORT", str(emulator_port))
    parameters = [] if query in ("summary", "provider_counts") else [datetime.date(2026, 10, 1)]
    on_duckdb = MartSource("duckdb", Path(duckdb_run.database), "recon").query(query, *parameters)
    on_emulator = MartSource("snowflake_emulator", Path(), EMULATOR_SCHEMA).query(
        query, *parameters
    )
    assert list(on_emulator.columns) == list(on_duckdb.columns)
    assert len(on_duckdb) > 0, f"{query} is empty on DuckDB: nothing was compared"
    emulator_rows = _epoch_as_null(list(on_emulator.columns), _frame_rows(on_emulator))
    assert _rows(emulator_rows) == _rows(_frame_rows(on_duckdb))


def test_null_timestamps_are_stored_as_null(duckdb_run: Run, emulator_port: int) -> None:
    """What NULL_TIMESTAMP_COLUMNS relies on: the emulator stores NULL, only reads it as 1970."""
    sql = "select count(*) from recon.fct_discrepancy_resolutions where decided_at is null"
    with duckdb.connect(duckdb_run.database, read_only=True) as connection:
        ((on_duckdb,),) = connection.sql(sql).fetchall()
    on_emulator = _emulator_query(emulator_port, sql.replace("recon.", f"{EMULATOR_SCHEMA}."))
    assert on_duckdb > 0
    assert on_emulator[1][0][0] == on_duckdb
