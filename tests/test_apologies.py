"""The apology and re-appointment (mẫu 04) is an act: a clerk or supervisor issues it for a late or at-risk
dossier, with a new working day and a reason; every issue is kept; the slip prints from the record by a GET
that changes nothing; the citizen reads it on /track and gets one SMS per issue."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from models import ApologySlip, OutboxMessage
from postal.clock import local, utcnow
from postal.workdays import DEFAULT_CALENDAR
from tests.test_citizens import registered, track
from tests.test_pages import csrf_of, login


def late_dossier(client, make) -> str:
    received = utcnow() - timedelta(days=20)
    code, _ = registered(client, make, received_at=received.isoformat(), due_at=(received + timedelta(days=10)).isoformat())
    return code


def working_day(after: int = 3):
    return DEFAULT_CALENDAR.add_working_days(local(utcnow()).date(), after)


def issue(client, make, code, *, user="ntha", new_due=None, reason="Cần xác minh thêm tại địa phương"):
    body = {"new_due": (new_due or working_day()).isoformat(), "reason": reason}
    return client.post(f"/api/v1/dossiers/{code}/apologies", json=body, headers=make.token(user))


def count(make, table) -> int:
    make.fresh()
    return make.session.execute(select(func.count()).select_from(table)).scalar_one()


def test_a_clerk_issues_the_apology_and_the_slip_prints_from_the_record(client, make):
    code = late_dossier(client, make)
    assert track(client, code)["new_due"] is None  # nothing told before it is issued
    r = issue(client, make, code)
    assert r.status_code == 201, r.get_data(as_text=True)
    issued = r.get_json()
    assert issued["new_due"] == working_day().isoformat() and issued["reason"] == "Cần xác minh thêm tại địa phương"
    assert issued["issued_by"] == "ntha" and issued["dossier"] == code

    before = (count(make, ApologySlip), count(make, OutboxMessage))
    pdf = client.get(issued["pdf_url"], headers=make.token("gs.lan"))
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert (count(make, ApologySlip), count(make, OutboxMessage)) == before  # printing writes nothing
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ" in text and code in text
    assert "Cần xác minh thêm tại địa phương" in text and working_day().strftime("%d/%m/%Y") in text

    tracked = track(client, code)
    assert tracked["late"] is True and tracked["new_due"] == working_day().isoformat()
    make.fresh()
    [sms] = make.session.execute(select(OutboxMessage).where(OutboxMessage.dedupe_key.like("apology:%"))).scalars().all()
    assert working_day().strftime("%d/%m/%Y") in sms.body and code in sms.body


def test_a_dossier_can_be_apologised_for_again_and_every_issue_is_kept(client, make):
    code = late_dossier(client, make)
    first = issue(client, make, code, new_due=working_day(1)).get_json()  # due again tomorrow: still at risk
    again = issue(client, make, code, new_due=working_day(1))
    assert again.status_code == 422 and "ngày hẹn mới" in again.get_json()["error"]["message"]  # not after the first
    second = issue(client, make, code, user="gs.lan", new_due=working_day(5), reason="Chờ ý kiến liên ngành").get_json()
    assert second["previous_due"] == first["new_due"] and second["issued_by"] == "gs.lan"
    assert count(make, ApologySlip) == 2 and track(client, code)["new_due"] == working_day(5).isoformat()
    assert client.get(first["pdf_url"], headers=make.token("ntha")).status_code == 200  # the first still prints


def test_an_apology_is_refused_clearly_and_writes_nothing(client, make):
    on_time, _ = registered(client, make)
    r = issue(client, make, on_time)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_late"
    code = late_dossier(client, make)
    saturday = next(d for d in (local(utcnow()).date() + timedelta(days=n) for n in range(1, 9)) if d.weekday() == 5)
    for new_due, words in [(local(utcnow()).date() - timedelta(days=1), "phải sau hôm nay"),
                           (saturday, "ngày làm việc"), (working_day(80), "không quá 60 ngày làm việc")]:
        r = issue(client, make, code, new_due=new_due)
        assert r.status_code == 422 and words in r.get_json()["error"]["message"], new_due
    assert issue(client, make, code, reason="   ").status_code == 422
    assert issue(client, make, code, user="nva").status_code == 403  # a courier issues no apology
    assert count(make, ApologySlip) == 0 and count(make, OutboxMessage) == 0


def test_the_dossier_page_issues_it_and_links_the_slip(client, make):
    code = late_dossier(client, make)
    login(client, "ntha")
    page = client.get(f"/dossiers/{code}").get_data(as_text=True)
    assert 'href="#xin-loi"' in page and "Ra phiếu xin lỗi, hẹn lại" in page
    r = client.post(f"/dossiers/{code}/apologies", data={"csrf_token": csrf_of(page), "new_due": working_day().isoformat(),
                                                         "reason": "Cần bổ sung giấy tờ"}, follow_redirects=True)
    text = r.get_data(as_text=True)
    assert "Đã ra phiếu xin lỗi, hẹn lại ngày" in text and "Cần bổ sung giấy tờ" in text and ".pdf" in text
    r = client.post(f"/dossiers/{code}/apologies", data={"csrf_token": csrf_of(text), "new_due": "", "reason": ""},
                    follow_redirects=True)
    assert "Cần chọn ngày hẹn mới và ghi lý do." in r.get_data(as_text=True) and count(make, ApologySlip) == 1


def test_the_watch_judges_a_reappointed_dossier_against_the_new_day_too(client, make):
    from datetime import datetime, time

    from models import Alert
    from models.dossiers import ApologyIn
    from postal import apologies, watch
    from postal.clock import LOCAL_TZ

    code = late_dossier(client, make)
    new_due = working_day(1)
    assert issue(client, make, code, new_due=new_due).status_code == 201

    def alerts(kind: str) -> list[str]:
        make.fresh()
        return [a.state for a in make.session.execute(select(Alert).where(Alert.kind == kind)).scalars()]

    watch.sweep(make.session, utcnow(), settings=make.settings)
    assert alerts("overdue") == ["open"] and alerts("overdue_again") == []  # late against the original only
    after = datetime.combine(DEFAULT_CALENDAR.add_working_days(new_due, 1), time(9), tzinfo=LOCAL_TZ)
    watch.sweep(make.session, after, settings=make.settings)
    assert alerts("overdue_again") == ["open"]  # and now against the new day as well
    later = DEFAULT_CALENDAR.add_working_days(after.date(), 3)
    apologies.issue(make.session, code, ApologyIn(new_due=later, reason="Chờ kết quả xác minh"),
                    actor=make.staff("gs.lan"), settings=make.settings, now=after)
    watch.sweep(make.session, after, settings=make.settings)
    assert alerts("overdue_again") == ["resolved"] and alerts("overdue") == ["open"]


@pytest.mark.parametrize("settings_overrides", [{"POSTAL_WEBHOOK_URL": "http://127.0.0.1:9/hook"}])
def test_an_apology_tells_the_one_stop_system_its_new_day_once(client, make, settings_overrides):
    code = late_dossier(client, make)
    assert issue(client, make, code).status_code == 201
    make.fresh()
    [hook] = make.session.execute(select(OutboxMessage).where(OutboxMessage.channel == "webhook")).scalars().all()
    body = json.loads(hook.body)
    assert body["dossier"] == code and body["status"] == "apology"
    assert body["onestop_status"] == "Xin lỗi, hẹn lại ngày trả" and body["new_due"] == working_day().isoformat()
