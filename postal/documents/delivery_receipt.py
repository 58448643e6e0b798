"""The receipt a courier leaves at the door (Biên nhận giao kết quả tận nhà): who took the result, when, and what
was collected line by line; on half an A4 sheet (A5)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime

from postal.documents.layout import PrintedDocument, hours_minutes_day, two_signatures

TRANSFER, CASH = "transfer", "cash"
METHODS = {CASH: "Tiền mặt", TRANSFER: "Chuyển khoản"}


@dataclass(frozen=True)
class DeliveryReceipt:
    """What the receipt prints: names in normal case, amounts in đồng."""

    post_office: str
    dossier_code: str
    parcel_code: str
    procedure: str
    recipient: str
    delivered_at: datetime
    courier: str  # the courier's full name
    delivery_fee_vnd: int
    procedure_fee_vnd: int
    received_vnd: int
    method: str | None  # cash | transfer; None when nothing was collected
    reference: str | None


def vnd(amount: int) -> str:
    """26000 → 26.000 đ."""
    return f"{amount:,}".replace(",", ".") + " đ"


def render_delivery_receipt(receipt: DeliveryReceipt, *, font_dir: str | os.PathLike[str] | None = None) -> bytes:
    """The receipt as an A5 PDF."""
    pdf = PrintedDocument(f"Biên nhận giao kết quả tận nhà – {receipt.dossier_code}", font_dir=font_dir,
                          margins=(15, 12, 12, 12), page_numbers=False)
    pdf.add_page(format=(148, 210))  # A5, in millimetres
    pdf.paragraph(receipt.post_office.upper(), style="B", size=10, align="C", height=5)
    pdf.ln(3)
    pdf.paragraph("BIÊN NHẬN GIAO KẾT QUẢ TẬN NHÀ", style="B", size=13, align="C", height=7)
    pdf.ln(2)
    line = lambda *parts: pdf.runs(list(parts), size=10.5, height=6)  # noqa: E731
    line(("", "Mã hồ sơ: "), ("B", receipt.dossier_code), ("", f"   Mã bì: {receipt.parcel_code}"))
    line(("", "Thủ tục: "), ("", receipt.procedure))
    line(("", "Người nhận: "), ("B", receipt.recipient))
    line(("", "Thời gian giao: "), ("", hours_minutes_day(receipt.delivered_at)))
    line(("", "Bưu tá giao: "), ("", receipt.courier))
    pdf.ln(2)
    _amounts(pdf, receipt)
    _signatures(pdf, receipt)
    return pdf.output_bytes()


def _amounts(pdf: PrintedDocument, receipt: DeliveryReceipt) -> None:
    """What was collected, line by line, or that nothing was."""
    pdf.paragraph("Số tiền phải thu và đã thu", style="B", size=10.5, height=6)
    due = receipt.delivery_fee_vnd + receipt.procedure_fee_vnd
    if not receipt.received_vnd and not due:
        pdf.paragraph("Không thu", size=10.5, height=6)
        return
    rows = []
    if receipt.delivery_fee_vnd:
        rows.append(["Phí giao kết quả tận nhà", vnd(receipt.delivery_fee_vnd)])
    if receipt.procedure_fee_vnd:
        rows.append(["Phí, lệ phí thu hộ cơ quan giải quyết", vnd(receipt.procedure_fee_vnd)])
    rows.append(["Tổng số phải thu", vnd(due)])  # the lines add up to it
    rows.append(["Số tiền đã thu", vnd(receipt.received_vnd)])
    if receipt.received_vnd != due:  # said on the paper the citizen keeps, not left for them to add up
        rows.append(["Chênh lệch (đã thu − phải thu)", vnd(receipt.received_vnd - due)])
    pdf.table_of(["Khoản thu", "Số tiền"], rows, col_widths=(65, 35), aligns=("LEFT", "RIGHT"), size=10)
    method = METHODS.get(receipt.method or "", "—")
    if receipt.method == TRANSFER and receipt.reference:
        method += f" (mã giao dịch {receipt.reference})"
    pdf.runs([("", "Hình thức thu: "), ("", method)], size=10.5, height=6)


def _signatures(pdf: PrintedDocument, receipt: DeliveryReceipt) -> None:
    two_signatures(pdf, (("NGƯỜI NHẬN", receipt.recipient), ("BƯU TÁ", receipt.courier)), size=10, room=24)
