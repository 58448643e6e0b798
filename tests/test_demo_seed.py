"""The demo province, seeded through the live domain functions, shows what a supervisor meets on the board."""

from __future__ import annotations

from sqlalchemy import select

from models import Alert, ApologySlip, CustodyEvent, Dossier
from postal import demo, ledger
from postal.clock import utcnow


def test_the_demo_shows_a_refused_misroute_a_redirect_and_an_issued_apology(app, make, client):
    counts = demo.seed(make.session, make.settings, utcnow())
    assert counts["steps"] > 500
    make.fresh()
    misrouted = make.session.execute(select(Alert).where(Alert.kind == "misrouted")).scalars().all()
    assert [a.state for a in misrouted] == ["open"] and "thử bàn giao tại" in misrouted[0].note
    [redirect] = make.session.execute(select(CustodyEvent).where(CustodyEvent.action == "redirect")).scalars().all()
    assert "thẩm quyền" in redirect.note
    [slip] = make.session.execute(select(ApologySlip)).scalars().all()
    dossier = make.session.get(Dossier, slip.dossier_id)
    tracked = client.post("/api/v1/track", json={"code": dossier.code, "phone_last4": dossier.applicant_phone[-4:]})
    assert tracked.get_json()["late"] is True and tracked.get_json()["new_due"] == slip.new_due.isoformat()
    assert ledger.verify(make.session).first_bad is None  # the week's history is a sound chain
    [booked] = make.session.execute(select(Dossier).where(Dossier.code.like("%-9004"))).scalars().all()
    tracked = client.post("/api/v1/track", json={"code": booked.code, "phone_last4": "9004"}).get_json()
    [booking] = tracked["bookings"]  # a home delivery the citizen may change or cancel on /track
    assert booking["kind"] == "deliver_result" and booking["state"] == "requested"
