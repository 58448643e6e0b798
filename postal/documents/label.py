"""The parcel label as a PDF, in the sizes of common label printers: one 100×75 mm label, or an A4 sheet of eight
(2 × 4, 105 × 74 mm each). It carries the signed QR (phones, 2D imagers), the Code 128 of the S10 code (the 1D
laser scanners at post offices read only that), the human code, the destination agency, the dossier code and
the procedure."""

from __future__ import annotations

import os
from dataclasses import dataclass

from fpdf.enums import PathPaintRule

from postal.documents.layout import FONT_FAMILY, PrintedDocument

LABEL_SIZE = (100.0, 75.0)  # mm: the thermal label printers' common roll
A4_GRID = (2, 4)  # columns × rows of an A4 sheet of labels
A4_CELL = (105.0, 74.25)
PAD = 3.5
QR_MM = 30.0
BARS_H = 13.0
QUIET_MODULES = 10


@dataclass(frozen=True)
class LabelPaper:
    """What a label prints."""

    code: str  # the S10 code
    spaced: str  # the code as people read it
    qr_payload: str
    modules: str  # the Code 128's modules, '1' a bar
    destination: str
    origin: str
    dossier_code: str
    procedure: str


def render_label(label: LabelPaper, *, format: str = "100x75", copies: int = 1,
                 font_dir: str | os.PathLike[str] | None = None) -> bytes:
    """The label as a PDF: one 100×75 mm page per copy, or `copies` cells of an A4 sheet of labels."""
    pdf = PrintedDocument(f"Nhãn bì {label.code}", font_dir=font_dir, margins=(0, 0, 0, 0), page_numbers=False)
    pdf.set_auto_page_break(False)
    if format == "a4":
        columns, rows = A4_GRID
        for index in range(copies):
            if index % (columns * rows) == 0:
                pdf.add_page(format="A4")
            row, column = divmod(index % (columns * rows), columns)
            draw_label(pdf, label, column * A4_CELL[0], row * A4_CELL[1], *A4_CELL)
    else:
        for _ in range(copies):
            pdf.add_page(format=LABEL_SIZE)
            draw_label(pdf, label, 0, 0, *LABEL_SIZE)
    return pdf.output_bytes()


def draw_label(pdf: PrintedDocument, label: LabelPaper, x: float, y: float, w: float, h: float) -> None:
    """One label in the box (x, y, w, h), mm."""
    left, top, inner = x + PAD, y + PAD, w - 2 * PAD
    pdf.draw_qr(label.qr_payload, left, top, QR_MM)
    text_x, text_w = left + QR_MM + 3, inner - QR_MM - 3
    pdf.set_xy(text_x, top)
    pdf.set_font(FONT_FAMILY, "", 7)
    pdf.cell(text_w, 3.5, "NƠI NHẬN", new_x="LEFT", new_y="NEXT")
    pdf.set_font(FONT_FAMILY, "B", 11)
    pdf.multi_cell(text_w, 4.8, label.destination, align="L", new_x="LEFT", new_y="NEXT")
    pdf.set_font(FONT_FAMILY, "", 7)
    pdf.multi_cell(text_w, 3.2, f"Từ: {label.origin}", new_x="LEFT", new_y="NEXT")
    pdf.set_font(FONT_FAMILY, "", 8)
    pdf.multi_cell(text_w, 3.6, f"Mã hồ sơ: {label.dossier_code}", new_x="LEFT", new_y="NEXT")
    bars_top = top + QR_MM + 2
    draw_bars(pdf, label.modules, left, bars_top, inner, BARS_H)
    pdf.set_xy(left, bars_top + BARS_H + 0.5)
    pdf.set_font(FONT_FAMILY, "B", 12)
    pdf.cell(inner, 5.5, label.spaced, align="C", new_x="LEFT", new_y="NEXT")
    pdf.set_font(FONT_FAMILY, "", 7.5)
    lines = pdf.multi_cell(inner, 3.3, f"Thủ tục: {label.procedure}", dry_run=True, output="LINES")
    fit = max(0, int((y + h - PAD - pdf.get_y()) // 3.3))
    if len(lines) > fit > 0:  # a long procedure name is cut, never spilled onto the next label
        lines = lines[:fit - 1] + [lines[fit - 1].rstrip()[:-1] + "…"]
    for line in lines[:fit]:
        pdf.cell(inner, 3.3, line, new_x="LEFT", new_y="NEXT")


def draw_bars(pdf: PrintedDocument, modules: str, x: float, y: float, width: float, height: float) -> None:
    """The Code 128 across `width`, its quiet zones inside it, as one filled path (no seams between bars)."""
    module = width / (len(modules) + 2 * QUIET_MODULES)
    start_x = x + QUIET_MODULES * module
    with pdf.new_path(paint_rule=PathPaintRule.FILL_NONZERO) as path:
        path.style.fill_color = "#000000"
        path.style.stroke_color = None
        index = 0
        while index < len(modules):
            if modules[index] != "1":
                index += 1
                continue
            run = index
            while index < len(modules) and modules[index] == "1":
                index += 1
            path.rectangle(start_x + run * module, y, (index - run) * module, height)
