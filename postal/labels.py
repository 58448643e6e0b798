"""Labels: UPU S10-shaped codes, signed QR payloads and the printable images."""

from __future__ import annotations

import base64
import hmac
import io
import re
import secrets
from dataclasses import dataclass

import barcode
import qrcode
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M

from postal.errors import ForgedLabel

PARCEL_PREFIX = "HC"  # hồ sơ
BAG_PREFIX = "BG"  # bag
COUNTRY = "VN"
S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
CODE_RE = re.compile(r"[A-Z]{2}[0-9]{9}[A-Z]{2}")  # ASCII digits (\d takes ١ and １ too), matched whole
SEPARATOR = ":"  # within the QR alphanumeric set, so the payload stays a small QR
MAC_BYTES = 10  # 80 bits: forging one by chance is out of reach, and base32 keeps 16 characters
QR_MAX_VERSION = 4
BARCODE_QUIET_MODULES = 10  # Code 128's quiet zone each side, in modules: a laser scanner needs it to lock on


def check_digit(serial: str) -> int:
    """The UPU S10 check digit of an 8-digit serial number."""
    if len(serial) != 8 or not serial.isdigit():
        raise ValueError(f"S10 serial must be 8 digits, got {serial!r}")
    d = [ord(c) - 48 for c in serial]
    remainder = 11 - (8 * d[0] + 6 * d[1] + 4 * d[2] + 2 * d[3] + 3 * d[4] + 5 * d[5] + 9 * d[6] + 7 * d[7]) % 11
    return {10: 0, 11: 5}.get(remainder, remainder)


def make_code(prefix: str, serial: int) -> str:
    """The human code, e.g. HC12345678?VN with its check digit."""
    digits = f"{serial:08d}"
    return f"{prefix}{digits}{check_digit(digits)}{COUNTRY}"


def random_code(prefix: str) -> str:
    """A fresh code with an unpredictable serial, so codes cannot be guessed for tracking."""
    return make_code(prefix, secrets.randbelow(10**8))


def is_valid_code(code: str) -> bool:
    """Whether a typed code has the S10 shape and a correct check digit."""
    return bool(CODE_RE.fullmatch(code)) and check_digit(code[2:10]) == int(code[10])


def mac(key: str, code: str) -> str:
    """The short HMAC of a code under the installation's label key."""
    digest = hmac.digest(key.encode(), code.encode(), "sha256")[:MAC_BYTES]
    return base64.b32encode(digest).decode().rstrip("=")


MAC_RE = re.compile(r"[A-Z2-7]{16}")  # MAC_BYTES in RFC 4648 base32, unpadded
_BASE32_TO_INT = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "0123456789abcdefghijklmnopqrstuv")


def mac_matches(key: str, code: str, given: str) -> bool:
    """Whether given is the code's MAC: decoded and compared in constant time (base64's encoder, in
    Python, cost more than the HMAC in a batch of thousands)."""
    if not MAC_RE.fullmatch(given):
        return False
    value = int(given.translate(_BASE32_TO_INT), 32).to_bytes(MAC_BYTES, "big")
    return hmac.compare_digest(value, hmac.digest(key.encode(), code.encode(), "sha256")[:MAC_BYTES])


def qr_payload(key: str, code: str) -> str:
    """What the QR code carries: the code and its MAC."""
    return f"{code}{SEPARATOR}{mac(key, code)}"


@dataclass(frozen=True)
class ReadLabel:
    """A label as read from a scan."""

    code: str
    typed: bool  # the human code keyed in by hand, without the QR's MAC


def read(key: str, label: str) -> ReadLabel:
    """Parse a scanned QR payload or a typed human code; a bad MAC or check digit is refused."""
    raw = label.strip().upper()
    if SEPARATOR in raw:
        code, _, given = raw.partition(SEPARATOR)
        if not is_valid_code(code) or not mac_matches(key, code, given):
            raise ForgedLabel(label=label[:40])
        return ReadLabel(code, typed=False)
    code = raw.replace(" ", "")
    if not is_valid_code(code):
        raise ForgedLabel(label=label[:40])
    return ReadLabel(code, typed=True)


def _qr(payload: str) -> qrcode.QRCode:
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=8, border=4)
    qr.add_data(payload.upper(), optimize=0)
    qr.make(fit=True)
    if qr.version > QR_MAX_VERSION:
        raise ValueError(f"QR payload too long for version {QR_MAX_VERSION}: {payload!r}")
    return qr


def qr_version(payload: str) -> int:
    """The QR version a payload needs (kept ≤ 4 so a phone reads it at arm's length)."""
    return _qr(payload).version


def barcode_modules(code: str) -> str:
    """The Code 128 of an S10 code as its modules ('1' a bar, '0' a space), without the quiet zones: what a 1D
    laser scanner at a post office reads back as the bare code."""
    return barcode.Code128(code).build()[0]


def label_png(key: str, code: str, caption: str | None = None) -> bytes:
    """A printable PNG label: the QR code, the Code 128 of the code, and the human code printed under them."""
    from PIL import Image, ImageDraw, ImageFont

    qr_img = _qr(qr_payload(key, code)).make_image(fill_color="black", back_color="white").get_image().convert("RGB")
    width, height = qr_img.size
    modules = barcode_modules(code)
    module_px = 2
    bars_w = (len(modules) + 2 * BARCODE_QUIET_MODULES) * module_px
    canvas_w = max(width, bars_w)
    font = ImageFont.load_default(size=max(18, width // 11))
    lines = [spaced(code)] + ([caption] if caption else [])
    line_h = font.size + 6
    bars_h = 60
    canvas = Image.new("RGB", (canvas_w, height + bars_h + line_h * len(lines) + 16), "white")
    canvas.paste(qr_img, ((canvas_w - width) // 2, 0))
    draw = ImageDraw.Draw(canvas)
    left = (canvas_w - bars_w) // 2 + BARCODE_QUIET_MODULES * module_px
    for i, module in enumerate(modules):
        if module == "1":
            x = left + i * module_px
            draw.rectangle((x, height, x + module_px - 1, height + bars_h - 1), fill="black")
    for i, line in enumerate(lines):
        text_w = draw.textlength(line, font=font)
        draw.text(((canvas_w - text_w) / 2, height + bars_h + 4 + i * line_h), line, fill="black", font=font)
    out = io.BytesIO()
    canvas.save(out, format="PNG")
    return out.getvalue()


def label_svg(key: str, code: str) -> bytes:
    """A printable SVG label: the QR code with the human code under it."""
    img = _qr(qr_payload(key, code)).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    svg = img.to_string(encoding="unicode")
    # Grow the canvas by one text line and print the code there.
    match = re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', svg)
    if match is None:
        return svg.encode()
    w, h = float(match.group(1)), float(match.group(2))
    new_h = h + 8
    svg = svg.replace(match.group(0), f'viewBox="0 0 {w:g} {new_h:g}"', 1)
    svg = re.sub(r'height="[\d.]+mm"', lambda m: f'height="{float(m.group(0)[8:-3]) * new_h / h:g}mm"', svg, count=1)
    caption = f'<text x="{w / 2:g}" y="{h + 4:g}" font-family="monospace" font-size="4" text-anchor="middle">{spaced(code)}</text>'
    return svg.replace("</svg>", caption + "</svg>").encode()


def spaced(code: str) -> str:
    """The code as printed for people: HC 1234 5678 9 VN."""
    return f"{code[:2]} {code[2:6]} {code[6:10]} {code[10]} {code[11:]}" if len(code) == 13 else code
