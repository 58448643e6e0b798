"""Settings, read once from the environment (and test overrides)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = f"sqlite:///{ROOT / 'instance' / 'postal.db'}"
DEVELOPMENT_KEY = "development-only-key"


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
    apology_extra_days: int = 3  # working days a late dossier is re-appointed by, unless a date is given
    webhook_secret: str = DEVELOPMENT_KEY  # signs webhook bodies (X-Postal-Signature)
    geocoder_url: str | None = None
    # Scans dated further ahead than this are refused: a device clock that is wrong
    # would otherwise reorder the custody chain.
    max_clock_skew_s: int = 300
    # Offline devices may send scans days later, but not from another season.
    max_scan_age_days: int = 30
    # "cheapest" only for test suites: each hash then costs microseconds instead of ~0.15 s.
    argon2_profile: str = "RFC_9106_LOW_MEMORY"
    development: bool = True
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, overrides: Mapping[str, str] | None = None) -> Settings:
        """Build settings from os.environ, with `overrides` taking precedence."""
        env: dict[str, str] = {**os.environ, **(overrides or {})}
        development = env.get("POSTAL_ENV", "development") != "production"
        settings = cls(
            database_url=normalise_db_url(env.get("DATABASE_URL") or DEFAULT_DB),
            secret_key=env.get("POSTAL_SECRET_KEY", DEVELOPMENT_KEY),
            label_key=env.get("POSTAL_LABEL_KEY", DEVELOPMENT_KEY),
            sms_url=env.get("POSTAL_SMS_URL") or None,
            smtp_host=env.get("POSTAL_SMTP_HOST") or None,
            smtp_port=int(env.get("POSTAL_SMTP_PORT", "25")),
            webhook_url=env.get("POSTAL_WEBHOOK_URL") or None,
            province=env.get("POSTAL_PROVINCE", "Quảng Ninh"),
            apology_extra_days=int(env.get("POSTAL_APOLOGY_EXTRA_DAYS", "3")),
            webhook_secret=env.get("POSTAL_WEBHOOK_SECRET") or env.get("POSTAL_SECRET_KEY", DEVELOPMENT_KEY),
            geocoder_url=env.get("POSTAL_GEOCODER_URL") or None,
            max_clock_skew_s=int(env.get("POSTAL_MAX_CLOCK_SKEW_S", "300")),
            max_scan_age_days=int(env.get("POSTAL_MAX_SCAN_AGE_DAYS", "30")),
            argon2_profile=env.get("POSTAL_ARGON2_PROFILE", "RFC_9106_LOW_MEMORY"),
            development=development,
            extra={k: v for k, v in env.items() if k.startswith("POSTAL_")},
        )
        if not development:
            for name, value in (("POSTAL_SECRET_KEY", settings.secret_key), ("POSTAL_LABEL_KEY", settings.label_key),
                                ("POSTAL_WEBHOOK_SECRET", settings.webhook_secret)):
                if value == DEVELOPMENT_KEY or len(value) < 16:
                    raise ConfigError(f"{name} must be set to a long random value in production")
        return settings


def normalise_db_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given in the common short forms."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
