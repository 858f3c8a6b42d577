"""Load the raw CSV files into Snowflake RAW tables: `recon load --target snowflake`.

On DuckDB the RAW layer is views over the files (macros/raw_files.sql); on Snowflake it is one
table per file family in schema RECON_RAW_SCHEMA (default `raw`) of the target database, with
the same shape: every file column as text (columns united by name across the family's files,
an empty value NULL), plus `_file_name` (base name), `_source_row_number` (the record's
position in its file, 1-based) and `_loaded_at` (when this copy of the file was loaded).

The tables mirror the folder, like DuckDB's ingestion (macros/raw_files.sql): a file that is
new or changed (sha256) has its rows deleted and inserted again in one transaction; an
unchanged file is skipped; rows of a file no longer in the folder are deleted. What was loaded
is recorded in `<raw schema>.raw_file_loads`.

Connection settings are the dbt profile's (profiles/profiles.yml), from the same variables:

| variable                          | meaning                                 | default        |
|-----------------------------------|-----------------------------------------|----------------|
| SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER | account identifier and user             | (required)     |
| SNOWFLAKE_PASSWORD                | password (empty with a key pair)        | empty          |
| SNOWFLAKE_PRIVATE_KEY_PATH        | PEM private key: key-pair auth          | empty          |
| SNOWFLAKE_PRIVATE_KEY_PASSPHRASE  | the key's passphrase                    | empty          |
| SNOWFLAKE_ROLE                    | role                                    | (required)     |
| SNOWFLAKE_WAREHOUSE               | warehouse                               | (required)     |
| SNOWFLAKE_DATABASE                | database                                | (required)     |
| SNOWFLAKE_QUERY_TAG               | query tag of the session                | provider_recon |
| RECON_SNOWFLAKE_STATEMENT_TIMEOUT_SECONDS | statement timeout of the session | 3600           |
| RECON_RAW_SCHEMA                  | schema of the RAW tables                | raw            |
| RECON_EMULATOR_PORT               | fakesnow's port (snowflake_emulator)    | 8085           |

Secrets can also come from Prefect Secret blocks, read at run time (`secrets_from_blocks`):
with SNOWFLAKE_PASSWORD unset and RECON_SNOWFLAKE_PASSWORD_BLOCK naming a Secret block, the
block's value is SNOWFLAKE_PASSWORD for the run (likewise
RECON_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE_BLOCK for SNOWFLAKE_PRIVATE_KEY_PASSPHRASE).
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# The same families as macros/raw_files.sql.
FAMILIES = {
    "crm_accounts": "crm_accounts.csv",
    "crm_providers": "crm_providers.csv",
    "ops_intake_log": "ops_intake_log*.csv",
    "billing_invoice_lines": "billing_invoice_lines*.csv",
    "contract_entitlements": "contract_entitlements*.csv",
}
# Optional families and their contract columns (contract 5.1; the same columns as in
# raw_file_families() of macros/raw_files.sql): without files, the table still exists, empty.
OPTIONAL_FAMILIES = {
    "contract_entitlements": (
        "entitlement_id",
        "account_id",
        "product_code",
        "contracted_seats",
        "start_date",
        "end_date",
        "last_modified_at",
    ),
}
MANIFEST = "raw_file_loads"
# A secret variable, and the variable that may name the Prefect Secret block holding it.
SECRET_BLOCKS = {
    "SNOWFLAKE_PASSWORD": "RECON_SNOWFLAKE_PASSWORD_BLOCK",
    "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE": "RECON_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE_BLOCK",
}
DEFAULT_STATEMENT_TIMEOUT_SECONDS = 3600
BATCH_ROWS = 5000
IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class RawFile:
    path: Path
    sha256: str
    columns: list[str]
    row_count: int


def statement_timeout_seconds() -> int:
    """RECON_SNOWFLAKE_STATEMENT_TIMEOUT_SECONDS: Snowflake cancels a statement of recon's own
    sessions (load, publish, export, dashboard) running longer than this."""
    value = os.environ.get("RECON_SNOWFLAKE_STATEMENT_TIMEOUT_SECONDS") or str(
        DEFAULT_STATEMENT_TIMEOUT_SECONDS
    )
    if not value.strip().isdigit() or int(value) <= 0:
        raise ValueError(
            f"RECON_SNOWFLAKE_STATEMENT_TIMEOUT_SECONDS must be a positive number of seconds, "
            f"got {value!r}"
        )
    return int(value)


def connection_kwargs(target: str) -> dict[str, Any]:
    """snowflake.connector.connect arguments of a dbt target (profiles/profiles.yml)."""
    env = os.environ
    common = {
        "paramstyle": "qmark",  # server-side binding: executemany becomes one array insert
        "session_parameters": {
            "QUERY_TAG": env.get("SNOWFLAKE_QUERY_TAG", "provider_recon"),
            "STATEMENT_TIMEOUT_IN_SECONDS": statement_timeout_seconds(),
        },
    }
    if target == "snowflake_emulator":  # fakesnow on this machine; nothing secret
        return {
            **common,
            "account": "fakesnow",
            "user": "fake",
            "password": "snow",
            "host": "localhost",
            "port": int(env.get("RECON_EMULATOR_PORT", "8085")),
            "protocol": "http",
            "database": "recon_ci",
            # fakesnow answers a statement it cannot run with HTTP 500, which the connector
            # retries for ever unless a network timeout bounds it: fail instead of hanging CI.
            "network_timeout": 300,
        }
    if target != "snowflake":
        raise ValueError(f"recon load needs a Snowflake target, got {target!r}")
    required = ["SNOWFLAKE_ACCOUNT", "SNOWFLAKE_USER", "SNOWFLAKE_ROLE", "SNOWFLAKE_WAREHOUSE"]
    required += ["SNOWFLAKE_DATABASE"]
    if not env.get("SNOWFLAKE_PRIVATE_KEY_PATH"):
        required.append("SNOWFLAKE_PASSWORD")
    if missing := [name for name in required if not env.get(name)]:
        raise ValueError(f"set {', '.join(missing)} (see docs/snowflake.md)")
    kwargs = {
        **common,
        "account": env["SNOWFLAKE_ACCOUNT"],
        "user": env["SNOWFLAKE_USER"],
        "role": env["SNOWFLAKE_ROLE"],
        "warehouse": env["SNOWFLAKE_WAREHOUSE"],
        "database": env["SNOWFLAKE_DATABASE"],
    }
    if env.get("SNOWFLAKE_PRIVATE_KEY_PATH"):
        kwargs["private_key_file"] = env["SNOWFLAKE_PRIVATE_KEY_PATH"]
        kwargs["private_key_file_pwd"] = env.get("SNOWFLAKE_PRIVATE_KEY_PASSPHRASE") or None
    else:
        kwargs["password"] = env["SNOWFLAKE_PASSWORD"]
    return kwargs


@contextmanager
def secrets_from_blocks() -> Iterator[list[str]]:
    """Each secret of SECRET_BLOCKS that is unset while its RECON_..._BLOCK names a Prefect
    Secret block: the block's value in os.environ for the block (dbt's profile and the
    connector read it there), removed afterwards. Yields the names of the variables set;
    nothing is read when every secret is set or no block is named."""
    wanted = {
        variable: os.environ[block].strip()
        for variable, block in SECRET_BLOCKS.items()
        if not os.environ.get(variable) and (os.environ.get(block) or "").strip()
    }
    if wanted:
        from prefect.blocks.system import Secret

        for variable, block_name in wanted.items():
            value = Secret.load(block_name).get()
            if not isinstance(value, str) or not value:
                raise ValueError(f"the Prefect Secret block {block_name!r} holds no text")
            os.environ[variable] = value
    try:
        yield sorted(wanted)
    finally:
        for variable in wanted:
            os.environ.pop(variable, None)


def connect(target: str) -> Any:
    import snowflake.connector

    return snowflake.connector.connect(**connection_kwargs(target))


def _rows(path: Path) -> Iterator[list[str]]:
    """The file's records (header first), RFC 4180, a byte-order mark dropped and blank lines
    skipped (as DuckDB's read_csv does)."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        yield from (row for row in csv.reader(handle) if row)


def _column_name(header: str, path: Path) -> str:
    name = header.strip().lower()
    if not IDENTIFIER.fullmatch(name):
        raise ValueError(f"{path.name}: column {header!r} is not a plain column name")
    return name


def scan_family(raw_dir: Path, file_glob: str) -> list[RawFile]:
    """The family's files in name order, with their checksum, columns and record count."""
    files = []
    for path in sorted(raw_dir.glob(file_glob), key=lambda found: found.name):
        rows = _rows(path)
        columns = [_column_name(header, path) for header in next(rows, [])]
        row_count = sum(1 for _ in rows)
        sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
        files.append(RawFile(path, sha256, columns, row_count))
    return files


def _ensure_tables(cursor: Any, schema: str, table: str, columns: list[str]) -> None:
    cursor.execute(f"create schema if not exists {schema}")
    cursor.execute(
        f"create table if not exists {schema}.{MANIFEST} (family varchar, file_name varchar,"
        " sha256 varchar, row_count number(38, 0), loaded_at timestamp_ntz)"
    )
    cursor.execute(
        f"create table if not exists {schema}.{table} (_file_name varchar,"
        " _source_row_number number(38, 0), _loaded_at timestamp_ntz)"
    )
    cursor.execute(f"select * from {schema}.{table} limit 0")
    existing = {column[0].lower() for column in cursor.description}
    for column in columns:
        if column not in existing:
            cursor.execute(f"alter table {schema}.{table} add column {column} varchar")


def _insert_file(
    cursor: Any, schema: str, table: str, raw_file: RawFile, loaded_at: datetime
) -> None:
    names = [*raw_file.columns, "_file_name", "_source_row_number", "_loaded_at"]
    insert = (
        f"insert into {schema}.{table} ({', '.join(names)})"
        f" values ({', '.join('?' for _ in names)})"
    )
    rows = _rows(raw_file.path)
    next(rows)  # header
    batch: list[tuple] = []
    for offset, row in enumerate(rows):
        if len(row) != len(raw_file.columns):
            raise ValueError(
                f"{raw_file.path.name} record {offset + 1}: {len(row)} values,"
                f" {len(raw_file.columns)} columns"
            )
        values = [value if value != "" else None for value in row]
        batch.append((*values, raw_file.path.name, offset + 1, loaded_at))
        if len(batch) == BATCH_ROWS:
            cursor.executemany(insert, batch)
            batch = []
    if batch:
        cursor.executemany(insert, batch)


def _delete_file(cursor: Any, schema: str, table: str, name: str) -> None:
    cursor.execute(f"delete from {schema}.{table} where _file_name = ?", (name,))
    cursor.execute(
        f"delete from {schema}.{MANIFEST} where family = ? and file_name = ?", (table, name)
    )


@contextmanager
def transaction(cursor: Any) -> Iterator[None]:
    """One explicit transaction: committed when the block succeeds, rolled back otherwise."""
    cursor.execute("begin")
    try:
        yield
    except BaseException:
        cursor.execute("rollback")
        raise
    cursor.execute("commit")


def load_family(
    connection: Any, schema: str, table: str, files: list[RawFile], report: Callable[[str], None]
) -> None:
    cursor = connection.cursor()
    columns = list(OPTIONAL_FAMILIES.get(table, ()))
    columns = list(dict.fromkeys([*columns, *(c for raw_file in files for c in raw_file.columns)]))
    _ensure_tables(cursor, schema, table, columns)
    cursor.execute(f"select file_name, sha256 from {schema}.{MANIFEST} where family = ?", (table,))
    loaded = dict(cursor.fetchall())
    for raw_file in files:
        name = raw_file.path.name
        if loaded.pop(name, None) == raw_file.sha256:
            report(f"{name}: unchanged, skipped")
            continue
        loaded_at = datetime.now(UTC).replace(tzinfo=None)
        with transaction(cursor):
            _delete_file(cursor, schema, table, name)
            _insert_file(cursor, schema, table, raw_file, loaded_at)
            cursor.execute(
                f"insert into {schema}.{MANIFEST} values (?, ?, ?, ?, ?)",
                (table, name, raw_file.sha256, raw_file.row_count, loaded_at),
            )
        report(f"{name}: {raw_file.row_count} rows loaded into {schema}.{table}")
    for name in loaded:  # recorded, but no longer in the folder
        with transaction(cursor):
            _delete_file(cursor, schema, table, name)
        report(f"{name}: no longer in the folder, its rows deleted from {schema}.{table}")


def load_raw_files(
    connection: Any, raw_dir: Path, schema: str | None = None, report: Callable[[str], None] = print
) -> None:
    """Loads every file family of raw_dir into the RAW tables of the connection's database.

    An optional family without files still gets its (empty) table, and rows loaded from its
    files earlier are deleted: the tables mirror the folder."""
    schema = schema or os.environ.get("RECON_RAW_SCHEMA") or "raw"
    if not IDENTIFIER.fullmatch(schema.lower()):
        raise ValueError(f"RECON_RAW_SCHEMA must be a plain schema name, got {schema!r}")
    for table, file_glob in FAMILIES.items():
        files = scan_family(raw_dir, file_glob)
        if not files and table not in OPTIONAL_FAMILIES:
            raise FileNotFoundError(f"no {file_glob} in {raw_dir}")
        load_family(connection, schema, table, files, report)
