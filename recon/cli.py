"""The `recon` command: generate demo data, build a month, run the monthly job."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from recon import console
from recon.config import PROJECT_DIR, Settings
from recon.marts import MartReader

DEMO_MONTH = "2026-10"


def _progress(message: str) -> None:
    print(f"  {message}", flush=True)


def cmd_generate(args: argparse.Namespace) -> int:
    from recon_testkit.generate import generate

    out = Path(args.out)
    summary = generate(
        out_dir=out,
        seeds_dir=Path(args.seeds_out),
        answer_key_dir=Path(args.answer_key_out) if args.answer_key_out else out / "answer_key",
        accounts=args.accounts,
        months=args.months,
        seed=args.seed,
        end_month=args.end_month,
        progress=_progress,
        entitlements=not getattr(args, "no_entitlements", False),
    )
    print(f"generated {summary.get('months', [])} into {out}")
    return 0


def _report_build_failure(failures: list[str]) -> None:
    print(
        "dbt build failed; nothing was published: readers see what they saw before this build:",
        file=sys.stderr,
    )
    for failure in failures:
        print(f"  {failure}", file=sys.stderr)


def _set_verbosity(args: argparse.Namespace) -> None:
    """--verbose: dbt's and Prefect's detail on the console too (recon/console.py)."""
    if getattr(args, "verbose", False):
        os.environ["RECON_VERBOSE"] = "1"


def _build_month(settings: Settings, month: str) -> bool:
    """One month built, tested and published, as `recon build` does; False if dbt failed."""
    from recon.dbt import PRODUCTION_BUILD_ARGS, run_dbt, target_dir
    from recon.publish import publish_month

    started = time.perf_counter()
    result = run_dbt(
        "build", settings, month, *PRODUCTION_BUILD_ARGS, progress=f"dbt build of {month}"
    )
    build_step_seconds = time.perf_counter() - started  # recon bench reads it
    if not result.success:
        _report_build_failure(result.failures)
        return False
    publication = publish_month(settings, month, target_dir(settings) / "manifest.json")
    print(
        f"   {month}: {len(result.nodes)} dbt nodes built and tested "
        f"(build step: {build_step_seconds:,.1f} s); {publication.describe()}"
    )
    return True


def cmd_build(args: argparse.Namespace) -> int:
    from recon.locking import check_database_free, run_lock
    from recon.months import resolve_billing_month

    _set_verbosity(args)
    settings = Settings.from_env()
    month = resolve_billing_month(args.month)
    print(f"reconciling {month}: dbt build on {settings.target}, raw files {settings.raw_dir}")
    with console.run_log(f"build --month {month}"), run_lock(settings, f"recon build of {month}"):
        if settings.target == "duckdb":
            check_database_free(settings.duckdb_path)
        built = _build_month(settings, month)
    if built:
        print(f"readers see it in {MartReader.published(settings).describe()}")
    print(console.describe_logs())
    return 0 if built else 1


def _summary_line(month: str, result: dict) -> str:
    rate = result["billing_match_rate"]
    return (
        f"{month}: {result['report_rows']} customer-products, billing match rate "
        f"{'n/a' if rate is None else f'{rate:.1%}'}, "
        f"overbilled {result['overbilled_amount']:,.2f}, "
        f"underbilled {result['underbilled_amount']:,.2f}, "
        f"{result['account_findings']} account findings ({result['new_account_findings']} new), "
        f"{result['provider_findings']} provider findings, "
        f"{result['data_quality_issues']} data-quality issues, "
        f"{result['raw_file_warnings']} raw-file warnings"
    )


def cmd_run(args: argparse.Namespace) -> int:
    """The monthly flow, in this process; without PREFECT_API_URL Prefect starts a temporary
    local API for the run (ephemeral mode)."""

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # no telemetry calls
    # Prefect waits 20 s for its temporary local API by default: on a busy 2-core machine
    # starting it took longer, and the run failed before it began.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    _set_verbosity(args)
    # The run log before the flow is imported: Prefect then keeps its handlers (recon/console.py).
    with console.run_log(f"run --month {args.month or ''}"):
        return _run_flow(args)


def _run_flow(args: argparse.Namespace) -> int:
    from flows.monthly_reconciliation import monthly_reconciliation, resolve_billing_month
    from recon.dbt import DbtBuildFailed
    from recon.validate import RawFilesInvalid

    settings = Settings.from_env()
    month = resolve_billing_month(args.month)
    print(f"reconciling {month}: raw files {settings.raw_dir}, target {settings.target}")
    _quiet_known_failures()
    try:
        result = monthly_reconciliation(billing_month=month)
    except RawFilesInvalid as error:
        print(f"stopped: {error}", file=sys.stderr)
        print(console.describe_logs())
        return 2
    except DbtBuildFailed as error:
        print(f"stopped before the export, the database as it was: {error}", file=sys.stderr)
        print(console.describe_logs())
        return 1
    print(_summary_line(month, result))
    print(
        f"dbt build on {result['target']}: {result['build_nodes']} nodes, "
        f"{result['build_seconds']:,.1f} s in nodes ({result['build_elapsed_seconds']:,.1f} s "
        f"wall-clock; build step: {result['build_step_seconds']:,.1f} s); "
        f"published {result['published_partitions']} partitions"
    )
    print(f"report: {result['report_csv']}")
    print(f"        {result['report_xlsx']}")
    print(f"billing adjustments ({result['adjustment_lines']} lines): {result['adjustments_csv']}")
    if result["data_docs"]:
        print(f"raw-file checks: {result['data_docs']}")
    print(f"dbt docs: {result['dbt_docs']}")
    print(console.describe_logs())
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from prefect.settings import get_current_settings

    from flows.monthly_reconciliation import deployment_schedule, serve

    if not get_current_settings().api.url:
        print(
            "recon serve needs a Prefect server to schedule runs: start one with "
            "`prefect server start` and set PREFECT_API_URL (e.g. http://127.0.0.1:4200/api)",
            file=sys.stderr,
        )
        return 2
    cron, timezone = deployment_schedule()
    print(f"serving monthly-reconciliation: cron '{cron}' ({timezone}), Ctrl+C to stop")
    serve()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    _set_verbosity(args)
    with console.run_log(f"demo --month {args.month}"):
        return _demo(args)


def _demo(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    print(f"1/3 generating demo data into {settings.raw_dir}")
    generate_args = argparse.Namespace(
        out=str(settings.raw_dir),
        seeds_out=str(settings.seeds_dir),
        answer_key_out=None,
        accounts=60,
        months=6,
        seed=42,
        end_month=args.month,
    )
    cmd_generate(generate_args)
    history = _months_before(args.month, count=generate_args.months - 1)
    print(f"2/3 building the history months {', '.join(history)} (for trends and new findings)")
    from recon.locking import check_database_free, run_lock

    with run_lock(settings, "recon demo history"):
        check_database_free(settings.duckdb_path)
        for month in history:
            if not _build_month(settings, month):
                print(console.describe_logs())
                return 1
    print(f"3/3 reconciling {args.month}: the monthly job")
    return cmd_run(argparse.Namespace(month=args.month, verbose=args.verbose))


def _months_before(month: str, count: int) -> list[str]:
    """The `count` calendar months before `month` ('YYYY-MM'), oldest first."""
    year, number = (int(part) for part in month.split("-"))
    months = []
    for _ in range(count):
        year, number = (year, number - 1) if number > 1 else (year - 1, 12)
        months.append(f"{year:04d}-{number:02d}")
    return months[::-1]


def cmd_load(args: argparse.Namespace) -> int:
    from recon.load import connect, load_raw_files, secrets_from_blocks

    settings = Settings.from_env()
    print(f"loading {settings.raw_dir} into the RAW tables of target {args.target}")
    try:
        with secrets_from_blocks():
            connection = connect(args.target)
        try:
            load_raw_files(connection, settings.raw_dir, report=_progress)
        finally:
            connection.close()
    except (ValueError, FileNotFoundError) as error:
        print(f"recon load failed: {error}", file=sys.stderr)
        return 1
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from bench.run import run_from_args

    return run_from_args(args)


def dashboard_command(port: int, address: str, secrets: Path | None = None) -> list[str]:
    """The streamlit command line of `recon dashboard` (headless, no usage statistics); with
    `secrets`, Streamlit reads its sign-in settings from that file only."""
    app = Path(__file__).resolve().parent / "dashboard" / "app.py"
    secrets_option = ["--secrets.files", str(secrets)] if secrets else []
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        "--server.port",
        str(port),
        "--server.address",
        address,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--client.toolbarMode",
        "viewer",
        *secrets_option,
    ]


def _stop_with_parent() -> None:
    """In the dashboard's child, before exec: Linux sends it SIGTERM when `recon dashboard`
    dies, even by SIGKILL, so no Streamlit server outlives the command that started it."""
    import contextlib
    import ctypes
    import signal

    # not Linux: no prctl, and the signal handlers of run_dashboard still stop the child
    with contextlib.suppress(AttributeError, OSError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class _Stopped(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def run_dashboard(port: int, address: str) -> int:
    """Runs Streamlit as a child until it exits or this process is told to stop (SIGTERM,
    SIGHUP, Ctrl+C): the child is then terminated and waited for, so stopping `recon
    dashboard` stops everything it started and frees the port."""
    import signal
    import subprocess

    from recon.dashboard.auth import auth_secrets_toml, oidc_configured

    def stop(signum: int, frame: object) -> None:
        raise _Stopped(signum)

    folder = None
    secrets = None
    if oidc_configured():  # sign-in: Streamlit's [auth] in a file only this user can read
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="recon-dashboard-"))  # mode 0700
        secrets = folder / "secrets.toml"
        secrets.touch(mode=0o600)
        secrets.write_text(auth_secrets_toml(port), encoding="utf-8")
    child = subprocess.Popen(  # preexec_fn: one call, before any thread is started
        dashboard_command(port, address, secrets), preexec_fn=_stop_with_parent
    )
    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGTERM, signal.SIGHUP)}
    try:
        return child.wait()
    except KeyboardInterrupt:
        return 0
    except _Stopped as stopped:
        return 128 + stopped.signum
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        if folder is not None:
            import shutil

            shutil.rmtree(folder, ignore_errors=True)


def cmd_dashboard(args: argparse.Namespace) -> int:
    """Starts the Streamlit dashboard over the marts until interrupted."""
    from recon.dashboard.auth import auth_secrets_toml, oidc_configured
    from recon.dashboard.data import MartSource

    source = MartSource.from_env()
    if oidc_configured():
        try:
            auth_secrets_toml(args.port)  # a missing client id or secret stops here, named
        except ValueError as error:
            print(f"recon dashboard: {error}", file=sys.stderr)
            return 2
        sign_in = "sign-in through RECON_OIDC_METADATA_URL"
    else:
        sign_in = "read-only: no identity provider configured (RECON_OIDC_METADATA_URL)"
    print(f"dashboard on http://{args.address}:{args.port} reading {source.describe()}; {sign_in}")
    return run_dashboard(args.port, args.address)


def cmd_screenshot(args: argparse.Namespace) -> int:
    """The README's picture, from the published marts (the demo's after `make demo`)."""
    from recon.dashboard.screenshot import take_decision_screenshot, take_screenshot

    path = Path(args.out)
    take_screenshot(path, month=args.month)
    print(f"wrote {path}")
    deciding = Path(args.decide_out)
    take_decision_screenshot(deciding, month=args.month)
    print(f"wrote {deciding}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="recon", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser(
        "generate", help="write messy demo raw files, seeds and an answer key"
    )
    generate.add_argument("--out", required=True, help="folder for the raw files")
    generate.add_argument("--accounts", type=int, default=60)
    generate.add_argument("--months", type=int, default=6)
    generate.add_argument("--seed", type=int, default=42)
    generate.add_argument("--end-month", default=DEMO_MONTH, help="last generated month, YYYY-MM")
    generate.add_argument("--seeds-out", default="seeds", help="folder for the reference seeds")
    generate.add_argument("--answer-key-out", default=None, help="default: OUT/answer_key")
    generate.add_argument(
        "--no-entitlements",
        action="store_true",
        help="leave out the optional contract_entitlements*.csv files (the rest is the same)",
    )
    generate.set_defaults(handler=cmd_generate)

    verbose = argparse.ArgumentParser(add_help=False)
    verbose.add_argument(
        "--verbose",
        action="store_true",
        help="dbt's per-node and Prefect's per-task lines on the console too (they are always "
        "in the log file named at the end)",
    )

    build = commands.add_parser(
        "build", help="dbt build (models and tests) for one month", parents=[verbose]
    )
    build.add_argument("--month", default=None, help="YYYY-MM; default: the previous month")
    build.set_defaults(handler=cmd_build)

    run = commands.add_parser(
        "run",
        help="the monthly job as the schedule runs it: check, build and test, export, notify",
        parents=[verbose],
    )
    run.add_argument("--month", default=None, help="YYYY-MM; default: the previous month")
    run.set_defaults(handler=cmd_run)

    serve = commands.add_parser(
        "serve", help="serve the monthly job on its schedule (prefect.yaml; needs a Prefect server)"
    )
    serve.set_defaults(handler=cmd_serve)

    load = commands.add_parser("load", help="load the raw files into Snowflake RAW tables")
    load.add_argument("--target", default="snowflake", choices=["snowflake", "snowflake_emulator"])
    load.set_defaults(handler=cmd_load)

    bench = commands.add_parser(
        "bench", help="measure the monthly build against the raw-scan floor and the alternatives"
    )
    from bench.run import add_arguments

    add_arguments(bench)
    bench.set_defaults(handler=cmd_bench)

    dashboard = commands.add_parser(
        "dashboard", help="the Streamlit dashboard over the marts (DuckDB read-only, or Snowflake)"
    )
    dashboard.add_argument("--port", type=int, default=8501)
    dashboard.add_argument("--address", default="127.0.0.1", help="0.0.0.0 to serve other machines")
    dashboard.set_defaults(handler=cmd_dashboard)

    screenshot = commands.add_parser(
        "screenshot",
        help="the README's dashboard picture, from the published marts (run after `make demo`)",
    )
    screenshot.add_argument("--out", default=str(PROJECT_DIR / "docs" / "img" / "dashboard.png"))
    screenshot.add_argument(
        "--decide-out",
        default=str(PROJECT_DIR / "docs" / "img" / "deciding.png"),
        help="the picture of a reviewer deciding (signed in through a local identity provider)",
    )
    screenshot.add_argument(
        "--month", default=None, help="YYYY-MM the picture must show (default: any)"
    )
    screenshot.set_defaults(handler=cmd_screenshot)

    demo = commands.add_parser(
        "demo", help="generate demo data and reconcile it, end to end", parents=[verbose]
    )
    demo.add_argument("--month", default=DEMO_MONTH)
    demo.set_defaults(handler=cmd_demo)
    return parser


def known_failures() -> tuple[type[BaseException], ...]:
    """Failures with a message that says it all: printed as such, without a traceback."""
    from recon.dbt import DbtBuildFailed
    from recon.export import NothingToExport
    from recon.locking import DatabaseLocked, RunInProgress
    from recon.validate import RawFilesInvalid

    return (
        RawFilesInvalid,
        DbtBuildFailed,
        RunInProgress,
        DatabaseLocked,
        NothingToExport,
        ValueError,
        OSError,
    )


def _quiet_known_failures() -> None:
    """Console only: Prefect logs a failed task or flow run with its traceback; for a known
    failure the console shows Prefect's one-line message (the API still gets everything)."""
    import logging

    failures = known_failures()

    def without_traceback(handler: logging.Handler) -> None:
        format_record = handler.format

        def format_without_traceback(record: logging.LogRecord) -> str:
            if record.exc_info and isinstance(record.exc_info[1], failures):
                record = logging.makeLogRecord({**record.__dict__, "exc_info": None})
                record.exc_text = None
            return format_record(record)

        handler.format = format_without_traceback  # type: ignore[method-assign]

    for name in ("", "prefect", "prefect.flow_runs", "prefect.task_runs"):
        for handler in logging.getLogger(name).handlers:
            if type(handler).__name__ == "PrefectConsoleHandler" or (
                type(handler) is logging.StreamHandler
            ):
                without_traceback(handler)


# exit codes: 1 a build or export failed, 2 bad input (raw files, arguments),
# 3 the database is busy (another run, another process)
def _exit_code(error: BaseException) -> int:
    from recon.locking import DatabaseLocked, RunInProgress
    from recon.validate import RawFilesInvalid

    if isinstance(error, RunInProgress | DatabaseLocked):
        return 3
    if isinstance(error, RawFilesInvalid | ValueError):
        return 2
    return 1


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except known_failures() as error:
        print(f"recon {args.command}: {error}", file=sys.stderr)
        return _exit_code(error)
    except KeyboardInterrupt:
        print(f"recon {args.command}: interrupted; nothing was published", file=sys.stderr)
        return 130
    except Exception as error:
        if os.environ.get("RECON_DEBUG"):
            raise
        print(
            f"recon {args.command}: unexpected {type(error).__name__}: {error} "
            "(RECON_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
