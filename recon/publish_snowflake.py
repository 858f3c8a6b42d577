"""Write-audit-publish on Snowflake: the month built and tested in the build schema is copied
to the published schema, where readers read, in one transaction (recon/publish.py).

dbt builds and tests in the profile's schema (SNOWFLAKE_SCHEMA, default `recon_build`): a
private schema nobody reads but the build. Readers (BI tools, the dashboard, the export, the
reporting role) read RECON_PUBLISHED_SCHEMA (default `recon`) of the same database, which only
`publish_to_schema` writes, after a build whose every node passed:

1. DDL first (each DDL statement commits on its own on Snowflake, so none may run inside the
   transaction): the published schema, `published_months`, and for each mart a permanent table
   with the build table's columns and types as DESCRIBE TABLE shows them (`create table if
   not exists`); a column the build has and the published table lacks is added (`alter table
   ... add column`), a VARCHAR or NUMBER that the build widened is widened. Any other change of
   a column's type stops the publish before anything is written (PublishRefused), naming the
   column.
2. ONE transaction (`begin` ... `commit`, `rollback` on any error): per mart,
   - incremental by month (`replace_month`): delete the month's rows, insert the build's rows of
     that month;
   - other marts with `billing_month`: the months whose content differs (a hash of each month's
     rows and its row count, computed on both sides over the build's columns), plus the month
     built, deleted and inserted the same way;
   - marts without `billing_month`: every row deleted and inserted;
   and the month's row of `<published>.published_months` (billing_month, published_at UTC,
   build_id) replaced. Readers see the month before or after, never half of it; a failure
   rolls everything back.
3. After the commit, with RECON_REPORTING_ROLE set: USAGE on the published schema and SELECT on
   each published table to that role. Nothing is ever granted on the build schema.

Every insert names its columns (the build's): a column the build no longer has stays in the
published table, NULL in new rows. A published table whose mart left the project is left alone
(drop it by hand). What is written is the month's rows (and the months that changed); the hash
comparison reads the other marts' history once on each side, it writes none of it.

The emulator (fakesnow 0.12.1, target `snowflake_emulator`, CI only) has no HASH_AGG: there the
month hash is `cast(bitxor_agg(hash(<columns>)) as varchar)` (docs/snowflake.md). It has no
GRANT either; the tests check the grant statements through a connection that records them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from recon.config import Settings
from recon.load import connect, transaction
from recon.publish import MONTH_COLUMN, PUBLISHED_MONTHS, WHOLE, Mart, Publication, new_build_id

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
EMULATOR = "snowflake_emulator"
_SIZED = re.compile(r"(VARCHAR|NUMBER)\((\d+)(?:,(\d+))?\)")


class PublishRefused(ValueError):
    """A published table cannot take the build's rows as they are (a column changed type)."""


@dataclass(frozen=True)
class Column:
    name: str  # as Snowflake stores it (upper case for unquoted names)
    type: str  # as DESCRIBE TABLE shows it: NUMBER(38,2), VARCHAR(16777216), DATE, ...

    @property
    def quoted(self) -> str:
        return '"' + self.name.replace('"', '""') + '"'


def identifier(name: str, what: str) -> str:
    """A schema, table or role name used unquoted; anything else is refused."""
    if not IDENTIFIER.fullmatch(name):
        raise ValueError(f"{what} must be a plain Snowflake identifier, got {name!r}")
    return name


def reporting_role() -> str:
    """RECON_REPORTING_ROLE (empty: no grants)."""
    role = os.environ.get("RECON_REPORTING_ROLE", "").strip()
    return identifier(role, "RECON_REPORTING_ROLE") if role else ""


# --------------------------------------------------------------------------- columns
def _columns(cursor: Any, relation: str) -> list[Column]:
    cursor.execute(f"describe table {relation}")
    return [Column(row[0], str(row[1]).upper().replace(" ", "")) for row in cursor.fetchall()]


def widened_type(published: str, built: str) -> str | None:
    """The type to alter a published column to, when the build only widened it (Snowflake can
    lengthen a VARCHAR and raise a NUMBER's precision in place); None when nothing is to do.
    Raises PublishRefused for any other change."""
    if published == built:
        return None
    old, new = _SIZED.fullmatch(published), _SIZED.fullmatch(built)
    if old and new and old[1] == new[1] and old[3] == new[3] and int(new[2]) > int(old[2]):
        return built
    if old and new and old[1] == new[1] and old[3] == new[3]:
        return None  # the published column is already wider
    raise PublishRefused(f"{published} in the published table, {built} in the build")


def _published_tables(cursor: Any, schema: str) -> set[str]:
    cursor.execute(
        "select table_name from information_schema.tables where table_schema = ?",
        (schema.upper(),),
    )
    return {row[0].upper() for row in cursor.fetchall()}


def prepare_tables(cursor: Any, published: str, marts: list[Mart]) -> dict[str, list[Column]]:
    """The DDL before the transaction; returns each mart's build columns (what is inserted).

    Every published table is checked before any is created or altered, so a refused type
    change leaves the published schema as it was."""
    cursor.execute(f"create schema if not exists {published}")
    existing = _published_tables(cursor, published)
    built: dict[str, list[Column]] = {}
    alterations: list[str] = []
    for mart in marts:
        built[mart.name] = _columns(cursor, f"{mart.schema}.{mart.name}")
        if mart.name.upper() not in existing:
            continue
        relation = f"{published}.{mart.name}"
        columns = {column.name: column.type for column in _columns(cursor, relation)}
        for column in built[mart.name]:
            if column.name not in columns:
                alterations.append(
                    f"alter table {relation} add column {column.quoted} {column.type}"
                )
                continue
            try:
                wider = widened_type(columns[column.name], column.type)
            except PublishRefused as error:
                raise PublishRefused(
                    f"column {column.name} of {relation} changed type ({error}): nothing was "
                    f"published; alter the published column (docs/snowflake.md) and run again"
                ) from None
            if wider:
                alterations.append(
                    f"alter table {relation} alter column {column.quoted} set data type {wider}"
                )
    for mart in marts:
        if mart.name.upper() not in existing:
            # The build's columns and types, spelled out: a permanent table whatever the build
            # table is (dbt-snowflake makes tables transient by default).
            definitions = ", ".join(f"{c.quoted} {c.type}" for c in built[mart.name])
            cursor.execute(f"create table if not exists {published}.{mart.name} ({definitions})")
    for statement in alterations:
        cursor.execute(statement)
    cursor.execute(
        f"create table if not exists {published}.{PUBLISHED_MONTHS} (billing_month date, "
        "published_at timestamp_ntz, build_id varchar)"
    )
    return built


# --------------------------------------------------------------------------- what changed
def _hash_expression(target: str, columns: list[Column]) -> str:
    listed = ", ".join(column.quoted for column in columns)
    if target == EMULATOR:  # fakesnow has no HASH_AGG (docs/snowflake.md)
        return f"cast(bitxor_agg(hash({listed})) as varchar)"
    return f"hash_agg({listed})"


def month_hashes(cursor: Any, relation: str, hashed: str) -> dict[date | None, tuple[Any, int]]:
    """{billing_month: (hash of its rows, row count)} of a relation."""
    cursor.execute(
        f"select {MONTH_COLUMN}, {hashed}, count(*) from {relation} group by {MONTH_COLUMN}"
    )
    return {_as_date(month): (digest, count) for month, digest, count in cursor.fetchall()}


def _as_date(value: Any) -> date | None:
    return value.date() if isinstance(value, datetime) else value


def months_to_publish(
    cursor: Any, target: str, mart: Mart, published: str, columns: list[Column], month: date
) -> list[date | None]:
    """The months of a by-month mart to (re)publish: the month built, and for a mart that is
    not incremental by month every month whose rows differ between the build and what was
    published (a month gone from the build included: it is deleted)."""
    if mart.month_built_only:
        return [month]
    hashed = _hash_expression(target, columns)
    built = month_hashes(cursor, f"{mart.schema}.{mart.name}", hashed)
    shown = month_hashes(cursor, f"{published}.{mart.name}", hashed)
    changed = {key for key in built.keys() | shown.keys() if built.get(key) != shown.get(key)}
    return sorted(changed | {month}, key=lambda key: (key is None, key or date.min))


def _month_condition(months: list[date | None]) -> tuple[str, list[Any]]:
    dated = [month for month in months if month is not None]
    parts = [f"{MONTH_COLUMN} in ({', '.join('?' for _ in dated)})"] if dated else []
    if len(dated) < len(months):
        parts.append(f"{MONTH_COLUMN} is null")
    return " or ".join(parts), dated


def _copy(
    cursor: Any,
    published: str,
    mart: Mart,
    columns: list[Column],
    months: list[date | None] | None,
) -> None:
    """Deletes the months' rows (None: every row) from the published table and inserts the
    build's rows of those months."""
    target, source = f"{published}.{mart.name}", f"{mart.schema}.{mart.name}"
    listed = ", ".join(column.quoted for column in columns)
    where, parameters = ("", [])
    if months is not None:
        condition, parameters = _month_condition(months)
        where = f" where {condition}"
    cursor.execute(f"delete from {target}{where}", parameters or None)
    cursor.execute(
        f"insert into {target} ({listed}) select {listed} from {source}{where}", parameters or None
    )


def _partition(month: date | None) -> str:
    return month.strftime("%Y-%m") if month else "null"


# --------------------------------------------------------------------------- grants
def grant_statements(published: str, tables: list[str], role: str) -> list[str]:
    """What the reporting role gets: USAGE on the published schema, SELECT on its tables."""
    statements = [f"grant usage on schema {published} to role {role}"]
    statements += [f"grant select on table {published}.{table} to role {role}" for table in tables]
    return statements


# --------------------------------------------------------------------------- publish
def publish_to_schema(
    settings: Settings, billing_month: str, marts: list[Mart], connection: Any = None
) -> Publication:
    """Publishes the month just built (call only after a successful build); see the module doc.

    `connection`: an open Snowflake connection to use (tests); by default one is opened with
    the target's settings (recon/load.py) and closed after."""
    published = identifier(settings.published_schema, "RECON_PUBLISHED_SCHEMA")
    for mart in marts:
        identifier(mart.schema, "the build schema (SNOWFLAKE_SCHEMA)")
        identifier(mart.name, "a mart's name")
        if mart.schema.lower() == published.lower():
            raise ValueError(
                f"the build schema of {mart.name} is the published schema {published}: set "
                "SNOWFLAKE_SCHEMA (the private build schema, default recon_build) and "
                "RECON_PUBLISHED_SCHEMA to two different schemas"
            )
    role = reporting_role()
    own_connection = connection is None
    connection = connection or connect(settings.target)
    publication = Publication(billing_month, new_build_id())
    month = date.fromisoformat(f"{billing_month}-01")
    try:
        cursor = connection.cursor()
        columns = prepare_tables(cursor, published, marts)
        plan: dict[str, list[date | None] | None] = {
            mart.name: months_to_publish(
                cursor, settings.target, mart, published, columns[mart.name], month
            )
            if mart.by_month
            else None
            for mart in marts
        }
        with transaction(cursor):
            for mart in marts:
                _copy(cursor, published, mart, columns[mart.name], plan[mart.name])
                months = plan[mart.name]
                publication.partitions[mart.name] = (
                    [WHOLE] if months is None else [_partition(key) for key in months]
                )
            cursor.execute(
                f"delete from {published}.{PUBLISHED_MONTHS} where billing_month = ?", (month,)
            )
            cursor.execute(
                f"insert into {published}.{PUBLISHED_MONTHS} values (?, ?, ?)",
                (month, datetime.now(UTC).replace(tzinfo=None), publication.build_id),
            )
        if role:
            tables = [*(mart.name for mart in marts), PUBLISHED_MONTHS]
            try:
                for statement in grant_statements(published, tables, role):
                    cursor.execute(statement)
            except Exception as error:
                raise RuntimeError(
                    f"{billing_month} was published to {published}, but granting {role} "
                    f"failed: {error}"
                ) from error
    finally:
        if own_connection:
            connection.close()
    return publication
