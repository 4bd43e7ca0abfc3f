// Browser test of the static page in Debian's Chromium (playwright-core): the wasm core
// loads, the architecture table and forward timing come from C++, a model file made by
// the CLI is described, and a corrupt one gets a readable error instead of a crash.
// Usage: node tests/web/page_smoke.mjs MODEL.safetensors SCREENSHOT.png
import { writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, startStaticServer } from '../../scripts/headless_browser.mjs';

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
  page.on('request', (r) => { if (!r.url().startsWith(`http://127.0.0.1:${port}/`)) foreign.push(r.url()); });
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  await page.goto(`http://127.0.0.1:${port}/web/index.html`);
  await page.waitForSelector('#status.ready', { timeout: 20000 });

  const rows = await page.locator('#arch-layers tbody tr').count();
  const summary = await page.locator('#arch-summary').innerText();
  if (rows < 20) fail(`ResNet-8 table has ${rows} rows`);
  if (!summary.includes('12,501,632')) fail(`ResNet-8 MACs missing from summary: ${summary}`);

  await page.fill('#runs', '5');
  await page.click('#bench-simd');
  const bench = await page.locator('#bench-result').innerText();
  if (!/median [0-9.]+ ms .*simd kernels/.test(bench)) fail(`benchmark text: ${bench}`);
  await page.fill('#runs', '0');
  await page.click('#bench-simd');
  const benchErr = await page.locator('#bench-result').innerText();
  if (!benchErr.includes('iterations must be in [1, 1000]')) fail(`bad iteration count not reported: ${benchErr}`);

  await page.selectOption('#arch', 'dscnn');
  const dsSummary = await page.locator('#arch-summary').innerText();
  if (!dsSummary.includes('[49, 10, 1]')) fail(`DS-CNN input shape missing: ${dsSummary}`);

  await page.setInputFiles('#file', modelPath);
  await page.waitForSelector('#file-layers tbody tr', { timeout: 10000 });
  const fileSummary = await page.locator('#file-summary').innerText();
  if (!fileSummary.includes('[16, 16, 3]')) fail(`model file summary: ${fileSummary}`);

  const corrupt = resolve(dirname(screenshotPath), 'corrupt.safetensors');
  writeFileSync(corrupt, Buffer.from([8, 0, 0, 0, 0, 0, 0, 0, 123, 125]));
  await page.setInputFiles('#file', corrupt);
  await page.waitForFunction(() => document.getElementById('file-error').textContent.length > 0);
  const fileErr = await page.locator('#file-error').innerText();
  if (!fileErr.startsWith('corrupt.safetensors:')) fail(`corrupt file error: ${fileErr}`);
  // The core must still work after reporting an error.
  await page.setInputFiles('#file', modelPath);
  await page.waitForSelector('#file-layers tbody tr', { timeout: 10000 });
  // A shipped QAT model, whose file stores its weights only as integer codes.
  const zooModel = resolve(root, 'models/housenum/resnet8_ternary.safetensors');
  await page.setInputFiles('#file', zooModel);
  await page.waitForFunction(() => document.getElementById('file-summary').textContent.includes('[32, 32, 3]'),
                             null, { timeout: 10000 });
  const zooErr = await page.locator('#file-error').innerText();
  if (zooErr.length) fail(`zoo model not described: ${zooErr}`);

  await page.screenshot({ path: screenshotPath, fullPage: true });
  if (foreign.length) fail(`requests outside the origin: ${foreign.join(', ')}`);
  const unexpected = consoleErrors.filter((e) => !e.includes('favicon'));
  if (unexpected.length) fail(`console errors: ${unexpected.join(' | ')}`);
  console.log(`page smoke: ${rows} ResNet-8 rows; ${bench}; corrupt file -> "${fileErr}"`);
} finally {
  await browser.close();
  server.stop();
}
if (!process.exitCode) console.log('page smoke test passed');
