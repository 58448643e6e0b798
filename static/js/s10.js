// UPU S10 label codes (HC 1234 5678 9 VN): the check digit, as postal/labels.py computes it.
const WEIGHTS = [8, 6, 4, 2, 3, 5, 9, 7];
const SHAPE = /^[A-Z]{2}\d{9}[A-Z]{2}$/;
const PREFIX_OF_SHAPE = /^[A-Z]{0,2}$|^[A-Z]{2}\d{1,9}$|^[A-Z]{2}\d{9}[A-Z]{1,2}$/;
export const SEPARATOR = ":";

export function checkDigit(serial) {
  let sum = 0;
  for (let i = 0; i < 8; i += 1) sum += Number(serial[i]) * WEIGHTS[i];
  const remainder = 11 - (sum % 11);
  if (remainder === 10) return 0;
  if (remainder === 11) return 5;
  return remainder;
}

export function spaced(code) {
  return code.length === 13
    ? `${code.slice(0, 2)} ${code.slice(2, 6)} ${code.slice(6, 10)} ${code[10]} ${code.slice(11)}`
    : code;
}

// What was typed or scanned: a QR payload (CODE:MAC, checked by the server) or a human code.
// state: empty | partial | ok | bad_check | bad_shape
export function inspect(raw) {
  const text = (raw || "").trim().toUpperCase();
  if (!text) return { state: "empty", code: "", label: "" };
  const fromQr = text.includes(SEPARATOR);
  const code = (fromQr ? text.split(SEPARATOR)[0] : text).replace(/[\s-]+/g, "");
  const label = fromQr ? text.replace(/\s+/g, "") : code;
  if (!SHAPE.test(code)) {
    const partial = !fromQr && code.length < 13 && PREFIX_OF_SHAPE.test(code);
    return { state: partial ? "partial" : "bad_shape", code, label, fromQr };
  }
  const expected = checkDigit(code.slice(2, 10));
  if (Number(code[10]) !== expected) return { state: "bad_check", code, label, expected, fromQr };
  return { state: "ok", code, label, fromQr };
}
