"""The run manifest's handover record (biên bản giao nhận): at each stop one part per direction, each with its own
giver and receiver by full name, role and unit, the count and the time from the scans."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from pypdf import PdfReader

from postal import documents, labels, runs
from postal.clock import local, utcnow
from tests.test_runs import post_scans, result_parcel, settings_overrides, upcoming_run  # noqa: F401 (a fixture)


def test_manifest_document_carries_a_signed_qr_and_the_handover_record(client, make):
    make.network(full_names=True)
    run = upcoming_run(client, make)
    code = make.parcel()
    client.post(f"/api/v1/runs/{run['id']}/start", headers=make.token("nva"))
    post_scans(client, make, "nva", make.scan(code, "pickup", site="TTHCC", run=run["id"]))
    post_scans(client, make, "nva", make.scan(code, "handover", site="STP", run=run["id"]))
    post_scans(client, make, "stp.linh", make.scan(code, "receive"))
    doc = runs.manifest_document(make.session, run["id"], label_key=make.settings.label_key)
    assert labels.read(make.settings.label_key, doc.qr_payload).code == runs.run_code(run["id"])
    pick, drop = doc.stops[0], doc.stops[1]
    assert [p.code for p in pick.pick] == [code] and pick.pick[0].destination == "Sở Tư pháp"
    courier = documents.Person("Ngô Văn Anh", "Bưu tá", "Bưu điện tỉnh")
    clerk = documents.Person("Nguyễn Thị Hà", "Nhân viên bưu điện", "Trung tâm Phục vụ hành chính công tỉnh")
    agency = documents.Person("Vũ Thùy Linh", "Cán bộ tiếp nhận của cơ quan", "Sở Tư pháp")
    assert [(h.parcel_code, h.giver, h.receiver) for h in pick.picked] == [(code, clerk, courier)]  # the site gave
    assert [(h.parcel_code, h.giver, h.receiver) for h in drop.dropped] == [(code, courier, agency)]  # the site took
    assert not pick.dropped and not drop.picked and doc.courier == "Ngô Văn Anh"


def test_the_manifest_pdf_has_a_record_per_direction_at_each_stop_with_full_names(client, make):
    make.network(full_names=True)
    run = upcoming_run(client, make)
    rid = run["id"]
    out = make.parcel()
    back = result_parcel(make, make.parcel(accepted=False), "STP", utcnow())  # a result waiting at the agency
    assert client.post(f"/api/v1/runs/{rid}/assign", json={"courier": "nva"}, headers=make.token("gs.lan")).status_code == 200
    r = client.post(f"/api/v1/runs/{rid}/start", headers=make.token("nva"))
    assert [s["site"] for s in r.get_json()["stops"]] == ["TTHCC", "STP", "TTHCC"]
    picked_at = utcnow() - timedelta(minutes=3)
    post_scans(client, make, "nva", make.scan(out, "pickup", site="TTHCC", run=rid, at=picked_at))
    post_scans(client, make, "nva", make.scan(out, "handover", site="STP", run=rid),
               make.scan(back, "pickup", site="STP", run=rid))
    post_scans(client, make, "stp.linh", make.scan(out, "receive"))
    post_scans(client, make, "nva", make.scan(back, "handover", site="TTHCC", run=rid))
    post_scans(client, make, "ntha", make.scan(back, "receive"))
    pdf = client.get(f"/api/v1/runs/{rid}/manifest.pdf", headers=make.token("nva"))
    text = " ".join("\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages).split())
    center, courier = "Trung tâm Phục vụ hành chính công tỉnh", "Ngô Văn Anh Bưu tá – Bưu điện tỉnh"
    clerk, agency = f"Nguyễn Thị Hà Nhân viên bưu điện – {center}", "Vũ Thùy Linh Cán bộ tiếp nhận của cơ quan – Sở Tư pháp"
    stops = text.split("BIÊN BẢN GIAO NHẬN")[1:]
    assert len(stops) == 3
    first, second, third = stops
    assert f"Phần 1. {center} giao, bưu tá nhận Số bì: 1/1" in first and "Phần 2" not in first
    assert first.index(clerk) < first.index("BÊN NHẬN") < first.index(courier)  # the center gave, the courier took
    assert f"Lúc: {local(picked_at):%H:%M %d/%m/%Y}" in first
    given, taken = second.split("Phần 2. Sở Tư pháp giao, bưu tá nhận")
    assert "Phần 1. Bưu tá giao, Sở Tư pháp nhận Số bì: 1/1" in given
    assert given.index(courier) < given.index("BÊN NHẬN") < given.index(agency)
    assert "Số bì: 1/1" in taken and taken.index(agency) < taken.index("BÊN NHẬN") < taken.index(courier)
    assert f"Phần 1. Bưu tá giao, {center} nhận" in third and third.index(courier) < third.index(clerk)
    assert not re.search(r"\b(nva|ntha|stp\.linh)\b", text)  # full names on paper, never logins
