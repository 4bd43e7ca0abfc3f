// The playground's benchmarks (bench/README.md, "Playground in the browser"): the .wasm
// size raw and gzipped; cold load of web/index.html to its first displayed prediction in
// a fresh headless Chromium; and int8 inference, PGD-20 and Square-1000 on one gallery
// image in a page against the same calls, same build, under node. Prints one JSON object
// (progress on stderr); never asserts on time. Everything is served from 127.0.0.1.
//   node bench/web/playground_bench.mjs [--cold-runs N] [--runs N] [--ref-runs N] [--attack-runs N] [--quick]
// Exit 77: no wasm build in web/build/.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { launchChromium, startStaticServer } from '../../scripts/headless_browser.mjs';
import { root, runBenchPage } from './bench_page.mjs';
import { benchInputs, measureApi, measureCore, summarize } from './playground_calls.mjs';

const wasmPath = resolve(root, 'web/build/slingshot_web.wasm');
if (!existsSync(wasmPath)) {
  console.error('web/build/slingshot_web.wasm is missing: build the wasm preset first (scripts/build.sh)');
  process.exit(77);
}

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const option = (name, full, fast) => {
  const i = args.indexOf(name);
  const v = i >= 0 ? Number(args[i + 1]) : quick ? fast : full;
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} takes a whole number >= 1`);
  return v;
};
const coldRuns = option('--cold-runs', 5, 2);
const calls = { runs: option('--runs', 300, 30), refRuns: option('--ref-runs', 50, 10), attackRuns: option('--attack-runs', 5, 2) };
const log = (m) => console.error(`[playground_bench] ${m}`);
const loadAverage = () => loadavg().map((v) => Number(v.toFixed(2)));

const GOAL_FIRST_PREDICTION_MS = 1500;
const GOAL_GZIP_BYTES = 600000;
const GOAL_RATIO = 1.3;

function wasmSize() {
  const raw = readFileSync(wasmPath);
  const gzip = gzipSync(raw, { level: 9 }).length;
  return { file: 'web/build/slingshot_web.wasm', wasm_bytes_raw: raw.length, wasm_bytes_gzip: gzip, gzip_level: 9,
           goal_gzip_bytes: GOAL_GZIP_BYTES, meets_goal: gzip < GOAL_GZIP_BYTES };
}

// Installed before the page's scripts: notes when the status turns ready and when the
// first row of the predictions table (app.js showPredictions) enters the DOM, on the
// page's clock (performance.now(): ms since navigation start), plus the next animation
// frame after it, the frame that paints it.
function watchPlayground() {
  const marks = (window.__playgroundBench = {});
  const observer = new MutationObserver(() => {
    if (marks.ready_ms === undefined && document.querySelector('#status.ready')) marks.ready_ms = performance.now();
    const row = document.querySelector('#predictions tbody tr');
    if (row && marks.first_prediction_ms === undefined) {
      marks.first_prediction_ms = performance.now();
      marks.first_row = { row: row.dataset.row, clean: Number(row.dataset.clean), adv: Number(row.dataset.adv) };
      requestAnimationFrame(() => { marks.first_prediction_frame_ms = performance.now(); observer.disconnect(); });
    }
  });
  observer.observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['class'] });
}

// The playground shows predictions only for an attack's clean and adversarial input, so
// the URL state asks it to run the cheapest one (FGSM, one gradient) once it is ready.
function coldUrl(origin, inputs) {
  const q = new URLSearchParams({ model: inputs.modelId, input: inputs.image, label: String(inputs.label),
                                  attack: 'fgsm', engine: 'int8-simd', grad: 'ste', 'p.eps': '8/255', run: '1' });
  return `${origin}/web/index.html#${q}`;
}

async function coldLoad(origin, inputs) {
  const url = coldUrl(origin, inputs);
  const runs = [];
  let chromiumVersion = '';
  for (let i = 0; i < coldRuns; ++i) {
    // A new browser and context each time: empty HTTP and code caches, nothing compiled.
    const browser = await launchChromium();
    try {
      chromiumVersion = browser.version();
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.addInitScript(watchPlayground);
      // Every request the load makes (workers included), so a run that missed a file shows.
      let requests = 0;
      const failed = [];
      context.on('response', (r) => { requests += 1; if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`); });
      await page.goto(url);
      await page.waitForFunction(() => window.__playgroundBench?.first_prediction_frame_ms !== undefined, null, { timeout: 60000 });
      const r = await page.evaluate(() => ({
        ...window.__playgroundBench,
        dom_content_loaded_ms: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,
        attack_done: document.getElementById('progress-text').textContent,
        run_error: document.getElementById('run-error').textContent,
      }));
      if (r.run_error) throw new Error(`the playground's run failed: ${r.run_error}`);
      // e.g. /node_modules/ is a symlink out of the repository, which serve.mjs refuses.
      if (failed.length) log(`warning: the load missed files, so it is not the real page's: ${failed.join(', ')}`);
      runs.push({ ...r, requests, failed_requests: failed });
      log(`cold load ${i + 1}/${coldRuns}: first prediction at ${r.first_prediction_ms.toFixed(0)} ms (ready at ${r.ready_ms.toFixed(0)} ms)`);
    } finally {
      await browser.close();
    }
  }
  const median = summarize(runs.map((r) => r.first_prediction_ms)).median_ms;
  return {
    chromiumVersion,
    result: {
      url: url.slice(url.indexOf('/web/')),
      first_prediction_median_ms: median,
      first_prediction_frame_median_ms: summarize(runs.map((r) => r.first_prediction_frame_ms)).median_ms,
      ready_median_ms: summarize(runs.map((r) => r.ready_ms)).median_ms,
      goal_ms: GOAL_FIRST_PREDICTION_MS,
      meets_goal: median < GOAL_FIRST_PREDICTION_MS,
      runs,
    },
  };
}

// The raw Embind module in node, loaded as web/slingshot-worker.js does: Emscripten
// 3.1.6's ES6 output expects CommonJS globals under node, and gets the wasm bytes directly.
async function loadCoreInNode() {
  const moduleUrl = pathToFileURL(resolve(root, 'web/build/slingshot_web.js'));
  globalThis.require = createRequire(moduleUrl);
  globalThis.__dirname = resolve(root, 'web/build');
  const { default: create } = await import(moduleUrl.href);
  return create({ wasmBinary: readFileSync(wasmPath) });
}

async function inNode(inputs) {
  const { createSlingshot } = await import(pathToFileURL(resolve(root, 'web/slingshot.js')).href);
  const sling = await createSlingshot();
  const api = await measureApi(sling, inputs, calls, (m) => log(`node: ${m}`));
  sling.terminate();
  return { api, core: measureCore(await loadCoreInNode(), inputs.modelBytes, calls) };
}

function ratios(browser, node) {
  const pair = (b, n, goal) => ({
    browser_ms: b, node_ms: n, browser_over_node: Number((b / n).toFixed(3)),
    ...(goal ? { goal_ratio: goal, meets_goal: b / n <= goal } : {}),
  });
  const out = { round_trip_model_count: pair(browser.api.round_trip_model_count.median_ms, node.api.round_trip_model_count.median_ms) };
  for (const engine of Object.keys(browser.core)) {
    out[`${engine}_inference_in_wasm`] = pair(browser.core[engine].median_ms, node.core[engine].median_ms, GOAL_RATIO);
    out[`${engine}_predict_call`] = pair(browser.api.predict[engine].median_ms, node.api.predict[engine].median_ms, GOAL_RATIO);
  }
  for (const key of Object.keys(browser.api.attacks)) {
    out[`${key}_call`] = pair(browser.api.attacks[key].median_ms, node.api.attacks[key].median_ms);
    out[`${key}_core`] = pair(browser.api.attacks[key].core_median_ms, node.api.attacks[key].core_median_ms);
  }
  return out;
}

function gitState() {
  const git = (...a) => execFileSync('git', a, { cwd: root, encoding: 'utf8' }).trim();
  try {
    return { commit: git('rev-parse', '--short', 'HEAD'),
             working_tree_modified_files: git('status', '--porcelain', '--untracked-files=no').split('\n').filter(Boolean) };
  } catch {
    return { commit: null };
  }
}

const environment = { date: new Date().toISOString(), node: process.version, load_average_before: loadAverage(), ...gitState() };
const inputs = await benchInputs((p) => readFile(resolve(root, p), 'utf8'), async (p) => new Uint8Array(await readFile(resolve(root, p))));
const size = wasmSize();
log(`wasm: ${size.wasm_bytes_raw} bytes, ${size.wasm_bytes_gzip} gzipped`);

const server = await startStaticServer(9390);
let cold;
let browser;
try {
  cold = await coldLoad(server.origin, inputs);
  environment.load_average_after_cold_load = loadAverage();
  const b = await launchChromium();
  try {
    const q = new URLSearchParams({ runs: calls.runs, refRuns: calls.refRuns, attackRuns: calls.attackRuns });
    log('in-page calls...');
    browser = await runBenchPage(b, `${server.origin}/bench/web/playground_bench.html?${q}`);
  } finally {
    await b.close();
  }
} finally {
  server.stop();
}
environment.load_average_after_browser = loadAverage();
log('the same calls under node...');
const node = await inNode(inputs);
environment.load_average_after = loadAverage();
environment.chromium = cold.chromiumVersion;
environment.user_agent = browser.userAgent;
environment.cross_origin_isolated = browser.crossOriginIsolated;

console.log(JSON.stringify({
  benchmark: 'playground (web/index.html, web/slingshot.js) in headless Chromium vs node',
  wasm_size: size,
  cold_load: cold.result,
  in_page_vs_node: {
    inputs: { model: inputs.modelFile, image: inputs.image, label: inputs.label, ...calls },
    ratios: ratios(browser, node),
    browser: { api: browser.api, core: browser.core },
    node,
  },
  environment,
}, null, 2));
