// The scan page: a wedge scanner types a label and Enter into the always-focused input;
// every scan is queued in IndexedDB first and sent through POST /api/v1/scans when online.
import { inspect, spaced } from "./s10.js";
import * as queue from "./queue.js";

const config = JSON.parse(document.getElementById("scan-config").textContent);
const S = config.strings;
const $ = (id) => document.getElementById(id);
const input = $("label-input");
const form = $("scan-form");
const actionSelect = $("action");
const siteSelect = $("site");
const noteInput = $("note");
const runSelect = $("run");  // only when the user has runs today
const banner = $("banner");
const BATCH = 200;
const RETRY_MS = 15000;
const ANSWERED = new Set(["accepted", "duplicate", "rejected"]);
const COUNT_KEY = `postal.scan.count.${config.user}`;
const CHOICE_KEY = `postal.scan.choice.${config.user}`;

let csrfToken = document.querySelector('meta[name="csrf-token"]').content;
let lastId = null;
let syncing = false;
let again = false;
let unbag = null;  // { bag, label, scanned: [labels] } while a bag is being opened
let stopCamera = null;
const counts = JSON.parse(sessionStorage.getItem(COUNT_KEY) || '{"accepted":0,"duplicate":0,"rejected":0}');

const fmt = (text, params = {}) => text.replace(/%\((\w+)\)s/g, (_, key) => (key in params ? params[key] : ""));

// -- focus: the input always has it, so a wedge scanner's keystrokes land there ----------------
function isOtherControl(el) {
  return Boolean(el && el !== input && el.closest && el.closest("select, textarea, button, a, summary, input"));
}

function refocus() {
  if (document.activeElement !== input && !isOtherControl(document.activeElement)) {
    input.focus({ preventScroll: true });
  }
}

input.addEventListener("blur", () => setTimeout(refocus, 0));
for (const control of [actionSelect, siteSelect, noteInput, runSelect].filter(Boolean)) {
  control.addEventListener("change", () => { rememberChoice(); onActionChange(); input.focus({ preventScroll: true }); });
  control.addEventListener("blur", () => setTimeout(refocus, 0));
}
document.addEventListener("click", () => setTimeout(refocus, 0));
window.addEventListener("focus", refocus);
document.addEventListener("visibilitychange", () => { if (!document.hidden) refocus(); });

// -- sound: short tones a courier can tell apart without looking ------------------------------
let audio = null;
const TONES = {
  accepted: [[880, 0.12, "sine"], [1320, 0.12, "sine"]],
  duplicate: [[660, 0.1, "triangle"], [660, 0.1, "triangle"]],
  rejected: [[196, 0.5, "square"]],
  queued: [[520, 0.18, "sine"]],
};

function beep(kind) {
  try {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    audio = audio || new Context();
    if (audio.state === "suspended") audio.resume();
    let t = audio.currentTime + 0.01;
    for (const [frequency, length, type] of TONES[kind] || []) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = type;
      osc.frequency.value = frequency;
      gain.gain.setValueAtTime(0.3, t);
      gain.gain.exponentialRampToValueAtTime(0.001, t + length);
      osc.connect(gain).connect(audio.destination);
      osc.start(t);
      osc.stop(t + length);
      t += length + 0.05;
    }
  } catch (err) {
    // no sound on this device: the colour still tells
  }
  if (kind === "rejected" && navigator.vibrate) navigator.vibrate([200, 100, 200]);
}

// -- what the page shows ------------------------------------------------------------------------
function show(kind, title, code, detail) {
  banner.className = `banner banner-${kind}`;
  $("banner-title").textContent = title;
  $("banner-code").textContent = code ? spaced(code) : "";
  $("banner-detail").textContent = detail || "";
  banner.dataset.status = kind;
}

function holderText(parcel) {
  if (!parcel || !parcel.holder) return "";
  const name = parcel.holder.name || parcel.holder.code || "";
  if (parcel.state === "awaiting_receipt") return fmt(S.holder_awaiting, { name });
  if (parcel.holder.type === "courier") return fmt(S.holder_courier, { name });
  if (parcel.holder.type === "site") return fmt(S.holder_site, { name });
  return S[`state_${parcel.state}`] || "";
}

function describe(result) {
  if (result.status === "rejected") return result.error ? result.error.message : "";
  const where = holderText(result.bag || result.parcel);
  if (result.status !== "duplicate") return where;
  if (result.first_at) {  // the label scanned again after its step was recorded: when that was
    const time = new Date(result.first_at).toLocaleString("vi-VN", { timeZone: "Asia/Ho_Chi_Minh", hour: "2-digit",
      minute: "2-digit", second: "2-digit", day: "2-digit", month: "2-digit", year: "numeric" });
    return [fmt(S.duplicate_first, { time }), where].filter(Boolean).join(" ");
  }
  return [S.duplicate_detail, where].filter(Boolean).join(" ");
}

const recentItems = new Map();  // scan id → its line in the list, updated when the answer comes

function addRecent(id, kind, code, action, text) {
  let item = recentItems.get(id);
  if (!item) {
    item = document.createElement("li");
    const time = new Date().toLocaleTimeString("vi-VN", { hour: "2-digit", minute: "2-digit", second: "2-digit" });
    const head = document.createElement("div");
    head.className = "recent-head";
    const link = document.createElement("a");
    link.href = config.parcel_url.replace("CODE", encodeURIComponent(code));
    link.textContent = spaced(code);
    link.className = "code";
    head.append(`${time} · `, link, ` · ${actionName(action)}`);
    item.append(head, document.createElement("div"));
    const list = $("recent");
    list.querySelector(".recent-empty")?.remove();
    list.prepend(item);
    recentItems.set(id, item);
    while (list.children.length > 30) {
      recentItems.forEach((li, key) => { if (li === list.lastChild) recentItems.delete(key); });
      list.lastChild.remove();
    }
  }
  item.className = `recent-item recent-${kind}`;
  item.lastChild.textContent = `${S[kind] || kind}${text ? ` — ${text}` : ""}`;
}

function actionName(action) {
  const option = [...actionSelect.options].find((o) => o.value === action);
  return option ? option.textContent : action;
}

function showCount() {
  sessionStorage.setItem(COUNT_KEY, JSON.stringify(counts));
  $("session-count").textContent = fmt(S.session_count, counts);
}

async function showPending() {
  const { mine, others } = await queue.counts(config.user);
  const badge = $("pending");
  badge.hidden = mine === 0;
  badge.textContent = fmt(S.pending, { count: mine });
  badge.dataset.count = String(mine);
  if (others) notice(fmt(S.pending_other, { count: others }), null, "info");
}

function notice(text, link, kind = "error") {
  const box = $("notice");
  box.hidden = !text;
  box.className = `flash flash-${kind}`;
  box.textContent = text || "";
  if (link) {
    const a = document.createElement("a");
    a.href = link;
    a.textContent = " →";
    box.append(a);
  }
}

function showNetwork() {
  const net = $("net");
  const online = navigator.onLine;
  net.textContent = online ? S.online : S.offline;
  net.className = `net ${online ? "net-online" : "net-offline"}`;
}

// -- choices kept between visits ----------------------------------------------------------------
function rememberChoice() {
  localStorage.setItem(CHOICE_KEY, JSON.stringify({ action: actionSelect.value, site: siteSelect.value }));
}

function restoreChoice() {
  try {
    const saved = JSON.parse(localStorage.getItem(CHOICE_KEY) || "null");
    if (saved && [...actionSelect.options].some((o) => o.value === saved.action)) actionSelect.value = saved.action;
    if (saved && [...siteSelect.options].some((o) => o.value === saved.site)) siteSelect.value = saved.site;
  } catch (err) {
    // a broken saved choice: keep the defaults
  }
}

// The chosen run and where it goes next, kept in view above the scans.
function showRun() {
  const strip = $("run-strip");
  if (!strip || !runSelect) return;
  const option = runSelect.options[runSelect.selectedIndex];
  strip.hidden = !option || !option.value;
  if (strip.hidden) return;
  $("run-strip-name").textContent = option.dataset.name || option.textContent;
  $("run-strip-next").textContent = option.dataset.next || "";
}

function onActionChange() {
  siteSelect.classList.toggle("needs-choice", actionSelect.value === "handover" && !siteSelect.value);
  showRun();
  if (actionSelect.value !== "unbag") endUnbag();
}

// -- typing: the check digit is verified as the code is keyed in -------------------------------
function hint() {
  const info = inspect(input.value);
  const box = $("code-hint");
  box.className = `hint hint-${info.state}`;
  if (info.state === "empty") box.textContent = "";
  else if (info.state === "partial") box.textContent = fmt(S.typing, { count: info.code.length });
  else if (info.state === "ok") box.textContent = `✓ ${S.code_ok}: ${spaced(info.code)}`;
  else if (info.state === "bad_check") box.textContent = `✗ ${fmt(S.bad_check, { digit: info.expected })}`;
  else box.textContent = `✗ ${S.bad_shape}`;
  return info;
}

input.addEventListener("input", hint);

// -- how a bare code came in: a laser scanner "types" a whole Code 128 in a few milliseconds a key ------------
const WEDGE_MS_PER_KEY = 50;  // a laser scanner: a few ms a key; the quickest typist: over 60
let firstKeyAt = 0;
let pasted = false;
input.addEventListener("keydown", (event) => {
  if (!input.value && event.key.length === 1) { firstKeyAt = performance.now(); pasted = false; }
});
input.addEventListener("paste", () => { pasted = true; });

function sourceOf(text) {
  const keys = text.trim().length;
  const fast = firstKeyAt && keys >= 13 && (performance.now() - firstKeyAt) / keys < WEDGE_MS_PER_KEY;
  firstKeyAt = 0;
  return fast && !pasted ? "barcode" : "keyboard";
}

function newId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));  // plain-HTTP pages have no randomUUID
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// -- scanning -------------------------------------------------------------------------------------
const pending = new Map();  // id → {code, action} of scans made on this page, for the answers

async function take(raw) {
  const info = inspect(raw);
  const source = sourceOf(raw || "");
  input.value = "";
  hint();
  if (info.state === "empty") return;
  if (info.state !== "ok") {
    const detail = info.state === "bad_check" ? fmt(S.bad_check, { digit: info.expected }) : S.bad_shape;
    show("rejected", S.bad_code, info.code, detail);
    beep("rejected");
    return;
  }
  const action = actionSelect.value;
  if (action === "handover" && !siteSelect.value) {
    show("rejected", S.rejected, info.code, S.need_site);
    siteSelect.classList.add("needs-choice");
    beep("rejected");
    return;
  }
  if (action === "unbag") {
    collectForBag(info);
    return;
  }
  await record(info.fromQr ? { label: info.label, action } : { label: info.label, action, source }, info.code);
}

async function record(fields, code) {
  const scan = { id: newId(), ...fields, at: new Date().toISOString() };
  if (siteSelect.value) scan.site = siteSelect.value;
  if (runSelect && runSelect.value) scan.run = Number(runSelect.value);
  const note = noteInput.value.trim();
  if (note) scan.note = note;
  await queue.add({ ...scan, user: config.user, queuedAt: Date.now() });
  pending.set(scan.id, { code, action: scan.action, queued: !navigator.onLine });
  lastId = scan.id;
  noteInput.value = "";
  if (navigator.onLine) {
    show("sending", "…", code, "");
  } else {
    show("queued", S.queued, code, S.queued_detail);
    beep("queued");
    addRecent(scan.id, "queued", code, scan.action, "");
  }
  await showPending();
  await sync();
}

function collectForBag(info) {
  if (info.code.startsWith("BG")) {
    if (unbag && unbag.bag === info.code) { finishUnbag(); return; }
    unbag = { bag: info.code, label: info.label, scanned: [] };
    show("sending", S.unbag_started.replace("%(bag)s", spaced(info.code)), info.code, "");
  } else if (!unbag) {
    show("rejected", S.rejected, info.code, S.unbag_need_bag);
    beep("rejected");
    return;
  } else if (!unbag.scanned.some((label) => inspect(label).code === info.code)) {
    unbag.scanned.push(info.label);
    beep("queued");
  }
  $("unbag-panel").hidden = false;
  $("unbag-status").textContent = fmt(S.unbag_added, { count: unbag.scanned.length, bag: spaced(unbag.bag) });
}

async function finishUnbag() {
  if (!unbag) return;
  const opened = unbag;
  endUnbag();
  await record({ label: opened.label, action: "unbag", evidence: { scanned: opened.scanned } }, opened.bag);
}

function endUnbag() {
  unbag = null;
  $("unbag-panel").hidden = true;
}

$("unbag-finish").addEventListener("click", finishUnbag);
$("unbag-cancel").addEventListener("click", () => { endUnbag(); input.focus(); });

form.addEventListener("submit", (event) => {
  event.preventDefault();
  take(input.value);
  input.focus({ preventScroll: true });
});

// -- sending the queue: safe to repeat, the server answers "duplicate" for a stored id ----------
async function post(scans) {
  return fetch(config.scans_url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken },
    body: JSON.stringify({ scans }),
  });
}

async function freshToken() {
  const response = await fetch(config.csrf_url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!response.ok) return false;
  csrfToken = (await response.json()).csrf_token;
  return true;
}

function toSend(record) {
  const { user, queuedAt, ...scan } = record;
  return scan;
}

async function sendOnce(records) {
  let response = await post(records.map(toSend));
  if (response.status === 400) {
    const body = await response.clone().json().catch(() => ({}));
    if (body.error && body.error.code === "csrf_failed" && (await freshToken())) response = await post(records.map(toSend));
  }
  return response;
}

export async function sync() {
  if (syncing) { again = true; return; }
  syncing = true;
  let sentEarlier = 0;
  try {
    for (;;) {
      const records = (await queue.list(config.user)).slice(0, BATCH);
      if (!records.length) break;
      let response;
      try {
        response = await sendOnce(records);
      } catch (err) {
        markQueued();
        break;
      }
      if (response.status === 401) { notice(S.login_again, config.login_url); markQueued(); break; }
      if (response.status === 503) { retryAfter(response); markQueued(); break; }
      if (!response.ok) { notice(S.server_error); markQueued(); break; }
      notice("");
      const { results } = await response.json();
      const answered = results.filter((r) => ANSWERED.has(r.status)).map((r) => r.id);
      const byId = new Map(records.map((r) => [r.id, r]));
      for (const result of results) {
        const made = byId.get(result.id);
        if (!made) continue;
        const mine = pending.get(result.id);
        if (!mine || mine.queued) sentEarlier += 1;
        answer(result, mine || { code: inspect(made.label).code, action: made.action });
      }
      await queue.remove(answered);
      await showPending();
      if (!answered.length) break;
    }
  } finally {
    syncing = false;
    await showPending();
    if (sentEarlier) notice(fmt(S.sent_queue, { count: sentEarlier }), null, "ok");
    if (again) { again = false; sync(); }
  }
}

// The server was busy and wrote nothing: the scans stay queued and go again when it says.
function retryAfter(response) {
  const seconds = Math.min(Math.max(parseInt(response.headers.get("Retry-After"), 10) || 2, 1), 60);
  notice(fmt(S.busy, { seconds }));
  setTimeout(() => { if (navigator.onLine) sync(); }, seconds * 1000);
}

function answer(result, made) {
  pending.delete(result.id);
  counts[result.status] = (counts[result.status] || 0) + 1;
  showCount();
  const text = describe(result);
  addRecent(result.id, result.status, made.code, made.action, text);
  const shown = result.bag ? result.bag.code : made.code;
  if (result.id === lastId) {
    show(result.status, S[result.status], shown, [actionName(made.action), text].filter(Boolean).join(" — "));
    beep(result.status);
  }
}

function markQueued() {
  for (const made of pending.values()) made.queued = true;
  const latest = lastId && pending.get(lastId);
  if (latest && banner.dataset.status === "sending") {
    show("queued", S.queued, latest.code, S.queued_detail);
    beep("queued");
    addRecent(lastId, "queued", latest.code, latest.action, "");
  }
}

// -- camera ---------------------------------------------------------------------------------------
$("camera-toggle").addEventListener("click", async () => {
  const button = $("camera-toggle");
  if (stopCamera) {
    stopCamera();
    stopCamera = null;
    $("camera").hidden = true;
    button.textContent = S.camera_start;
    input.setAttribute("inputmode", "text");
    input.focus();
    return;
  }
  $("camera").hidden = false;
  $("camera-message").textContent = "";
  try {
    const { startCamera } = await import("./camera.js");
    stopCamera = await startCamera($("camera-video"), (text) => take(text));
    button.textContent = S.camera_stop;
    input.setAttribute("inputmode", "none");  // keep the focus for a wedge scanner, without the phone keyboard
  } catch (err) {
    $("camera-message").textContent = S.camera_none;
  }
  input.focus({ preventScroll: true });
});

// -- start ----------------------------------------------------------------------------------------
window.addEventListener("online", () => { showNetwork(); sync(); });
window.addEventListener("offline", showNetwork);
setInterval(() => { if (navigator.onLine) sync(); }, RETRY_MS);

restoreChoice();
// The run page's link (?run=) wins, also when the page comes from the offline copy.
const askedRun = new URLSearchParams(location.search).get("run");
if (runSelect && [...runSelect.options].some((o) => o.value === askedRun)) runSelect.value = askedRun;
onActionChange();
showNetwork();
showCount();
showPending();
refocus();
sync();
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => null);
}
window.postalScan = { sync, take };  // for tests and for the console
