"""Reading the published marts: what BI tools, the dashboard and the export see.

dbt builds and tests each month in a private place; recon/publish.py publishes it. Readers
only ever read what was published:

- DuckDB: the catalog file `<RECON_PUBLISHED_DIR>/<database file name>` (default
  `data/published/provider_recon.duckdb`), opened read-only: views in schema `recon` over
  Parquet files that are written once and never changed in place.
- Snowflake: the schema RECON_PUBLISHED_SCHEMA (default `recon`) of SNOWFLAKE_DATABASE.

Every query is plain SQL over `{schema}.<mart>` with `?` parameters, the same on both engines.
A connection lives for one query, so a reader never holds anything a build needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recon.config import Settings

MART_SCHEMA = "recon"  # the schema of the views in the DuckDB catalog


# The month's findings (fct_billing_discrepancies with their decision status), one row per
# finding, as the workbook's Findings sheet and the dashboard both show them: product findings
# by absolute dollar impact, then the account-level findings (product NULL), whose amount is
# NULL here: in the mart it is the sum of the customer's product findings, listed on their
# own rows, so showing it again would count the same dollars twice.
FINDINGS_QUERY = """
    select
        findings.customer_name,
        findings.product_code,
        findings.status_label,
        case when findings.product_code is not null then findings.amount_delta end
            as amount_delta,
        findings.recommended_action,
        findings.invoice_status,
        findings.invoice_ids,
        findings.reason,
        findings.crm_active_providers,
        findings.billable_providers,
        findings.billed_quantity,
        findings.quantity_delta,
        findings.unit_price,
        resolutions.resolution_status,
        resolutions.decision,
        resolutions.decided_by,
        resolutions.decided_at,
        resolutions.age_days,
        resolutions.previous_decision,
        findings.is_new,
        resolutions.is_material,
        resolutions.is_reopened,
        findings.first_seen_month,
        findings.discrepancy_type,
        findings.customer_key,
        findings.account_id,
        findings.discrepancy_id
    from {schema}.fct_billing_discrepancies as findings
    left join {schema}.fct_discrepancy_resolutions as resolutions
        on findings.discrepancy_id = resolutions.discrepancy_id
    where findings.billing_month = ?
    order by
        case when findings.product_code is null then 1 else 0 end,
        abs(findings.amount_delta) desc,
        findings.customer_key,
        findings.product_code,
        findings.discrepancy_type"""


class NothingPublished(FileNotFoundError):
    """No month has been published yet where the reader looks."""


@dataclass(frozen=True)
class Rows:
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


@dataclass(frozen=True)
class MartReader:
    """Where the published marts are: a DuckDB catalog file or a Snowflake target's schema."""

    target: str
    catalog: Path
    schema: str

    @classmethod
    def published(cls, settings: Settings) -> MartReader:
        if settings.target.startswith("snowflake"):
            return cls(settings.target, Path(), settings.published_schema)
        return cls(settings.target, settings.published_catalog, MART_SCHEMA)

    @classmethod
    def from_env(cls) -> MartReader:
        return cls.published(Settings.from_env())

    def describe(self) -> str:
        if self.target == "duckdb":
            return f"DuckDB {self.catalog} (read-only)"
        return f"Snowflake target {self.target}, schema {self.schema}"

    def query(self, sql: str, parameters: list[Any] | tuple[Any, ...] = ()) -> Rows:
        """Runs `sql` ({schema} replaced by the marts' schema) and returns every row."""
        sql = sql.format(schema=self.schema)
        if self.target == "duckdb":
            return _duckdb_rows(self.catalog, sql, list(parameters))
        return _snowflake_rows(self.target, sql, list(parameters))


def _duckdb_rows(catalog: Path, sql: str, parameters: list[Any]) -> Rows:
    import duckdb

    if not catalog.exists():
        raise NothingPublished(
            f"nothing published at {catalog}: run `recon run --month YYYY-MM` (or `make demo`) "
            "first"
        )
    connection = duckdb.connect(str(catalog), read_only=True)
    try:
        cursor = connection.execute(sql, parameters)
        columns = tuple(column[0] for column in cursor.description)
        return Rows(columns, cursor.fetchall())
    finally:
        connection.close()


def _snowflake_rows(target: str, sql: str, parameters: list[Any]) -> Rows:
    from recon.load import connect

    connection = connect(target)
    try:
        cursor = connection.cursor()
        cursor.execute(sql, parameters)
        columns = tuple(column[0].lower() for column in cursor.description)
        return Rows(columns, [tuple(row) for row in cursor.fetchall()])
    finally:
        connection.close()
