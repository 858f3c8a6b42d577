"""Run dbt in-process on the project, with the settings' paths.

Two ways in, one set of arguments and environment:

- `run_dbt`: plain `dbtRunner` (the `recon build` command); reports failed nodes, never raises
  on a test failure.
- `build_with_prefect`: the flow's way: ONE `dbt build` as one Prefect task (`dbt-build`) of
  the calling flow run, with a table artifact of failed, warned and slowest nodes; raises
  `DbtBuildFailed` naming the failed nodes.

| variable        | meaning                                               | default                |
|-----------------|-------------------------------------------------------|------------------------|
| DBT_TARGET_PATH | dbt's artifacts folder (dbt's own variable)           | target (in the project)|

dbt writes the SQL it runs for a seed to `<target>/run/<project>/<seed path>`: with an
absolute seed path that is the seed file itself, which dbt would overwrite with SQL. So dbt
always gets a seeds path relative to the project, and seeds kept outside the project
(RECON_SEEDS_DIR elsewhere, as in tests and demos) are copied under the target folder first.
"""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recon import console
from recon.config import Settings

# The monthly build runs the models and the data tests (they check the month's data); the unit
# tests check the SQL, not the data, and run in CI (`make test`), as dbt recommends for
# production builds. They would add ~30 Prefect tasks to every run for nothing new.
PRODUCTION_BUILD_ARGS = ("--exclude-resource-type", "unit_test")


@dataclass(frozen=True)
class NodeOutcome:
    """What a dbt node came to, as plain values (no dbt object outlives the invocation)."""

    unique_id: str
    status: str
    message: str
    seconds: float

    @property
    def failed(self) -> bool:
        return self.status in FAILED_STATUSES

    def describe(self) -> str:
        return f"{self.unique_id} ({self.status}): {self.message}"


@dataclass(frozen=True)
class DbtResult:
    success: bool
    failures: list[str]
    nodes: list[NodeOutcome] = field(default_factory=list)


FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})


class DbtBuildFailed(RuntimeError):
    """A dbt model, snapshot, seed or data test failed; the message names every failed node."""


def target_dir(settings: Settings) -> Path:
    """dbt's target folder: DBT_TARGET_PATH (relative to the project) or `target`."""
    path = Path(os.environ.get("DBT_TARGET_PATH") or "target")
    return path if path.is_absolute() else settings.project_dir / path


def _folder_for_dbt(settings: Settings, folder: Path, staged_name: str) -> str:
    """A seeds folder as dbt must see it: relative to the project (see the module doc)."""
    folder = folder.resolve()
    project_dir = settings.project_dir.resolve()
    if not folder.is_relative_to(project_dir):
        staged = target_dir(settings).resolve() / staged_name
        shutil.rmtree(staged, ignore_errors=True)
        shutil.copytree(folder, staged)
        folder = staged
    return os.path.relpath(folder, project_dir)


def seeds_path_for_dbt(settings: Settings) -> str:
    """The reference seeds folder, relative to the project."""
    return _folder_for_dbt(settings, settings.seeds_dir, "recon_seeds")


def resolutions_path_for_dbt(settings: Settings) -> str:
    """The folder of discrepancy_resolutions.csv, relative to the project."""
    return _folder_for_dbt(settings, settings.resolutions_dir, "recon_resolutions")


def dbt_env(settings: Settings, billing_month: str | None = None) -> dict[str, str]:
    """dbt's environment. The month goes in RECON_BILLING_MONTH, not in `--vars`: dbt keeps its
    partial parse when an environment value read at run time changes, and parses the whole
    project again whenever `--vars` changes (about 2 s here, every monthly run)."""
    return {
        **settings.dbt_env(),
        "RECON_SEEDS_DIR": seeds_path_for_dbt(settings),
        "RECON_RESOLUTIONS_DIR": resolutions_path_for_dbt(settings),
        "RECON_BILLING_MONTH": billing_month or "",
    }


@contextmanager
def dbt_environment(settings: Settings, billing_month: str | None = None) -> Iterator[None]:
    """The settings' variables in os.environ (dbt reads env_var() there), restored afterwards."""
    settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    values = dbt_env(settings, billing_month)
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def release_duckdb() -> None:
    """Closes the DuckDB connection dbt-duckdb keeps after a run in this process.

    dbt-duckdb's `keep_open` defaults to true, and DuckDB refuses any other connection to the
    file in the same process (the export's read-only one) while it is open; it also keeps the
    file locked against other processes.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # another adapter only
        return
    with DuckDBConnectionManager._LOCK:
        environment, DuckDBConnectionManager._ENV = DuckDBConnectionManager._ENV, None
    if environment is not None:
        environment.close()


def dbt_args(command: str, settings: Settings, *extra: str) -> list[str]:
    """dbt's arguments; the month is in the environment (dbt_env). Quiet unless verbose
    (recon/console.py): dbt's console shows warnings and errors only; its per-node lines go
    to the run log (the callback of `invoke`) and to dbt's own debug log, both in the logs
    folder."""
    args = [
        command,
        "--project-dir",
        str(settings.project_dir),
        "--profiles-dir",
        str(settings.project_dir / "profiles"),
        "--target",
        settings.target,
        "--log-path",
        str(console.log_dir()),
        "--log-level-file",
        "debug",
    ]
    if not console.verbose():
        args += ["--log-level", "warn"]
    return [*args, *extra]


def invoke(
    args: list[str], settings: Settings, billing_month: str | None, progress_label: str = ""
) -> DbtResult:
    """One in-process dbt invocation; its outcome as plain values.

    Nothing dbt made is returned or kept (the runner's result holds the run's nodes, adapter
    and Jinja contexts): an exception raised by a caller does not carry it in its traceback.
    A failed flow run keeps its exception until the interpreter exits, and that kept dbt's
    DuckDB objects alive past shutdown, which nanobind reported as ~40 lines of "leaked
    instances" at every exit after a failed build.
    """
    from dbt.cli.main import dbtRunner

    progress = console.Progress(progress_label) if progress_label else None
    with dbt_environment(settings, billing_month):
        try:
            runner = dbtRunner(callbacks=[lambda event: console.log_dbt_event(event, progress)])
            outcome = _outcome(runner.invoke(args))
        finally:
            release_duckdb()
            if progress is not None:
                progress.close()
    return outcome


def _outcome(result: Any) -> DbtResult:
    nodes = [
        NodeOutcome(
            unique_id=node_result.node.unique_id,
            status=str(node_result.status),
            message=node_result.message or "",
            seconds=float(node_result.execution_time or 0),
        )
        for node_result in list(getattr(result.result, "results", None) or [])
    ]
    failures = [node.describe() for node in nodes if node.failed]
    if result.exception is not None:
        failures.insert(0, f"dbt: {result.exception}")
    return DbtResult(success=result.success and not failures, failures=failures, nodes=nodes)


def run_dbt(
    command: str, settings: Settings, billing_month: str | None, *extra: str, progress: str = ""
) -> DbtResult:
    """One in-process dbt invocation; returns which nodes failed ('unique id (status):
    message'), never raises on a test failure. `progress`: the label of a progress bar."""
    return invoke(dbt_args(command, settings, *extra), settings, billing_month, progress)


def build_with_prefect(settings: Settings, billing_month: str) -> int:
    """`dbt build` of one month as ONE Prefect task of the calling flow (`dbt-build`), dbt
    invoked once in-process; returns the number of nodes run.

    One task, not one per dbt node (prefect-dbt's PrefectDbtRunner): a task per node cost about
    four times the build itself on the demo data (issue 15). What a task per node showed is
    kept: the build's table artifact `dbt-build-results` lists each failed or warned node with
    its message and the slowest nodes, and DbtBuildFailed names every failed node (nodes
    downstream of a failure are skipped by dbt, so nothing after a failure is built).
    """
    return _dbt_build_task()(settings, billing_month)


def _build_artifact(billing_month: str, results: list[NodeOutcome]) -> None:
    from prefect.artifacts import create_table_artifact

    noteworthy = [r for r in results if r.status not in {"success", "pass"}]
    slowest = sorted(results, key=lambda r: r.seconds, reverse=True)[:10]
    rows = [
        {
            "node": node.unique_id,
            "status": node.status,
            "seconds": round(node.seconds, 2),
            "message": node.message,
        }
        for node in [*noteworthy, *(r for r in slowest if r not in noteworthy)]
    ]
    create_table_artifact(
        table=rows,
        key="dbt-build-results",
        description=f"dbt build of {billing_month}: {len(results)} nodes; "
        "failed and warned nodes first, then the ten slowest",
    )


def _dbt_build(settings: Settings, billing_month: str) -> int:
    from prefect import get_run_logger

    logger = get_run_logger()
    args = dbt_args("build", settings, *PRODUCTION_BUILD_ARGS)
    result = invoke(args, settings, billing_month, progress_label=f"dbt build of {billing_month}")
    _build_artifact(billing_month, result.nodes)
    for node in result.nodes:
        if node.status == "warn":
            logger.warning("%s: %s", node.unique_id, node.message)
    if not result.success:
        detail = "\n".join(f"  - {failure}" for failure in result.failures)
        raise DbtBuildFailed(
            f"dbt build of {billing_month} failed:\n{detail or '  (no node reported)'}"
        )
    logger.info("%s dbt nodes built and tested", len(result.nodes))
    return len(result.nodes)


@functools.cache
def _dbt_build_task() -> Any:
    """The Prefect task, made on first use (importing Prefect costs seconds `recon build`
    does not need)."""
    from prefect import task
    from prefect.cache_policies import NO_CACHE

    return task(name="dbt-build", cache_policy=NO_CACHE)(_dbt_build)


DOCS_FILES = ("index.html", "static_index.html", "manifest.json", "catalog.json")


def generate_docs(settings: Settings, billing_month: str, out_dir: Path) -> Path:
    """`dbt docs generate --static` of the project as built for the month, copied to out_dir
    (index.html for `dbt docs serve`-style hosting, static_index.html that opens from a file,
    manifest.json and catalog.json); returns the static page. Raises DbtBuildFailed."""
    args = dbt_args("docs", settings, "--static")
    args.insert(1, "generate")
    result = invoke(args, settings, billing_month)
    if not result.success:
        raise DbtBuildFailed(
            f"dbt docs generate of {billing_month} failed: {'; '.join(result.failures)}"
        )
    source = target_dir(settings)
    staging = out_dir.parent / f".{out_dir.name}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name in DOCS_FILES:
        shutil.copy2(source / name, staging / name)
    shutil.rmtree(out_dir, ignore_errors=True)
    staging.rename(out_dir)
    return out_dir / "static_index.html"
