"""Runs one measured step in its own child process: wall time, CPU time and peak resident
memory.

Peak RSS comes from `os.wait4` on the step's process: on Linux its `ru_maxrss` is the
largest resident set of that process and of every descendant it waited for, and of no
other step (unlike `getrusage(RUSAGE_CHILDREN)`, the maximum over all children so far).
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Measurement:
    seconds: float
    cpu_seconds: float  # user + system, of the process and its waited-for descendants
    peak_rss_mb: float
    exit_code: int
    log_path: Path

    def tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join(text[-lines:])


def measure(command: list[str], log_path: Path, env: dict[str, str], cwd: Path) -> Measurement:
    """Runs `command` to its end (output to `log_path`) and measures it."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w", encoding="utf-8") as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return Measurement(
        seconds=seconds,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=usage.ru_maxrss / 1024,  # kilobytes on Linux
        exit_code=process.returncode,
        log_path=log_path,
    )
