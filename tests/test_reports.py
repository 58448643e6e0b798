"""Reports: per-agency figures of a period on a small known history, their downloads, and the /reports page."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta

import pytest
from openpyxl import load_workbook

from sqlalchemy import select

from models import Dossier, User
from models.dossiers import DossierIn, ParcelIn
from models.runs import RunTemplateIn
from postal import dossiers, runs
from postal.clock import LOCAL_TZ, as_utc
from postal.reports.figures import agency_report, month_figure
from postal.reports.periods import period
from tests.test_pages import login

D = date(2026, 10, 5)  # a Monday: the history happens on D, D+1 and D+2
NEXT, AFTER = D + timedelta(days=1), D + timedelta(days=2)
WHOLE = {"from": D.isoformat(), "to": AFTER.isoformat()}
NOW = datetime(2026, 11, 2, 3, 0, tzinfo=LOCAL_TZ)  # long after the history: every period has ended


def at(day: date, hh: int, mm: int) -> datetime:
    return as_utc(datetime.combine(day, time(hh, mm), tzinfo=LOCAL_TZ))


def user(make, username: str) -> User:
    return make.staff(username)


def scan(make, username: str, code: str, action: str, when: datetime, **extra) -> None:
    """One scan through the domain, made when it says (the server hears it a minute later)."""
    make.record(username, code, action, when, heard_at=when + timedelta(minutes=1), **extra)


def dossier(make, agency: str, received: datetime, due: datetime) -> str:
    """A dossier received at the center; its first parcel, accepted three minutes later."""
    body = make.dossier_body(agency=agency, origin="TTHCC", received_at=received.isoformat(), due_at=due.isoformat())
    answer, _ = dossiers.register(make.session, DossierIn.model_validate(body), actor=user(make, "ntha"),
                                  settings=make.settings, now=received)
    scan(make, "ntha", answer.parcel.code, "accept", received + timedelta(minutes=5), site="TTHCC")
    return answer.parcel.code


def result(make, code: str, agency: str, clerk: str, when: datetime) -> str:
    """The agency's result, a new parcel of the same dossier, accepted at the agency."""
    dossier_code = make.session.get(Dossier, make.parcel_row(code).dossier_id).code
    out = dossiers.add_parcel(make.session, dossier_code, ParcelIn(direction="to_center", origin=agency),
                              actor=user(make, clerk), settings=make.settings, now=when)
    scan(make, clerk, out.code, "accept", when, site=agency)
    return out.code


@pytest.fixture
def history(make):
    """Two STP dossiers (one returned on time, one late), two SXD ones (one lost, one lost and found), one earlier.

    STP transit times, origin → received at destination: 100, 90, 160 and 70 minutes (median 95).
    Transfers: 4 for STP (three handovers and one receive with no handover before it), none for SXD.
    """
    make.network()
    # A1: on time. Out in 100 min (08:05 → 09:45), the result back in 90 (10:00 → 11:30, receiver only).
    p1 = dossier(make, "STP", at(D, 8, 0), at(D + timedelta(days=5), 17, 0))
    scan(make, "nva", p1, "pickup", at(D, 9, 0), site="TTHCC")
    scan(make, "nva", p1, "handover", at(D, 9, 30), site="STP")
    scan(make, "stp.linh", p1, "receive", at(D, 9, 45), site="STP")
    r1 = result(make, p1, "STP", "stp.linh", at(NEXT, 10, 0))
    scan(make, "nva", r1, "pickup", at(NEXT, 10, 30), site="STP")
    scan(make, "ntha", r1, "receive", at(NEXT, 11, 30), site="TTHCC")
    scan(make, "ntha", r1, "deliver", at(AFTER, 9, 0), site="TTHCC", evidence={"recipient_name": "Nguyễn Văn An"})
    # A2: due D+1, returned D+2: late. Out in 160 min (09:05 → 11:45), back in 70 (08:00 → 09:10).
    p2 = dossier(make, "STP", at(D, 9, 0), at(NEXT, 17, 0))
    scan(make, "nva", p2, "pickup", at(D, 10, 0), site="TTHCC")
    scan(make, "nva", p2, "handover", at(D, 10, 20), site="STP")
    scan(make, "stp.linh", p2, "receive", at(D, 11, 45), site="STP")
    r2 = result(make, p2, "STP", "stp.linh", at(AFTER, 8, 0))
    scan(make, "ttb", r2, "pickup", at(AFTER, 8, 30), site="STP")
    scan(make, "ttb", r2, "handover", at(AFTER, 9, 0), site="TTHCC")
    scan(make, "ntha", r2, "receive", at(AFTER, 9, 10), site="TTHCC")
    scan(make, "ntha", r2, "deliver", at(AFTER, 10, 0), site="TTHCC", evidence={"recipient_name": "Trần Thị Bình"})
    # B1: lost on the way to SXD. B2: reported lost, then found: not lost.
    p3 = dossier(make, "SXD", at(D, 10, 0), at(D + timedelta(days=10), 17, 0))
    scan(make, "nva", p3, "pickup", at(D, 11, 0), site="TTHCC")
    scan(make, "nva", p3, "report_missing", at(D, 12, 0), note="Không thấy bì trong túi xe")
    p4 = dossier(make, "SXD", at(D, 10, 30), at(D + timedelta(days=10), 17, 0))
    scan(make, "ttb", p4, "pickup", at(D, 11, 0), site="TTHCC")
    scan(make, "ttb", p4, "report_missing", at(D, 12, 0), note="Rơi khỏi xe?")
    scan(make, "sxd.hanh", p4, "found", at(D, 14, 0), site="SXD")
    # Received the day before the period: not in its `received`.
    dossier(make, "STP", at(D - timedelta(days=1), 15, 0), at(D + timedelta(days=9), 17, 0))
    # Two runs on D, one of them driven: the month's figure counts runs that set off.
    admin = user(make, "admin")
    for departs in ("08:00", "14:00"):
        runs.create_template(make.session, RunTemplateIn(name="Tuyến 1", departs=departs, stops=["TTHCC", "STP"],
                                                         post_office="BD-TINH"), actor=admin, now=at(D, 6, 0))
    assert runs.generate(make.session, D, 1, at(D, 6, 0)) == 2
    first = min(runs.runs_of_day(make.session, D).runs, key=lambda r: r.departs_at)
    runs.start(make.session, first.id, actor=user(make, "nva"), now=at(D, 8, 0))
    make.fresh()
    return make


def by_code(answer: dict) -> dict[str, dict]:
    return {a["agency"]: a for a in answer["agencies"]}


def test_figures_of_a_period_per_agency(history):
    report = agency_report(history.session, period(D, AFTER), now=NOW)
    stp, sxd = (next(a for a in report.agencies if a.agency == code) for code in ("STP", "SXD"))
    assert (stp.received, stp.returned, stp.on_time, stp.late, stp.on_time_pct) == (2, 2, 1, 1, 50.0)
    assert (stp.early, stp.on_due_day) == (1, 0)  # A1 came back three days before its appointment
    # Still being decided when the period ends: the one received the day before (STP), both of SXD's.
    assert (stp.pending_in_time, stp.pending_late, sxd.pending_in_time, sxd.pending_late) == (1, 0, 2, 0)
    assert (stp.transfers, stp.lost, stp.median_transit_min) == (4, 0, 95.0)
    assert stp.agency_name == "Sở Tư pháp"
    assert (sxd.received, sxd.returned, sxd.on_time_pct, sxd.transfers, sxd.lost, sxd.median_transit_min) == (2, 0, None, 0, 1, None)
    total = report.total
    assert (total.received, total.returned, total.on_time, total.late, total.transfers, total.lost) == (4, 2, 1, 1, 4, 1)
    assert total.median_transit_min == 95.0


def test_decided_before_on_and_after_the_appointment_and_still_being_decided(make):
    """As the circular's report counts them: returned before the appointment's day (trước hạn), on that day in
    time (đúng hạn), after it (quá hạn); and, at the end of the period, not yet returned with the appointment
    still ahead (trong hạn) or passed (quá hạn)."""
    make.network()

    def returned(received: datetime, due: datetime, back: datetime) -> None:
        parcel = dossier(make, "STP", received, due)
        make.session.get(Dossier, make.parcel_row(parcel).dossier_id).returned_at = back
        make.session.commit()

    returned(at(D, 8, 0), at(AFTER, 17, 0), at(NEXT, 15, 0))  # early
    returned(at(D, 8, 10), at(AFTER, 17, 0), at(AFTER, 16, 30))  # on the day, in time
    returned(at(D, 8, 20), at(NEXT, 17, 0), at(AFTER, 9, 0))  # late
    returned(at(D, 8, 30), at(NEXT, 11, 0), at(NEXT, 14, 0))  # on the day but after the hour: late
    dossier(make, "STP", at(D, 9, 0), at(NEXT, 17, 0))  # not returned, due within the period: pending, late
    dossier(make, "STP", at(D, 9, 10), at(AFTER + timedelta(days=3), 17, 0))  # pending, in time
    returned(at(D, 9, 20), at(AFTER + timedelta(days=3), 17, 0), at(AFTER + timedelta(days=1), 9, 0))  # after the period: pending
    dossier(make, "STP", at(AFTER + timedelta(days=1), 9, 0), at(AFTER + timedelta(days=5), 17, 0))  # received after: not counted
    make.fresh()
    stp = next(a for a in agency_report(make.session, period(D, AFTER), now=at(AFTER + timedelta(days=30), 8, 0)).agencies
               if a.agency == "STP")
    assert (stp.returned, stp.early, stp.on_due_day, stp.late, stp.on_time, stp.on_time_pct) == (4, 1, 1, 2, 2, 50.0)
    assert (stp.pending_in_time, stp.pending_late) == (2, 1)
    # The period still running: judged as of now, not as of its last day's end.
    running = next(a for a in agency_report(make.session, period(D, AFTER + timedelta(days=10)),
                                            now=at(NEXT, 12, 0)).agencies if a.agency == "STP")
    assert (running.pending_in_time, running.pending_late) == (3, 0)  # the one due on NEXT at 17:00 is not late yet


def test_a_shorter_period_counts_only_its_own_days(history):
    report = agency_report(history.session, period(D, D), now=NOW)
    stp = next(a for a in report.agencies if a.agency == "STP")
    # On D only the two outbound handovers, and the two parcels that reached STP (100 and 160 min).
    assert (stp.received, stp.returned, stp.transfers, stp.median_transit_min) == (2, 0, 2, 130.0)
    assert stp.on_time_pct is None


def test_the_month_figure_counts_transfers_runs_driven_and_losses(history):
    figure = month_figure(history.session, 2026, 10)
    assert (figure.transfers, figure.runs, figure.lost) == (4, 1, 1)
    assert month_figure(history.session, 2026, 9).transfers == 0


def test_the_api_answers_the_figures_as_json(client, history):
    r = client.get("/api/v1/reports/agencies", query_string=WHOLE, headers=history.token("gs.lan"))
    assert r.status_code == 200, r.get_data(as_text=True)
    answer = r.get_json()
    stp = by_code(answer)["STP"]
    assert {k: stp[k] for k in ("received", "returned", "on_time", "late", "on_time_pct", "transfers", "lost",
                                "median_transit_min")} == {
        "received": 2, "returned": 2, "on_time": 1, "late": 1, "on_time_pct": 50.0, "transfers": 4, "lost": 0,
        "median_transit_min": 95.0}
    assert by_code(answer)["SXD"]["lost"] == 1
    assert answer["from"] == D.isoformat() and answer["to"] == AFTER.isoformat()
    assert client.get("/api/v1/openapi.json").get_json()["paths"]["/api/v1/reports/agencies"]["get"]


def test_the_csv_download_has_a_bom_and_vietnamese_names(client, history):
    r = client.get("/api/v1/reports/agencies", query_string={**WHOLE, "format": "csv"}, headers=history.token("gs.lan"))
    assert r.status_code == 200
    assert r.mimetype == "text/csv" and "attachment" in r.headers["Content-Disposition"]
    assert r.data.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 only with the byte-order mark
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Mã cơ quan", "Cơ quan", "Tiếp nhận"]
    stp = next(row for row in rows if row[0] == "STP")
    assert rows[0][4:7] == ["Trước hạn", "Đúng hạn", "Quá hạn"]
    assert rows[0][8:10] == ["Đang giải quyết trong hạn", "Đang giải quyết quá hạn"]
    assert stp[1] == "Sở Tư pháp" and stp[2:] == ["2", "2", "1", "0", "1", "50.0", "1", "0", "0", "4", "0", "95.0"]
    assert rows[-1][1] == "Tổng cộng" and rows[-1][11] == "4" and rows[-1][8] == "3"
    english = client.get("/api/v1/reports/agencies", query_string={**WHOLE, "format": "csv"},
                         headers={**history.token("gs.lan"), "Accept-Language": "en"})
    assert english.data.decode("utf-8-sig").startswith("Agency code,Agency,Received")


def test_the_xlsx_download_opens_with_a_bold_header_and_the_rows(client, history):
    r = client.get("/api/v1/reports/agencies", query_string={**WHOLE, "format": "xlsx"}, headers=history.token("admin"))
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(r.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Báo cáo kết quả giải quyết hồ sơ theo cơ quan — UBND tỉnh Quảng Ninh — từ ngày 05/10/2026 đến ngày 07/10/2026"
    assert sheet["A1"].font.bold and "A1:N1" in sheet.merged_cells  # the title row: the unit and the period
    rows = rows[1:]
    assert rows[0][1] == "Cơ quan" and sheet["A2"].font.bold
    stp = next(row for row in rows if row[0] == "STP")
    assert stp[1:] == ("Sở Tư pháp", 2, 2, 1, 0, 1, 50.0, 1, 0, 0, 4, 0, 95.0)
    sxd = next(row for row in rows if row[0] == "SXD")
    assert sxd[7] is None and sxd[12] == 1  # no returns: no percentage; one lost
    assert rows[-1][1] == "Tổng cộng"
    assert sheet.column_dimensions["B"].width >= len("Sở Xây dựng")  # the names fit their column


@pytest.mark.parametrize(("query", "field"), [
    ({"from": "2026-13-01", "to": "2026-10-07"}, "from"),
    ({"from": "2026-10-01", "to": "hôm nay"}, "to"),
    ({"from": "2026-10-08", "to": "2026-10-07"}, "from"),
    ({"from": "2026-10-01", "to": "2026-10-07", "format": "pdf"}, "format"),
])
def test_bad_dates_and_formats_are_422_naming_the_field(client, make, query, field):
    make.network()
    r = client.get("/api/v1/reports/agencies", query_string=query, headers=make.token("gs.lan"))
    assert r.status_code == 422, r.get_data(as_text=True)
    error = r.get_json()["error"]
    assert error["code"] == "invalid_field" and field in error["message"]


def test_only_supervisors_and_admins_read_reports(client, make):
    make.network()
    assert client.get("/api/v1/reports/agencies").status_code == 401
    assert client.get("/api/v1/reports/agencies", headers=make.token("nva")).status_code == 403
    assert client.get("/api/v1/reports/agencies", headers=make.token("ntha")).status_code == 403
    login(client, "nva")
    assert client.get("/reports").status_code == 403


def test_the_reports_page_shows_the_table_downloads_and_the_month_line(client, history):
    login(client, "gs.lan")
    r = client.get("/reports", query_string={**WHOLE, "month": "2026-10"})
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "Sở Tư pháp" in page and "Sở Xây dựng" in page
    assert "50,00" in page  # Vietnamese decimal comma
    assert "Tháng 10/2026: 4 lượt chuyển hồ sơ, 1 chuyến, 1 thất lạc" in page
    assert "/api/v1/reports/agencies?from=2026-10-05&amp;to=2026-10-07&amp;format=xlsx" in page
    assert "<script>" not in page
    typed = client.get("/reports", query_string={"from": "05/10/2026", "to": "07/10/2026", "month": "10/2026"})
    assert typed.status_code == 200  # the page's fields send dd/mm/yyyy and mm/yyyy
    assert typed.get_data(as_text=True).count("Sở Tư pháp") == page.count("Sở Tư pháp")
    assert 'value="05/10/2026"' in typed.get_data(as_text=True) and 'value="10/2026"' in typed.get_data(as_text=True)
    bad = client.get("/reports", query_string={"from": "32/10/2026"})
    assert bad.status_code == 422 and "from" in bad.get_data(as_text=True) and "dd/mm/yyyy" in bad.get_data(as_text=True)
    api = client.get("/api/v1/reports/agencies", query_string={"from": "05/10/2026"}, headers=history.token("gs.lan"))
    assert api.status_code == 422  # the API takes YYYY-MM-DD, as its document says


def test_a_reappointed_dossier_is_late_against_the_original_and_again_against_its_new_day(history, client):
    """Reports show both: returned after the original appointment (late), and after the new day of the
    apology too (late again); one returned by its new day is late only."""
    from models.dossiers import ApologyIn
    from postal import apologies

    make = history
    for new_due, name in ((NEXT, "Lê Văn Cường"), (AFTER, "Phạm Thị Dung")):  # both due on D, both returned AFTER
        parcel = dossier(make, "STP", at(D, 7, 0), at(D, 17, 0))
        code = make.session.get(Dossier, make.parcel_row(parcel).dossier_id).code
        apologies.issue(make.session, code, ApologyIn(new_due=new_due, reason="Cần xác minh"),
                        actor=user(make, "gs.lan"), settings=make.settings, now=at(D, 17, 30))
        scan(make, "nva", parcel, "pickup", at(D, 8, 0), site="TTHCC")
        scan(make, "nva", parcel, "handover", at(D, 8, 30), site="STP")
        scan(make, "stp.linh", parcel, "receive", at(D, 8, 40), site="STP")
        back = result(make, parcel, "STP", "stp.linh", at(AFTER, 8, 0))
        scan(make, "ttb", back, "pickup", at(AFTER, 8, 20), site="STP")
        scan(make, "ttb", back, "handover", at(AFTER, 8, 50), site="TTHCC")
        scan(make, "ntha", back, "receive", at(AFTER, 9, 0), site="TTHCC")
        scan(make, "ntha", back, "deliver", at(AFTER, 11, 0), site="TTHCC", evidence={"recipient_name": name})
    make.fresh()
    stp = next(a for a in agency_report(make.session, period(D, AFTER), now=NOW).agencies if a.agency == "STP")
    assert (stp.returned, stp.late, stp.late_again) == (4, 3, 1)  # the one re-appointed to NEXT is late again
    r = client.get("/api/v1/reports/agencies", query_string={**WHOLE, "format": "csv"}, headers=make.token("gs.lan"))
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert rows[0][10] == "Quá cả ngày hẹn lại" and next(row for row in rows if row[0] == "STP")[10] == "1"


def test_text_that_a_spreadsheet_would_run_is_written_as_text(client, history):
    """A site named like a formula (CSV/XLSX injection) reaches the downloads as plain text."""
    import openpyxl

    history.site("EVIL", "agency", "=HYPERLINK(\"http://x\",\"bấm\")")
    csv_rows = list(csv.reader(io.StringIO(client.get("/api/v1/reports/agencies", query_string={**WHOLE, "format": "csv"},
                                                      headers=history.token("gs.lan")).data.decode("utf-8-sig"))))
    assert next(row for row in csv_rows if row[0] == "EVIL")[1].startswith("'=HYPERLINK")
    r = client.get("/api/v1/reports/agencies", query_string={**WHOLE, "format": "xlsx"}, headers=history.token("gs.lan"))
    sheet = openpyxl.load_workbook(io.BytesIO(r.data)).active
    [cell] = [row[1] for row in sheet.iter_rows() if row[0].value == "EVIL"]
    assert cell.data_type == "s" and cell.value == "=HYPERLINK(\"http://x\",\"bấm\")"  # a string, not a formula
    numbers = [row for row in sheet.iter_rows(values_only=True) if row[0] == "STP"][0]
    assert all(isinstance(v, int) for v in numbers[2:6])  # figures stay numbers


def test_the_page_the_csv_and_the_xlsx_agree_on_every_figure(client, history):
    import re

    import openpyxl

    login(client, "gs.lan")
    page = client.get("/reports", query_string=WHOLE).get_data(as_text=True)
    body = page[page.index("<tbody>"):page.index("</tfoot>")]
    shown = {}
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        code = re.search(r'<span class="muted code">([^<]+)</span>', row)
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        shown[code.group(1) if code else "total"] = [c.replace(",", ".").replace("—", "") for c in cells]
    csv_rows = list(csv.reader(io.StringIO(client.get("/api/v1/reports/agencies", query_string={**WHOLE, "format": "csv"},
                                                      headers=history.token("gs.lan")).data.decode("utf-8-sig"))))
    sheet = openpyxl.load_workbook(io.BytesIO(client.get("/api/v1/reports/agencies", query_string={**WHOLE, "format": "xlsx"},
                                                         headers=history.token("gs.lan")).data)).active
    xlsx_rows = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(min_row=3, values_only=True)]
    for rows in (csv_rows[1:], xlsx_rows):
        found = {(row[0] or "total"): [str(float(v)) if v.replace(".", "", 1).isdigit() else v for v in row[2:]]
                 for row in rows}
        assert set(found) == set(shown)
        for key, cells in shown.items():
            page_values = [str(float(v)) if v.replace(".", "", 1).isdigit() else v for v in cells]
            assert page_values == found[key], key
