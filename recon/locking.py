"""One run at a time, and a DuckDB build that is published whole or not at all.

- `run_lock(settings, what)`: an exclusive lock (fcntl) on `<database>.lock`, beside the DuckDB
  file, held for a whole `recon run` (check, build, export) or `recon build`. A second run
  waits up to RECON_LOCK_WAIT_SECONDS (default 0: not at all), then stops with
  `RunInProgress`, naming the process that holds the lock and what it is doing. The operating
  system releases the lock when that process ends, however it ends: there is no stale lock to
  clean up.
- `staged_database(settings)`: dbt builds a copy of the DuckDB file, in the folder
  `.<file name>.building/` beside it (same file name, so the catalog name that dbt writes
  into views is the same); the copy replaces the database (one `os.replace`, atomic) only
  when the caller calls `publish()` after a successful build. A failed or interrupted build
  leaves the database as it was, byte for byte, and readers (dashboards, BI tools, the
  export) keep reading the last published state while the build runs: a read-only
  connection opened before the swap keeps reading the previous file, one opened after it
  reads the new one.
- A DuckDB file that another process holds open for writing (a notebook, a plain `dbt build`)
  cannot be copied consistently: `DatabaseLocked` says so, naming the file and DuckDB's own
  words (which name the process), before anything is built.

| variable                 | meaning                                            | default |
|--------------------------|----------------------------------------------------|---------|
| RECON_LOCK_WAIT_SECONDS  | how long a run waits for another run to finish     | 0       |

Snowflake builds take neither (Snowflake has transactions; `replace_month` runs in one).
"""

from __future__ import annotations

import dataclasses
import fcntl
import os
import shutil
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


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def _locked_message(database: Path, error: Exception) -> str:
    return (
        f"the DuckDB file {database} is open for writing in another process, so this run "
        f"cannot read it consistently; nothing was changed. Close that connection (or wait "
        f"for that process) and run again. DuckDB says: {error}"
    )


def copy_database(database: Path, copy: Path) -> None:
    """Copies the database (and its write-ahead log, if any) while holding a read-only
    connection, which no other process can write through; DatabaseLocked when one is."""
    import duckdb

    try:
        connection = duckdb.connect(str(database), read_only=True)
    except duckdb.IOException as error:
        if "lock" in str(error).lower():
            raise DatabaseLocked(_locked_message(database, error)) from error
        raise
    try:
        shutil.copy2(database, copy)
        if _wal(database).exists():
            shutil.copy2(_wal(database), _wal(copy))
    finally:
        connection.close()


def check_database_free(database: Path) -> None:
    """Raises DatabaseLocked when another process holds the DuckDB file open for writing."""
    import duckdb

    if not database.exists():
        return
    try:
        duckdb.connect(str(database), read_only=True).close()
    except duckdb.IOException as error:
        if "lock" in str(error).lower():
            raise DatabaseLocked(_locked_message(database, error)) from error
        raise


def _checkpoint(database: Path) -> None:
    """Folds a write-ahead log left beside `database` into the file itself."""
    import duckdb

    if _wal(database).exists():
        connection = duckdb.connect(str(database))
        try:
            connection.execute("checkpoint")
        finally:
            connection.close()


@dataclasses.dataclass
class StagedDatabase:
    """A private copy of the database to build; `publish()` swaps it in."""

    final: Path
    settings: Settings
    published: bool = False

    def publish(self) -> None:
        staged = self.settings.duckdb_path
        _checkpoint(staged)
        # A log left by a writer that crashed was copied and folded into the copy; beside the
        # new file it would be replayed onto data it does not belong to.
        _wal(self.final).unlink(missing_ok=True)
        os.replace(staged, self.final)
        self.published = True


def staging_folder(database: Path) -> Path:
    """Where the copy is built: one fixed folder per database (the run lock makes it private;
    a fixed path keeps dbt's partial parsing, which a changed profile path would reset)."""
    return database.parent / f".{database.name}.building"


@contextmanager
def staged_database(settings: Settings) -> Iterator[StagedDatabase]:
    """A copy of the DuckDB file to build on; the database changes only on publish().

    Call with the run lock held. A copy left by a build that was killed is removed first.
    """
    final = settings.duckdb_path
    folder = staging_folder(final)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    try:
        staged = folder / final.name
        if final.exists():
            copy_database(final, staged)
        yield StagedDatabase(final, dataclasses.replace(settings, duckdb_path=staged))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
