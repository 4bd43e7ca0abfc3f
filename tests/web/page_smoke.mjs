// Browser test of the static page in Debian's Chromium (playwright-core): the wasm core
// loads, the model card and layer table come from C++ and the .md card, the keyword
// model switches to waveform input, a model file made by the CLI is described, and a
// corrupt one gets a readable error instead of a crash.
// Usage: node tests/web/page_smoke.mjs MODEL.safetensors SCREENSHOT.png
import { writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, startStaticServer, staysOnOrigin } from '../../scripts/headless_browser.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const [modelPath, screenshotPath] = process.argv.slice(2);

function fail(message) {
  console.error(`FAIL ${message}`);
  process.exitCode = 1;
}

const server = await startStaticServer(8790);
const port = server.port;
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 1400 } });
  const foreign = [];
  const consoleErrors = [];
  page.on('request', (r) => { if (!staysOnOrigin(r.url(), `http://127.0.0.1:${port}`)) foreign.push(r.url()); });
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  await page.goto(`http://127.0.0.1:${port}/web/index.html`);
  await page.waitForSelector('#status.ready', { timeout: 30000 });
  await page.waitForSelector('body[data-state=idle]', { timeout: 30000 });

  // The default zoo model's card: numbers from the core (ModelInfo) and its .md card.
  const rows = await page.locator('#model-layers tbody tr').count();
  const summary = await page.locator('#model-summary').innerText();
  if (rows < 20) fail(`ResNet-8 table has ${rows} rows`);
  if (!summary.includes('12,501,632')) fail(`ResNet-8 MACs missing from summary: ${summary}`);
  const accuracy = await page.locator('#model-accuracy').innerText();
  if (!accuracy.includes('int8-ref')) fail(`card accuracy table: ${accuracy}`);
  // The card's Cortex-M figures (scripts/footprint_table.sh), shown where the model is.
  const mcu = await page.locator('#model-mcu').innerText();
  for (const want of ['flash, total', 'RAM, total', 'instructions / inference', 'latency', 'MHz'])
    if (!mcu.includes(want)) fail(`Cortex-M table lacks '${want}': ${mcu}`);
  const samples = await page.locator('#gallery .sample').count();
  if (samples < 10) fail(`gallery has ${samples} samples`);

  // The keyword model: waveform input with the MFCC front end inside, audio gallery.
  await page.selectOption('#model', 'dscnn_int8');
  await page.waitForFunction(() => document.getElementById('model-summary').textContent.includes('[16000]'), null, { timeout: 10000 });
  const dsSummary = await page.locator('#model-summary').innerText();
  if (!dsSummary.includes('[49, 10, 1]')) fail(`DS-CNN MFCC shape missing: ${dsSummary}`);

  // A model file made by the CLI, a corrupt one (a readable error), then the CLI one again.
  await page.setInputFiles('#model-file', modelPath);
  await page.waitForFunction(() => document.getElementById('model-summary').textContent.includes('[16, 16, 3]'), null, { timeout: 10000 });
  const bench = await page.locator('#model-summary').innerText();
  const corrupt = resolve(dirname(screenshotPath), 'corrupt.safetensors');
  writeFileSync(corrupt, Buffer.from([8, 0, 0, 0, 0, 0, 0, 0, 123, 125]));
  await page.setInputFiles('#model-file', corrupt);
  await page.waitForFunction(() => document.getElementById('model-error').textContent.length > 0);
  const fileErr = await page.locator('#model-error').innerText();
  if (!fileErr.startsWith('corrupt.safetensors:')) fail(`corrupt file error: ${fileErr}`);
  // The core must still work after reporting an error.
  await page.setInputFiles('#model-file', modelPath);
  await page.waitForFunction(() => document.getElementById('model-error').textContent === '', null, { timeout: 10000 });
  // A shipped QAT model, whose file stores its weights only as integer codes.
  const zooModel = resolve(root, 'models/housenum/resnet8_ternary.safetensors');
  await page.setInputFiles('#model-file', zooModel);
  await page.waitForFunction(() => document.getElementById('model-summary').textContent.includes('ternary'),
                             null, { timeout: 10000 });
  const zooErr = await page.locator('#model-error').innerText();
  if (zooErr.length) fail(`zoo model not described: ${zooErr}`);

  await page.screenshot({ path: screenshotPath, fullPage: true });
  if (foreign.length) fail(`requests outside the origin: ${foreign.join(', ')}`);
  const unexpected = consoleErrors.filter((e) => !e.includes('favicon'));
  if (unexpected.length) fail(`console errors: ${unexpected.join(' | ')}`);
  console.log(`page smoke: ${rows} ResNet-8 rows; CLI model: ${bench.replace(/\s+/g, ' ')}; corrupt file -> "${fileErr}"`);
} finally {
  await browser.close();
  server.stop();
}
if (!process.exitCode) console.log('page smoke test passed');
