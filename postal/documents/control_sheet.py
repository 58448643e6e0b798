"""The control sheet (Phiếu kiểm soát quá trình giải quyết hồ sơ, mẫu 05, Circular 01/2018/TT-VPCP) of a dossier."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from postal.documents.layout import FONT_FAMILY, PrintedDocument, clock_on, hours_minutes_day, official_heading


@dataclass(frozen=True)
class SheetLine:
    """One handoff of the dossier: "Giao:" and "Nhận:" (units and full names), when, and how it stood."""

    giver: str
    receiver: str
    at: datetime
    result: str  # Trước hạn / Đúng hạn / Quá hạn
    notes: str


@dataclass(frozen=True)
class ControlSheetPaper:
    """What the control sheet (mẫu 05) prints; names in normal case, headers upper-case them."""

    province_body: str
    unit_name: str
    dossier_code: str
    procedure: str
    applicant_name: str
    agency_name: str
    received_at: datetime
    due_at: datetime
    lines: Sequence[SheetLine]
    printed_at: datetime
    printed_by: str | None = None  # full name


_HEADINGS = ("TÊN CƠ QUAN", "THỜI GIAN GIAO, NHẬN HỒ SƠ", "NGƯỜI GIAO (ký)", "NGƯỜI NHẬN (ký)",
             "KẾT QUẢ GIẢI QUYẾT HỒ SƠ (Trước hạn/ đúng hạn/ quá hạn)", "GHI CHÚ")
_WIDTHS = (56, 27, 21, 21, 22, 33)
_ALIGNS = ("LEFT", "CENTER", "CENTER", "CENTER", "CENTER", "LEFT")
_SIGN_HEIGHT = 18  # room for two signatures in a row


def render_control_sheet(paper: ControlSheetPaper, *, font_dir: str | os.PathLike[str] | None = None) -> bytes:
    """Render a dossier's control sheet (mẫu 05) as an A4 PDF: heading, the dossier, one row per handoff."""
    title = f"Phiếu kiểm soát quá trình giải quyết hồ sơ – {paper.dossier_code}"
    pdf = PrintedDocument(title, font_dir=font_dir, margins=(15, 15, 15, 18), running_head=title)
    pdf.add_page()
    bottom = official_heading(pdf, paper.province_body, paper.unit_name, "Mẫu số 05", left_w=80)
    pdf.set_xy(pdf.l_margin, bottom + 8)
    pdf.paragraph("PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ", style="B", size=14, align="C", height=7)
    pdf.ln(3)
    _particulars(pdf, paper)
    pdf.ln(2)
    rows = [
        (f"{index}. Giao: {line.giver}\nNhận: {line.receiver}", hours_minutes_day(line.at).replace(", ", ",\n"), "", "",
         line.result, line.notes)
        for index, line in enumerate(paper.lines, start=1)
    ]
    if rows:
        pdf.table_of(_HEADINGS, rows, col_widths=_WIDTHS, aligns=_ALIGNS, min_row_height=_SIGN_HEIGHT)
    else:
        pdf.paragraph("Hồ sơ chưa có lần giao nhận nào.", style="I", size=10, height=6)
    printed = f"In lúc {clock_on(paper.printed_at)}"
    pdf.paragraph(f"{printed} – người in: {paper.printed_by}" if paper.printed_by else printed,
                  style="I", size=8, height=5)
    return pdf.output_bytes()


def _particulars(pdf: PrintedDocument, paper: ControlSheetPaper) -> None:
    """Print the dossier's code, procedure, applicant, receipt and appointment, and the deciding agency."""
    for label, value, style in (
        ("Mã hồ sơ: ", paper.dossier_code, "B"),
        ("Thủ tục hành chính: ", paper.procedure, ""),
        ("Người nộp hồ sơ: ", paper.applicant_name, "B"),
        ("Thời gian tiếp nhận hồ sơ: ", hours_minutes_day(paper.received_at), ""),
        ("Thời gian hẹn trả kết quả: ", hours_minutes_day(paper.due_at), "B"),
        ("Cơ quan (bộ phận) giải quyết hồ sơ: ", paper.agency_name, ""),
    ):
        pdf.runs([("", label), (style, value)], size=10.5, height=6)
    pdf.set_font(FONT_FAMILY, "", 10)
