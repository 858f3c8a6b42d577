"""What `recon` shows: a short line per step on the console, the detail in a log file.

Quiet by default: the console gets the month, one line per step (marked with `STEP` by the
flow), a progress bar while dbt builds (on a terminal), warnings, errors and the summary.
dbt's per-node lines and Prefect's per-task lines go to the run log `<log dir>/recon.log`,
named at the end; dbt also keeps its own debug log (`dbt.log`, every SQL statement) there.
`--verbose` (or RECON_VERBOSE=1) puts everything on the console as well.

| variable      | meaning                                                    | default          |
|---------------|------------------------------------------------------------|------------------|
| DBT_LOG_PATH  | folder of the logs: recon.log and dbt's dbt.log            | logs (project)   |
| RECON_VERBOSE | 1: dbt's and Prefect's detail on the console too           | unset (quiet)    |
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from recon.config import PROJECT_DIR

# `extra=STEP` on a flow's log call: the line is a step of the run, shown on a quiet console.
STEP = {"recon_step": True}
RUN_LOG_NAME = "recon.log"
# dbt's per-node lines, written to the run log by the dbt callback (recon/dbt.py)
DBT_LOGGER = "recon.dbt"
_CONSOLE_STREAMS = (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__)
_LEVELS = {"info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}
_COLOURS = re.compile(r"\x1b\[[0-9;]*m")

# dbt's lines reach the run log only (dbt prints its own console lines); without a run log
# (a test, a worker) they go nowhere: dbt's own dbt.log has them.
logging.getLogger(DBT_LOGGER).addHandler(logging.NullHandler())
logging.getLogger(DBT_LOGGER).propagate = False


def verbose() -> bool:
    return os.environ.get("RECON_VERBOSE", "").strip().lower() in {"1", "true", "yes"}


def log_dir() -> Path:
    """The folder of the logs: DBT_LOG_PATH (dbt's own variable) or `logs` in the project."""
    path = Path(os.environ.get("DBT_LOG_PATH") or "logs")
    return path if path.is_absolute() else PROJECT_DIR / path


def run_log_path() -> Path:
    return log_dir() / RUN_LOG_NAME


def _is_console(handler: logging.Handler) -> bool:
    return (
        isinstance(handler, logging.StreamHandler)
        and not isinstance(handler, logging.FileHandler)
        and getattr(handler, "stream", None) in _CONSOLE_STREAMS
    ) or type(handler).__name__ == "PrefectConsoleHandler"


class _StepsOnly(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return bool(getattr(record, "recon_step", False)) and record.levelno < logging.WARNING


class _NotSteps(logging.Filter):
    """Steps are printed once, by the steps handler (a verbose console shows them anyway)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(record, "recon_step", False) or record.levelno >= logging.WARNING


class _CurrentStream(logging.StreamHandler):
    """A console handler writing to whatever sys.stdout (or sys.stderr) is at the time."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.stream_name = name

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = getattr(sys, self.stream_name)
        super().emit(record)


@contextmanager
def run_log(command: str) -> Iterator[Path]:
    """While a command runs: the detail of the run goes to the run log and, unless verbose,
    the console keeps the steps, warnings and errors. Enter it before the flow is imported
    (Prefect then keeps these handlers instead of installing its console handler). Nested
    uses share the outer one. Yields the run log's path; everything is put back on exit."""
    root = logging.getLogger()
    if any(getattr(handler, "recon_run_log", False) for handler in root.handlers):
        yield run_log_path()
        return
    path = run_log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    file_handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=10_000_000, backupCount=3, encoding="utf-8"
    )
    file_handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    )
    file_handler.setLevel(logging.INFO)
    file_handler.recon_run_log = True  # type: ignore[attr-defined]
    steps = _CurrentStream("stdout")
    steps.setFormatter(logging.Formatter("%(message)s"))
    steps.addFilter(_StepsOnly())
    added: list[logging.Handler] = [file_handler, steps]
    consoles = [handler for handler in root.handlers if _is_console(handler)]
    if not consoles:
        fallback = _CurrentStream("stderr")
        fallback.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        added.append(fallback)
        consoles = [fallback]
    saved = [(handler, handler.level) for handler in consoles]
    not_steps = _NotSteps()
    for handler in consoles:
        handler.setLevel(logging.INFO if verbose() else max(handler.level, logging.WARNING))
        handler.addFilter(not_steps)
    for handler in added:
        root.addHandler(handler)
    loggers = [logging.getLogger(name) for name in (DBT_LOGGER, "recon")]
    saved_levels = [(logger, logger.level) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.INFO)
    dbt_logger = logging.getLogger(DBT_LOGGER)
    dbt_logger.addHandler(file_handler)
    logging.getLogger("recon").info("==== recon %s", command)
    try:
        yield path
    finally:
        dbt_logger.removeHandler(file_handler)
        for handler in added:
            root.removeHandler(handler)
        for handler, level in saved:
            handler.setLevel(level)
            handler.removeFilter(not_steps)
        for logger, level in saved_levels:
            logger.setLevel(level)
        file_handler.close()


def describe_logs() -> str:
    """The line that names the logs, printed at the end of a command."""
    folder = log_dir()
    return f"log: {folder / RUN_LOG_NAME} (dbt's debug log: {folder / 'dbt.log'})"


class Progress:
    """`label [#####.....] done/total` rewritten in place on a terminal; nothing elsewhere
    (a log file or CI gets the caller's one-line summary instead)."""

    WIDTH = 30

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream or sys.stdout
        self.enabled = self.stream.isatty() and not verbose()
        self.done = 0
        self.total = 0
        self.failed = 0
        self._lock = threading.Lock()
        self._shown_at = 0.0

    def node_finished(self, failed: bool) -> None:
        with self._lock:
            self.done += 1
            self.failed += int(failed)
            self._show()

    def set_total(self, total: int) -> None:
        with self._lock:
            self.total = max(self.total, total)

    def _show(self, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self._shown_at < 0.2):
            return
        self._shown_at = now
        total = max(self.total, self.done)
        filled = int(self.WIDTH * self.done / total) if total else 0
        bar = "#" * filled + "." * (self.WIDTH - filled)
        failed = f", {self.failed} failed" if self.failed else ""
        self.stream.write(f"\r   {self.label} [{bar}] {self.done}/{total}{failed}")
        self.stream.flush()

    def close(self) -> None:
        """Clears the bar (the caller prints the outcome)."""
        if self.enabled and self._shown_at:
            self.stream.write("\r" + " " * (self.WIDTH + len(self.label) + 30) + "\r")
            self.stream.flush()


def log_dbt_event(event: Any, progress: Progress | None) -> None:
    """dbt callback: info and above to the run log, node starts and ends to the progress bar."""
    info = event.info
    if info.level in _LEVELS and info.msg:
        logging.getLogger(DBT_LOGGER).log(_LEVELS[info.level], "%s", _COLOURS.sub("", info.msg))
    if progress is None:
        return
    if info.name == "LogStartLine":
        progress.set_total(int(event.data.total))
    elif info.name == "NodeFinished":
        status = str(event.data.run_result.status)
        progress.node_finished(failed=status in {"error", "fail", "runtime error"})
