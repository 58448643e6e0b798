"""The control sheet (mẫu 05): each handoff's units, people and result against the due date, on the pages too."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from postal import control_sheet
from postal.clock import local, utcnow
from postal.errors import SiteForbidden
from tests.test_pages import login


def dossier_due(client, make, due_at) -> tuple[str, str]:
    """A dossier of Sở Tư pháp due then, accepted at the center: its code and its parcel's."""
    make.network()
    body = make.dossier_body(received_at=(utcnow() - timedelta(days=3)).isoformat(), due_at=due_at.isoformat())
    r = client.post("/api/v1/dossiers", json=body, headers=make.token("ntha"))
    assert r.status_code == 201, r.get_data(as_text=True)
    code = r.get_json()["parcel"]["code"]
    make.scan_as("ntha", code, "accept", site="TTHCC")
    return body["code"], code


def sheet_of(make, code: str, viewer: str = "gs.lan") -> list[control_sheet.SheetRow]:
    make.fresh()
    found = control_sheet.for_parcel(make.session, code, viewer=make.staff(viewer), settings=make.settings, now=utcnow())
    return found.rows


def test_the_sheet_names_who_gave_and_who_took_at_each_handoff(client, make):
    code = make.parcel(held_by="nva")
    make.scan_as("stp.linh", code, "receive", site="STP")  # the courier never scanned his handover
    rows = sheet_of(make, code)
    assert [r.action for r in rows] == ["accept", "pickup", "receive"]
    accept, pickup, receive = rows
    assert (str(accept.handed_by), accept.giver, accept.receiver) == ("Công dân", "Nguyễn Văn An", "ntha")
    assert str(accept.taken_by) == "Trung tâm Phục vụ hành chính công tỉnh"
    assert (str(pickup.taken_by), pickup.giver, pickup.receiver) == ("Bưu tá nva", "—", "nva")
    assert (str(receive.handed_by), str(receive.taken_by)) == ("Bưu tá nva", "Sở Tư pháp")
    assert (receive.giver, receive.receiver) == ("nva", "stp.linh")
    assert [str(n) for n in receive.notes] == ["chỉ bên nhận xác nhận (không có lần quét bàn giao)"]
    assert {str(r.result) for r in rows} == {"Trước hạn"}  # due in ten days


def test_a_typed_code_and_a_reported_loss_are_noted(client, make):
    code = make.parcel(accepted=False)
    make.scan_as("ntha", code, "accept", site="TTHCC", label=code)  # typed, not scanned
    make.scan_as("nva", code, "pickup", site="TTHCC")
    make.scan_as("nva", code, "report_missing", note="rơi trên xe")
    notes = [[str(n) for n in r.notes] for r in sheet_of(make, code)]
    assert notes == [["nhập mã bằng tay"], [], ["rơi trên xe", "báo thất lạc, quét bởi nva"]]


def test_each_handoff_is_judged_against_the_due_date(client, make):
    now = utcnow()
    _, late = dossier_due(client, make, now - timedelta(hours=1))
    end_of_today = local(now).replace(hour=23, minute=59, second=59, microsecond=999999)
    _, today = dossier_due(client, make, end_of_today)
    assert [str(r.result) for r in sheet_of(make, late)] == ["Quá hạn"]
    assert [str(r.result) for r in sheet_of(make, today)] == ["Đúng hạn"]


def test_the_dossier_page_shows_each_parcels_sheet_in_vietnamese_and_english(client, make):
    dossier, code = dossier_due(client, make, utcnow() - timedelta(hours=1))
    make.scan_as("nva", code, "pickup", site="TTHCC")
    make.scan_as("nva", code, "handover", site="STP")
    login(client, "gs.lan")
    html = client.get(f"/dossiers/{dossier}").get_data(as_text=True)
    assert len(re.findall(r"<tr>\s*<td data-label", html)) == 3
    assert "Giao: Bưu tá nva" in html and "Nhận: Sở Tư pháp" in html and "chờ bên nhận xác nhận" in html
    assert html.count('data-label="Kết quả">Quá hạn<') == 3
    html = client.get(f"/dossiers/{dossier}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Courier nva" in html and "Citizen" in html and "Quá hạn" not in html
    assert html.count('data-label="Result">Late<') == 3


def test_a_clerk_of_another_site_gets_no_sheet(client, make):
    code = make.parcel()
    make.fresh()
    with pytest.raises(SiteForbidden):
        control_sheet.for_parcel(make.session, code, viewer=make.staff("sxd.hanh"), settings=make.settings, now=utcnow())
