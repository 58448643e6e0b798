"""The demo province, seeded through the live domain functions, shows what a supervisor meets on the board."""

from __future__ import annotations

from sqlalchemy import select

from models import Alert, CustodyEvent
from postal import demo, ledger
from postal.clock import utcnow


def test_the_demo_shows_a_refused_misroute_and_a_redirect(app, make):
    counts = demo.seed(make.session, make.settings, utcnow())
    assert counts["steps"] > 500
    make.fresh()
    misrouted = make.session.execute(select(Alert).where(Alert.kind == "misrouted")).scalars().all()
    assert [a.state for a in misrouted] == ["open"] and "thử bàn giao tại" in misrouted[0].note
    [redirect] = make.session.execute(select(CustodyEvent).where(CustodyEvent.action == "redirect")).scalars().all()
    assert "thẩm quyền" in redirect.note
    assert ledger.verify(make.session).first_bad is None  # the week's history is a sound chain
