"""The apology and re-appointment slip (Phiếu xin lỗi và hẹn lại ngày trả kết quả, mẫu 04, Circular 01/2018/TT-VPCP)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime

from postal.documents.layout import (
    FONT_FAMILY,
    PrintedDocument,
    day_text,
    hours_minutes_day,
    official_heading,
    place_and_day,
)


@dataclass(frozen=True)
class ApologySlip:
    """What the apology and re-appointment slip (mẫu 04) prints; names in normal case, headers upper-case them."""

    province_body: str
    unit_name: str
    place: str
    number: str | None
    issued_on: date
    applicant_name: str
    applicant_address: str | None
    dossier_code: str
    procedure: str
    received_at: datetime
    due_at: datetime
    new_due: date
    reason: str
    signer: str | None = None


def render_apology_slip(slip: ApologySlip, *, font_dir: str | os.PathLike[str] | None = None) -> bytes:
    """Render the apology and re-appointment slip (mẫu 04, Circular 01/2018/TT-VPCP) as an A4 PDF."""
    pdf = PrintedDocument(
        f"Phiếu xin lỗi và hẹn lại ngày trả kết quả – {slip.dossier_code}",
        font_dir=font_dir,
        margins=(30, 15, 15, 20),
        page_numbers=False,
    )
    pdf.add_page()
    _slip_heading(pdf, slip)
    pdf.ln(12)
    pdf.paragraph("PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ", style="B", size=14, align="C", height=7)
    pdf.ln(4)
    _addressee(pdf, slip.applicant_name)
    pdf.ln(4)
    _slip_body(pdf, slip)
    _slip_signature(pdf, slip)
    return pdf.output_bytes()


def _slip_heading(pdf: PrintedDocument, slip: ApologySlip) -> None:
    """Print the issuing body and the national heading, then the slip's number and its place and date."""
    left_w = 75
    right_w = pdf.epw - left_w
    right_x = pdf.l_margin + left_w
    bottom = official_heading(pdf, slip.province_body, slip.unit_name, "Mẫu số 04", left_w=left_w)

    # "Số" and the place and date share one row under both headings, as on the form.
    row = bottom + 4
    number = slip.number or "......"
    number = number if "/" in number else f"{number}/PXL"
    pdf.set_xy(pdf.l_margin, row)
    pdf.set_font(FONT_FAMILY, "", 11)
    pdf.cell(left_w, 6, f"Số: {number}", align="C")
    pdf.set_xy(right_x, row)
    pdf.set_font(FONT_FAMILY, "I", 11)
    pdf.cell(right_w, 6, place_and_day(slip.place, slip.issued_on), align="C", new_x="LMARGIN", new_y="NEXT")


def _addressee(pdf: PrintedDocument, name: str) -> None:
    """Print 'Kính gửi: <name>' centred, the name in bold, wrapping from the margin when too long."""
    pdf.set_font(FONT_FAMILY, "", 12)
    label_w = pdf.get_string_width("Kính gửi: ")
    pdf.set_font(FONT_FAMILY, "B", 12)
    width = label_w + pdf.get_string_width(name)
    indent = max(0.0, (pdf.epw - width) / 2)
    pdf.runs([("", "Kính gửi: "), ("B", name)], size=12, height=7, indent=indent if width < pdf.epw else 0)


def _slip_body(pdf: PrintedDocument, slip: ApologySlip) -> None:
    """Print the dossier's facts, the reason, the apology and the new appointment date."""
    indent = 10
    size = 11.5
    height = 7
    unit = slip.unit_name
    pdf.runs([("", f"{unit} tiếp nhận hồ sơ của Ông/Bà: "), ("B", slip.applicant_name)], size=size, height=height, indent=indent)
    if slip.applicant_address:
        pdf.runs([("", "Địa chỉ: "), ("", slip.applicant_address)], size=size, height=height, indent=indent)
    pdf.runs([("", "Mã hồ sơ: "), ("B", slip.dossier_code)], size=size, height=height, indent=indent)
    pdf.runs([("", "Thủ tục hành chính: "), ("", slip.procedure)], size=size, height=height, indent=indent)
    pdf.runs(
        [("", "Thời gian nhận hồ sơ: "), ("", hours_minutes_day(slip.received_at) + ".")],
        size=size, height=height, indent=indent,
    )
    pdf.runs(
        [("", "Thời gian hẹn trả kết quả: "), ("", hours_minutes_day(slip.due_at) + ".")],
        size=size, height=height, indent=indent,
    )
    pdf.runs(
        [("", f"Tuy nhiên đến nay, {unit} chưa trả được kết quả giải quyết hồ sơ cho Ông/Bà đúng hạn đã hẹn.")],
        size=size, height=height, indent=indent,
    )
    pdf.runs([("", "Lý do: "), ("", slip.reason)], size=size, height=height, indent=indent)
    pdf.runs(
        [
            ("", f"{unit} xin lỗi Ông/Bà vì sự chậm trễ này và hẹn lại ngày trả kết quả vào ngày "),
            ("B", day_text(slip.new_due)),
            ("", "."),
        ],
        size=size, height=height, indent=indent,
    )
    pdf.runs([("", "Mong nhận được sự thông cảm của Ông/Bà. Trân trọng!")], size=size, height=height, indent=indent)


def _slip_signature(pdf: PrintedDocument, slip: ApologySlip) -> None:
    """Print the head of the unit's signature block on the right half."""
    pdf.ln(6)
    pdf.ensure_space(45)
    half = pdf.epw / 2
    x = pdf.l_margin + half
    pdf.set_x(x)
    pdf.set_font(FONT_FAMILY, "B", 11)
    pdf.cell(half, 6, "NGƯỜI ĐỨNG ĐẦU CƠ QUAN", align="C", new_x="LEFT", new_y="NEXT")
    pdf.set_font(FONT_FAMILY, "I", 10)
    pdf.cell(half, 5, "(Ký, ghi rõ họ tên và đóng dấu)", align="C", new_x="LEFT", new_y="NEXT")
    if slip.signer:
        pdf.ln(24)
        pdf.set_x(x)
        pdf.set_font(FONT_FAMILY, "B", 11)
        pdf.cell(half, 6, slip.signer, align="C", new_x="LMARGIN", new_y="NEXT")
