"""Raw-file checks: critical findings stop the run naming file, column and lines; warnings
are recorded; Great Expectations Data Docs are saved beside the report."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from recon.validate import RawFilesInvalid, ValidatedFiles, check_raw_files


@pytest.fixture
def raw_dir(small_dataset, tmp_path: Path) -> Path:
    raw, _ = small_dataset(tmp_path)
    return raw


def _append(path: Path, text: bytes) -> None:
    with path.open("ab") as handle:
        handle.write(text)


def _critical(raw: Path) -> str:
    with pytest.raises(RawFilesInvalid) as raised:
        check_raw_files(raw, None)
    return str(raised.value)


def test_valid_files_pass_and_data_docs_are_saved(raw_dir: Path, tmp_path: Path):
    docs = tmp_path / "reports" / "2026-09" / "data_docs"
    result = check_raw_files(raw_dir, docs)
    assert result.rows == {
        "crm_accounts": 6,
        "crm_providers": 6,
        "ops_intake_log": 9,
        "billing_invoice_lines": 7,
        "contract_entitlements": 5,
    }
    (warning,) = result.warnings  # the dataset's one unparseable event_at of eight
    assert (warning.check, warning.column, warning.lines) == (
        "LOW_DATE_PARSE_RATE",
        "event_at",
        (9,),
    )
    assert warning.file == "ops_intake_log_2026_09.csv"
    assert result.data_docs_index == docs / "index.html"
    assert result.data_docs_index.is_file()
    assert "raw_ops_intake_log" in (docs / "index.html").read_text(encoding="utf-8")
    assert not [p for p in docs.parent.iterdir() if p.name.startswith(".")]  # no leftovers


def test_missing_file_family(raw_dir: Path):
    for path in raw_dir.glob("billing_invoice_lines*.csv"):
        path.unlink()
    (raw_dir / "crm_accounts.csv").unlink()
    message = _critical(raw_dir)
    assert "billing_invoice_lines*.csv: no such file" in message
    assert "crm_accounts.csv: no such file" in message


def test_missing_column_names_file_and_column(raw_dir: Path, tmp_path: Path):
    path = raw_dir / "billing_invoice_lines_2026_10.csv"
    path.write_text(path.read_text().replace("billed_quantity,", "quantity,"), encoding="utf-8")
    docs = tmp_path / "reports" / "2026-10" / "data_docs"
    with pytest.raises(RawFilesInvalid) as raised:
        check_raw_files(raw_dir, docs)
    (finding,) = raised.value.findings
    assert (finding.check, finding.file, finding.column) == (
        "MISSING_COLUMN",
        "billing_invoice_lines_2026_10.csv",
        "billed_quantity",
    )
    assert "billing_invoice_lines_2026_10.csv, column billed_quantity" in str(raised.value)
    assert not (tmp_path / "reports").exists()  # nothing written


def test_wrong_number_of_fields_names_the_line(raw_dir: Path):
    _append(raw_dir / "ops_intake_log_2026_10.csv", b"E9,2026-10-06,Acme Health\n")
    message = _critical(raw_dir)
    assert "ops_intake_log_2026_10.csv, line 3: number of fields differs" in message


def test_broken_quoting_names_the_line(raw_dir: Path):
    _append(raw_dir / "crm_providers.csv", b'P9,A1,"1234567893,Broken,active,X,Y,2026-01-01\n')
    message = _critical(raw_dir)
    assert "crm_providers.csv, line 8: not valid CSV" in message


def test_bytes_that_are_not_utf8_name_the_line(raw_dir: Path):
    _append(
        raw_dir / "billing_invoice_lines_2026_10.csv",
        b"INV8,L8,B-100,Caf\xe9 Health,2026-10,RCM,1,120,120,open,USD\n",
    )
    message = _critical(raw_dir)
    assert "billing_invoice_lines_2026_10.csv, line 3: bytes that are not UTF-8" in message


def test_empty_key_names_file_column_and_lines(raw_dir: Path):
    _append(raw_dir / "crm_accounts.csv", b"  ,Nobody,active,,,2026-01-01\n,Nobody 2,active,,,\n")
    message = _critical(raw_dir)
    assert "crm_accounts.csv, column account_id, lines 8, 9: key account_id is empty" in message


def test_bom_header_case_spaces_and_quoted_newlines_are_accepted(raw_dir: Path):
    path = raw_dir / "crm_accounts.csv"
    header, *lines = path.read_text(encoding="utf-8").splitlines()
    header = ", ".join(name.upper() for name in header.split(","))
    lines.append('A7,"Two\nLines Clinic",active,2025-01-01,B-700,2026-01-01')
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join([header, *lines, ""]).encode("utf-8"))
    result = check_raw_files(raw_dir, None)
    assert result.rows["crm_accounts"] == 7


def test_warnings_for_dates_quantities_and_npis(raw_dir: Path):
    _append(
        raw_dir / "billing_invoice_lines_2026_10.csv",
        b"INV8,L8,B-100,Acme,2026-10,RCM,3.5,120,420,open,USD\n"
        b"INV8,L9,B-100,Acme,October,RCM,,120,0,open,USD\n"
        b"INV8,L10,B-100,Acme,2026-10,RCM,2.0,120,240,open,USD\n",
    )
    _append(
        raw_dir / "ops_intake_log_2026_10.csv",
        b"E20,2026-10-07,Acme,A1,12-34,Ann,Cardiology,Boston,RCM,live,\n",
    )
    result = check_raw_files(raw_dir, None)
    by_check = {(w.check, w.column): w for w in result.warnings}
    quantity = by_check[("NON_INTEGER_QUANTITY", "billed_quantity")]
    assert (quantity.lines, quantity.count) == ((3, 4), 2)  # 3.5 and empty; 2.0 is whole
    period = by_check[("LOW_DATE_PARSE_RATE", "billing_period")]
    assert period.lines == (4,) and period.file == "billing_invoice_lines_2026_10.csv"
    npi = by_check[("LOW_NPI_SHAPE_RATE", "npi")]  # 9 of 10 shaped: 90%, below 95%
    assert (npi.file, npi.lines) == ("ops_intake_log_2026_10.csv", (3,))
    assert "not" in npi.message and "10 digits" in npi.message


def test_thresholds_decide_what_is_a_warning(raw_dir: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RECON_MIN_DATE_PARSE_RATE", "0.8")  # 7 of 8 event dates parse
    result = check_raw_files(raw_dir, None)
    assert result.warnings == ()


def test_entitlement_files_are_optional(raw_dir: Path):
    (raw_dir / "contract_entitlements.csv").unlink()
    result = check_raw_files(raw_dir, None)
    assert result.rows["contract_entitlements"] == 0
    assert not any(name.startswith("contract_entitlements") for name in result.files)


def test_an_entitlement_file_gets_the_same_critical_checks(raw_dir: Path):
    path = raw_dir / "contract_entitlements.csv"
    path.write_text(path.read_text().replace(",end_date,", ",ends,"), encoding="utf-8")
    header = b"entitlement_id,account_id,product_code,contracted_seats,start_date,end_date,"
    _append(raw_dir / "contract_entitlements_2.csv", header + b"last_modified_at\n ,A1,RCM,1,,,\n")
    message = _critical(raw_dir)
    assert "contract_entitlements.csv, column end_date: required column 'end_date'" in message
    assert (
        "contract_entitlements_2.csv, column entitlement_id, line 2: key entitlement_id" in message
    )


def test_entitlement_values_get_warnings(raw_dir: Path):
    _append(raw_dir / "contract_entitlements.csv", b"E-10,A1,RCM,ten,someday,,2026-01-01\n")
    result = check_raw_files(raw_dir, None)
    by_check = {(w.check, w.column): w for w in result.warnings}
    seats = by_check[("NON_INTEGER_QUANTITY", "contracted_seats")]
    assert (seats.file, seats.lines) == ("contract_entitlements.csv", (7,))
    start = by_check[("LOW_DATE_PARSE_RATE", "start_date")]  # 5 of 6 parse: below 95%
    assert (start.file, start.lines) == ("contract_entitlements.csv", (7,))


def _age(*paths: Path) -> None:
    """Files written a minute ago: older than the registry's racy-time margin."""
    past = time.time() - 60
    for path in paths:
        os.utime(path, (past, past))


def test_a_validated_file_is_not_read_again_until_it_changes(raw_dir: Path, tmp_path: Path):
    registry_path = tmp_path / "state" / "validated.json"
    _age(*raw_dir.iterdir())
    first = check_raw_files(raw_dir, None, ValidatedFiles(registry_path, "2026-09"))
    assert len(first.files) == 7 and first.unchanged == ()
    (warning,) = first.warnings

    # A re-run of the month reads nothing and reports the month's warning again.
    again = check_raw_files(raw_dir, None, ValidatedFiles(registry_path, "2026-09"))
    assert again.files == () and sorted(again.unchanged) == sorted(first.files)
    assert again.warnings == (warning,)

    # The next month: the new drop is read; last month's warning belongs to last month.
    new_drop = raw_dir / "ops_intake_log_2026_11.csv"
    header = (raw_dir / "ops_intake_log_2026_09.csv").read_text().splitlines()[0]
    new_drop.write_text(
        header + "\nE90,2026-11-03,Acme,A1,1234567893,Ann,Cardiology,Boston,RCM,live,\n"
    )
    _append(raw_dir / "crm_accounts.csv", b"A9,Late Clinic,active,2025-01-01,B-900,2026-11-01\n")
    _age(new_drop, raw_dir / "crm_accounts.csv")
    later = check_raw_files(raw_dir, None, ValidatedFiles(registry_path, "2026-11"))
    assert sorted(later.files) == ["crm_accounts.csv", "ops_intake_log_2026_11.csv"]
    assert later.rows["crm_accounts"] == 7 and later.warnings == ()

    # A changed file that is now bad still stops the run, naming it.
    _append(new_drop, b"E91,2026-11-04,Acme,A1\n")
    with pytest.raises(RawFilesInvalid, match=r"ops_intake_log_2026_11\.csv"):
        check_raw_files(raw_dir, None, ValidatedFiles(registry_path, "2026-11"))


def test_a_file_modified_as_it_was_validated_is_read_again(raw_dir: Path, tmp_path: Path):
    registry_path = tmp_path / "validated.json"
    check_raw_files(raw_dir, None, ValidatedFiles(registry_path, "2026-09"))  # files just written
    again = check_raw_files(raw_dir, None, ValidatedFiles(registry_path, "2026-09"))
    assert len(again.files) == 7  # same second as the validation: not trusted


def test_an_unreadable_registry_means_every_file_is_checked(raw_dir: Path, tmp_path: Path):
    registry_path = tmp_path / "validated.json"
    registry_path.write_text("{not json")
    result = check_raw_files(raw_dir, None, ValidatedFiles(registry_path, "2026-09"))
    assert len(result.files) == 7
