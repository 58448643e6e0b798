"""Proof of delivery: the 6-digit code sent to the applicant, checked at the door, and the failed attempts."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from sqlmodel import Session

from models import DeliveryOtp
from postal.custody.values import Holding
from postal.errors import OtpLocked, WrongOtp

OTP_TRIES = 5
ATTEMPTS_BEFORE_RETURN = 2


class Proofs:
    """The delivery records of the parcels one batch touches (written with the batch, even for refused scans:
    a wrong code counts)."""

    def __init__(self, session: Session, secret: str, now: datetime) -> None:
        self.session = session
        self.secret = secret.encode()
        self.now = now
        self.rows: dict[int, DeliveryOtp] = {}

    def of(self, h: Holding) -> DeliveryOtp | None:
        if h.id not in self.rows:
            otp = self.session.get(DeliveryOtp, h.id)
            if otp is None:
                return None
            self.rows[h.id] = otp
        return self.rows[h.id]

    def row(self, h: Holding) -> DeliveryOtp:
        """The parcel's delivery record, created on its first use."""
        otp = self.of(h)
        if otp is None:
            otp = self.rows[h.id] = DeliveryOtp(parcel_id=h.id, otp_hash="", issued_at=self.now)
            self.session.add(otp)
        return otp

    def digest(self, parcel_id: int, code: str) -> str:
        return hmac.new(self.secret, f"{parcel_id}:{code}".encode(), hashlib.sha256).hexdigest()

    def check(self, h: Holding, given: str) -> None:
        """A wrong code is counted (and kept, though the scan is refused); five lock it."""
        otp = self.of(h)
        if otp is None or otp.wrong_tries >= OTP_TRIES:
            raise OtpLocked(parcel=h.code)
        if not hmac.compare_digest(otp.otp_hash, self.digest(h.id, given)):
            otp.wrong_tries += 1
            left = OTP_TRIES - otp.wrong_tries
            if left <= 0:
                raise OtpLocked(parcel=h.code)
            raise WrongOtp(parcel=h.code, left=left)

    def issue(self, h: Holding) -> str:
        """A fresh code for the citizen; only its HMAC is kept."""
        code = f"{secrets.randbelow(10**6):06d}"
        otp = self.row(h)
        otp.otp_hash, otp.issued_at, otp.wrong_tries = self.digest(h.id, code), self.now, 0
        return code

    def fail_attempt(self, h: Holding) -> bool:
        """Count a failed attempt; whether the parcel now goes back to its post office."""
        otp = self.row(h)
        otp.failed_attempts += 1
        return otp.failed_attempts >= ATTEMPTS_BEFORE_RETURN
