"""Bad input that the catalogue (docs/robustness.md) lists and the other test files do not
already cover: each ends in a clear error naming file, column and line, or is accepted."""

from __future__ import annotations

from pathlib import Path

import pytest

from recon import cli
from recon.validate import RawFilesInvalid, check_raw_files


@pytest.fixture
def raw_dir(small_dataset, tmp_path: Path) -> Path:
    raw, _ = small_dataset(tmp_path)
    return raw


def _critical(raw: Path) -> RawFilesInvalid:
    with pytest.raises(RawFilesInvalid) as raised:
        check_raw_files(raw, None)
    return raised.value


def test_empty_file_is_critical(raw_dir: Path):
    (raw_dir / "crm_providers.csv").write_bytes(b"")
    error = _critical(raw_dir)
    assert [(f.check, f.file) for f in error.findings] == [("EMPTY_FILE", "crm_providers.csv")]
    assert "crm_providers.csv: no header row" in str(error)


def test_header_only_drop_is_accepted_with_no_rows(raw_dir: Path):
    header = (raw_dir / "ops_intake_log_2026_10.csv").read_text(encoding="utf-8").splitlines()[0]
    (raw_dir / "ops_intake_log_2026_11.csv").write_text(header + "\n", encoding="utf-8")
    result = check_raw_files(raw_dir, None)
    assert "ops_intake_log_2026_11.csv" in result.files
    assert result.rows["ops_intake_log"] == 9  # the other drops' rows, none added


def test_wrong_delimiter_names_the_file_and_the_missing_columns(raw_dir: Path):
    path = raw_dir / "billing_invoice_lines_2026_10.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",", ";"), encoding="utf-8")
    error = _critical(raw_dir)
    missing = {f.column for f in error.findings if f.check == "MISSING_COLUMN"}
    assert "invoice_line_id" in missing and "billed_quantity" in missing
    assert all(f.file == path.name for f in error.findings)
    assert f"{path.name}, column invoice_line_id: required column" in str(error)


def test_extra_and_reordered_columns_are_accepted(raw_dir: Path):
    path = raw_dir / "crm_accounts.csv"
    header, *rows = [line.split(",") for line in path.read_text().splitlines()]
    if len(header) != 6 or any(len(row) != 6 for row in rows):  # a quoted comma in a name
        rows = [row for row in rows if len(row) == 6]
    order = [5, 4, 3, 2, 1, 0]
    text = "\n".join(",".join([*(r[i] for i in order), "x"]) for r in [header, *rows])
    path.write_text(text.replace(",x", ",notes", 1) + "\n", encoding="utf-8")
    result = check_raw_files(raw_dir, None)
    assert result.rows["crm_accounts"] == len(rows)


def test_long_values_are_kept_and_huge_ones_are_critical(raw_dir: Path):
    path = raw_dir / "crm_accounts.csv"
    long_name = "Long Clinic " + "x" * 20_000
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"A9,{long_name},active,2025-01-01,B-900,2026-01-01\n")
    assert check_raw_files(raw_dir, None).rows["crm_accounts"] == 7
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"A10,{'y' * 200_000},active,2025-01-01,B-901,2026-01-01\n")
    error = _critical(raw_dir)
    assert "crm_accounts.csv, line 9: not valid CSV (field larger than field limit" in str(error)


def test_recon_run_on_a_bad_file_prints_the_error_without_a_traceback(
    prefect_harness, copy_of_month_one: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys
):
    for name, value in copy_of_month_one.items():
        monkeypatch.setenv(name, value)
    broken = Path(copy_of_month_one["RECON_RAW_DIR"]) / "ops_intake_log_2026_10.csv"
    with broken.open("ab") as handle:
        handle.write(b'E99,2026-10-09,"Acme Health,A1\n')
    code = cli.main(["run", "--month", "2026-10"])
    captured = capsys.readouterr()
    assert code == 2
    assert "ops_intake_log_2026_10.csv, line 3: not valid CSV" in captured.err
    assert "Traceback" not in captured.err + captured.out


def test_a_bad_month_argument_is_a_one_line_error(capsys):
    code = cli.main(["run", "--month", "October"])
    err = capsys.readouterr().err
    assert code == 2 and "billing_month must be 'YYYY-MM'" in err and "Traceback" not in err


# ------------------------------------------------------- the same files through plain dbt
# `dbt build` without the flow's checks: the RAW layer's own ingestion (macros/raw_files.sql)
# must stop naming the file, never read a bad file as something else.
def _dbt_build(raw: Path, seeds: Path, tmp_path: Path):
    from dbt_helpers import settings_for

    from recon.dbt import PRODUCTION_BUILD_ARGS, run_dbt

    settings = settings_for(raw, seeds, tmp_path / "plain.duckdb")
    return settings, run_dbt("build", settings, "2026-10", *PRODUCTION_BUILD_ARGS)


def test_plain_dbt_stops_on_an_empty_file_naming_it(small_dataset, tmp_path: Path):
    raw, seeds = small_dataset(tmp_path)
    (raw / "ops_intake_log_2026_11.csv").write_bytes(b"")
    _, result = _dbt_build(raw, seeds, tmp_path)
    assert not result.success
    assert "raw file ops_intake_log_2026_11.csv is empty" in "\n".join(result.failures)


def test_plain_dbt_stops_on_a_wrong_delimiter_naming_file_and_columns(
    small_dataset, tmp_path: Path
):
    raw, seeds = small_dataset(tmp_path)
    path = raw / "billing_invoice_lines_2026_10.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",", ";"), encoding="utf-8")
    _, result = _dbt_build(raw, seeds, tmp_path)
    message = "\n".join(result.failures)
    assert not result.success
    assert "raw file billing_invoice_lines_2026_10.csv lacks the column(s) invoice_id," in message


def test_plain_dbt_matches_header_names_trimmed_and_in_any_case(small_dataset, tmp_path: Path):
    from dbt_helpers import query

    raw, seeds = small_dataset(tmp_path)
    path = raw / "ops_intake_log_2026_10.csv"
    header, rest = path.read_text(encoding="utf-8").split("\n", 1)
    path.write_text(header.replace("npi", " NPI ") + "\n" + rest, encoding="utf-8")
    settings, result = _dbt_build(raw, seeds, tmp_path)
    assert result.success, "\n".join(result.failures)
    npis = query(
        settings.duckdb_path,
        "select count(npi) from raw.ops_intake_log where _file_name = 'ops_intake_log_2026_10.csv'",
    )
    assert npis[0][0] > 0
