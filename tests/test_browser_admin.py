"""The admin's journey in a real browser: edit and stop a run template, an account and a token."""

from __future__ import annotations

import pytest

from tests.test_admin_templates import day_runs, line_with_runs
from tests.test_browser import PHONE, log_in, shot

pytestmark = pytest.mark.browser


def test_the_admin_edits_and_deactivates_a_template_a_user_and_a_token(live_server, make, context_for):
    from playwright.sync_api import expect

    template_id, made = line_with_runs(make.app.test_client(), make)
    page = context_for().new_page()
    log_in(page, live_server, "admin", next_path="/admin/")

    # a template: edited from the first day not generated; its runs already made listed, remade on request
    page.click("text=Mẫu chuyến")
    page.click(f"#template-{template_id}")
    expect(page.locator(f"#affected-{made[0].id}")).to_contain_text("Giữ nguyên: đã có lượt quét trên chuyến")
    page.fill("#departs", "09:00")
    page.uncheck("#weekdays-1")  # Tuesday
    page.uncheck("#weekdays-3")  # Thursday
    page.click("#save-template")
    first_free = made[-1].day.toordinal() + 1
    from datetime import date
    expect(page.locator(".flash-ok")).to_contain_text(f"áp dụng từ ngày {date.fromordinal(first_free):%d/%m/%Y}")
    expect(page.locator("#regenerate")).to_be_visible()
    shot(page, "admin-template-edited")
    page.click("#regenerate")
    expect(page.locator(".flash-info")).to_contain_text(f"Giữ nguyên chuyến ngày {made[0].day:%d/%m/%Y}")
    remade = [r for r in day_runs(make, template_id) if r.id != made[0].id]
    assert remade and all(r.day.isoweekday() in (1, 3, 5) for r in remade)
    shot(page, "admin-template-regenerated")
    page.click("#deactivate-template")
    expect(page.locator("#template-state")).to_contain_text("Ngừng dùng")
    expect(page.locator(".flash-ok")).to_contain_text("Đã ngừng mẫu chuyến")

    # an account: a new name and site, a new password, then locked
    page.goto(f"{live_server}/admin/users")
    page.click("#user-ttb")
    page.fill("#full_name", "Trần Thanh Bình")
    page.click("#save-user")
    expect(page.locator("#user-state")).to_contain_text("Trần Thanh Bình")
    page.fill("#password", "mat-khau-moi-9")
    page.click("#reset-password")
    expect(page.locator(".flash-ok")).to_contain_text("Đã đặt mật khẩu mới cho ttb")
    page.click("#deactivate-ttb")
    expect(page.locator(".flash-ok")).to_contain_text("Đã khoá tài khoản ttb")
    assert not make.staff("ttb").active

    # a token: issued by a POST and shown once; a reload shows it no more; then revoked
    page.goto(f"{live_server}/admin/tokens")
    page.select_option("#username", "stp.linh")
    page.fill("#name", "phần mềm một cửa")
    page.click("#issue-token")
    secret = page.locator("#new-token").inner_text().strip()
    assert len(secret) > 30
    shot(page, "admin-token-issued")
    page.reload()
    expect(page.locator("#new-token")).to_have_count(0)
    assert secret not in page.content()
    token_row = page.locator("#tokens tr", has_text="phần mềm một cửa")
    expect(token_row).to_have_count(1)  # the reload issued no other
    token_row.locator("button").click()
    expect(page.locator("#tokens tr", has_text="phần mềm một cửa")).to_contain_text("Đã thu hồi")
    api = make.app.test_client()
    assert api.get("/api/v1/sites", headers={"Authorization": f"Bearer {secret}"}).status_code == 401

    # the audit log, on a phone: every change above, who made it, before and after
    phone = context_for(PHONE, is_mobile=True, has_touch=True).new_page()
    log_in(phone, live_server, "admin", next_path="/admin/audit")
    table = phone.locator("#changes")
    for words in ("Mẫu chuyến", "Tạo lại các chuyến", "08:00 → 09:00", "Đặt lại mật khẩu", "Ngừng, khoá", "Thu hồi"):
        expect(table).to_contain_text(words)
    phone.select_option("#object", "user")
    phone.fill("#key", "ttb")
    phone.click("#audit-filter button")
    expect(table).not_to_contain_text("Mẫu chuyến")
    expect(table).to_contain_text("Trần Thanh Bình")
    shot(phone, "admin-audit-phone")
