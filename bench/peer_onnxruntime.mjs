// The ONNX Runtime peers of the quantized-model benchmark, on the model
// `slingshot export-onnx` wrote: onnxruntime-node (native CPU execution provider) and
// onnxruntime-web (its WebAssembly backend, SIMD, one thread) under node. Latency at
// batch 1 on one seeded 8-bit image, as the median over many runs after a warm-up.
// Prints JSON; never asserts on time.
//
//   node bench/peer_onnxruntime.mjs MODEL.onnx [--runs N] [--only node|web]
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
const modelPath = args[0];
let runs = 300;
let only = null;
for (let i = 1; i < args.length; ++i) {
  if (args[i] === '--runs') runs = Number(args[++i]);
  else if (args[i] === '--only') only = args[++i];
  else throw new Error(`unknown argument ${args[i]}`);
}
if (!modelPath || !(runs >= 1)) {
  console.error('usage: node bench/peer_onnxruntime.mjs MODEL.onnx [--runs N] [--only node|web]');
  process.exit(2);
}
const bytes = readFileSync(modelPath);

// The same seeded image for both runtimes (values k/255, NHWC, as our engines take it).
function seededImage(shape) {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = 7n;
  for (let i = 0; i < n; ++i) {
    s = (s * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn;
    data[i] = Number(s >> 56n) / 255;
  }
  return data;
}

function stats(ms) {
  const v = [...ms].sort((a, b) => a - b);
  const at = (p) => v[Math.min(v.length - 1, Math.round(p * (v.length - 1)))];
  return { median_ms: at(0.5), p10_ms: at(0.1), p90_ms: at(0.9), runs: v.length };
}

async function measure(ort, options) {
  // Keep int8 activations int8: on x86 onnxruntime otherwise converts QDQ int8 to uint8,
  // which it cannot do for a tensor with two consumers, and runs those convs in float.
  options.extra = { session: { qdqisint8allowed: '1' } };
  const session = await ort.InferenceSession.create(bytes, options);
  const input = session.inputNames[0];
  const meta = session.inputMetadata?.[0] ?? session.inputMetadata?.[input];
  const dims = (meta?.shape ?? [1, 32, 32, 3]).map((d) => (typeof d === 'number' ? d : 1));
  const feeds = { [input]: new ort.Tensor('float32', seededImage(dims), dims) };
  for (let i = 0; i < Math.max(10, runs / 10); ++i) await session.run(feeds);
  const ms = [];
  for (let i = 0; i < runs; ++i) {
    const t0 = performance.now();
    await session.run(feeds);
    ms.push(performance.now() - t0);
  }
  return { ...stats(ms), input_shape: dims };
}

const out = { model: modelPath, clock: 'wall (performance.now)', peers: {} };
if (only !== 'web') {
  const ort = require('onnxruntime-node');
  out.peers['onnxruntime-node'] = {
    version: ort.env.versions?.node,
    threads: 1,
    ...(await measure(ort, { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1,
      graphOptimizationLevel: 'all' })),
  };
}
if (only !== 'node') {
  const ort = require('onnxruntime-web');
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.simd = true;
  out.peers['onnxruntime-web'] = {
    version: ort.env.versions?.web,
    backend: 'wasm, SIMD, 1 thread',
    ...(await measure(ort, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' })),
  };
}
console.log(JSON.stringify(out, null, 2));
