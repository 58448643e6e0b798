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
from postal import db
from postal.clock import as_utc, local
from postal.config import Settings
from postal.errors import (
    N_,
    AccountDeactivated,
    Conflict,
    NotFound,
    Phrase,
    TokenExpired,
    TokenRevoked,
    Unprocessable,
)

TOKEN_DAYS = Settings.model_fields["token_days"].default  # a token's lifetime when the caller names none


@cache
def _hasher() -> PasswordHasher:
    """The installation's password hasher (its profile is a setting; verifying reads a hash's own)."""
    return PasswordHasher.from_parameters(getattr(profiles, Settings.from_env().argon2_profile.upper()))


@cache
def _dummy_hash() -> str:
    """Verified against when the username is unknown, so a wrong name costs as long as a wrong password."""
    return _hasher().hash("not-a-password")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(session: Session, username: str, *, role: str, site_code: str | None, password: str | None,
             full_name: str = "", at: datetime) -> User:
    """Create a member of staff (a clerk or a courier works from a home site)."""
    with db.writing(session):
        if role not in set(Role):
            raise Unprocessable(field="role", detail=", ".join(Role))
        username = username.strip().lower()
        if not username or not username.replace(".", "").replace("_", "").replace("-", "").isalnum():
            raise Unprocessable(field="username", detail=Phrase(N_("chỉ chữ, số, dấu chấm, gạch")))
        if session.execute(select(User.id).where(User.username == username)).first():
            raise Conflict(N_("Tên đăng nhập %(username)s đã có."), username=username)
        site = None
        if site_code:
            site = session.execute(select(Site).where(Site.code == site_code)).scalars().first()
            if site is None:
                raise NotFound(what=Phrase(N_("điểm giao nhận")), code=site_code)
        elif role in SITED:
            raise Unprocessable(field="site", detail=Phrase(N_("nhân viên và bưu tá cần có nơi làm việc")))
        user = User(username=username, full_name=full_name, role=role, site_id=site.id if site else None,
                    password_hash=_hasher().hash(password) if password else None, created_at=at)
        session.add(user)
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


def check_password(session: Session, username: str, password: str) -> User | None:
    """The active user with this username and password, or None."""
    user = session.execute(select(User).where(User.username == username.strip().lower())).scalars().first()
    try:
        _hasher().verify(user.password_hash if user and user.password_hash else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    return user if user and user.active and user.password_hash else None


def user_named(session: Session, username: str) -> User:
    """The account with this username, or 404."""
    user = session.execute(select(User).where(User.username == username.strip().lower())).scalars().first()
    if user is None:
        raise NotFound(what=Phrase(N_("tài khoản")), code=username)
    return user


def issue_token(session: Session, username: str, *, name: str = "", at: datetime, days: int = TOKEN_DAYS) -> str:
    """A new bearer token for an active user, valid for `days`; only its hash is stored, so it is shown once."""
    with db.writing(session):
        user = user_named(session, username)
        if not user.active:
            raise Conflict(N_("Tài khoản %(username)s đã bị khoá: không cấp mã truy cập."), username=user.username)
        if days < 1:
            raise Unprocessable(field="days", detail=Phrase(N_("ít nhất 1 ngày")))
        token = secrets.token_urlsafe(32)
        session.add(ApiToken(user_id=user.id, token_hash=hash_token(token), name=name, created_at=at,
                             expires_at=at + timedelta(days=days)))
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
                      as_utc(t.revoked_at) if t.revoked_at else None) for t, name in session.execute(query)]


def revoke_token(session: Session, token_id: int, *, at: datetime) -> TokenInfo:
    """Revoke a token: the next request carrying it is refused (revoking it again changes nothing)."""
    with db.writing(session):
        token = session.get(ApiToken, token_id)
        if token is None:
            raise NotFound(what=Phrase(N_("mã truy cập")), code=str(token_id))
        if token.revoked_at is None:
            token.revoked_at = at
            session.add(token)
    return list_tokens(session, token_id=token_id)[0]


def deactivate_user(session: Session, username: str, *, at: datetime) -> int:
    """Lock an account at once: its page sessions end, its tokens are revoked; how many tokens were live."""
    with db.writing(session):
        user = user_named(session, username)
        if user.active:
            user.active, user.deactivated_at = False, at
            user.session_version += 1
            session.add(user)
        revoked = session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                                  .values(revoked_at=at)).rowcount
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
    row = db.raw(session, "SELECT u.id, u.username, u.full_name, u.role, u.site_id, u.active, t.revoked_at, "
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
    return Actor(row.id, row.username, row.full_name, row.role, row.site_id, True)
