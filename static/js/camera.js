// Camera scanning: the browser's BarcodeDetector where there is one, else jsQR from node_modules.
const JSQR_URL = "/vendor/jsqr/dist/jsQR.js";
const EVERY_MS = 150;
const SAME_CODE_MS = 2500;  // a label still in view is read many times a second: count it once

export function loadScript(src) {
  return new Promise((resolve, reject) => {
    if (document.querySelector(`script[src="${src}"]`) && window.jsQR) { resolve(); return; }
    const script = document.createElement("script");
    script.src = src;
    script.onload = () => resolve();
    script.onerror = () => reject(new Error(`cannot load ${src}`));
    document.head.append(script);
  });
}

async function nativeDetector() {
  if (!("BarcodeDetector" in window)) return null;
  try {
    const formats = await window.BarcodeDetector.getSupportedFormats();
    if (!formats.includes("qr_code")) return null;
    const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    return async (video) => {
      const found = await detector.detect(video);
      return found.length ? found[0].rawValue : null;
    };
  } catch (err) {
    return null;
  }
}

export async function jsqrDetector() {
  await loadScript(JSQR_URL);
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  return async (source) => {
    const width = source.videoWidth || source.naturalWidth || source.width;
    const height = source.videoHeight || source.naturalHeight || source.height;
    if (!width || !height) return null;
    canvas.width = width;
    canvas.height = height;
    context.drawImage(source, 0, 0, width, height);
    const image = context.getImageData(0, 0, width, height);
    const found = window.jsQR(image.data, width, height, { inversionAttempts: "attemptBoth" });
    return found ? found.data : null;
  };
}

// Start the back camera in `video`; call onCode(text) for each new label seen. Returns stop().
export async function startCamera(video, onCode) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) throw new Error("no camera API");
  const detect = (await nativeDetector()) || (await jsqrDetector());
  const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: "environment" } }, audio: false });
  video.srcObject = stream;
  await video.play();
  let running = true;
  let last = { text: "", at: 0 };
  const tick = async () => {
    if (!running) return;
    try {
      if (video.readyState >= 2) {
        const text = await detect(video);
        const now = Date.now();
        if (text) {
          const repeat = text === last.text && now - last.at < SAME_CODE_MS;  // still in view
          last = { text, at: now };
          if (!repeat) onCode(text);
        }
      }
    } catch (err) {
      // a frame that fails to decode is not an error worth showing
    }
    if (running) setTimeout(tick, EVERY_MS);
  };
  tick();
  return () => {
    running = false;
    for (const track of stream.getTracks()) track.stop();
    video.srcObject = null;
  };
}
