"""The page layout every paper shares: A4 in embedded DejaVu, running head and page numbers, tables, QR codes,
the way the forms write dates, times and distances, and the signature boxes of a handover."""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import qrcode
from fpdf import FPDF
from fpdf.enums import PathPaintRule
from fpdf.fonts import FontFace

from postal.clock import local

FONT_FAMILY = "DejaVu"

_FONT_FILES = {
    "": "DejaVuSans.ttf",
    "B": "DejaVuSans-Bold.ttf",
    "I": "DejaVuSans-Oblique.ttf",
    "BI": "DejaVuSans-BoldOblique.ttf",
}
# Debian's fonts-dejavu-core has no oblique faces: a missing face falls back along this chain.
_FACE_FALLBACK = {"": ("",), "B": ("B", ""), "I": ("I", ""), "BI": ("BI", "B", "")}
_BUNDLED_FONT_DIR = Path(__file__).resolve().parents[2] / "node_modules" / "dejavu-fonts-ttf" / "ttf"
_SYSTEM_FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")

HEADING_FILL = (228, 228, 228)
BLANK = "................................"


# ---------------------------------------------------------------- page setup


def find_font_dir(font_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return the directory holding DejaVuSans.ttf: the argument (the caller's font_dir setting, POSTAL_FONT_DIR),
    else the bundled or system fonts."""
    # A directory someone named on purpose is the only one tried: a typo must not silently pick other fonts.
    if font_dir is not None:
        candidates = [Path(font_dir)]
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
        min_row_height: float | None = None,
    ) -> None:
        """Draw a table that breaks between rows across pages, its heading repeated on each page; `min_row_height`
        leaves room to sign in a row."""
        self.set_font(FONT_FAMILY, "", size)
        heading_style = FontFace(emphasis="BOLD", fill_color=HEADING_FILL, size_pt=size)
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
                table.row(row, min_height=min_row_height)
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


def day_text(day: date) -> str:
    """Return dd/mm/yyyy."""
    return day.strftime("%d/%m/%Y")


def clock_on(moment: datetime, usual_day: date | None = None) -> str:
    """Return HH:MM, followed by dd/mm/yyyy unless it is on `usual_day`."""
    shown = local(moment)
    if shown.date() == usual_day:
        return shown.strftime("%H:%M")
    return f"{shown:%H:%M} {day_text(shown.date())}"


def hours_minutes_day(moment: datetime) -> str:
    """Return '09 giờ 15 phút, ngày dd/mm/yyyy' as the forms write a time."""
    shown = local(moment)
    return f"{shown:%H} giờ {shown:%M} phút, ngày {day_text(shown.date())}"


def place_and_day(place: str, day: date) -> str:
    """Return 'Quảng Ninh, ngày 05 tháng 9 năm 2025'."""
    # Decree 30/2020/NĐ-CP: a leading zero for days below 10 and for months 1 and 2 only.
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"{place}, ngày {day.day:02d} tháng {month} năm {day.year}"


def distance_text(distance: float | None) -> str:
    """Return a distance with the Vietnamese decimal comma."""
    if distance is None:
        return "chưa tính"
    return f"{distance:.1f}".replace(".", ",") + " km"


# ---------------------------------------------------------------- headings


def official_heading(pdf: PrintedDocument, province_body: str, unit_name: str, form: str, *, left_w: float = 75) -> float:
    """Print the issuing body (left) and the national heading (right) side by side, as the forms of Circular
    01/2018/TT-VPCP open, the form's number above on the right; return where the lower of the two ends."""
    right_w = pdf.epw - left_w
    right_x = pdf.l_margin + left_w
    top = pdf.get_y()

    pdf.set_font(FONT_FAMILY, "I", 8)
    pdf.set_xy(right_x, top - 7)
    pdf.cell(right_w, 4, form, align="R")

    pdf.set_xy(pdf.l_margin, top)
    pdf.paragraph(province_body.upper(), size=10.5, align="C", height=5.5, width=left_w)
    pdf.paragraph(unit_name.upper(), style="B", size=10.5, align="C", height=5.5, width=left_w)
    left_bottom = pdf.get_y()
    pdf.line(pdf.l_margin + left_w * 0.33, left_bottom + 1, pdf.l_margin + left_w * 0.67, left_bottom + 1)

    pdf.set_xy(right_x, top)
    pdf.set_font(FONT_FAMILY, "B", 10.5)
    pdf.cell(right_w, 5.5, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", align="C", new_x="LEFT", new_y="NEXT")
    pdf.set_font(FONT_FAMILY, "BU", 11)
    pdf.cell(right_w, 5.5, "Độc lập - Tự do - Hạnh phúc", align="C", new_x="LEFT", new_y="NEXT")
    return max(left_bottom, pdf.get_y())


# ---------------------------------------------------------------- signatures


@dataclass(frozen=True)
class Person:
    """Someone a paper names: the full name (None: a line to write it by hand), the role and the unit."""

    name: str | None
    role: str | None = None
    site: str | None = None


def signature_boxes(pdf: PrintedDocument, signers: Sequence[tuple[str, Person]], when: str | None) -> None:
    """Print one box per (title, person) side by side to sign in: the name, role and unit, and the time, filled
    when known."""
    height = 42
    gap = 6
    pdf.ensure_space(height + 4)
    width = (pdf.epw - gap * (len(signers) - 1)) / len(signers)
    top = pdf.get_y() + 1
    for index, (title, person) in enumerate(signers):
        x = pdf.l_margin + index * (width + gap)
        pdf.rect(x, top, width, height)
        pdf.set_xy(x, top + 2)
        pdf.set_font(FONT_FAMILY, "B", 10)
        pdf.cell(width, 5, title, align="C", new_x="LEFT", new_y="NEXT")
        pdf.set_font(FONT_FAMILY, "I", 8)
        pdf.cell(width, 4, "(Ký, ghi rõ họ tên)", align="C", new_x="LEFT", new_y="NEXT")
        pdf.set_xy(x, top + height - 17)
        _fitted_cell(pdf, width, person.name or BLANK, "B" if person.name else "", 9.5)
        detail = " – ".join(part for part in (person.role, person.site) if part)
        _fitted_cell(pdf, width, detail or BLANK, "", 8)
        pdf.set_font(FONT_FAMILY, "", 8.5)
        pdf.cell(width, 5, f"Lúc: {when}" if when else "Lúc: ...... giờ ...... ngày ....../....../..........", align="C")
    pdf.set_xy(pdf.l_margin, top + height + 4)


def two_signatures(pdf: PrintedDocument, signers: Sequence[tuple[str, str]], *, size: float = 11, room: float = 30) -> None:
    """Two signature blocks side by side: a title, "(Ký và ghi rõ họ tên)", `room` millimetres to sign, then the
    name printed under it."""
    pdf.ln(6 if size >= 11 else 4)
    pdf.ensure_space(room + 10)
    half, top = pdf.epw / 2, pdf.get_y()
    for index, (title, name) in enumerate(signers):
        x = pdf.l_margin + index * half
        pdf.set_xy(x, top)
        pdf.set_font(FONT_FAMILY, "B", size)
        pdf.cell(half, size / 2 + 0.5, title, align="C", new_x="LEFT", new_y="NEXT")
        pdf.set_font(FONT_FAMILY, "I", size - 1)
        pdf.cell(half, 5, "(Ký và ghi rõ họ tên)", align="C", new_x="LEFT", new_y="NEXT")
        pdf.set_xy(x, top + room)
        pdf.set_font(FONT_FAMILY, "B", size)
        pdf.cell(half, size / 2 + 0.5, name, align="C")
    pdf.set_xy(pdf.l_margin, top + room + 10 if size >= 11 else top + room + 8)


def _fitted_cell(pdf: PrintedDocument, width: float, text: str, style: str, size: float) -> None:
    """One centred line inside a box, its font shrunk rather than spill over the box's edge."""
    pdf.set_font(FONT_FAMILY, style, size)
    # Several clerks may have received: shrink their names to the box.
    while pdf.get_string_width(text) > width - 4 and pdf.font_size_pt > 6:
        pdf.set_font_size(pdf.font_size_pt - 0.5)
    pdf.cell(width, 5, text, align="C", new_x="LEFT", new_y="NEXT")
