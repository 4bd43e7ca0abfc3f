// The calls the playground benchmark times, shared by the browser page
// (playground_bench.html) and node (playground_bench.mjs) so that both run the very same
// code against the same build: the worker API of web/slingshot.js, plus the raw module's
// in-wasm inference loop. Works in both environments: file access is passed in.

export const ENGINES = ['int8-simd', 'int8-ref'];
// The attacks run in the page, on the engine the benchmark issue names; 'ste' gradients as
// the playground's default.
export const ATTACKS = [
  { key: 'pgd20', request: { attack: 'pgd', engine: 'int8-simd', grad: 'ste', params: { eps: '8/255', max_iter: 20 } } },
  { key: 'square1000', request: { attack: 'square', engine: 'int8-simd', params: { eps: '8/255', max_queries: 1000 } } },
];

export function summarize(times) {
  const s = [...times].sort((a, b) => a - b);
  const at = (f) => s[Math.min(s.length - 1, Math.floor(f * s.length))];
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median_ms: median, min_ms: s[0], p10_ms: at(0.1), p90_ms: at(0.9), runs: s.length };
}

async function timeCalls(call, warmup, runs) {
  for (let i = 0; i < warmup; ++i) await call();
  const times = [];
  for (let i = 0; i < runs; ++i) {
    const t0 = performance.now();
    await call();
    times.push(performance.now() - t0);
  }
  return summarize(times);
}

// The playground's default model (the first of web/zoo.json) and the first image of its
// gallery, with its label. readText/readBytes take a path relative to the repository.
export async function benchInputs(readText, readBytes) {
  const family = JSON.parse(await readText('web/zoo.json')).families[0];
  const model = family.models[0];
  const [file, , label] = (await readText(`${family.eval}y_labels.csv`)).trim().split('\n')[0].split(',');
  return {
    modelId: model.id, modelFile: model.file, image: file, label: Number(label),
    modelBytes: await readBytes(model.file), imageBytes: await readBytes(`${family.eval}${file}`),
  };
}

// Through the worker (createSlingshot()): what a page using the JS API waits for, i.e.
// compute plus postMessage, structured cloning and the promise round trip.
// modelCount is a call that does no work: its time is that round trip alone.
export async function measureApi(sling, inputs, { runs, refRuns, attackRuns }, log = () => {}) {
  const info = await sling.loadModel(inputs.modelBytes, inputs.modelId);
  const x = await sling.decodeImage(inputs.imageBytes, ...info.inputShape);
  const out = { round_trip_model_count: await timeCalls(() => sling.modelCount(), 20, runs), predict: {}, attacks: {} };
  log(`round trip (modelCount): ${out.round_trip_model_count.median_ms.toFixed(3)} ms`);
  const top1 = {};
  for (const engine of ENGINES) {
    const n = engine === 'int8-ref' ? refRuns : runs;
    out.predict[engine] = await timeCalls(() => sling.predict(info.id, x, engine), Math.max(10, n >> 3), n);
    top1[engine] = (await sling.predict(info.id, x, engine)).top1;
    log(`predict ${engine}: ${out.predict[engine].median_ms.toFixed(3)} ms`);
  }
  for (const { key, request } of ATTACKS) {
    const full = { ...request, modelId: info.id, input: x, label: inputs.label };
    let last;
    const core = [];
    out.attacks[key] = await timeCalls(async () => { last = await sling.runAttack(full); core.push(1000 * last.seconds); }, 1, attackRuns);
    // result.seconds is the core's own clock around the attack (no messaging).
    out.attacks[key].core_median_ms = summarize(core.slice(1)).median_ms;
    Object.assign(out.attacks[key], { request, queries: last.queries, success: last.success });
    log(`${key}: ${out.attacks[key].median_ms.toFixed(1)} ms`);
  }
  await sling.unloadModel(info.id);
  out.check = { label: inputs.label, top1 };
  return out;
}

// The raw Embind module's benchmarkQuantizedModel: the engine timed in a loop inside wasm
// (median of `runs` after a warm-up, on a seeded image), so no messaging is included.
export function measureCore(core, modelBytes, { runs, refRuns }) {
  const out = {};
  for (const engine of ENGINES) {
    const r = core.benchmarkQuantizedModel(modelBytes, engine, engine === 'int8-ref' ? refRuns : runs);
    out[engine] = { median_ms: r.medianMs, p10_ms: r.p10Ms, p90_ms: r.p90Ms, runs: r.runs };
  }
  return out;
}
