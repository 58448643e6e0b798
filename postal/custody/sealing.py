"""Sealing a bag: parcels at a site go into a bag with its own label and seal number, as one custody event each."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from models import Action, Bag, BagState, ParcelState
from models.custody import BagIn, BagOut, ScanIn
from models.enums import REGISTRARS
from postal import db, labels
from postal.config import Settings
from postal.custody import rules
from postal.custody.bags import BAG_NAMESPACE
from postal.custody.recording import Batch
from postal.custody.values import BagHolding
from postal.errors import N_, BagExists, BagSealed, Forbidden, Phrase, PostalError, UnknownLabel, Unprocessable, WrongSite
from postal.replays import fingerprint

BAGGERS = REGISTRARS  # clerks and overseers seal bags


def seal_bag(session: Session, data: BagIn, *, actor, settings: Settings, now: datetime) -> tuple[BagOut, bool]:
    """Seal parcels at a site into a bag; the same request again answers the same bag."""
    if actor.role not in BAGGERS:
        raise Forbidden(role=actor.role)
    with db.writing(session):
        request_hash = fingerprint(data.model_dump(mode="json", exclude={"code"}))
        if data.code is not None:
            code = data.code.strip().upper()
            if not labels.is_valid_code(code) or not code.startswith(labels.BAG_PREFIX):
                raise Unprocessable(field="code", detail=Phrase(N_("mã túi phải có dạng BG + 9 chữ số + VN")))
            existing = session.execute(select(Bag).where(Bag.code == code)).scalars().first()
            if existing is not None:
                if existing.request_hash != request_hash:
                    raise BagExists(code=code)
                return bag_out(existing, settings), False
        else:
            code = labels.random_code(labels.BAG_PREFIX)
        batch = Batch(session, actor, settings, now)
        site = rules.site_of(batch.book, actor, ScanIn(id=uuid.uuid4(), label=code, action="accept", site=data.site, at=now))
        rules.check_works_at(actor, site)
        contents = sealable(batch, data.parcels, site)
        row = Bag(code=code, seal=data.seal, state=BagState.SEALED, site_id=site.id, holder_site_id=site.id,
                  contents=" ".join(contents), request_hash=request_hash, created_by_id=actor.id, created_at=now)
        session.add(row)
        session.flush()
        bag = BagHolding(id=row.id, code=code, state=ParcelState.AT_SITE, holder_site_id=site.id, holder_user_id=None,
                         seal=data.seal, contents=contents)
        batch.book.bags[code] = batch.book.bag_ids[row.id] = bag
        event_id = uuid.uuid5(BAG_NAMESPACE, code)
        batch.move(bag, ParcelState.AT_SITE, site, action=Action.BAG, at=now, event_id=event_id, is_bag=True,
                   evidence={"seal": data.seal, "parcels": contents})
        for c in contents:
            parcel = batch.book.parcels[c]
            parcel.bag_id = row.id
            batch.move(parcel, ParcelState.AT_SITE, site, action=Action.BAG, at=now, event_id=uuid.uuid5(event_id, c),
                       scan_id=event_id, evidence={"bag": code, "seal": data.seal})
        bag.dirty = False  # the row was just written whole
        batch.flush()
    return bag_out(row, settings), True


def sealable(batch: Batch, raw_codes: list[str], site) -> list[str]:
    """The parcels' codes, each checked to be at this site and in no bag; in the order given, once each."""
    codes = []
    for raw in raw_codes:
        try:
            codes.append(labels.read(batch.settings.label_key, raw).code)
        except PostalError:
            raise Unprocessable(field="parcels", detail=raw[:40]) from None
    batch.book.load(set(codes))
    for c in codes:
        h = batch.book.parcels.get(c)
        if h is None:
            raise UnknownLabel(label=c)
        if h.bag_id is not None:
            raise BagSealed(parcel=c, bag="?")
        if h.state != ParcelState.AT_SITE or h.holder_site_id != site.id:
            raise WrongSite(parcel=c, state=batch.book.describe(h), site=site.name)
    return list(dict.fromkeys(codes))


def bag_out(bag: Bag, settings: Settings) -> BagOut:
    return BagOut(code=bag.code, qr_payload=labels.qr_payload(settings.label_key, bag.code), seal=bag.seal,
                  state=bag.state, parcels=bag.contents.split())
