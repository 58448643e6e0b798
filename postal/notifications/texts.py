"""What citizens read (no staff names, no other dossier), in Vietnamese as the SMS gateway sends it; a Zalo
template shows the same values (its template data) as `day` and `moment` write them."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from postal.clock import local


@lru_cache(maxsize=4096)  # a batch of thousands shares a few due dates
def day(at: datetime) -> str:
    return local(at).strftime("%d/%m/%Y")


def moment(at: datetime) -> str:
    return local(at).strftime("%H:%M %d/%m/%Y")


def receipt_text(code: str, due_at: datetime) -> str:
    return (f"Bưu điện: hồ sơ {code} đã được tiếp nhận. Ngày hẹn trả kết quả: {day(due_at)}. "
            "Tra cứu bằng mã hồ sơ và 4 số cuối điện thoại.")


def on_its_way_text(code: str) -> str:
    return (f"Bưu điện: kết quả hồ sơ {code} đã về Trung tâm và đang được chuyển đến địa chỉ của Ông/Bà. "
            "Bưu tá sẽ gửi mã nhận khi mang đi giao.")


def ready_for_pickup_text(code: str, place: str) -> str:
    return (f"Bưu điện: kết quả hồ sơ {code} đã sẵn sàng. Mời Ông/Bà đến nhận tại {place}, "
            "mang theo giấy hẹn trả kết quả và giấy tờ tùy thân.")


def out_for_delivery_text(code: str, otp: str) -> str:
    return (f"Bưu điện: bưu tá đang mang kết quả hồ sơ {code} đến cho Ông/Bà. Mã nhận kết quả (OTP): {otp}. "
            "Chỉ đọc mã này cho bưu tá khi đã nhận đúng kết quả.")


def apology_text(code: str, new_due) -> str:
    return (f"Bưu điện: xin lỗi Ông/Bà, hồ sơ {code} chưa có kết quả đúng hẹn. Ngày hẹn trả kết quả mới: "
            f"{new_due:%d/%m/%Y}. Tra cứu bằng mã hồ sơ và 4 số cuối điện thoại.")


def delivered_text(code: str, at: datetime) -> str:
    return f"Bưu điện: kết quả hồ sơ {code} đã được giao lúc {moment(at)}. Cảm ơn Ông/Bà."


def attempt_failed_text(code: str, *, returning: bool = False) -> str:
    if returning:
        return (f"Bưu điện: đã nhiều lần không giao được kết quả hồ sơ {code}; kết quả đã được chuyển về bưu điện. "
                "Xin liên hệ bưu điện hoặc đặt lịch giao lại.")
    return f"Bưu điện: chưa giao được kết quả hồ sơ {code} cho Ông/Bà. Bưu tá sẽ giao lại trong lần tới."


def cancel_code_text(code: str, request_id: int, otp: str) -> str:
    return (f"Bưu điện: mã xác nhận huỷ yêu cầu giao nhận số {request_id} của hồ sơ {code}: {otp}. Mã dùng trong "
            "10 phút. Nếu Ông/Bà không yêu cầu huỷ, xin bỏ qua tin này.")


def booking_cancelled_text(code: str, request_id: int, *, home_delivery: bool, to_refund: bool) -> str:
    back = " Kết quả sẽ được trả tại quầy nơi Ông/Bà nộp hồ sơ." if home_delivery else ""
    fee = " Phí đã nộp sẽ được hoàn lại tại quầy." if to_refund else " Ông/Bà không phải trả phí."
    return f"Bưu điện: yêu cầu giao nhận số {request_id} của hồ sơ {code} đã được huỷ.{back}{fee}"
