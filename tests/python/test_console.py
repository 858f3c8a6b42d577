"""What a user sees: `recon run` run as a user runs it (a process of its own), on the small
dataset. Quiet by default: the month, one line per step, the summary and the log file named
at the end; dbt's per-node lines and Prefect's per-task lines are in that log file. A failed
build names the failed node and its error on the console, and no run ends with nanobind's
dump of DuckDB objects still alive at exit (a failed build used to leave ~40 lines of it).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import MONTH_ONE, recon_env, write_dataset

RECON = str(Path(sys.executable).with_name("recon"))
NODE_LINE = re.compile(r"\d+ of \d+ (START|OK|PASS|FAIL|ERROR|SKIP)")


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str
    log_dir: Path

    @property
    def lines(self) -> list[str]:
        return (self.stdout + self.stderr).splitlines()


def _recon_run(root: Path, *extra: str) -> Run:
    """`recon run --month MONTH_ONE` in its own process, with its own Prefect home, dbt target
    and logs folder under root."""
    raw_dir, seeds_dir = root / "raw", root / "seeds"
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PREFECT_", "RECON_", "DBT_"))
    }
    env.update(recon_env(root, raw_dir, seeds_dir, root / "dbt_target"))
    env.update(
        {
            "DBT_LOG_PATH": str(root / "logs"),
            "PREFECT_HOME": str(root / "prefect"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
        }
    )
    process = subprocess.run(
        [RECON, "run", "--month", MONTH_ONE, *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    return Run(process.returncode, process.stdout, process.stderr, root / "logs")


@pytest.fixture(scope="module")
def quiet_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = tmp_path_factory.mktemp("quiet_run")
    write_dataset(root)
    return _recon_run(root)


def test_a_run_prints_the_month_the_steps_and_the_summary_only(quiet_run: Run):
    assert quiet_run.returncode == 0, quiet_run.stdout + quiet_run.stderr
    lines = quiet_run.lines
    assert len(lines) < 40, "\n".join(lines)
    assert lines[0].startswith(f"reconciling {MONTH_ONE}:")
    for step in ("1/5 checking", "2/5 dbt build", "3/5 publishing", "4/5 exporting", "5/5 notify"):
        assert sum(line.startswith(step) for line in lines) == 1, step
    assert any(line.startswith(f"{MONTH_ONE}: ") and "billing match rate" in line for line in lines)
    # neither dbt's per-node lines nor Prefect's per-task lines
    assert not [line for line in lines if NODE_LINE.search(line)]
    assert not [line for line in lines if "Finished in state" in line]
    assert "nanobind" not in quiet_run.stderr


def test_the_log_file_is_named_at_the_end_and_holds_the_detail(quiet_run: Run):
    last = quiet_run.stdout.splitlines()[-1]
    match = re.fullmatch(r"log: (\S+) \(dbt's debug log: (\S+)\)", last)
    assert match, last
    run_log, dbt_log = Path(match[1]), Path(match[2])
    assert run_log.parent == dbt_log.parent == quiet_run.log_dir
    text = run_log.read_text(encoding="utf-8")
    assert re.search(r"recon\.dbt: \d+ of \d+ OK created sql table model recon\.fct_", text)
    assert re.search(r"recon\.dbt: \d+ of \d+ PASS unique_", text)
    assert "prefect.flow_runs: Beginning flow run" in text
    assert "prefect.task_runs: checking crm_accounts.csv" in text
    assert "\x1b[" not in text  # no colour codes in a file
    assert dbt_log.stat().st_size > 0


def test_a_failed_build_names_the_node_verbose_shows_every_node_and_no_leak_dump(
    tmp_path: Path,
):
    """A seed that cannot load: the build stops at once (everything after it is skipped)."""
    _, seeds_dir = write_dataset(tmp_path)
    products = seeds_dir / "products.csv"
    products.write_text(
        products.read_text(encoding="utf-8").replace("120.00", "a lot"), encoding="utf-8"
    )
    run = _recon_run(tmp_path, "--verbose")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "stopped before the export" in run.stderr
    failure = re.search(r"- seed\.provider_recon\.products \(error\): (.+)", run.stderr)
    assert failure and "a lot" in failure[1], run.stderr
    # --verbose: dbt's node lines on the console too
    assert [line for line in run.lines if NODE_LINE.search(line)], run.stdout
    assert "nanobind" not in run.stderr, run.stderr[-3000:]
