// Every page: print buttons, and a logout that warns about scans still waiting to be sent.
import * as queue from "./queue.js";

for (const button of document.querySelectorAll("[data-print]")) {
  button.addEventListener("click", () => window.print());
}

const user = document.body.dataset.user;
const logout = document.querySelector("form.logout");
if (logout && user) {
  logout.addEventListener("submit", async (event) => {
    if (logout.dataset.confirmed) return;
    event.preventDefault();
    const { mine } = await queue.counts(user).catch(() => ({ mine: 0 }));
    const question = document.body.dataset.logoutPending.replace("%(count)s", String(mine));
    if (mine === 0 || window.confirm(question)) {
      logout.dataset.confirmed = "1";
      logout.submit();
    }
  });
}

// Logged out: the offline copy of the scan page was that user's; drop it.
if (!user && "serviceWorker" in navigator && navigator.serviceWorker.controller) {
  navigator.serviceWorker.controller.postMessage({ type: "forget-page" });
}
