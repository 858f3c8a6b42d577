"""Checks of the raw files before anything is built (contract, sections 1.1 and 4).

Two kinds of findings:

- CRITICAL: the run stops before anything is written, with a message naming the file, the
  column and the lines: a required file family missing (crm_accounts.csv, crm_providers.csv,
  at least one ops_intake_log*.csv and one billing_invoice_lines*.csv), an empty file, a
  required column missing from a file, a line that is not UTF-8, a row that is not valid CSV
  (broken quoting, a number of fields other than the header's), an empty key
  (account_id, crm_provider_id, event_id, invoice_line_id).
- WARNING: recorded, listed in the report's Data quality sheet: the share of parseable dates
  below RECON_MIN_DATE_PARSE_RATE, a billed quantity that is not a whole number, the share of
  NPIs shaped as 10 digits (after removing spaces and dashes) below RECON_MIN_NPI_SHAPE_RATE.
  The models still handle every such value (it becomes NULL and a data-quality issue).

The structure is checked line by line with the csv module (RFC 4180, UTF-8 with an optional
byte-order mark, header names compared trimmed and case-insensitively, blank lines skipped,
as DuckDB's reader does). The content is checked with Great Expectations on pandas
DataFrames of text (one per file family, with the file name and line of each row), and its
Data Docs are saved in RECON_REPORT_DIR/YYYY-MM/data_docs/ (only when nothing is critical:
a bad file stops the run before anything is written).

| variable                   | meaning                                            | default |
|----------------------------|----------------------------------------------------|---------|
| RECON_MIN_DATE_PARSE_RATE  | lowest share of non-empty dates that parse         | 0.95    |
| RECON_MIN_NPI_SHAPE_RATE   | lowest share of non-empty NPIs shaped as 10 digits | 0.95    |

Line numbers are the file's own (line 1 is the header), as a text editor shows them.
"""

from __future__ import annotations

import codecs
import csv
import json
import logging
import os
import shutil
import tempfile
import time
import uuid
from array import array
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from prefect import task

from recon.config import Settings

CRITICAL = "critical"
WARNING = "warning"
MAX_LINES_LISTED = 10
DATA_DOCS_FOLDER = "data_docs"
DATA_DOCS_SITE = "raw_files"

# Regular expressions of the accepted spellings (contract 1.1), case-insensitive, applied to
# trimmed values; impossible calendar dates are not caught here (the models catch them).
_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
_DATE = (
    r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
    r"|[0-9]{4}/[0-9]{1,2}/[0-9]{1,2}"
    r"|[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}"
    rf"|[0-9]{{1,2}}-(?:{_MONTHS})-[0-9]{{4}}"
)
_TIMESTAMP = (
    r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}[t ][0-9]{1,2}:[0-9]{2}"
    r"(?::[0-9]{2}(?:\.[0-9]+)?)?(?:z|[+-][0-9]{2}:?[0-9]{2})?"
)
DATE_REGEX = rf"(?i)^(?:{_DATE}|{_TIMESTAMP})$"
MONTH_REGEX = rf"(?i)^(?:[0-9]{{4}}-[0-9]{{1,2}}|{_DATE}|{_TIMESTAMP})$"
WHOLE_NUMBER_REGEX = r"^[+-]?[0-9]{1,15}(?:\.0+)?$"
NPI_SHAPE_REGEX = r"^(?:[ -]*[0-9]){10}[ -]*$"


@dataclass(frozen=True)
class FileFamily:
    """A raw file family of contract section 1.1 and what is checked in it."""

    name: str
    pattern: str
    columns: tuple[str, ...]
    key_column: str
    date_columns: tuple[str, ...] = ()
    month_columns: tuple[str, ...] = ()
    npi_columns: tuple[str, ...] = ()
    whole_number_columns: tuple[str, ...] = ()
    optional: bool = False  # no file is fine (contract 5.1); a file present is checked


FAMILIES = (
    FileFamily(
        name="crm_accounts",
        pattern="crm_accounts.csv",
        columns=(
            "account_id",
            "account_name",
            "account_status",
            "go_live_date",
            "billing_account_id",
            "last_modified_at",
        ),
        key_column="account_id",
        date_columns=("go_live_date", "last_modified_at"),
    ),
    FileFamily(
        name="crm_providers",
        pattern="crm_providers.csv",
        columns=(
            "crm_provider_id",
            "account_id",
            "npi",
            "provider_name",
            "provider_status",
            "department",
            "location",
            "last_modified_at",
        ),
        key_column="crm_provider_id",
        date_columns=("last_modified_at",),
        npi_columns=("npi",),
    ),
    FileFamily(
        name="ops_intake_log",
        pattern="ops_intake_log*.csv",
        columns=(
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
        ),
        key_column="event_id",
        date_columns=("event_at", "go_live_date"),
        npi_columns=("npi",),
    ),
    FileFamily(
        name="billing_invoice_lines",
        pattern="billing_invoice_lines*.csv",
        columns=(
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
        ),
        key_column="invoice_line_id",
        month_columns=("billing_period",),
        whole_number_columns=("billed_quantity",),
    ),
    FileFamily(
        name="contract_entitlements",
        pattern="contract_entitlements*.csv",
        columns=(
            "entitlement_id",
            "account_id",
            "product_code",
            "contracted_seats",
            "start_date",
            "end_date",
            "last_modified_at",
        ),
        key_column="entitlement_id",
        date_columns=("start_date", "end_date", "last_modified_at"),
        whole_number_columns=("contracted_seats",),
        optional=True,
    ),
)


@dataclass(frozen=True)
class Finding:
    """One failed check: where (file, column, lines) and what."""

    severity: str
    check: str
    file: str
    message: str
    column: str | None = None
    lines: tuple[int, ...] = ()
    count: int = 0

    def describe(self) -> str:
        where = self.file + (f", column {self.column}" if self.column else "")
        if self.lines:
            listed = ", ".join(str(line) for line in self.lines[:MAX_LINES_LISTED])
            more = self.count - min(len(self.lines), MAX_LINES_LISTED)
            where += f", line{'s' if self.count > 1 else ''} {listed}"
            where += f" and {more} more" if more > 0 else ""
        return f"{where}: {self.message}"

    def as_row(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "check": self.check,
            "file": self.file,
            "column": self.column,
            "lines": ", ".join(str(line) for line in self.lines[:MAX_LINES_LISTED]),
            "count": self.count,
            "message": self.message,
        }


class RawFilesInvalid(Exception):
    """A raw file cannot be used: the run stops before anything is built or written."""

    def __init__(self, raw_dir: Path, findings: list[Finding]) -> None:
        self.findings = findings
        listed = "\n".join(f"  - {finding.describe()}" for finding in findings)
        super().__init__(
            f"raw files in {raw_dir} are not usable; nothing was built or written:\n{listed}"
        )


@dataclass(frozen=True)
class RawFile:
    """A structurally valid raw file: its path, header and the line each data row starts on."""

    path: Path
    family: FileFamily
    header: tuple[str, ...]
    row_lines: array = field(repr=False)


@dataclass(frozen=True)
class ValidationResult:
    files: tuple[str, ...]  # the files read and checked by this run
    rows: dict[str, int]
    warnings: tuple[Finding, ...]
    data_docs_index: Path | None
    unchanged: tuple[str, ...] = ()  # files validated by an earlier run and unchanged since

    def warning_rows(self) -> list[dict[str, Any]]:
        return [finding.as_row() for finding in self.warnings]


# --------------------------------------------------------------------------- structure
def find_files(raw_dir: Path) -> tuple[dict[str, list[Path]], list[Finding]]:
    """The files of each family, in name order; a required family without files is critical."""
    files: dict[str, list[Path]] = {}
    findings = []
    for family in FAMILIES:
        files[family.name] = sorted(raw_dir.glob(family.pattern), key=lambda path: path.name)
        if not files[family.name] and not family.optional:
            findings.append(
                Finding(CRITICAL, "MISSING_FILE", family.pattern, f"no such file in {raw_dir}")
            )
    return files, findings


def _decoded_lines(path: Path, not_utf8: list[int]) -> Iterator[str]:
    """The file's lines as text; a line that is not UTF-8 is noted (and decoded leniently)."""
    decoder = codecs.lookup("utf-8")
    with path.open("rb") as handle:
        for number, raw_line in enumerate(handle, start=1):
            if number == 1 and raw_line.startswith(codecs.BOM_UTF8):
                raw_line = raw_line[len(codecs.BOM_UTF8) :]
            try:
                yield decoder.decode(raw_line)[0]
            except UnicodeDecodeError:
                not_utf8.append(number)
                yield raw_line.decode("utf-8", errors="replace")


def _lines_finding(check: str, path: Path, message: str, lines: list[int]) -> Finding:
    return Finding(
        CRITICAL, check, path.name, message, lines=tuple(lines[:MAX_LINES_LISTED]), count=len(lines)
    )


def read_structure(path: Path, family: FileFamily) -> tuple[RawFile | None, list[Finding]]:
    """Header, encoding and CSV shape of one file, line by line (streams big files)."""
    not_utf8: list[int] = []
    bad_shape: list[int] = []
    findings: list[Finding] = []
    row_lines = array("q")
    reader = csv.reader(_decoded_lines(path, not_utf8), strict=True)
    empty_key: list[int] = []
    header: tuple[str, ...] | None = None
    key_index = -1
    last_line = 0
    try:
        for record in reader:
            first_line, last_line = last_line + 1, reader.line_num
            if not record:  # a blank line
                continue
            if header is None:
                header = tuple(name.strip().lower() for name in record)
                if family.key_column in header:
                    key_index = header.index(family.key_column)
                continue
            if len(record) != len(header):
                bad_shape.append(first_line)
            elif key_index >= 0 and not record[key_index].strip():
                empty_key.append(first_line)
            row_lines.append(first_line)
    except csv.Error as error:
        findings.append(
            _lines_finding("MALFORMED_CSV", path, f"not valid CSV ({error})", [last_line + 1])
        )
    if not_utf8:
        findings.append(_lines_finding("NOT_UTF8", path, "bytes that are not UTF-8", not_utf8))
    if header is None:
        findings.append(Finding(CRITICAL, "EMPTY_FILE", path.name, "no header row"))
        return None, findings
    for column in family.columns:
        if column not in header:
            findings.append(
                Finding(
                    CRITICAL,
                    "MISSING_COLUMN",
                    path.name,
                    f"required column {column!r} is missing (header: {', '.join(header)})",
                    column=column,
                )
            )
    if bad_shape:
        findings.append(
            _lines_finding(
                "MALFORMED_CSV",
                path,
                f"number of fields differs from the header's {len(header)}",
                bad_shape,
            )
        )
    if empty_key:
        findings.append(
            Finding(
                CRITICAL,
                "EMPTY_KEY",
                path.name,
                f"key {family.key_column} is empty in {len(empty_key)} row(s)",
                column=family.key_column,
                lines=tuple(empty_key[:MAX_LINES_LISTED]),
                count=len(empty_key),
            )
        )
    if findings:
        return None, findings
    return RawFile(path, family, header, row_lines), []


# --------------------------------------------------------------------------- content
def family_frame(files: list[RawFile]) -> Any:
    """One text DataFrame of a family's required columns, with _file and _line of each row.

    Values are trimmed and an empty value is NULL (contract 1.1), except in whole-number
    columns, where an empty quantity is not a whole number and must be seen as such.
    """
    import pandas as pd

    frames = []
    for raw_file in files:
        family = raw_file.family
        frame = pd.read_csv(
            raw_file.path,
            dtype=str,
            keep_default_na=False,
            encoding="utf-8-sig",
            usecols=lambda name, wanted=family.columns: name.strip().lower() in wanted,
        )
        frame.columns = [name.strip().lower() for name in frame.columns]
        if len(frame) != len(raw_file.row_lines):
            raise RuntimeError(f"{raw_file.path.name}: pandas and csv disagree on the row count")
        frame = frame[list(family.columns)].apply(lambda column: column.str.strip())
        nullable = [name for name in family.columns if name not in family.whole_number_columns]
        frame[nullable] = frame[nullable].replace("", None)
        frame["_file"] = raw_file.path.name
        frame["_line"] = list(raw_file.row_lines)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _rate(name: str, default: float) -> float:
    value = float(os.environ.get(name) or default)
    if not 0 <= value <= 1:
        raise ValueError(f"{name} must be between 0 and 1, got {value}")
    return value


def expectation_suite(family: FileFamily) -> Any:
    """The family's expectations; `meta` says how a failure counts (critical or warning)."""
    import great_expectations as gx

    def meta(severity: str, check: str) -> dict[str, str]:
        return {"severity": severity, "check": check}

    date_rate = _rate("RECON_MIN_DATE_PARSE_RATE", 0.95)
    npi_rate = _rate("RECON_MIN_NPI_SHAPE_RATE", 0.95)
    expectations = gx.expectations
    suite = gx.ExpectationSuite(name=f"raw_{family.name}")
    for column in family.columns:
        suite.add_expectation(
            expectations.ExpectColumnToExist(column=column, meta=meta(CRITICAL, "MISSING_COLUMN"))
        )
    suite.add_expectation(
        expectations.ExpectColumnValuesToNotBeNull(
            column=family.key_column, meta=meta(CRITICAL, "EMPTY_KEY")
        )
    )
    for column in family.date_columns:
        suite.add_expectation(
            expectations.ExpectColumnValuesToMatchRegex(
                column=column,
                regex=DATE_REGEX,
                mostly=date_rate,
                meta=meta(WARNING, "LOW_DATE_PARSE_RATE"),
            )
        )
    for column in family.month_columns:
        suite.add_expectation(
            expectations.ExpectColumnValuesToMatchRegex(
                column=column,
                regex=MONTH_REGEX,
                mostly=date_rate,
                meta=meta(WARNING, "LOW_DATE_PARSE_RATE"),
            )
        )
    for column in family.npi_columns:
        suite.add_expectation(
            expectations.ExpectColumnValuesToMatchRegex(
                column=column,
                regex=NPI_SHAPE_REGEX,
                mostly=npi_rate,
                meta=meta(WARNING, "LOW_NPI_SHAPE_RATE"),
            )
        )
    for column in family.whole_number_columns:
        suite.add_expectation(
            expectations.ExpectColumnValuesToMatchRegex(
                column=column,
                regex=WHOLE_NUMBER_REGEX,
                meta=meta(WARNING, "NON_INTEGER_QUANTITY"),
            )
        )
    return suite


def _finding_from_result(family: FileFamily, result: Any) -> Finding:
    config = result.expectation_config
    column = config.kwargs.get("column")
    details = result.result or {}
    unexpected = int(details.get("unexpected_count") or 0)
    checked = int(details.get("element_count") or 0) - int(details.get("missing_count") or 0)
    samples = details.get("partial_unexpected_index_list") or []
    lines = tuple(int(sample["_line"]) for sample in samples)
    files = sorted({str(sample["_file"]) for sample in samples}) or [family.pattern]
    values = sorted({str(sample.get(column)) for sample in samples})[:5]
    check = config.meta["check"]
    if check == "MISSING_COLUMN":
        message = f"required column {column!r} is missing"
    elif check == "EMPTY_KEY":
        message = f"key {column} is empty in {unexpected} row(s)"
    else:
        share = 1 - unexpected / checked if checked else 1.0
        what = {
            "LOW_DATE_PARSE_RATE": "parseable dates",
            "LOW_NPI_SHAPE_RATE": "NPIs shaped as 10 digits",
            "NON_INTEGER_QUANTITY": "whole-number quantities",
        }[check]
        minimum = config.kwargs.get("mostly") or 1.0
        message = (
            f"{share:.1%} {what} ({unexpected} of {checked} values are not; minimum "
            f"{minimum:.0%}), e.g. {', '.join(repr(value) for value in values)}"
        )
    return Finding(
        severity=config.meta["severity"],
        check=check,
        file=", ".join(files),
        message=message,
        column=column,
        lines=lines,
        count=unexpected,
    )


def run_expectations(files: dict[str, list[RawFile]], site_dir: Path) -> tuple[Any, list]:
    """Validates each family with GX; returns the context and the failed expectations.

    The context's Data Docs site is site_dir; nothing is written there until it is built.
    """
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    context = gx.get_context(
        mode="ephemeral",
        project_config=DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(),
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False),
            data_docs_sites={
                DATA_DOCS_SITE: {
                    "class_name": "SiteBuilder",
                    "store_backend": {
                        "class_name": "TupleFilesystemStoreBackend",
                        "base_directory": str(site_dir),
                    },
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                }
            },
        ),
    )
    data_source = context.data_sources.add_pandas("raw_files")
    findings: list[Finding] = []
    for family in FAMILIES:
        if not files[family.name]:  # an optional family without files: nothing to check
            continue
        batch = data_source.add_dataframe_asset(family.name).add_batch_definition_whole_dataframe(
            "all_files"
        )
        suite = context.suites.add(expectation_suite(family))
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(data=batch, suite=suite, name=family.name)
        )
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=f"raw_{family.name}",
                validation_definitions=[definition],
                result_format={
                    "result_format": "SUMMARY",
                    "unexpected_index_column_names": ["_file", "_line"],
                },
            )
        )
        frame = family_frame(files[family.name])
        run = checkpoint.run(batch_parameters={"dataframe": frame})
        for validation in run.run_results.values():
            findings += [
                _finding_from_result(family, result)
                for result in validation.results
                if not result.success
            ]
    return context, findings


def _publish_data_docs(context: Any, site_dir: Path, target: Path) -> Path:
    """Builds the Data Docs site in site_dir, then swaps it in place of an earlier one."""
    try:
        context.build_data_docs(site_names=[DATA_DOCS_SITE])
        shutil.rmtree(target, ignore_errors=True)
        os.replace(site_dir, target)
    finally:
        shutil.rmtree(site_dir, ignore_errors=True)
    return target / "index.html"


def _logger() -> logging.Logger | logging.LoggerAdapter:
    from prefect.exceptions import MissingContextError
    from prefect.logging import get_run_logger

    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(__name__)


def check_raw_files(
    raw_dir: Path,
    data_docs_dir: Path | None,
    registry: ValidatedFiles | None = None,
) -> ValidationResult:
    """Every check; raises RawFilesInvalid on a critical finding, before writing anything.

    With a registry, a file validated by an earlier run and unchanged since is not read
    again (a month's validation reads its own drop, not every file of history); the
    warnings recorded for it when the same month was validated are reported again, so a
    re-run of a month reports what its first run did.
    """
    logger = _logger()
    paths, findings = find_files(raw_dir)
    files: dict[str, list[RawFile]] = {}
    unchanged: list[Path] = []
    for family in FAMILIES:
        files[family.name] = []
        for path in paths[family.name]:
            if registry is not None and registry.is_unchanged(path):
                unchanged.append(path)
                continue
            logger.info("checking %s", path.name)
            raw_file, file_findings = read_structure(path, family)
            findings += file_findings
            if raw_file is not None:
                files[family.name].append(raw_file)
    if findings:
        raise RawFilesInvalid(raw_dir, findings)
    if unchanged:
        logger.info("%d raw files validated before and unchanged: not read again", len(unchanged))
    checked = [raw for family_files in files.values() for raw in family_files]
    found: list[Finding] = []
    data_docs_index = None
    if checked:
        logger.info("checking values with Great Expectations")
        unique = f".{DATA_DOCS_FOLDER}-{uuid.uuid4().hex}"
        parent = data_docs_dir.parent if data_docs_dir else Path(tempfile.gettempdir())
        site_dir = parent / unique
        context, found = run_expectations(files, site_dir)
        critical = [finding for finding in found if finding.severity == CRITICAL]
        if critical:
            raise RawFilesInvalid(raw_dir, critical)
        if data_docs_dir is not None:
            data_docs_index = _publish_data_docs(context, site_dir, data_docs_dir)
    elif data_docs_dir is not None and (data_docs_dir / "index.html").exists():
        data_docs_index = data_docs_dir / "index.html"  # this month's, from its first run
    warnings = tuple(found)
    if registry is not None:
        warnings = registry.record([raw.path for raw in checked], found, unchanged)
    for warning in warnings:
        logger.warning("raw file warning: %s", warning.describe())
    return ValidationResult(
        files=tuple(raw.path.name for raw in checked),
        rows={name: sum(len(raw.row_lines) for raw in family) for name, family in files.items()},
        warnings=warnings,
        data_docs_index=data_docs_index,
        unchanged=tuple(path.name for path in unchanged),
    )


# --------------------------------------------------------------------------- registry
class ValidatedFiles:
    """The raw files validated so far (a JSON file beside the private database): each one's
    size and modification time when it was validated, the month it was validated for and
    the warnings found in it then.

    A file is unchanged when its size and time are the recorded ones and it was not modified
    within two seconds of being validated (file times can be coarse: git's "racy clean"
    case); anything else is read and checked again. The file is written whole and swapped in
    (os.replace); the run lock keeps two runs from writing it together.
    """

    RACY_SECONDS = 2.0

    def __init__(self, path: Path, billing_month: str) -> None:
        self.path = path
        self.billing_month = billing_month
        try:
            self._files: dict[str, dict[str, Any]] = json.loads(path.read_text())["files"]
        except FileNotFoundError:
            self._files = {}
        except (ValueError, KeyError, TypeError) as error:
            _logger().warning("%s is unreadable (%s): every raw file is checked again", path, error)
            self._files = {}

    def is_unchanged(self, path: Path) -> bool:
        entry = self._files.get(str(path.resolve()))
        if entry is None:
            return False
        stat = path.stat()
        return (
            stat.st_size == entry["size"]
            and stat.st_mtime_ns == entry["mtime_ns"]
            and entry["validated_at"] - stat.st_mtime > self.RACY_SECONDS
        )

    def record(
        self, checked: list[Path], found: list[Finding], unchanged: list[Path]
    ) -> tuple[Finding, ...]:
        """Stores the files checked now; returns this month's warnings: those found now and
        those recorded for unchanged files when this same month was validated."""
        now = time.time()
        warnings = list(found)
        for path in unchanged:
            entry = self._files[str(path.resolve())]
            if entry["billing_month"] == self.billing_month:
                warnings += [
                    Finding(**{**row, "lines": tuple(row["lines"])}) for row in entry["warnings"]
                ]
        for path in checked:
            stat = path.stat()
            self._files[str(path.resolve())] = {
                "size": stat.st_size,
                "mtime_ns": stat.st_mtime_ns,
                "validated_at": now,
                "billing_month": self.billing_month,
                "warnings": [
                    asdict(finding) for finding in found if path.name in finding.file.split(", ")
                ],
            }
        present = {str(path.resolve()) for path in [*checked, *unchanged]}
        self._files = {name: entry for name, entry in self._files.items() if name in present}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        staged = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}")
        staged.write_text(json.dumps({"files": self._files}, indent=1, sort_keys=True))
        os.replace(staged, self.path)
        unique = list(dict.fromkeys(warnings))
        return tuple(unique)


@task(name="validate-raw-files", task_run_name="validate-raw-files-{billing_month}")
def validate_raw_files(billing_month: str) -> ValidationResult:
    """Checks RECON_RAW_DIR; Data Docs go to RECON_REPORT_DIR/<billing_month>/data_docs/.

    No retries: a bad file stays bad until someone replaces it.
    """
    settings = Settings.from_env()
    return check_raw_files(
        settings.raw_dir,
        settings.report_dir / billing_month / DATA_DOCS_FOLDER,
        ValidatedFiles(settings.validated_files_path, billing_month),
    )
