"""Runs one measured step in its own child process: wall time, CPU time and peak resident
memory.

The step runs under a small wrapper process (`python -m bench.measure RESULT.json -- CMD`)
that starts it and reads `os.wait4`'s resource usage of it: on Linux its `ru_maxrss` is the
largest resident set of that process and of every descendant it waited for, and of no other
step (unlike `getrusage(RUSAGE_CHILDREN)`, the maximum over all children so far). The
wrapper matters: Linux carries the resident-set high-water mark of the process that starts
a program into the program's own figure (fork and exec), so a step started directly by the
orchestrator (or by pytest) would report at least the orchestrator's peak. Started by the
wrapper, it carries only the wrapper's (a bare interpreter, about 10 MB).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
    """Runs `command` to its end under the wrapper (output to `log_path`) and measures it."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    result_path = log_path.with_suffix(".measure.json")
    result_path.unlink(missing_ok=True)
    wrapper = [sys.executable, "-m", "bench.measure", str(result_path), "--", *command]
    with log_path.open("w", encoding="utf-8") as log:
        wrapper_exit = subprocess.run(
            wrapper, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd, check=False
        ).returncode
    if not result_path.exists():
        return Measurement(0.0, 0.0, 0.0, wrapper_exit or 1, log_path)
    result = json.loads(result_path.read_text(encoding="utf-8"))
    return Measurement(log_path=log_path, **result)


def run_and_measure(command: list[str]) -> dict:
    """In the wrapper: runs `command` (output inherited) and returns its figures."""
    started = time.perf_counter()
    process = subprocess.Popen(command)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return {
        "seconds": seconds,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,  # kilobytes on Linux
        "exit_code": process.returncode,
    }


def main(argv: list[str]) -> int:
    result_path, separator, *command = argv
    if separator != "--" or not command:
        print("usage: python -m bench.measure RESULT.json -- COMMAND...", file=sys.stderr)
        return 2
    result = run_and_measure(command)
    Path(result_path).write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
