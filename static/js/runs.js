// Run pages: the date picker opens the day it shows, buttons that change a run send once,
// and the template form shows one more stop picker at a time.

for (const form of document.querySelectorAll("form[data-autosubmit]")) {
  const day = form.querySelector('input[type="date"]');
  const shown = form.querySelector(".day-button");
  if (!day) continue;
  day.addEventListener("change", () => { if (day.value) form.submit(); });
  // The field itself shows the phone's date format; the button shows dd/mm/yyyy and opens the same picker.
  if (shown && typeof day.showPicker === "function") {
    shown.hidden = false;
    day.classList.add("day-field-behind");
    form.querySelector(".day-go")?.setAttribute("hidden", "");
    shown.addEventListener("click", () => {
      try {
        day.showPicker();
      } catch (err) {
        shown.hidden = true;
        day.classList.remove("day-field-behind");
        day.focus();
      }
    });
  }
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
