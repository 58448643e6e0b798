"""Where the rate limits are counted: in a store that every web worker shares, checked before they start."""

from __future__ import annotations

from limits.storage import storage_from_string

from postal.config import ConfigError, Settings

TIMEOUT_S = 1.0  # a store that stops answering must not hold a request up longer than this


def store_options(uri: str, key_prefix: str = "postal") -> dict[str, float | str]:
    """Connection options for the store at `uri`: for Redis short timeouts, and the installation's prefix on
    every key it counts under (memory needs none)."""
    if uri.startswith(("redis://", "rediss://", "redis+unix://")):
        return {"socket_connect_timeout": TIMEOUT_S, "socket_timeout": TIMEOUT_S, "key_prefix": key_prefix}
    return {}


def store_answers(uri: str) -> bool:
    """Whether the store at `uri` answers now (memory always does)."""
    if uri.startswith("memory://"):
        return True
    try:
        return bool(storage_from_string(uri, **store_options(uri)).check())
    except Exception:  # an unknown scheme or a missing client library: it cannot count either
        return False


def settings_for_workers(workers: int) -> tuple[Settings, str | None]:
    """The settings to serve with `workers` workers, and a note for the operator, or ConfigError.

    Several workers never count in memory (each would keep its own counts) and need a store that answers.
    Only in development, when no store was named and Redis is not running, one worker serves instead.
    """
    settings = Settings.from_env({"POSTAL_WORKERS": str(workers)})
    uri = settings.ratelimit_storage_uri
    if store_answers(uri):
        return settings, None
    if settings.development and workers > 1 and not settings.ratelimit_store_named:
        note = (f"the rate-limit store {uri} does not answer: serving with 1 worker instead of {workers} "
                "(start Redis, or set POSTAL_RATELIMIT_STORAGE_URI, to serve with several)")
        return Settings.from_env({"POSTAL_WORKERS": "1"}), note
    raise ConfigError(f"the rate-limit store {uri} (POSTAL_RATELIMIT_STORAGE_URI) does not answer: start it, "
                      "or name another, before serving")
