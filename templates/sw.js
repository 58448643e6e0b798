// Service worker: keeps the scan page and its files so that /scan opens with no network.
// Scans themselves are queued by the page (IndexedDB) and never pass through here.
const CACHE = "postal-scan-{{ version }}";
const SHELL = {{ shell|tojson }};
const EXTRAS = {{ extras|tojson }};  // optional npm files: the page works without them
const PAGE = "/scan";
const KEPT = new Set([...SHELL, ...EXTRAS].map((url) => new URL(url, self.location.origin).pathname));

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(SHELL.map((url) => new Request(url, { cache: "reload" })));
    await Promise.all(EXTRAS.map((url) => cache.add(new Request(url, { cache: "reload" })).catch(() => null)));
    await keepPage(cache);
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith("postal-scan-") && key !== CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

// The page is the logged-in user's own: kept only when it really is the scan page.
async function keepPage(cache) {
  try {
    const response = await fetch(PAGE, { credentials: "same-origin", cache: "reload" });
    if (response.ok && !response.redirected) await cache.put(PAGE, response);
  } catch (err) {
    // offline while installing: the next visit online keeps it
  }
}

async function scanPage(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok && !response.redirected) {
      await cache.put(PAGE, response.clone());
    } else if (response.type === "opaqueredirect" || response.redirected) {
      await cache.delete(PAGE);  // logged out: do not keep someone's page
    }
    return response;
  } catch (err) {
    const kept = await cache.match(PAGE, { ignoreSearch: true });
    if (kept) return kept;
    throw err;
  }
}

async function keptFile(request) {
  const cache = await caches.open(CACHE);
  const kept = await cache.match(request, { ignoreSearch: true });
  if (kept) return kept;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname === PAGE && request.mode === "navigate") {
    event.respondWith(scanPage(request));
  } else if (KEPT.has(url.pathname)) {
    event.respondWith(keptFile(request));
  }
});

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "forget-page") {
    event.waitUntil(caches.open(CACHE).then((cache) => cache.delete(PAGE)));
  }
});
