// Every page: print buttons, and a logout that warns about scans still waiting to be sent.
import * as queue from "./queue.js";

for (const button of document.querySelectorAll("[data-print]")) {
  button.addEventListener("click", () => window.print());
}

// A table wider than the screen scrolls in its own box: that box takes the keyboard's focus (arrow keys
// scroll it) and is named by the table's caption or the heading before it, for screen readers.
function focusableWhenScrolling() {
  for (const wrap of document.querySelectorAll(".table-wrap")) {
    const scrolls = wrap.scrollWidth > wrap.clientWidth + 1;
    if (scrolls && !wrap.hasAttribute("tabindex")) {
      wrap.tabIndex = 0;
      wrap.setAttribute("role", "region");
      const caption = wrap.querySelector("caption");
      let heading = wrap.previousElementSibling;
      while (heading && !/^H[1-6]$/.test(heading.tagName)) heading = heading.previousElementSibling;
      const name = (caption || heading || document.querySelector("h1"))?.textContent.trim();
      if (name) wrap.setAttribute("aria-label", name);
    } else if (!scrolls && wrap.getAttribute("role") === "region") {
      wrap.removeAttribute("tabindex");
      wrap.removeAttribute("role");
      wrap.removeAttribute("aria-label");
    }
  }
}
focusableWhenScrolling();
window.addEventListener("resize", focusableWhenScrolling);
new MutationObserver(focusableWhenScrolling).observe(document.querySelector("main") || document.body, { childList: true, subtree: true });

if (document.querySelector("input[data-date], input[data-month]")) import("./dates.js");

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
