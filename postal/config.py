"""Settings, read once from the environment (and test overrides)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = f"sqlite:///{ROOT / 'instance' / 'postal.db'}"
DEVELOPMENT_KEY = "development-only-key"
ENVIRONMENTS = ("development", "production")  # POSTAL_ENV, as the README documents it
MIN_KEY_LENGTH = 32  # characters of a production key: a random 24 bytes in base64 or more
# argon2-cffi's profiles; production hashes with one of RFC 9106's, the others are for test suites.
ARGON2_PROFILES = ("RFC_9106_LOW_MEMORY", "RFC_9106_HIGH_MEMORY", "PRE_21_2", "CHEAPEST")
STRONG_ARGON2_PROFILES = ("RFC_9106_LOW_MEMORY", "RFC_9106_HIGH_MEMORY")
REDIS_DEFAULT = "redis://127.0.0.1:6379"  # where several workers count their rate limits unless told
# Who pays no delivery fee: the groups the province's resolution exempts (người có công với cách mạng,
# hộ nghèo, hộ cận nghèo, người khuyết tật, người cao tuổi); a counter clerk records which applies.
DEFAULT_FEE_EXEMPT = ("nguoi_co_cong", "ho_ngheo", "ho_can_ngheo", "nguoi_khuyet_tat", "nguoi_cao_tuoi")


class ConfigError(RuntimeError):
    """A setting is missing or unsafe."""


@dataclass(frozen=True)
class Settings:
    """Everything the app reads from its environment."""

    database_url: str = DEFAULT_DB
    secret_key: str = DEVELOPMENT_KEY
    label_key: str = DEVELOPMENT_KEY
    sms_url: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 25
    webhook_url: str | None = None
    province: str = "Quảng Ninh"  # printed on the slips: "UBND TỈNH …", "… , ngày …"
    hotline: str = ""  # the center's hotline, told to citizens on /track; without it, the center they went to
    apology_extra_days: int = 3  # working days a late dossier is re-appointed by, unless a date is given
    webhook_secret: str = DEVELOPMENT_KEY  # signs webhook bodies (X-Postal-Signature)
    geocoder_url: str | None = None
    province_code: str = "22"  # the installation's province (vietnam-provinces code): fees within it are lower
    # Home delivery and pick-up fees, one way, đồng (near a province's published public-postal tariff).
    delivery_fee_in_province_vnd: int = 26_000
    delivery_fee_other_province_vnd: int = 31_000
    delivery_fee_exempt: tuple[str, ...] = DEFAULT_FEE_EXEMPT
    # The watch (DESIGN §5): a parcel still with its courier this long after its run's planned end is late;
    # a handover not confirmed by the site within this is awaiting receipt; a dossier due before the end of
    # this many working days whose result is not on its way back is at risk; the sweep looks at the runs
    # of this many days back (what was flagged before stays open until it clears).
    watch_late_after_min: int = 30
    watch_receipt_within_min: int = 30
    watch_risk_working_days: int = 1
    watch_lookback_days: int = 7
    # Scans dated further ahead than this are refused: a device clock that is wrong
    # would otherwise reorder the custody chain.
    max_clock_skew_s: int = 300
    # Offline devices may send scans days later, but not from another season.
    max_scan_age_days: int = 30
    # A run can be started this long before its departure at the earliest (the manifest freezes at the cutoff).
    run_start_window_min: int = 30
    # Proof of delivery (postal/custody/proof.py): wrong codes a parcel may be given in all, before its
    # proof is locked; tries on one code before a new one must be sent; codes sent for one parcel in any
    # hour and in all. Past any limit the parcel is locked for proof and a supervisor is alerted.
    otp_wrong_per_parcel: int = 10
    otp_tries_per_code: int = 5
    otp_codes_per_hour: int = 3
    otp_codes_per_parcel: int = 6
    # Seals the delivery code in the outbox until it is sent (postal/vault.py); empty: derived from
    # the secret key.
    outbox_key: str = ""
    # "cheapest" only for test suites: each hash then costs microseconds instead of ~0.15 s.
    argon2_profile: str = "RFC_9106_LOW_MEMORY"
    # The ledger's checkpoints: signed with this Ed25519 seed, never stored in the database (None: this
    # installation only verifies, with the public key below); the origin names the ledger in each one.
    ledger_key: bytes | None = None
    ledger_verifier_key: str | None = None
    ledger_origin: str = "hoso-buudien/22"
    ledger_checkpoint_file: Path = ROOT / "instance" / "ledger.checkpoint"
    # Bearer tokens expire: this many days unless `postal tokens issue --days N` says otherwise.
    token_days: int = 90
    # Web workers serving the installation (POSTAL_WORKERS, or `postal up --workers`): with more than one,
    # the rate limits must be counted in a store they share, never in each process's memory.
    workers: int = 1
    # How long a write waits for the database's write lock (SQLite) or a row lock (PostgreSQL) before it
    # is answered 503 with Retry-After, nothing written.
    write_wait_s: float = 5.0
    ratelimit_storage_uri: str = "memory://"
    ratelimit_key_prefix: str = "postal"  # keeps two installations sharing one Redis apart
    development: bool = True
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, overrides: Mapping[str, str] | None = None) -> Settings:
        """Build settings from os.environ, with `overrides` taking precedence."""
        env: dict[str, str] = {**os.environ, **(overrides or {})}
        environment = env.get("POSTAL_ENV", "development")
        if environment not in ENVIRONMENTS:
            raise ConfigError(f"POSTAL_ENV must be one of {', '.join(ENVIRONMENTS)}, not {environment!r}")
        workers = whole_number(env, "POSTAL_WORKERS", 1)
        settings = cls(
            database_url=normalise_db_url(env.get("DATABASE_URL") or DEFAULT_DB),
            secret_key=env.get("POSTAL_SECRET_KEY", DEVELOPMENT_KEY),
            label_key=env.get("POSTAL_LABEL_KEY", DEVELOPMENT_KEY),
            sms_url=env.get("POSTAL_SMS_URL") or None,
            smtp_host=env.get("POSTAL_SMTP_HOST") or None,
            smtp_port=int(env.get("POSTAL_SMTP_PORT", "25")),
            webhook_url=env.get("POSTAL_WEBHOOK_URL") or None,
            province=env.get("POSTAL_PROVINCE", "Quảng Ninh"),
            hotline=env.get("POSTAL_HOTLINE", "").strip(),
            apology_extra_days=int(env.get("POSTAL_APOLOGY_EXTRA_DAYS", "3")),
            webhook_secret=env.get("POSTAL_WEBHOOK_SECRET") or env.get("POSTAL_SECRET_KEY", DEVELOPMENT_KEY),
            geocoder_url=env.get("POSTAL_GEOCODER_URL") or None,
            province_code=env.get("POSTAL_PROVINCE_CODE", "22"),
            delivery_fee_in_province_vnd=int(env.get("POSTAL_DELIVERY_FEE_IN_PROVINCE", "26000")),
            delivery_fee_other_province_vnd=int(env.get("POSTAL_DELIVERY_FEE_OTHER_PROVINCE", "31000")),
            delivery_fee_exempt=tuple(r.strip() for r in env["POSTAL_DELIVERY_FEE_EXEMPT"].split(",") if r.strip())
            if "POSTAL_DELIVERY_FEE_EXEMPT" in env else DEFAULT_FEE_EXEMPT,
            watch_late_after_min=int(env.get("POSTAL_WATCH_LATE_AFTER_MIN", "30")),
            watch_receipt_within_min=int(env.get("POSTAL_WATCH_RECEIPT_WITHIN_MIN", "30")),
            watch_risk_working_days=int(env.get("POSTAL_WATCH_RISK_WORKING_DAYS", "1")),
            watch_lookback_days=int(env.get("POSTAL_WATCH_LOOKBACK_DAYS", "7")),
            max_clock_skew_s=int(env.get("POSTAL_MAX_CLOCK_SKEW_S", "300")),
            max_scan_age_days=int(env.get("POSTAL_MAX_SCAN_AGE_DAYS", "30")),
            run_start_window_min=int(env.get("POSTAL_RUN_START_WINDOW_MIN", "30")),
            otp_wrong_per_parcel=int(env.get("POSTAL_OTP_WRONG_PER_PARCEL", "10")),
            otp_tries_per_code=int(env.get("POSTAL_OTP_TRIES_PER_CODE", "5")),
            otp_codes_per_hour=int(env.get("POSTAL_OTP_CODES_PER_HOUR", "3")),
            otp_codes_per_parcel=int(env.get("POSTAL_OTP_CODES_PER_PARCEL", "6")),
            outbox_key=env.get("POSTAL_OUTBOX_KEY", ""),
            argon2_profile=env.get("POSTAL_ARGON2_PROFILE", "RFC_9106_LOW_MEMORY"),
            **ledger_settings(env, environment == "development"),
            token_days=whole_number(env, "POSTAL_TOKEN_DAYS", 90),
            workers=workers,
            write_wait_s=seconds(env, "POSTAL_WRITE_WAIT_S", 5.0),
            ratelimit_storage_uri=env.get("POSTAL_RATELIMIT_STORAGE_URI") or (REDIS_DEFAULT if workers > 1 else "memory://"),
            ratelimit_key_prefix=env.get("POSTAL_RATELIMIT_KEY_PREFIX") or "postal",
            development=environment == "development",
            extra={k: v for k, v in env.items() if k.startswith("POSTAL_")},
        )
        refuse_unsafe(settings)
        return settings


def seconds(env: Mapping[str, str], name: str, default: float) -> float:
    """A positive duration in seconds from the environment, or a ConfigError naming the variable."""
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, not {raw!r}") from None
    if not 0 < value <= 600:
        raise ConfigError(f"{name} must be between 0 and 600 seconds, not {raw!r}")
    return value


def whole_number(env: Mapping[str, str], name: str, default: int) -> int:
    """A count of at least 1 from the environment, or a ConfigError naming the variable."""
    value = env.get(name) or str(default)
    if not value.strip().isdigit() or int(value) < 1:
        raise ConfigError(f"{name} must be a whole number of at least 1, not {value!r}")
    return int(value)


def refuse_unsafe(settings: Settings) -> None:
    """Settings no installation may start with; production refuses weak keys and a cheap password hash."""
    profile = settings.argon2_profile.upper()
    if profile not in ARGON2_PROFILES:
        raise ConfigError(f"POSTAL_ARGON2_PROFILE must be one of {', '.join(ARGON2_PROFILES)}, "
                          f"not {settings.argon2_profile!r}")
    if settings.workers > 1 and settings.ratelimit_storage_uri.startswith("memory://"):
        raise ConfigError(f"POSTAL_RATELIMIT_STORAGE_URI is memory:// but {settings.workers} workers serve: each would "
                          f"count its own limits; name a shared store such as {REDIS_DEFAULT}")
    if settings.development:
        return
    keys = {"POSTAL_SECRET_KEY": settings.secret_key, "POSTAL_LABEL_KEY": settings.label_key}
    if settings.webhook_url:  # the receivers hold this one: it must open nothing else
        keys["POSTAL_WEBHOOK_SECRET"] = settings.webhook_secret
    seen: dict[str, str] = {}
    for name, value in keys.items():
        if value == DEVELOPMENT_KEY or len(value) < MIN_KEY_LENGTH:
            raise ConfigError(f"{name} must be set to a random value of at least {MIN_KEY_LENGTH} characters "
                              "in production")
        if value in seen:
            raise ConfigError(f"{name} must differ from {seen[value]} in production: each key guards something else")
        seen[value] = name
    if profile not in STRONG_ARGON2_PROFILES:
        raise ConfigError(f"POSTAL_ARGON2_PROFILE {settings.argon2_profile!r} is too cheap for production; "
                          f"use {' or '.join(STRONG_ARGON2_PROFILES)}")
    if settings.outbox_key and len(settings.outbox_key) < MIN_KEY_LENGTH:
        raise ConfigError(f"POSTAL_OUTBOX_KEY must be a random value of at least {MIN_KEY_LENGTH} characters "
                          "(or unset: derived from the secret key)")


def ledger_settings(env: Mapping[str, str], development: bool) -> dict:
    """The checkpoint settings: key, verifier key, origin and the file kept outside the database."""
    verifier = env.get("POSTAL_LEDGER_VERIFIER_KEY") or None
    origin = env.get("POSTAL_LEDGER_ORIGIN") or f"hoso-buudien/{env.get('POSTAL_PROVINCE_CODE', '22')}"
    if not re.fullmatch(r"[^\s+]+", origin):  # it is also the signing key's name: no spaces, no "+"
        raise ConfigError(f"POSTAL_LEDGER_ORIGIN {origin!r} must be one word without spaces or '+'")
    url = normalise_db_url(env.get("DATABASE_URL") or DEFAULT_DB)
    return {
        "ledger_key": ledger_seed(env.get("POSTAL_LEDGER_KEY") or None, env.get("POSTAL_SECRET_KEY", DEVELOPMENT_KEY),
                                  development=development, verifier_only=verifier is not None),
        "ledger_verifier_key": verifier,
        "ledger_origin": origin,
        "ledger_checkpoint_file": Path(env.get("POSTAL_LEDGER_CHECKPOINT_FILE") or default_checkpoint_file(url)),
    }


def ledger_seed(text: str | None, secret_key: str, *, development: bool, verifier_only: bool) -> bytes | None:
    """The 32-byte Ed25519 seed of POSTAL_LEDGER_KEY (base64); in development one derived from the secret key."""
    if text is None:
        if development:
            return hashlib.sha256(b"postal ledger checkpoints\n" + secret_key.encode()).digest()
        if verifier_only:
            return None
        raise ConfigError("POSTAL_LEDGER_KEY (base64 of a random 32-byte Ed25519 seed) must be set in production, "
                          "or POSTAL_LEDGER_VERIFIER_KEY on a machine that only verifies")
    try:
        seed = base64.b64decode(text, validate=True)
    except binascii.Error:
        seed = b""
    if len(seed) != 32:
        raise ConfigError("POSTAL_LEDGER_KEY must be the base64 of a 32-byte Ed25519 seed")
    return seed


def default_checkpoint_file(database_url: str) -> Path:
    """Beside the SQLite file (`<file>.checkpoint`); for a server database, instance/ledger.checkpoint."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        path = Path(url.database)
        return path.with_name(path.name + ".checkpoint")
    return ROOT / "instance" / "ledger.checkpoint"


def normalise_db_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given in the common short forms."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
