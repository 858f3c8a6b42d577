"""The deployment's schedule on a real Prefect server, as production runs it.

`prefect_test_harness` (the other flow tests) runs no scheduler service, so it cannot see a
schedule that never fires. Here `prefect server start` runs as a subprocess (its own
PREFECT_HOME and SQLite database in a temporary folder, a free local port), the process work
pool `recon-process` is created, `prefect deploy -n monthly-reconciliation` deploys
prefect.yaml from the repository root, and then:

- the server's scheduler must create the coming monthly runs: 06:00 on the 2nd, in
  RECON_SCHEDULE_TIMEZONE (set here to America/New_York, so a UTC-only bug shows);
- a process worker (`prefect worker start --run-once`) must run a flow run of the deployment
  to Completed on a small generated dataset, writing the month's report CSV.

With SQLAlchemy 2.1 the scheduler failed every loop with "Can't evaluate bulk DML statement"
and created no run (docs/scheduling.md): the server log is checked for it.
"""

from __future__ import annotations

import contextlib
import csv
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEPLOYMENT = "monthly-reconciliation/monthly-reconciliation"  # flow name / deployment name
POOL = "recon-process"
TIMEZONE = "America/New_York"
MONTH = "2026-10"  # the last month of the generated dataset
BULK_DML_ERROR = "Can't evaluate bulk DML"
SCHEDULER_ERROR = "Error scheduling deployment"

SERVER_START_TIMEOUT = 180  # seconds: a cold server migrates its new SQLite database first
CLI_TIMEOUT = 180
SCHEDULER_TIMEOUT = 90  # the scheduler loops every 2 s here (60 s by default)
FLOW_RUN_TIMEOUT = 600  # validation, ~290 dbt nodes as Prefect tasks, export, docs
FINAL_STATES = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


# --------------------------------------------------------------------------- processes
def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _base_env() -> dict[str, str]:
    """This process's environment without Prefect or recon settings (a developer's
    PREFECT_API_URL or RECON_NOTIFY_URLS must not leak into the test)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "RECON_"))}
    env["DO_NOT_TRACK"] = "1"
    return env


def _descendants(pid: int) -> list[int]:
    """Every process below pid (read from /proc), children before grandchildren."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, queue = [], [pid]
    while queue:
        children = parents.get(queue.pop(0), [])
        found += children
        queue += children
    return found


def _signal(pids: list[int], process_group: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process_group, sig)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def stop_process_tree(process: subprocess.Popen) -> None:
    """SIGTERM to the process, its group and every descendant (a flow run's process starts a
    session of its own), SIGKILL to what is left after 15 s."""
    pids = _descendants(process.pid)
    _signal(pids, process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=15)
    _signal([pid for pid in pids if Path(f"/proc/{pid}").exists()], process.pid, signal.SIGKILL)
    process.wait(timeout=15)


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """A background process in a new session (so its children can be ended with it)."""
    with log.open("wb") as output:
        return subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _tail(path: Path, lines: int = 60) -> str:
    if not path.exists():
        return f"({path} was not written)"
    text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(text[-lines:])


# --------------------------------------------------------------------------- the server
@dataclass
class PrefectServer:
    process: subprocess.Popen
    api_url: str
    log: Path
    client_env: dict[str, str]  # environment of the CLI commands and the worker
    api: httpx.Client

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def diagnosis(self, what: str) -> str:
        return f"{what}\n--- last lines of the Prefect server log {self.log}:\n{_tail(self.log)}"

    def assert_scheduler_healthy(self) -> None:
        text = self.log_text()
        for error in (BULK_DML_ERROR, SCHEDULER_ERROR):
            failed = error in text
            assert not failed, self.diagnosis(f"the server's scheduler failed: {error!r}")

    def prefect(self, *args: str, env: dict[str, str] | None = None) -> str:
        """A prefect CLI command against this server; its output, or the test fails."""
        command = [str(BIN / "prefect"), "--no-prompt", *args]
        done = subprocess.run(
            command,
            cwd=REPO_ROOT,
            env=env or self.client_env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
        )
        output = done.stdout + done.stderr
        assert done.returncode == 0, self.diagnosis(f"`prefect {' '.join(args)}` failed:\n{output}")
        return output

    def wait_for(self, what: str, timeout: float, check: Callable[[], Any]) -> Any:
        """check() until it returns something truthy; fails early if the server died or its
        scheduler logged the bulk DML error."""
        deadline = time.monotonic() + timeout
        while True:
            assert self.process.poll() is None, self.diagnosis("the Prefect server exited")
            self.assert_scheduler_healthy()
            try:
                result = check()
            except httpx.TransportError:
                result = None
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(self.diagnosis(f"{what}: not within {timeout} s"))
            time.sleep(0.5)


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    """`prefect server start` on a free port, with its own home and database."""
    root = tmp_path_factory.mktemp("prefect_server")
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    server_env = _base_env() | {
        "PREFECT_HOME": str(root / "server_home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        # the scheduler service loops every 60 s by default
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2",
    }
    client_env = _base_env() | {
        "PREFECT_HOME": str(root / "client_home"),
        "PREFECT_API_URL": api_url,
        "PREFECT_CLI_PROMPT": "false",
    }
    log = root / "server.log"
    process = _start(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        server_env,
        log,
    )
    api = httpx.Client(base_url=api_url, timeout=30)
    server = PrefectServer(process, api_url, log, client_env, api)
    try:
        server.wait_for(
            f"the server's health endpoint {api_url}/health",
            SERVER_START_TIMEOUT,
            lambda: api.get("/health").status_code == 200,
        )
        yield server
    finally:
        api.close()
        stop_process_tree(process)


@pytest.fixture(scope="module")
def deployment(prefect_server: PrefectServer) -> dict[str, Any]:
    """The work pool and prefect.yaml's deployment, as the README says, on the test server;
    the schedule's time zone from RECON_SCHEDULE_TIMEZONE at deploy time."""
    prefect_server.prefect("work-pool", "create", POOL, "--type", "process")
    prefect_server.prefect(
        "deploy",
        "-n",
        "monthly-reconciliation",
        env=prefect_server.client_env | {"RECON_SCHEDULE_TIMEZONE": TIMEZONE},
    )
    answer = prefect_server.api.get(f"/deployments/name/{DEPLOYMENT}")
    assert answer.status_code == 200, answer.text
    return answer.json()


# --------------------------------------------------------------------------- expectations
def next_schedule_times(after: datetime, count: int, zone: ZoneInfo) -> list[datetime]:
    """The next `count` times of `0 6 2 * *` after `after`, in `zone`: computed here by
    hand, not with Prefect's cron code."""
    local = after.astimezone(zone)
    year, month, times = local.year, local.month, []
    while len(times) < count:
        candidate = datetime(year, month, 2, 6, 0, tzinfo=zone)
        if candidate > after:
            times.append(candidate)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return times


def _runs_of(server: PrefectServer, deployment_id: str) -> list[dict[str, Any]]:
    answer = server.api.post(
        "/flow_runs/filter",
        json={
            "deployments": {"id": {"any_": [deployment_id]}},
            "sort": "EXPECTED_START_TIME_ASC",
        },
    )
    answer.raise_for_status()
    return answer.json()


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# --------------------------------------------------------------------------- tests
def test_deployment_has_the_monthly_schedule_in_its_time_zone(deployment: dict[str, Any]):
    assert deployment["work_pool_name"] == POOL
    assert deployment["parameters"] == {"billing_month": None}
    assert deployment["paused"] is False
    [schedule] = deployment["schedules"]
    assert schedule["active"] is True
    assert schedule["schedule"]["cron"] == "0 6 2 * *"
    assert schedule["schedule"]["timezone"] == TIMEZONE


def test_scheduler_creates_the_coming_monthly_runs(
    prefect_server: PrefectServer, deployment: dict[str, Any]
):
    started_at = datetime.now(UTC)

    def scheduled_runs() -> list[dict[str, Any]]:
        runs = [run for run in _runs_of(prefect_server, deployment["id"]) if run["auto_scheduled"]]
        return runs if len(runs) >= 3 else []

    runs = prefect_server.wait_for(
        "the scheduler's runs of the deployment", SCHEDULER_TIMEOUT, scheduled_runs
    )
    zone = ZoneInfo(TIMEZONE)
    times = [_at(run["expected_start_time"]) for run in runs]
    # the next three as of the start or the end of the wait (one may fall in between)
    expected = [next_schedule_times(at, 3, zone) for at in (started_at, datetime.now(UTC))]
    assert times[:3] in expected, f"scheduled at {times}, expected {expected[0]}"
    for run, at in zip(runs, times, strict=True):
        local = at.astimezone(zone)
        assert (local.day, local.hour, local.minute) == (2, 6, 0), f"{run['name']} at {local}"
        assert run["state_type"] == "SCHEDULED" and run["state_name"] == "Scheduled"
        assert run["parameters"] == {"billing_month": None}
        assert run["created_by"]["type"] == "SCHEDULE"
        assert run["work_queue_name"] == "default"
    months = [(at.astimezone(zone).year, at.astimezone(zone).month) for at in times]
    assert len(set(months)) == len(months), f"two runs in one month: {times}"
    prefect_server.assert_scheduler_healthy()


def test_worker_runs_a_flow_run_of_the_deployment_to_completion(
    prefect_server: PrefectServer,
    deployment: dict[str, Any],
    tmp_path: Path,
    dbt_target: Path,
):
    raw_dir, seeds_dir = tmp_path / "raw", tmp_path / "seeds"
    generate = [str(BIN / "recon"), "generate", "--out", str(raw_dir)]
    generate += ["--seeds-out", str(seeds_dir), "--accounts", "10", "--months", "2"]
    generate += ["--end-month", MONTH, "--seed", "3"]
    subprocess.run(generate, check=True, capture_output=True, timeout=CLI_TIMEOUT)

    created = prefect_server.api.post(
        f"/deployments/{deployment['id']}/create_flow_run",
        json={"parameters": {"billing_month": MONTH}},
    )
    assert created.status_code == 201, created.text
    flow_run_id = created.json()["id"]

    worker_env = prefect_server.client_env | {
        "RECON_RAW_DIR": str(raw_dir),
        "RECON_SEEDS_DIR": str(seeds_dir),
        "RECON_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
        "RECON_REPORT_DIR": str(tmp_path / "reports"),
        "RECON_TARGET": "duckdb",
        "DBT_TARGET_PATH": str(dbt_target),
        "DBT_LOG_PATH": str(dbt_target / "logs"),
    }
    worker_log = tmp_path / "worker.log"
    worker_command = [str(BIN / "prefect"), "--no-prompt", "worker", "start", "--pool", POOL]
    # --limit 1: with a limit, --run-once waits for the run it started before exiting
    worker_command += ["--run-once", "--limit", "1", "--name", "test-worker"]
    worker = _start(worker_command, worker_env, worker_log)
    try:

        def finished_run() -> dict[str, Any] | None:
            run = prefect_server.api.get(f"/flow_runs/{flow_run_id}").json()
            return run if run["state_type"] in FINAL_STATES else None

        run = prefect_server.wait_for("the flow run's end", FLOW_RUN_TIMEOUT, finished_run)
        worker.wait(timeout=60)
    finally:
        stop_process_tree(worker)

    worker_tail = f"\n--- last lines of the worker log:\n{_tail(worker_log)}"
    assert run["state_type"] == "COMPLETED", (
        f"flow run {run['name']} ended {run['state_name']}: {run['state']['message']}{worker_tail}"
    )
    assert run["name"] == f"reconcile-{MONTH}"
    assert run["deployment_id"] == deployment["id"]
    assert run["work_queue_name"] == "default"
    assert f"Worker 'test-worker' submitting flow run '{flow_run_id}'" in worker_log.read_text(
        errors="replace"
    ), f"the run was not run by the test's worker{worker_tail}"

    report = tmp_path / "reports" / MONTH / f"reconciliation_{MONTH}.csv"
    assert report.exists(), f"{report} was not written{worker_tail}"
    with report.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert rows, f"{report} has no finding row"
    assert {"customer_name", "product_code", "status_label"} <= set(rows[0])
    # the run built the month into the worker's RECON_DUCKDB_PATH: the report is that month
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as connection:
        [(month_rows,)] = connection.execute(
            "select count(*) from recon.rpt_finance_report where billing_month = ?",
            [date.fromisoformat(f"{MONTH}-01")],
        ).fetchall()
    assert len(rows) == month_rows

    # the scheduler's runs are untouched (the worker took only the run that was due)
    scheduled = [r for r in _runs_of(prefect_server, deployment["id"]) if r["auto_scheduled"]]
    assert len(scheduled) >= 3 and all(r["state_name"] == "Scheduled" for r in scheduled)
    prefect_server.assert_scheduler_healthy()
