"""Domain errors: a status, a stable code and a Vietnamese message (English in translations/)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from models.shapes import unstorable_char


def N_(text: str) -> str:
    """Mark text for pybabel; routes/ translates it per request."""
    return text


class PostalError(Exception):
    """A request the service refuses, with the reason for the person who made it."""

    status, code, message = 400, "bad_request", N_("Yêu cầu không hợp lệ.")

    def __init__(self, message: str | None = None, **params: object) -> None:
        super().__init__(self.code)
        if message is not None:
            self.message = message
        self.params = params

    def __str__(self) -> str:
        return self.message % self.params if self.params else self.message


class WriteBusy(PostalError):
    """The database's write lock (or a row's lock) did not come within the write budget: nothing was written."""

    status, code = 503, "busy"
    message = N_("Hệ thống đang bận ghi dữ liệu khác nên chưa ghi được yêu cầu này (không có gì được ghi). "
                 "Vui lòng thử lại sau %(seconds)s giây.")

    def __init__(self, seconds: int = 2) -> None:
        super().__init__(seconds=seconds)
        self.headers = {"Retry-After": str(seconds)}


class InvalidPayload(PostalError):
    status, code, message = 400, "invalid_payload", N_("Dữ liệu gửi lên không hợp lệ: %(detail)s")


class Unprocessable(PostalError):
    status, code, message = 422, "invalid_field", N_("Trường %(field)s không hợp lệ: %(detail)s")


class NotAuthenticated(PostalError):
    status, code, message = 401, "unauthorized", N_("Cần đăng nhập hoặc mã truy cập hợp lệ.")


class TokenExpired(NotAuthenticated):
    code, message = "token_expired", N_("Mã truy cập đã hết hạn lúc %(at)s: hãy xin quản trị viên cấp mã mới.")


class TokenRevoked(NotAuthenticated):
    code, message = "token_revoked", N_("Mã truy cập đã bị thu hồi: hãy xin quản trị viên cấp mã mới.")


class AccountDeactivated(NotAuthenticated):
    code, message = "account_deactivated", N_("Tài khoản %(username)s đã bị khoá.")


class TooManyGuesses(PostalError):
    """The same answer for an unknown code and a wrong phone: the lockout says nothing about the dossier."""

    status, code = 429, "too_many_guesses"
    message = N_("Hồ sơ %(code)s đã bị tra cứu sai mã hoặc số điện thoại quá nhiều lần nên tạm khoá tra cứu. "
                 "Vui lòng thử lại sau %(minutes)s phút, hoặc hỏi tại bộ phận một cửa.")


class Forbidden(PostalError):
    status, code, message = 403, "forbidden", N_("Vai trò %(role)s không được phép thực hiện việc này.")


class SiteForbidden(PostalError):
    status, code, message = 403, "site_forbidden", N_("Tài khoản %(user)s không làm việc tại %(site)s.")


class NotFound(PostalError):
    status, code, message = 404, "not_found", N_("Không tìm thấy %(what)s %(code)s.")


class Conflict(PostalError):
    status, code, message = 409, "conflict", N_("Xung đột dữ liệu.")


class DossierExists(Conflict):
    code, message = "dossier_exists", N_("Hồ sơ %(code)s đã được đăng ký với nội dung khác ở: %(fields)s. Hãy kiểm tra lại "
                                                 "mã hồ sơ, hoặc gửi đúng nội dung đã đăng ký.")


class BagExists(Conflict):
    code, message = "bag_exists", N_("Túi %(code)s đã được lập với nội dung khác.")


# Scan rejections: 409, each names the parcel's real state.
class ScanRejected(PostalError):
    status, code = 409, "scan_rejected"


class ForgedLabel(ScanRejected):
    status, code, message = 400, "forged_label", N_("Nhãn %(label)s không hợp lệ: sai mã kiểm tra hoặc không do hệ thống này cấp.")


class UnknownLabel(ScanRejected):
    status, code, message = 404, "unknown_label", N_("Không có bì hồ sơ hay túi nào mang mã %(label)s.")


class ScanInFuture(ScanRejected):
    status, code, message = 400, "scan_in_future", N_("Thời điểm quét %(at)s ở tương lai: hãy kiểm tra đồng hồ của thiết bị.")


class ScanTooOld(ScanRejected):
    status, code, message = 400, "scan_too_old", N_("Thời điểm quét %(at)s quá cũ (hơn %(days)s ngày).")


class WrongState(ScanRejected):
    code, message = "wrong_state", N_("Bì %(parcel)s %(state)s, không thể %(action)s.")


class WrongHolder(ScanRejected):
    code, message = "wrong_holder", N_("Bì %(parcel)s %(state)s, không phải do bưu tá %(courier)s giữ.")


class WrongSite(ScanRejected):
    code, message = "wrong_site", N_("Bì %(parcel)s %(state)s, không phải ở %(site)s.")


class SiteRequired(ScanRejected):
    status, code, message = 400, "site_required", N_("Thao tác %(action)s cần nêu điểm giao nhận (site).")


class UnknownSite(ScanRejected):
    status, code, message = 404, "unknown_site", N_("Không có điểm giao nhận mã %(site)s.")


class NoteRequired(ScanRejected):
    status, code, message = 400, "note_required", N_("Thao tác %(action)s cần ghi chú lý do.")


class BagSealed(ScanRejected):
    code, message = "in_bag", N_("Bì %(parcel)s đang nằm trong túi niêm phong %(bag)s: hãy quét túi hoặc mở túi trước.")


class Misrouted(ScanRejected):
    code, message = "misrouted", N_("Bì %(parcel)s gửi %(destination)s, không phải %(site)s.")


class RedirectNotAllowed(PostalError):
    status, code, message = 409, "redirect_not_allowed", N_("Không thể đổi nơi nhận của bì %(parcel)s: %(reason)s.")


class UnknownRun(ScanRejected):
    status, code, message = 404, "unknown_run", N_("Không có chuyến số %(run)s.")


class NotForBags(ScanRejected):
    status, code, message = 400, "not_for_bags", N_("Thao tác %(action)s không áp dụng cho túi %(bag)s.")


class InvalidScan(ScanRejected):
    status, code, message = 400, "invalid_scan", N_("Lần quét không hợp lệ: %(detail)s")

    @classmethod
    def of(cls, error: Mapping[str, Any]) -> InvalidScan:
        """The first error validation found in a scan: a value the ledger cannot keep, in words that translate;
        any other as pydantic words it, after the field's name."""
        return cls(detail=detail_of(error, UNKEPT))


def field_of(error: Mapping[str, Any]) -> str:
    """The field a validation error is about: its location, then the path inside the value that a check of a
    whole shape or value names (models/shapes.py); a name the sender made up is shown safely."""
    path = (error.get("ctx") or {}).get("path")
    return ".".join([*(shown(str(p)) for p in error["loc"]), *([shown(path, 120)] if path else [])]) or "body"


def shown(text: str, limit: int = 40) -> str:
    """Text a request sent, fit to be put back in an answer: characters no table or encoder takes as their
    code points (U+0000), and cut short."""
    if len(text) > limit:
        text = text[:limit] + "…"
    if unstorable_char(text) is None:
        return text
    return "".join(f"U+{ord(c):04X}" if unstorable_char(c) else c for c in text)


def detail_of(error: Mapping[str, Any], wordings: Mapping[str, str] | None = None) -> str | Phrase:
    """What is wrong with a request's value, naming its field: in words that translate for the values no record
    can keep, as pydantic words it (after the field's name) otherwise."""
    where = field_of(error)
    wording = (wordings or {}).get(error["type"]) or REFUSED.get(error["type"])
    if wording is None:
        return f"{where}: {error['msg']}"
    return Phrase(wording, **{**error.get("ctx", {}), "field": where})


# Values no record can keep as they were sent (models/shapes.py and pydantic refuse them): error type -> wording.
REFUSED = {
    "unstorable_text": N_("trường %(field)s có ký tự U+%(char)s (ký tự điều khiển hoặc mã không hợp lệ), không lưu "
                          "được"),
    "string_unicode": N_("trường %(field)s có mã lẻ của một cặp UTF-16 (ký tự bị cắt đôi), không lưu được"),
    "not_finite": N_("trường %(field)s phải là số hữu hạn (không nhận NaN hay vô cực)"),
    "finite_number": N_("trường %(field)s phải là số hữu hạn (không nhận NaN hay vô cực)"),
    "time_out_of_range": N_("thời điểm %(field)s nằm ngoài khoảng năm 1–9999 khi đổi sang giờ UTC"),
    "string_too_long": N_("trường %(field)s dài quá %(max_length)s ký tự"),
    "too_long": N_("trường %(field)s có quá %(max_length)s phần tử"),
    "json_too_long": N_("trường %(field)s dài quá %(limit)s ký tự khi ghi dạng JSON"),
    "json_too_deep": N_("trường %(field)s lồng quá %(limit)s tầng"),
    "date_out_of_range": N_("trường %(field)s: ngày %(value)s nằm ngoài khoảng %(first)s–%(last)s mà hệ thống nhận"),
}
# The same in a scan, where it is the custody ledger that could not keep it as it would hash it.
UNKEPT = {
    "unstorable_text": N_("trường %(field)s có ký tự U+%(char)s (ký tự điều khiển hoặc mã không hợp lệ), "
                          "không thể ghi vào sổ giao nhận"),
    "string_unicode": N_("trường %(field)s có mã lẻ của một cặp UTF-16 (ký tự bị cắt đôi), không thể ghi vào sổ "
                         "giao nhận"),
}


class RefusedValue(Unprocessable):
    """A value no record can keep, in a body whose other refusals are 422s."""

    message = N_("Dữ liệu gửi lên không hợp lệ: %(detail)s")


class BodyTooLarge(PostalError):
    status, code, message = 413, "body_too_large", N_(
        "Dữ liệu gửi lên quá lớn: mỗi yêu cầu tối đa %(limit)s. Hãy chia nhỏ (ví dụ gửi các lần quét thành nhiều lô) "
        "rồi gửi lại.")


class UnstorableInput(PostalError):
    """A path segment, query parameter or form field holding a character no table can keep."""

    status, code, message = 400, "unstorable_text", N_(
        "Trường %(field)s có ký tự U+%(char)s (ký tự điều khiển hoặc mã không hợp lệ): hãy bỏ ký tự đó rồi gửi lại.")


class OtpRequired(ScanRejected):
    status, code, message = 400, "otp_required", N_("Giao bì %(parcel)s cần mã OTP của người dân và họ tên người nhận.")


class WrongOtp(ScanRejected):
    status, code, message = 409, "wrong_otp", N_("Mã OTP không đúng cho bì %(parcel)s (còn %(left)s lần thử).")


class OtpLocked(ScanRejected):
    status, code, message = 409, "otp_locked", N_("Bì %(parcel)s chưa có mã OTP còn dùng được (mã đã gửi bị khoá sau nhiều lần sai): hãy quét “đang giao” để gửi mã mới.")


class ProofLocked(ScanRejected):
    """Past the parcel's budget of wrong codes or new codes: only a person can let codes deliver it again."""

    status, code, message = 409, "proof_locked", N_(
        "Bì %(parcel)s đã bị khoá giao bằng mã OTP (%(why)s). Chỉ giám sát viên mở khoá được, bằng cách đóng cảnh báo "
        "“khoá giao bằng mã OTP” trên bảng theo dõi; hoặc mang bì về quầy để giao sau khi kiểm tra giấy tờ người nhận.")


class NotForDelivery(ScanRejected):
    status, code, message = 409, "not_for_delivery", N_("Bì %(parcel)s không phải kết quả giao tận nhà.")


class NotLate(Conflict):
    code, message = "not_late", N_("Hồ sơ %(code)s chưa trễ hẹn và chưa sắp đến hạn (hẹn trả %(due)s): chưa cần phiếu "
                                   "xin lỗi, hẹn lại.")


class Phrase:
    """A translatable fragment placed inside another message (e.g. a parcel's state)."""

    __slots__ = ("text", "params")

    def __init__(self, text: str, **params: object) -> None:
        self.text = text
        self.params = params

    def __str__(self) -> str:
        return self.text % self.params if self.params else self.text


# Shuttle runs (chuyến).
class NotAStop(ScanRejected):
    code, message = "not_a_stop", N_("Chuyến %(run)s không dừng ở %(site)s.")


class TooEarlyToStart(PostalError):
    status, code, message = 409, "too_early", N_("Chuyến %(run)s khởi hành lúc %(departs)s: chỉ bắt đầu được từ %(earliest)s.")


class OutsideWorkingHours(PostalError):
    status, code, message = 422, "outside_working_hours", N_(
        "Chuyến %(departs)s %(what)s lúc %(at)s, ngoài giờ làm việc của %(site)s (%(opens)s–%(closes)s).")


class RunClosed(ScanRejected):
    code, message = "run_closed", N_("Chuyến %(run)s đã kết thúc.")


class NotYourRun(ScanRejected):
    status, code, message = 403, "not_your_run", N_("Chuyến %(run)s được phân công cho bưu tá %(courier)s.")


class RunStateConflict(Conflict):
    code, message = "run_state", N_("Chuyến %(run)s %(state)s, không thể %(action)s.")


class NoCourier(Conflict):
    code, message = "no_courier", N_("Chuyến %(run)s chưa được phân công bưu tá.")


class UnknownStop(NotFound):
    code, message = "unknown_stop", N_("Chuyến %(run)s không có điểm dừng số %(seq)s.")


class RunTemplateExists(Conflict):
    code, message = "run_template_exists", N_("Mẫu chuyến %(name)s lúc %(departs)s đã có với nội dung khác.")


# The watch (cảnh báo).
class AlertClosed(Conflict):
    code, message = "alert_resolved", N_("Cảnh báo số %(alert)s đã được đóng lúc %(at)s.")


# The admin's changes.
class LastAdmin(Conflict):
    code, message = "last_admin", N_("Không thể %(action)s tài khoản %(username)s: đây là quản trị viên cuối cùng còn "
                                     "hoạt động. Hãy tạo hoặc cấp quyền quản trị cho một tài khoản khác trước.")


class SiteInUse(Conflict):
    code, message = "site_in_use", N_("Không thể ngừng dùng điểm %(code)s: còn %(count)s bì hồ sơ đang ở đó.")


class SiteOnLines(Conflict):
    code, message = "site_on_lines", N_("Không thể ngừng dùng điểm %(code)s: %(count)s mẫu chuyến đang dùng còn dừng ở "
                                        "đó (%(names)s). Hãy sửa hoặc ngừng các mẫu chuyến đó trước.")


class SiteInactive(Conflict):
    code, message = "site_inactive", N_("Điểm %(code)s đã ngừng dùng.")


class ProcedureExists(Conflict):
    code, message = "procedure_exists", N_("Thủ tục “%(name)s” của %(agency)s đã có trong danh mục (số %(id)s).")


class ProcedureInUse(Conflict):
    code, message = "procedure_in_use", N_("Không thể đổi tên hay cơ quan giải quyết của thủ tục số %(id)s: đã có "
                                           "%(count)s hồ sơ tiếp nhận theo thủ tục này. Hãy ngừng dùng thủ tục này và "
                                           "tạo thủ tục mới.")
