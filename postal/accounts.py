"""Staff accounts: argon2 passwords for pages, bearer tokens for devices and integrations."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlmodel import Session

from models import ApiToken, Role, Site, User
from models.enums import SITED
from postal import db
from postal.config import Settings
from postal.errors import N_, Phrase, Conflict, NotFound, Unprocessable



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
    db.begin_write(session)
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
    session.commit()
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


def issue_token(session: Session, username: str, *, name: str = "", at: datetime) -> str:
    """A new bearer token for a user; only its hash is stored, so it is shown once."""
    db.begin_write(session)
    user = session.execute(select(User).where(User.username == username.strip().lower())).scalars().first()
    if user is None:
        raise NotFound(what=Phrase(N_("tài khoản")), code=username)
    token = secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=hash_token(token), name=name, created_at=at))
    session.commit()
    return token


@dataclass(frozen=True, slots=True)
class Actor:
    """Who a bearer token speaks for, as the domain reads a caller (id, role, home site, name)."""

    id: int
    username: str
    full_name: str
    role: str
    site_id: int | None
    active: bool = True


def user_for_token(session: Session, token: str) -> Actor | None:
    """The active user a bearer token belongs to, unless revoked."""
    # Every API request asks this: one driver-level query, and a plain value rather than an ORM row.
    row = db.raw(session, "SELECT u.id, u.username, u.full_name, u.role, u.site_id, u.active "
                 "FROM user_account u JOIN api_token t ON t.user_id = u.id "
                 "WHERE t.token_hash = ? AND t.revoked_at IS NULL", (hash_token(token),)).first()
    if row is None or not row[5]:
        return None
    return Actor(row[0], row[1], row[2], row[3], row[4], True)
