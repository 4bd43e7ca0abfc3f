// What the playground (app.js) and the embeddable widget (embed.js) share: DOM and fetch
// helpers, the evaluation-set listing of a zoo family, and how an input is drawn
// (pixel-crisp canvases, signed heat maps) or played (a WAV blob).

export const el = (tag, props = {}, ...children) => {
  const e = Object.assign(document.createElement(tag), props);
  for (const c of children) e.append(c);
  return e;
};

// A predicted class's name; -1 is a randomized-smoothing vote that abstained.
export const classLabel = (names, i) => (i < 0 ? 'abstain (no majority)' : names[i] ?? String(i));

export const fetchBytes = async (url) => {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
};

// The committed evaluation samples of a zoo family (zoo.json), relative to web/:
// [{file, label}] in the order of its y_labels.csv.
export async function evalSamples(family) {
  const r = await fetch(`../${family.eval}y_labels.csv`);
  if (!r.ok) throw new Error(`${family.eval}y_labels.csv: HTTP ${r.status}`);
  const csv = await r.text();
  return csv.trim().split('\n').map((l) => l.split(',')).map(([file, , label]) => ({ file, label: Number(label) }));
}

// Fills a w x h canvas with colour(i) ([r, g, b]) for pixel i in row-major order, one
// canvas pixel per value; CSS scales it up with image-rendering: pixelated.
export function paint(canvas, w, h, colour) {
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(w, h);
  for (let i = 0; i < h * w; i++) {
    img.data.set(colour(i), 4 * i);
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

// t in [-1, 1]: blue through near-white to red.
export function signedColour(t) {
  const end = t < 0 ? [33, 102, 172] : [178, 24, 43];
  return end.map((e) => Math.round(247 + (e - 247) * Math.min(1, Math.abs(t))));
}

// One image of shape [h, w, c] (values in [0, 1]).
export function drawImage(canvas, x, [h, w, c]) {
  paint(canvas, w, h, (i) => [0, 1, 2].map((k) => Math.round(255 * x[i * c + (c === 3 ? k : 0)])));
}

// The perturbation per pixel (mean over channels), amplified so its largest value is
// full colour: blue where the attack darkened the pixel, red where it brightened it.
// Returns the largest |mean| (0: no perturbation); the amplification is 1 / that.
export function drawHeat(canvas, d, [h, w, c]) {
  const mean = new Float32Array(h * w);
  let max = 0;
  for (let i = 0; i < h * w; i++) {
    let s = 0;
    for (let k = 0; k < c; k++) s += d[i * c + k];
    mean[i] = s / c;
    max = Math.max(max, Math.abs(mean[i]));
  }
  paint(canvas, w, h, (i) => signedColour(max > 0 ? mean[i] / max : 0));
  return max;
}

// 16 kHz mono 16-bit PCM WAV of samples in [-1, 1], for an <audio> element.
export function wavBlob(samples) {
  const n = samples.length;
  const buf = new ArrayBuffer(44 + 2 * n);
  const v = new DataView(buf);
  const str = (o, s) => [...s].forEach((ch, i) => v.setUint8(o + i, ch.charCodeAt(0)));
  str(0, 'RIFF'); v.setUint32(4, 36 + 2 * n, true); str(8, 'WAVEfmt ');
  v.setUint32(16, 16, true); v.setUint16(20, 1, true); v.setUint16(22, 1, true);
  v.setUint32(24, 16000, true); v.setUint32(28, 32000, true); v.setUint16(32, 2, true); v.setUint16(34, 16, true);
  str(36, 'data'); v.setUint32(40, 2 * n, true);
  for (let i = 0; i < n; i++) v.setInt16(44 + 2 * i, Math.max(-32768, Math.min(32767, Math.round(samples[i] * 32768))), true);
  return new Blob([buf], { type: 'audio/wav' });
}
