"""Dossiers imported from the one-stop system (a file, or POST /api/v1/dossiers/batch): each registered by
`dossiers.register`, idempotently by its one-stop code, with a result per row (created, unchanged, conflict naming
the fields that differ, invalid with the reason). One transaction per chunk of rows; each row inside its own
savepoint, so a refused row leaves nothing and does not undo the good rows of its chunk, and a crash loses only
the chunk under way: importing the same rows again finishes the work and changes nothing already done."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice

from pydantic import ValidationError
from sqlmodel import Session

from models import User
from models.dossiers import DossierIn
from models.enums import REGISTRARS
from models.onestop import BatchRowOut, DossierBatchOut, RowErrorOut
from postal import db, dossiers, onestop
from postal.clock import local
from postal.config import Settings
from postal.errors import N_, DossierExists, Forbidden, InvalidPayload, Phrase, PostalError, Unprocessable, detail_of

CHUNK = 200  # rows per transaction
APPLICANT = ("name", "phone", "address", "ward_code", "id_number")  # a flat file's applicant_* columns


@dataclass(frozen=True)
class RowResult:
    """What became of one row."""

    row: int
    code: str | None
    status: str  # created | unchanged | conflict | invalid
    fields: list[str] = field(default_factory=list)
    parcel: str | None = None
    error: PostalError | None = None

    def answer(self, message_of: Callable[[PostalError], str]) -> BatchRowOut:
        error = RowErrorOut(code=self.error.code, message=message_of(self.error)) if self.error else None
        return BatchRowOut(row=self.row, code=self.code, status=self.status, fields=self.fields, parcel=self.parcel,
                           error=error)


def batch_out(results: list[RowResult], message_of: Callable[[PostalError], str]) -> DossierBatchOut:
    counts = {status: sum(1 for r in results if r.status == status) for status in ("created", "unchanged", "conflict",
                                                                                     "invalid")}
    return DossierBatchOut(results=[r.answer(message_of) for r in results], **counts)


def record_of(raw: dict) -> dict:
    """A row as POST /api/v1/dossiers takes it: a flat file's applicant_* columns gathered, empty cells left out."""
    row = {k: v for k, v in raw.items() if v not in (None, "")}
    if "applicant" not in row:
        applicant = {name: row.pop(f"applicant_{name}") for name in APPLICANT if f"applicant_{name}" in row}
        if applicant:
            row["applicant"] = applicant
    return row


def checked(raw: object, agencies: dict[str, str]) -> DossierIn:
    """A row as a dossier: its one-stop code read (and its day the day received), its agency the one its unit
    code stands for when the row names none; 422 (or 400 for a malformed row) naming the field."""
    if not isinstance(raw, dict):
        raise InvalidPayload(detail=Phrase(N_("mỗi hồ sơ phải là một đối tượng JSON")))
    row = record_of(raw)
    parts = onestop.read_code(str(row.get("code") or ""))
    mapped = agencies.get(parts.unit)
    given = str(row.get("agency") or "").strip().upper()
    if not given and mapped is None:
        raise Unprocessable(field="agency", detail=Phrase(N_("đơn vị %(unit)s chưa gắn với cơ quan giải quyết nào: "
                                                             "hãy ghi agency, hoặc thêm mã đơn vị ở trang quản trị"),
                                                          unit=parts.unit))
    if given and mapped is not None and given != mapped.upper():
        raise Unprocessable(field="code", detail=Phrase(N_("mã đơn vị %(unit)s là của %(mapped)s, không phải "
                                                           "%(agency)s"), unit=parts.unit, mapped=mapped, agency=given))
    row["agency"] = given or mapped
    try:
        data = DossierIn.model_validate(row)
    except ValidationError as err:
        raise InvalidPayload(detail=detail_of(err.errors()[0])) from None
    if local(data.received_at).date() != parts.day:
        raise Unprocessable(field="code", detail=Phrase(N_("phần ngày %(day)s của mã không phải ngày tiếp nhận %(received)s"),
                                                        day=parts.day.strftime("%d/%m/%Y"),
                                                        received=local(data.received_at).strftime("%d/%m/%Y")))
    return data


def import_row(session: Session, number: int, raw: object, agencies: dict[str, str], *, actor: User,
               settings: Settings, now: datetime) -> RowResult:
    code = str(raw.get("code") or "").strip().upper() or None if isinstance(raw, dict) else None
    try:
        data = checked(raw, agencies)
        with session.begin_nested():  # a refused row leaves nothing, and its chunk's good rows stay
            answer, created = dossiers.register(session, data, actor=actor, settings=settings, now=now)
    except DossierExists as err:
        return RowResult(number, code, "conflict", fields=list(err.params.get("names") or []), error=err)
    except PostalError as err:
        if err.status >= 500:  # the database is busy: not this row's fault, the chunk is retried whole
            raise
        return RowResult(number, code, "invalid", error=err)
    return RowResult(number, data.code, "created" if created else "unchanged", parcel=answer.parcel.code)


def import_dossiers(session: Session, rows: Iterable[tuple[int, object]], *, actor: User, settings: Settings,
                    now: datetime, chunk: int = CHUNK, progress: Callable[[int], None] | None = None) -> list[RowResult]:
    """Register each numbered row; one transaction per `chunk` rows, `progress` told how many after each."""
    if actor.role not in REGISTRARS:
        raise Forbidden(role=actor.role)
    agencies = onestop.unit_agencies(session)
    results: list[RowResult] = []
    numbered = iter(rows)
    while True:
        done: list[RowResult] = []
        with db.writing(session):  # rows are read inside: a reader failing mid-chunk undoes that chunk only
            for number, raw in islice(numbered, chunk):
                done.append(import_row(session, number, raw, agencies, actor=actor, settings=settings, now=now))
        if not done:
            return results
        results += done
        if progress is not None:
            progress(len(done))
