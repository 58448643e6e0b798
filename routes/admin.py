"""Pages for admins: sites, staff accounts and their API tokens, and the log of the admin's changes."""

from __future__ import annotations

import json

from flask import Blueprint, current_app, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import FloatField, PasswordField, SelectChoice, SelectField, StringField, TimeField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from models import Role, SiteKind, User
from postal import accounts, changes, sites, vault
from postal.clock import utcnow
from postal.errors import PostalError, Unprocessable
from routes.forms import Form
from routes.auth import page_for
from routes.formats import ROLE_NAMES, SITE_KINDS
from routes.i18n import message_of
from routes.inputs import PAGE_DAY, PAGE_DAY_WORDING, day_in
from routes.session import get_session, settings

bp = Blueprint("admin", __name__, url_prefix="/admin")
ISSUED = "admin.issued_token"  # the session key holding a token just issued, sealed, until the page shows it once
OBJECT_NAMES = {"run_template": _l("Mẫu chuyến"), "user": _l("Tài khoản"), "token": _l("Mã truy cập"),
                "site": _l("Điểm giao nhận"), "procedure": _l("Thủ tục"),
                "onestop_unit": _l("Mã đơn vị một cửa")}
CHANGE_NAMES = {"created": _l("Tạo mới"), "edited": _l("Sửa"), "deactivated": _l("Ngừng, khoá"),
                "reactivated": _l("Dùng lại"), "password_reset": _l("Đặt lại mật khẩu"), "issued": _l("Cấp mã"),
                "revoked": _l("Thu hồi"), "regenerated": _l("Tạo lại các chuyến"),
                "removed": _l("Bỏ")}


class SiteForm(Form):
    code = StringField(_l("Mã điểm"), validators=[DataRequired(), Length(max=32)])
    kind = SelectField(_l("Loại"), choices=[SelectChoice(k.value, SITE_KINDS[k.value]) for k in SiteKind])
    name = StringField(_l("Tên"), validators=[DataRequired(), Length(max=200)])
    address = StringField(_l("Địa chỉ"), validators=[Optional(), Length(max=300)])
    ward_code = StringField(_l("Mã xã, phường (5 chữ số)"), validators=[
        Optional(), Regexp(r"^[0-9]{5}$", message=_l("Gồm đúng 5 chữ số, ví dụ 06673."))])
    lat = FloatField(_l("Vĩ độ"), validators=[Optional(), NumberRange(-90, 90)])
    lon = FloatField(_l("Kinh độ"), validators=[Optional(), NumberRange(-180, 180)])
    opens_at = TimeField(_l("Giờ mở cửa"), validators=[Optional()])
    closes_at = TimeField(_l("Giờ đóng cửa"), validators=[Optional()])


class UserForm(Form):
    username = StringField(_l("Tên đăng nhập"), validators=[DataRequired(), Length(max=64)])
    full_name = StringField(_l("Họ và tên"), validators=[Optional(), Length(max=120)])
    role = SelectField(_l("Vai trò"), choices=[SelectChoice(r.value, ROLE_NAMES[r.value]) for r in Role])
    site = SelectField(_l("Nơi làm việc"), choices=[])
    password = PasswordField(_l("Mật khẩu"), validators=[DataRequired(), Length(min=8, max=200)])


class EditUserForm(Form):
    full_name = StringField(_l("Họ và tên"), validators=[Optional(), Length(max=120)])
    role = SelectField(_l("Vai trò"), choices=[SelectChoice(r.value, ROLE_NAMES[r.value]) for r in Role])
    site = SelectField(_l("Nơi làm việc"), choices=[])


class PasswordForm(Form):
    password = PasswordField(_l("Mật khẩu mới"), validators=[DataRequired(), Length(min=8, max=200)])


class TokenForm(Form):
    username = SelectField(_l("Tài khoản"), choices=[])
    name = StringField(_l("Tên thiết bị hoặc hệ thống"), validators=[Optional(), Length(max=100)])


def network() -> list:
    return sorted(sites.by_code(get_session()).values(), key=lambda s: (s.kind, s.code))


def staff() -> list[User]:
    return accounts.list_users(get_session())


def site_choices() -> list[SelectChoice]:
    return [SelectChoice("", gettext("— không —"))] + [SelectChoice(s.code, f"{s.code} — {s.name}") for s in network()
                                                        if s.active]


def refused(form_field, err: PostalError) -> None:
    """A refusal shown beside the field it is about; nothing was written."""
    get_session().rollback()
    form_field.errors = [*form_field.errors, message_of(err)]


@bp.get("/")
@page_for(Role.ADMIN)
def index():
    return render_template("admin/index.html", sites=network(), users=staff())


# -- sites -------------------------------------------------------------------------------------------


def save_site(form: SiteForm):
    return sites.save_site(get_session(), code=form.code.data, kind=form.kind.data, name=form.name.data.strip(),
                           address=(form.address.data or "").strip(), ward_code=form.ward_code.data or None,
                           lat=form.lat.data, lon=form.lon.data, opens_at=form.opens_at.data,
                           closes_at=form.closes_at.data, by=current_user.user, at=utcnow())


@bp.route("/sites", methods=["GET", "POST"])
@page_for(Role.ADMIN)
def site_list():
    form = SiteForm()
    if form.validate_on_submit():
        try:
            site = save_site(form)
        except PostalError as err:
            refused(form.code, err)
        else:
            current_app.logger.info("admin %s saved site %s", current_user.username, site.code)
            flash(gettext("Đã lưu điểm %(code)s.") % {"code": site.code}, "ok")
            return redirect(url_for("admin.site_list"))
    return render_template("admin/sites.html", form=form, sites=network())


@bp.route("/sites/<code>", methods=["GET", "POST"])
@page_for(Role.ADMIN)
def site_page(code: str):
    site = sites.site_named(get_session(), code)
    form = SiteForm(obj=site)
    form.code.data = site.code
    if form.validate_on_submit():
        try:
            save_site(form)
        except PostalError as err:
            refused(form.name, err)
        else:
            flash(gettext("Đã lưu điểm %(code)s.") % {"code": site.code}, "ok")
            return redirect(url_for("admin.site_page", code=site.code))
    return render_template("admin/site.html", form=form, site=site)


@bp.post("/sites/<code>/active")
@page_for(Role.ADMIN)
def set_site_active(code: str):
    active = request.form.get("active") == "1"
    try:
        site = sites.set_active(get_session(), code, active, at=utcnow(), by=current_user.user)
    except PostalError as err:
        if err.status == 404:
            raise
        get_session().rollback()
        flash(message_of(err), "error")
        return redirect(url_for("admin.site_page", code=code))
    flash((gettext("Đã dùng lại điểm %(code)s.") if active else gettext("Đã ngừng dùng điểm %(code)s."))
          % {"code": site.code}, "ok")
    return redirect(url_for("admin.site_page", code=site.code))


# -- accounts ----------------------------------------------------------------------------------------


@bp.route("/users", methods=["GET", "POST"])
@page_for(Role.ADMIN)
def user_list():
    form = UserForm()
    form.site.choices = site_choices()
    if form.validate_on_submit():
        try:
            user = accounts.add_user(get_session(), form.username.data, role=form.role.data,
                                     site_code=form.site.data or None, password=form.password.data,
                                     full_name=(form.full_name.data or "").strip(), at=utcnow(), by=current_user.user,
                                     profile=settings().argon2_profile)
        except PostalError as err:
            refused(form.username, err)
        else:
            current_app.logger.info("admin %s added user %s (%s)", current_user.username, user.username, user.role)
            flash(gettext("Đã tạo tài khoản %(username)s.") % {"username": user.username}, "ok")
            return redirect(url_for("admin.user_list"))
    return render_template("admin/users.html", form=form, users=staff(), sites={s.id: s for s in network()})


@bp.route("/users/<username>", methods=["GET", "POST"])
@page_for(Role.ADMIN)
def user_page(username: str):
    user = accounts.user_named(get_session(), username)
    here = {s.id: s for s in network()}
    form = EditUserForm(data={"full_name": user.full_name, "role": user.role,
                              "site": here[user.site_id].code if user.site_id in here else ""})
    form.site.choices = site_choices()
    if form.validate_on_submit():
        try:
            accounts.update_user(get_session(), user.username, full_name=form.full_name.data or "", role=form.role.data,
                                 site_code=form.site.data or None, at=utcnow(), by=current_user.user)
        except PostalError as err:
            refused(form.site if err.params.get("field") == "site" else form.role, err)
        else:
            flash(gettext("Đã lưu tài khoản %(username)s.") % {"username": user.username}, "ok")
            return redirect(url_for("admin.user_page", username=user.username))
    return render_template("admin/user.html", user=user, form=form, password_form=PasswordForm(formdata=None),
                           site=here.get(user.site_id), tokens=accounts.list_tokens(get_session(), user.username),
                           now=utcnow())


@bp.post("/users/<username>/password")
@page_for(Role.ADMIN)
def reset_password(username: str):
    form = PasswordForm()
    if not form.validate_on_submit():
        raise Unprocessable(field=gettext("Mật khẩu mới"), detail=gettext("từ 8 đến 200 ký tự"))
    user = accounts.reset_password(get_session(), username, form.password.data, at=utcnow(), by=current_user.user,
                                   profile=settings().argon2_profile)
    current_app.logger.info("admin %s reset the password of %s", current_user.username, user.username)
    flash(gettext("Đã đặt mật khẩu mới cho %(username)s: các phiên đăng nhập cũ của tài khoản đã dừng.")
          % {"username": user.username}, "ok")
    return redirect(url_for("admin.user_page", username=user.username))


@bp.post("/users/<username>/deactivate")
@page_for(Role.ADMIN)
def deactivate_user(username: str):
    try:
        revoked = accounts.deactivate_user(get_session(), username, at=utcnow(), by=current_user.user)
    except PostalError as err:
        if err.status == 404:
            raise
        get_session().rollback()
        flash(message_of(err), "error")
        return redirect(url_for("admin.user_list"))
    current_app.logger.info("admin %s deactivated %s (%d tokens revoked)", current_user.username, username, revoked)
    flash(gettext("Đã khoá tài khoản %(username)s: phiên đăng nhập và %(count)s mã truy cập dừng ngay.")
          % {"username": username, "count": revoked}, "ok")
    return redirect(url_for("admin.user_list"))


# -- tokens ------------------------------------------------------------------------------------------


@bp.get("/tokens")
@page_for(Role.ADMIN)
def token_issue():
    form = token_form()
    shown = session.pop(ISSUED, None)  # shown once: a reload of this page finds nothing to show
    issued = json.loads(vault.unseal(settings(), shown)) if shown else None
    response = make_response(render_template("admin/tokens.html", form=form, issued=issued,
                                             tokens=accounts.list_tokens(get_session()), now=utcnow(),
                                             days=settings().token_days))
    response.headers["Cache-Control"] = "no-store"  # the token is shown once and must not stay in a cache
    return response


def token_form() -> TokenForm:
    form = TokenForm()
    form.username.choices = [SelectChoice(u.username, f"{u.username} — {ROLE_NAMES.get(u.role, u.role)}")
                             for u in staff() if u.active]
    return form


@bp.post("/tokens")
@page_for(Role.ADMIN)
def issue_token():
    """Issue a token, then send the browser to the list (POST-redirect-GET): reloading never issues another.
    The token rides in the session, sealed, until the next page shows it once."""
    form = token_form()
    if not form.validate_on_submit():
        raise Unprocessable(field=gettext("Tài khoản"), detail=gettext("chọn một tài khoản đang hoạt động"))
    token = accounts.issue_token(get_session(), form.username.data, name=(form.name.data or "").strip(), at=utcnow(),
                                 days=settings().token_days, by=current_user.user)
    current_app.logger.info("admin %s issued a token for %s", current_user.username, form.username.data)
    session[ISSUED] = vault.seal(settings(), json.dumps({"token": token, "username": form.username.data}))
    return redirect(url_for("admin.token_issue"), 303)


@bp.post("/tokens/<int:token_id>/revoke")
@page_for(Role.ADMIN)
def revoke_token(token_id: int):
    token = accounts.revoke_token(get_session(), token_id, at=utcnow(), by=current_user.user)
    current_app.logger.info("admin %s revoked token %d of %s", current_user.username, token.id, token.username)
    flash(gettext("Đã thu hồi mã truy cập số %(id)s của %(username)s.") % {"id": token.id, "username": token.username},
          "ok")
    if request.form.get("back") == "user":  # revoked from the account's page: back there
        return redirect(url_for("admin.user_page", username=token.username))
    return redirect(url_for("admin.token_issue"))


# -- the audit log -----------------------------------------------------------------------------------


@bp.get("/audit")
@page_for(Role.ADMIN)
def audit():
    kind = request.args.get("object") if request.args.get("object") in changes.OBJECT_TYPES else None
    key = (request.args.get("key") or "").strip()[:64] or None
    since = day_in(request.args, "from", None, shapes=PAGE_DAY, wording=PAGE_DAY_WORDING)
    until = day_in(request.args, "to", None, shapes=PAGE_DAY, wording=PAGE_DAY_WORDING)
    found = changes.changes(get_session(), object_type=kind, object_key=key, since=since, until=until)
    return render_template("admin/audit.html", changes=found, kind=kind, key=key or "", since=since, until=until,
                           object_names=OBJECT_NAMES, change_names=CHANGE_NAMES, limit=changes.PAGE)
