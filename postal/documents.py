"""Printable documents: the apology slip (mẫu 04) and the run manifest with its handover records."""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import qrcode
from fpdf import FPDF
from fpdf.enums import PathPaintRule
from fpdf.fonts import FontFace

from postal.clock import local

FONT_FAMILY = "DejaVu"
FONT_DIR_ENV = "POSTAL_FONT_DIR"

_FONT_FILES = {
    "": "DejaVuSans.ttf",
    "B": "DejaVuSans-Bold.ttf",
    "I": "DejaVuSans-Oblique.ttf",
    "BI": "DejaVuSans-BoldOblique.ttf",
}
# Debian's fonts-dejavu-core has no oblique faces: a missing face falls back along this chain.
_FACE_FALLBACK = {"": ("",), "B": ("B", ""), "I": ("I", ""), "BI": ("BI", "B", "")}
_BUNDLED_FONT_DIR = Path(__file__).resolve().parent.parent / "node_modules" / "dejavu-fonts-ttf" / "ttf"
_SYSTEM_FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")

_HEADING_FILL = (228, 228, 228)
_BLANK = "................................"


# ---------------------------------------------------------------- inputs


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


# ---------------------------------------------------------------- page setup


def find_font_dir(font_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return the directory holding DejaVuSans.ttf: the argument, else $POSTAL_FONT_DIR, else the bundled or system fonts."""
    # A directory someone named on purpose is the only one tried: a typo must not silently pick other fonts.
    if font_dir is not None:
        candidates = [Path(font_dir)]
    elif os.environ.get(FONT_DIR_ENV):
        candidates = [Path(os.environ[FONT_DIR_ENV])]
    else:
        candidates = [_BUNDLED_FONT_DIR, _SYSTEM_FONT_DIR]
    for candidate in candidates:
        if (candidate / _FONT_FILES[""]).is_file():
            return candidate
    tried = ", ".join(str(candidate) for candidate in candidates)
    raise FileNotFoundError(f"{_FONT_FILES['']} not found; tried: {tried}")


class PrintedDocument(FPDF):
    """An A4 portrait document set in embedded DejaVu, with an optional running head and a 'Trang x/y' footer."""

    def __init__(
        self,
        title: str,
        *,
        font_dir: str | os.PathLike[str] | None = None,
        margins: tuple[float, float, float, float] = (15, 15, 15, 18),
        running_head: str | None = None,
        page_numbers: bool = True,
    ) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        directory = find_font_dir(font_dir)
        for style in _FONT_FILES:
            self.add_font(FONT_FAMILY, style, _face_file(directory, style))
        left, top, right, bottom = margins
        self.set_margins(left, top, right)
        self.set_auto_page_break(True, margin=bottom)
        self.set_title(title)
        self.set_lang("vi")
        self.set_creator("postal")
        self.running_head = running_head
        self.page_numbers = page_numbers
        self.set_font(FONT_FAMILY, size=11)

    def normalize_text(self, text: str) -> str:
        """Compose text to NFC: DejaVu has the precomposed Vietnamese letters, unshaped combining marks misplace."""
        return super().normalize_text(unicodedata.normalize("NFC", text))

    def header(self) -> None:
        """Print the running head from the second page on, so a loose page still names its document."""
        if not self.running_head or self.page_no() == 1:
            return
        self.set_font(FONT_FAMILY, "I", 8)
        self.set_text_color(90)
        self.cell(0, 4, self.running_head, new_x="LMARGIN", new_y="NEXT")
        self.set_draw_color(150)
        self.line(self.l_margin, self.get_y() + 0.5, self.w - self.r_margin, self.get_y() + 0.5)
        self.set_draw_color(0)
        self.set_text_color(0)
        self.ln(4)

    def footer(self) -> None:
        """Print 'Trang x/y' centred at the foot of the page."""
        if not self.page_numbers:
            return
        self.set_y(-12)
        self.set_font(FONT_FAMILY, "", 8)
        self.cell(0, 5, f"Trang {self.page_no()}/{self.str_alias_nb_pages}", align="C")

    def ensure_space(self, height: float) -> None:
        """Start a new page unless `height` mm still fit above the bottom margin."""
        if self.will_page_break(height):
            self.add_page()

    def paragraph(
        self, text: str, *, style: str = "", size: float = 11, align: str = "L", height: float = 6, width: float = 0
    ) -> None:
        """Print a block of text on its own lines, wrapped within `width` (0: up to the right margin)."""
        self.set_font(FONT_FAMILY, style, size)
        self.multi_cell(width, height, text, align=align, new_x="LMARGIN", new_y="NEXT")

    def runs(self, parts: Sequence[tuple[str, str]], *, size: float = 11, height: float = 6, indent: float = 0) -> None:
        """Print one flowing paragraph of (style, text) runs, e.g. a label then its value in bold."""
        self.set_x(self.l_margin + indent)
        right = self.w - self.r_margin
        space = ""
        for style, text in parts:
            self.set_font(FONT_FAMILY, style, size)
            for token in re.findall(r"\s+|\S+", text):
                if token.isspace():
                    space += token
                    continue
                # Wrap before a word that does not fit: write() alone would cut a date like 19/09/2025 in two.
                if self.get_x() + self.get_string_width(space + token) > right and self.get_x() > self.l_margin:
                    self.ln(height)
                    space = ""
                self.write(height, space + token)
                space = ""
        self.ln(height)

    def table_of(
        self,
        headings: Sequence[str],
        rows: Sequence[Sequence[str]],
        *,
        col_widths: Sequence[float],
        aligns: Sequence[str],
        size: float = 8,
    ) -> None:
        """Draw a table that breaks between rows across pages, its heading repeated on each page."""
        self.set_font(FONT_FAMILY, "", size)
        heading_style = FontFace(emphasis="BOLD", fill_color=_HEADING_FILL, size_pt=size)
        with self.table(
            col_widths=tuple(col_widths),
            text_align=tuple(aligns),
            headings_style=heading_style,
            line_height=size * 0.5,
            padding=(0.9, 1.0),
            repeat_headings=1,
            width=self.epw,
        ) as table:
            table.row(headings)
            for row in rows:
                table.row(row)
        self.ln(2)

    def draw_qr(self, payload: str, x: float, y: float, size: float) -> None:
        """Draw `payload` as a vector QR code (error correction M) `size` mm wide, quiet zone left to the page."""
        code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
        code.add_data(payload)
        code.make(fit=True)
        matrix = code.get_matrix()
        module = size / len(matrix)
        # One filled path for all modules: separate rectangles show hairline seams in some viewers.
        with self.new_path(paint_rule=PathPaintRule.FILL_NONZERO) as path:
            path.style.fill_color = "#000000"
            path.style.stroke_color = None
            for row_index, row in enumerate(matrix):
                col = 0
                while col < len(row):
                    if not row[col]:
                        col += 1
                        continue
                    start = col
                    while col < len(row) and row[col]:
                        col += 1
                    path.rectangle(x + start * module, y + row_index * module, (col - start) * module, module)

    def output_bytes(self) -> bytes:
        """Return the finished PDF."""
        return bytes(self.output())


def _face_file(directory: Path, style: str) -> Path:
    """Return the file for a DejaVu Sans face, or the nearest face the directory has."""
    for fallback in _FACE_FALLBACK[style]:
        path = directory / _FONT_FILES[fallback]
        if path.is_file():
            return path
    raise FileNotFoundError(f"{_FONT_FILES[style]} not found in {directory}")


# ---------------------------------------------------------------- formatting


def _day(day: date) -> str:
    """Return dd/mm/yyyy."""
    return day.strftime("%d/%m/%Y")


def _clock_on(moment: datetime, usual_day: date | None = None) -> str:
    """Return HH:MM, followed by dd/mm/yyyy unless it is on `usual_day`."""
    shown = local(moment)
    if shown.date() == usual_day:
        return shown.strftime("%H:%M")
    return f"{shown:%H:%M} {_day(shown.date())}"


def _hours_minutes_day(moment: datetime) -> str:
    """Return '09 giờ 15 phút, ngày dd/mm/yyyy' as the forms write a time."""
    shown = local(moment)
    return f"{shown:%H} giờ {shown:%M} phút, ngày {_day(shown.date())}"


def _place_and_day(place: str, day: date) -> str:
    """Return 'Quảng Ninh, ngày 05 tháng 9 năm 2025'."""
    # Decree 30/2020/NĐ-CP: a leading zero for days below 10 and for months 1 and 2 only.
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"{place}, ngày {day.day:02d} tháng {month} năm {day.year}"


def _km(distance: float | None) -> str:
    """Return a distance with the Vietnamese decimal comma."""
    if distance is None:
        return "chưa tính"
    return f"{distance:.1f}".replace(".", ",") + " km"


# ---------------------------------------------------------------- apology slip (mẫu 04)


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
    """Print the issuing body (left) and the national heading (right) side by side, as on the paper form."""
    left_w = 75
    right_w = pdf.epw - left_w
    right_x = pdf.l_margin + left_w
    top = pdf.get_y()

    pdf.set_font(FONT_FAMILY, "I", 8)
    pdf.set_xy(right_x, top - 7)
    pdf.cell(right_w, 4, "Mẫu số 04", align="R")

    pdf.set_xy(pdf.l_margin, top)
    pdf.paragraph(slip.province_body.upper(), size=10.5, align="C", height=5.5, width=left_w)
    pdf.paragraph(slip.unit_name.upper(), style="B", size=10.5, align="C", height=5.5, width=left_w)
    left_bottom = pdf.get_y()
    pdf.line(pdf.l_margin + left_w * 0.33, left_bottom + 1, pdf.l_margin + left_w * 0.67, left_bottom + 1)

    pdf.set_xy(right_x, top)
    pdf.set_font(FONT_FAMILY, "B", 10.5)
    pdf.cell(right_w, 5.5, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", align="C", new_x="LEFT", new_y="NEXT")
    pdf.set_font(FONT_FAMILY, "BU", 11)
    pdf.cell(right_w, 5.5, "Độc lập - Tự do - Hạnh phúc", align="C", new_x="LEFT", new_y="NEXT")
    right_bottom = pdf.get_y()

    # "Số" and the place and date share one row under both headings, as on the form.
    row = max(left_bottom, right_bottom) + 4
    number = slip.number or "......"
    number = number if "/" in number else f"{number}/PXL"
    pdf.set_xy(pdf.l_margin, row)
    pdf.set_font(FONT_FAMILY, "", 11)
    pdf.cell(left_w, 6, f"Số: {number}", align="C")
    pdf.set_xy(right_x, row)
    pdf.set_font(FONT_FAMILY, "I", 11)
    pdf.cell(right_w, 6, _place_and_day(slip.place, slip.issued_on), align="C", new_x="LMARGIN", new_y="NEXT")


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
        [("", "Thời gian nhận hồ sơ: "), ("", _hours_minutes_day(slip.received_at) + ".")],
        size=size, height=height, indent=indent,
    )
    pdf.runs(
        [("", "Thời gian hẹn trả kết quả: "), ("", _hours_minutes_day(slip.due_at) + ".")],
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
            ("B", _day(slip.new_due)),
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


# ---------------------------------------------------------------- run manifest (bảng kê)

_PARCEL_HEADINGS = ("STT", "Mã bì", "Mã hồ sơ", "Thủ tục", "Nơi đến")
_PARCEL_WIDTHS = (9, 27, 44, 60, 40)
_PARCEL_ALIGNS = ("CENTER", "LEFT", "LEFT", "LEFT", "LEFT")
_HANDOVER_HEADINGS = ("STT", "Mã bì", "Mã hồ sơ", "Giao/Nhận", "Thời gian quét", "Người giao", "Người nhận")
_HANDOVER_WIDTHS = (9, 27, 44, 19, 19, 31, 31)
_HANDOVER_ALIGNS = ("CENTER", "LEFT", "LEFT", "CENTER", "CENTER", "LEFT", "LEFT")
_QR_SIZE = 30


def render_manifest(manifest: Manifest, *, font_dir: str | os.PathLike[str] | None = None) -> bytes:
    """Render a run's manifest (bảng kê) with the handover record (biên bản giao nhận) of each stop as an A4 PDF."""
    day = _day(manifest.run_date)
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
        ("Ngày chạy: ", _day(manifest.run_date), "Khởi hành: ", _clock_on(departs, manifest.run_date)),
        ("Bưu tá: ", manifest.courier or "chưa phân công", "Quãng đường: ", _km(manifest.distance_km)),
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
    pdf.set_fill_color(*_HEADING_FILL)
    pdf.multi_cell(0, 8, f"Điểm {stop.seq}: {stop.site_name}", fill=True, padding=(0, 2), new_x="LMARGIN", new_y="NEXT")
    times = [("", "Dự kiến đến: "), ("B", _clock_on(stop.planned_at, manifest.run_date))]
    if stop.arrived_at:
        times += [("", "     Đến thực tế: "), ("B", _clock_on(stop.arrived_at, manifest.run_date))]
    if stop.departed_at:
        times += [("", "     Rời điểm: "), ("B", _clock_on(stop.departed_at, manifest.run_date))]
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
        f"Điểm {stop.seq}: {stop.site_name} – ngày {_day(manifest.run_date)}",
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
                _clock_on(line.at, manifest.run_date) if line.at else "",
                line.by or "",
                line.to or "",
            )
            for index, line in enumerate(stop.handovers, start=1)
        ]
        pdf.table_of(_HANDOVER_HEADINGS, rows, col_widths=_HANDOVER_WIDTHS, aligns=_HANDOVER_ALIGNS)
    else:
        pdf.paragraph("Chưa có lượt quét giao nhận nào tại điểm này.", style="I", size=9.5, height=5)
        pdf.ln(1)
    _signature_boxes(pdf, manifest, stop)


def _is_drop(line: HandoverLine) -> bool:
    """Tell whether the courier handed this parcel to the site (giao) rather than took it (nhận)."""
    return unicodedata.normalize("NFC", line.action).strip().lower() == "giao"


def _signature_boxes(pdf: PrintedDocument, manifest: Manifest, stop: ManifestStop) -> None:
    """Print the courier's and the receiver's signature boxes side by side, names and time filled when known."""
    height = 36
    gap = 6
    pdf.ensure_space(height + 4)
    width = (pdf.epw - gap) / 2
    top = pdf.get_y() + 1
    courier = manifest.courier or _first(line.by for line in stop.handovers if _is_drop(line))
    receivers = _distinct(
        [line.to for line in stop.handovers if _is_drop(line)] + [line.by for line in stop.handovers if not _is_drop(line)]
    )
    scanned = [line.at for line in stop.handovers if line.at]
    when = _clock_on(max(scanned, key=local), None) if scanned else None
    for index, (title, name) in enumerate((("Bên giao (bưu tá)", courier), ("Bên nhận", receivers))):
        x = pdf.l_margin + index * (width + gap)
        pdf.rect(x, top, width, height)
        pdf.set_xy(x, top + 2)
        pdf.set_font(FONT_FAMILY, "B", 10)
        pdf.cell(width, 5, title, align="C", new_x="LEFT", new_y="NEXT")
        pdf.set_font(FONT_FAMILY, "I", 8)
        pdf.cell(width, 4, "(Ký, ghi rõ họ tên)", align="C", new_x="LEFT", new_y="NEXT")
        pdf.set_xy(x, top + height - 12)
        pdf.set_font(FONT_FAMILY, "B" if name else "", 9.5)
        # Several clerks may have received: shrink their names to the box rather than spill over its edge.
        while pdf.get_string_width(name or _BLANK) > width - 4 and pdf.font_size_pt > 6.5:
            pdf.set_font_size(pdf.font_size_pt - 0.5)
        pdf.cell(width, 5, name or _BLANK, align="C", new_x="LEFT", new_y="NEXT")
        pdf.set_font(FONT_FAMILY, "", 8.5)
        pdf.cell(width, 5, f"Lúc: {when}" if when else "Lúc: ...... giờ ...... ngày ....../....../..........", align="C")
    pdf.set_xy(pdf.l_margin, top + height + 4)


def _first(names: Iterable[str | None]) -> str | None:
    """Return the first non-empty name."""
    return next((name for name in names if name), None)


def _distinct(names: Sequence[str | None]) -> str | None:
    """Join the distinct non-empty names in order of first appearance."""
    seen = list(dict.fromkeys(name for name in names if name))
    return ", ".join(seen) or None
