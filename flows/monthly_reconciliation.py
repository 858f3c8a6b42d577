"""The monthly job: validate the raw files, load, build and test, publish, export, notify.

    recon run --month 2026-10          # one run, locally (Prefect's ephemeral API)
    recon serve                        # the deployment's schedule, served by this process
    prefect deploy -n monthly-reconciliation   # the deployment of prefect.yaml, for a worker
    prefect deploy -n monthly-reconciliation-snowflake   # the same flow on Snowflake

The same steps on both engines (RECON_TARGET duckdb, snowflake, or the CI emulator
snowflake_emulator) of `monthly_reconciliation(billing_month)`:

1. `validate-raw-files` (recon/validate.py): a bad raw file stops the run here, before
   anything is built or written, naming the file, the column and the lines.
   `load-raw-files` (Snowflake only; recon/load.py): every file family into the RAW tables,
   idempotent (an unchanged file is skipped), as `recon load` does. On DuckDB dbt's
   on-run-start ingests the files itself, so the task does not run.
2. ONE in-process `dbt build` of the month, as one task (`dbt-build`) with a table artifact
   of the failed, warned and slowest nodes (recon/dbt.py); a failed model or data test
   stops the run before the export, naming the failed nodes (recon/dbt.py). dbt builds in
   a private place (the DuckDB file, or Snowflake's build schema); `publish`
   (recon/publish.py, recon/publish_snowflake.py) then shows the month to readers in one
   atomic step, only when every node passed. What the build cost (dbt's run_results.json:
   seconds per node summed, and what the adapter reports: Snowflake query ids and rows) is
   in the summary (recon/run_results.py).
3. `export-report` (recon/export.py): CSV and Excel workbook in RECON_REPORT_DIR/YYYY-MM/
   from the published marts (the same files from DuckDB and from Snowflake),
   and `dbt-docs`: the project's documentation (`dbt docs generate --static`) next to them
   in RECON_REPORT_DIR/YYYY-MM/dbt_docs/ (static_index.html opens from the file).
4. Artifacts: the month's summary (markdown) and its 10 largest findings (table).
5. `notify` (recon/notify.py): one task per endpoint of RECON_NOTIFY_URLS, with retries; a
   failing endpoint is a warning, never a failed run.

The whole run holds the run lock (a file beside RECON_DUCKDB_PATH, on both engines): a second
run at the same time on this machine stops with a clear message (recon/locking.py). On
Snowflake, a secret the environment lacks may come from a Prefect Secret block read at run
time (RECON_SNOWFLAKE_PASSWORD_BLOCK; recon/load.py `secrets_from_blocks`). Configuration
is in the environment (recon/config.py, recon/validate.py, recon/notify.py, recon/locking.py,
recon/load.py); the schedule's time zone is RECON_SCHEDULE_TIMEZONE (an IANA name; default
UTC).
"""

from __future__ import annotations

import os
import time
from datetime import UTC, date
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from recon import vocabulary
from recon.config import Settings
from recon.console import STEP
from recon.dbt import build_with_prefect, generate_docs, target_dir
from recon.export import ReportExport, export_report
from recon.load import secrets_from_blocks
from recon.locking import check_database_free, run_lock
from recon.months import resolve_billing_month
from recon.notify import build_message, masked, notification_urls, retry_options
from recon.notify import send_notification as notify_endpoint
from recon.publish import Publication, publish_month
from recon.run_results import BuildCost, build_cost
from recon.validate import ValidationResult, validate_raw_files

FLOW_NAME = "monthly-reconciliation"
DEPLOYMENT_NAME = "monthly-reconciliation"
PREFECT_YAML = Path(__file__).resolve().parents[1] / "prefect.yaml"


def scheduled_day() -> date:
    """The day this flow run was scheduled for (UTC; today outside a flow run or for a run
    started by hand): a scheduled run that starts late (the machine was off on the 2nd) still
    reconciles the month before its scheduled day, not the month before the day it starts."""
    return flow_run.scheduled_start_time.astimezone(UTC).date()


def run_name() -> str:
    """reconcile-YYYY-MM, with the month a scheduled run (billing_month null) will use."""
    month = resolve_billing_month(flow_run.parameters.get("billing_month"), scheduled_day())
    return f"reconcile-{month}"


SUMMARY_MEASURES = (
    ("customer_products", "count"),
    ("billing_match_rate", "percent"),
    ("overbilled_amount", "money"),
    ("underbilled_amount", "money"),
    ("account_findings", "count"),
    ("new_account_findings", "count"),
    ("recurring_account_findings", "count"),
    ("open_amount_at_risk", "money"),
    ("open_findings", "count"),
    ("disputed_findings", "count"),
    ("resolved_findings", "count"),
    ("mean_days_to_resolve", "days"),
    ("provider_findings", "count"),
    ("data_quality_issues", "count"),
    ("seats_above_entitlement", "count"),
    ("seats_below_entitlement", "count"),
    ("seats_without_entitlement", "count"),
    ("true_up_amount", "money"),
)


# A count or an amount not in the summary is none; a rate or a mean of nothing is unknown.
_MISSING = {"count": 0, "money": 0, "percent": None, "days": None}


def _shown(value: Any, kind: str) -> str:
    """A summary value as the workbook and the dashboard show it."""
    if value is None:
        return "n/a"
    if kind == "percent":
        return f"{float(value):.1%}"
    if kind == "money":
        return vocabulary.money(value)
    if kind == "days":
        return f"{float(value):.1f}"
    return f"{value}"


def summary_markdown(
    report: ReportExport, validation: ValidationResult, build: BuildCost | None = None
) -> str:
    summary = report.summary
    lines = [
        f"# Provider reconciliation {report.billing_month}",
        "",
        "| measure | value |",
        "|---|---:|",
        *(
            f"| {vocabulary.header(name)} | {_shown(summary.get(name, _MISSING[kind]), kind)} |"
            for name, kind in SUMMARY_MEASURES
        ),
        f"| {vocabulary.header('raw_file_warnings')} | {len(validation.warnings)} |",
        "",
        f"Report: `{report.csv_path}` and `{report.xlsx_path}`",
    ]
    if report.adjustments_csv_path is not None:
        lines.append(
            f"Billing adjustments to import ({report.adjustment_lines} lines): "
            f"`{report.adjustments_csv_path}`"
        )
    if validation.data_docs_index:
        lines.append(f"Raw-file checks (Great Expectations): `{validation.data_docs_index}`")
    if validation.warnings:
        lines += ["", "## Raw-file warnings", ""]
        lines += [f"- {warning.describe()}" for warning in validation.warnings]
    if build is not None:
        lines += ["", *build.markdown()]
    return "\n".join(lines)


TOP_FINDINGS_COLUMNS = (
    *vocabulary.FINDINGS_LEAD_COLUMNS,
    "billable_providers",
    "billed_quantity",
    "reason",
    "discrepancy_id",
)


def top_findings_table(report: ReportExport) -> list[dict[str, Any]]:
    """The month's largest findings as the workbook's Findings sheet lists them: the same
    rows, headers and words."""
    rows = []
    for finding in report.top_findings:
        row = {name: finding.get(name) for name in TOP_FINDINGS_COLUMNS}
        row["product_code"] = vocabulary.product_shown(row["product_code"])
        rows.append({vocabulary.header(name): value for name, value in row.items()})
    return rows


@task(name="dbt-docs")
def write_dbt_docs(billing_month: str) -> Path:
    """The dbt docs of the build, in the month's report folder (dbt_docs/)."""
    settings = Settings.from_env()
    return generate_docs(settings, billing_month, settings.report_dir / billing_month / "dbt_docs")


def publish_artifacts(
    report: ReportExport, validation: ValidationResult, build: BuildCost | None = None
) -> None:
    create_markdown_artifact(
        markdown=summary_markdown(report, validation, build),
        key="reconciliation-summary",
        description=f"Provider reconciliation of {report.billing_month}",
    )
    create_table_artifact(
        table=top_findings_table(report),
        key="reconciliation-largest-findings",
        description=f"The 10 largest findings of {report.billing_month} by |amount_delta|",
    )


def notify(report: ReportExport) -> dict[str, int]:
    """One task run per endpoint; a failed endpoint (after its retries) is only a warning."""
    logger = get_run_logger()
    urls = notification_urls()
    if not urls:
        logger.info("   RECON_NOTIFY_URLS is not set: no notification", extra=STEP)
        return {"sent": 0, "failed": 0}
    message = build_message(
        report.billing_month, report.new_findings, report.summary, str(report.xlsx_path)
    )
    notify_task = notify_endpoint.with_options(**retry_options())
    states = [
        notify_task(position, message.title, message.body, return_state=True)
        for position in range(len(urls))
    ]
    failed = 0
    for url, state in zip(urls, states, strict=True):
        if not state.is_completed():
            failed += 1
            logger.warning("notification to %s failed: %s", masked(url), state.message)
    logger.info("   %s of %s notifications sent", len(urls) - failed, len(urls), extra=STEP)
    return {"sent": len(urls) - failed, "failed": failed}


@task(name="load-raw-files", retries=2, retry_delay_seconds=30, cache_policy=NO_CACHE)
def load_raw(billing_month: str) -> list[str]:
    """Snowflake: RECON_RAW_DIR into the RAW tables (recon/load.py). Idempotent, so a retry
    after a dropped connection loads only what is not loaded yet."""
    from recon.load import connect, load_raw_files

    settings = Settings.from_env()
    messages: list[str] = []
    connection = connect(settings.target)
    try:
        load_raw_files(connection, settings.raw_dir, report=messages.append)
    finally:
        connection.close()
    return messages


@task(name="publish")
def publish(billing_month: str) -> Publication:
    """The month's marts to where readers read them, in one atomic step (recon/publish.py)."""
    settings = Settings.from_env()
    return publish_month(settings, billing_month, target_dir(settings) / "manifest.json")


@flow(name=FLOW_NAME, flow_run_name=run_name)
def monthly_reconciliation(billing_month: str | None = None) -> dict[str, Any]:
    """Reconciles one billing month ('YYYY-MM'; None: the previous calendar month)."""
    logger = get_run_logger()
    month = resolve_billing_month(billing_month, scheduled_day())
    settings = Settings.from_env()
    on_snowflake = settings.target.startswith("snowflake")

    # One run at a time per database, for the whole run (recon/locking.py).
    logger.info("reconciling billing month %s on target %s", month, settings.target)
    with run_lock(settings, f"monthly run of {month}"), secrets_from_blocks() as from_blocks:
        if from_blocks:
            logger.info("   %s read from Prefect Secret blocks", ", ".join(from_blocks))
        logger.info("1/5 checking the raw files in %s", settings.raw_dir, extra=STEP)
        validation = validate_raw_files(month)
        logger.info(
            "   %s files, %s rows",
            len(validation.files),
            sum(validation.rows.values()),
            extra=STEP,
        )
        if on_snowflake:
            loaded = load_raw(month)
            logger.info(
                "   loaded into the RAW tables (%s): %s",
                settings.target,
                "; ".join(loaded),
                extra=STEP,
            )
        else:
            logger.info("   load-raw-files skipped: on DuckDB dbt ingests the files itself")

        logger.info(
            "2/5 dbt build of %s on %s (models and data tests)", month, settings.target, extra=STEP
        )
        # Write and audit in the private place; publish only when every node passed: a
        # failed build leaves what readers see, every earlier month and report, as it was.
        if settings.target == "duckdb":
            check_database_free(settings.duckdb_path)
        build_started = time.perf_counter()
        nodes = build_with_prefect(settings, month)
        build_step_seconds = time.perf_counter() - build_started
        build = build_cost(target_dir(settings) / "run_results.json")
        logger.info(
            "   %s dbt nodes built and tested: %.1f s in nodes, %.1f s wall-clock",
            nodes,
            build.node_seconds,
            build.elapsed_seconds,
            extra=STEP,
        )
        logger.info("3/5 publishing %s to readers", month, extra=STEP)
        publication = publish(month)
        logger.info("   %s", publication.describe(), extra=STEP)

        logger.info("4/5 exporting the report to %s", settings.report_dir / month, extra=STEP)
        report = export_report(month, validation.warning_rows())
        dbt_docs = write_dbt_docs(month)
        publish_artifacts(report, validation, build)

    logger.info("5/5 notifying", extra=STEP)
    notifications = notify(report)

    summary = report.summary
    return {
        "billing_month": month,
        "report_csv": str(report.csv_path),
        "report_xlsx": str(report.xlsx_path),
        "adjustments_csv": str(report.adjustments_csv_path),
        "adjustment_lines": report.adjustment_lines,
        "data_docs": str(validation.data_docs_index) if validation.data_docs_index else None,
        "dbt_docs": str(dbt_docs),
        "report_rows": report.report_rows,
        "dbt_nodes": nodes,
        "build_step_seconds": round(build_step_seconds, 3),
        "customer_products": summary.get("customer_products", 0),
        "billing_match_rate": summary.get("billing_match_rate"),
        "overbilled_amount": summary.get("overbilled_amount", 0.0),
        "underbilled_amount": summary.get("underbilled_amount", 0.0),
        "account_findings": summary.get("account_findings", 0),
        "new_account_findings": summary.get("new_account_findings", 0),
        "provider_findings": summary.get("provider_findings", 0),
        "data_quality_issues": summary.get("data_quality_issues", 0),
        "seats_above_entitlement": summary.get("seats_above_entitlement", 0),
        "seats_below_entitlement": summary.get("seats_below_entitlement", 0),
        "true_up_amount": summary.get("true_up_amount", 0.0),
        "raw_file_warnings": len(validation.warnings),
        "notifications_sent": notifications["sent"],
        "notifications_failed": notifications["failed"],
        "target": settings.target,
        "published_partitions": sum(len(months) for months in publication.partitions.values()),
        "publish_seconds": round(publication.seconds, 3),
        **build.as_dict(),
    }


# --------------------------------------------------------------------------- schedule
def deployment_schedule(prefect_yaml: Path = PREFECT_YAML) -> tuple[str, str]:
    """(cron, time zone) of the deployment in prefect.yaml: `recon serve` uses the same one.

    The time zone is written there as "{{ $RECON_SCHEDULE_TIMEZONE }}": the variable's value,
    UTC when unset (as Prefect does for an empty time zone).
    """
    import yaml

    config = yaml.safe_load(prefect_yaml.read_text(encoding="utf-8"))
    deployment = next(d for d in config["deployments"] if d["name"] == DEPLOYMENT_NAME)
    schedule = deployment["schedules"][0]
    timezone = str(schedule.get("timezone") or "")
    if "{{" in timezone:
        timezone = os.environ.get("RECON_SCHEDULE_TIMEZONE", "")
    return schedule["cron"], timezone.strip() or "UTC"


def served_deployment() -> Any:
    """The deployment `recon serve` serves: prefect.yaml's schedule and parameters."""
    from prefect.schedules import Cron

    cron, timezone = deployment_schedule()
    return monthly_reconciliation.to_deployment(
        name=DEPLOYMENT_NAME,
        schedules=[Cron(cron, timezone=timezone)],
        parameters={"billing_month": None},
        description="Validate the raw files, build and test one month, export, notify.",
        tags=["reconciliation"],
    )


def serve() -> None:
    """Serves the flow on the deployment's schedule until interrupted (needs a Prefect server)."""
    from prefect import serve as serve_deployments

    serve_deployments(served_deployment())


if __name__ == "__main__":
    monthly_reconciliation()
