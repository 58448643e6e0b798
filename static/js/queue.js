// The offline queue: scans wait in IndexedDB, keyed by their client id, until the server answers them.
const DB_NAME = "postal-scans";
const STORE = "queue";
let opening = null;
let memory = null;  // when IndexedDB is refused (private mode): the queue lives as long as the page

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function open() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      if (!("indexedDB" in self)) { reject(new Error("no IndexedDB")); return; }
      const req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = () => {
        const store = req.result.createObjectStore(STORE, { keyPath: "id" });
        store.createIndex("user", "user");
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    }).catch((err) => { memory = memory || new Map(); throw err; });
  }
  return opening;
}

async function store(mode) {
  const db = await open();
  return db.transaction(STORE, mode).objectStore(STORE);
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

// Keep a scan: { id, label, action, site?, note?, at, evidence?, user, queuedAt }.
export async function add(record) {
  try {
    const s = await store("readwrite");
    s.put(record);
    await done(s.transaction);
  } catch (err) {
    memory = memory || new Map();
    memory.set(record.id, record);
  }
}

export async function list(user) {
  let rows;
  try {
    const s = await store("readonly");
    rows = await request(s.index("user").getAll(user));
  } catch (err) {
    rows = [...(memory || new Map()).values()].filter((r) => r.user === user);
  }
  return rows.sort((a, b) => a.queuedAt - b.queuedAt);
}

export async function remove(ids) {
  if (!ids.length) return;
  try {
    const s = await store("readwrite");
    for (const id of ids) s.delete(id);
    await done(s.transaction);
  } catch (err) {
    for (const id of ids) memory?.delete(id);
  }
}

// How many scans wait for this user, and for others who used this device.
export async function counts(user) {
  let rows;
  try {
    const s = await store("readonly");
    rows = await request(s.getAll());
  } catch (err) {
    rows = [...(memory || new Map()).values()];
  }
  const mine = rows.filter((r) => r.user === user).length;
  return { mine, others: rows.length - mine };
}
