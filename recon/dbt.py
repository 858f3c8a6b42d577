"""Run dbt in-process on the project, with the settings' paths."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from recon.config import Settings


@dataclass(frozen=True)
class DbtResult:
    success: bool
    failures: list[str]


def dbt_args(command: str, settings: Settings, billing_month: str | None, *extra: str) -> list[str]:
    args = [
        command,
        "--project-dir",
        str(settings.project_dir),
        "--profiles-dir",
        str(settings.project_dir / "profiles"),
        "--target",
        settings.target,
    ]
    if billing_month:
        args += ["--vars", json.dumps({"billing_month": billing_month})]
    return [*args, *extra]


def run_dbt(command: str, settings: Settings, billing_month: str | None, *extra: str) -> DbtResult:
    """One in-process dbt invocation; returns which nodes failed, never raises on a test failure."""
    from dbt.cli.main import dbtRunner

    settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    os.environ.update(settings.dbt_env())
    result = dbtRunner().invoke(dbt_args(command, settings, billing_month, *extra))
    failures: list[str] = []
    if result.exception is not None:
        failures.append(str(result.exception))
    for node_result in getattr(result.result, "results", None) or []:
        if str(node_result.status) in {"error", "fail"}:
            failures.append(f"{node_result.node.unique_id}: {node_result.message}")
    return DbtResult(success=result.success and not failures, failures=failures)
