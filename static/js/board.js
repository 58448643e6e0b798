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
// Under the markers, the province and its communes (static/geo, shipped with the app: no tile server needed);
// a tile server, when one is configured, adds a basemap beneath. Sites carry their names as permanent labels;
// a label that would cover another is hidden until its marker is hovered or focused, and sites too close to
// tell apart are grouped (leaflet.markercluster), a group naming its sites in its title.
const LABEL_ORDER = { center: 0, commune_center: 1, agency: 2, post_office: 3 };
let map = null;
let siteLayer = null;
let courierLayer = null;
let outlineLayer = null;
let siteMarkers = [];
let sitesKey = null;
let opened = new Set(); // the sites of the group the supervisor opened: named before the others

function initMap() {
  if (!window.L || map) return;
  // a maximum zoom of its own: with no tile layer to give one, the grouping needs it
  map = L.map("board-map", { zoomSnap: 0.5, minZoom: 5, maxZoom: 18, attributionControl: Boolean(config.tiles.url) });
  if (config.tiles.url) {
    L.tileLayer(config.tiles.url, { maxZoom: 19, attribution: config.tiles.attribution || "" }).addTo(map);
  } else {
    map.getContainer().classList.add("no-tiles"); // no tile server: the outline on a plain background
  }
  L.control.scale({ imperial: false }).addTo(map);
  siteLayer = L.markerClusterGroup
    ? L.markerClusterGroup({ maxClusterRadius: 36, showCoverageOnHover: false, spiderfyDistanceMultiplier: 1.6,
      iconCreateFunction: clusterIcon })
    : L.layerGroup();
  siteLayer.addTo(map);
  courierLayer = L.layerGroup().addTo(map);
  map.on("zoomend moveend resize", declutter);
  siteLayer.on("spiderfied", (e) => { opened = new Set(e.markers); });
  siteLayer.on("unspiderfied", () => { opened = new Set(); });
  siteLayer.on("animationend spiderfied unspiderfied", declutter);
  // an opened group's legs are still moving when it says so (a CSS transition of 0.3 s): once more, after them
  siteLayer.on("spiderfied unspiderfied", () => setTimeout(declutter, 350));
  drawOutline();
}

function clusterIcon(cluster) {
  const names = cluster.getAllChildMarkers().map((m) => m.options.siteName).sort((a, b) => a.localeCompare(b, "vi"));
  const count = names.length;
  const size = count < 10 ? "small" : count < 25 ? "medium" : "large";
  // an element, never a string: Leaflet puts a string in as HTML, and a site's name is anyone's text
  const icon = el("div", { title: fill(S.cluster_title, { count, names: names.join("; ") }) },
    el("span", { text: String(count) }));
  return L.divIcon({ html: icon, className: `marker-cluster marker-cluster-${size} site-cluster`, iconSize: L.point(40, 40) });
}

async function drawOutline() {
  if (!config.outline_url) return;
  try {
    const response = await fetch(config.outline_url, { credentials: "same-origin" });
    if (!response.ok) return;
    const data = await response.json();
    data.features.sort((a, b) => (a.properties.kind === "province") - (b.properties.kind === "province"));
    const plain = !config.tiles.url;
    outlineLayer = L.geoJSON(data, {
      style: (f) => (f.properties.kind === "province"
        ? { className: "outline-province", color: "#0b3d6e", weight: 2, fill: plain, fillColor: "#fbfcfd", fillOpacity: 0.9 }
        : { className: "outline-commune", color: "#8393a3", weight: 0.8, fill: true, fillOpacity: 0 }),
      onEachFeature: (f, layer) => {
        if (f.properties.kind === "commune") layer.bindTooltip(el("span", { text: f.properties.name }), { sticky: true, className: "commune-tip" });
      },
    }).addTo(map);
    outlineLayer.bringToBack();
    if (!map.fitted) fitMap([]);
  } catch {
    // the outline is a help to the eye: the board works without it
  }
}

// What a label says: the site's name less the words that at least AFFIX_SITES sites of its kind begin or end
// with ("Trung tâm Phục vụ hành chính công …", "… tỉnh Quảng Ninh"; at least AFFIX_WORDS words, the run most of
// them share), so that the words telling the sites apart fit on the map. The dot's colour gives the kind, the
// marker's title the whole name.
const AFFIX_SITES = 3;
const AFFIX_WORDS = 3;

function shortNames(sites) {
  const words = new Map(sites.map((s) => [s, s.name.trim().split(/\s+/)]));
  const part = (w, n, end) => (end ? w.slice(w.length - n) : w.slice(0, n)).join(" ");
  const affix = (s, end) => {
    const own = words.get(s);
    let best = 0;
    let most = AFFIX_SITES - 1;
    for (let n = AFFIX_WORDS; n < own.length; n += 1) {
      const mine = part(own, n, end);
      const count = sites.filter((o) => o.kind === s.kind && words.get(o).length > n && part(words.get(o), n, end) === mine).length;
      if (count > most || (count === most && best)) [best, most] = [n, count];
    }
    return best;
  };
  return new Map(sites.map((s) => {
    const own = words.get(s);
    const kept = own.slice(affix(s, false), own.length - affix(s, true));
    return [s, kept.length ? kept.join(" ") : s.name];
  }));
}

// A label of more than LINE_CHARS characters goes on two lines, broken at the space nearest its middle, so
// that it takes a compact box (a box of CSS's own wrapping keeps its widest width).
const LINE_CHARS = 14;

function labelText(text) {
  const spaces = [...text.matchAll(/ /g)].map((m) => m.index);
  if (text.length <= LINE_CHARS || !spaces.length) return el("span", { text });
  const cut = spaces.reduce((best, i) => (Math.abs(i - text.length / 2) < Math.abs(best - text.length / 2) ? i : best));
  return el("span", { text: `${text.slice(0, cut)}\n${text.slice(cut + 1)}` }); // shown as two lines (pre-line)
}

function siteMarker(s, label) {
  const kind = S.site_kinds[s.kind] || s.kind;
  const size = s.kind === "center" ? 18 : 14;
  const marker = L.marker([s.lat, s.lon], {
    icon: L.divIcon({ className: `site-marker site-${s.kind}`, html: el("span", { class: "site-dot" }), iconSize: [size, size] }),
    title: `${s.name} (${kind})`, siteName: s.name, siteKind: s.kind, riseOnHover: true,
  });
  marker.bindTooltip(labelText(label),
    { permanent: true, direction: "right", offset: [size / 2, 0], className: `site-label site-label-${s.kind}`, interactive: false });
  const reveal = (on) => {
    const label = marker.getTooltip() && marker.getTooltip().getElement();
    if (label) label.classList.toggle("label-forced", on);
  };
  marker.on("mouseover focus", () => reveal(true));
  marker.on("mouseout blur", () => reveal(false));
  return marker;
}

function overlaps(a, b) {
  const slack = 1; // a pixel's touch is no cover
  return a.left + slack < b.right && b.left + slack < a.right && a.top + slack < b.bottom && b.top + slack < a.bottom;
}

// Places the labels that fit, those of an opened group first, then in the order of LABEL_ORDER: each on the first side of its dot (right, left,
// above, below, then right and left a line higher or lower) where it covers no label already placed, no dot,
// courier pin or group, and stays on the map; a label with no such side is hidden.
const SIDES = [["right", 1, 0], ["left", -1, 0], ["top", 0, -1], ["bottom", 0, 1],
  ["right", 1, -1.6], ["right", 1, 1.6], ["left", -1, -1.6], ["left", -1, 1.6]];

function declutter() {
  if (!map) return;
  const box = map.getContainer().getBoundingClientRect();
  const taken = [...map.getContainer().querySelectorAll(".courier-pin-label, .site-cluster, .site-marker")]
    .filter((n) => !(Number(n.style.opacity) < 0.5 && n.style.opacity !== "")) // an opened group's faded centre
    .map((n) => n.getBoundingClientRect());
  const shown = siteMarkers
    .map((m) => [m, m.getTooltip()])
    .filter(([, tip]) => tip && tip.getElement() && tip.getElement().isConnected)
    .sort(([a], [b]) => opened.has(b) - opened.has(a)
      || (LABEL_ORDER[a.options.siteKind] ?? 9) - (LABEL_ORDER[b.options.siteKind] ?? 9)
      || a.options.siteName.localeCompare(b.options.siteName, "vi"));
  for (const [marker, tip] of shown) {
    const label = tip.getElement();
    const half = marker.options.icon.options.iconSize[0] / 2;
    let placed = null;
    for (const [side, dx, dy] of SIDES) {
      tip.options.direction = side;
      tip.options.offset = L.point(dx * half, dy * half);
      tip.update();
      const r = label.getBoundingClientRect();
      const inside = r.left >= box.left && r.right <= box.right && r.top >= box.top && r.bottom <= box.bottom;
      if (inside && !taken.some((t) => overlaps(t, r))) {
        placed = r;
        break;
      }
    }
    label.classList.toggle("label-hidden", !placed);
    if (placed) taken.push(placed);
    else {
      tip.options.direction = "right"; // shown on this side when its dot is hovered or focused
      tip.options.offset = L.point(half, 0);
      tip.update();
    }
  }
}

function fitMap(points) {
  if (points.length) map.fitBounds(points, { padding: [24, 24], maxZoom: 15 });
  else if (outlineLayer) map.fitBounds(outlineLayer.getBounds(), { padding: [8, 8] });
  else {
    map.setView([16.0, 106.5], 5);
    return; // the outline, when it comes, still fits the map to the province
  }
  map.fitted = true; // later refreshes keep the supervisor's own zoom and position
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
  const key = JSON.stringify(data.sites);
  if (key !== sitesKey) { // sites seldom change: a refresh leaves the groups, and one the supervisor opened, as they are
    sitesKey = key;
    siteLayer.clearLayers();
    const labels = shortNames(data.sites);
    siteMarkers = data.sites.map((s) => siteMarker(s, labels.get(s)));
    if (siteLayer.addLayers) siteLayer.addLayers(siteMarkers);
    else siteMarkers.forEach((m) => m.addTo(siteLayer));
  }
  courierLayer.clearLayers();
  const points = data.sites.map((s) => [s.lat, s.lon]);
  for (const c of data.couriers) {
    L.marker([c.lat, c.lon], { icon: courierIcon(c), title: fill(S.courier_at, { name: c.name, at: hhmm(c.at) }), keyboard: false })
      .addTo(courierLayer);
    points.push([c.lat, c.lon]);
  }
  if (!map.fitted) fitMap(points);
  requestAnimationFrame(declutter);
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

// A text broken on words into lines of at most `width` pixels (a word longer than that keeps its own line).
function wrapWords(ctx, text, width) {
  const lines = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    const next = line ? `${line} ${word}` : word;
    if (ctx.measureText(next).width <= width || !line) line = next;
    else {
      lines.push(line);
      line = word;
    }
  }
  lines.push(line);
  return lines;
}

// An agency's name as the axis can hold it: at most two lines of `width` pixels, the second cut with "…"
// when the name is longer still (the tooltip gives it whole).
function fitLabel(ctx, text, width) {
  const lines = wrapWords(ctx, text, width);
  const kept = lines.slice(0, 2);
  if (lines.length > 2) kept[1] = `${kept[1]} ${lines.slice(2).join(" ")}`;
  return kept.map((l) => {
    if (ctx.measureText(l).width <= width) return l;
    let cut = l;
    while (cut.length > 1 && ctx.measureText(`${cut}…`).width > width) cut = cut.slice(0, -1);
    return `${cut.trimEnd()}…`;
  });
}

// The whole name in the tooltip, on as many lines as the canvas's width needs.
function agencyTitle(items) {
  const chart = items[0].chart;
  const ctx = chart.ctx;
  ctx.save();
  ctx.font = Chart.helpers.toFont(chart.options.plugins.tooltip.titleFont).string;
  const lines = wrapWords(ctx, String(chart.data.labels[items[0].dataIndex] ?? ""), chart.width * 0.8 - 24);
  ctx.restore();
  return lines;
}

function agencyTick(value, index) {
  const names = this.chart.data.labels;
  const ctx = this.ctx;
  ctx.save();
  ctx.font = Chart.helpers.toFont(this.options.ticks.font).string;
  // the names' column takes at most this share of the canvas, so the bars keep room at 390 px
  const width = Math.max(80, this.chart.width * (this.chart.width < 560 ? 0.42 : 0.3));
  const label = fitLabel(ctx, String(names[index] ?? ""), width);
  ctx.restore();
  return label;
}

function renderCharts(data) {
  const charts = data.charts;
  $("charts-at").textContent = fill(S.charts_at, { at: hhmm(charts.computed_at) });
  $("ontime-empty").hidden = charts.on_time.length > 0;
  $("ontime-box").hidden = charts.on_time.length === 0;
  if (!window.Chart) return;
  const labels = charts.on_time.map((a) => a.name);
  const values = charts.on_time.map((a) => a.on_time_pct);
  $("ontime-box").style.height = `${Math.max(12, 2 + charts.on_time.length * 2.4)}rem`;
  if (!onTimeChart) {
    onTimeChart = new Chart($("chart-ontime"), {
      type: "bar",
      data: { labels, datasets: [{ label: S.on_time_pct, data: values, backgroundColor: values.map(barColour), borderRadius: 4 }] },
      options: {
        indexAxis: "y", responsive: true, maintainAspectRatio: false, animation: false,
        layout: { padding: { right: 8 } },
        scales: {
          x: { min: 0, max: 100, ticks: { callback: (v) => `${v}%`, maxRotation: 0 } },
          y: { ticks: { autoSkip: false, callback: agencyTick } },
        },
        plugins: { legend: { display: false }, tooltip: { callbacks: {
          title: agencyTitle,
          label: (ctx) => {
            const a = onTimeChart.$agencies[ctx.dataIndex] || {};
            return `${ctx.formattedValue}% (${a.on_time}/${a.on_time + a.late})`;
          },
        } } },
      },
    });
  } else {
    onTimeChart.data.labels = labels;
    onTimeChart.data.datasets[0].data = values;
    onTimeChart.data.datasets[0].backgroundColor = values.map(barColour);
    onTimeChart.update("none");
  }
  onTimeChart.$agencies = charts.on_time;
  const days = charts.transfers.map((d) => d.day.slice(8, 10) + "/" + d.day.slice(5, 7));
  const counts = charts.transfers.map((d) => d.transfers);
  if (!transferChart) {
    transferChart = new Chart($("chart-transfers"), {
      type: "line",
      data: { labels: days, datasets: [{ label: S.transfers, data: counts, borderColor: "#0b3d6e", backgroundColor: "rgba(11, 61, 110, 0.12)", fill: true, tension: 0.25, cubicInterpolationMode: "monotone", pointRadius: 3 }] },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        layout: { padding: { right: 12 } },
        scales: {
          // days stay level and are skipped in turn when the canvas is narrow, never cut at its edge
          x: { ticks: { maxRotation: 0, autoSkip: true, autoSkipPadding: 6 } },
          y: { beginAtZero: true, ticks: { precision: 0 } },
        },
        plugins: { legend: { display: false } },
      },
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
