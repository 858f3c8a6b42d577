"""One run at a time, and a clear word when the build's database is held elsewhere.

- `run_lock(settings, what)`: an exclusive lock (fcntl) on `<database>.lock`, beside the DuckDB
  file, held for a whole `recon run` (check, build, publish, export) or `recon build`, on
  either engine. A second run waits up to RECON_LOCK_WAIT_SECONDS (default 0: not at all),
  then stops with `RunInProgress`, naming the process that holds the lock and what it is
  doing. The operating system releases the lock when that process ends, however it ends:
  there is no stale lock to clean up.
- `check_database_free(database)`: the DuckDB file dbt builds in is private to the build
  (readers read what was published: recon/publish.py); a process that holds it open anyway
  (a notebook, a plain `dbt build`) gives `DatabaseLocked`, naming the file and DuckDB's own
  words (which name the process), before anything is built.

A failed build changes nothing readers see: it never reaches the publish step
(recon/publish.py). Nothing is copied.

| variable                 | meaning                                            | default |
|--------------------------|----------------------------------------------------|---------|
| RECON_LOCK_WAIT_SECONDS  | how long a run waits for another run to finish     | 0       |
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from recon.config import Settings


class RunInProgress(RuntimeError):
    """Another recon run holds the lock of this database."""


class DatabaseLocked(RuntimeError):
    """Another process holds the DuckDB file open for writing."""


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


def _wait_seconds() -> float:
    value = os.environ.get("RECON_LOCK_WAIT_SECONDS") or "0"
    try:
        seconds = float(value)
    except ValueError as error:
        raise ValueError(f"RECON_LOCK_WAIT_SECONDS must be a number, got {value!r}") from error
    return max(seconds, 0.0)


@contextmanager
def run_lock(settings: Settings, what: str, wait_seconds: float | None = None) -> Iterator[None]:
    """Holds the database's run lock for the block; raises RunInProgress when it is taken."""
    path = lock_path(settings.duckdb_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wait = _wait_seconds() if wait_seconds is None else wait_seconds
    deadline = time.monotonic() + wait
    handle = path.open("a+", encoding="utf-8")
    try:
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "another process"
                    waited = f" after waiting {wait:g} s" if wait else ""
                    raise RunInProgress(
                        f"another recon run is using {settings.duckdb_path} ({holder}); "
                        f"stopped{waited} without changing anything: run again when it has "
                        "finished, or set RECON_LOCK_WAIT_SECONDS to wait for it"
                    ) from None
                time.sleep(min(0.5, max(deadline - time.monotonic(), 0.01)))
        handle.seek(0)
        handle.truncate()
        started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        handle.write(f"pid {os.getpid()}, {what}, since {started}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    finally:
        handle.close()


def _locked_message(database: Path, error: Exception) -> str:
    return (
        f"the DuckDB file {database} is open in another process, so this run cannot build "
        f"in it; nothing was changed. It is the build's private database: readers open the "
        f"published catalog instead. Close that connection (or wait for that process) and run "
        f"again. DuckDB says: {error}"
    )


def check_database_free(database: Path) -> None:
    """Raises DatabaseLocked when another process holds the DuckDB file open for writing."""
    import duckdb

    if not database.exists():
        return
    try:
        duckdb.connect(str(database)).close()
    except duckdb.IOException as error:
        if "lock" in str(error).lower():
            raise DatabaseLocked(_locked_message(database, error)) from error
        raise
