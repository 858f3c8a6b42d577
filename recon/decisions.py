"""The decision store: what Finance and Customer Success decide on a finding, append-only.

A decision is one `Decision` (who, in which role, when, what, how much, on which finding, and
the sha256 of the evidence the decider was shown). `open_store()` returns the store of
RECON_TARGET; `store.record(decision)` checks it and appends it, or raises `DecisionRefused`
with a sentence for the person; `store.history(discrepancy_id)` lists what was decided, oldest
first. Nothing is ever updated or deleted. The next dbt build reads every stored decision beside
the rows of resolutions/discrepancy_resolutions.csv (models/staging/resolutions/).

The rules `record` applies (docs/DECISIONS.md; the build re-checks the four-eyes rule):

- roles (`ROLE_DECISIONS`): a viewer decides nothing; a reviewer (Customer Success) proposes a
  credit or an invoice correction, or disputes; an approver (Finance) approves a credit or a
  correction, accepts the difference as is, or disputes;
- a proposal or an approval carries an amount (decimal, cents); a dispute or an acceptance
  carries none (an amount given with one is not stored);
- four eyes: an approval whose |amount| is at least dbt_project.yml's var
  `materiality_threshold` needs an earlier proposal on the same finding by someone else
  (e-mails compared case-insensitively): nobody approves their own proposal alone.

Where the store is:

| RECON_TARGET       | store                                                            |
|--------------------|------------------------------------------------------------------|
| duckdb (default)   | folder RECON_DECISIONS_DIR (default resolutions/decisions/)      |
| snowflake(_emulator) | table discrepancy_decisions of schema RECON_DECISIONS_SCHEMA     |
|                    | (default recon_decisions)                                        |

The folder store never touches the build's DuckDB file (one writer per file: the build holds
it), so the dashboard records decisions while a build runs. Each decision is written to a
temporary file, flushed, then hard-linked to its final name, which fails rather than replace
an existing file; the check and the append run under an exclusive file lock (`.store.lock` in
the folder), so two people deciding at the same moment both keep their decision and the
four-eyes check sees every earlier decision. On Snowflake one `insert ... select ... where`
statement appends a decision only when its four-eyes condition holds in the table; the
dashboard's role needs INSERT and SELECT on that table and nothing else (docs/snowflake.md).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

from recon.config import PROJECT_DIR, Settings

PROPOSALS = ("PROPOSE_CREDIT", "PROPOSE_INVOICE_CORRECTION")
APPROVALS = ("APPROVE_CREDIT", "APPROVE_INVOICE_CORRECTION")
WITH_AMOUNT = PROPOSALS + APPROVALS
DECISIONS = (*PROPOSALS, "DISPUTE", *APPROVALS, "ACCEPT_AS_IS")

ROLE_DECISIONS: dict[str, tuple[str, ...]] = {
    "viewer": (),
    "reviewer": ("PROPOSE_CREDIT", "PROPOSE_INVOICE_CORRECTION", "DISPUTE"),
    "approver": ("APPROVE_CREDIT", "APPROVE_INVOICE_CORRECTION", "ACCEPT_AS_IS", "DISPUTE"),
}

# The columns of a stored decision, in order (the Snowflake table, the JSON files, staging).
COLUMNS = (
    "decision_id",
    "discrepancy_id",
    "decision",
    "amount",
    "currency",
    "note",
    "decided_by",
    "decided_role",
    "decided_at",
    "evidence_sha256",
    "source",
)
REQUIRED = ("decision_id", "discrepancy_id", "decision", "decided_by", "decided_role", "decided_at")
TABLE = "discrepancy_decisions"
SNOWFLAKE_TABLE_DDL = """create table if not exists {schema}.discrepancy_decisions (
    decision_id varchar(36) not null,
    discrepancy_id varchar(64) not null,
    decision varchar(32) not null,
    amount number(18, 2),
    currency varchar(3) not null,
    note varchar,
    decided_by varchar not null,
    decided_role varchar(16) not null,
    decided_at timestamp_ntz not null,
    evidence_sha256 varchar(64),
    source varchar(16) not null
)"""

FINDING_ID = re.compile(r"[0-9a-f]{32}")
SHA256 = re.compile(r"[0-9a-f]{64}")
CURRENCY = re.compile(r"[A-Z]{3}")
MAX_AMOUNT = Decimal("1e16")  # decimal(18, 2)


class DecisionRefused(ValueError):
    """The store will not record this decision; the message says why, for a person."""


class DecisionStoreDamaged(RuntimeError):
    """A stored decision cannot be read (a file edited by hand); the message names it."""


def _now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class Decision:
    """One decision on one account finding (fct_billing_discrepancies.discrepancy_id)."""

    discrepancy_id: str
    decision: str
    decided_by: str
    decided_role: str
    amount: Decimal | None = None
    currency: str = "USD"
    note: str | None = None
    evidence_sha256: str | None = None
    decision_id: str = field(default_factory=_new_id)
    decided_at: datetime = field(default_factory=_now)
    source: str = "dashboard"


@cache
def materiality_threshold() -> Decimal:
    """dbt_project.yml's var `materiality_threshold` (dollars), the four-eyes limit."""
    import yaml

    project = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    return Decimal(str(project["vars"]["materiality_threshold"]))


def _utc(moment: datetime) -> datetime:
    """Aware, in UTC, to the microsecond (a naive time is taken as UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _amount(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise DecisionRefused(f"the amount {value!r} is not a number") from None
    if not amount.is_finite() or abs(amount) >= MAX_AMOUNT:
        raise DecisionRefused(f"the amount {value!r} is not a usable amount")
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def normalised(decision: Decision) -> Decision:
    """The decision as it is stored (codes and ids trimmed, cents, UTC), or DecisionRefused
    when it is not a decision anyone may record (role, code, amount, shape of its fields)."""
    code = str(decision.decision or "").strip().upper()
    role = str(decision.decided_role or "").strip().lower()
    decided_by = str(decision.decided_by or "").strip()
    if not decided_by:
        raise DecisionRefused("a decision needs the name of who decides: sign in first")
    if role not in ROLE_DECISIONS:
        raise DecisionRefused(f"{role!r} is not a role: viewer, reviewer or approver")
    if code not in DECISIONS:
        raise DecisionRefused(f"{code!r} is not a decision: one of {', '.join(DECISIONS)}")
    if code not in ROLE_DECISIONS[role]:
        if not ROLE_DECISIONS[role]:
            raise DecisionRefused(
                f"{decided_by} signed in as a {role}, who reads but decides nothing"
            )
        allowed = ", ".join(ROLE_DECISIONS[role])
        raise DecisionRefused(
            f"{decided_by} signed in as a {role}, who may record {allowed}, not {code}"
        )
    finding = str(decision.discrepancy_id or "").strip().lower()
    if not FINDING_ID.fullmatch(finding):
        raise DecisionRefused(f"{decision.discrepancy_id!r} is not the id of a finding")
    amount = None
    if code in WITH_AMOUNT:
        if decision.amount is None or str(decision.amount).strip() == "":
            raise DecisionRefused(f"{code} needs an amount")
        amount = _amount(decision.amount)
    currency = str(decision.currency or "USD").strip().upper()
    if not CURRENCY.fullmatch(currency):
        raise DecisionRefused(f"{decision.currency!r} is not an ISO currency code (USD, EUR)")
    evidence = decision.evidence_sha256
    if evidence is not None:
        evidence = str(evidence).strip().lower()
        if not SHA256.fullmatch(evidence):
            raise DecisionRefused("evidence_sha256 must be the 64 hex digits of a sha256")
    if decision.source != "dashboard":
        raise DecisionRefused("the store records dashboard decisions; CSV rows stay in git")
    try:
        decision_id = str(uuid.UUID(str(decision.decision_id)))
    except ValueError:
        raise DecisionRefused(f"{decision.decision_id!r} is not a uuid") from None
    note = decision.note.strip() if decision.note and decision.note.strip() else None
    return replace(
        decision,
        decision_id=decision_id,
        discrepancy_id=finding,
        decision=code,
        amount=amount,
        currency=currency,
        note=note,
        decided_by=decided_by,
        decided_role=role,
        decided_at=_utc(decision.decided_at),
        evidence_sha256=evidence,
    )


def needs_four_eyes(decision: Decision) -> bool:
    """An approval of at least the materiality threshold (absolute amount)."""
    return (
        decision.decision in APPROVALS
        and decision.amount is not None
        and abs(decision.amount) >= materiality_threshold()
    )


def check_four_eyes(decision: Decision, history: list[Decision]) -> None:
    """Raises DecisionRefused when `decision` (normalised) needs a second person and the
    finding's `history` has no earlier proposal by someone else."""
    if not needs_four_eyes(decision):
        return
    proposals = [
        earlier
        for earlier in history
        if earlier.discrepancy_id == decision.discrepancy_id
        and earlier.decision in PROPOSALS
        and _utc(earlier.decided_at) < decision.decided_at
    ]
    others = [p for p in proposals if p.decided_by.lower() != decision.decided_by.lower()]
    if others:
        return
    limit = f"{materiality_threshold():,.2f}"
    if proposals:
        raise DecisionRefused(
            f"{decision.decided_by} proposed this {decision.amount:,.2f} {decision.currency} "
            f"and cannot also approve it: amounts of {limit} or more need two people, so "
            "another approver must approve it"
        )
    raise DecisionRefused(
        f"{decision.amount:,.2f} {decision.currency} is at least {limit}: it needs two "
        "people, a proposal by a reviewer first, then an approval by someone else"
    )


class DecisionStore(ABC):
    """Append-only decisions: `record` checks and appends, `history` reads (oldest first)."""

    @abstractmethod
    def record(self, decision: Decision) -> Decision:
        """Checks `decision` (role, code, amount, four eyes against the stored history) and
        appends it; returns it as stored. Raises DecisionRefused with a reason for a person."""

    @abstractmethod
    def history(self, discrepancy_id: str | None = None) -> list[Decision]:
        """Every stored decision (of one finding when given), oldest first."""

    @abstractmethod
    def describe(self) -> str:
        """Where the decisions are, for a person."""


def csv_decision_id(
    discrepancy_id: str,
    decision: str,
    decided_by: str,
    decided_at: datetime,
    amount: Decimal | None,
    currency: str = "USD",
    note: str | None = None,
) -> str:
    """The decision_id the build gives a row of discrepancy_resolutions.csv (values as the
    staging model cleans them): md5 of its values in uuid form
    (models/staging/resolutions/base/base_resolutions__csv_decisions.sql)."""
    import hashlib

    seconds = int((decided_at.replace(tzinfo=None) - datetime(1970, 1, 1)).total_seconds())
    text = "|".join(
        [
            discrepancy_id,
            decision,
            decided_by,
            str(seconds),
            "" if amount is None else f"{amount:.2f}",
            currency,
            note or "",
        ]
    )
    digest = hashlib.md5(text.encode("utf-8")).hexdigest()
    return str(uuid.UUID(digest))


# --------------------------------------------------------------------------- the folder store
def to_json(decision: Decision) -> str:
    """A decision as its stored JSON object (amount as text: exact cents)."""
    values = {name: getattr(decision, name) for name in COLUMNS}
    values["amount"] = None if decision.amount is None else str(decision.amount)
    values["decided_at"] = _utc(decision.decided_at).replace(tzinfo=None).isoformat(sep=" ")
    return json.dumps(values, ensure_ascii=False, indent=1) + "\n"


def from_json(text: str, name: str) -> Decision:
    """A stored JSON object as a Decision; DecisionStoreDamaged names the file otherwise."""
    try:
        values = json.loads(text)
        if not isinstance(values, dict):
            raise ValueError("not a JSON object")
        missing = [column for column in REQUIRED if not values.get(column)]
        if missing:
            raise ValueError(f"no {', '.join(missing)}")
        amount = values.get("amount")
        return Decision(
            decision_id=str(values["decision_id"]),
            discrepancy_id=str(values["discrepancy_id"]),
            decision=str(values["decision"]),
            amount=None if amount in (None, "") else Decimal(str(amount)),
            currency=str(values.get("currency") or "USD"),
            note=values.get("note"),
            decided_by=str(values["decided_by"]),
            decided_role=str(values["decided_role"]),
            decided_at=_utc(datetime.fromisoformat(str(values["decided_at"]))),
            evidence_sha256=values.get("evidence_sha256"),
            source=str(values.get("source") or "dashboard"),
        )
    except (ValueError, TypeError, InvalidOperation) as error:
        raise DecisionStoreDamaged(
            f"stored decision {name} cannot be read ({error}): the store writes whole files "
            "only, so it was changed by hand; move it out of the folder (keep it for the "
            "audit) and record the decision again"
        ) from error


@dataclass(frozen=True)
class FolderDecisionStore(DecisionStore):
    """DuckDB's store: one JSON file per decision in `folder`, never replaced or removed."""

    folder: Path

    def describe(self) -> str:
        return f"decision folder {self.folder}"

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with (self.folder / ".store.lock").open("a") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def history(self, discrepancy_id: str | None = None) -> list[Decision]:
        if not self.folder.is_dir():
            return []
        decisions = [
            from_json(path.read_text(encoding="utf-8"), path.name)
            for path in self.folder.glob("*.json")
        ]
        if discrepancy_id is not None:
            wanted = discrepancy_id.strip().lower()
            decisions = [d for d in decisions if d.discrepancy_id.strip().lower() == wanted]
        return sorted(decisions, key=lambda d: (d.decided_at, d.decision_id))

    def record(self, decision: Decision) -> Decision:
        decision = normalised(decision)
        with self._locked():
            history = self.history(decision.discrepancy_id)
            if any(earlier.decision_id == decision.decision_id for earlier in history):
                raise DecisionRefused(f"decision {decision.decision_id} is already stored")
            check_four_eyes(decision, history)
            self._append(decision)
        return decision

    def _append(self, decision: Decision) -> None:
        stamp = decision.decided_at.strftime("%Y%m%dT%H%M%S%fZ")
        final = self.folder / f"{stamp}-{decision.decision_id}.json"
        temporary = self.folder / f".{decision.decision_id}.{os.getpid()}.partial"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(to_json(decision))
                handle.flush()
                os.fsync(handle.fileno())
            os.link(temporary, final)  # FileExistsError rather than replacing a decision
        finally:
            temporary.unlink(missing_ok=True)
        directory = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


# --------------------------------------------------------------------------- the Snowflake store
@dataclass(frozen=True)
class SnowflakeDecisionStore(DecisionStore):
    """Snowflake's store: the table `<schema>.discrepancy_decisions`, INSERT and SELECT only."""

    connect: Callable[[], Any]
    schema: str = "recon_decisions"

    @property
    def table(self) -> str:
        return f"{self.schema}.{TABLE}"

    def describe(self) -> str:
        return f"Snowflake table {self.table}"

    def create_table(self) -> None:
        """The table (and its schema) when missing: setup and tests; the dashboard's role may
        not create anything (docs/snowflake.md)."""
        with self._connection() as connection:
            cursor = connection.cursor()
            cursor.execute(f"create schema if not exists {self.schema}")
            cursor.execute(SNOWFLAKE_TABLE_DDL.format(schema=self.schema))

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        connection = self.connect()
        try:
            yield connection
        finally:
            connection.close()

    def history(self, discrepancy_id: str | None = None) -> list[Decision]:
        sql = f"select {', '.join(COLUMNS)} from {self.table}"
        parameters: list[Any] = []
        if discrepancy_id is not None:
            sql += " where discrepancy_id = ?"
            parameters.append(discrepancy_id.strip().lower())
        sql += " order by decided_at, decision_id"
        with self._connection() as connection:
            cursor = connection.cursor()
            cursor.execute(sql, parameters)
            rows = cursor.fetchall()
        return [self._decision(row) for row in rows]

    @staticmethod
    def _decision(row: tuple[Any, ...]) -> Decision:
        values = dict(zip(COLUMNS, row, strict=True))
        amount = values["amount"]
        return Decision(
            **{
                **values,
                "amount": None
                if amount is None
                else Decimal(str(amount)).quantize(Decimal("0.01")),
                "decided_at": _utc(values["decided_at"]),
            }
        )

    def record(self, decision: Decision) -> Decision:
        decision = normalised(decision)
        values = [
            decision.decision_id,
            decision.discrepancy_id,
            decision.decision,
            None if decision.amount is None else str(decision.amount),
            decision.currency,
            decision.note,
            decision.decided_by,
            decision.decided_role,
            decision.decided_at.replace(tzinfo=None).isoformat(sep=" "),
            decision.evidence_sha256,
            decision.source,
        ]
        # One statement: appended only when its decision_id is new and, for an approval that
        # needs four eyes, an earlier proposal by someone else is in the table. The store is
        # append-only, so a condition true when checked stays true.
        conditions = [f"not exists (select 1 from {self.table} where decision_id = ?)"]
        parameters: list[Any] = [*values, decision.decision_id]
        if needs_four_eyes(decision):
            conditions.append(
                f"exists (select 1 from {self.table} where discrepancy_id = ?"
                f" and decision in ({', '.join('?' for _ in PROPOSALS)})"
                " and decided_at < cast(? as timestamp_ntz) and lower(decided_by) != lower(?))"
            )
            parameters += [decision.discrepancy_id, *PROPOSALS, values[8], decision.decided_by]
        placeholders = ", ".join(
            "cast(? as timestamp_ntz)"
            if name == "decided_at"
            else "cast(? as number(18, 2))"
            if name == "amount"
            else "?"
            for name in COLUMNS
        )
        sql = (
            f"insert into {self.table} ({', '.join(COLUMNS)}) "
            f"select {placeholders} where {' and '.join(conditions)}"
        )
        with self._connection() as connection:
            cursor = connection.cursor()
            cursor.execute(sql, parameters)
            inserted = cursor.rowcount
            connection.commit()
        if inserted != 1:
            history = self.history(decision.discrepancy_id)
            if any(earlier.decision_id == decision.decision_id for earlier in history):
                raise DecisionRefused(f"decision {decision.decision_id} is already stored")
            check_four_eyes(decision, history)
            raise DecisionRefused("the store did not record the decision; try again")
        return decision


# --------------------------------------------------------------------------- choosing the store
def store_for(settings: Settings) -> DecisionStore:
    """The store of the settings' target: the folder on DuckDB, the table on Snowflake."""
    if settings.target.startswith("snowflake"):
        from recon.load import connect

        target = settings.target
        return SnowflakeDecisionStore(lambda: connect(target), settings.decisions_schema)
    return FolderDecisionStore(settings.decisions_dir)


def open_store() -> DecisionStore:
    """The store of RECON_TARGET (duckdb, the default; snowflake; snowflake_emulator)."""
    return store_for(Settings.from_env())
