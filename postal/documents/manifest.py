"""The run manifest (bảng kê chuyến thư) with the handover record (biên bản giao nhận) of each stop."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from postal.clock import local
from postal.documents.layout import (
    FONT_FAMILY,
    HEADING_FILL,
    PrintedDocument,
    clock_on,
    day_text,
    Person,
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
    """One parcel handed over at a stop, from its scan: when, who gave it and who took it."""

    parcel_code: str
    dossier_code: str
    at: datetime
    giver: Person
    receiver: Person


@dataclass(frozen=True)
class ManifestStop:
    """One stop (điểm dừng) of a run: what to drop and to pick, and what was dropped and picked (scanned)."""

    seq: int
    site_name: str
    planned_at: datetime
    drop: Sequence[ManifestParcel] = ()
    pick: Sequence[ManifestParcel] = ()
    dropped: Sequence[HandoverLine] = ()  # the courier gave, the site took
    picked: Sequence[HandoverLine] = ()  # the site gave, the courier took
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
    courier: str | None  # full name
    distance_km: float | None
    qr_payload: str
    stops: Sequence[ManifestStop]
    vehicle: str | None = None
    post_office: str | None = None


_PARCEL_HEADINGS = ("STT", "Mã bì", "Mã hồ sơ", "Thủ tục", "Nơi đến")
_PARCEL_WIDTHS = (9, 27, 44, 60, 40)
_PARCEL_ALIGNS = ("CENTER", "LEFT", "LEFT", "LEFT", "LEFT")
_HANDOVER_HEADINGS = ("STT", "Mã bì", "Mã hồ sơ", "Thời gian quét", "Người giao", "Người nhận")
_HANDOVER_WIDTHS = (9, 27, 44, 20, 40, 40)
_HANDOVER_ALIGNS = ("CENTER", "LEFT", "LEFT", "CENTER", "LEFT", "LEFT")
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
    empty = not stop.drop and not stop.pick and not stop.dropped and not stop.picked
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
    """Print the stop's handover record (biên bản giao nhận): one part per direction, each with its own giver and
    receiver, count, time and signature boxes."""
    # Keep the title with the first part's opening lines.
    pdf.ensure_space(60)
    pdf.ln(2)
    pdf.paragraph("BIÊN BẢN GIAO NHẬN", style="B", size=11.5, align="C", height=6.5)
    pdf.paragraph(
        f"Điểm {stop.seq}: {stop.site_name} – ngày {day_text(manifest.run_date)}",
        style="I", size=9, align="C", height=5,
    )
    pdf.paragraph("Thời gian, người giao và người nhận theo lượt quét mã QR.", size=9.5, height=5)
    courier = Person(manifest.courier, "Bưu tá", manifest.post_office)
    site = Person(None, None, stop.site_name)
    parts = [
        (f"Bưu tá giao, {stop.site_name} nhận", stop.drop, stop.dropped, courier, site),
        (f"{stop.site_name} giao, bưu tá nhận", stop.pick, stop.picked, site, courier),
    ]
    number = 0
    for title, listed, scanned, giver, receiver in parts:
        if listed or scanned:
            number += 1
            _handover_part(pdf, manifest, f"Phần {number}. {title}", len(listed), scanned, giver, receiver)


def _handover_part(pdf: PrintedDocument, manifest: Manifest, title: str, listed: int, lines: Sequence[HandoverLine],
                   giver: Person, receiver: Person) -> None:
    """One direction of a stop's handoffs: the count and time from the scans, the parcels, and who signs."""
    pdf.ensure_space(30 if lines else 62)
    pdf.ln(1)
    pdf.paragraph(title, style="B", size=10.5, height=6.5)
    times = sorted((line.at for line in lines), key=local)
    span = ""
    if times:
        first, last = clock_on(times[0], manifest.run_date), clock_on(times[-1], manifest.run_date)
        span = first if first == last else f"{first} – {last}"
    pdf.runs(
        [("", "Số bì: "), ("B", f"{len(lines)}/{listed}"), ("", " (đã quét/theo bảng kê)     Thời gian: "),
         ("B", span or "chưa có lượt quét")],
        size=9.5, height=5,
    )
    if lines:
        rows = [
            (str(index), line.parcel_code, line.dossier_code, clock_on(line.at, manifest.run_date),
             line.giver.name or "", line.receiver.name or "")
            for index, line in enumerate(lines, start=1)
        ]
        pdf.table_of(_HANDOVER_HEADINGS, rows, col_widths=_HANDOVER_WIDTHS, aligns=_HANDOVER_ALIGNS)
    else:
        pdf.paragraph("Chưa có lượt quét giao nhận nào.", style="I", size=9.5, height=5)
        pdf.ln(1)
    when = clock_on(times[-1], None) if times else None
    signature_boxes(pdf, (("BÊN GIAO", _signer(giver, [line.giver for line in lines])),
                          ("BÊN NHẬN", _signer(receiver, [line.receiver for line in lines]))), when)


def _signer(default: Person, scanned: Sequence[Person]) -> Person:
    """Who signs for one side: the people the scans name (several clerks may have taken part), else the default."""
    if not scanned:
        return default
    return Person(_distinct([p.name for p in scanned]), _distinct([p.role for p in scanned]) or default.role,
                  _distinct([p.site for p in scanned]) or default.site)


def _distinct(names: Sequence[str | None]) -> str | None:
    """Join the distinct non-empty names in order of first appearance."""
    seen = list(dict.fromkeys(name for name in names if name))
    return ", ".join(seen) or None
