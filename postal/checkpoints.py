"""Signed checkpoints of the custody chain: its head, anchored outside the database.

A checkpoint is a signed note (c2sp.org/signed-note) in the shape of a transparency log's checkpoint
(c2sp.org/tlog-checkpoint): origin, number of events, the hash of the last one, the time; then a blank line
and the signature line, `— <key name> base64(key id || Ed25519 signature of the text)`:

    hoso-buudien/22
    1234
    9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    2026-12-07T03:31:00Z

    — hoso-buudien/22 q4Zf1p…

The signing key comes from the settings, never from the database. Every checkpoint is kept in the database
(append-only) and written to a file outside it: a chain that was rewritten, cut short or restored from an
older copy no longer contains the checkpoints signed before, and verify says so.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import select
from sqlmodel import Session

from models import LedgerCheckpoint
from postal import db, ledger
from postal.config import Settings

ED25519 = b"\x01"  # the signature type byte of signed notes
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_HASH = re.compile(r"[0-9a-f]{64}")
_COUNT = re.compile(r"0|[1-9][0-9]*")
CHECKPOINTS = LedgerCheckpoint.__table__


class CheckpointError(ValueError):
    """A checkpoint that cannot be trusted, or a chain that no longer holds one; the message says why."""


@dataclass(frozen=True)
class VerifierKey:
    """A public key in the signed-note verifier form: `name+keyid+base64(0x01 || key)`."""

    name: str
    public: bytes

    @property
    def key_id(self) -> bytes:
        return sha256(self.name.encode() + b"\n" + ED25519 + self.public).digest()[:4]

    def text(self) -> str:
        return f"{self.name}+{self.key_id.hex()}+{base64.b64encode(ED25519 + self.public).decode()}"

    @classmethod
    def parse(cls, text: str) -> VerifierKey:
        parts = text.strip().split("+", 2)  # the key itself is base64, which may hold "+"
        try:
            name, key_id, encoded = parts
            raw = base64.b64decode(encoded, validate=True)
        except (ValueError, binascii.Error):
            raise CheckpointError(f"not a verifier key (name+keyid+key): {text!r}") from None
        if not name or raw[:1] != ED25519 or len(raw) != 33:
            raise CheckpointError(f"not an Ed25519 verifier key: {text!r}")
        key = cls(name, raw[1:])
        if key.key_id.hex() != key_id.lower():
            raise CheckpointError(f"the verifier key's id {key_id} does not match its name and key")
        return key

    def verifies(self, text: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, text)
        except InvalidSignature:
            return False
        return True


def signing_key(settings: Settings) -> Ed25519PrivateKey:
    if settings.ledger_key is None:
        raise CheckpointError("no POSTAL_LEDGER_KEY here: this installation verifies checkpoints, it cannot sign them")
    return Ed25519PrivateKey.from_private_bytes(settings.ledger_key)


def verifier_key(settings: Settings, text: str | None = None) -> VerifierKey:
    """The key checkpoints are checked with: the one given, else POSTAL_LEDGER_VERIFIER_KEY, else the
    public half of the signing key."""
    text = text or settings.ledger_verifier_key
    return VerifierKey.parse(text) if text else own_key(settings)


def own_key(settings: Settings) -> VerifierKey:
    """The public half of this installation's signing key, named for its ledger."""
    public = signing_key(settings).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return VerifierKey(settings.ledger_origin, public)


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint whose signature verified."""

    origin: str
    seq: int
    hash: str
    made_at: datetime
    note: str  # the signed note, as kept and as written to the file

    def anchor(self, where: str = "") -> ledger.Anchor:
        return ledger.Anchor(self.seq, self.hash, self.made_at, where)


def sign(settings: Settings, seq: int, head_hash: str, at: datetime) -> Checkpoint:
    """A new signed checkpoint of the chain head."""
    made_at = at.astimezone(UTC).replace(microsecond=0)
    text = f"{settings.ledger_origin}\n{seq}\n{head_hash}\n{made_at.strftime(TIME_FORMAT)}\n"
    key = own_key(settings)
    signature = base64.b64encode(key.key_id + signing_key(settings).sign(text.encode())).decode()
    return Checkpoint(settings.ledger_origin, seq, head_hash, made_at, f"{text}\n\u2014 {key.name} {signature}\n")


def open_note(note: str, key: VerifierKey) -> Checkpoint:
    """The checkpoint a signed note holds, once its signature by `key` verifies; CheckpointError otherwise.
    The key is named for its ledger: the note's origin must be that name."""
    text, _, signatures = note.rpartition("\n\n")
    if not text or not note.endswith("\n"):
        raise CheckpointError("not a signed checkpoint (no blank line before a signature)")
    text += "\n"
    known = False
    for line in signatures.splitlines():
        dash, _, rest = line.partition(" ")
        name, _, encoded = rest.partition(" ")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            continue
        if dash != "\u2014" or name != key.name or raw[:4] != key.key_id:
            continue  # another key's: ignored, as signed notes require
        known = True
        if not key.verifies(text.encode(), raw[4:]):
            raise CheckpointError("checkpoint signature does not verify: the checkpoint was altered or forged")
    if not known:
        raise CheckpointError(f"the checkpoint is not signed by {key.text()}")
    return _read_text(text, note, key.name)


def _read_text(text: str, note: str, origin: str) -> Checkpoint:
    lines = text.splitlines()
    if len(lines) != 4 or not _COUNT.fullmatch(lines[1]) or not _HASH.fullmatch(lines[2]):
        raise CheckpointError("the signed text is not a checkpoint (origin, count, hash, time)")
    if lines[0] != origin:
        raise CheckpointError(f"the checkpoint is of another ledger ({lines[0]}), not of {origin}")
    try:
        made_at = datetime.strptime(lines[3], TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise CheckpointError(f"the checkpoint's time {lines[3]!r} is not ISO 8601 UTC") from None
    return Checkpoint(lines[0], int(lines[1]), lines[2], made_at, note)


# -- kept: in the database and in files --------------------------------------------------------------------


def read_file(path: Path, key: VerifierKey) -> Checkpoint:
    try:
        note = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise CheckpointError(f"cannot read the checkpoint file {path}: {err}") from None
    try:
        return open_note(note, key)
    except CheckpointError as err:
        raise CheckpointError(f"{path}: {err}") from None


def write_file(path: Path, note: str) -> None:
    """Replace the file at once (a temporary file renamed over it): a reader sees the old note or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "w", encoding="utf-8", newline="\n") as out:
        out.write(note)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)


def kept(session: Session, key: VerifierKey) -> Iterator[Checkpoint]:
    """Every checkpoint kept in the database, oldest first, each signature checked."""
    rows = session.execute(select(CHECKPOINTS).order_by(CHECKPOINTS.c.seq).execution_options(yield_per=1000))
    for row in rows.mappings():
        try:
            checkpoint = open_note(row["note"], key)
        except CheckpointError as err:  # the block rolls back: nothing signed
            raise CheckpointError(f"the checkpoint kept in the database for {row['seq']} events: {err}") from None
        if (checkpoint.seq, checkpoint.hash) != (row["seq"], row["hash"]):
            raise CheckpointError(f"the checkpoint kept in the database for {row['seq']} events says "
                                  f"{checkpoint.seq} in its signed note: its row was altered")
        yield checkpoint


def anchors(session: Session, key: VerifierKey, files: list[Path]) -> list[ledger.Anchor]:
    """What verify must find in the chain: every checkpoint kept in the database and those in `files`."""
    found = [checkpoint.anchor() for checkpoint in kept(session, key)]
    return found + [read_file(path, key).anchor(str(path)) for path in files]


def latest(session: Session, key: VerifierKey) -> Checkpoint | None:
    row = session.execute(select(CHECKPOINTS.c.note).order_by(CHECKPOINTS.c.seq.desc()).limit(1)).first()
    return None if row is None else open_note(row.note, key)


def check_contained(session: Session, checkpoint: Checkpoint, where: str) -> None:
    """The chain still holds the checkpoint: its event `seq` has the hash it signed."""
    found = ledger.hash_at(session, checkpoint.seq)
    if found is None:
        raise CheckpointError(f"the chain has no event {checkpoint.seq}, which {where} saw: events were removed "
                              "or the database was rolled back")
    if found != checkpoint.hash:
        raise CheckpointError(f"event {checkpoint.seq}'s hash differs from the one {where} signed: "
                              "the chain was rewritten")


@dataclass(frozen=True)
class Taken:
    """What `take` did."""

    checkpoint: Checkpoint
    new: bool  # False: the head had not moved since the last checkpoint, which was written out again
    files: tuple[Path, ...]


def take(session: Session, settings: Settings, now: datetime, also: Path | None = None) -> Taken:
    """Sign the chain head and keep it (a new row only when the head moved since the last checkpoint),
    then write it to the checkpoint file, and to `also` when given. Refuses, signing and overwriting
    nothing, when the chain no longer holds a checkpoint kept before: in the database or in those files."""
    key = own_key(settings)
    files = tuple(dict.fromkeys(p for p in (settings.ledger_checkpoint_file, also) if p is not None))
    with db.writing(session):
        head = ledger.lock_head(session)  # scans wait for the few milliseconds this takes: the head stays put
        try:
            if ledger.hash_at(session, head.seq) != head.hash:
                raise CheckpointError(f"the chain head ({head.seq}) does not match the event it names")
            last = latest(session, key)
            if last is not None:
                check_contained(session, last, last.anchor().label)
            for path in files:
                if path.exists():
                    before = read_file(path, key)
                    check_contained(session, before, before.anchor(str(path)).label)
        except CheckpointError as err:  # the block rolls back: nothing signed
            raise CheckpointError(f"{err}; nothing signed, no file overwritten (run postal verify-ledger; a ledger "
                                  "started anew needs its old checkpoint file moved away)") from None
        new = last is None or (last.seq, last.hash) != (head.seq, head.hash)
        checkpoint = sign(settings, head.seq, head.hash, now) if new else last
        if new:
            session.add(LedgerCheckpoint(seq=checkpoint.seq, hash=checkpoint.hash, made_at=checkpoint.made_at,
                                         note=checkpoint.note))
    for path in files:
        write_file(path, checkpoint.note)
    return Taken(checkpoint, new, files)
