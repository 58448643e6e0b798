// Run pages: a day chosen opens its runs, buttons that change a run send once,
// and the template form shows one more stop picker at a time.

for (const form of document.querySelectorAll("form[data-autosubmit]")) {
  const day = form.querySelector("input[data-date]");
  if (!day) continue;
  // A day picked in the calendar, or typed in full (dd/mm/yyyy), opens that day's runs.
  day.addEventListener("change", () => { if (day.checkValidity() && day.value) form.submit(); });
  form.querySelector(".day-go")?.setAttribute("hidden", "");
}

// A second tap on a slow network would post the same step twice.
for (const form of document.querySelectorAll("form[data-once]")) {
  form.addEventListener("submit", () => {
    setTimeout(() => { for (const button of form.querySelectorAll("button")) button.disabled = true; }, 0);
  });
}

const slots = [...document.querySelectorAll(".stop-slot")];
const MIN_SHOWN = 3;

function showSlots() {
  const lastChosen = slots.reduce((last, slot, i) => (slot.querySelector("select").value ? i : last), -1);
  slots.forEach((slot, i) => { slot.hidden = i > Math.max(lastChosen + 1, MIN_SHOWN - 1); });
}

if (slots.length) {
  for (const slot of slots) slot.querySelector("select").addEventListener("change", showSlots);
  showSlots();
}
