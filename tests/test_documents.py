"""Printed documents: the apology slip (mẫu 04) and the run manifest render in Vietnamese with DejaVu embedded."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import UTC, date, datetime

import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader

from models import Dossier
from postal.documents.apology import ApologySlip, render_apology_slip
from postal.documents.layout import Person, find_font_dir
from postal.documents.manifest import HandoverLine, Manifest, ManifestParcel, ManifestStop, render_manifest

PROCEDURES = (
    "Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam",
    "Cấp giấy phép xây dựng đối với công trình cấp III, IV và nhà ở riêng lẻ",
    "Đăng ký thành lập hộ kinh doanh",
    "Cấp đổi Giấy phép lái xe do ngành Giao thông vận tải cấp",
    "Chứng thực bản sao từ bản chính giấy tờ, văn bản",
)
CENTER = "Trung tâm Phục vụ hành chính công tỉnh Quảng Ninh"
JUSTICE = "Sở Tư pháp tỉnh Quảng Ninh"
CONSTRUCTION = "Sở Xây dựng tỉnh Quảng Ninh"
RUN_DAY = date(2025, 9, 15)


def at(hour: int, minute: int, day: date = RUN_DAY) -> datetime:
    """A Vietnam wall-clock time on `day`, stored as the server does (UTC)."""
    return datetime(day.year, day.month, day.day, hour - 7, minute, tzinfo=UTC)


def s10(serial: int, prefix: str = "HC") -> str:
    """A label code in UPU S10 shape with its check digit."""
    digits = f"{serial:08d}"
    total = sum(int(d) * w for d, w in zip(digits, (8, 6, 4, 2, 3, 5, 9, 7)))
    check = 11 - total % 11
    check = {10: 0, 11: 5}.get(check, check)
    return f"{prefix}{digits}{check}VN"


def parcels(first: int, count: int, destination: str) -> tuple[ManifestParcel, ...]:
    """`count` parcels of distinct dossiers bound for `destination`."""
    return tuple(
        ManifestParcel(
            code=s10(first + i),
            dossier_code=f"000.00.37.H40-250915-{first + i:04d}",
            procedure=PROCEDURES[i % len(PROCEDURES)],
            destination=destination,
        )
        for i in range(count)
    )


def apology_slip(**changes) -> ApologySlip:
    """A late birth-certificate-style dossier of a Hạ Long citizen."""
    fields = dict(
        province_body="UBND tỉnh Quảng Ninh",
        unit_name="Trung tâm Phục vụ hành chính công",
        place="Quảng Ninh",
        number="125",
        issued_on=date(2025, 9, 15),
        applicant_name="Nguyễn Thị Hương",
        applicant_address="Tổ 3, khu 5, phường Hạ Long, tỉnh Quảng Ninh",
        dossier_code="000.00.37.H40-250903-0042",
        procedure="Cấp giấy phép xây dựng đối với nhà ở riêng lẻ",
        received_at=at(9, 15, date(2025, 9, 3)),
        due_at=at(16, 0, date(2025, 9, 12)),
        new_due=date(2025, 9, 19),
        reason="Hồ sơ cần lấy ý kiến thẩm định bổ sung của Sở Xây dựng về chỉ giới xây dựng.",
        signer="Phạm Văn Đức",
    )
    fields.update(changes)
    return ApologySlip(**fields)


def manifest(**changes) -> Manifest:
    """A morning shuttle: the center, a construction stop with nothing, the justice department with 60 parcels."""
    to_justice = parcels(1, 60, JUSTICE)
    results = parcels(501, 3, CENTER)
    courier = Person("Trần Văn Bình", "Bưu tá", "Bưu điện tỉnh Quảng Ninh")
    clerk = Person("Lê Thị Mai", "Cán bộ tiếp nhận của cơ quan", JUSTICE)
    dropped = tuple(
        HandoverLine(p.code, p.dossier_code, at(8, 31 + i // 20), courier, clerk) for i, p in enumerate(to_justice[:58])
    )
    picked = tuple(HandoverLine(p.code, p.dossier_code, at(8, 40), clerk, courier) for p in results)
    fields = dict(
        run_name="Chuyến 08:00 – Trung tâm → các sở → Trung tâm",
        run_ref="R-20250915-0800",
        run_date=RUN_DAY,
        departs_at=at(8, 0),
        courier="Trần Văn Bình",
        distance_km=23.4,
        qr_payload="R-20250915-0800.3f9a1c",
        vehicle="Xe máy 14-B1 234.56",
        post_office="Bưu điện tỉnh Quảng Ninh",
        stops=(
            ManifestStop(1, CENTER, at(8, 0), pick=to_justice, site_address="Phường Hồng Gai, tỉnh Quảng Ninh"),
            ManifestStop(2, CONSTRUCTION, at(8, 15)),
            ManifestStop(
                3, JUSTICE, at(8, 25), drop=to_justice, pick=results, dropped=dropped, picked=picked,
                arrived_at=at(8, 29), departed_at=at(8, 42),
            ),
        ),
    )
    fields.update(changes)
    return Manifest(**fields)


def pages_text(pdf: bytes) -> list[str]:
    """The text of each page."""
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def font_names(pdf: bytes) -> set[str]:
    """The base names of the embedded fonts, subset prefix dropped."""
    names = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            assert "/FontFile2" in descriptor  # embedded TrueType, not a reference to a system font
            names.add(str(font["/BaseFont"]).split("+")[-1])
    return names


def test_apology_slip_reads_like_form_04():
    pdf = render_apology_slip(apology_slip())

    assert pdf.startswith(b"%PDF")
    assert {"DejaVuSansBook", "DejaVuSansBold"} <= font_names(pdf)
    [text] = pages_text(pdf)
    text = " ".join(text.split())  # headings wrap where the column ends
    for expected in (
        "UBND TỈNH QUẢNG NINH",
        "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG",
        "Số: 125/PXL",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "Quảng Ninh, ngày 15 tháng 9 năm 2025",
        "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ",
        "Kính gửi: Nguyễn Thị Hương",
        "000.00.37.H40-250903-0042",
        "09 giờ 15 phút, ngày 03/09/2025",  # received 02:15 UTC, shown in Asia/Ho_Chi_Minh
        "16 giờ 00 phút, ngày 12/09/2025",
        "Lý do: Hồ sơ cần lấy ý kiến thẩm định",
        "xin lỗi Ông/Bà vì sự chậm trễ này",
        "19/09/2025",
        "NGƯỜI ĐỨNG ĐẦU CƠ QUAN",
        "(Ký, ghi rõ họ tên và đóng dấu)",
        "Phạm Văn Đức",
    ):
        assert expected in text, expected


def test_apology_slip_leaves_blanks_for_what_is_unknown():
    text = pages_text(render_apology_slip(apology_slip(number=None, signer=None, applicant_address=None)))[0]

    assert "Số: ....../PXL" in text
    assert "Địa chỉ" not in text
    assert "Phạm Văn Đức" not in text


def test_manifest_lists_each_stop_and_breaks_long_tables_across_pages():
    pdf = render_manifest(manifest())

    assert pdf.startswith(b"%PDF")
    assert b"DejaVuSans" in pdf
    pages = pages_text(pdf)
    assert len(pages) >= 3
    first, last = pages[0], pages[-1]
    assert "BẢNG KÊ CHUYẾN THƯ – Chuyến 08:00" in first
    assert "15/09/2025" in first and "08:00" in first and "Trần Văn Bình" in first
    assert "23,4 km" in first and "Xe máy 14-B1 234.56" in first and "R-20250915-0800" in first
    assert "Điểm 1: Trung tâm Phục vụ hành chính công" in first
    assert all(f"Trang {n}/{len(pages)}" in page for n, page in enumerate(pages, start=1))
    # a table that goes on to a new page repeats its heading there
    assert all("Mã bì" in page and "Mã hồ sơ" in page for page in pages[1:-1])
    text = "\n".join(pages)
    assert "Điểm 2: Sở Xây dựng tỉnh Quảng Ninh\nDự kiến đến: 08:15\nKhông có bì hồ sơ." in text
    assert "Điểm 3: Sở Tư pháp tỉnh Quảng Ninh" in text
    assert "Giao tại điểm này (60 bì)" in text
    assert "BIÊN BẢN GIAO NHẬN" in text
    # At the justice department, two handoffs, each with its own giver and receiver, count and time.
    flat = " ".join(text.split())
    dropped = flat.index("Phần 1. Bưu tá giao, Sở Tư pháp tỉnh Quảng Ninh nhận")
    picked = flat.index("Phần 2. Sở Tư pháp tỉnh Quảng Ninh giao, bưu tá nhận")
    assert dropped < picked
    assert "Số bì: 58/60 (đã quét/theo bảng kê) Thời gian: 08:31 – 08:33" in flat[dropped:picked]
    assert "Số bì: 3/3 (đã quét/theo bảng kê) Thời gian: 08:40" in flat[picked:]
    given = flat[dropped:picked].split("BÊN GIAO")[-1]  # the courier gave, the clerk took
    assert given.index("Trần Văn Bình Bưu tá – Bưu điện tỉnh Quảng Ninh Lúc: 08:33 15/09/2025") < given.index(
        "BÊN NHẬN") < given.index("Lê Thị Mai Cán bộ tiếp nhận của cơ quan – Sở Tư pháp tỉnh Quảng Ninh Lúc: 08:33")
    taken = flat[picked:].split("BÊN GIAO")[-1]  # the clerk gave, the courier took
    assert taken.index("Lê Thị Mai") < taken.index("BÊN NHẬN") < taken.index("Trần Văn Bình")
    assert s10(503) in last  # the last parcel picked at the justice department, in its handover record
    assert "Lúc: 08:40 15/09/2025" in last


def test_manifest_of_an_unassigned_run_prints_blanks_to_fill_by_hand():
    stop = ManifestStop(1, JUSTICE, at(10, 45), drop=parcels(900, 2, JUSTICE))
    text = pages_text(render_manifest(manifest(courier=None, vehicle=None, distance_km=None, stops=(stop,))))[0]

    assert "chưa phân công" in text
    assert "Phần 1. Bưu tá giao, Sở Tư pháp tỉnh Quảng Ninh nhận" in text and "Phần 2" not in text  # nothing to pick
    assert "Số bì: 0/2" in text and "Chưa có lượt quét giao nhận nào" in text
    assert "Lúc: ...... giờ" in text


def test_manifest_qr_code_carries_the_payload(tmp_path):
    assert shutil.which("pdftoppm"), "pdftoppm (poppler-utils) is not installed: `make test` installs it"
    (tmp_path / "manifest.pdf").write_bytes(render_manifest(manifest()))
    subprocess.run(
        ["pdftoppm", "-r", "150", "-f", "1", "-l", "1", "-png", "manifest.pdf", "page"], cwd=tmp_path, check=True
    )
    image = Image.open(next(tmp_path.glob("page*.png")))

    payloads = [r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]

    assert payloads == ["R-20250915-0800.3f9a1c"]


def test_missing_font_dir_raises_naming_the_place(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        render_apology_slip(apology_slip(), font_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        render_manifest(manifest(), font_dir=tmp_path / "nowhere")


def test_the_papers_take_their_fonts_from_the_font_dir_setting(make, tmp_path):
    """POSTAL_FONT_DIR reaches every paper through the settings its caller holds; nothing reads it behind them."""
    from postal import control_sheet, printing
    from postal.clock import utcnow

    code = make.parcel()
    dossier = make.parcel_row(code).dossier_id
    clerk = make.staff("ntha")
    empty = make.settings.model_copy(update={"font_dir": tmp_path})
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        printing.label_pdf(make.session, code, viewer=clerk, settings=empty)
    dossier_code = make.session.get(Dossier, dossier).code
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        control_sheet.render_pdf(make.session, dossier_code, viewer=clerk, settings=empty, now=utcnow())
    fonts = make.settings.model_copy(update={"font_dir": find_font_dir()})
    assert printing.label_pdf(make.session, code, viewer=clerk, settings=fonts).startswith(b"%PDF")


def test_times_are_shown_in_vietnam_whatever_zone_they_come_in():
    evening_utc = datetime(2025, 9, 2, 20, 30, tzinfo=UTC)  # 03:30 on 3 September in Hà Nội
    text = pages_text(render_apology_slip(apology_slip(received_at=evening_utc)))[0]

    assert "03 giờ 30 phút, ngày 03/09/2025" in text
