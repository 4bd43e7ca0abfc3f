// Our wasm int8 engines beside onnxruntime-web in one headless Chromium page (Debian's
// chromium via playwright-core), on the same quantized model. Prints JSON; never asserts
// on time.
//   node bench/web/int8_browser.mjs MODEL.safetensors MODEL.onnx [--runs N]
// Both files must lie under the repository (the page is served from its root).
import { launchChromium, startStaticServer } from '../../scripts/headless_browser.mjs';
import { runBenchPage, urlPath } from './bench_page.mjs';

const args = process.argv.slice(2);
const [model, onnx] = args;
const runs = args[2] === '--runs' ? Number(args[3]) : 300;
const server = await startStaticServer(8990);
const port = server.port;
const browser = await launchChromium();
try {
  const r = await runBenchPage(browser,
    `http://127.0.0.1:${port}/bench/web/int8_browser.html?model=${urlPath(model)}&onnx=${urlPath(onnx)}&runs=${runs}`);
  for (const k of Object.keys(r.ours)) delete r.ours[k].logits;
  delete r.peer.logits;
  console.log(JSON.stringify({ browser: 'headless Chromium', ...r }, null, 2));
} finally {
  await browser.close();
  server.stop();
}
