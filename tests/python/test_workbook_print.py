"""The workbook as a controller prints it: the month's workbook (conftest.reconciled_month)
converted to PDF once by Debian's LibreOffice Calc, headless (`make office`), with its own
profile folder so that parallel runs do not share one; pages read with poppler's pdftotext.

Every page carries "Sheet: <name>" in its header and footer (recon/export.py), which tells
which sheet a page belongs to.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
PDFTOTEXT = shutil.which("pdftotext")
CHART_TITLE = "Billing match rate and mis-billed dollars by month"


@dataclass(frozen=True)
class PrintedWorkbook:
    pdf: Path
    pages: list[str]  # the text of each page, in order

    def pages_of(self, sheet: str) -> list[int]:
        """1-based numbers of the pages of `sheet`."""
        return [number for number, text in enumerate(self.pages, 1) if f"Sheet: {sheet}\n" in text]


@pytest.fixture(scope="module")
def printed(reconciled_month, tmp_path_factory: pytest.TempPathFactory) -> PrintedWorkbook:
    assert SOFFICE and PDFTOTEXT, (
        "LibreOffice or poppler-utils is missing: `make office` installs Debian's "
        "libreoffice-calc and poppler-utils"
    )
    folder = tmp_path_factory.mktemp("printed")
    workbook = folder / "reconciliation.xlsx"
    shutil.copy2(reconciled_month.result["report_xlsx"], workbook)
    subprocess.run(
        [
            SOFFICE,
            f"-env:UserInstallation=file://{folder / 'profile'}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(folder),
            str(workbook),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    pdf = folder / "reconciliation.pdf"
    text = subprocess.run(
        [PDFTOTEXT, "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    pages = text.split("\f")
    if pages and not pages[-1].strip():
        pages.pop()
    return PrintedWorkbook(pdf, pages)


def test_every_sheet_prints_in_order_and_the_chart_on_one_page(printed: PrintedWorkbook):
    from recon.export import SHEETS

    first_pages = []
    for sheet in SHEETS:
        pages = printed.pages_of(sheet)
        assert pages, f"sheet {sheet} printed no page"
        assert pages == list(range(pages[0], pages[-1] + 1)), sheet
        first_pages.append(pages[0])
    assert first_pages == sorted(first_pages)
    assert sum(len(printed.pages_of(sheet)) for sheet in SHEETS) == len(printed.pages)
    # the small month fits a page per sheet, fitted to the width (no column split off)
    assert len(printed.pages) == len(SHEETS)
    (trend,) = printed.pages_of("Trend")
    assert CHART_TITLE in printed.pages[trend - 1]
    assert all(CHART_TITLE not in text for text in printed.pages[: trend - 1])


def test_the_findings_come_first_readable_and_without_quotes(printed: PrintedWorkbook):
    summary, findings = printed.pages[0], printed.pages[1]
    assert "Sheet: Summary" in summary and "Billing match rate" in summary and "50.0%" in summary
    assert "Sheet: Findings" in findings
    # the header, the largest finding first with its action and invoice status, the reason
    for header in ("Customer", "Dollar impact", "Action", "Invoice", "Reason", "New this"):
        assert header in findings, header
    lines = [line for line in findings.splitlines() if "Billing mismatch" in line]
    assert lines and "@At Health" in lines[0] and "$160.00" in lines[0], lines
    assert "Correct the invoice before it is" in findings
    assert "Billed 3 providers of EHR but 1 are billable" in findings
    assert "All products" in findings and "Missing from CRM" in findings
    # the ids are off the printed page
    assert "Finding ID" not in findings
    # names as they are spelled, never evaluated, no quote
    everything = "\n".join(printed.pages)
    for name in ("=Formula Clinic", "+Plus Clinic", "-Minus Medical", "@At Health"):
        assert name in everything, name
        assert f"'{name}" not in everything, name
