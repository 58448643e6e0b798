"""Secrets at rest: what must be kept only until it is used (a delivery code waiting in the outbox) is sealed
with Fernet (AES-128-CBC + HMAC-SHA256) under a key from settings, and opened only by the sender."""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from postal.config import Settings

MASK = "******"  # stands where a sealed secret goes in a stored text; no dossier code contains '*'


class Unreadable(ValueError):
    """A sealed value that this installation's key cannot open (another key, or altered)."""


@lru_cache(maxsize=8)
def _fernet(material: str) -> Fernet:
    """A Fernet key derived from the setting: its own key, never the one the OTP's HMAC uses as it is."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"postal outbox secrets v1").derive(material.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def _key(settings: Settings) -> Fernet:
    return _fernet(settings.outbox_key or settings.secret_key)


def seal(settings: Settings, secret: str) -> str:
    """The secret, encrypted and authenticated, as text for a column."""
    return _key(settings).encrypt(secret.encode()).decode()


def unseal(settings: Settings, token: str) -> str:
    """The secret a seal() made; Unreadable when this key did not make it."""
    try:
        return _key(settings).decrypt(token.encode()).decode()
    except InvalidToken:
        raise Unreadable("the sealed value cannot be opened with this installation's key") from None


def reveal(settings: Settings, text: str, sealed: str | None) -> tuple[str, str]:
    """The text with its sealed secret in place of the mask, and the secret ("" when nothing is sealed). Only
    here, in the sender's memory, is a delivery code readable again."""
    if not sealed:
        return text, ""
    secret = unseal(settings, sealed)
    return text.replace(MASK, secret), secret
