// Calendars for the day and month fields (templates/_date.html): flatpickr from npm, writing dd/mm/yyyy
// and mm/yyyy into the field itself, so that what is typed and what is picked read the same, on any browser.
// On phones too: the browser's own date input would show its own format.

function load(tag, attrs) {
  return new Promise((resolve, reject) => {
    const el = Object.assign(document.createElement(tag), attrs);
    el.addEventListener("load", resolve);
    el.addEventListener("error", reject);
    document.head.append(el);
  });
}

const VENDOR = "/vendor/flatpickr/dist/";

function day(iso) {
  if (!iso) return undefined;
  const [y, m, d] = iso.split("-").map(Number);
  return new Date(y, m - 1, d);
}

// Strict: 31/02/2026 is no day (flatpickr's own parser would roll it over to 03/03/2026); the field keeps
// what was typed and the server names the field.
function strictDay(text) {
  const m = /^\s*(\d{1,2})\/(\d{1,2})\/(\d{4})\s*$/.exec(text || "");
  if (!m) return undefined;
  const [d, mo, y] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(y, mo - 1, d);
  return date.getFullYear() === y && date.getMonth() === mo - 1 && date.getDate() === d ? date : undefined;
}

function strictMonth(text) {
  const m = /^\s*(\d{1,2})\/(\d{4})\s*$/.exec(text || "");
  return m && Number(m[1]) >= 1 && Number(m[1]) <= 12 ? new Date(Number(m[2]), Number(m[1]) - 1, 1) : undefined;
}

async function start() {
  await Promise.all([
    load("link", { rel: "stylesheet", href: `${VENDOR}flatpickr.min.css` }),
    load("link", { rel: "stylesheet", href: `${VENDOR}plugins/monthSelect/style.css` }),
    load("script", { src: `${VENDOR}flatpickr.min.js` }),
  ]);
  await Promise.all([
    load("script", { src: `${VENDOR}l10n/vn.js` }),
    load("script", { src: `${VENDOR}plugins/monthSelect/index.js` }),
  ]);
  const vietnamese = document.documentElement.lang.startsWith("vi");
  const locale = vietnamese ? window.flatpickr.l10ns.vn : window.flatpickr.l10ns.default;
  const common = { allowInput: true, disableMobile: true, animate: false, locale: { ...locale, firstDayOfWeek: 1 } };
  // flatpickr empties a field whose text is no day; keep what was typed instead, for the page to name.
  const fields = [...document.querySelectorAll("input[data-date], input[data-month]")];
  for (const input of fields) input.addEventListener("blur", () => { input.dataset.typed = input.value; });
  const pickers = [];
  for (const input of document.querySelectorAll("input[data-date]")) {
    pickers.push(window.flatpickr(input, { ...common, dateFormat: "d/m/Y", parseDate: strictDay, minDate: day(input.dataset.min),
                                           maxDate: day(input.dataset.max) }));
  }
  for (const input of document.querySelectorAll("input[data-month]")) {
    pickers.push(window.flatpickr(input, { ...common, parseDate: strictMonth, plugins: [window.monthSelectPlugin({ dateFormat: "m/Y", shorthand: true })] }));
  }
  // Someone typing the day needs no calendar over the form's buttons.
  for (const picker of pickers) picker.input.addEventListener("input", () => picker.close());
  for (const input of fields) {
    input.addEventListener("blur", () => { if (!input.value && input.dataset.typed) input.value = input.dataset.typed; });
  }
  document.documentElement.dataset.calendars = "ready"; // for whoever waits on the calendars (the browser tests)
}

start().catch(() => {}); // no calendar: the fields still take dd/mm/yyyy as typed
