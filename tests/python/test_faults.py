"""Faults: a build that fails half-way, two runs at once, a database held by another
process. Nothing is half-published and the database is never corrupted
(docs/robustness.md, "Faults"; recon/locking.py)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import duckdb
import pytest

from flows.monthly_reconciliation import monthly_reconciliation
from recon import cli
from recon.config import Settings
from recon.dbt import DbtBuildFailed
from recon.locking import RunInProgress, run_lock, staging_folder

MONTH_ONE, MONTH_TWO = "2026-09", "2026-10"  # as in conftest.py


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): _digest(p) for p in sorted(root.rglob("*")) if p.is_file()}


def _set_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def _holder(code: str) -> subprocess.Popen:
    """Another process running `code`, which prints 'ready' once it holds what it holds."""
    process = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process


def test_a_dbt_failure_mid_build_leaves_the_database_and_reports_as_they_were(
    copy_of_month_one: dict[str, str], monkeypatch: pytest.MonkeyPatch
):
    """A node fails after the month's finding marts were written (in the build's copy):
    the flow fails, the database is byte for byte the previous one, no report of the month."""
    from dbt.adapters.sql.connections import SQLConnectionManager

    _set_env(monkeypatch, copy_of_month_one)
    database = Path(copy_of_month_one["RECON_DUCKDB_PATH"])
    reports = Path(copy_of_month_one["RECON_REPORT_DIR"])
    database_before, reports_before = _digest(database), _tree(reports)
    seen: list[str] = []
    add_query = SQLConnectionManager.add_query

    def failing_add_query(self, sql, *args, **kwargs):
        seen.append(sql)
        if "rpt_finance_report" in sql and "create" in sql.lower():
            raise RuntimeError("simulated crash of the warehouse while building the report")
        return add_query(self, sql, *args, **kwargs)

    monkeypatch.setattr(SQLConnectionManager, "add_query", failing_add_query)
    with pytest.raises(DbtBuildFailed) as raised:
        monthly_reconciliation(MONTH_TWO)

    assert "rpt_finance_report" in str(raised.value)
    # it really was mid-build: the month's finding marts had been written (to the copy)
    assert any("insert into" in sql and "fct_billing_discrepancies" in sql for sql in seen)
    assert _digest(database) == database_before
    # the month's raw-file checks (Data Docs) are published by the check, before the build;
    # every earlier report is as it was, and the month has no report
    after = {name: digest for name, digest in _tree(reports).items() if "/data_docs/" not in name}
    assert after == {name: d for name, d in reports_before.items() if "/data_docs/" not in name}
    assert not list((reports / MONTH_TWO).glob("reconciliation_*"))
    assert not staging_folder(database).exists()  # the copy is gone


def test_a_second_run_stops_with_a_clear_message(
    copy_of_month_one: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys
):
    _set_env(monkeypatch, copy_of_month_one)
    database = Path(copy_of_month_one["RECON_DUCKDB_PATH"])
    before = _digest(database)
    holder = _holder(
        """
        import time
        from recon.config import Settings
        from recon.locking import run_lock
        with run_lock(Settings.from_env(), "monthly run of 2026-10"):
            print("ready", flush=True)
            time.sleep(120)
        """
    )
    try:
        code = cli.main(["build", "--month", MONTH_TWO])
        with pytest.raises(RunInProgress, match=f"pid {holder.pid}, monthly run of 2026-10"):
            monthly_reconciliation(MONTH_TWO)
    finally:
        holder.kill()
        holder.wait()
    err = capsys.readouterr().err
    assert code == 3
    assert f"another recon run is using {database} (pid {holder.pid}" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert _digest(database) == before


def test_a_second_run_can_wait_for_the_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RECON_DUCKDB_PATH", str(tmp_path / "warehouse.duckdb"))
    settings = Settings.from_env()
    order: list[str] = []

    def first() -> None:
        with run_lock(settings, "first"):
            order.append("first holds")
            time.sleep(1.5)
            order.append("first done")

    thread = threading.Thread(target=first)
    thread.start()
    while not order:
        time.sleep(0.05)
    with pytest.raises(RunInProgress), run_lock(settings, "impatient", wait_seconds=0):
        pass
    with run_lock(settings, "second", wait_seconds=30):
        order.append("second holds")
    thread.join()
    assert order == ["first holds", "first done", "second holds"]


def test_a_database_open_for_writing_elsewhere_gives_a_clear_message(
    copy_of_month_one: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys
):
    _set_env(monkeypatch, copy_of_month_one)
    database = Path(copy_of_month_one["RECON_DUCKDB_PATH"])
    holder = _holder(
        f"""
        import time, duckdb
        connection = duckdb.connect({str(database)!r})
        print("ready", flush=True)
        time.sleep(120)
        """
    )
    try:
        code = cli.main(["build", "--month", MONTH_TWO])
    finally:
        holder.kill()
        holder.wait()
    err = capsys.readouterr().err
    assert code == 3
    assert f"the DuckDB file {database} is open for writing in another process" in err
    assert "Traceback" not in err
    with duckdb.connect(str(database), read_only=True) as connection:  # not corrupted
        (count,) = connection.execute(
            "select count(*) from recon.fct_provider_counts_monthly"
        ).fetchone()
    assert count == 6 and not staging_folder(database).exists()


def test_readers_stay_open_while_a_month_is_built(
    copy_of_month_one: dict[str, str], monkeypatch: pytest.MonkeyPatch
):
    """A dashboard holding a read-only connection in another process does not stop a
    build; it keeps reading the previous state, and a new connection reads the new one."""
    _set_env(monkeypatch, copy_of_month_one)
    database = Path(copy_of_month_one["RECON_DUCKDB_PATH"])
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import duckdb, sys
                connection = duckdb.connect({str(database)!r}, read_only=True)
                sql = "select count(distinct billing_month) from recon.fct_provider_counts_monthly"
                print(connection.execute(sql).fetchone()[0], flush=True)
                sys.stdin.readline()
                print(connection.execute(sql).fetchone()[0], flush=True)
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert reader.stdin is not None and reader.stdout is not None
    try:
        assert reader.stdout.readline().strip() == "1"
        assert cli.main(["build", "--month", MONTH_TWO]) == 0
        reader.stdin.write("again\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "1"  # its snapshot: the previous file
    finally:
        reader.kill()
        reader.wait()
    with duckdb.connect(str(database), read_only=True) as connection:
        (months,) = connection.execute(
            "select count(distinct billing_month) from recon.fct_provider_counts_monthly"
        ).fetchone()
    assert months == 2
