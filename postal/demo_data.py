"""Data of the demo province (Quảng Ninh, 2025 units): sites, users, procedures, applicants, shuttle lines.

Pure data, no imports: the seeding command and the tests read these constants.
Ward codes are the 5-digit 2025 codes of the `vietnam-provinces` package; since
1 July 2025 there is no district level, so addresses name only ward/commune and province.
"""

# Quảng Ninh kept its borders in the 2025 merger of provinces.
PROVINCE_CODE = "22"
PROVINCE_NAME = "Quảng Ninh"

DEMO_PASSWORD = "demo1234"

# 2025 ward codes used below (name in the package → code).
_HA_LONG = "06688"  # Phường Hạ Long: former Hồng Hà + Hồng Hải, where the provincial offices sit
_HONG_GAI = "06685"  # Phường Hồng Gai: former Hồng Gai, Trần Hưng Đạo (and Bạch Đằng)
_BAI_CHAY = "06673"
_CAO_XANH = "06658"
_CAM_PHA = "06793"
_UONG_BI = "06811"
_MONG_CAI_1 = "06712"
_TIEN_YEN = "06862"
_DAM_HA = "06895"
_VAN_DON = "06994"  # Đặc khu Vân Đồn
_QUANG_YEN = "07132"
_DONG_TRIEU = "07093"
_BINH_LIEU = "06838"
_MAO_KHE = "07069"

SITES = [
    # --- provincial center ---
    {
        "code": "TTHCC",
        "kind": "center",
        "name": "Trung tâm Phục vụ hành chính công tỉnh Quảng Ninh",
        "address": "Trụ sở Trung tâm Phục vụ hành chính công tỉnh, khu Liên cơ quan, phường Hạ Long, tỉnh Quảng Ninh",
        "ward_code": _HA_LONG,
        "lat": 20.9518,
        "lon": 107.0928,
    },
    # --- agencies (sở, ngành and vertical agencies) ---
    {
        "code": "STP",
        "kind": "agency",
        "name": "Sở Tư pháp tỉnh Quảng Ninh",
        "address": "Trụ sở Liên cơ quan số 3, phường Hạ Long, tỉnh Quảng Ninh",
        "ward_code": _HA_LONG,
        "lat": 20.9509,
        "lon": 107.0957,
    },
    {
        "code": "SNNMT",
        "kind": "agency",
        "name": "Sở Nông nghiệp và Môi trường tỉnh Quảng Ninh",
        "address": "Trụ sở Liên cơ quan số 2, phường Hạ Long, tỉnh Quảng Ninh",
        "ward_code": _HA_LONG,
        "lat": 20.9514,
        "lon": 107.0946,
    },
    {
        "code": "STC",
        "kind": "agency",
        "name": "Sở Tài chính tỉnh Quảng Ninh",
        "address": "Trụ sở Liên cơ quan số 1, phường Hạ Long, tỉnh Quảng Ninh",
        "ward_code": _HA_LONG,
        "lat": 20.9524,
        "lon": 107.0938,
    },
    {
        "code": "SXD",
        "kind": "agency",
        "name": "Sở Xây dựng tỉnh Quảng Ninh",
        "address": "Trụ sở Liên cơ quan số 2, phường Hạ Long, tỉnh Quảng Ninh",
        "ward_code": _HA_LONG,
        "lat": 20.9516,
        "lon": 107.0949,
    },
    {
        "code": "SNV",
        "kind": "agency",
        "name": "Sở Nội vụ tỉnh Quảng Ninh",
        "address": "Trụ sở Liên cơ quan số 1, phường Hạ Long, tỉnh Quảng Ninh",
        "ward_code": _HA_LONG,
        "lat": 20.9526,
        "lon": 107.0935,
    },
    {
        "code": "SKHCN",
        "kind": "agency",
        "name": "Sở Khoa học và Công nghệ tỉnh Quảng Ninh",
        "address": "Tầng 4, Trụ sở Liên cơ quan số 3, phường Hạ Long, tỉnh Quảng Ninh",
        "ward_code": _HA_LONG,
        "lat": 20.9507,
        "lon": 107.0960,
    },
    {
        "code": "SCT",
        "kind": "agency",
        "name": "Sở Công Thương tỉnh Quảng Ninh",
        "address": "Trụ sở Liên cơ quan số 2, phường Hạ Long, tỉnh Quảng Ninh",
        "ward_code": _HA_LONG,
        "lat": 20.9512,
        "lon": 107.0951,
    },
    {
        "code": "SYT",
        "kind": "agency",
        "name": "Sở Y tế tỉnh Quảng Ninh",
        "address": "Trụ sở Liên cơ quan số 3, phường Hạ Long, tỉnh Quảng Ninh",
        "ward_code": _HA_LONG,
        "lat": 20.9505,
        "lon": 107.0963,
    },
    {
        "code": "SGDDT",
        "kind": "agency",
        "name": "Sở Giáo dục và Đào tạo tỉnh Quảng Ninh",
        "address": "Trụ sở Liên cơ quan số 3, phường Hạ Long, tỉnh Quảng Ninh",
        "ward_code": _HA_LONG,
        "lat": 20.9503,
        "lon": 107.0959,
    },
    {
        # Quảng Ninh merged its separate Sở Du lịch back in on 1 March 2025.
        "code": "SVHTTDL",
        "kind": "agency",
        "name": "Sở Văn hóa, Thể thao và Du lịch tỉnh Quảng Ninh",
        "address": "Trụ sở Liên cơ quan số 1, phường Hạ Long, tỉnh Quảng Ninh",
        "ward_code": _HA_LONG,
        "lat": 20.9528,
        "lon": 107.0941,
    },
    {
        "code": "SDTTG",
        "kind": "agency",
        "name": "Sở Dân tộc và Tôn giáo tỉnh Quảng Ninh",
        "address": "Trụ sở Liên cơ quan số 1, phường Hạ Long, tỉnh Quảng Ninh",
        "ward_code": _HA_LONG,
        "lat": 20.9530,
        "lon": 107.0944,
    },
    {
        "code": "BQLKKT",
        "kind": "agency",
        "name": "Ban Quản lý Khu kinh tế tỉnh Quảng Ninh",
        "address": "Trụ sở Liên cơ quan số 2, phường Hạ Long, tỉnh Quảng Ninh",
        "ward_code": _HA_LONG,
        "lat": 20.9519,
        "lon": 107.0953,
    },
    {
        "code": "CA",
        "kind": "agency",
        "name": "Công an tỉnh Quảng Ninh",
        "address": "Trụ sở Công an tỉnh, đường Nguyễn Văn Cừ, phường Hạ Long, tỉnh Quảng Ninh",
        "ward_code": _HA_LONG,
        "lat": 20.9546,
        "lon": 107.1012,
    },
    {
        # Was "Bảo hiểm xã hội khu vực VIII" from 1 June 2025; renamed to the province on 1 July 2025.
        "code": "BHXH",
        "kind": "agency",
        "name": "Bảo hiểm xã hội tỉnh Quảng Ninh",
        "address": "Số 22 đường 25/4, phường Hồng Gai, tỉnh Quảng Ninh",
        "ward_code": _HONG_GAI,
        "lat": 20.9532,
        "lon": 107.0836,
    },
    {
        "code": "THUE",
        "kind": "agency",
        "name": "Thuế tỉnh Quảng Ninh",
        "address": "Đường Nguyễn Văn Cừ, phường Hạ Long, tỉnh Quảng Ninh",
        "ward_code": _HA_LONG,
        "lat": 20.9552,
        "lon": 107.0871,
    },
    {
        "code": "BCHQS",
        "kind": "agency",
        "name": "Bộ Chỉ huy Quân sự tỉnh Quảng Ninh",
        "address": "Phường Cao Xanh, tỉnh Quảng Ninh",
        "ward_code": _CAO_XANH,
        "lat": 20.9668,
        "lon": 107.0812,
    },
    # --- commune service centers (Quảng Ninh runs one per ward/commune/special zone) ---
    {
        "code": "PH-HONGGAI",
        "kind": "commune_center",
        "name": "Trung tâm Phục vụ hành chính công phường Hồng Gai",
        "address": "Trụ sở UBND phường Hồng Gai (trụ sở phường Trần Hưng Đạo cũ), phường Hồng Gai, tỉnh Quảng Ninh",
        "ward_code": _HONG_GAI,
        "lat": 20.9541,
        "lon": 107.0795,
    },
    {
        "code": "PH-BAICHAY",
        "kind": "commune_center",
        "name": "Trung tâm Phục vụ hành chính công phường Bãi Cháy",
        "address": "Trụ sở UBND phường Bãi Cháy, đường Hạ Long, phường Bãi Cháy, tỉnh Quảng Ninh",
        "ward_code": _BAI_CHAY,
        "lat": 20.9563,
        "lon": 107.0472,
    },
    {
        "code": "PH-CAMPHA",
        "kind": "commune_center",
        "name": "Trung tâm Phục vụ hành chính công phường Cẩm Phả",
        "address": "Đường Trần Phú, phường Cẩm Phả, tỉnh Quảng Ninh",
        "ward_code": _CAM_PHA,
        "lat": 21.0128,
        "lon": 107.2868,
    },
    {
        "code": "PH-UONGBI",
        "kind": "commune_center",
        "name": "Trung tâm Phục vụ hành chính công phường Uông Bí",
        "address": "Đường Quang Trung, phường Uông Bí, tỉnh Quảng Ninh",
        "ward_code": _UONG_BI,
        "lat": 21.0361,
        "lon": 106.7741,
    },
    {
        "code": "PH-MONGCAI1",
        "kind": "commune_center",
        "name": "Trung tâm Phục vụ hành chính công phường Móng Cái 1",
        "address": "Đường Hùng Vương, phường Móng Cái 1, tỉnh Quảng Ninh",
        "ward_code": _MONG_CAI_1,
        "lat": 21.5262,
        "lon": 107.9655,
    },
    {
        "code": "PH-QUANGYEN",
        "kind": "commune_center",
        "name": "Trung tâm Phục vụ hành chính công phường Quảng Yên",
        "address": "Trụ sở UBND phường Quảng Yên, phường Quảng Yên, tỉnh Quảng Ninh",
        "ward_code": _QUANG_YEN,
        "lat": 20.9378,
        "lon": 106.8063,
    },
    {
        "code": "PH-DONGTRIEU",
        "kind": "commune_center",
        "name": "Trung tâm Phục vụ hành chính công phường Đông Triều",
        "address": "Trụ sở UBND phường Đông Triều, phường Đông Triều, tỉnh Quảng Ninh",
        "ward_code": _DONG_TRIEU,
        "lat": 21.0832,
        "lon": 106.5151,
    },
    {
        "code": "XA-TIENYEN",
        "kind": "commune_center",
        "name": "Trung tâm Phục vụ hành chính công xã Tiên Yên",
        "address": "Trụ sở UBND xã Tiên Yên, xã Tiên Yên, tỉnh Quảng Ninh",
        "ward_code": _TIEN_YEN,
        "lat": 21.3322,
        "lon": 107.3968,
    },
    {
        "code": "XA-DAMHA",
        "kind": "commune_center",
        "name": "Trung tâm Phục vụ hành chính công xã Đầm Hà",
        "address": "Trụ sở UBND xã Đầm Hà, xã Đầm Hà, tỉnh Quảng Ninh",
        "ward_code": _DAM_HA,
        "lat": 21.3539,
        "lon": 107.5994,
    },
    {
        "code": "XA-BINHLIEU",
        "kind": "commune_center",
        "name": "Trung tâm Phục vụ hành chính công xã Bình Liêu",
        "address": "Trụ sở UBND xã Bình Liêu, xã Bình Liêu, tỉnh Quảng Ninh",
        "ward_code": _BINH_LIEU,
        "lat": 21.5268,
        "lon": 107.3961,
    },
    {
        "code": "DK-VANDON",
        "kind": "commune_center",
        "name": "Trung tâm Phục vụ hành chính công đặc khu Vân Đồn",
        "address": "Khu Cái Rồng, đặc khu Vân Đồn, tỉnh Quảng Ninh",
        "ward_code": _VAN_DON,
        "lat": 21.0668,
        "lon": 107.4205,
    },
    # --- post offices ---
    {
        "code": "BD-TINH",
        "kind": "post_office",
        "name": "Bưu điện tỉnh Quảng Ninh",
        "address": "Số 539 đường Lê Thánh Tông, phường Hồng Gai, tỉnh Quảng Ninh",
        "ward_code": _HONG_GAI,
        "lat": 20.9511,
        "lon": 107.0862,
    },
    {
        "code": "BD-CAMPHA",
        "kind": "post_office",
        "name": "Bưu điện Cẩm Phả",
        "address": "Đường Trần Phú, phường Cẩm Phả, tỉnh Quảng Ninh",
        "ward_code": _CAM_PHA,
        "lat": 21.0119,
        "lon": 107.2893,
    },
]

USERS = [
    {"username": "admin", "full_name": "Trần Quốc Toàn", "role": "admin", "site": None},
    {"username": "gs.lan", "full_name": "Phạm Thị Lan", "role": "supervisor", "site": "TTHCC"},
    # postal clerks posted at the service centers' counters
    {"username": "ntha", "full_name": "Nguyễn Thị Hà", "role": "postal_clerk", "site": "TTHCC"},
    {"username": "lvm", "full_name": "Lê Văn Minh", "role": "postal_clerk", "site": "PH-HONGGAI"},
    {"username": "dtt", "full_name": "Đỗ Thị Thu", "role": "postal_clerk", "site": "PH-CAMPHA"},
    # couriers employed by the two post offices
    {"username": "nva", "full_name": "Nguyễn Văn Anh", "role": "courier", "site": "BD-TINH"},
    {"username": "ttb", "full_name": "Trần Thanh Bình", "role": "courier", "site": "BD-TINH"},
    {"username": "buuta.hung", "full_name": "Vũ Mạnh Hùng", "role": "courier", "site": "BD-CAMPHA"},
    {"username": "buuta.tuan", "full_name": "Hoàng Minh Tuấn", "role": "courier", "site": "BD-CAMPHA"},
    # one receiving clerk for each of the busiest agencies
    {"username": "stp.linh", "full_name": "Vũ Thùy Linh", "role": "agency_clerk", "site": "STP"},
    {"username": "snnmt.duc", "full_name": "Bùi Minh Đức", "role": "agency_clerk", "site": "SNNMT"},
    {"username": "sxd.hanh", "full_name": "Phạm Thị Hạnh", "role": "agency_clerk", "site": "SXD"},
    {"username": "ca.khoa", "full_name": "Đinh Đăng Khoa", "role": "agency_clerk", "site": "CA"},
    {"username": "stc.phuong", "full_name": "Ngô Thu Phương", "role": "agency_clerk", "site": "STC"},
    {"username": "syt.mai", "full_name": "Lương Thị Mai", "role": "agency_clerk", "site": "SYT"},
]

# Names as on the national public service portal; days are the legal processing time in working days.
PROCEDURES = [
    # Sở Tư pháp
    {"name": "Đăng ký hành nghề và cấp Thẻ công chứng viên", "agency": "STP", "days": 10},
    {"name": "Đăng ký hoạt động Văn phòng công chứng", "agency": "STP", "days": 10},
    {"name": "Đăng ký hoạt động của tổ chức hành nghề luật sư", "agency": "STP", "days": 10},
    # Sở Nông nghiệp và Môi trường
    {
        "name": "Đăng ký biến động quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất",
        "agency": "SNNMT",
        "days": 10,
    },
    {
        "name": "Cấp đổi Giấy chứng nhận quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất",
        "agency": "SNNMT",
        "days": 7,
    },
    {"name": "Cấp giấy phép môi trường", "agency": "SNNMT", "days": 20},
    {
        "name": "Cấp Giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm đối với cơ sở sản xuất, "
        "kinh doanh thực phẩm nông, lâm, thủy sản",
        "agency": "SNNMT",
        "days": 15,
    },
    # Sở Tài chính (business registration came with Kế hoạch và Đầu tư)
    {"name": "Đăng ký thành lập công ty trách nhiệm hữu hạn một thành viên", "agency": "STC", "days": 3},
    {"name": "Đăng ký thay đổi nội dung đăng ký doanh nghiệp", "agency": "STC", "days": 3},
    # Sở Xây dựng (took over Giao thông vận tải)
    {"name": "Cấp giấy phép xây dựng mới đối với công trình cấp I, cấp II", "agency": "SXD", "days": 20},
    {"name": "Cấp chứng chỉ hành nghề hoạt động xây dựng hạng II, hạng III", "agency": "SXD", "days": 20},
    {"name": "Cấp Giấy phép kinh doanh vận tải bằng xe ô tô", "agency": "SXD", "days": 5},
    # Sở Nội vụ (took over Lao động – Thương binh và Xã hội)
    {
        "name": "Cấp giấy phép lao động cho người lao động nước ngoài làm việc tại Việt Nam",
        "agency": "SNV",
        "days": 10,
    },
    # Sở Khoa học và Công nghệ (took over Thông tin và Truyền thông)
    {"name": "Cấp giấy phép bưu chính", "agency": "SKHCN", "days": 10},
    # Sở Công Thương
    {"name": "Cấp Giấy phép kinh doanh bán buôn sản phẩm rượu", "agency": "SCT", "days": 10},
    {"name": "Cấp Giấy chứng nhận cửa hàng đủ điều kiện bán lẻ xăng dầu", "agency": "SCT", "days": 15},
    # Sở Y tế
    {"name": "Cấp Chứng chỉ hành nghề dược theo hình thức xét hồ sơ", "agency": "SYT", "days": 20},
    {
        "name": "Cấp Giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm đối với cơ sở sản xuất thực phẩm, "
        "kinh doanh dịch vụ ăn uống thuộc thẩm quyền của Sở Y tế",
        "agency": "SYT",
        "days": 20,
    },
    # Sở Giáo dục và Đào tạo
    {"name": "Chỉnh sửa nội dung văn bằng, chứng chỉ", "agency": "SGDDT", "days": 5},
    {"name": "Cấp bản sao văn bằng, chứng chỉ từ sổ gốc", "agency": "SGDDT", "days": 2},
    # Sở Văn hóa, Thể thao và Du lịch
    {"name": "Cấp Giấy phép kinh doanh dịch vụ lữ hành nội địa", "agency": "SVHTTDL", "days": 10},
    # Sở Dân tộc và Tôn giáo
    {
        "name": "Đề nghị tổ chức cuộc lễ ngoài cơ sở tôn giáo, địa điểm hợp pháp đã đăng ký "
        "để sinh hoạt tôn giáo có quy mô tổ chức ở một tỉnh",
        "agency": "SDTTG",
        "days": 15,
    },
    # Ban Quản lý Khu kinh tế
    {
        "name": "Cấp Giấy chứng nhận đăng ký đầu tư đối với dự án không thuộc diện chấp thuận chủ trương đầu tư",
        "agency": "BQLKKT",
        "days": 15,
    },
    # Công an tỉnh: driving licences since 1 March 2025, judicial records since 1 July 2025
    {"name": "Cấp hộ chiếu phổ thông ở trong nước", "agency": "CA", "days": 8},
    {"name": "Cấp đổi giấy phép lái xe", "agency": "CA", "days": 5},
    {"name": "Cấp Phiếu lý lịch tư pháp", "agency": "CA", "days": 10},
    # Bảo hiểm xã hội tỉnh
    {"name": "Giải quyết hưởng bảo hiểm xã hội một lần", "agency": "BHXH", "days": 10},
    # Thuế tỉnh
    {
        "name": "Hoàn thuế thu nhập cá nhân đối với cá nhân trực tiếp quyết toán với cơ quan thuế",
        "agency": "THUE",
        "days": 6,
    },
    # Bộ Chỉ huy Quân sự tỉnh
    {
        "name": "Giải quyết chế độ trợ cấp một lần đối với đối tượng tham gia kháng chiến chống Mỹ "
        "có dưới 20 năm công tác trong quân đội đã phục viên, xuất ngũ, thôi việc",
        "agency": "BCHQS",
        "days": 30,
    },
]

APPLICANTS = [
    "Nguyễn Văn An",
    "Trần Thị Bích",
    "Lê Văn Cường",
    "Phạm Thị Dung",
    "Hoàng Văn Đạt",
    "Vũ Thị Giang",
    "Đặng Văn Hải",
    "Bùi Thị Hằng",
    "Đỗ Văn Hiếu",
    "Ngô Thị Hoa",
    "Dương Văn Hòa",
    "Lý Thị Hồng",
    "Nguyễn Đức Huy",
    "Trần Thị Hương",
    "Lê Quang Khải",
    "Phạm Văn Khánh",
    "Hoàng Thị Lan Anh",
    "Vũ Đình Long",
    "Đặng Thị Loan",
    "Bùi Văn Lực",
    "Đỗ Thị Mai",
    "Ngô Văn Mạnh",
    "Nguyễn Thị Ngọc",
    "Trần Văn Nghĩa",
    "Lê Thị Nhung",
    "Phạm Hồng Phong",
    "Hoàng Văn Phúc",
    "Vũ Thị Quyên",
    "Đinh Văn Sơn",
    "Tạ Thị Tâm",
    "Nguyễn Mạnh Thắng",
    "Trần Thị Thảo",
    "Lê Văn Thịnh",
    "Phạm Thị Thủy",
    "Chu Văn Tiến",
    "Mai Thị Trang",
    "Lương Văn Trung",
    "Nông Thị Tuyết",
    "Triệu Văn Vinh",
    "Hà Thị Yến",
]

# Home addresses for demo dossiers and home deliveries: a street and the 2025 ward it is in.
APPLICANT_ADDRESSES = [
    {"street": "Số 15 đường Nguyễn Văn Cừ", "ward_code": _HA_LONG},
    {"street": "Số 42 phố Trần Quốc Nghiễn", "ward_code": _HA_LONG},
    {"street": "Tổ 5, khu 3", "ward_code": _HA_LONG},
    {"street": "Số 8 phố Bến Đoan", "ward_code": _HONG_GAI},
    {"street": "Số 120 đường Lê Thánh Tông", "ward_code": _HONG_GAI},
    {"street": "Số 27 đường 25/4", "ward_code": _HONG_GAI},
    {"street": "Số 63 đường Hạ Long", "ward_code": _BAI_CHAY},
    {"street": "Số 11 đường Anh Đào", "ward_code": _BAI_CHAY},
    {"street": "Tổ 2, khu 4", "ward_code": _CAO_XANH},
    {"street": "Số 210 đường Trần Phú", "ward_code": _CAM_PHA},
    {"street": "Số 9 đường Bái Tử Long", "ward_code": _CAM_PHA},
    {"street": "Số 34 đường Quang Trung", "ward_code": _UONG_BI},
    {"street": "Số 5 đường Tuệ Tĩnh", "ward_code": _UONG_BI},
    {"street": "Số 78 đường Hùng Vương", "ward_code": _MONG_CAI_1},
    {"street": "Số 16 đường Trần Phú", "ward_code": _MONG_CAI_1},
    {"street": "Khu phố 2", "ward_code": _TIEN_YEN},
    {"street": "Thôn 1", "ward_code": _DAM_HA},
    {"street": "Khu Cái Rồng", "ward_code": _VAN_DON},
    {"street": "Khu phố 1", "ward_code": _BINH_LIEU},
    {"street": "Số 21 phố Trần Khánh Dư", "ward_code": _QUANG_YEN},
    {"street": "Khu phố 2", "ward_code": _DONG_TRIEU},
    {"street": "Khu phố 3", "ward_code": _MAO_KHE},
]

_DAILY_RUNS = ["08:00", "10:30", "14:00", "16:00"]

SHUTTLE_LINES = [
    {
        "name": "Tuyến 1 – Khu liên cơ quan",
        "post_office": "BD-TINH",
        "stops": [
            "TTHCC",
            "STC",
            "SNV",
            "SVHTTDL",
            "SDTTG",
            "SNNMT",
            "SXD",
            "SCT",
            "BQLKKT",
            "STP",
            "SKHCN",
            "SYT",
            "SGDDT",
        ],
        "departs": [*_DAILY_RUNS[:3], "15:30"],  # thirteen stops: the last run leaves early enough to be back by 17:00
    },
    {
        "name": "Tuyến 2 – Công an, Thuế, Bảo hiểm xã hội, Quân sự",
        "post_office": "BD-TINH",
        "stops": ["TTHCC", "CA", "THUE", "BCHQS", "BHXH"],
        "departs": [*_DAILY_RUNS],
    },
    # The communes far east are a day's drive: one run in the morning, back within working hours.
    {
        "name": "Tuyến xã 1 – Hồng Gai – Cẩm Phả",
        "post_office": "BD-TINH",
        "stops": ["TTHCC", "PH-HONGGAI", "PH-CAMPHA"],
        "departs": ["07:30", "13:30"],
    },
    {
        "name": "Tuyến xã 2 – Vân Đồn – Tiên Yên – Đầm Hà",
        "post_office": "BD-TINH",
        "stops": ["TTHCC", "DK-VANDON", "XA-TIENYEN", "XA-DAMHA"],
        "departs": ["07:30"],
    },
]
