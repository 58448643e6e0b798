"""The receipt and appointment slip (Giấy tiếp nhận hồ sơ và hẹn trả kết quả, mẫu 01, Circular 01/2018/TT-VPCP)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime

from postal.documents.layout import (
    FONT_FAMILY,
    PrintedDocument,
    hours_minutes_day,
    official_heading,
    place_and_day,
    two_signatures,
)

QR_MM = 28


@dataclass(frozen=True)
class ReceiptSlip:
    """What the receipt (mẫu 01) prints; names in normal case, the heading upper-cases them."""

    province_body: str
    unit_name: str
    place: str
    issued_on: date
    dossier_code: str
    applicant_name: str
    applicant_address: str | None
    applicant_phone: str
    applicant_id_number: str | None
    procedure: str
    agency_name: str
    items: int | None
    processing_days: int | None
    received_at: datetime
    due_at: datetime
    due_reason: str | None
    return_method: str  # as the citizen reads it: "Tại Trung tâm …" or "Tại nhà: …"
    notes: str | None
    receiver: str  # the receiving officer's full name
    track_url: str  # what the QR carries: /track with the code


def render_receipt(slip: ReceiptSlip, *, font_dir: str | os.PathLike[str] | None = None) -> bytes:
    """Render the receipt and appointment slip (mẫu 01) as an A4 PDF."""
    pdf = PrintedDocument(f"Giấy tiếp nhận hồ sơ và hẹn trả kết quả – {slip.dossier_code}", font_dir=font_dir,
                          margins=(25, 15, 15, 18), page_numbers=False)
    draw_receipt(pdf, slip)
    return pdf.output_bytes()


def draw_receipt(pdf: PrintedDocument, slip: ReceiptSlip) -> None:
    """Print the slip on a new A4 page of `pdf` (so it can open a bundle of papers)."""
    pdf.add_page(format="A4")
    left_w = 75
    bottom = official_heading(pdf, slip.province_body, slip.unit_name, "Mẫu số 01", left_w=left_w)
    pdf.set_xy(pdf.l_margin + left_w, bottom + 4)
    pdf.set_font(FONT_FAMILY, "I", 11)
    pdf.cell(pdf.epw - left_w, 6, place_and_day(slip.place, slip.issued_on), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    qr_top = pdf.get_y()
    pdf.draw_qr(slip.track_url, pdf.w - pdf.r_margin - QR_MM, qr_top, QR_MM)
    pdf.paragraph("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", style="B", size=13.5, align="C", height=7,
                  width=pdf.epw - QR_MM - 2)
    pdf.runs([("", "Mã hồ sơ: "), ("B", slip.dossier_code)], size=12, height=7)
    pdf.set_font(FONT_FAMILY, "I", 8)
    pdf.set_xy(pdf.w - pdf.r_margin - QR_MM - 4, qr_top + QR_MM + 1)
    pdf.cell(QR_MM + 4, 4, "Tra cứu hồ sơ", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(max(pdf.get_y(), qr_top + QR_MM + 6))
    _body(pdf, slip)
    _signatures(pdf, slip)


def _body(pdf: PrintedDocument, slip: ReceiptSlip) -> None:
    size, height = 11, 6.5
    line = lambda *parts: pdf.runs(list(parts), size=size, height=height)  # noqa: E731
    line(("", f"{slip.unit_name} tiếp nhận hồ sơ của Ông/Bà: "), ("B", slip.applicant_name))
    if slip.applicant_id_number:
        line(("", "Số định danh cá nhân/CCCD: "), ("", slip.applicant_id_number))
    line(("", "Địa chỉ: "), ("", slip.applicant_address or "...................................................."))
    line(("", "Số điện thoại: "), ("", slip.applicant_phone))
    line(("", "Nội dung yêu cầu giải quyết: "), ("B", slip.procedure))
    line(("", "Cơ quan giải quyết: "), ("", slip.agency_name))
    count = f"{slip.items:02d}" if slip.items else "......"
    line(("", "1. Thành phần hồ sơ nộp gồm: theo danh mục của thủ tục; "), ("", f"số lượng: {count} (tờ/bản)."))
    days = f"{slip.processing_days} ngày làm việc" if slip.processing_days else "theo quy định"
    line(("", "2. Thời gian giải quyết hồ sơ theo quy định là: "), ("", days + "."))
    line(("", "3. Thời gian nhận hồ sơ: "), ("", hours_minutes_day(slip.received_at) + "."))
    line(("", "4. Thời gian trả kết quả giải quyết hồ sơ: "), ("B", hours_minutes_day(slip.due_at) + "."))
    if slip.due_reason:
        line(("I", "Ngày hẹn được điều chỉnh, lý do: "), ("I", slip.due_reason))
    line(("", "5. Đăng ký nhận kết quả: "), ("", slip.return_method + "."))
    if slip.notes:
        line(("", "Ghi chú: "), ("", slip.notes))
    line(("I", "Người dân tra cứu tình trạng hồ sơ bằng mã QR ở trên hoặc tại: "), ("I", slip.track_url))


def _signatures(pdf: PrintedDocument, slip: ReceiptSlip) -> None:
    """The applicant's and the receiving officer's signature blocks, side by side, the officer named."""
    two_signatures(pdf, (("NGƯỜI NỘP HỒ SƠ", slip.applicant_name), ("NGƯỜI TIẾP NHẬN HỒ SƠ", slip.receiver)))
