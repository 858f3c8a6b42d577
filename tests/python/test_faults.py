"""Faults: a build that fails half-way, two runs at once, a database held by another
process, readers during a build. Nothing is half-published, what readers see changes only by
a whole month, and nothing is copied (docs/robustness.md, "Faults"; recon/publish.py,
recon/locking.py)."""

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
from conftest import published_catalog

from flows.monthly_reconciliation import monthly_reconciliation
from recon import cli
from recon.config import Settings
from recon.dbt import DbtBuildFailed
from recon.locking import RunInProgress, run_lock

MONTH_ONE, MONTH_TWO = "2026-09", "2026-10"  # as in conftest.py


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): _digest(p) for p in sorted(root.rglob("*")) if p.is_file()}


def _files_beside(database: Path) -> list[str]:
    """The files and folders beside the database, but the run lock and the registry of
    validated raw files (both made by the run, before the build)."""
    return sorted(
        path.name
        for path in database.parent.iterdir()
        if path.suffix != ".lock" and not path.name.endswith(".validated_raw_files.json")
    )


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


def test_a_dbt_failure_mid_build_leaves_what_readers_see_and_reports_as_they_were(
    copy_of_month_one: dict[str, str], monkeypatch: pytest.MonkeyPatch
):
    """A node fails after the month's finding marts were written (in the build's private
    database): the flow fails, the published catalog and every published file are byte for
    byte as they were, the build's database was not copied, no report of the month."""
    from dbt.adapters.sql.connections import SQLConnectionManager

    _set_env(monkeypatch, copy_of_month_one)
    database = Path(copy_of_month_one["RECON_DUCKDB_PATH"])
    published = published_catalog(copy_of_month_one).parent
    reports = Path(copy_of_month_one["RECON_REPORT_DIR"])
    published_before, reports_before = _tree(published), _tree(reports)
    files_before = _files_beside(database)
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
    # it really was mid-build: the month's finding marts had been written (privately)
    assert any("insert into" in sql and "fct_billing_discrepancies" in sql for sql in seen)
    with duckdb.connect(str(database), read_only=True) as connection:
        (built,) = connection.execute(
            f"select count(*) from recon.fct_billing_discrepancies "
            f"where billing_month = '{MONTH_TWO}-01'"
        ).fetchone()
    assert built > 0  # in the private database ...
    assert _tree(published) == published_before  # ... and nothing of it where readers read
    with duckdb.connect(str(published_catalog(copy_of_month_one)), read_only=True) as reader:
        months = reader.execute("select billing_month from recon.published_months").fetchall()
    assert [str(month) for (month,) in months] == [f"{MONTH_ONE}-01"]
    assert _files_beside(database) == files_before  # no copy of the database anywhere
    # the month's raw-file checks (Data Docs) are published by the check, before the build;
    # every earlier report is as it was, and the month has no report
    after = {name: digest for name, digest in _tree(reports).items() if "/data_docs/" not in name}
    assert after == {name: d for name, d in reports_before.items() if "/data_docs/" not in name}
    assert not list((reports / MONTH_TWO).glob("reconciliation_*"))


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
    assert f"the DuckDB file {database} is open in another process" in err
    assert "Traceback" not in err
    with duckdb.connect(str(database), read_only=True) as connection:  # not corrupted
        (count,) = connection.execute(
            "select count(*) from recon.fct_provider_counts_monthly"
        ).fetchone()
    assert count == 6


def test_readers_stay_open_while_a_month_is_built(
    copy_of_month_one: dict[str, str], monkeypatch: pytest.MonkeyPatch
):
    """A dashboard or BI tool holding a read-only connection to the published catalog in
    another process does not stop a build and its publication; it keeps reading what it
    read (whole months only), and a new connection reads the new month."""
    _set_env(monkeypatch, copy_of_month_one)
    database = published_catalog(copy_of_month_one)
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
