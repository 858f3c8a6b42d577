"""Security: no credentials in the repository, target/ or the logs; readers of the DuckDB
file open it read-only; on Snowflake the reporting role gets SELECT on the published marts only
(docs/robustness.md, "Security"). Formula injection: tests/python/test_export.py."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest
from conftest import copy_state

from flows.monthly_reconciliation import monthly_reconciliation
from recon.config import PROJECT_DIR

MONTH_TWO = "2026-10"  # as in conftest.py
# Made at run time, so that this file does not hold them itself.
SECRETS = {
    name: f"secret-{uuid.uuid4().hex}"
    for name in ("SNOWFLAKE_PASSWORD", "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE", "DBT_ENV_SECRET_TOKEN")
}
NOTIFY_TOKEN = f"token-{uuid.uuid4().hex}"
SKIPPED_FOLDERS = {".git", ".venv", "__pycache__", ".ruff_cache", ".pytest_cache"}


def files_holding(roots: list[Path], secrets: list[str]) -> list[str]:
    """Every file under roots whose bytes contain one of the secrets."""
    needles = [secret.encode() for secret in secrets]
    found = []
    for root in roots:
        if root.is_file():
            paths = [root]
        else:
            paths = [
                path
                for path in root.rglob("*")
                if path.is_file() and not SKIPPED_FOLDERS & set(path.relative_to(root).parts)
            ]
        for path in paths:
            data = path.read_bytes()
            found += [f"{path}: {n.decode()}" for n in needles if n in data]
    return found


def test_the_scanner_finds_a_planted_secret(tmp_path: Path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "log.txt").write_text(f"connecting with {NOTIFY_TOKEN}\n")
    assert files_holding([tmp_path], [NOTIFY_TOKEN]) == [
        f"{tmp_path / 'sub' / 'log.txt'}: {NOTIFY_TOKEN}"
    ]


def test_no_secret_reaches_the_repository_target_or_logs(
    copy_of_month_one: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    http_endpoint,
    capfd,
):
    """The monthly flow runs with credentials and a notification token in its environment;
    none of them is written anywhere: repository, dbt target and logs, reports, Prefect."""
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, LogFilter, LogFilterFlowRunId

    for name, value in {**copy_of_month_one, **SECRETS}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("RECON_NOTIFY_URLS", http_endpoint.url(f"hook?token={NOTIFY_TOKEN}"))
    result = monthly_reconciliation(MONTH_TWO)
    assert result["notifications_sent"] == 1  # the URL with its token was used

    secrets = [*SECRETS.values(), NOTIFY_TOKEN]
    dbt_target = Path(copy_of_month_one["DBT_TARGET_PATH"])
    roots = [PROJECT_DIR, dbt_target, Path(copy_of_month_one["RECON_REPORT_DIR"])]
    assert files_holding(roots, secrets) == []
    assert (dbt_target / "logs" / "dbt.log").exists()  # the dbt log was scanned

    captured = capfd.readouterr()
    for secret in secrets:
        assert secret not in captured.out and secret not in captured.err

    with get_client(sync_client=True) as client:
        (run,) = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name={"any_": [f"reconcile-{MONTH_TWO}"]}),
            limit=1,
        )
        logs = client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])), limit=200
        )
    assert logs, "no Prefect logs were read"
    text = "\n".join(log.message for log in logs)
    for secret in secrets:
        assert secret not in text


def test_readers_open_the_duckdb_file_read_only():
    """Every duckdb.connect in the package, the flow and any dashboard is read-only, except
    the check that the build's private database is free and the writer of a new catalog
    (a file no reader has open until it is renamed over the old one)."""
    writers_allowed = {
        ("recon/locking.py", "check_database_free"),  # the build's private database
        ("recon/publish.py", "_write_catalog"),  # a new catalog, renamed over the old one
    }
    sources = [*PROJECT_DIR.glob("recon/**/*.py"), *PROJECT_DIR.glob("flows/**/*.py")]
    sources += [p for p in PROJECT_DIR.glob("dashboard*/**/*.py")]
    connects = []
    for path in sources:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef):
                continue
            for node in ast.walk(function):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "connect"
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "duckdb"
                ):
                    read_only = any(
                        keyword.arg == "read_only"
                        and isinstance(keyword.value, ast.Constant)
                        and keyword.value.value is True
                        for keyword in node.keywords
                    )
                    where = (str(path.relative_to(PROJECT_DIR)), function.name)
                    connects.append((where, read_only))
    assert connects, "no duckdb.connect found: the scan is broken"
    writers = {where for where, read_only in connects if not read_only}
    assert writers <= writers_allowed, f"DuckDB opened for writing in {writers - writers_allowed}"


def test_export_reads_through_a_read_only_connection(
    reconciled_month, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):

    import duckdb

    import recon.export as export
    from recon.config import Settings

    copy_state(reconciled_month.root, tmp_path)
    calls = []
    connect = duckdb.connect

    def spy(*args, **kwargs):
        calls.append(kwargs.get("read_only", False))
        return connect(*args, **kwargs)

    monkeypatch.setattr(duckdb, "connect", spy)
    settings = Settings(
        project_dir=PROJECT_DIR,
        raw_dir=tmp_path,
        seeds_dir=tmp_path,
        duckdb_path=tmp_path / "warehouse.duckdb",
        report_dir=tmp_path / "reports",
        target="duckdb",
    )
    export.export_month(settings, "2026-09")
    assert calls and all(calls)  # every connection read-only


def test_snowflake_reporting_role_can_only_select_the_marts(tmp_path: Path):
    """On Snowflake the reporting role gets USAGE on the published schema and SELECT on the
    published marts, when a month is published (recon/publish_snowflake.py), and nothing from
    dbt: no node of dbt's manifest for the Snowflake target has grants, so the private build
    schema is never readable by it (dbt parse, no connection; the grants' execution after the
    publish's commit is tested on the emulator,
    test_the_reporting_role_is_granted_on_the_published_schema_only)."""
    from recon.publish import marts_of_manifest
    from recon.publish_snowflake import grant_statements

    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("RECON_", "SNOWFLAKE_"))},
        "SNOWFLAKE_ACCOUNT": "example",
        "SNOWFLAKE_USER": "builder",
        "SNOWFLAKE_PASSWORD": SECRETS["SNOWFLAKE_PASSWORD"],
        "SNOWFLAKE_ROLE": "RECON_BUILDER",
        "SNOWFLAKE_WAREHOUSE": "WH",
        "SNOWFLAKE_DATABASE": "ANALYTICS",
        "RECON_REPORTING_ROLE": "RECON_REPORTING",
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
    }
    dbt = Path(os.environ.get("VIRTUAL_ENV", PROJECT_DIR / ".venv")) / "bin" / "dbt"
    if not dbt.exists():
        dbt = PROJECT_DIR / ".venv" / "bin" / "dbt"
    completed = subprocess.run(
        [str(dbt), "parse", "--profiles-dir", "profiles", "--target", "snowflake"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    grants = {
        node["name"]: (node["fqn"][1], node["config"].get("grants") or {})
        for node in manifest["nodes"].values()
        if node["resource_type"] in ("model", "seed", "snapshot")
    }
    assert "rpt_finance_report" in grants
    assert not any(grant for _, grant in grants.values()), grants
    marts = marts_of_manifest(tmp_path / "target" / "manifest.json")
    assert {mart.schema for mart in marts} == {"recon_build"}  # the private build schema
    tables = [mart.name for mart in marts]
    statements = grant_statements("recon", tables, "RECON_REPORTING")
    assert statements[0] == "grant usage on schema recon to role RECON_REPORTING"
    assert statements[1:] == [
        f"grant select on table recon.{table} to role RECON_REPORTING" for table in tables
    ]
    assert not any("recon_build" in statement for statement in statements)
    assert files_holding([tmp_path], [SECRETS["SNOWFLAKE_PASSWORD"]]) == []
