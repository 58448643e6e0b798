// The delivery page: the ward list follows the chosen province, from the 2025 units the server lists.
// No inline script (the page's Content-Security-Policy allows scripts from this server only).

const province = document.querySelector("#province");
const ward = document.querySelector("#ward_code");
const hint = document.querySelector("#ward-hint");

async function loadWards() {
  const url = ward.dataset.source.replace("__code__", encodeURIComponent(province.value));
  const placeholder = ward.querySelector('option[value=""]');
  ward.disabled = true;
  hint.hidden = true;
  try {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const { wards } = await response.json();
    const options = wards.map((w) => new Option(w.name, w.code));
    ward.replaceChildren(...(placeholder ? [placeholder] : []), ...options);
    ward.value = "";
  } catch {
    hint.hidden = false; // the list of the previous province stays; the server checks the code anyway
  } finally {
    ward.disabled = false;
  }
}

if (province && ward && hint) {
  province.addEventListener("change", loadWards);
}

// A refused day offers the next working days: a click puts one in the date field.
const day = document.querySelector("#slot_date");
for (const choice of document.querySelectorAll("[data-day]")) {
  choice.addEventListener("click", () => {
    if (!day) return;
    const [y, m, d] = choice.dataset.day.split("-");
    if (day._flatpickr) day._flatpickr.setDate(`${d}/${m}/${y}`, false);
    else day.value = `${d}/${m}/${y}`; // dd/mm/yyyy, as the day field shows it
    day.removeAttribute("aria-invalid");
    day.focus();
  });
}
