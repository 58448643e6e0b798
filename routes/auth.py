"""Who is calling: a bearer token for devices and integrations, a login session for pages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, g, jsonify, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from routes.forms import Form
from flask_wtf.csrf import CSRFProtect, generate_csrf
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from models import Site, User
from postal import accounts, ratelimits
from postal.clock import utcnow
from postal.errors import Forbidden, NotAuthenticated
from routes.i18n import LANGUAGES
from routes.session import get_session, settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SHIFT = timedelta(hours=12)  # a page session lasts a working day, so an offline queue can still sync at its end
HSTS = "max-age=31536000; includeSubDomains"  # a year: production is served over HTTPS only

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(get_remote_address)


class PageUser(UserMixin):
    """A logged-in member of staff, as Flask-Login sees them; `.user` is the row the domain takes."""

    def __init__(self, user: User, site: Site | None) -> None:
        self.user = user
        self.site = site

    def get_id(self) -> str:
        # The cookie names the session version too: after a logout or a deactivation it no longer matches.
        return f"{self.user.id}:{self.user.session_version}"

    @property
    def is_active(self) -> bool:
        return self.user.active

    @property
    def username(self) -> str:
        return self.user.username

    @property
    def role(self) -> str:
        return self.user.role


def init_app(app: Flask) -> None:
    """Sessions, CSRF and the login rate limit, with cookies safe outside development."""
    relaxed = settings_of(app).development or app.config.get("TESTING", False)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=not relaxed,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=not relaxed,
        PERMANENT_SESSION_LIFETIME=SHIFT,
        # Checked by protect_forms() and, for the API, only when the login cookie authenticates.
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=int(SHIFT.total_seconds()),
        RATELIMIT_HEADERS_ENABLED=True,
    )
    # Counted where every worker counts (Settings: Redis when several serve); should that store stop
    # answering, each worker counts in its own memory until it is back, rather than failing the request.
    settings = settings_of(app)
    app.config.setdefault("RATELIMIT_STORAGE_URI", settings.ratelimit_storage_uri)
    # The key prefix goes to the store, not to Flask-Limiter's RATELIMIT_KEY_PREFIX: the limiter is one object
    # per process and keeps the first prefix it was given, while the store is made anew for each app.
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", ratelimits.store_options(settings.ratelimit_storage_uri,
                                                                                settings.ratelimit_key_prefix))
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", not settings.ratelimit_storage_uri.startswith("memory"))
    app.config.setdefault("LOGIN_RATE_LIMIT", settings.login_rate_limit)
    login_manager.init_app(app)
    login_manager.session_protection = "basic"
    csrf.init_app(app)
    limiter.init_app(app)
    app.before_request(protect_forms)
    app.after_request(secure_headers)
    app.register_blueprint(bp)


def settings_of(app: Flask):
    return app.extensions["postal.settings"]


@login_manager.user_loader
def load_user(session_id: str) -> PageUser | None:
    """The user of a login cookie ("id:session version"), checked against the database on every request."""
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None  # a cookie from before session versions, or a forged one
    found = accounts.page_user(get_session(), int(user_id), int(version))
    if found is None:
        g.session_ended = True  # logged out elsewhere, or the account was locked: the login page says so
        return None
    return PageUser(*found)


def check_csrf() -> None:
    """400 (csrf_failed) unless the request carries the session's CSRF token (form field or X-CSRFToken)."""
    if current_app.config["WTF_CSRF_ENABLED"]:
        csrf.protect()


def protect_forms() -> None:
    """Every page form carries the CSRF token; the API is checked in current_actor() instead."""
    if request.method in SAFE_METHODS or request.path.startswith("/api/"):
        return
    check_csrf()


def secure_headers(response):
    """On every response (pages, the API, static files, 404s and errors): no sniffing, no framing, the
    content policy, and HTTPS only in production."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    page_headers(response)
    if not settings_of(current_app).development:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def page_headers(response):
    """A strict content policy: scripts and styles only from this server (a blueprint may widen it first,
    as the board does for its map tiles)."""
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; object-src 'none'; "
        "base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
    )
    return response


# -- who is calling -------------------------------------------------------------------------
def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip()


def token_user() -> accounts.Actor | None:
    """The user of the request's bearer token, if any."""
    token = bearer_token()
    if not token:
        return None
    return accounts.user_for_token(get_session(), token, now=utcnow())


def session_user() -> User | None:
    """The user of the page session, if any; a state-changing call must then carry the CSRF token."""
    if not current_user.is_authenticated:
        return None
    if request.method not in SAFE_METHODS:
        check_csrf()  # the browser sends the cookie on its own: a forged cross-site request must fail
    return current_user.user


def current_actor() -> User | accounts.Actor:
    """The authenticated caller, or 401: the bearer token when there is an Authorization header, else the login."""
    if "actor" not in g:
        g.actor = token_user() if "Authorization" in request.headers else session_user()
    if g.actor is None:
        raise NotAuthenticated()
    return g.actor


def roles_required(*roles: str) -> Callable:
    """Refuse (403, logged by routes.errors) a caller whose role is not among these."""
    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def guarded(*args, **kwargs):
            actor = current_actor()
            if actor.role not in roles:
                raise Forbidden(role=actor.role)
            return view(*args, **kwargs)
        guarded.roles = frozenset(roles)  # what the OpenAPI document says of it (routes/openapi.py)
        return guarded
    return decorate


def page_for(*roles: str) -> Callable:
    """A page for these roles: log in first; another role gets 403 (logged by routes.errors)."""
    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def guarded(*args, **kwargs):
            if not current_user.is_authenticated:
                ended = {"ended": 1} if g.get("session_ended") else {}
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?"), **ended))
            if roles and current_user.role not in roles:
                raise Forbidden(role=current_user.role)
            return view(*args, **kwargs)
        return guarded
    return decorate


def safe_next(target: str | None, default: str = "/") -> str:
    """Only a path on this site: a login link must not send people elsewhere."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


# -- pages ----------------------------------------------------------------------------------
class LoginForm(Form):
    username = StringField(_l("Tên đăng nhập"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Mật khẩu"), validators=[DataRequired(), Length(max=200)])


def failed_login(response) -> bool:
    """Only attempts that did not log in count towards the limit."""
    return response.status_code != 302


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"],
               deduct_when=failed_login)
def login():
    form = LoginForm()
    failed = False
    if form.validate_on_submit():
        user = accounts.check_password(get_session(), form.username.data, form.password.data,
                                       profile=settings().argon2_profile)
        if user is not None:
            lang = session.get("lang")
            session.clear()  # a new login starts a new session (and a new CSRF token)
            if lang:
                session["lang"] = lang
            session.permanent = True
            login_user(load_user(f"{user.id}:{user.session_version}"))
            current_app.logger.info("login: %s (%s) from %s", user.username, user.role, request.remote_addr)
            return redirect(safe_next(request.args.get("next")))
        failed = True
        current_app.logger.warning("login failed: %r from %s", form.username.data[:64], request.remote_addr)
    return render_template("auth/login.html", form=form, failed=failed), 401 if failed else 200


@bp.post("/logout")
def logout():
    """Log out here and wherever else this user is logged in: the server ends the session, not only the cookie."""
    lang = session.get("lang")
    if current_user.is_authenticated:
        accounts.log_out(get_session(), current_user.user.id, current_user.user.session_version)
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang
    return redirect(url_for("auth.login", bye=1))


@bp.post("/lang")
def choose_language():
    """The language switch: kept in the session, read by routes.i18n.pick_locale."""
    lang = request.form.get("lang", "")
    if lang in LANGUAGES:
        session["lang"] = lang
    return redirect(safe_next(request.form.get("next")))


@bp.get("/csrf-token")
def fresh_csrf_token():
    """A fresh token for a page that was opened long ago (or offline) and now sends its queue."""
    if not current_user.is_authenticated:
        raise NotAuthenticated()
    response = jsonify(csrf_token=generate_csrf())
    response.headers["Cache-Control"] = "no-store"
    return response
