"""The demo province, seeded through the live domain functions, shows what a supervisor meets on the board."""

from __future__ import annotations

from sqlalchemy import select

from models import Alert, ApologySlip, CustodyEvent, Dossier, Site, User
from postal import demo, demo_scenes, ledger, onestop
from postal.clock import local, utcnow
from postal.delivery import collection


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


def test_the_demo_shows_dossiers_imported_from_the_one_stop_system_and_a_day_of_fees_at_the_door(make, postal):
    now = utcnow()
    demo.seed(make.session, make.settings, now)
    make.fresh()
    imported = make.session.execute(select(Dossier).where(Dossier.code.like("%-920_"))
                                    .order_by(Dossier.code)).scalars().all()
    assert len(imported) == 3
    agency = make.session.execute(select(Site).where(Site.id == imported[0].agency_id)).scalars().one()
    for dossier in imported:  # as the import reads them: unit code, day received, the agency the unit stands for
        parts = onestop.read_code(dossier.code)
        assert parts.unit == "000.00.22.H47" and parts.day == local(dossier.received_at).date()
        assert dossier.agency_id == agency.id
    assert onestop.unit_agencies(make.session) == {"000.00.22.H47": agency.code}
    day = demo_scenes.last_working_day(now)
    courier = make.session.execute(select(User).where(User.username == "nva")).scalars().one()
    lines = collection.courier_day(make.session, courier.id, day)
    assert [ln.method for ln in lines] == ["cash", "transfer"]
    assert all(ln.due_vnd == ln.received_vnd > demo_scenes.DOOR_FEE_VND for ln in lines)
    assert lines[1].reference and lines[1].reference.startswith("FT")
    cli = postal("collections", "nva", "--day", day.isoformat())
    assert cli.exit_code == 0, cli.output
    assert f"{day:%d/%m/%Y}: 2 collections" in cli.output and "DIFFERENCE" not in cli.output
