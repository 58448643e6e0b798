"""Pages for postal staff, couriers and agency clerks: scanning, parcels and dossiers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from models import Action, Role, SiteKind
from models.custody import SCAN_ACTIONS
from models.dossiers import DossierOut, ParcelOut
from models.enums import STAFF
from postal import custody, dossiers, labels, sites
from postal.clock import local, utcnow
from routes.auth import page_for, page_headers
from routes.formats import PARCEL_STATES, action_name, has_page
from routes.session import get_session, settings

bp = Blueprint("staff", __name__)
bp.after_request(page_headers)
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
    found = dossiers.get_parcel(session, code)
    brief = dossiers.parcel_out(session, found, settings())
    detail = dossiers.dossier_detail(session, brief.dossier, viewer=current_user.user, settings=settings(), now=utcnow())
    shown = next(p for p in detail.parcels if p.code == found.code)
    names = site_names()
    return render_template("staff/parcel.html", dossier=detail.dossier, parcel=shown,
                           sheet=control_sheet(shown, detail.dossier, names), printed_at=utcnow())


@bp.get("/dossiers/<path:code>")
@page_for(*STAFF)
def dossier(code: str):
    detail = dossiers.dossier_detail(get_session(), code, viewer=current_user.user, settings=settings(), now=utcnow())
    names = site_names()
    sheets = {p.code: control_sheet(p, detail.dossier, names) for p in detail.parcels}
    return render_template("staff/dossier.html", dossier=detail.dossier, parcels=detail.parcels, sheets=sheets,
                           printed_at=utcnow())


def site_names() -> dict[str, str]:
    return {c: s.name for c, s in sites.by_code(get_session()).items()}


# -- the control sheet (mẫu 05) -------------------------------------------------------------
@dataclass
class SheetRow:
    """One handoff as the control sheet lists it: from whom to whom, when, and how it stood."""

    action: str
    handed_by: str  # "Giao:" the unit or person handing over
    taken_by: str  # "Nhận:" the unit or person taking over
    at: datetime
    giver: str
    receiver: str
    result: str
    note: str


def holder_words(holder: str, names: dict[str, str]) -> str:
    kind, _, key = holder.partition(":")
    if kind == "site":
        return names.get(key, key)
    if kind == "courier":
        return gettext("Bưu tá %(name)s") % {"name": key}
    if kind == "citizen":
        return gettext("Công dân")
    return "—"


def timeliness(at: datetime, due_at: datetime) -> str:
    """Before, on or after the appointment day (trước hạn / đúng hạn / quá hạn)."""
    if at > due_at:
        return gettext("Quá hạn")
    if local(at).date() == local(due_at).date():
        return gettext("Đúng hạn")
    return gettext("Trước hạn")


def control_sheet(parcel: ParcelOut, dossier: DossierOut, names: dict[str, str]) -> list[SheetRow]:
    """The parcel's custody events read as the rows of the control sheet."""
    rows = []
    last_courier = ""
    for e in parcel.timeline:
        evidence = e.evidence or {}
        giver, receiver = "", ""
        handed_by, taken_by = holder_words(e.from_holder, names), holder_words(e.to_holder, names)
        notes = [e.note] if e.note else []
        if e.action == Action.ACCEPT:
            handed_by, giver, receiver = gettext("Công dân"), dossier.applicant.name, e.actor or ""
        elif e.action == Action.PICKUP:
            receiver = last_courier = e.actor or ""
        elif e.action == Action.HANDOVER:
            giver = last_courier = e.actor or ""
            notes.append(gettext("chờ bên nhận xác nhận"))
        elif e.action == Action.RECEIVE:
            courier = e.from_holder.partition(":")[2] if e.from_holder.startswith("courier:") else last_courier
            handed_by = holder_words(f"courier:{courier}", names) if courier else handed_by
            giver, receiver = courier, e.actor or ""
            if evidence.get("receiver_only"):
                notes.append(gettext("chỉ bên nhận xác nhận (không có lần quét bàn giao)"))
        else:
            notes.append(gettext("%(action)s, quét bởi %(user)s") % {"action": action_name(e.action), "user": e.actor or "?"})
            if evidence.get("missing"):
                notes.append(gettext("thiếu: %(codes)s") % {"codes": ", ".join(evidence["missing"])})
        if evidence.get("typed"):
            notes.append(gettext("nhập mã bằng tay"))
        rows.append(SheetRow(action=e.action, handed_by=handed_by, taken_by=taken_by, at=e.at, giver=giver or "—",
                             receiver=receiver or "—", result=timeliness(e.at, dossier.due_at), note="; ".join(notes)))
    return rows

