// The supervisor's board. It refreshes itself from /board/data every 30 s without a reload, acknowledges and
// resolves alerts in place through the alerts API, and draws the map (Leaflet) and the charts (Chart.js),
// both served from node_modules. Data is put into the page as text, never as markup.
const config = JSON.parse(document.getElementById("board-config").textContent);
const S = config.strings;
const TZ = "Asia/Ho_Chi_Minh";
const timeFormat = new Intl.DateTimeFormat("en-GB", { timeZone: TZ, hour: "2-digit", minute: "2-digit", hour12: false });
const dayFormat = new Intl.DateTimeFormat("en-GB", { timeZone: TZ, day: "2-digit", month: "2-digit" });
const SITE_COLOURS = { center: "#0b3d6e", commune_center: "#7b4fa0", agency: "#1b7d3a", post_office: "#c77700" };
let csrfToken = document.querySelector('meta[name="csrf-token"]').content;
let loading = false;

const fill = (text, params) => text.replace(/%\((\w+)\)s/g, (_, key) => String(params[key] ?? ""));
const hhmm = (iso) => timeFormat.format(new Date(iso));
const ddmm = (iso) => dayFormat.format(new Date(iso));
const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}

function status(text, kind = "ok") {
  const line = $("board-status");
  line.textContent = text;
  line.dataset.kind = kind;
}

// -- counts --------------------------------------------------------------------------------------
function renderCounts(data) {
  for (const tile of document.querySelectorAll("#parcel-tiles [data-state]")) {
    tile.querySelector("strong").textContent = data.parcels[tile.dataset.state] ?? 0;
  }
  for (const tile of document.querySelectorAll("#severity-tiles [data-severity]")) {
    tile.querySelector("strong").textContent = data.alerts_by_severity[tile.dataset.severity] ?? 0;
  }
  $("alerts-total").textContent = data.alerts_total;
}

// -- alerts --------------------------------------------------------------------------------------
function subjectLink(subject) {
  const url = { parcel: config.parcel_url, dossier: config.dossier_url }[subject.type];
  if (!url) return el("span", { class: "code", text: subject.code });
  return el("a", { class: "code", href: url.replace("CODE", encodeURIComponent(subject.code)), text: subject.code });
}

function alertItem(a) {
  const owner = a.owner ? fill(S.owner, { owner: a.owner }) : S.alert_states[a.state] || a.state;
  const noteId = `note-${a.id}`;
  return el("li", { class: `alert-item sev-${a.severity} alert-${a.state}`, "data-id": a.id },
    el("div", { class: "alert-head" },
      el("span", { class: `sev-badge sev-${a.severity}`, text: S.severities[a.severity] || a.severity }), " ",
      el("strong", { class: "alert-kind", text: S.kinds[a.kind] || a.kind }), " ",
      subjectLink(a.subject)),
    el("div", { class: "alert-meta muted" }, `${fill(S.opened, { at: `${hhmm(a.opened_at)} ${ddmm(a.opened_at)}` })} · `,
      el("span", { class: "alert-state", text: owner })),
    a.note ? el("p", { class: "alert-note", text: a.note }) : null,
    el("div", { class: "alert-actions" },
      a.state === "open" ? el("button", { type: "button", class: "secondary", "data-ack": a.id, text: S.ack }) : null,
      el("form", { class: "resolve-form", "data-resolve": a.id, novalidate: true },
        el("label", { class: "sr-only", for: noteId, text: S.note_label }),
        el("input", { id: noteId, name: "note", maxlength: "500", autocomplete: "off", placeholder: S.note_label }),
        el("button", { type: "submit", class: "primary", text: S.resolve }))),
    el("p", { class: "alert-msg", role: "alert", hidden: true }));
}

function renderAlerts(data) {
  const list = $("alert-list");
  // A refresh must not lose a note being typed: keep what each field holds, and the focus.
  const typed = new Map([...list.querySelectorAll("input[name=note]")].filter((i) => i.value).map((i) => [i.id, i.value]));
  const focused = list.contains(document.activeElement) ? document.activeElement.id : null;
  const items = data.alerts.map(alertItem);
  list.replaceChildren(...(items.length ? items : [el("li", { class: "empty muted", text: S.no_alerts })]));
  for (const [id, value] of typed) {
    const input = document.getElementById(id);
    if (input) input.value = value;
  }
  if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
  const more = data.alerts_total - data.alerts.length;
  $("alerts-more").hidden = more <= 0;
  $("alerts-more").textContent = fill(S.more_alerts, { count: more });
}

function itemMessage(id, text) {
  const item = document.querySelector(`#alert-list [data-id="${id}"]`);
  const line = item && item.querySelector(".alert-msg");
  if (line) {
    line.textContent = text;
    line.hidden = !text;
  }
}

async function freshToken() {
  const response = await fetch(config.csrf_url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!response.ok) return false;
  csrfToken = (await response.json()).csrf_token;
  return true;
}

async function post(url, body) {
  const send = () => fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken },
    body: JSON.stringify(body),
  });
  let response = await send();
  if (response.status === 400) {
    const answer = await response.clone().json().catch(() => ({}));
    if (answer.error && answer.error.code === "csrf_failed" && (await freshToken())) response = await send();
  }
  return response;
}

async function act(id, url, body, done, controls) {
  for (const control of controls) control.disabled = true;
  try {
    const response = await post(url.replace("ID", encodeURIComponent(id)), body);
    if (response.ok) {
      $("alert-status").textContent = done;
      await refresh();
      return;
    }
    const answer = await response.json().catch(() => ({}));
    itemMessage(id, fill(S.failed, { message: (answer.error && answer.error.message) || response.status }));
  } catch (error) {
    itemMessage(id, fill(S.failed, { message: error.message }));
  }
  for (const control of controls) control.disabled = false;
}

$("alert-list").addEventListener("click", (event) => {
  const button = event.target.closest("[data-ack]");
  if (!button) return;
  act(button.dataset.ack, config.ack_url, {}, S.acked, [button]);
});

$("alert-list").addEventListener("submit", (event) => {
  const form = event.target.closest("[data-resolve]");
  if (!form) return;
  event.preventDefault();
  const input = form.querySelector("input[name=note]");
  const note = input.value.trim();
  if (!note) {
    itemMessage(form.dataset.resolve, S.note_needed);
    input.focus();
    return;
  }
  act(form.dataset.resolve, config.resolve_url, { note }, S.resolved, [...form.elements]);
});

// -- runs ----------------------------------------------------------------------------------------
function lateness(minutes) {
  if (minutes < 60) return fill(S.late, { minutes });
  return fill(S.late_hours, { hours: Math.floor(minutes / 60), minutes: minutes % 60 });
}

function runRow(r) {
  const heads = [...document.querySelectorAll(".runs-table thead th")].map((th) => th.textContent);
  const cell = (i, ...children) => el("td", { "data-label": heads[i] }, ...children);
  const next = r.next_stop ? fill(S.stop_at, { name: r.next_stop.name, at: hhmm(r.next_stop.planned_at) }) : "—";
  const state = S.run_states[r.state] || r.state;
  return el("tr", { class: `run-row run-row-${r.state}${r.late ? " is-late" : ""}`, "data-id": r.id },
    cell(0, hhmm(r.departs_at)),
    cell(1, el("strong", { text: r.name }), " ", el("span", { class: "muted", text: `#${r.id}` }), el("br"),
      el("span", { class: "run-courier", text: r.courier_name || S.no_courier })),
    cell(2, el("span", { class: `run-state run-${r.state}`, text: state.charAt(0).toUpperCase() + state.slice(1) }), el("br"),
      r.late ? el("span", { class: "timing timing-late", text: lateness(r.late_min) })
        : el("span", { class: "timing timing-ok", text: S.on_time })),
    cell(3, next),
    cell(4, `${r.stops_done}/${r.stops_total}`));
}

function renderRuns(data) {
  const rows = data.runs.map(runRow);
  $("run-rows").replaceChildren(...(rows.length ? rows
    : [el("tr", { class: "empty" }, el("td", { colspan: "5", class: "muted", text: S.no_runs }))]));
}

// -- map -----------------------------------------------------------------------------------------
let map = null;
let siteLayer = null;
let courierLayer = null;

function initMap() {
  if (!window.L || map) return;
  map = L.map("board-map", { zoomSnap: 0.5, attributionControl: Boolean(config.tiles.url) });
  if (config.tiles.url) {
    L.tileLayer(config.tiles.url, { maxZoom: 19, attribution: config.tiles.attribution || "" }).addTo(map);
  } else {
    map.getContainer().classList.add("no-tiles"); // no tile server: markers on a plain background
  }
  L.control.scale({ imperial: false }).addTo(map);
  siteLayer = L.layerGroup().addTo(map);
  courierLayer = L.layerGroup().addTo(map);
}

function courierIcon(c) {
  const label = el("span", { class: "courier-pin-label" }, el("span", { class: "courier-pin-dot" }), c.courier);
  return L.divIcon({ className: "courier-pin", html: label, iconSize: [0, 0], iconAnchor: [0, 0] });
}

function renderMap(data) {
  initMap();
  const list = $("courier-list");
  list.replaceChildren(...(data.couriers.length ? data.couriers.map((c) => el("li", {},
    el("strong", { text: c.name }), " ", c.name !== c.courier ? el("span", { class: "muted", text: c.courier }) : null, el("br"),
    el("span", { class: "muted", text: `${c.site ? fill(S.at_site, { site: c.site }) : S.gps} · ${hhmm(c.at)}` })))
    : [el("li", { class: "muted", text: S.no_couriers })]));
  if (!map) return;
  siteLayer.clearLayers();
  courierLayer.clearLayers();
  const points = [];
  for (const s of data.sites) {
    const colour = SITE_COLOURS[s.kind] || "#546e7a";
    L.circleMarker([s.lat, s.lon], { radius: s.kind === "center" ? 9 : 7, color: "#fff", weight: 2, fillColor: colour, fillOpacity: 0.95, className: `site-marker site-${s.kind}` })
      // an element with text, never a string: Leaflet puts a string in as HTML, and a site's name is anyone's text
      .bindTooltip(el("span", { text: `${s.name} (${S.site_kinds[s.kind] || s.kind})` }))
      .addTo(siteLayer);
    points.push([s.lat, s.lon]);
  }
  for (const c of data.couriers) {
    L.marker([c.lat, c.lon], { icon: courierIcon(c), title: fill(S.courier_at, { name: c.name, at: hhmm(c.at) }), keyboard: false })
      .addTo(courierLayer);
    points.push([c.lat, c.lon]);
  }
  if (!map.fitted) {
    if (points.length) map.fitBounds(points, { padding: [24, 24], maxZoom: 15 });
    else map.setView([16.0, 106.5], 5);
    map.fitted = true; // later refreshes keep the supervisor's own zoom and position
  }
}

// -- charts --------------------------------------------------------------------------------------
let onTimeChart = null;
let transferChart = null;

function barColour(pct) {
  if (pct === null) return "#b0bec5";
  if (pct >= 95) return "#1b7d3a";
  if (pct >= 80) return "#f2a900";
  return "#c0392b";
}

function renderCharts(data) {
  const charts = data.charts;
  $("charts-at").textContent = fill(S.charts_at, { at: hhmm(charts.computed_at) });
  $("ontime-empty").hidden = charts.on_time.length > 0;
  $("ontime-box").hidden = charts.on_time.length === 0;
  if (!window.Chart) return;
  const labels = charts.on_time.map((a) => a.name);
  const values = charts.on_time.map((a) => a.on_time_pct);
  $("ontime-box").style.height = `${Math.max(12, 2 + charts.on_time.length * 1.9)}rem`;
  if (!onTimeChart) {
    onTimeChart = new Chart($("chart-ontime"), {
      type: "bar",
      data: { labels, datasets: [{ label: S.on_time_pct, data: values, backgroundColor: values.map(barColour), borderRadius: 4 }] },
      options: {
        indexAxis: "y", responsive: true, maintainAspectRatio: false, animation: false,
        scales: { x: { min: 0, max: 100, ticks: { callback: (v) => `${v}%` } }, y: { ticks: { autoSkip: false } } },
        plugins: { legend: { display: false }, tooltip: { callbacks: { label: (ctx) => {
          const a = charts.on_time[ctx.dataIndex] || {};
          return `${ctx.formattedValue}% (${a.on_time}/${a.on_time + a.late})`;
        } } } },
      },
    });
  } else {
    onTimeChart.data.labels = labels;
    onTimeChart.data.datasets[0].data = values;
    onTimeChart.data.datasets[0].backgroundColor = values.map(barColour);
    onTimeChart.update("none");
  }
  const days = charts.transfers.map((d) => d.day.slice(8, 10) + "/" + d.day.slice(5, 7));
  const counts = charts.transfers.map((d) => d.transfers);
  if (!transferChart) {
    transferChart = new Chart($("chart-transfers"), {
      type: "line",
      data: { labels: days, datasets: [{ label: S.transfers, data: counts, borderColor: "#0b3d6e", backgroundColor: "rgba(11, 61, 110, 0.12)", fill: true, tension: 0.25, cubicInterpolationMode: "monotone", pointRadius: 3 }] },
      options: { responsive: true, maintainAspectRatio: false, animation: false, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } }, plugins: { legend: { display: false } } },
    });
  } else {
    transferChart.data.labels = days;
    transferChart.data.datasets[0].data = counts;
    transferChart.update("none");
  }
}

// -- refresh -------------------------------------------------------------------------------------
function render(data) {
  renderCounts(data);
  renderAlerts(data);
  renderRuns(data);
  renderMap(data);
  renderCharts(data);
  status(fill(S.updated, { at: hhmm(data.at) }));
  document.body.dataset.boardAt = data.at;
}

async function refresh() {
  if (loading) return;
  loading = true;
  try {
    const response = await fetch(config.data_url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } });
    if (response.status === 401 || response.redirected) {
      status(S.login_again, "bad");
      return;
    }
    if (!response.ok) throw new Error(String(response.status));
    render(await response.json());
  } catch {
    status(fill(S.offline, { at: timeFormat.format(new Date()) }), "bad");
  } finally {
    loading = false;
  }
}

render(JSON.parse($("board-data").textContent));
setInterval(() => { if (!document.hidden) refresh(); }, config.refresh_ms);
document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
