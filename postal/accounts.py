"""Staff accounts: argon2 passwords for pages, bearer tokens for devices and integrations."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import NamedTuple

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlmodel import Session

from models import ApiToken, Role, Site, User
from models.enums import SITED
from postal import changes, db
from postal.changes import Person
from postal.clock import as_utc, local
from postal.config import Settings
from postal.errors import (
    N_,
    AccountDeactivated,
    Conflict,
    LastAdmin,
    NotFound,
    Phrase,
    TokenExpired,
    TokenRevoked,
    Unprocessable,
    WriteBusy,
)

LAST_USE_GRAIN = timedelta(minutes=15)  # a token's last use is written at most this often
TOKEN_DAYS = Settings.model_fields["token_days"].default  # a token's lifetime when the caller names none


PROFILE = Settings.model_fields["argon2_profile"].default  # the hashing profile when the caller names none


@cache
def _hasher(profile: str = PROFILE) -> PasswordHasher:
    """A password hasher of the installation's profile (the argon2_profile setting, which callers pass);
    verifying reads a hash's own parameters, whatever the profile."""
    return PasswordHasher.from_parameters(getattr(profiles, profile.upper()))


@cache
def _dummy_hash(profile: str = PROFILE) -> str:
    """Verified against when the username is unknown, so a wrong name costs as long as a wrong password."""
    return _hasher(profile).hash("not-a-password")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(session: Session, username: str, *, role: str, site_code: str | None, password: str | None,
             full_name: str = "", at: datetime, by: Person | None = None, profile: str = PROFILE) -> User:
    """Create a member of staff (a clerk or a courier works from a home site)."""
    with db.writing(session):
        username = username.strip().lower()
        if not username or not username.replace(".", "").replace("_", "").replace("-", "").isalnum():
            raise Unprocessable(field="username", detail=Phrase(N_("chỉ chữ, số, dấu chấm, gạch")))
        if session.execute(select(User.id).where(User.username == username)).first():
            raise Conflict(N_("Tên đăng nhập %(username)s đã có."), username=username)
        site = home_site(session, role, site_code)
        user = User(username=username, full_name=full_name, role=role, site_id=site.id if site else None,
                    password_hash=_hasher(profile).hash(password) if password else None, created_at=at)
        session.add(user)
        changes.record(session, by, "user", username, "created", after=user_fields(user, site), at=at)
    return user


def home_site(session: Session, role: str, site_code: str | None) -> Site | None:
    """The site an account with this role works from: required for clerks and couriers, and still in use."""
    if role not in set(Role):
        raise Unprocessable(field="role", detail=", ".join(Role))
    if not site_code:
        if role in SITED:
            raise Unprocessable(field="site", detail=Phrase(N_("nhân viên và bưu tá cần có nơi làm việc")))
        return None
    site = session.execute(select(Site).where(Site.code == site_code.strip().upper())).scalars().first()
    if site is None:
        raise NotFound(what=Phrase(N_("điểm giao nhận")), code=site_code)
    if not site.active:
        raise Unprocessable(field="site", detail=Phrase(N_("điểm %(code)s đã ngừng dùng"), code=site.code))
    return site


def user_fields(user: User, site: Site | None) -> dict:
    """An account as the audit log keeps it (never its password)."""
    return {"full_name": user.full_name, "role": user.role, "site": site.code if site else None, "active": user.active}


def update_user(session: Session, username: str, *, full_name: str, role: str, site_code: str | None,
                at: datetime, by: Person | None = None) -> User:
    """Change an account's name, role or home site; it takes effect on its next request (pages and tokens
    read the account each time). The last active admin keeps the admin role."""
    with db.writing(session):
        user = user_named(session, username)
        before = user_fields(user, session.get(Site, user.site_id) if user.site_id else None)
        site = home_site(session, role, site_code)
        if user.role == Role.ADMIN and role != Role.ADMIN and user.active:
            refuse_last_admin(session, user, Phrase(N_("đổi vai trò")))
        user.full_name, user.role, user.site_id = full_name.strip(), role, site.id if site else None
        session.add(user)
        old, new = changes.differences(before, user_fields(user, site))
        if new:
            changes.record(session, by, "user", user.username, "edited", before=old, after=new, at=at)
    return user


def refuse_last_admin(session: Session, user: User, action: Phrase) -> None:
    """LastAdmin unless another active admin remains (the rows are locked on PostgreSQL, so two admins
    removing each other at once cannot both succeed)."""
    others = select(User.id).where(User.role == Role.ADMIN, User.active.is_(True), User.id != user.id)
    if not db.is_sqlite(session):  # SQLite's writer holds the whole database already
        others = others.with_for_update()
    if not session.execute(others).first():
        raise LastAdmin(action=action, username=user.username)


def reset_password(session: Session, username: str, password: str, *, at: datetime, by: Person | None = None,
                   profile: str = PROFILE) -> User:
    """Give an account a new password: its page sessions end at once (its tokens keep working)."""
    with db.writing(session):
        if not 8 <= len(password) <= 200:
            raise Unprocessable(field="password", detail=Phrase(N_("từ 8 đến 200 ký tự")))
        user = user_named(session, username)
        user.password_hash = _hasher(profile).hash(password)
        user.session_version += 1
        session.add(user)
        changes.record(session, by, "user", user.username, "password_reset", after={"password": "******"}, at=at)
    return user


# How papers title a member of staff (the same words as the admin pages' role names).
ROLE_TITLES = {
    Role.POSTAL_CLERK: N_("Nhân viên bưu điện"),
    Role.COURIER: N_("Bưu tá"),
    Role.AGENCY_CLERK: N_("Cán bộ tiếp nhận của cơ quan"),
    Role.SUPERVISOR: N_("Giám sát"),
    Role.ADMIN: N_("Quản trị"),
}


def paper_name(user: User | Actor | None) -> str | None:
    """A person as papers name them: the full name, never the login; None for an account without one
    (the paper leaves a line to write it by hand)."""
    name = (user.full_name or "").strip() if user is not None else ""
    return name or None


def list_users(session: Session) -> list[User]:
    """Every account, by role then username (the admin page)."""
    return list(session.execute(select(User).order_by(User.role, User.username)).scalars())


def check_password(session: Session, username: str, password: str, *, profile: str = PROFILE) -> User | None:
    """The active user with this username and password, or None."""
    user = session.execute(select(User).where(User.username == username.strip().lower())).scalars().first()
    try:
        _hasher(profile).verify(user.password_hash if user and user.password_hash else _dummy_hash(profile), password)
    except (VerificationError, InvalidHashError):
        return None
    return user if user and user.active and user.password_hash else None


def user_named(session: Session, username: str) -> User:
    """The account with this username, or 404."""
    user = session.execute(select(User).where(User.username == username.strip().lower())).scalars().first()
    if user is None:
        raise NotFound(what=Phrase(N_("tài khoản")), code=username)
    return user


def issue_token(session: Session, username: str, *, name: str = "", at: datetime, days: int = TOKEN_DAYS,
                by: Person | None = None) -> str:
    """A new bearer token for an active user, valid for `days`; only its hash is stored, so it is shown once."""
    with db.writing(session):
        user = user_named(session, username)
        if not user.active:
            raise Conflict(N_("Tài khoản %(username)s đã bị khoá: không cấp mã truy cập."), username=user.username)
        if days < 1:
            raise Unprocessable(field="days", detail=Phrase(N_("ít nhất 1 ngày")))
        token = secrets.token_urlsafe(32)
        row = ApiToken(user_id=user.id, token_hash=hash_token(token), name=name, created_at=at,
                       expires_at=at + timedelta(days=days))
        session.add(row)
        session.flush()
        changes.record(session, by, "token", row.id, "issued", at=at,
                       after={"user": user.username, "name": name, "expires_at": local(row.expires_at).isoformat()})
    return token


@dataclass(frozen=True)
class TokenInfo:
    """A token as the admin sees it: never the token itself."""

    id: int
    username: str
    name: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None = None

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= now else "active"


def list_tokens(session: Session, username: str | None = None, *, token_id: int | None = None) -> list[TokenInfo]:
    """Every token (or one user's, or one), newest first."""
    query = select(ApiToken, User.username).join(User, User.id == ApiToken.user_id).order_by(ApiToken.id.desc())
    if username:
        query = query.where(User.id == user_named(session, username).id)
    if token_id is not None:
        query = query.where(ApiToken.id == token_id)
    return [TokenInfo(t.id, name, t.name, as_utc(t.created_at), as_utc(t.expires_at),
                      as_utc(t.revoked_at) if t.revoked_at else None, as_utc(t.last_used_at) if t.last_used_at else None)
            for t, name in session.execute(query)]


def revoke_token(session: Session, token_id: int, *, at: datetime, by: Person | None = None) -> TokenInfo:
    """Revoke a token: the next request carrying it is refused (revoking it again changes nothing)."""
    with db.writing(session):
        token = session.get(ApiToken, token_id) if 0 < token_id < 2**31 else None
        if token is None:
            raise NotFound(what=Phrase(N_("mã truy cập")), code=str(token_id))
        if token.revoked_at is None:
            token.revoked_at = at
            session.add(token)
            changes.record(session, by, "token", token.id, "revoked", before={"revoked_at": None},
                           after={"revoked_at": local(at).isoformat()}, at=at)
    return list_tokens(session, token_id=token_id)[0]


def deactivate_user(session: Session, username: str, *, at: datetime, by: Person | None = None) -> int:
    """Lock an account at once: its page sessions end, its tokens are revoked; how many tokens were live.
    The last active admin cannot be locked."""
    with db.writing(session):
        user = user_named(session, username)
        was_active = user.active
        if was_active:
            if user.role == Role.ADMIN:
                refuse_last_admin(session, user, Phrase(N_("khoá")))
            user.active, user.deactivated_at = False, at
            user.session_version += 1
            session.add(user)
        revoked = session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                                  .values(revoked_at=at)).rowcount
        if was_active or revoked:
            changes.record(session, by, "user", user.username, "deactivated", before={"active": True},
                           after={"active": False, "tokens_revoked": revoked}, at=at)
    return revoked


def log_out(session: Session, user_id: int, version: int) -> None:
    """End the user's page sessions: every cookie carrying this session version stops working."""
    with db.writing(session):
        # Only from the version the cookie carried: a second logout with an old cookie changes nothing.
        session.execute(update(User).where(User.id == user_id, User.session_version == version)
                        .values(session_version=User.session_version + 1))


def page_user(session: Session, user_id: int, version: int) -> tuple[User, Site | None] | None:
    """The active user a login cookie names, with their site, while its session version is current."""
    user = session.get(User, user_id)
    if user is None or not user.active or not user.password_hash or user.session_version != version:
        return None
    return user, session.get(Site, user.site_id) if user.site_id else None


@dataclass(frozen=True, slots=True)
class Actor:
    """Who a bearer token speaks for, as the domain reads a caller (id, role, home site, name)."""

    id: int
    username: str
    full_name: str
    role: str
    site_id: int | None
    active: bool = True


class TokenRow(NamedTuple):
    token_id: int
    last_used_at: object
    id: int
    username: str
    full_name: str
    role: str
    site_id: int | None
    active: bool
    revoked_at: object
    expires_at: object


def user_for_token(session: Session, token: str, *, now: datetime) -> Actor | None:
    """The active user a bearer token belongs to; None for a token never issued, a 401 naming why for one
    revoked, expired or of a deactivated account."""
    # Every API request asks this: one driver-level query by the token's unique hash, and a plain value
    # rather than an ORM row.
    row = db.raw(session, "SELECT t.id, t.last_used_at, u.id, u.username, u.full_name, u.role, u.site_id, u.active, t.revoked_at, "
                 "t.expires_at FROM user_account u JOIN api_token t ON t.user_id = u.id "
                 "WHERE t.token_hash = ?", (hash_token(token),)).first_into(TokenRow)
    if row is None:
        return None
    if not row.active:
        raise AccountDeactivated(username=row.username)
    if row.revoked_at is not None:
        raise TokenRevoked()
    expires = db.time_read(row.expires_at)
    if expires <= now:
        raise TokenExpired(at=local(expires).strftime("%H:%M %d/%m/%Y"))
    if row.last_used_at is None or db.time_read(row.last_used_at) <= now - LAST_USE_GRAIN:
        note_use(session, row.token_id, now)
    return Actor(row.id, row.username, row.full_name, row.role, row.site_id, True)


def note_use(session: Session, token_id: int, now: datetime) -> None:
    """Write when a token was last used (the admin's list shows it). Bookkeeping, not the request's work: when
    the write lock does not come in time, the next request writes it."""
    try:
        with db.writing(session):
            db.raw(session, "UPDATE api_token SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR "
                   "last_used_at < ?)", (db.time_param(session, now), token_id,
                                          db.time_param(session, now - LAST_USE_GRAIN)))
    except WriteBusy:
        pass
