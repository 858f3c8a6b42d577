"""Write-audit-publish: readers see a month only once it is built and tested, all at once.

dbt builds and tests a month in a private place: the DuckDB file RECON_DUCKDB_PATH, or the
profile's schema on Snowflake (SNOWFLAKE_SCHEMA, default `recon_build`). Nobody reads it but
the build. When every node passed, `publish_month` copies the month's rows of every mart to
where readers read (recon/marts.py), in one atomic step; a failed build or data test never
gets there, so readers keep what they had. The cost is the month's rows, not the history:

- Marts built incrementally by month (`replace_month`) change only in the month built: its
  rows are published.
- Other marts with a `billing_month` (the summary, the decisions on findings, which change the
  past) are compared month by month with what was published (a hash of each month's rows);
  only the months that differ are published.
- A mart without `billing_month` is published whole.

DuckDB (one writer per file, and a reader blocks a writer): nothing a reader has open is ever
written. Each published month of a mart is a Parquet file written once under
`<RECON_PUBLISHED_DIR>/<mart>/` and never changed; readers open the catalog
`<RECON_PUBLISHED_DIR>/<database file name>`, a small DuckDB file of views over those files.
Publishing writes the month's new files, then a new catalog beside the old one, and swaps it in
with one `os.replace`: a reader that opened the old catalog keeps reading the old files (kept
for RECON_PUBLISH_KEEP_SECONDS, default a day), one that opens it after reads the new month.
The catalog also holds `recon.published_months` (month, when, which build) and the bookkeeping
of which file holds which month (`recon_publish.partitions`).

Snowflake: the published schema RECON_PUBLISHED_SCHEMA (default `recon`) holds one table per
mart; the changed months are deleted and inserted from the build schema in one transaction,
then the reporting role (RECON_REPORTING_ROLE) is granted SELECT on them. The build schema
is never granted to it.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from recon.config import Settings
from recon.marts import MART_SCHEMA

PUBLISHED_MONTHS = "published_months"
BOOKKEEPING_SCHEMA = "recon_publish"
MONTH_COLUMN = "billing_month"
WHOLE = "all"  # the partition name of a mart without billing_month


@dataclass(frozen=True)
class Mart:
    """A mart as the build left it: where it is and how it is partitioned."""

    name: str
    schema: str
    by_month: bool  # has a billing_month column
    month_built_only: bool  # incremental by month: only the month built can have changed


@dataclass
class Publication:
    """What one publish did: the partitions written per mart and how long it took."""

    billing_month: str
    build_id: str
    partitions: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0

    def describe(self) -> str:
        written = sum(len(months) for months in self.partitions.values())
        return (
            f"published {self.billing_month}: {written} partitions of "
            f"{len(self.partitions)} marts in {self.seconds:.1f} s"
        )


def marts_of_manifest(manifest_path: Path) -> list[Mart]:
    """The project's marts (models under models/marts/) from dbt's manifest.json."""
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    marts = []
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model" or node["fqn"][1:2] != ["marts"]:
            continue
        config = node["config"]
        if not config.get("enabled", True) or config.get("materialized") == "ephemeral":
            continue
        marts.append(
            Mart(
                name=node["alias"] or node["name"],
                schema=node["schema"],
                by_month=MONTH_COLUMN in {name.lower() for name in node["columns"]},
                month_built_only=config.get("materialized") == "incremental"
                and config.get("incremental_strategy") == "replace_month",
            )
        )
    return sorted(marts, key=lambda mart: mart.name)


def new_build_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


def month_start(billing_month: str) -> date:
    return date.fromisoformat(f"{billing_month}-01")


def publish_month(settings: Settings, billing_month: str, manifest_path: Path) -> Publication:
    """Publishes the month just built and tested (call only after a successful build)."""
    marts = marts_of_manifest(manifest_path)
    if not marts:
        raise ValueError(f"no mart in {manifest_path}: was the project built?")
    started = time.monotonic()
    if settings.target.startswith("snowflake"):
        from recon.publish_snowflake import publish_to_schema

        publication = publish_to_schema(settings, billing_month, marts)
    else:
        publication = publish_to_files(settings, billing_month, marts)
    publication.seconds = time.monotonic() - started
    return publication


# --------------------------------------------------------------------------- DuckDB
def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _parquet_column(name: str, kind: str) -> str:
    """A column as Parquet can keep its type: DuckDB's 128-bit integers (what sum() of integers
    gives) have no Parquet type and would come back as doubles; they are written as BIGINT
    (a value that does not fit fails the publish, loudly)."""
    if kind in ("HUGEINT", "UHUGEINT"):
        return f"cast({_quote(name)} as bigint) as {_quote(name)}"
    return _quote(name)


@dataclass
class PublishedState:
    """What the current catalog says: {(mart, partition): (file, hash)}, the published months,
    and the files replaced since, with when (readers of an older catalog may still read them)."""

    partitions: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    months: list[tuple[date, datetime, str]] = field(default_factory=list)
    retired: dict[str, datetime] = field(default_factory=dict)


def _published_state(catalog: Path) -> PublishedState:
    import duckdb

    if not catalog.exists():
        return PublishedState()
    connection = duckdb.connect(str(catalog), read_only=True)
    try:
        partitions = {
            (mart, partition): (path, digest)
            for mart, partition, path, digest in connection.execute(
                f"select mart, partition_name, file_path, content_hash "
                f"from {BOOKKEEPING_SCHEMA}.partitions"
            ).fetchall()
        }
        months = connection.execute(
            f"select billing_month, published_at, build_id from {MART_SCHEMA}.{PUBLISHED_MONTHS}"
        ).fetchall()
        retired = dict(
            connection.execute(
                f"select file_path, retired_at from {BOOKKEEPING_SCHEMA}.retired_files"
            ).fetchall()
        )
        return PublishedState(partitions, months, retired)
    finally:
        connection.close()


def _month_hashes(connection: Any, relation: str) -> dict[str, str]:
    """A hash of each month's rows (order-independent) of a built mart."""
    rows = connection.execute(
        f"select strftime({MONTH_COLUMN}, '%Y-%m'), cast(bit_xor(hash(t)) as varchar), "
        f"count(*) from {relation} as t group by 1"
    ).fetchall()
    return {month: f"{digest}:{count}" for month, digest, count in rows}


def _partitions_to_write(
    connection: Any,
    mart: Mart,
    relation: str,
    billing_month: str,
    published: dict[tuple[str, str], tuple[str, str]],
) -> dict[str, str]:
    """{partition: content hash} of the mart's partitions that must be (re)written."""
    if not mart.by_month:
        digest = connection.execute(
            f"select cast(bit_xor(hash(t)) as varchar) || ':' || count(*) from {relation} as t"
        ).fetchone()[0]
        return {WHOLE: digest}
    if mart.month_built_only:
        digest = connection.execute(
            f"select cast(bit_xor(hash(t)) as varchar) || ':' || count(*) from {relation} as t "
            f"where {MONTH_COLUMN} = ?",
            [month_start(billing_month)],
        ).fetchone()[0]
        return {billing_month: digest}
    hashes = _month_hashes(connection, relation)
    changed = {
        month: digest
        for month, digest in hashes.items()
        if published.get((mart.name, month), ("", ""))[1] != digest
    }
    for (name, month), _ in published.items():  # a month that has no rows any more
        if name == mart.name and month not in hashes:
            changed[month] = "0:0"
    changed.setdefault(billing_month, hashes.get(billing_month, "0:0"))
    return changed


def publish_to_files(settings: Settings, billing_month: str, marts: list[Mart]) -> Publication:
    """DuckDB: the month's Parquet files, then a new catalog swapped in (see the module doc)."""
    import duckdb

    folder = settings.published_dir
    folder.mkdir(parents=True, exist_ok=True)
    catalog = settings.published_catalog
    state = _published_state(catalog)
    published = state.partitions
    build_id = new_build_id()
    publication = Publication(billing_month, build_id)
    partitions = dict(published)
    columns: dict[str, tuple[str, ...]] = {}

    connection = duckdb.connect(str(settings.duckdb_path), read_only=True)
    try:
        for mart in marts:
            relation = f"{_quote(mart.schema)}.{_quote(mart.name)}"
            described = connection.execute(f"describe {relation}").fetchall()
            columns[mart.name] = tuple(row[0] for row in described)
            selected = ", ".join(_parquet_column(name, kind) for name, kind, *_ in described)
            to_write = _partitions_to_write(connection, mart, relation, billing_month, published)
            mart_folder = folder / mart.name
            mart_folder.mkdir(exist_ok=True)
            for partition, digest in sorted(to_write.items()):
                path = mart_folder / f"{partition}.{build_id}.parquet"
                relative = f"{mart.name}/{path.name}"
                where = (
                    f"where {MONTH_COLUMN} = {_literal(f'{partition}-01')}::date"
                    if partition != WHOLE
                    else ""
                )
                connection.execute(
                    f"copy (select {selected} from {relation} {where}) "
                    f"to {_literal(str(path))} (format parquet)"
                )
                partitions[(mart.name, partition)] = (relative, digest)
            publication.partitions[mart.name] = sorted(to_write)
    finally:
        connection.close()

    # Marts no longer in the project are no longer published.
    partitions = {key: value for key, value in partitions.items() if key[0] in columns}
    now = datetime.now(UTC).replace(tzinfo=None)
    months = [row for row in state.months if row[0] != month_start(billing_month)]
    months.append((month_start(billing_month), now, build_id))
    referenced = {path for path, _ in partitions.values()}
    retired = {path: when for path, when in state.retired.items() if path not in referenced}
    for path, _ in published.values():
        if path not in referenced:
            retired.setdefault(path, now)
    retired = _remove_retired_files(folder, retired, now)
    _write_catalog(catalog, columns, partitions, months, retired)
    return publication


def refresh_catalog(settings: Settings) -> None:
    """Writes the catalog again from its own bookkeeping, for the folder it is in now (after
    the published folder was moved or copied: the views name the files by absolute path)."""
    import duckdb

    catalog = settings.published_catalog
    state = _published_state(catalog)
    connection = duckdb.connect(str(catalog), read_only=True)
    try:
        columns = {
            mart: tuple(
                row[0]
                for row in connection.execute(f"describe {MART_SCHEMA}.{_quote(mart)}").fetchall()
            )
            for mart in {mart for mart, _ in state.partitions}
        }
    finally:
        connection.close()
    _write_catalog(catalog, columns, state.partitions, state.months, state.retired)


def _write_catalog(
    catalog: Path,
    columns: dict[str, tuple[str, ...]],
    partitions: dict[tuple[str, str], tuple[str, str]],
    months: Iterable[tuple[date, datetime, str]],
    retired: dict[str, datetime],
) -> None:
    """A new catalog file beside the old one, then one atomic rename over it."""
    import duckdb

    new = catalog.with_name(f".{catalog.name}.{uuid.uuid4().hex[:8]}.new")
    connection = duckdb.connect(str(new))
    try:
        connection.execute(f"create schema {MART_SCHEMA}")
        connection.execute(f"create schema {BOOKKEEPING_SCHEMA}")
        for mart, mart_columns in sorted(columns.items()):
            files = sorted(path for (name, _), (path, _) in partitions.items() if name == mart)
            listed = ", ".join(_literal(str(catalog.parent / path)) for path in files)
            selected = ", ".join(_quote(column) for column in mart_columns)
            connection.execute(
                f"create view {MART_SCHEMA}.{_quote(mart)} as select {selected} "
                f"from read_parquet([{listed}], union_by_name = true)"
            )
        connection.execute(
            f"create table {BOOKKEEPING_SCHEMA}.partitions (mart varchar, partition_name "
            "varchar, file_path varchar, content_hash varchar)"
        )
        connection.executemany(
            f"insert into {BOOKKEEPING_SCHEMA}.partitions values (?, ?, ?, ?)",
            [[mart, part, path, digest] for (mart, part), (path, digest) in partitions.items()],
        )
        connection.execute(
            f"create table {BOOKKEEPING_SCHEMA}.retired_files (file_path varchar, "
            "retired_at timestamp)"
        )
        if retired:
            connection.executemany(
                f"insert into {BOOKKEEPING_SCHEMA}.retired_files values (?, ?)",
                [[path, when] for path, when in sorted(retired.items())],
            )
        connection.execute(
            f"create table {MART_SCHEMA}.{PUBLISHED_MONTHS} (billing_month date, "
            "published_at timestamp, build_id varchar)"
        )
        connection.executemany(
            f"insert into {MART_SCHEMA}.{PUBLISHED_MONTHS} values (?, ?, ?)",
            [list(row) for row in sorted(months)],
        )
        connection.execute("checkpoint")
    finally:
        connection.close()
    os.replace(new, catalog)


def _keep_seconds() -> float:
    return float(os.environ.get("RECON_PUBLISH_KEEP_SECONDS") or 86400)


def _remove_retired_files(
    folder: Path, retired: dict[str, datetime], now: datetime
) -> dict[str, datetime]:
    """Deletes the files replaced more than RECON_PUBLISH_KEEP_SECONDS ago (readers that opened
    an older catalog may read them until then) and catalogs never swapped in (a publish that
    died); returns the retired files still kept."""
    keep = _keep_seconds()
    kept = {}
    for path, when in retired.items():
        if (now - when).total_seconds() >= keep:
            (folder / path).unlink(missing_ok=True)
        else:
            kept[path] = when
    for path in folder.glob(".*.new"):
        if path.stat().st_mtime < time.time() - keep:
            path.unlink(missing_ok=True)
    return kept
