"""Settings, declared once and read once from the environment (and test overrides), with pydantic-settings."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal, get_args

from pydantic import AliasChoices, BeforeValidator, Field, PositiveInt, ValidationError, field_validator, model_validator
from pydantic_core import PydanticUndefined
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = f"sqlite:///{ROOT / 'instance' / 'postal.db'}"
DEVELOPMENT_KEY = "development-only-key"
MIN_KEY_LENGTH = 32  # characters of a production key: a random 24 bytes in base64 or more
# argon2-cffi's profiles; production hashes with one of RFC 9106's, the others are for test suites.
ARGON2_PROFILES = ("RFC_9106_LOW_MEMORY", "RFC_9106_HIGH_MEMORY", "PRE_21_2", "CHEAPEST")
STRONG_ARGON2_PROFILES = ("RFC_9106_LOW_MEMORY", "RFC_9106_HIGH_MEMORY")
REDIS_DEFAULT = "redis://127.0.0.1:6379"  # where several workers count their rate limits unless told
# Who pays no delivery fee: the groups the province's resolution exempts (người có công với cách mạng,
# hộ nghèo, hộ cận nghèo, người khuyết tật, người cao tuổi); a counter clerk records which applies.
DEFAULT_FEE_EXEMPT = ("nguoi_co_cong", "ho_ngheo", "ho_can_ngheo", "nguoi_khuyet_tat", "nguoi_cao_tuoi")
# The kinds of message a citizen is sent; each may have its approved Zalo ZNS template (POSTAL_ZALO_TEMPLATES).
ZALO_KINDS = ("receipt", "on_its_way", "ready_for_pickup", "out_for_delivery", "delivered", "attempt_failed",
              "returned", "apology")


# Our dossier statuses (postal/dossiers.py status_of, plus the sweep's lateness and an apology's new date), each
# named in the one-stop system's vocabulary by POSTAL_ONESTOP_STATUS_MAP; the default is the common one of
# Vietnam's one-stop systems (Hệ thống thông tin giải quyết thủ tục hành chính).
DEFAULT_ONESTOP_STATUS_MAP = {
    "registered": "Mới đăng ký", "collected": "Đã tiếp nhận", "received": "Đã tiếp nhận",
    "to_agency": "Đang xử lý", "at_agency": "Đang xử lý", "result_ready": "Đã có kết quả",
    "returning": "Đã có kết quả", "ready_for_return": "Đã có kết quả", "ready_for_delivery": "Đã có kết quả",
    "out_for_delivery": "Đang trả kết quả", "returned": "Đã trả kết quả", "missing": "Đang xử lý",
    "late": "Quá hạn", "apology": "Xin lỗi, hẹn lại ngày trả",
}


class ConfigError(RuntimeError):
    """A setting is missing or unsafe."""


def doc(text: str, default=PydanticUndefined, **more):
    """A setting: its default and the one line the README's configuration table shows."""
    return Field(default, description=text, **more)


def zalo_template_ids(value):
    """POSTAL_ZALO_TEMPLATES, `receipt=123456, delivered=223344`: each kind once, a known kind, an id of digits."""
    if not isinstance(value, str):
        return value
    templates: dict[str, str] = {}
    for item in (part.strip() for part in value.split(",")):
        kind, _, template_id = (x.strip() for x in item.partition("="))
        if not item:
            continue
        if kind not in ZALO_KINDS or kind in templates or not template_id.isdigit():
            raise ConfigError(f"POSTAL_ZALO_TEMPLATES: {item!r} is not KIND=ID with a digit id, each kind once, "
                              f"a kind among {', '.join(ZALO_KINDS)}")
        templates[kind] = template_id
    return templates


def onestop_statuses(value):
    """POSTAL_ONESTOP_STATUS_MAP: JSON `{"our status": "theirs", …}` naming every one of our statuses."""
    if not isinstance(value, str):
        return value
    try:
        mapping = json.loads(value)
    except ValueError as e:
        raise ConfigError(f"POSTAL_ONESTOP_STATUS_MAP is not JSON: {e}") from None
    if not isinstance(mapping, dict) or not all(isinstance(v, str) and v.strip() for v in mapping.values()):
        raise ConfigError("POSTAL_ONESTOP_STATUS_MAP must be a JSON object of our status to a non-empty name")
    for key in DEFAULT_ONESTOP_STATUS_MAP:
        if key not in mapping:
            raise ConfigError(f"POSTAL_ONESTOP_STATUS_MAP lacks the status {key!r}")
    unknown = sorted(set(mapping) - set(DEFAULT_ONESTOP_STATUS_MAP))
    if unknown:
        raise ConfigError(f"POSTAL_ONESTOP_STATUS_MAP names unknown statuses: {', '.join(unknown)}")
    return mapping


class Settings(BaseSettings):
    """Everything the app reads from its environment, each key declared once: `POSTAL_<NAME>` (and
    DATABASE_URL), its type, its default and one line of doc, from which the README's table is made
    (`python scripts/settings_table.py`; a test fails when they differ). Nothing else reads the environment."""

    model_config = SettingsConfigDict(env_prefix="POSTAL_", frozen=True, extra="ignore")

    database_url: str = doc("SQLite file by default; PostgreSQL: `postgresql://user@host/db` (psycopg 3)",
                            DEFAULT_DB, validation_alias=AliasChoices("DATABASE_URL", "database_url"))
    env: Literal["development", "production"] = doc(
        "exactly `development` or `production`; `production` refuses weak settings and sends HSTS", "development")
    secret_key: str = doc("sessions, OTP hashing; in production random, at least 32 characters, unlike the other keys",
                          DEVELOPMENT_KEY)
    label_key: str = doc("signs QR labels; in production as the secret key, and not equal to it", DEVELOPMENT_KEY)
    argon2_profile: str = doc("password hashing (an argon2-cffi profile); production takes only RFC_9106_LOW_MEMORY "
                              "or RFC_9106_HIGH_MEMORY; CHEAPEST is for test suites", "RFC_9106_LOW_MEMORY")
    token_days: PositiveInt = doc("days a bearer token lasts (`postal tokens issue --days N` for another)", 90)
    workers: PositiveInt = doc("web workers (`postal up --workers`); with more than one the rate limits are counted in a shared store, never in memory", 1)
    worker_class: Literal["gthread", "sync"] = doc("gunicorn's worker class for `postal serve` (README, Running it for a province: what scripts/bench/load.py measured)", "gthread")
    write_wait_s: float = doc("seconds a write waits for a lock before it is answered 503 with Retry-After", 5.0, gt=0, le=600)
    proxy_hops: int = doc("reverse proxies in front of the app (TLS at nginx or Caddy: 1) whose X-Forwarded-For, "
                          "-Proto and -Host are believed: the client's address for the rate limits, https in links; "
                          "0 believes none", 0, ge=0, le=5)
    ratelimit_storage_uri: str = doc("where the login and citizen limits are counted: `memory://` with one worker, "
                                     f"`{REDIS_DEFAULT}` with several; memory with several, or a store that does "
                                     "not answer, refuses to start (in development, with no store named, `postal "
                                     "up` then serves with one worker)", "")
    ratelimit_key_prefix: str = doc("prefix of the rate-limit keys, for installations sharing one Redis", "postal")
    login_rate_limit: str = doc("failed logins per address, in flask-limiter's notation", "10 per minute")
    sms_url: str | None = doc('HTTP SMS gateway: POST `{"to", "text"}`', None)
    smtp_host: str | None = doc("SMTP server for e-mail", None)
    smtp_port: int = doc("SMTP port", 25)
    mail_from: str = doc("the sender of e-mails", "thongbao@buudien.invalid")
    webhook_url: str | None = doc("dossier status webhooks, signed `X-Postal-Signature: sha256=<HMAC>`", None)
    webhook_secret: str = doc("the webhooks' HMAC key; default: the secret key (in production its own)", "")
    zalo_app_id: str | None = doc("Zalo app id for ZNS (linked to the OA); with its secret key, a refresh token and a "
                                  "template for the kind, a citizen's message goes by Zalo first", None)
    zalo_secret_key: str = doc("the Zalo app's secret key (header `secret_key` of the token refresh)", "")
    zalo_refresh_token: str = doc("the OA's refresh token to start from; rotated at each refresh, kept sealed in the "
                                  "database; a new value replaces the kept tokens", "")
    onestop_status_map: Annotated[dict[str, str], NoDecode, BeforeValidator(onestop_statuses)] = doc(
        "the one-stop system's name for each of our dossier statuses in webhooks, a JSON object naming them all",
        DEFAULT_ONESTOP_STATUS_MAP)
    zalo_templates: Annotated[dict[str, str], NoDecode, BeforeValidator(zalo_template_ids)] = doc(
        f"approved ZNS template per kind, `KIND=ID,…` ({', '.join(ZALO_KINDS)}); a kind without one goes by SMS", {})
    zalo_api_url: str = doc("ZNS API base (`POST …/message/template`)", "https://business.openapi.zalo.me")
    zalo_oauth_url: str = doc("Zalo OAuth base (`POST …/v4/oa/access_token`)", "https://oauth.zaloapp.com")
    notify_max_attempts: PositiveInt = doc("tries of one message before it is failed (configuration faults not counted)", 8)
    geocoder_url: str | None = doc("a Nominatim-protocol server; without it addresses are routed by ward", None)
    tile_url: str = doc("map tiles for the board (a `{z}/{x}/{y}` URL); without one the map has no tiles", "")
    tile_attribution: str = doc("the tile server's attribution line", "")
    board_charts_ttl_s: int = doc("seconds the board's charts (a month of rows) are kept before they are made again", 300, ge=0)
    font_dir: Path | None = doc("a folder holding DejaVuSans.ttf for the papers; default: the bundled fonts", None)
    province: str = doc("printed on the slips: UBND TỈNH …, …, ngày …", "Quảng Ninh")
    province_code: str = doc("the installation's province (vietnam-provinces code): fees within it are lower; the board draws its outline from static/geo/<code>.geojson when there is one", "22")
    hotline: str = doc("the center's hotline, told to citizens on /track; without it, the center they went to", "")
    apology_extra_days: int = doc("working days a late dossier is re-appointed by, unless a date is given", 3)
    delivery_fee_in_province_vnd: int = doc("home delivery fee within the province, đồng, one way", 26_000,
                                            validation_alias=AliasChoices("POSTAL_DELIVERY_FEE_IN_PROVINCE",
                                                                          "delivery_fee_in_province_vnd"))
    delivery_fee_other_province_vnd: int = doc("home delivery fee to another province, đồng, one way", 31_000,
                                               validation_alias=AliasChoices("POSTAL_DELIVERY_FEE_OTHER_PROVINCE",
                                                                             "delivery_fee_other_province_vnd"))
    delivery_fee_exempt: Annotated[tuple[str, ...], NoDecode] = doc(
        "who pays no delivery fee (comma-separated groups of the province's resolution)", DEFAULT_FEE_EXEMPT)
    watch_late_after_min: int = doc("a parcel still with its courier this long after its run's planned end is late", 30)
    watch_receipt_within_min: int = doc("a handover not confirmed by the site within this is awaiting receipt", 30)
    watch_risk_working_days: int = doc("a dossier due within this many working days, its result not on its way, is at risk", 1)
    watch_lookback_days: int = doc("the sweep looks at the runs of this many days back", 7)
    max_clock_skew_s: int = doc("scans dated further ahead than this are refused (a wrong device clock)", 300)
    max_scan_age_days: int = doc("scans older than this are refused (offline devices may send days later)", 30)
    run_start_window_min: int = doc("a run can start this long before its departure at the earliest", 30)
    otp_wrong_per_parcel: int = doc("wrong delivery codes a parcel may be given in all before its proof is locked", 10)
    otp_tries_per_code: int = doc("tries on one delivery code before a new one must be sent", 5)
    otp_codes_per_hour: int = doc("delivery codes sent for one parcel in any hour", 3)
    otp_codes_per_parcel: int = doc("delivery codes sent for one parcel in all", 6)
    outbox_key: str = doc("seals delivery codes in the outbox until sent (default: derived from the secret key); "
                          "changing it makes unsent codes unreadable: they fail, the courier sends a new one", "")
    ledger_key: bytes | None = doc("signs the ledger's checkpoints, never stored in the database: base64 of a random "
                                   "32-byte Ed25519 seed (`python -c \"import base64, os; print(base64.b64encode("
                                   "os.urandom(32)).decode())\"`); required in production, in development derived "
                                   "from the secret key", None)
    ledger_verifier_key: str | None = doc("checks checkpoints (`postal ledger public-key`); with it and no "
                                          "POSTAL_LEDGER_KEY an installation only verifies", None)
    ledger_origin: str = doc("names the ledger in each checkpoint (one word); default `hoso-buudien/<province code>`", "")
    ledger_checkpoint_file: Path | None = doc("the latest checkpoint, written outside the database; default beside "
                                              "the SQLite file, or instance/ledger.checkpoint", None)
    health_beat_max_s: float = doc("/healthz is degraded when the scheduler's last heartbeat is older (s)", 60.0, gt=0)
    health_outbox_max_s: float = doc("/healthz is degraded when a message waited in the outbox longer (s)", 900.0, gt=0)
    metrics_token: str = doc("`/metrics` asks for `Authorization: Bearer <it>` when set; required in production", "")
    metrics_dir: Path | None = doc("set by `postal up` / `serve` for their processes (prometheus_client's folder)", None, validation_alias=AliasChoices("PROMETHEUS_MULTIPROC_DIR", "metrics_dir"))

    @property
    def development(self) -> bool:
        return self.env == "development"

    @property
    def ratelimit_store_named(self) -> bool:
        """Whether POSTAL_RATELIMIT_STORAGE_URI names a store other than the default for the workers."""
        return self.ratelimit_storage_uri != default_store(self.workers)

    @field_validator("sms_url", "smtp_host", "webhook_url", "geocoder_url", "ledger_verifier_key", "font_dir",
                     "zalo_app_id", "metrics_dir", mode="before")
    @classmethod
    def empty_is_unset(cls, value):
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("hotline", "tile_url", "tile_attribution", "login_rate_limit", "zalo_secret_key",
                     "zalo_refresh_token", "metrics_token", mode="before")
    @classmethod
    def stripped(cls, value):
        return value.strip() if isinstance(value, str) else value

    @field_validator("delivery_fee_exempt", mode="before")
    @classmethod
    def comma_separated(cls, value):
        return tuple(r.strip() for r in value.split(",") if r.strip()) if isinstance(value, str) else value

    @field_validator("database_url", mode="before")
    @classmethod
    def psycopg3(cls, value):
        return normalise_db_url(value or DEFAULT_DB) if isinstance(value, str) else value

    @model_validator(mode="before")
    @classmethod
    def derived(cls, data: dict) -> dict:
        """The defaults that follow from other settings."""
        return derived_defaults(dict(data), cls.model_fields["env"].annotation)

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings):
        return init_settings, env_settings  # the process's environment, under what a caller overrides

    @classmethod
    def from_env(cls, overrides: Mapping[str, str] | None = None) -> Settings:
        """The settings from os.environ, with `overrides` (by variable name) taking precedence."""
        given = {field_of(name): value for name, value in (overrides or {}).items() if field_of(name)}
        try:
            settings = cls(**given)
        except ValidationError as err:
            raise ConfigError(refusal(err)) from None
        refuse_unsafe(settings)
        return settings

    def replace(self, **changes) -> Settings:  # a copy with some settings changed (tests, tools)
        return self.model_copy(update=changes)


def derived_defaults(data: dict, environments) -> dict:
    """The defaults that follow from other settings (Settings.derived)."""
    secret = data.get("secret_key") or DEVELOPMENT_KEY
    if not data.get("webhook_secret"):
        data["webhook_secret"] = secret
    if not data.get("ratelimit_storage_uri"):
        workers = str(data.get("workers", "1")).strip()
        data["ratelimit_storage_uri"] = default_store(int(workers) if workers.isdigit() else 1)
    if not data.get("ledger_origin"):
        data["ledger_origin"] = f"hoso-buudien/{data.get('province_code') or '22'}"
    if not re.fullmatch(r"[^\s+]+", str(data["ledger_origin"])):  # it is also the signing key's name
        raise ConfigError(f"POSTAL_LEDGER_ORIGIN {data['ledger_origin']!r} must be one word without spaces or '+'")
    if not data.get("ledger_checkpoint_file"):
        url = data.get("DATABASE_URL") or data.get("database_url") or DEFAULT_DB
        data["ledger_checkpoint_file"] = default_checkpoint_file(normalise_db_url(url))
    key, environment = data.get("ledger_key"), data.get("env", "development")
    if (key is None or isinstance(key, str)) and environment in get_args(environments):
        verifier = (data.get("ledger_verifier_key") or "").strip() or None
        data["ledger_key"] = ledger_seed((key or "").strip() or None, secret,
                                         development=environment == "development",
                                         verifier_only=verifier is not None)
    return data


def default_store(workers: int) -> str:
    """Where the rate limits are counted unless told: memory with one worker, the shared Redis with several."""
    return REDIS_DEFAULT if workers > 1 else "memory://"


def variable(name: str) -> str:
    """The environment variable of a setting."""
    alias = Settings.model_fields[name].validation_alias
    return alias.choices[0] if isinstance(alias, AliasChoices) else f"POSTAL_{name.upper()}"


def field_of(variable_name: str) -> str | None:
    """The setting an environment variable sets (None: not one of ours)."""
    return _FIELDS.get(variable_name.upper())


WHOLE_NUMBERS = ("workers", "token_days", "notify_max_attempts")


def refusal(err: ValidationError) -> str:
    """A refused setting, named as the operator wrote it."""
    first = err.errors()[0]
    name = str(first["loc"][0]) if first["loc"] else ""
    name = field_of(name) or name
    shown = variable(name) if name in Settings.model_fields else name
    if first["type"] == "literal_error":
        choices = ", ".join(get_args(Settings.model_fields[name].annotation))
        return f"{shown} must be one of {choices}, not {first['input']!r}"
    if name in WHOLE_NUMBERS:
        return f"{shown} must be a whole number of at least 1, not {first['input']!r}"
    return f"{shown}: {first['msg']}, not {first['input']!r}"


_FIELDS = {variable(name).upper(): name for name in Settings.model_fields}


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
    if len(settings.metrics_token) < MIN_KEY_LENGTH:
        raise ConfigError(f"POSTAL_METRICS_TOKEN must be set to a random value of at least {MIN_KEY_LENGTH} characters "
                          "in production: /metrics tells how busy the service is")


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


def shown_default(name: str) -> str:
    """A setting's default as the README shows it."""
    value = Settings.model_fields[name].default
    if name == "database_url":
        return "`sqlite:///instance/postal.db`"
    if value == DEVELOPMENT_KEY:
        return "development key"
    if value is None or value == "" or value == {}:
        return "—"
    if isinstance(value, tuple):
        return ", ".join(f"`{v}`" for v in value)
    return f"`{value}`"


def table() -> str:
    """The README's configuration table: every setting, from its declaration."""
    rows = ["| variable | default | |", "|---|---|---|"]
    for name, info in Settings.model_fields.items():
        rows.append(f"| `{variable(name)}` | {shown_default(name)} | {info.description} |")
    return "\n".join(rows) + "\n"
