// The reports page: copy the month's line for the center's own report.
const button = document.getElementById("copy-figure");
const status = document.getElementById("copy-status");

function selectText(element) {
  const range = document.createRange();
  range.selectNodeContents(element);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}

if (button) {
  button.addEventListener("click", async () => {
    const source = document.querySelector(button.dataset.copy);
    const text = source.textContent.trim();
    try {
      await navigator.clipboard.writeText(text);
      status.textContent = button.dataset.done;
    } catch {
      selectText(source); // no clipboard (plain http, old browser): leave it selected for Ctrl+C
      status.textContent = button.dataset.failed;
    }
  });
}
