"""Reports as downloads: CSV for any tool, XLSX for Excel (the agency report, the fee statement)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from postal.reports.figures import AgencyFigures, AgencyReportOut


# A text a spreadsheet would read as a formula (CSV injection): neutralised with a leading apostrophe in CSV,
# and written as a string cell, never a formula, in XLSX.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutral(value):
    """A cell's value as a spreadsheet may open it: numbers as they are, risky text made plain text."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


# The report's columns, in the order of the circular's report on dossiers decided: received; decided before,
# on and after the appointment; still being decided in time and late; then the carrying figures.
FIELDS = ("agency", "agency_name", "received", "returned", "early", "on_due_day", "late", "on_time_pct",
          "pending_in_time", "pending_late", "late_again", "transfers", "lost", "median_transit_min")
DECIMALS = {"on_time_pct": "0.00", "median_transit_min": "0.0"}


def figures_row(a: AgencyFigures) -> list:
    return [getattr(a, name) for name in FIELDS]


def report_rows(report: AgencyReportOut, total_label: str) -> list[list]:
    total = figures_row(report.total)
    total[1] = total_label
    return [figures_row(a) for a in report.agencies] + [total]


def agencies_csv(report: AgencyReportOut, headers: Sequence[str], *, total_label: str) -> bytes:
    return table_csv(headers, report_rows(report, total_label))


def agencies_xlsx(report: AgencyReportOut, headers: Sequence[str], *, title: str, total_label: str,
                  heading: str = "") -> bytes:
    formats = {FIELDS.index(name): number_format for name, number_format in DECIMALS.items()}
    return table_xlsx(headers, report_rows(report, total_label), title=title, heading=heading, formats=formats,
                      bold_rows={len(report.agencies)}, freeze="C3")


def table_csv(headers: Sequence[str], rows: Sequence[Sequence]) -> bytes:
    """CSV in UTF-8 with a byte-order mark, so that Excel shows the Vietnamese names."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow(["" if v is None else neutral(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def table_xlsx(headers: Sequence[str], rows: Sequence[Sequence], *, title: str, heading: str = "",
               formats: dict[int, str] | None = None, bold_rows: set[int] = frozenset(), freeze: str = "A3") -> bytes:
    """One sheet as supervisors file it: a title row (the unit and the period), a bold header row, the rows (those
    of `bold_rows`, by index, in bold: totals); numbers as numbers, every text a string cell (never a formula);
    columns fit their text."""
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]  # Excel's limit for a sheet name
    sheet.append([heading or title])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append(list(headers))
    for row in rows:
        sheet.append(list(row))
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # openpyxl would store "=…" as a formula
    bold = Font(bold=True)
    for cell in sheet[2]:
        cell.font = bold
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for index in bold_rows:
        for cell in sheet[index + 3]:
            cell.font = bold
    for column, number_format in (formats or {}).items():
        for row in sheet.iter_rows(min_row=3, min_col=column + 1, max_col=column + 1):
            row[0].number_format = number_format
    for i, header in enumerate(headers, start=1):
        longest = max([len(str(r[i - 1])) for r in rows if r[i - 1] is not None] + [min(len(header), 18), 6])
        sheet.column_dimensions[get_column_letter(i)].width = min(longest + 2, 60)
    sheet.freeze_panes = freeze
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
