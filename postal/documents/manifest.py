"""The run manifest (bảng kê chuyến thư) with the handover record (biên bản giao nhận) of each stop."""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from postal.clock import local
from postal.documents.layout import (
    FONT_FAMILY,
    HEADING_FILL,
    PrintedDocument,
    clock_on,
    day_text,
    distance_text,
    signature_boxes,
)


@dataclass(frozen=True)
class ManifestParcel:
    """One parcel (bì hồ sơ) listed to drop or pick at a stop."""

    code: str
    dossier_code: str
    procedure: str
    destination: str


@dataclass(frozen=True)
class HandoverLine:
    """One parcel handed over at a stop, filled from its scan when that happened."""

    parcel_code: str
    dossier_code: str
    action: str  # "giao" (courier → site) or "nhận" (site → courier)
    at: datetime | None = None
    by: str | None = None
    to: str | None = None


@dataclass(frozen=True)
class ManifestStop:
    """One stop (điểm dừng) of a run with what to drop, what to pick and what was handed over."""

    seq: int
    site_name: str
    planned_at: datetime
    drop: Sequence[ManifestParcel] = ()
    pick: Sequence[ManifestParcel] = ()
    handovers: Sequence[HandoverLine] = ()
    site_address: str | None = None
    arrived_at: datetime | None = None
    departed_at: datetime | None = None


@dataclass(frozen=True)
class Manifest:
    """The run manifest (bảng kê) as printed for the courier."""

    run_name: str
    run_ref: str
    run_date: date
    departs_at: datetime
    courier: str | None
    distance_km: float | None
    qr_payload: str
    stops: Sequence[ManifestStop]
    vehicle: str | None = None
    post_office: str | None = None


_PARCEL_HEADINGS = ("STT", "Mã bì", "Mã hồ sơ", "Thủ tục", "Nơi đến")
_PARCEL_WIDTHS = (9, 27, 44, 60, 40)
_PARCEL_ALIGNS = ("CENTER", "LEFT", "LEFT", "LEFT", "LEFT")
_HANDOVER_HEADINGS = ("STT", "Mã bì", "Mã hồ sơ", "Giao/Nhận", "Thời gian quét", "Người giao", "Người nhận")
_HANDOVER_WIDTHS = (9, 27, 44, 19, 19, 31, 31)
_HANDOVER_ALIGNS = ("CENTER", "LEFT", "LEFT", "CENTER", "CENTER", "LEFT", "LEFT")
_QR_SIZE = 30


def render_manifest(manifest: Manifest, *, font_dir: str | os.PathLike[str] | None = None) -> bytes:
    """Render a run's manifest (bảng kê) with the handover record (biên bản giao nhận) of each stop as an A4 PDF."""
    day = day_text(manifest.run_date)
    pdf = PrintedDocument(
        f"Bảng kê chuyến thư – {manifest.run_name} – {day}",
        font_dir=font_dir,
        running_head=f"Bảng kê chuyến thư – {manifest.run_name} – ngày {day} – {manifest.run_ref}",
    )
    pdf.add_page()
    _manifest_heading(pdf, manifest)
    for stop in manifest.stops:
        _stop_section(pdf, manifest, stop)
    return pdf.output_bytes()


def _manifest_heading(pdf: PrintedDocument, manifest: Manifest) -> None:
    """Print the run's particulars on the left and its QR code with the run reference on the right."""
    top = pdf.get_y()
    qr_x = pdf.w - pdf.r_margin - _QR_SIZE
    pdf.draw_qr(manifest.qr_payload, qr_x, top, _QR_SIZE)
    # The reference keeps the quiet zone (4 modules, about 4 mm) clear so that scanners still find the code's edge.
    pdf.set_xy(qr_x - 5, top + _QR_SIZE + 4)
    pdf.set_font(FONT_FAMILY, "B", 8)
    pdf.cell(_QR_SIZE + 10, 4, manifest.run_ref, align="C")
    qr_bottom = top + _QR_SIZE + 8

    text_w = pdf.epw - _QR_SIZE - 6
    pdf.set_xy(pdf.l_margin, top)
    if manifest.post_office:
        pdf.paragraph(manifest.post_office.upper(), style="B", size=10, height=5, width=text_w)
        pdf.ln(1)
    pdf.paragraph(f"BẢNG KÊ CHUYẾN THƯ – {manifest.run_name}", style="B", size=15, height=7.5, width=text_w)
    pdf.ln(1.5)
    departs = local(manifest.departs_at)
    particulars = [
        ("Ngày chạy: ", day_text(manifest.run_date), "Khởi hành: ", clock_on(departs, manifest.run_date)),
        ("Bưu tá: ", manifest.courier or "chưa phân công", "Quãng đường: ", distance_text(manifest.distance_km)),
    ]
    if manifest.vehicle:
        particulars.append(("Phương tiện: ", manifest.vehicle, "", ""))
    drops = sum(len(stop.drop) for stop in manifest.stops)
    picks = sum(len(stop.pick) for stop in manifest.stops)
    particulars.append(("Số điểm dừng: ", str(len(manifest.stops)), "Tổng số bì: ", f"giao {drops}, nhận {picks}"))
    column = text_w * 0.55
    for label, value, second_label, second_value in particulars:
        y = pdf.get_y()
        _label_value(pdf, pdf.l_margin, y, column, label, value)
        if second_label:
            _label_value(pdf, pdf.l_margin + column, y, text_w - column, second_label, second_value)
        pdf.set_xy(pdf.l_margin, y + 6)

    pdf.set_y(max(pdf.get_y(), qr_bottom) + 2)
    pdf.set_line_width(0.4)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.set_line_width(0.2)
    pdf.ln(4)


def _label_value(pdf: PrintedDocument, x: float, y: float, width: float, label: str, value: str) -> None:
    """Print 'label value' in one cell of `width` mm, the value in bold."""
    pdf.set_xy(x, y)
    pdf.set_font(FONT_FAMILY, "", 10)
    label_w = pdf.get_string_width(label)
    pdf.cell(label_w, 6, label)
    pdf.set_font(FONT_FAMILY, "B", 10)
    pdf.cell(width - label_w, 6, value)


def _stop_section(pdf: PrintedDocument, manifest: Manifest, stop: ManifestStop) -> None:
    """Print one stop: its header, the parcels to drop and to pick, and its handover record."""
    empty = not stop.drop and not stop.pick and not stop.handovers
    pdf.ensure_space(24 if empty else 40)
    pdf.ln(2)
    pdf.set_font(FONT_FAMILY, "B", 12)
    pdf.set_fill_color(*HEADING_FILL)
    pdf.multi_cell(0, 8, f"Điểm {stop.seq}: {stop.site_name}", fill=True, padding=(0, 2), new_x="LMARGIN", new_y="NEXT")
    times = [("", "Dự kiến đến: "), ("B", clock_on(stop.planned_at, manifest.run_date))]
    if stop.arrived_at:
        times += [("", "     Đến thực tế: "), ("B", clock_on(stop.arrived_at, manifest.run_date))]
    if stop.departed_at:
        times += [("", "     Rời điểm: "), ("B", clock_on(stop.departed_at, manifest.run_date))]
    pdf.runs(times, size=10, height=6)
    if stop.site_address:
        pdf.paragraph(f"Địa chỉ: {stop.site_address}", size=9, height=5)

    if empty:
        pdf.paragraph("Không có bì hồ sơ.", style="I", size=10, height=6)
        pdf.ln(3)
        return
    _parcel_list(pdf, f"Giao tại điểm này ({len(stop.drop)} bì)", stop.drop)
    _parcel_list(pdf, f"Nhận tại điểm này ({len(stop.pick)} bì)", stop.pick)
    _handover_record(pdf, manifest, stop)


def _parcel_list(pdf: PrintedDocument, caption: str, parcels: Sequence[ManifestParcel]) -> None:
    """Print a caption and the table of its parcels, or say there are none."""
    # Caption, heading and the first rows go together (a short list whole): a caption alone at a page foot reads as empty.
    pdf.ensure_space(16 + 14 * min(len(parcels), 4) if parcels else 12)
    pdf.paragraph(caption, style="B", size=10.5, height=7)
    if not parcels:
        pdf.paragraph("Không có bì hồ sơ.", style="I", size=9.5, height=5)
        pdf.ln(1)
        return
    rows = [
        (str(index), parcel.code, parcel.dossier_code, parcel.procedure, parcel.destination)
        for index, parcel in enumerate(parcels, start=1)
    ]
    pdf.table_of(_PARCEL_HEADINGS, rows, col_widths=_PARCEL_WIDTHS, aligns=_PARCEL_ALIGNS)


def _handover_record(pdf: PrintedDocument, manifest: Manifest, stop: ManifestStop) -> None:
    """Print the stop's handover record (biên bản giao nhận): the scanned handoffs and two signature boxes."""
    # Keep the title with the first rows, or with the signature boxes when nothing was scanned.
    pdf.ensure_space(45 if stop.handovers else 70)
    pdf.ln(2)
    pdf.paragraph("BIÊN BẢN GIAO NHẬN", style="B", size=11.5, align="C", height=6.5)
    pdf.paragraph(
        f"Điểm {stop.seq}: {stop.site_name} – ngày {day_text(manifest.run_date)}",
        style="I", size=9, align="C", height=5,
    )
    pdf.ln(1)
    given = sum(1 for line in stop.handovers if line.at and _is_drop(line))
    taken = sum(1 for line in stop.handovers if line.at and not _is_drop(line))
    pdf.paragraph(
        f"Bưu tá và đại diện {stop.site_name} giao nhận các bì hồ sơ dưới đây; thời gian theo lượt quét mã QR.",
        size=9.5, height=5,
    )
    pdf.runs(
        [
            ("", "Đã giao: "), ("B", f"{given}/{len(stop.drop)}"), ("", " bì     Đã nhận: "),
            ("B", f"{taken}/{len(stop.pick)}"), ("", " bì"),
        ],
        size=9.5, height=5,
    )
    pdf.ln(1)
    if stop.handovers:
        rows = [
            (
                str(index),
                line.parcel_code,
                line.dossier_code,
                line.action.capitalize(),
                clock_on(line.at, manifest.run_date) if line.at else "",
                line.by or "",
                line.to or "",
            )
            for index, line in enumerate(stop.handovers, start=1)
        ]
        pdf.table_of(_HANDOVER_HEADINGS, rows, col_widths=_HANDOVER_WIDTHS, aligns=_HANDOVER_ALIGNS)
    else:
        pdf.paragraph("Chưa có lượt quét giao nhận nào tại điểm này.", style="I", size=9.5, height=5)
        pdf.ln(1)
    _handover_signatures(pdf, manifest, stop)


def _is_drop(line: HandoverLine) -> bool:
    """Tell whether the courier handed this parcel to the site (giao) rather than took it (nhận)."""
    return unicodedata.normalize("NFC", line.action).strip().lower() == "giao"


def _handover_signatures(pdf: PrintedDocument, manifest: Manifest, stop: ManifestStop) -> None:
    """Print the courier's and the receiver's signature boxes, names and the last scan's time filled when known."""
    courier = manifest.courier or _first(line.by for line in stop.handovers if _is_drop(line))
    receivers = _distinct(
        [line.to for line in stop.handovers if _is_drop(line)] + [line.by for line in stop.handovers if not _is_drop(line)]
    )
    scanned = [line.at for line in stop.handovers if line.at]
    when = clock_on(max(scanned, key=local), None) if scanned else None
    signature_boxes(pdf, (("Bên giao (bưu tá)", courier), ("Bên nhận", receivers)), when)


def _first(names: Iterable[str | None]) -> str | None:
    """Return the first non-empty name."""
    return next((name for name in names if name), None)


def _distinct(names: Sequence[str | None]) -> str | None:
    """Join the distinct non-empty names in order of first appearance."""
    seen = list(dict.fromkeys(name for name in names if name))
    return ", ".join(seen) or None
