"""Pages for postal staff, couriers and agency clerks: scanning, parcels and dossiers."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from models import Action, Role, SiteKind
from models.custody import SCAN_ACTIONS
from models.dossiers import RedirectIn
from models.enums import REDIRECTORS, STAFF
from postal import apologies, control_sheet, custody, labels, printing, sites
from postal.clock import utcnow
from postal.errors import PostalError
from routes.auth import page_for
from routes.formats import PARCEL_STATES, has_page
from routes.i18n import message_of
from routes.session import get_session, settings

bp = Blueprint("staff", __name__)
DEFAULT_ACTION = {
    Role.COURIER: Action.PICKUP,
    Role.POSTAL_CLERK: Action.ACCEPT,
    Role.AGENCY_CLERK: Action.RECEIVE,
    Role.SUPERVISOR: Action.RECEIVE,
    Role.ADMIN: Action.RECEIVE,
}
SITE_ORDER = [SiteKind.CENTER, SiteKind.COMMUNE_CENTER, SiteKind.AGENCY, SiteKind.POST_OFFICE]


@bp.get("/")
def home():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    if current_user.role == Role.SUPERVISOR and has_page("/board"):
        return redirect(url_for("board.page"))
    if current_user.role == Role.ADMIN:
        return redirect(url_for("admin.index"))
    if current_user.role == Role.AGENCY_CLERK:
        return redirect(url_for("desk.page"))  # the agency's worklist first
    if current_user.role == Role.POSTAL_CLERK and current_user.site and current_user.site.kind != SiteKind.POST_OFFICE:
        return redirect(url_for("counter.page"))  # a center's clerk receives dossiers first
    return redirect(url_for("staff.scan"))


@bp.get("/scan")
@page_for(*STAFF)
def scan():
    role = current_user.role
    actions = [a for a in SCAN_ACTIONS if role in custody.ROLES[Action(a)]]
    network = sorted(sites.by_code(get_session()).values(),
                     key=lambda s: (SITE_ORDER.index(s.kind) if s.kind in SITE_ORDER else 9, s.name))
    home_site = current_user.site.code if current_user.site else ""
    return render_template(
        "staff/scan.html", actions=actions, default_action=DEFAULT_ACTION.get(role, actions[0]), sites=network,
        # A courier's pickup happens where the parcel is, so the server finds the site; clerks work at home.
        default_site="" if role == Role.COURIER else home_site, home_site=home_site,
        scan_strings=scan_strings(),
    )


def scan_strings() -> dict[str, str]:
    """What the scan page's script says, in the page's language."""
    return {
        "accepted": gettext("Đã ghi nhận"),
        "duplicate": gettext("Đã quét rồi"),
        "duplicate_detail": gettext("Lần quét này đã được ghi trước đó;"),
        "duplicate_first": gettext("Bì đã được quét bước này lúc %(time)s, không ghi thêm;"),
        "rejected": gettext("Bị từ chối"),
        "queued": gettext("Đã lưu, chờ gửi"),
        "queued_detail": gettext("Không có mạng: lần quét được giữ trên máy và sẽ tự gửi khi có mạng."),
        "bad_code": gettext("Mã không hợp lệ"),
        "bad_check": gettext("Sai số kiểm tra: chữ số thứ 11 phải là %(digit)s."),
        "bad_shape": gettext("Mã gồm 2 chữ cái, 9 chữ số và VN, ví dụ HC 1234 5678 9 VN."),
        "code_ok": gettext("Mã hợp lệ"),
        "typing": gettext("Đang nhập: %(count)s/13 ký tự"),
        "need_site": gettext("Chọn nơi bàn giao trước khi quét."),
        "pending": gettext("%(count)s đang chờ gửi"),
        "pending_other": gettext("%(count)s lần quét của tài khoản khác chờ người đó đăng nhập"),
        "sent_queue": gettext("Đã gửi %(count)s lần quét đang chờ."),
        "login_again": gettext("Phiên đăng nhập đã hết: hãy đăng nhập lại để gửi các lần quét đang chờ."),
        "server_error": gettext("Máy chủ chưa nhận được; sẽ thử lại."),
        "busy": gettext("Máy chủ đang bận, chưa ghi được; tự gửi lại sau %(seconds)s giây."),
        "session_count": gettext("Phiên này: %(accepted)s ghi nhận · %(duplicate)s trùng · %(rejected)s từ chối"),
        "holder_site": gettext("tại %(name)s"),
        "holder_courier": gettext("bưu tá %(name)s đang giữ"),
        "holder_awaiting": gettext("chờ %(name)s xác nhận"),
        "online": gettext("Có mạng"),
        "offline": gettext("Mất mạng"),
        "camera_start": gettext("Quét bằng camera"),
        "camera_stop": gettext("Tắt camera"),
        "camera_none": gettext("Không mở được camera trên thiết bị này; hãy dùng máy quét hoặc nhập mã."),
        "unbag_started": gettext("Mở túi %(bag)s: quét từng bì trong túi, rồi bấm Hoàn tất."),
        "unbag_added": gettext("Đã đếm %(count)s bì trong túi %(bag)s."),
        "unbag_need_bag": gettext("Quét nhãn túi (BG…) trước."),
        **{f"state_{k}": str(v) for k, v in PARCEL_STATES.items()},
    }


@bp.get("/find")
@page_for(*STAFF)
def find():
    """One search box for a parcel label (typed or scanned) or a dossier code."""
    raw = request.args.get("q", "").strip()
    code = raw.upper().split(labels.SEPARATOR)[0].replace(" ", "")
    if labels.is_valid_code(code) and code.startswith(labels.PARCEL_PREFIX):
        return redirect(url_for("staff.parcel", code=code))
    if raw:
        return redirect(url_for("staff.dossier", code=raw))
    return redirect(url_for("staff.scan"))


@bp.get("/parcels/<code>")
@page_for(*STAFF)
def parcel(code: str):
    session = get_session()
    found = control_sheet.for_parcel(session, code, viewer=current_user.user, settings=settings(), now=utcnow())
    targets = custody.redirect_targets(session, found.parcel.code, actor=current_user.user)
    return render_template("staff/parcel.html", dossier=found.dossier, parcel=found.parcel,
                           redirect_targets=targets, printed_at=utcnow(),
                           label_prints=printing.prints_of(session, found.parcel.code, viewer=current_user.user))


@bp.post("/parcels/<code>/redirect")
@page_for(*REDIRECTORS)
def redirect_parcel(code: str):
    """The parcel page's "Đổi nơi nhận" form; the domain decides who may and where to."""
    data = RedirectIn(destination=request.form.get("destination", "")[:32] or "-",
                      reason=request.form.get("reason", "")[:500] or " ")
    try:
        moved = custody.redirect(get_session(), code, data, actor=current_user.user, settings=settings(), now=utcnow())
    except PostalError as err:
        if err.status in (401, 403):
            raise
        flash(message_of(err), "error")
        return redirect(url_for("staff.parcel", code=code))
    flash(gettext("Đã đổi nơi nhận của bì %(code)s: %(site)s.") % {"code": moved.code, "site": moved.destination.name}, "ok")
    return redirect(url_for("staff.parcel", code=moved.code))


@bp.get("/dossiers/<path:code>")
@page_for(*STAFF)
def dossier(code: str):
    sheet = control_sheet.for_dossier(get_session(), code, viewer=current_user.user, settings=settings(), now=utcnow())
    apology = apologies.panel(get_session(), sheet.dossier.code, viewer=current_user.user, settings=settings(), now=utcnow())
    return render_template("staff/dossier.html", sheet=sheet, dossier=sheet.dossier, apology=apology,
                           printed_at=utcnow())
