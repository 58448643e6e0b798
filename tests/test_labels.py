"""Labels: S10 codes, signed QR payloads, and images a camera can read back."""

import io

import pytest
import zxingcpp
from PIL import Image

from postal import labels
from postal.errors import ForgedLabel

KEY = "label-key"


def test_check_digit_matches_the_upu_example():
    # UPU S10 example: RB 47312482 9 GB
    assert labels.check_digit("47312482") == 9


@pytest.mark.parametrize("serial", [0, 1, 12345678, 99999999, 47312482, 10000000])
def test_every_made_code_is_valid(serial):
    code = labels.make_code("HC", serial)
    assert len(code) == 13 and code.startswith("HC") and code.endswith("VN")
    assert labels.is_valid_code(code)


def test_a_typo_in_a_typed_code_is_caught():
    code = labels.make_code("HC", 12345678)
    wrong = code[:5] + str((int(code[5]) + 1) % 10) + code[6:]
    assert not labels.is_valid_code(wrong)
    with pytest.raises(ForgedLabel):
        labels.read(KEY, wrong)


def test_payload_round_trip_and_forgery():
    code = labels.make_code("HC", 20261123)
    payload = labels.qr_payload(KEY, code)
    assert labels.read(KEY, payload) == labels.ReadLabel(code, typed=False)
    assert labels.read(KEY, f" {code.lower()} ") == labels.ReadLabel(code, typed=True)
    with pytest.raises(ForgedLabel):
        labels.read("another-installation", payload)  # foreign label
    other = labels.make_code("HC", 20261124)
    with pytest.raises(ForgedLabel):
        labels.read(KEY, other + payload[len(code):])  # MAC of another code


def test_qr_stays_small_for_arms_length_reading():
    payload = labels.qr_payload(KEY, labels.make_code("BG", 99999999))
    assert labels.qr_version(payload) <= 4


def test_png_label_decodes_back_to_the_payload_and_the_bare_code():
    code = labels.make_code("HC", 31415926)
    png = labels.label_png(KEY, code)
    decoded = {(r.format.name, r.text) for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))}
    # the QR for phones and 2D imagers; the Code 128 for the 1D laser scanners post offices use
    assert decoded == {("QRCode", labels.qr_payload(KEY, code)), ("Code128", code)}


def test_svg_label_carries_the_human_code():
    code = labels.make_code("HC", 27182818)
    svg = labels.label_svg(KEY, code).decode()
    assert svg.startswith("<?xml") or svg.startswith("<svg")
    assert labels.spaced(code) in svg


def test_a_code_in_other_digits_is_not_a_code():
    """Unicode digits pass \\d: an S10 code is ASCII, as its check digit is computed."""
    key = "test-label-key"
    code = labels.make_code("HC", 12345678)
    arabic = code[:2] + "".join("٠١٢٣٤٥٦٧٨٩"[int(c)] for c in code[2:11]) + code[11:]
    fullwidth = code[:2] + "".join(chr(0xFF10 + int(c)) for c in code[2:11]) + code[11:]
    for typed in (arabic, fullwidth, f"{fullwidth}:{labels.mac(key, code)}", f"{code}\n:{labels.mac(key, code)}"):
        with pytest.raises(ForgedLabel):
            labels.read(key, typed)
    assert labels.read(key, code.lower()).code == code
