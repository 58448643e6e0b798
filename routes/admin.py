"""Pages for admins: sites, staff accounts and their API tokens."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from routes.forms import Form
from wtforms import FloatField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from models import Role, SiteKind, User
from postal import accounts, sites
from postal.clock import utcnow
from postal.errors import PostalError
from routes.auth import page_for
from routes.formats import ROLE_NAMES, SITE_KINDS
from routes.i18n import message_of
from routes.session import get_session, settings

bp = Blueprint("admin", __name__, url_prefix="/admin")


class SiteForm(Form):
    code = StringField(_l("Mã điểm"), validators=[DataRequired(), Length(max=32)])
    kind = SelectField(_l("Loại"), choices=[SelectChoice(k.value, SITE_KINDS[k.value]) for k in SiteKind])
    name = StringField(_l("Tên"), validators=[DataRequired(), Length(max=200)])
    address = StringField(_l("Địa chỉ"), validators=[Optional(), Length(max=300)])
    ward_code = StringField(_l("Mã xã, phường (5 chữ số)"), validators=[
        Optional(), Regexp(r"^[0-9]{5}$", message=_l("Gồm đúng 5 chữ số, ví dụ 06673."))])
    lat = FloatField(_l("Vĩ độ"), validators=[Optional(), NumberRange(-90, 90)])
    lon = FloatField(_l("Kinh độ"), validators=[Optional(), NumberRange(-180, 180)])


class UserForm(Form):
    username = StringField(_l("Tên đăng nhập"), validators=[DataRequired(), Length(max=64)])
    full_name = StringField(_l("Họ và tên"), validators=[Optional(), Length(max=120)])
    role = SelectField(_l("Vai trò"), choices=[SelectChoice(r.value, ROLE_NAMES[r.value]) for r in Role])
    site = SelectField(_l("Nơi làm việc"), choices=[])
    password = PasswordField(_l("Mật khẩu"), validators=[DataRequired(), Length(min=8, max=200)])


class TokenForm(Form):
    username = SelectField(_l("Tài khoản"), choices=[])
    name = StringField(_l("Tên thiết bị hoặc hệ thống"), validators=[Optional(), Length(max=100)])


def network() -> list:
    return sorted(sites.by_code(get_session()).values(), key=lambda s: (s.kind, s.code))


def staff() -> list[User]:
    return accounts.list_users(get_session())


@bp.get("/")
@page_for(Role.ADMIN)
def index():
    return render_template("admin/index.html", sites=network(), users=staff())


@bp.route("/sites", methods=["GET", "POST"])
@page_for(Role.ADMIN)
def site_list():
    form = SiteForm()
    if form.validate_on_submit():
        session = get_session()
        try:
            site = sites.save_site(session, code=form.code.data, kind=form.kind.data, name=form.name.data.strip(),
                                   address=(form.address.data or "").strip(), ward_code=form.ward_code.data or None,
                                   lat=form.lat.data, lon=form.lon.data)
        except PostalError as err:
            session.rollback()
            form.code.errors.append(message_of(err))
        else:
            current_app.logger.info("admin %s saved site %s", current_user.username, site.code)
            flash(gettext("Đã lưu điểm %(code)s.") % {"code": site.code}, "ok")
            return redirect(url_for("admin.site_list"))
    return render_template("admin/sites.html", form=form, sites=network())


@bp.route("/users", methods=["GET", "POST"])
@page_for(Role.ADMIN)
def user_list():
    form = UserForm()
    form.site.choices = [SelectChoice("", gettext("— không —"))] + [
        SelectChoice(s.code, f"{s.code} — {s.name}") for s in network()]
    if form.validate_on_submit():
        try:
            user = accounts.add_user(get_session(), form.username.data, role=form.role.data,
                                     site_code=form.site.data or None, password=form.password.data,
                                     full_name=(form.full_name.data or "").strip(), at=utcnow())
        except PostalError as err:
            get_session().rollback()
            form.username.errors.append(message_of(err))
        else:
            current_app.logger.info("admin %s added user %s (%s)", current_user.username, user.username, user.role)
            flash(gettext("Đã tạo tài khoản %(username)s.") % {"username": user.username}, "ok")
            return redirect(url_for("admin.user_list"))
    return render_template("admin/users.html", form=form, users=staff(), sites={s.id: s for s in network()})


@bp.post("/users/<username>/deactivate")
@page_for(Role.ADMIN)
def deactivate_user(username: str):
    revoked = accounts.deactivate_user(get_session(), username, at=utcnow())
    current_app.logger.info("admin %s deactivated %s (%d tokens revoked)", current_user.username, username, revoked)
    flash(gettext("Đã khoá tài khoản %(username)s: phiên đăng nhập và %(count)s mã truy cập dừng ngay.")
          % {"username": username, "count": revoked}, "ok")
    return redirect(url_for("admin.user_list"))


@bp.route("/tokens", methods=["GET", "POST"])
@page_for(Role.ADMIN)
def token_issue():
    form = TokenForm()
    form.username.choices = [SelectChoice(u.username, f"{u.username} — {ROLE_NAMES.get(u.role, u.role)}")
                             for u in staff() if u.active]
    token = None
    if form.validate_on_submit():
        token = accounts.issue_token(get_session(), form.username.data, name=(form.name.data or "").strip(),
                                     at=utcnow(), days=settings().token_days)
        current_app.logger.info("admin %s issued a token for %s", current_user.username, form.username.data)
    response = make_response(render_template("admin/tokens.html", form=form, token=token,
                                             username=form.username.data if token else None,
                                             tokens=accounts.list_tokens(get_session()), now=utcnow(),
                                             days=settings().token_days))
    response.headers["Cache-Control"] = "no-store"  # the token is shown once and must not stay in a cache
    return response


@bp.post("/tokens/<int:token_id>/revoke")
@page_for(Role.ADMIN)
def revoke_token(token_id: int):
    token = accounts.revoke_token(get_session(), token_id, at=utcnow())
    current_app.logger.info("admin %s revoked token %d of %s", current_user.username, token.id, token.username)
    flash(gettext("Đã thu hồi mã truy cập số %(id)s của %(username)s.") % {"id": token.id, "username": token.username},
          "ok")
    return redirect(url_for("admin.token_issue"))
