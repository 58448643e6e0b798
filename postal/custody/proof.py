"""Proof of delivery: the 6-digit code sent to the applicant, checked at the door, and the failed attempts.

Each parcel has a budget (settings `otp_*`, README): wrong codes in all, tries on one code, codes sent in any
hour (by the server's clock, never the device's) and in all. A new code never gives back what was spent.
Past a limit the parcel is locked for proof: no code is sent or accepted for it, and a critical
`proof_locked` alert is opened on the board. The lock holds while that alert is unresolved; a supervisor
who resolves it gives the parcel a fresh budget (the last code is void: a new one must be sent), and a
clerk may still hand the parcel over at a counter after checking papers, which closes the alert.
Every count is written with the batch, even for the scans it refuses.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlmodel import Session

from models import AlertKind, DeliveryOtp
from postal import alerts
from postal.clock import local
from postal.config import Settings
from postal.custody.values import ClearProofLock, Holding, ProofLock
from postal.errors import N_, OtpLocked, Phrase, ProofLocked, WrongOtp

ATTEMPTS_BEFORE_RETURN = 2
HOUR = timedelta(hours=1)
TOO_MANY_WRONG = N_("đã nhập sai mã %(count)s lần")
TOO_MANY_IN_HOUR = N_("đã gửi %(count)s mã trong một giờ")
TOO_MANY_IN_ALL = N_("đã gửi %(count)s mã cho bì này")
LOCKED_BEFORE = N_("quá số lần nhập sai hoặc gửi mã")


class Proofs:
    """The delivery records of the parcels one batch touches (written with the batch, even for refused scans:
    a wrong code counts), and the locks the batch made or lifted, for the alerts."""

    def __init__(self, session: Session, settings: Settings, now: datetime, actor) -> None:
        self.session = session
        self.settings = settings
        self.secret = settings.secret_key.encode()
        self.now = now
        self.actor = actor
        self.rows: dict[int, DeliveryOtp | None] = {}
        self.holding: set[int] = set()  # parcels whose lock is known to hold in this batch
        self.alerts: list[ProofLock | ClearProofLock] = []  # opened or resolved once the batch is written

    def of(self, h: Holding) -> DeliveryOtp | None:
        if h.id not in self.rows:  # read under the batch's lock, as committed: never a copy a session kept
            self.rows[h.id] = self.session.get(DeliveryOtp, h.id, populate_existing=True)
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

    def locked(self, h: Holding, otp: DeliveryOtp) -> bool:
        """Whether the parcel is locked for proof. Once its alert is resolved the lock is lifted here, at the
        next scan of the parcel: the budget starts again and the last code is void."""
        if otp.locked_at is None:
            return False
        if h.id in self.holding:
            return True
        if alerts.has_open(self.session, AlertKind.PROOF_LOCKED, subject_type="parcel", subject_id=h.id):
            self.holding.add(h.id)
            return True
        otp.locked_at, otp.otp_hash, otp.recent_codes = None, "", ""
        otp.wrong_tries = otp.wrong_total = otp.codes_sent = 0
        return False

    def lock(self, h: Holding, otp: DeliveryOtp, why: str, count: int) -> ProofLocked:
        """Lock the parcel for proof and have its alert opened; the refusal to answer."""
        otp.locked_at = self.now
        self.holding.add(h.id)
        reason = Phrase(why, count=count)
        self.alerts.append(ProofLock(h.id, h.code, f"Khoá giao bằng mã OTP: {reason} (tài khoản {self.actor.username}, "
                                                   f"{local(self.now).strftime('%H:%M %d/%m/%Y')})."))
        return ProofLocked(parcel=h.code, why=reason)

    def check(self, h: Holding, given: str) -> None:
        """A wrong code is counted against the code and the parcel (and kept, though the scan is refused)."""
        limits = self.settings
        otp = self.of(h)
        if otp is not None and self.locked(h, otp):
            raise ProofLocked(parcel=h.code, why=Phrase(LOCKED_BEFORE))
        if otp is None or not otp.otp_hash or otp.wrong_tries >= limits.otp_tries_per_code:
            raise OtpLocked(parcel=h.code)
        if hmac.compare_digest(otp.otp_hash, self.digest(h.id, given)):
            return
        otp.wrong_tries += 1
        otp.wrong_total += 1
        if otp.wrong_total >= limits.otp_wrong_per_parcel:
            raise self.lock(h, otp, TOO_MANY_WRONG, otp.wrong_total)
        if otp.wrong_tries >= limits.otp_tries_per_code:
            raise OtpLocked(parcel=h.code)
        raise WrongOtp(parcel=h.code, left=min(limits.otp_tries_per_code - otp.wrong_tries,
                                               limits.otp_wrong_per_parcel - otp.wrong_total))

    def issue(self, h: Holding) -> str:
        """A fresh code for the citizen, within the parcel's budget of codes; only its HMAC is kept."""
        limits = self.settings
        otp = self.row(h)
        if self.locked(h, otp):
            raise ProofLocked(parcel=h.code, why=Phrase(LOCKED_BEFORE))
        recent = [at for at in (datetime.fromisoformat(t) for t in otp.recent_codes.split()) if at > self.now - HOUR]
        if len(recent) >= limits.otp_codes_per_hour:
            raise self.lock(h, otp, TOO_MANY_IN_HOUR, len(recent))
        if otp.codes_sent >= limits.otp_codes_per_parcel:
            raise self.lock(h, otp, TOO_MANY_IN_ALL, otp.codes_sent)
        code = f"{secrets.randbelow(10**6):06d}"
        otp.otp_hash, otp.issued_at, otp.wrong_tries = self.digest(h.id, code), self.now, 0
        otp.codes_sent += 1
        otp.recent_codes = " ".join(at.isoformat() for at in [*recent, self.now])
        return code

    def handed_at_counter(self, h: Holding) -> None:
        """A clerk checked the citizen's papers and handed the parcel over: its proof lock, if any, is done with."""
        otp = self.of(h)
        if otp is not None and self.locked(h, otp):
            self.alerts.append(ClearProofLock(h.id, "Tự đóng: kết quả đã được giao tại quầy sau khi kiểm tra giấy tờ."))

    def fail_attempt(self, h: Holding) -> bool:
        """Count a failed attempt; whether the parcel now goes back to its post office."""
        otp = self.row(h)
        otp.failed_attempts += 1
        return otp.failed_attempts >= ATTEMPTS_BEFORE_RETURN
