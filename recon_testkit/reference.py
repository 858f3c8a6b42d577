"""Reference implementation of the reconciliation contract, sections 1 to 3 and 5.

It reads the raw files and seeds back from disk and applies the contract's rules to
them, so the answer key follows from what was written rather than from what the
generator meant to inject. `write_answer_key` streams: it reads each file twice (first
to find which copy of a duplicated id wins and how early each drop's events start, then
to apply the rules), holds per-key state only (the latest usable event per customer,
product and NPI; invoice totals per customer, product and month; the ids seen, as a
Bloom filter, and the duplicated ones) and writes each month as soon as no later file
can change it.

Section 5: the optional contract entitlements (current state, like the CRM: read whole
before anything else), usage against them each month, and the invoices, their status and
the recommended action of every account finding.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, TextIO

Row = Sequence[str]

# --------------------------------------------------------------------------- columns
EVENT_COLUMNS = (
    "event_id",
    "event_at",
    "customer_name",
    "account_id",
    "npi",
    "provider_name",
    "department",
    "location",
    "product",
    "status",
    "go_live_date",
)
INVOICE_LINE_COLUMNS = (
    "invoice_id",
    "invoice_line_id",
    "billing_account_id",
    "billed_customer_name",
    "billing_period",
    "product_code",
    "billed_quantity",
    "unit_price",
    "line_amount",
    "invoice_status",
    "currency",
)
CRM_ACCOUNT_COLUMNS = (
    "account_id",
    "account_name",
    "account_status",
    "go_live_date",
    "billing_account_id",
    "last_modified_at",
)
CRM_PROVIDER_COLUMNS = (
    "crm_provider_id",
    "account_id",
    "npi",
    "provider_name",
    "provider_status",
    "department",
    "location",
    "last_modified_at",
)
ENTITLEMENT_COLUMNS = (
    "entitlement_id",
    "account_id",
    "product_code",
    "contracted_seats",
    "start_date",
    "end_date",
    "last_modified_at",
)
PRODUCT_COLUMNS = ("product_code", "product_name", "is_billable", "list_price")
LEGACY_COLUMNS = ("legacy_name", "account_id")
DEPARTMENT_COLUMNS = ("department",)

COUNTS_COLUMNS = (
    "billing_month",
    "customer_key",
    "account_id",
    "product_code",
    "crm_active_providers",
    "billable_providers",
    "billed_quantity",
    "quantity_delta",
    "is_match",
)
BILLING_DISCREPANCY_COLUMNS = (
    "billing_month",
    "customer_key",
    "account_id",
    "product_code",
    "discrepancy_type",
    "crm_active_providers",
    "billable_providers",
    "billed_quantity",
    "quantity_delta",
    "unit_price",
    "amount_delta",
    "is_new",
    "first_seen_month",
    "invoice_ids",
    "invoice_status",
    "recommended_action",
)
ENTITLEMENT_FINDING_COLUMNS = (
    "billing_month",
    "customer_key",
    "account_id",
    "product_code",
    "finding_type",
    "entitled_seats",
    "billable_providers",
    "billed_quantity",
    "seat_delta",
    "utilisation",
    "is_new",
)
PROVIDER_DISCREPANCY_COLUMNS = ("billing_month", "account_id", "npi", "discrepancy_type")
DATA_QUALITY_COLUMNS = ("billing_month", "source", "record_id", "issue", "column_name")

ANSWER_KEY_FILES = {
    "provider_counts_monthly.csv": COUNTS_COLUMNS,
    "billing_discrepancies.csv": BILLING_DISCREPANCY_COLUMNS,
    "provider_discrepancies.csv": PROVIDER_DISCREPANCY_COLUMNS,
    "data_quality_issues.csv": DATA_QUALITY_COLUMNS,
    "entitlement_findings.csv": ENTITLEMENT_FINDING_COLUMNS,
}

# Contract 5.2: (finding type, invoice status or None for any) -> recommended action. A
# billing mismatch whose lines are on no open or closed invoice (unknown statuses) is not in
# the contract's table: the project checks the status first (docs/DECISIONS.md).
ACTIONS = {
    ("OVERBILLED", "open"): "Correct the invoice before it is sent",
    ("UNDERBILLED", "open"): "Correct the invoice before it is sent",
    ("OVERBILLED", "closed"): "Issue a credit note",
    ("UNDERBILLED", "closed"): "Issue a supplementary invoice",
    ("OVERBILLED", None): "Check the invoice status in the billing system",
    ("UNDERBILLED", None): "Check the invoice status in the billing system",
    ("UNBILLED_USAGE", None): "Invoice the usage",
    ("MISSING_FROM_CRM", None): (
        "Create the account in the CRM or map the name in legacy_customer_names"
    ),
    ("ACCOUNT_NOT_ACTIVE_IN_CRM", None): "Confirm the account status with Customer Success",
    ("GO_LIVE_MISMATCH", None): "Correct the go-live date in the CRM",
}


def recommended_action(discrepancy_type: str, invoice_status: str | None) -> str:
    """The contract 5.2 action of an account finding whose invoices have this status."""
    action = ACTIONS.get((discrepancy_type, invoice_status))
    return action if action is not None else ACTIONS[(discrepancy_type, None)]


def invoice_status_of(statuses: Iterable[str]) -> str | None:
    """open when any line is on an open invoice, else closed when any is closed, else None."""
    found = set(statuses)
    return "open" if "open" in found else "closed" if "closed" in found else None


# --------------------------------------------------------------------------- vocabularies
LEGAL_SUFFIXES = frozenset(
    {"inc", "llc", "ltd", "corp", "corporation", "co", "pc", "pllc", "lp", "llp"}
)
CREDENTIALS = frozenset(
    {"md", "do", "np", "pa", "pac", "rn", "aprn", "dds", "dmd", "dpm", "phd", "lcsw"}
)
EVENT_STATUSES = frozenset({"live", "pending", "paused", "terminated"})
ACCOUNT_STATUSES = frozenset({"active", "inactive", "churned", "prospect"})
NOT_ACTIVE_ACCOUNT_STATUSES = frozenset({"inactive", "churned", "prospect"})
PROVIDER_STATUSES = frozenset({"active", "inactive"})
INVOICE_STATUSES = frozenset({"open", "closed", "void"})
UNMATCHED_PREFIX = "UNMATCHED:"

MONTH_ABBREVIATIONS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
ALL_MONTHS = -1  # month index of an issue that belongs to every month

# --------------------------------------------------------------------------- parsing
_DATE_YMD = re.compile(r"([0-9]{4})([-/])([0-9]{1,2})\2([0-9]{1,2})")
_DATE_MDY = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")
_DATE_DMONY = re.compile(r"([0-9]{1,2})-([A-Za-z]{3})-([0-9]{4})")
_MONTH_YM = re.compile(r"([0-9]{4})-([0-9]{1,2})")
_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})[Tt ]([0-9]{1,2}):([0-9]{2})"
    r"(?::([0-9]{2})(?:\.([0-9]+))?)?(?:[Zz]|[+-][0-9]{2}:?[0-9]{2})?"
)
_WHOLE_NUMBER = re.compile(r"([+-]?[0-9]+)(?:\.0+)?")
_DECIMAL = re.compile(r"[+-]?[0-9]+(?:\.[0-9]{1,8})?")

SortKey = tuple[int, int, int, int, int, int, int]


@lru_cache(maxsize=1 << 16)
def calendar_date(year: int, month: int, day: int) -> date | None:
    """The date, or None when it does not exist (2026-02-30)."""
    try:
        return date(year, month, day)
    except ValueError:
        return None


@lru_cache(maxsize=1 << 16)
def parse_date_spelling(value: str) -> date | None:
    """A date written in one of the contract's date spellings (not a timestamp)."""
    text = value.strip()
    if match := _DATE_YMD.fullmatch(text):
        return calendar_date(int(match[1]), int(match[3]), int(match[4]))
    if match := _DATE_MDY.fullmatch(text):
        return calendar_date(int(match[3]), int(match[1]), int(match[2]))
    if match := _DATE_DMONY.fullmatch(text):
        month = MONTH_ABBREVIATIONS.get(match[2].lower())
        return calendar_date(int(match[3]), month, int(match[1])) if month else None
    return None


def parse_timestamp_spelling(value: str) -> tuple[date, SortKey] | None:
    """An ISO timestamp: its date as written and a sort key (any offset ignored)."""
    match = _TIMESTAMP.fullmatch(value.strip())
    if match is None:
        return None
    year, month, day_of_month = int(match[1]), int(match[2]), int(match[3])
    written_date = calendar_date(year, month, day_of_month)
    hour, minute = int(match[4]), int(match[5])
    second = int(match[6]) if match[6] else 0
    if written_date is None or hour > 23 or minute > 59 or second > 59:
        return None
    nanos = int(match[7][:9].ljust(9, "0")) if match[7] else 0
    return written_date, (year, month, day_of_month, hour, minute, second, nanos)


def parse_timestamp(value: str) -> tuple[date, SortKey] | None:
    """A timestamp spelling, or a bare date spelling read as midnight; None otherwise."""
    stamp = parse_timestamp_spelling(value)
    if stamp is not None:
        return stamp
    day = parse_date_spelling(value)
    return None if day is None else (day, (day.year, day.month, day.day, 0, 0, 0, 0))


@lru_cache(maxsize=1 << 16)
def parse_date(value: str) -> date | None:
    """A date spelling, or the written date of a timestamp spelling; None otherwise."""
    day = parse_date_spelling(value)
    if day is not None:
        return day
    stamp = parse_timestamp_spelling(value)
    return None if stamp is None else stamp[0]


def timestamp_rank(value: str) -> tuple[bool, SortKey | tuple[()]]:
    """Orders timestamps, an empty or unparseable one before every parseable one."""
    parsed = parse_timestamp(value)
    return (False, ()) if parsed is None else (True, parsed[1])


@lru_cache(maxsize=1 << 12)
def parse_billing_period(value: str) -> tuple[int, int] | None:
    """(year, month) of a `YYYY-MM` or of any accepted date; None when unparseable."""
    text = value.strip()
    if match := _MONTH_YM.fullmatch(text):
        month = int(match[2])
        return (int(match[1]), month) if 1 <= month <= 12 else None
    day = parse_date(text)
    return None if day is None else (day.year, day.month)


def parse_whole_number(value: str) -> int | None:
    """A whole number, optionally signed, optionally with a zero decimal part."""
    match = _WHOLE_NUMBER.fullmatch(value.strip())
    return int(match[1]) if match else None


def parse_decimal(value: str) -> Decimal | None:
    """A plain decimal (`120`, `99.50`, up to 8 places); None when empty or anything else."""
    text = value.strip()
    return Decimal(text) if _DECIMAL.fullmatch(text) else None


# --------------------------------------------------------------------------- names and NPIs
def _letters_digits_spaces(text: str) -> str:
    return "".join(ch for ch in text if ch.isalpha() or "0" <= ch <= "9" or ch.isspace())


@lru_cache(maxsize=1 << 18)
def normalise_customer_name(name: str) -> str:
    """Contract section 2: lower case, & as `and`, punctuation gone, one legal suffix off."""
    tokens = _letters_digits_spaces(name.lower().replace("&", " and ")).split()
    if len(tokens) > 1 and tokens[-1] in LEGAL_SUFFIXES:
        tokens.pop()
    return " ".join(tokens)


@lru_cache(maxsize=1 << 18)
def normalise_provider_name(name: str) -> str:
    """Contract section 2: punctuation deleted, credentials and initials dropped, sorted."""
    tokens = _letters_digits_spaces(name.lower()).split()
    kept = [token for token in tokens if len(token) > 1 and token not in CREDENTIALS]
    return " ".join(sorted(kept))


_LUHN_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)
_NPI_PREFIX_SUM = 24  # the Luhn contribution of the prefix 80840


def npi_check_digit(first_nine: str) -> int:
    """Luhn check digit of an NPI's first nine digits with the prefix 80840."""
    doubled = sum(_LUHN_DOUBLED[int(digit)] for digit in first_nine[0::2])
    plain = sum(int(digit) for digit in first_nine[1::2])
    return (10 - (_NPI_PREFIX_SUM + doubled + plain) % 10) % 10


@lru_cache(maxsize=1 << 18)
def clean_npi(value: str) -> str | None:
    """The NPI's 10 digits when valid (spaces and dashes removed), else None."""
    digits = value.replace(" ", "").replace("-", "")
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit():
        return None
    return digits if npi_check_digit(digits[:9]) == int(digits[9]) else None


def clean_id(value: str) -> str:
    """Identifiers are compared trimmed and case-insensitively, written upper case."""
    return value.strip().upper()


def clean_code(value: str) -> str:
    """Statuses and codes are compared trimmed and case-insensitively."""
    return value.strip().lower()


# --------------------------------------------------------------------------- money
CENT = Decimal("0.01")
PRICE_PLACES = Decimal("0.0001")


def round_price(value: Decimal) -> Decimal:
    """Unit prices to 4 decimals, half away from zero."""
    return value.quantize(PRICE_PLACES, rounding=ROUND_HALF_UP)


def round_money(value: Decimal) -> Decimal:
    """Amounts to cents, half away from zero."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def format_decimal(value: Decimal, places: int) -> str:
    """Fixed-point text with `places` decimals; never a negative zero."""
    text = f"{value:.{places}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text


# --------------------------------------------------------------------------- reference data
@dataclass(frozen=True, slots=True)
class Product:
    code: str
    name: str
    is_billable: bool
    list_price: Decimal


@dataclass(frozen=True, slots=True)
class CrmAccount:
    account_id: str
    name_key: str
    status: str
    go_live: date | None
    billing_account_id: str


@dataclass(frozen=True, slots=True)
class Seeds:
    """The three reference seeds, as raw rows without their header."""

    products: Sequence[Row]
    departments: Sequence[Row]
    legacy_names: Sequence[Row]


def read_products(rows: Iterable[Row]) -> dict[str, Product]:
    """Products by their code as spelled in the seed."""
    products = {}
    for code, name, is_billable, list_price in rows:
        products[code.strip()] = Product(
            code=code.strip(),
            name=name.strip(),
            is_billable=clean_code(is_billable) == "true",
            list_price=Decimal(list_price.strip()),
        )
    return products


@dataclass(frozen=True, slots=True)
class Issue:
    """A data-quality issue before month attribution (month_index ALL_MONTHS: every month)."""

    month_index: int
    source: str
    record_id: str
    issue: str
    column_name: str


def latest_by_id(
    rows: Sequence[Row], id_column: int, stamp_column: int
) -> tuple[dict[str, Row], list[Row]]:
    """CRM de-duplication: the latest parseable last_modified_at wins (ties: later row)."""
    best: dict[str, tuple[tuple, Row]] = {}
    losers: list[Row] = []
    for position, row in enumerate(rows):
        record_id = clean_id(row[id_column])
        rank = (timestamp_rank(row[stamp_column]), position)
        current = best.get(record_id)
        if current is None:
            best[record_id] = (rank, row)
        elif rank > current[0]:
            losers.append(current[1])
            best[record_id] = (rank, row)
        else:
            losers.append(row)
    return {record_id: row for record_id, (_, row) in best.items()}, losers


# --------------------------------------------------------------------------- customers
@dataclass(frozen=True, slots=True)
class Resolution:
    customer_key: str
    account_id: str | None
    issue: str | None


class CustomerMatcher:
    """Contract section 2, customer matching steps 1 to 5."""

    def __init__(self, accounts: Mapping[str, CrmAccount], legacy_names: Iterable[Row]) -> None:
        self._accounts = accounts
        self._by_billing_id: dict[str, set[str]] = defaultdict(set)
        self._by_name: dict[str, set[str]] = defaultdict(set)
        self._by_legacy_name: dict[str, set[str]] = defaultdict(set)
        for account in accounts.values():
            if account.billing_account_id:
                self._by_billing_id[account.billing_account_id].add(account.account_id)
            if account.name_key:  # an empty name matches nothing (NULL in SQL)
                self._by_name[account.name_key].add(account.account_id)
        for legacy_name, account_id in legacy_names:
            name_key = normalise_customer_name(legacy_name)
            if name_key and clean_id(account_id) in accounts:
                self._by_legacy_name[name_key].add(clean_id(account_id))
        self._cache: dict[tuple[str, str, str], Resolution] = {}

    def resolve(self, account_id: str, billing_account_id: str, name: str) -> Resolution:
        """The customer of a raw record (account_id for events, billing id for lines)."""
        cache_key = (
            clean_id(account_id),
            clean_id(billing_account_id),
            normalise_customer_name(name),
        )
        resolution = self._cache.get(cache_key)
        if resolution is None:
            resolution = self._resolve(*cache_key)
            self._cache[cache_key] = resolution
        return resolution

    def _resolve(self, account_id: str, billing_account_id: str, name_key: str) -> Resolution:
        """Steps 1 to 5 on cleaned values."""
        if account_id in self._accounts:
            return self._matched(account_id)
        by_billing = self._by_billing_id.get(billing_account_id, set())
        if billing_account_id and len(by_billing) == 1:
            return self._matched(next(iter(by_billing)))
        by_name = self._by_name.get(name_key, set())
        if len(by_name) == 1:
            return self._matched(next(iter(by_name)))
        by_legacy = self._by_legacy_name.get(name_key, set())
        if len(by_legacy) == 1:
            return self._matched(next(iter(by_legacy)))
        issue = "AMBIGUOUS_CUSTOMER" if len(by_name) > 1 else "UNMATCHED_CUSTOMER"
        return Resolution(UNMATCHED_PREFIX + name_key, None, issue)

    @staticmethod
    def _matched(account_id: str) -> Resolution:
        return Resolution(account_id, account_id, None)


# --------------------------------------------------------------------------- results
@dataclass(slots=True)
class MonthResult:
    """The answer-key rows of one month, each list sorted."""

    counts: list[tuple[str, ...]]
    billing_discrepancies: list[tuple[str, ...]]
    provider_discrepancies: list[tuple[str, ...]]
    entitlement_findings: list[tuple[str, ...]] = field(default_factory=list)


@dataclass(slots=True)
class _Latest:
    """The latest usable event of a (customer, product, NPI)."""

    sort_key: SortKey
    event_id: str
    status: str
    department_ok: bool
    go_live: date
    provider_name_key: str


@dataclass(slots=True)
class _Billed:
    """Counted invoice lines of a (customer, product, month)."""

    quantity: int = 0
    weight: int = 0
    weighted_price: Decimal = field(default_factory=Decimal)
    invoice_ids: set[str] = field(default_factory=set)
    statuses: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class _Entitlement:
    """A usable contract entitlement (contract 5.1)."""

    account_id: str
    product_code: str
    seats: int
    start: date
    end: date | None  # None: open-ended


@dataclass(slots=True)
class _Snapshot:
    billable: dict[tuple[str, str], set[str]]
    billable_names: dict[tuple[str, str], set[str]]


EventKey = tuple[str, str, str]  # customer_key, product_code, NPI


def _keep_latest(latest_by_key: dict[EventKey, _Latest], key: EventKey, event: _Latest) -> None:
    """Keeps the later event of a key: by event_at as written, ties to the greater event_id."""
    current = latest_by_key.get(key)
    if current is None or (event.sort_key, event.event_id) > (current.sort_key, current.event_id):
        latest_by_key[key] = event


def month_label(year_month: str) -> str:
    return f"{year_month}-01"


def month_end(year_month: str) -> date:
    year, month = (int(part) for part in year_month.split("-"))
    first_of_next = date(year + month // 12, month % 12 + 1, 1)
    return first_of_next - timedelta(days=1)


def _flag(value: bool) -> str:
    return "true" if value else "false"


# --------------------------------------------------------------------------- the reconciler
class Reconciler:
    """Applies the contract to raw rows, month by month, and produces the answer key."""

    def __init__(
        self,
        months: Sequence[str],
        seeds: Seeds,
        crm_accounts: Sequence[Row],
        crm_providers: Sequence[Row],
        entitlements: Sequence[tuple[str, Row]] = (),
    ) -> None:
        """`entitlements`: (file name, row) of every contract_entitlements*.csv line, files
        in name order, lines in file order (empty when the optional family has no file)."""
        self.months = list(months)
        self._month_index = {tuple(map(int, m.split("-"))): i for i, m in enumerate(months)}
        self._month_ends = [month_end(m) for m in months]
        self.products = read_products(seeds.products)
        self._product_codes = {p.code.lower(): p.code for p in self.products.values()}
        self._product_lookup = {p.name.lower(): p.code for p in self.products.values()}
        self._product_lookup.update(self._product_codes)
        self._departments = {clean_code(row[0]) for row in seeds.departments}
        self._issues: list[Issue] = []
        self.accounts = self._load_crm_accounts(crm_accounts)
        self._crm_by_account = self._load_crm_providers(crm_providers)
        self._active_npis = {
            account_id: {npi for npi, records in by_npi.items() if "active" in records[0]}
            for account_id, by_npi in self._crm_by_account.items()
        }
        self.matcher = CustomerMatcher(self.accounts, seeds.legacy_names)
        self._has_entitlements = bool(entitlements)
        self._entitlements = self._load_entitlements(entitlements)
        self._previous_entitlement_findings: dict[tuple[str, str], str | None] = {}
        self._latest: dict[EventKey, _Latest] = {}
        self._pending_events: dict[int, dict[EventKey, _Latest]] = {}
        self._billed: dict[int, dict[tuple[str, str], _Billed]] = defaultdict(dict)
        self._open_month = 0
        self._snapshot: _Snapshot | None = None
        self._previous_findings: dict[tuple[str, str, str], int] = {}

    # ----------------------------------------------------------------- CRM
    def _load_crm_accounts(self, rows: Sequence[Row]) -> dict[str, CrmAccount]:
        winners, losers = latest_by_id(rows, 0, 5)
        self._duplicates("crm_accounts", (clean_id(row[0]) for row in losers), "account_id")
        accounts = {}
        for account_id, row in winners.items():
            _, name, status, go_live, billing_id, modified = row
            self._date_issue("crm_accounts", account_id, go_live, "go_live_date")
            self._date_issue("crm_accounts", account_id, modified, "last_modified_at")
            if clean_code(status) not in ACCOUNT_STATUSES:
                self._issue(
                    ALL_MONTHS, "crm_accounts", account_id, "UNKNOWN_STATUS", "account_status"
                )
            accounts[account_id] = CrmAccount(
                account_id=account_id,
                name_key=normalise_customer_name(name),
                status=clean_code(status),
                go_live=parse_date(go_live),
                billing_account_id=clean_id(billing_id),
            )
        return accounts

    def _load_crm_providers(self, rows: Sequence[Row]) -> dict[str, dict[str, tuple[set, set]]]:
        """account -> NPI -> (statuses, provider-name keys) of the CRM records."""
        winners, losers = latest_by_id(rows, 0, 7)
        self._duplicates("crm_providers", (clean_id(row[0]) for row in losers), "crm_provider_id")
        by_account: dict[str, dict[str, tuple[set, set]]] = defaultdict(dict)
        for provider_id, row in winners.items():
            _, account_id, npi_raw, name, status, _, _, modified = row
            self._date_issue("crm_providers", provider_id, modified, "last_modified_at")
            if clean_code(status) not in PROVIDER_STATUSES:
                self._issue(
                    ALL_MONTHS, "crm_providers", provider_id, "UNKNOWN_STATUS", "provider_status"
                )
            npi = clean_npi(npi_raw)
            if npi is None:
                self._issue(ALL_MONTHS, "crm_providers", provider_id, "INVALID_NPI", "npi")
                continue
            statuses, names = by_account[clean_id(account_id)].setdefault(npi, (set(), set()))
            statuses.add(clean_code(status))
            names.add(normalise_provider_name(name))
        return by_account

    def _load_entitlements(self, rows: Sequence[tuple[str, Row]]) -> list[_Entitlement]:
        """Contract 5.1: the latest copy of each entitlement (as CRM rows), its issues, and
        the usable ones: a CRM account_id, a catalogue product code, whole-number seats, a
        start date, and an end date that is empty (open-ended) or parseable."""
        source = "contract_entitlements"
        best: dict[str, tuple[tuple, Row]] = {}
        row_in_file: dict[str, int] = defaultdict(int)
        for position, (file_name, row) in enumerate(rows, start=1):
            row_in_file[file_name] += 1
            record_id = clean_id(row[0])
            if not record_id:  # no id: a record of its own, named by file and line
                record_id = f"{file_name}:{row_in_file[file_name]}"
                self._issue(ALL_MONTHS, source, record_id, "MISSING_ID", "entitlement_id")
            rank = (timestamp_rank(row[6]), position)
            current = best.get(record_id)
            if current is not None:
                self._issue(ALL_MONTHS, source, record_id, "DUPLICATE_RECORD", "entitlement_id")
            if current is None or rank > current[0]:
                best[record_id] = (rank, row)
        usable = []
        for record_id, (_, row) in best.items():
            _, account_id, code_raw, seats_raw, start_raw, end_raw, modified = row
            seats = parse_whole_number(seats_raw)
            start = parse_date(start_raw) if start_raw.strip() else None
            end = parse_date(end_raw) if end_raw.strip() else None
            account = clean_id(account_id)
            product = self._product_codes.get(clean_code(code_raw))
            problems = (
                (seats is None, "UNPARSEABLE_NUMBER", "contracted_seats"),
                (start_raw.strip() != "" and start is None, "UNPARSEABLE_DATE", "start_date"),
                (end_raw.strip() != "" and end is None, "UNPARSEABLE_DATE", "end_date"),
                (
                    modified.strip() != "" and parse_timestamp(modified) is None,
                    "UNPARSEABLE_DATE",
                    "last_modified_at",
                ),
                (product is None, "UNKNOWN_PRODUCT", "product_code"),
                (account not in self.accounts, "UNMATCHED_CUSTOMER", "account_id"),
            )
            for is_problem, issue, column in problems:
                if is_problem:
                    self._issue(ALL_MONTHS, source, record_id, issue, column)
            end_is_known = end is not None or not end_raw.strip()
            is_known = account in self.accounts and product is not None
            if is_known and seats is not None and start is not None and end_is_known:
                usable.append(_Entitlement(account, product, seats, start, end))
        return usable

    def _date_issue(self, source: str, record_id: str, value: str, column: str) -> None:
        """A non-empty CRM date or timestamp that does not parse."""
        parse = parse_timestamp if column == "last_modified_at" else parse_date
        if value.strip() and parse(value) is None:
            self._issue(ALL_MONTHS, source, record_id, "UNPARSEABLE_DATE", column)

    # ----------------------------------------------------------------- issues
    def _issue(self, month: int, source: str, record_id: str, issue: str, column: str) -> None:
        self._issues.append(Issue(month, source, record_id, issue, column))

    def _duplicates(self, source: str, record_ids: Iterable[str], column: str) -> None:
        for record_id in record_ids:
            self._issue(ALL_MONTHS, source, record_id, "DUPLICATE_RECORD", column)

    def _month_of(self, day: date) -> int | None:
        return self._month_index.get((day.year, day.month))

    # ----------------------------------------------------------------- customers
    def customer_key(
        self, account_id: str = "", billing_account_id: str = "", name: str = ""
    ) -> str:
        """The customer_key a record with these raw values gets."""
        return self.matcher.resolve(account_id, billing_account_id, name).customer_key

    # ----------------------------------------------------------------- events
    def add_duplicate_event(self, row: Row) -> None:
        """A losing copy of an event: only a DUPLICATE_RECORD issue, in its own event month."""
        month = self._event_issue_month(parse_timestamp(row[1]))
        if month is not None:
            self._issue(month, "ops_intake_log", clean_id(row[0]), "DUPLICATE_RECORD", "event_id")

    def _event_issue_month(self, stamp: tuple[date, SortKey] | None) -> int | None:
        return ALL_MONTHS if stamp is None else self._month_of(stamp[0])

    def add_event(self, row: Row) -> None:
        """The winning copy of an event."""
        event_id, event_at, customer_name, account_id, npi_raw, provider_name = row[:6]
        department, _, product_raw, status_raw, go_live_raw = row[6:11]
        event_id = clean_id(event_id)
        stamp = parse_timestamp(event_at)
        go_live = parse_date(go_live_raw) if go_live_raw.strip() else None
        npi = clean_npi(npi_raw)
        product = self._product_lookup.get(clean_code(product_raw))
        status = clean_code(status_raw)
        resolution = self.matcher.resolve(account_id, "", customer_name)
        month = self._event_issue_month(stamp)
        if month is not None:
            problems = (
                (stamp is None, "UNPARSEABLE_DATE", "event_at"),
                (go_live_raw.strip() != "" and go_live is None, "UNPARSEABLE_DATE", "go_live_date"),
                (npi is None, "INVALID_NPI", "npi"),
                (product is None, "UNKNOWN_PRODUCT", "product"),
                (status not in EVENT_STATUSES, "UNKNOWN_STATUS", "status"),
                (resolution.issue is not None, resolution.issue, "customer_name"),
            )
            for is_problem, issue, column in problems:
                if is_problem:
                    self._issue(month, "ops_intake_log", event_id, issue, column)
        if stamp is None or npi is None or product is None or status not in EVENT_STATUSES:
            return
        event_date, sort_key = stamp
        latest = _Latest(
            sort_key=sort_key,
            event_id=event_id,
            status=status,
            department_ok=clean_code(department) in self._departments,
            go_live=go_live or event_date,
            provider_name_key=normalise_provider_name(provider_name),
        )
        self._apply_or_hold((resolution.customer_key, product, npi), latest, event_date)

    def _apply_or_hold(self, key: EventKey, latest: _Latest, event_date: date) -> None:
        month = self.state_month(event_date)
        if month is None:
            return  # after the last generated month: counts in none of them
        if month < self._open_month or (month == self._open_month and self._snapshot):
            raise ValueError(f"event of a closed month: {key} {event_date}")
        if month > self._open_month:
            _keep_latest(self._pending_events.setdefault(month, {}), key, latest)
        else:
            _keep_latest(self._latest, key, latest)

    def state_month(self, event_date: date) -> int | None:
        """The first month whose state an event of this date is part of (None: no month)."""
        month = self._month_of(event_date)
        if month is None and event_date > self._month_ends[-1]:
            return None
        return 0 if month is None else month  # before the first month: history of every month

    @property
    def open_month(self) -> int:
        """The next month to close; len(months) when every month is closed."""
        return self._open_month

    def close(self, month: int) -> MonthResult:
        """Every event dated up to the end of `month` and every line of it has been added."""
        self.close_events(month)
        return self.close_month(month)

    def close_events(self, month: int) -> None:
        """Every event dated up to the end of `month` has been added: take the state."""
        if month != self._open_month or self._snapshot is not None:
            raise ValueError(f"months are closed in order; {month} is not open")
        end = self._month_ends[month]
        billable: dict[tuple[str, str], set[str]] = defaultdict(set)
        names: dict[tuple[str, str], set[str]] = defaultdict(set)
        for (customer, product, npi), latest in self._latest.items():
            if (
                latest.status == "live"
                and latest.department_ok
                and latest.go_live <= end
                and self.products[product].is_billable
            ):
                billable[(customer, product)].add(npi)
                names[(customer, npi)].add(latest.provider_name_key)
        self._snapshot = _Snapshot(billable=billable, billable_names=names)

    # ----------------------------------------------------------------- invoice lines
    def add_duplicate_invoice_line(self, row: Row) -> None:
        """A losing copy of an invoice line: only a DUPLICATE_RECORD issue."""
        month = self._period_issue_month(parse_billing_period(row[4]))
        if month is not None:
            self._issue(
                month,
                "billing_invoice_lines",
                clean_id(row[1]),
                "DUPLICATE_RECORD",
                "invoice_line_id",
            )

    def _period_issue_month(self, period: tuple[int, int] | None) -> int | None:
        return ALL_MONTHS if period is None else self._month_index.get(period)

    def add_invoice_line(self, row: Row) -> None:
        """The winning copy of an invoice line."""
        _, line_id, billing_id, customer_name, period_raw, code_raw = row[:6]
        quantity_raw, price_raw, amount_raw, status_raw = row[6:10]
        line_id = clean_id(line_id)
        period = parse_billing_period(period_raw)
        quantity = parse_whole_number(quantity_raw)
        price = parse_decimal(price_raw)
        product = self._product_codes.get(clean_code(code_raw))
        status = clean_code(status_raw)
        resolution = self.matcher.resolve("", billing_id, customer_name)
        month = self._period_issue_month(period)
        if month is not None:
            problems = (
                (period is None, "UNPARSEABLE_DATE", "billing_period"),
                (quantity is None, "UNPARSEABLE_NUMBER", "billed_quantity"),
                (price_raw.strip() != "" and price is None, "UNPARSEABLE_NUMBER", "unit_price"),
                (
                    amount_raw.strip() != "" and parse_decimal(amount_raw) is None,
                    "UNPARSEABLE_NUMBER",
                    "line_amount",
                ),
                (product is None, "UNKNOWN_PRODUCT", "product_code"),
                (status not in INVOICE_STATUSES, "UNKNOWN_STATUS", "invoice_status"),
                (resolution.issue is not None, resolution.issue, "billed_customer_name"),
            )
            for is_problem, issue, column in problems:
                if is_problem:
                    self._issue(month, "billing_invoice_lines", line_id, issue, column)
        if month is None or month == ALL_MONTHS or status == "void":
            return
        if quantity is None or product is None:
            return
        if month < self._open_month:
            raise ValueError(f"invoice line of a closed month: {line_id}")
        billed = self._billed[month].setdefault((resolution.customer_key, product), _Billed())
        if clean_id(row[0]):
            billed.invoice_ids.add(clean_id(row[0]))
        billed.statuses.add(status)
        billed.quantity += quantity
        if price is not None:
            billed.weight += abs(quantity)
            billed.weighted_price += abs(quantity) * price

    # ----------------------------------------------------------------- month close
    def close_month(self, month: int) -> MonthResult:
        """Counts and findings of `month`; then the next month is open."""
        if month != self._open_month or self._snapshot is None:
            raise ValueError(f"close_events({month}) first")
        snapshot = self._snapshot
        billed = self._billed.pop(month, {})
        label = month_label(self.months[month])
        end = self._month_ends[month]
        counts, product_findings = self._counts_and_product_findings(snapshot, billed, label)
        findings = product_findings + self._account_findings(counts, end)
        result = MonthResult(
            counts=sorted(row.as_counts_row() for row in counts),
            billing_discrepancies=self._label_findings(findings, month),
            provider_discrepancies=self._provider_findings(snapshot, label),
            entitlement_findings=self._entitlement_findings(counts, end, label),
        )
        self._open_month += 1
        self._snapshot = None
        for key, latest in self._pending_events.pop(self._open_month, {}).items():
            _keep_latest(self._latest, key, latest)
        return result

    def _counts_and_product_findings(
        self, snapshot: _Snapshot, billed: dict[tuple[str, str], _Billed], label: str
    ) -> tuple[list[_CountsRow], list[_Finding]]:
        keys = {key for key, npis in snapshot.billable.items() if npis} | set(billed)
        counts, findings = [], []
        for customer, product in sorted(keys):
            lines = billed.get((customer, product))
            row = _CountsRow(
                billing_month=label,
                customer_key=customer,
                account_id=customer if customer in self.accounts else None,
                product_code=product,
                crm_active_providers=len(self._active_npis.get(customer, ())),
                billable_providers=len(snapshot.billable.get((customer, product), ())),
                billed_quantity=lines.quantity if lines else 0,
                unit_price=self._unit_price(product, lines),
                invoice_ids=frozenset(lines.invoice_ids) if lines else frozenset(),
                invoice_statuses=frozenset(lines.statuses) if lines else frozenset(),
            )
            counts.append(row)
            if row.discrepancy_type is not None:
                findings.append(_Finding(row, product, row.discrepancy_type))
        return counts, findings

    def _unit_price(self, product: str, lines: _Billed | None) -> Decimal:
        if lines is None or lines.quantity == 0 or lines.weight == 0:
            return round_price(self.products[product].list_price)
        return round_price(lines.weighted_price / lines.weight)

    def _account_findings(self, counts: list[_CountsRow], end: date) -> list[_Finding]:
        by_customer: dict[str, list[_CountsRow]] = defaultdict(list)
        for row in counts:
            by_customer[row.customer_key].append(row)
        findings = []
        for customer, rows in by_customer.items():
            total = _CountsRow.account_total(rows)
            account = self.accounts.get(customer)
            if account is None:
                findings.append(_Finding(total, None, "MISSING_FROM_CRM"))
                continue
            if account.status in NOT_ACTIVE_ACCOUNT_STATUSES:
                findings.append(_Finding(total, None, "ACCOUNT_NOT_ACTIVE_IN_CRM"))
            if account.go_live is None or account.go_live > end:
                findings.append(_Finding(total, None, "GO_LIVE_MISMATCH"))
        return findings

    def _entitlement_findings(
        self, counts: list[_CountsRow], end: date, label: str
    ) -> list[tuple[str, ...]]:
        """Contract 5.1: matched customers' usage against the seats entitled at the month
        end; nothing at all when there is no entitlement record."""
        if not self._has_entitlements:
            return []
        entitled: dict[tuple[str, str], int] = defaultdict(int)
        for entitlement in self._entitlements:
            if entitlement.start <= end and (entitlement.end is None or entitlement.end >= end):
                entitled[(entitlement.account_id, entitlement.product_code)] += entitlement.seats
        usage = {
            (row.customer_key, row.product_code): (row.billable_providers, row.billed_quantity)
            for row in counts
            if row.account_id is not None and row.product_code is not None
        }
        current: dict[tuple[str, str], str | None] = {}
        rows = []
        for key in sorted(set(usage) | set(entitled)):
            billable, billed = usage.get(key, (0, 0))
            seats = entitled.get(key, 0)
            if billable <= 0 and seats <= 0:
                continue
            if billable == seats:
                finding = None
            elif billable < seats:
                finding = "USAGE_BELOW_ENTITLEMENT"
            elif seats > 0:
                finding = "USAGE_ABOVE_ENTITLEMENT"
            else:
                finding = "NO_ENTITLEMENT"
            previous = self._previous_entitlement_findings
            is_new = key not in previous or previous[key] != finding
            current[key] = finding
            utilisation = (
                format_decimal(round_price(Decimal(billable) / Decimal(seats)), 4)
                if seats > 0
                else ""
            )
            customer, product = key
            rows.append(
                (label, customer, customer, product, finding or "", str(seats), str(billable),
                 str(billed), str(billable - seats), utilisation, _flag(is_new))
            )  # fmt: skip
        self._previous_entitlement_findings = current
        return rows

    def _label_findings(self, findings: list[_Finding], month: int) -> list[tuple[str, ...]]:
        """is_new and first_seen_month: the streak of (customer, product, type)."""
        current: dict[tuple[str, str, str], int] = {}
        rows = []
        for finding in findings:
            key = (finding.row.customer_key, finding.product_code or "", finding.discrepancy_type)
            first_seen = self._previous_findings.get(key, month)
            current[key] = first_seen
            rows.append(finding.as_row(first_seen == month, month_label(self.months[first_seen])))
        self._previous_findings = current
        return sorted(rows, key=lambda row: (row[1], row[3], row[4]))

    def _provider_findings(self, snapshot: _Snapshot, label: str) -> list[tuple[str, ...]]:
        billable_by_account: dict[str, set[str]] = defaultdict(set)
        for (customer, _), npis in snapshot.billable.items():
            if customer in self.accounts:
                billable_by_account[customer].update(npis)
        rows = set()
        for account_id, npis in billable_by_account.items():
            crm = self._crm_by_account.get(account_id, {})
            for npi in npis:
                for finding in self._billable_provider_findings(
                    crm.get(npi), snapshot.billable_names[(account_id, npi)]
                ):
                    rows.add((label, account_id, npi, finding))
        for account_id, account in self.accounts.items():
            if account.status != "active":
                continue
            live = billable_by_account.get(account_id, set())
            for npi in self._active_npis.get(account_id, ()):
                if npi not in live:
                    rows.add((label, account_id, npi, "PROVIDER_NOT_LIVE"))
        return sorted(rows)

    @staticmethod
    def _billable_provider_findings(
        crm_records: tuple[set, set] | None, event_names: set[str]
    ) -> Iterator[str]:
        if crm_records is None:
            yield "PROVIDER_MISSING_FROM_CRM"
            return
        statuses, crm_names = crm_records
        if "active" not in statuses and "inactive" in statuses:
            yield "PROVIDER_INACTIVE_IN_CRM"
        if any(name not in crm_names for name in event_names):
            yield "PROVIDER_NAME_MISMATCH"

    # ----------------------------------------------------------------- data quality
    def data_quality_rows(self) -> list[tuple[str, ...]]:
        """Every issue, attributed to its month (or to every month), sorted."""
        rows = []
        labels = [month_label(m) for m in self.months]
        for issue in self._issues:
            months = labels if issue.month_index == ALL_MONTHS else [labels[issue.month_index]]
            for label in months:
                rows.append((label, issue.source, issue.record_id, issue.issue, issue.column_name))
        return sorted(rows)


@dataclass(slots=True)
class _CountsRow:
    billing_month: str
    customer_key: str
    account_id: str | None
    product_code: str | None
    crm_active_providers: int
    billable_providers: int
    billed_quantity: int
    unit_price: Decimal | None
    amount_delta: Decimal = field(default=Decimal("0.00"))
    invoice_ids: frozenset[str] = frozenset()
    invoice_statuses: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.unit_price is not None:
            self.amount_delta = round_money(self.quantity_delta * self.unit_price)

    @property
    def quantity_delta(self) -> int:
        return self.billed_quantity - self.billable_providers

    @property
    def discrepancy_type(self) -> str | None:
        billed, billable = self.billed_quantity, self.billable_providers
        if billed == billable:
            return None
        if billed > billable:
            return "OVERBILLED"
        return "UNBILLED_USAGE" if billable > 0 and billed <= 0 else "UNDERBILLED"

    @classmethod
    def account_total(cls, rows: list[_CountsRow]) -> _CountsRow:
        first = rows[0]
        total = cls(
            billing_month=first.billing_month,
            customer_key=first.customer_key,
            account_id=first.account_id,
            product_code=None,
            crm_active_providers=first.crm_active_providers,
            billable_providers=sum(row.billable_providers for row in rows),
            billed_quantity=sum(row.billed_quantity for row in rows),
            unit_price=None,
            invoice_ids=frozenset().union(*(row.invoice_ids for row in rows)),
            invoice_statuses=frozenset().union(*(row.invoice_statuses for row in rows)),
        )
        total.amount_delta = sum((row.amount_delta for row in rows), Decimal("0.00"))
        return total

    def as_counts_row(self) -> tuple[str, ...]:
        return (
            self.billing_month,
            self.customer_key,
            self.account_id or "",
            self.product_code or "",
            str(self.crm_active_providers),
            str(self.billable_providers),
            str(self.billed_quantity),
            str(self.quantity_delta),
            _flag(self.billed_quantity == self.billable_providers),
        )


@dataclass(frozen=True, slots=True)
class _Finding:
    row: _CountsRow
    product_code: str | None
    discrepancy_type: str

    def as_row(self, is_new: bool, first_seen_month: str) -> tuple[str, ...]:
        row = self.row
        invoice_status = invoice_status_of(row.invoice_statuses)
        return (
            row.billing_month,
            row.customer_key,
            row.account_id or "",
            self.product_code or "",
            self.discrepancy_type,
            str(row.crm_active_providers),
            str(row.billable_providers),
            str(row.billed_quantity),
            str(row.quantity_delta),
            "" if row.unit_price is None else format_decimal(row.unit_price, 4),
            format_decimal(row.amount_delta, 2),
            _flag(is_new),
            first_seen_month,
            ",".join(sorted(row.invoice_ids)),
            invoice_status or "",
            recommended_action(self.discrepancy_type, invoice_status),
        )


# --------------------------------------------------------------------------- answer key files
class AnswerKeyWriter:
    """Writes the answer-key CSVs month by month; data-quality issues at the end."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.rows_written = dict.fromkeys(ANSWER_KEY_FILES, 0)
        self._files: dict[str, TextIO] = {}
        self._writers: dict[str, Any] = {}
        for name, columns in ANSWER_KEY_FILES.items():
            handle = (directory / name).open("w", encoding="utf-8", newline="")
            self._files[name] = handle
            self._writers[name] = csv.writer(handle, lineterminator="\n")
            self._writers[name].writerow(columns)

    def write_month(self, result: MonthResult) -> None:
        self._write("provider_counts_monthly.csv", result.counts)
        self._write("billing_discrepancies.csv", result.billing_discrepancies)
        self._write("provider_discrepancies.csv", result.provider_discrepancies)
        self._write("entitlement_findings.csv", result.entitlement_findings)

    def write_data_quality(self, rows: Sequence[tuple[str, ...]]) -> None:
        self._write("data_quality_issues.csv", rows)

    def close(self) -> None:
        for handle in self._files.values():
            handle.close()

    def _write(self, name: str, rows: Sequence[tuple[str, ...]]) -> None:
        self._writers[name].writerows(rows)
        self.rows_written[name] += len(rows)


# --------------------------------------------------------------------------- from files
def iter_csv_rows(path: Path, columns: Sequence[str]) -> Iterator[list[str]]:
    """Rows of a CSV file (a BOM is skipped) in the order of `columns`, one at a time."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = [name.strip().lower() for name in next(reader)]
        positions = [header.index(column) for column in columns]
        if positions == list(range(len(header))):
            yield from reader  # already in the order of `columns`
            return
        for row in reader:
            yield [row[position] for position in positions]


def read_csv_rows(path: Path, columns: Sequence[str]) -> list[list[str]]:
    """Every row of a (small) CSV file, in the order of `columns`."""
    return list(iter_csv_rows(path, columns))


def read_seeds(seeds_dir: Path) -> Seeds:
    return Seeds(
        products=read_csv_rows(seeds_dir / "products.csv", PRODUCT_COLUMNS),
        departments=read_csv_rows(seeds_dir / "valid_departments.csv", DEPARTMENT_COLUMNS),
        legacy_names=read_csv_rows(seeds_dir / "legacy_customer_names.csv", LEGACY_COLUMNS),
    )


class _SeenIds:
    """A Bloom filter of ids: 'maybe seen before' or 'certainly not', in a few bits per id."""

    _HASHES = 3

    def __init__(self, expected_ids: int) -> None:
        self._size = max(1 << 16, expected_ids * 12)
        self._bits = bytearray(self._size // 8 + 1)

    def check_and_add(self, record_id: str) -> bool:
        """True when the id may have been added before; adds it."""
        digest = hashlib.blake2b(record_id.encode(), digest_size=4 * self._HASHES).digest()
        seen = True
        for start in range(0, 4 * self._HASHES, 4):
            position = int.from_bytes(digest[start : start + 4], "little") % self._size
            byte, mask = position >> 3, 1 << (position & 7)
            if not self._bits[byte] & mask:
                seen = False
                self._bits[byte] |= mask
        return seen


@dataclass(slots=True)
class _FamilyScan:
    """What a first pass over a file family tells the second one."""

    last_copy: dict[str, int]  # ids that may occur more than once -> position of their last copy
    first_month: list[int]  # per file: the earliest month its records belong to


def _scan_family(
    files: Sequence[Path],
    columns: Sequence[str],
    id_column: int,
    month_of_row: Callable[[list[str]], int | None],
    months: int,
) -> _FamilyScan:
    """Positions of the last copy of duplicated ids, and each file's earliest month."""
    seen = _SeenIds(sum(path.stat().st_size for path in files) // 40)
    scan = _FamilyScan(last_copy={}, first_month=[])
    position = 0
    for path in files:
        earliest = months
        for row in iter_csv_rows(path, columns):
            record_id = clean_id(row[id_column])
            if seen.check_and_add(record_id):
                scan.last_copy[record_id] = position
            month = month_of_row(row)
            if month is not None and month < earliest:
                earliest = month
            position += 1
        scan.first_month.append(earliest)
    return scan


def _family_files(raw_dir: Path, pattern: str) -> list[Path]:
    return sorted(raw_dir.glob(pattern), key=lambda path: path.name)


def read_entitlements(raw_dir: Path) -> list[tuple[str, list[str]]]:
    """(file name, row) of every contract_entitlements*.csv line; none without files."""
    return [
        (path.name, row)
        for path in _family_files(raw_dir, "contract_entitlements*.csv")
        for row in iter_csv_rows(path, ENTITLEMENT_COLUMNS)
    ]


def _add_invoice_lines(reconciler: Reconciler, raw_dir: Path) -> None:
    """Every invoice line, winners and losing copies (lines are few: all before any event)."""
    files = _family_files(raw_dir, "billing_invoice_lines*.csv")
    scan = _scan_family(files, INVOICE_LINE_COLUMNS, 1, lambda row: None, len(reconciler.months))
    position = 0
    for path in files:
        for row in iter_csv_rows(path, INVOICE_LINE_COLUMNS):
            if scan.last_copy.get(clean_id(row[1]), position) != position:
                reconciler.add_duplicate_invoice_line(row)
            else:
                reconciler.add_invoice_line(row)
            position += 1


def _event_state_month(reconciler: Reconciler) -> Callable[[list[str]], int | None]:
    def state_month(row: list[str]) -> int | None:
        stamp = parse_timestamp(row[1])
        return None if stamp is None else reconciler.state_month(stamp[0])

    return state_month


def _add_events_closing_months(
    reconciler: Reconciler, raw_dir: Path, on_month: Callable[[MonthResult], None]
) -> None:
    """Every event, drop by drop; a month is closed once no later drop has events of it."""
    files = _family_files(raw_dir, "ops_intake_log*.csv")
    months = len(reconciler.months)
    scan = _scan_family(files, EVENT_COLUMNS, 0, _event_state_month(reconciler), months)
    position = 0
    for index, path in enumerate(files):
        for row in iter_csv_rows(path, EVENT_COLUMNS):
            if scan.last_copy.get(clean_id(row[0]), position) != position:
                reconciler.add_duplicate_event(row)
            else:
                reconciler.add_event(row)
            position += 1
        still_open = min(scan.first_month[index + 1 :], default=months)
        while reconciler.open_month < still_open:
            on_month(reconciler.close(reconciler.open_month))
    while reconciler.open_month < months:
        on_month(reconciler.close(reconciler.open_month))


def reconcile_directory(
    raw_dir: Path, seeds_dir: Path, months: Sequence[str], on_month: Callable[[MonthResult], None]
) -> list[tuple[str, ...]]:
    """Streams the raw files through the rules; each month's result goes to `on_month`
    in month order. Returns the data-quality rows, known only once every file is read."""
    reconciler = Reconciler(
        months,
        read_seeds(seeds_dir),
        read_csv_rows(raw_dir / "crm_accounts.csv", CRM_ACCOUNT_COLUMNS),
        read_csv_rows(raw_dir / "crm_providers.csv", CRM_PROVIDER_COLUMNS),
        read_entitlements(raw_dir),
    )
    _add_invoice_lines(reconciler, raw_dir)
    _add_events_closing_months(reconciler, raw_dir, on_month)
    return reconciler.data_quality_rows()


def write_answer_key(
    raw_dir: Path, seeds_dir: Path, months: Sequence[str], directory: Path
) -> dict[str, int]:
    """Writes the answer-key CSVs of `months` from the files on disk; rows per file."""
    writer = AnswerKeyWriter(directory)
    try:
        writer.write_data_quality(
            reconcile_directory(raw_dir, seeds_dir, months, writer.write_month)
        )
    finally:
        writer.close()
    return dict(writer.rows_written)


def answer_key_rows(
    raw_dir: Path, seeds_dir: Path, months: Sequence[str]
) -> dict[str, list[tuple[str, ...]]]:
    """The answer key in memory, file name -> rows without header (small data)."""
    rows: dict[str, list[tuple[str, ...]]] = {name: [] for name in ANSWER_KEY_FILES}

    def collect(result: MonthResult) -> None:
        rows["provider_counts_monthly.csv"].extend(result.counts)
        rows["billing_discrepancies.csv"].extend(result.billing_discrepancies)
        rows["provider_discrepancies.csv"].extend(result.provider_discrepancies)
        rows["entitlement_findings.csv"].extend(result.entitlement_findings)

    rows["data_quality_issues.csv"] = reconcile_directory(raw_dir, seeds_dir, months, collect)
    return rows
