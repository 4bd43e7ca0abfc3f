// The JavaScript API in headless Chromium: web/slingshot.js starts its module worker on a
// page served by scripts/serve.mjs (cross-origin isolated, so cancel uses the shared
// flag), loads a zoo model, decodes an eval image, runs FGSM, cancels a long PGD run
// within 100 ms, and makes no request outside the origin.
// Usage: node tests/web/js_api_browser.mjs   (exit 77: no wasm build)
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
if (!existsSync(resolve(root, 'web/build/slingshot_web.wasm'))) {
  console.error('web/build/slingshot_web.wasm is missing: build the wasm preset first');
  process.exit(77);
}
const { startStaticServer, launchChromium, staysOnOrigin } = await import('../../scripts/headless_browser.mjs');
const server = await startStaticServer(8990);
const port = server.port;
const browser = await launchChromium();
let failed = false;
try {
  const page = await browser.newPage();
  const foreign = [];
  page.on('request', (r) => { if (!staysOnOrigin(r.url(), `http://127.0.0.1:${port}`)) foreign.push(r.url()); });
  await page.goto(`http://127.0.0.1:${port}/web/index.html`);
  const out = await page.evaluate(async () => {
    const { createSlingshot } = await import('/web/slingshot.js');
    const s = await createSlingshot();
    const get = async (url) => new Uint8Array(await (await fetch(url)).arrayBuffer());
    const model = await s.loadModel(await get('/models/housenum/resnet8_int8.safetensors'), 'resnet8_int8');
    const x = await s.decodeImage(await get('/models/housenum/eval/housenum_test_00000.png'), 32, 32, 3);
    const clean = await s.predict(model.id, x, 'int8-simd');
    const fgsm = await s.runAttack({ modelId: model.id, input: x, label: clean.top1, attack: 'fgsm', params: { eps: '8/255' } });
    const controller = new AbortController();
    let events = 0;
    const run = s.runAttack({ modelId: model.id, input: x, label: clean.top1, attack: 'pgd',
      params: { eps: '8/255', max_iter: 100000 } }, { signal: controller.signal, onProgress: () => { events += 1; } });
    await new Promise((r) => setTimeout(r, 400));
    const t0 = performance.now();
    controller.abort();
    const error = await run.then(() => null, (e) => e);
    const rejectMs = performance.now() - t0;
    const after = await s.predict(model.id, x, 'int8-ref');
    const freeMs = performance.now() - t0;
    s.terminate();
    return { isolated: crossOriginIsolated, mode: s.cancelMode, attacks: s.attacks.length, top1: clean.top1,
             fgsm: fgsm.success, errorName: error && error.name, rejectMs, freeMs, events, after: after.top1 };
  });
  const problems = [];
  if (!out.isolated || out.mode !== 'flag') problems.push(`not cross-origin isolated (${out.mode})`);
  if (out.attacks !== 22) problems.push(`${out.attacks} attacks listed`);
  if (!out.fgsm) problems.push('FGSM did not fool the model');
  if (out.errorName !== 'AbortError' || out.rejectMs >= 100) problems.push(`cancel: ${out.errorName} after ${out.rejectMs} ms`);
  if (out.after !== out.top1 || out.events < 1) problems.push('API broken after cancel or no progress');
  if (foreign.length) problems.push(`requests outside the origin: ${foreign.join(', ')}`);
  if (problems.length) {
    failed = true;
    console.error(`FAIL ${problems.join('; ')}`);
  }
  console.log(`browser JS API: ${JSON.stringify(out)}`);
} finally {
  await browser.close();
  server.stop();
}
if (failed) process.exit(1);
console.log('browser JS API test passed');
