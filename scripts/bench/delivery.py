"""Home delivery in bulk: one POST /api/v1/scans taking N results out for delivery (a code each, sealed in the
outbox), then one delivering them all with the codes the citizens received."""

from __future__ import annotations

import argparse
import time
from datetime import timedelta

from _common import fresh_settings, network, scan, token  # noqa: I001

from sqlalchemy import insert, text

from models import Dossier, Parcel
from postal import db, labels, vault
from postal.clock import utcnow
from routes import create_app


def home_results(settings, n: int) -> list[str]:
    """n results waiting at the center for home delivery, inserted in bulk (set-up, not what is measured)."""
    now = utcnow()
    with db.engine_for(settings).begin() as conn:
        conn.execute(insert(Dossier.__table__), [
            dict(code=f"HOME-{i:07d}", procedure="Cấp Phiếu lý lịch tư pháp", agency_id=2, center_id=1,
                 applicant_name="Nguyễn Văn An", applicant_phone="0912345678", received_at=now,
                 due_at=now + timedelta(days=10), return_method="home", request_hash="x", created_at=now)
            for i in range(n)])
        first_id = conn.exec_driver_sql("SELECT min(id) FROM dossier").scalar_one()
        codes = [labels.make_code("HC", 20_000_000 + i) for i in range(n)]
        conn.execute(insert(Parcel.__table__), [
            dict(code=c, dossier_id=first_id + i, direction="to_citizen", origin_id=1, state="at_site",
                 holder_site_id=1, created_at=now) for i, c in enumerate(codes)])
    return codes


def codes_sent(settings, scans: list[dict], parcels: list[str]) -> dict[str, str]:
    """Each parcel's code, opened from its outbox row as the sender opens it."""
    parcel_of = {s["id"]: p for s, p in zip(scans, parcels, strict=True)}
    with db.engine_for(settings).connect() as conn:
        rows = conn.execute(text("SELECT dedupe_key, body, secret FROM outbox_message "
                                 "WHERE dedupe_key LIKE '%:sms:out_for_delivery'")).all()
    return {parcel_of[key.split(":")[0]]: vault.reveal(settings, body, secret)[1] for key, body, secret in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scans", type=int, default=2_000)
    args = parser.parse_args()
    settings = fresh_settings()
    network(settings)
    parcels = home_results(settings, args.scans)
    app = create_app({"DATABASE_URL": settings.database_url, "POSTAL_LABEL_KEY": settings.label_key})
    client, headers = app.test_client(), {"Authorization": f"Bearer {token(settings, 'nva')}"}
    out = [scan(c, "out_for_delivery") for c in parcels]
    started, cpu = time.perf_counter(), time.process_time()
    results = client.post("/api/v1/scans", json={"scans": out}, headers=headers).get_json()["results"]
    out_s, out_cpu = time.perf_counter() - started, time.process_time() - cpu
    assert all(r["status"] == "accepted" for r in results), results[0]
    codes = codes_sent(settings, out, parcels)
    given = [scan(c, "deliver", evidence={"otp": codes[c], "recipient_name": "Nguyễn Văn An"}) for c in parcels]
    started, cpu = time.perf_counter(), time.process_time()
    results = client.post("/api/v1/scans", json={"scans": given}, headers=headers).get_json()["results"]
    deliver_s, deliver_cpu = time.perf_counter() - started, time.process_time() - cpu
    assert all(r["status"] == "accepted" for r in results), results[0]
    db.engine_for(settings).dispose()
    print(f"{args.scans} out_for_delivery in one batch: {out_s:.3f} s ({args.scans / out_s:,.0f} scans/s), "
          f"{out_cpu:.3f} s of CPU")
    print(f"{args.scans} deliver with their codes in one batch: {deliver_s:.3f} s ({args.scans / deliver_s:,.0f} scans/s), "
          f"{deliver_cpu:.3f} s of CPU")


if __name__ == "__main__":
    main()
