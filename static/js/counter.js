// The counter's reception form: find the procedure by any words (with or without diacritics), show the
// appointment the server computes for it before saving, and the home-return fields only when asked for.
// No inline script (the page's Content-Security-Policy allows scripts from this server only).

const form = document.querySelector("#counter-form");
const search = document.querySelector("#procedure-search");
const select = document.querySelector("#procedure");
const preview = document.querySelector("#due-preview");
const dueOn = document.querySelector("#due_on");
const reason = document.querySelector("#due_reason");
const home = document.querySelector("#home-return");
let computedDay = "";

function folded(text) {
  return text.replace(/đ/g, "d").replace(/Đ/g, "D").normalize("NFD").replace(/\p{M}/gu, "").toLowerCase().trim();
}

function filter() {
  const wanted = folded(search.value);
  let first = null;
  for (const option of select.options) {
    const shown = !wanted || folded(option.textContent).includes(wanted);
    option.hidden = !shown;
    if (shown && !first) first = option;
  }
  if (first && (select.selectedIndex < 0 || select.options[select.selectedIndex].hidden)) {
    select.value = first.value;
    showDue();
  }
}

function dayText(iso) {
  const [y, m, d] = iso.slice(0, 10).split("-");
  return `${d}/${m}/${y}`;
}

async function showDue() {
  const option = select.options[select.selectedIndex];
  if (!option) return;
  const url = new URL(form.dataset.dueUrl, window.location.origin);
  url.searchParams.set("procedure", option.value);
  url.searchParams.set("received_at", form.elements.received_at.value);
  try {
    const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const due = await response.json();
    const local = new Date(due.due_at).toLocaleString("sv-SE", { timeZone: "Asia/Ho_Chi_Minh" });
    preview.querySelector("[data-agency]").textContent = option.dataset.agency;
    preview.querySelector("[data-days]").textContent = due.processing_days;
    preview.querySelector("[data-due]").textContent = `${local.slice(11, 16)} ${dayText(local)}`;
    preview.querySelector("[data-days-off]").textContent = due.days_off.map((d) => `${dayText(d.day)} ${d.name}`).join("; ");
    preview.hidden = false;
    if (!dueOn.value || dueOn.value === computedDay) {
      if (dueOn._flatpickr) dueOn._flatpickr.setDate(dayText(local), false);
      else dueOn.value = dayText(local); // dd/mm/yyyy, as the day field shows and sends it
    }
    computedDay = dayText(local);
    needReason();
  } catch {
    preview.hidden = true; // the server computes it again on saving
  }
}

function needReason() {
  reason.required = Boolean(dueOn.value && computedDay && dueOn.value !== computedDay);
}

function showHome() {
  const wanted = form.elements.return_method.value === "home";
  home.hidden = !wanted;
  form.elements.ward_code.required = wanted;
  form.elements.return_slot.required = wanted;
}

if (form && select) {
  search.addEventListener("input", filter);
  select.addEventListener("change", showDue);
  dueOn.addEventListener("change", needReason);
  for (const radio of form.elements.return_method) radio.addEventListener("change", showHome);
  showHome();
  if (select.value) showDue();
}
