"""Vietnamese first, English complete: every message has its translation."""

from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent


def test_every_msgid_has_an_english_translation():
    with (ROOT / "translations" / "en" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f)
    missing = [m.id for m in catalog if m.id and not m.string]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert not missing and not fuzzy, f"untranslated: {missing}, fuzzy: {fuzzy}"


def test_catalog_covers_every_message_in_the_code():
    import subprocess
    import sys

    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "translations.py"), "--check"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_errors_default_to_vietnamese_and_follow_accept_language(client):
    r = client.get("/api/v1/sites")
    assert r.get_json()["error"]["message"] == "Cần đăng nhập hoặc mã truy cập hợp lệ."
    r = client.get("/api/v1/sites", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert r.get_json()["error"]["message"] == "Log in or send a valid access token."
