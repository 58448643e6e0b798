"""What the benchmarks share: a fresh database with a small network and many parcels."""

from __future__ import annotations

import sys
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from models import Dossier, Parcel  # noqa: E402
from postal import accounts, db, labels, sites  # noqa: E402
from postal.clock import utcnow  # noqa: E402
from postal.config import Settings  # noqa: E402

LABEL_KEY = "bench-label-key"


def fresh_settings(url: str | None = None) -> Settings:
    if url is None:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='postal-bench-')}/bench.db"
    return Settings.from_env({"DATABASE_URL": url, "POSTAL_LABEL_KEY": LABEL_KEY, "POSTAL_ARGON2_PROFILE": "CHEAPEST"})


def network(settings: Settings) -> None:
    """Schema, two sites and the staff the benchmarks scan as."""
    engine = db.engine_for(settings)
    db.drop_schema(engine)
    db.create_schema(engine)
    with db.session_for(settings) as s:
        sites.save_site(s, code="TTHCC", kind="center", name="Trung tâm PVHCC", lat=20.95, lon=107.09)
        sites.save_site(s, code="STP", kind="agency", name="Sở Tư pháp", lat=20.95, lon=107.08)
        sites.save_site(s, code="BD-TINH", kind="post_office", name="Bưu điện tỉnh", lat=20.95, lon=107.07)
        now = utcnow()
        accounts.add_user(s, "ntha", role="postal_clerk", site_code="TTHCC", password="x", at=now)
        accounts.add_user(s, "nva", role="courier", site_code="BD-TINH", password="x", at=now)


def token(settings: Settings, username: str) -> str:
    with db.session_for(settings) as s:
        return accounts.issue_token(s, username, at=utcnow())


def bulk_parcels(settings: Settings, n: int) -> list[str]:
    """n dossiers with one created parcel each, inserted in bulk (set-up, not what is measured)."""
    now = utcnow()
    engine = db.engine_for(settings)
    with engine.begin() as conn:
        center, agency = 1, 2
        dossiers = [dict(code=f"BENCH-{i:07d}", procedure="Cấp Phiếu lý lịch tư pháp", agency_id=agency, center_id=center,
                         applicant_name="Nguyễn Văn An", applicant_phone="0912345678", received_at=now,
                         due_at=now + timedelta(days=10), return_method="counter", request_hash="x", created_at=now)
                    for i in range(n)]
        conn.execute(insert(Dossier.__table__), dossiers)
        first_id = conn.exec_driver_sql("SELECT min(id) FROM dossier").scalar_one()
        codes = [labels.make_code("HC", 10_000_000 + i) for i in range(n)]
        conn.execute(insert(Parcel.__table__), [
            dict(code=c, dossier_id=first_id + i, direction="to_agency", origin_id=center, destination_id=agency,
                 state="created", created_at=now) for i, c in enumerate(codes)])
    return codes


def scan(code: str, action: str, **extra) -> dict:
    return {"id": str(uuid.uuid4()), "label": labels.qr_payload(LABEL_KEY, code), "action": action,
            "at": utcnow().isoformat(), **extra}
