// Tests of the JavaScript API (web/slingshot.js, docs/js-api.md) under node, against the
// wasm build in web/build/: registry listings with schemas, model loading, decoding,
// predictions against the integer engines, attacks that work and attacks that must not,
// errors that become Errors without breaking the module, a flat heap over 500 attacks and
// 50 model loads, progress events, cancellation within 100 ms in both cancel modes, robustness
// curves with live lines, keyword features and C headers.
// Usage: node tests/web/js_api_test.mjs [path/to/native/slingshot]   (exit 77: no wasm build)
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
if (!existsSync(resolve(root, 'web/build/slingshot_web.wasm'))) {
  console.error('web/build/slingshot_web.wasm is missing: build the wasm preset first (scripts/build.sh)');
  process.exit(77);
}
const { createSlingshot } = await import(pathToFileURL(resolve(root, 'web/slingshot.js')).href);
const cli = process.argv[2];

let failures = 0;
const results = [];
function check(condition, message) {
  if (!condition) throw new Error(message);
}
async function test(name, body) {
  const t0 = performance.now();
  try {
    await body();
    results.push(`PASS ${name} (${(performance.now() - t0).toFixed(0)} ms)`);
  } catch (e) {
    failures += 1;
    results.push(`FAIL ${name}: ${e && e.stack ? e.stack : e}`);
  }
  console.log(results[results.length - 1]);
}
async function expectError(promise, text) {
  try {
    await promise;
  } catch (e) {
    check(e instanceof Error, `expected an Error, got ${e}`);
    check(e.message.includes(text), `error "${e.message}" does not mention "${text}"`);
    return e;
  }
  throw new Error(`expected an error mentioning "${text}"`);
}
const bytesOf = (rel) => new Uint8Array(readFileSync(resolve(root, rel)));
const onGrid = (x, levels) => x.every((v) => Math.abs(Math.round(v * levels) / levels - v) < 1e-7);
const labelsOf = (dir) => readFileSync(resolve(root, dir, 'y_labels.csv'), 'utf8').trim().split('\n')
  .map((line) => line.split(',')).map(([file, , label]) => ({ file, label: Number(label) }));

const KNOWN_ATTACKS = ['fgsm', 'bim', 'pgd', 'mifgsm', 'apgd-ce', 'apgd-dlr', 'cw-l2', 'cw-linf', 'ead', 'deepfool',
  'jsma', 'boundary', 'hopskipjump', 'geoda', 'square', 'simba', 'zoo', 'spsa', 'autoattack', 'patch', 'lavan', 'diva'];

const sling = await createSlingshot();
const resnetInfo = await sling.loadModel(bytesOf('models/housenum/resnet8_int8.safetensors'), 'resnet8_int8');
const resnet = resnetInfo.id;
const housenum = labelsOf('models/housenum/eval');
const images = [];
for (const { file, label } of housenum.slice(0, 12))
  images.push({ file, label, x: await sling.decodeImage(bytesOf(`models/housenum/eval/${file}`), 32, 32, 3) });

// The first eval images the deployed int8 model gets right: what attacks start from.
const correct = [];
for (const im of images) if ((await sling.predict(resnet, im.x, 'int8-ref')).top1 === im.label) correct.push(im);

await test('listings: every registered attack and defense with a schema', async () => {
  let names = KNOWN_ATTACKS;
  if (cli) {
    const help = execFileSync(cli, ['attack', '--help'], { encoding: 'utf8' });
    names = help.match(/Attack: ([a-z0-9, -]+)/)[1].split(',').map((s) => s.trim()).filter(Boolean);
    // bitflip attacks the weights, not an input: the CLI runs it, the input-attack API does not list it.
    check(names.includes('bitflip'), 'the CLI lists bitflip');
    names = names.filter((n) => n !== 'bitflip');
  }
  check(JSON.stringify(sling.attacks.map((a) => a.name).sort()) === JSON.stringify([...names].sort()),
    `attacks ${sling.attacks.map((a) => a.name)} != ${names}`);
  for (const a of sling.attacks) {
    const byName = Object.fromEntries(a.params.map((p) => [p.name, p]));
    check(byName.norm && byName.norm.type === 'choice' && byName.norm.choices.join() === a.norms.join(), `${a.name}: norm`);
    check(byName.seed && byName.seed.type === 'integer', `${a.name}: seed`);
    check(!!byName.max_queries === a.blackBox, `${a.name}: max_queries only for black-box attacks`);
    if (byName.max_iter) check(byName.max_iter.default === a.defaultMaxIter, `${a.name}: max_iter default`);
    if (byName.eps) {
      check(byName.eps.unit === 'input', `${a.name}: eps unit`);
      check(byName.eps.allowInfinity === a.acceptsUnboundedEps, `${a.name}: eps inf`);
    }
    for (const p of a.params) {
      check(p.doc.length > 0, `${a.name}.${p.name} has no doc`);
      check(['number', 'integer', 'boolean', 'choice'].includes(p.type), `${a.name}.${p.name} type ${p.type}`);
    }
    check(a.doc.length > 0, `${a.name} has no doc`);
    check(Object.keys(a.defaultEps).sort().join() === [...a.norms].sort().join(), `${a.name}: defaultEps per norm`);
  }
  const pgdInfo = sling.attacks.find((a) => a.name === 'pgd');
  check(Math.abs(pgdInfo.defaultEps.inf - 8 / 255) < 1e-7 && pgdInfo.defaultEps['2'] === 0.5, 'pgd default eps');
  const mifgsm = sling.attacks.find((a) => a.name === 'mifgsm');
  check(mifgsm.params.some((p) => p.name === 'decay' && p.default === 1 && p.min === 0 && p.minExclusive), 'mifgsm decay');
  const simba = sling.attacks.find((a) => a.name === 'simba');
  check(simba.params.some((p) => p.name === 'basis' && p.type === 'choice' && p.default === 'pixels'), 'simba basis');
  check(sling.defenses.map((d) => d.name).join() === 'bit_depth,median_filter,jpeg,spatial_smoothing,gaussian_noise,randomized_smoothing,tv_minimization',
    `defenses ${sling.defenses.map((d) => d.name)}`);
  const noise = sling.defenses.find((d) => d.name === 'gaussian_noise');
  check(noise.randomized && noise.params[0].name === 'sigma' && noise.params[0].default === 0.05, 'gaussian_noise schema');
  const blur = sling.defenses.find((d) => d.name === 'spatial_smoothing');
  check(blur.differentiable && !blur.randomized && blur.params[0].unit === 'pixels', 'spatial_smoothing schema');
  const smoothing = sling.defenses.find((d) => d.name === 'randomized_smoothing');
  check(smoothing.randomized && smoothing.params.map((p) => p.name).join() === 'sigma,samples,alpha', 'randomized_smoothing schema');
  const tv = sling.defenses.find((d) => d.name === 'tv_minimization');
  check(tv.randomized && !tv.differentiable && tv.params.map((p) => p.name).join() === 'keep,lambda,iterations', 'tv_minimization schema');
  const engines = sling.engines.map((e) => e.name);
  for (const e of ['float', 'fakequant', 'int8-ref', 'int8-simd']) check(engines.includes(e), `engine ${e} missing`);
  check(!engines.includes('xnnpack'), 'xnnpack listed in wasm');
  check(sling.gradientSources.map((g) => g.name).join() === 'float,ste,fd,bpda,eot', 'gradient sources');
});

await test('loadModel: ResNet-8 int8 and DS-CNN int8 describe themselves', async () => {
  check(resnetInfo.inputKind === 'image' && resnetInfo.inputShape.join() === '32,32,3', 'resnet input');
  check(resnetInfo.classes === 10 && resnetInfo.quantized && resnetInfo.weightScheme === 'int8', 'resnet quantization');
  check(resnetInfo.footprint.totalBytes > 50000 && resnetInfo.layers.length > 20 && resnetInfo.macs > 1e6, 'resnet size');
  const ds = await sling.loadModel(bytesOf('models/keywords/dscnn_int8.safetensors'), 'dscnn_int8');
  check(ds.inputKind === 'keywords' && ds.inputShape.join() === '16000' && ds.modelInputShape.join() === '49,10,1', 'dscnn input');
  check(ds.classes === 12, 'dscnn classes');
  const ternary = await sling.loadModel(bytesOf('models/housenum/resnet8_ternary.safetensors'), 'ternary');
  check(ternary.weightScheme === 'ternary' && ternary.footprint.weightBytes < resnetInfo.footprint.weightBytes / 3, 'ternary');
  await sling.unloadModel(ternary.id);
  const wav = await sling.decodeWav(bytesOf(`models/keywords/eval/${labelsOf('models/keywords/eval')[0].file}`));
  check(wav.length === 16000 && onGrid(wav, 32768), 'decoded clip: 16000 samples on the 16-bit grid');
  const p = await sling.predict(ds.id, wav, 'int8-simd');
  const q = await sling.predict(ds.id, wav, 'int8-ref');
  check(p.logits.length === 12 && p.logits.every((v, i) => v === q.logits[i]), 'dscnn int8-simd == int8-ref');
  check(p.engine.startsWith('mfcc'), `keyword predictions run the MFCC front end: ${p.engine}`);
  await sling.unloadModel(ds.id);
  if (cli) {
    // A float model file: float engine by default; the integer engines and ste refuse it.
    const path = resolve(tmpdir(), `slingshot_js_api_float_${process.pid}.safetensors`);
    execFileSync(cli, ['init', '--arch', 'tiny_cnn', '--input', '16x16x3', '-o', path]);
    const f = await sling.loadModel(new Uint8Array(readFileSync(path)), 'float');
    rmSync(path);
    check(!f.quantized && f.weightScheme === null, 'float model described as float');
    const x = new Float32Array(16 * 16 * 3).fill(128 / 255);
    check((await sling.predict(f.id, x)).engine === 'float', 'float models predict on the float engine by default');
    await expectError(sling.predict(f.id, x, 'int8-ref'), 'quantiz');
    await expectError(sling.runAttack({ modelId: f.id, input: x, label: 0, attack: 'fgsm' }), 'no straight-through gradient');
    const r = await sling.runAttack({ modelId: f.id, input: x, label: 0, attack: 'fgsm', grad: 'float' });
    check(r.report.engine === 'float', 'float attack');
    await sling.unloadModel(f.id);
  }
  check(await sling.modelCount() === 1, 'model count after unloads');
});

await test('loadModel: an MLPerf .tflite file imports with its input mapping and float shadow', async () => {
  check(resnetInfo.source === 'slingshot' && resnetInfo.engineLabel === 'quantized (Slingshot)' &&
        resnetInfo.inputMapping === null, 'a Slingshot file describes its source');
  const mlperf = resolve(root, '../shared/mlperf-tiny');
  if (!existsSync(resolve(mlperf, 'pretrainedResnet_quant.tflite'))) {
    console.log(`  skipped: ${mlperf} is absent (the MLPerf Tiny .tflite files)`);
    return;
  }
  const m = await sling.loadModel(new Uint8Array(readFileSync(resolve(mlperf, 'pretrainedResnet_quant.tflite'))), 'r8.tflite');
  check(m.source === 'tflite' && m.engineLabel === 'imported int8 (TFLite)' && m.quantized, `tflite info: ${m.engineLabel}`);
  check(m.inputMapping.kind === 'pixels' && m.inputMapping.pixel_range.join() === '0,255', 'input mapping 0..255');
  check(m.macs === 12501632 && m.inputShape.join() === '32,32,3', 'MLPerf ResNet-8 shape and MACs');
  const x = new Float32Array(32 * 32 * 3).map((_, i) => ((i * 37) % 256) / 255);
  const a = await sling.predict(m.id, x, 'int8-ref');
  const b = await sling.predict(m.id, x, 'int8-simd');
  check(a.logits.every((v, i) => v === b.logits[i]), 'imported int8-simd == int8-ref');
  if (cli) {
    // wasm against the native int8-ref: the output codes `export-c-header` writes for a
    // housenum image, byte for byte.
    const png = 'models/housenum/eval/housenum_test_00000.png';
    const header = resolve(tmpdir(), `slingshot_js_api_r8_${process.pid}.h`);
    execFileSync(cli, ['export-c-header', '--model', resolve(mlperf, 'pretrainedResnet_quant.tflite'), '--input',
      resolve(root, png), '-o', header]);
    const text = readFileSync(header, 'utf8');
    rmSync(header);
    const number = (name) => Number(text.match(new RegExp(`#define SLINGSHOT_EXAMPLE_${name} \\(?(-?[0-9.e+-]+)`))[1]);
    const body = text.slice(text.indexOf('expected_output'));
    const expected = body.slice(body.indexOf('{') + 1, body.indexOf('}')).split(',').map(Number);
    const [scale, zero] = [number('OUTPUT_SCALE'), number('OUTPUT_ZERO_POINT')];
    const x8 = await sling.decodeImage(bytesOf(png), 32, 32, 3);
    for (const engine of ['int8-ref', 'int8-simd']) {
      const codes = Array.from((await sling.predict(m.id, x8, engine)).logits, (v) => Math.round(v / scale) + zero);
      check(expected.length === 10 && codes.every((c, i) => c === expected[i]),
        `wasm ${engine} codes ${codes} vs native int8-ref ${expected}`);
    }
  }
  const r = await sling.runAttack({ modelId: m.id, input: x, label: a.top1, attack: 'pgd', engine: 'int8-ref', grad: 'ste',
    params: { eps: '8/255', max_iter: 10 } });
  check(r.report.engine === 'int8-ref' && r.adversarialPrediction !== a.top1, `PGD on the imported model: ${r.adversarialPrediction}`);
  await sling.unloadModel(m.id);
  await expectError(sling.loadModel(new Uint8Array(readFileSync(resolve(mlperf, 'ad01_int8.tflite'))), 'ad01'),
    'has no attack domain');
});

await test('decodeImage: eval PNGs land on the k/255 grid, resized by area', async () => {
  const x = images[0].x;
  check(x instanceof Float32Array && x.length === 32 * 32 * 3 && onGrid(x, 255), 'shape and grid');
  check(x.some((v) => v > 0) && x.some((v) => v < 1), 'not constant');
  const half = await sling.decodeImage(bytesOf(`models/housenum/eval/${images[0].file}`), 16, 16, 3);
  for (let i = 0; i < 16; i += 1)
    for (let j = 0; j < 16; j += 1)
      for (let c = 0; c < 3; c += 1) {
        const at = (y, xx) => x[(y * 32 + xx) * 3 + c];
        const mean = (at(2 * i, 2 * j) + at(2 * i, 2 * j + 1) + at(2 * i + 1, 2 * j) + at(2 * i + 1, 2 * j + 1)) / 4;
        check(Math.abs(half[(i * 16 + j) * 3 + c] - Math.round(mean * 255) / 255) < 1e-6, `area mean at ${i},${j},${c}`);
      }
  const gray = await sling.decodeImage(bytesOf(`models/housenum/eval/${images[0].file}`), 32, 32, 1);
  check(gray.length === 1024 && onGrid(gray, 255), 'gray conversion');
  if (cli) {
    // The CLI's loader: `slingshot eval` on the same folder classifies the same pixels.
    const out = execFileSync(cli, ['eval', '--model', resolve(root, 'models/housenum/resnet8_int8.safetensors'),
      '--data', `labels:${resolve(root, 'models/housenum/eval/y_labels.csv')}`, '--count', '12', '--engine', 'int8-ref',
      '--json'], { encoding: 'utf8' });
    const accuracy = JSON.parse(out.slice(out.indexOf('{'))).accuracy;
    check(Math.abs(accuracy - correct.length / 12) < 1e-3, `CLI accuracy ${accuracy} vs JS ${correct.length}/12`);
  }
});

await test('predict: int8-simd and int8-ref agree bit for bit; the first eval images are classified', async () => {
  check(correct.length >= 8, `only ${correct.length} of 12 eval images correct`);
  for (const im of images.slice(0, 4)) {
    const a = await sling.predict(resnet, im.x, 'int8-simd');
    const b = await sling.predict(resnet, im.x, 'int8-ref');
    check(a.logits.length === 10 && a.logits.every((v, i) => v === b.logits[i]), `${im.file}: logits differ`);
    const sum = a.probabilities.reduce((s, v) => s + v, 0);
    check(Math.abs(sum - 1) < 1e-5 && a.top1 === b.top1, 'probabilities');
  }
});

const attack = (name, x, label, params = {}, extra = {}) =>
  sling.runAttack({ modelId: resnet, input: x, label, attack: name, engine: 'int8-ref', params, ...extra });

await test('attacks: FGSM and PGD at 8/255 fool int8 ResNet-8; eps 0 changes nothing', async () => {
  const im = correct[0];
  for (const name of ['fgsm', 'pgd']) {
    const r = await attack(name, im.x, im.label, { eps: '8/255' });
    check(r.attacked && r.success && r.adversarialPrediction !== im.label, `${name} did not fool the model`);
    check(r.distortion.linf <= 8 / 255 + 1e-6 && onGrid(r.adversarial, 255), `${name}: outside the threat model`);
    check(r.perturbation.every((d, i) => Math.abs(r.adversarial[i] - im.x[i] - d) < 1e-6), `${name}: perturbation`);
    check(r.queries.gradients >= 1 && r.report.examples.length === 1 && r.report.engine === 'int8-ref', `${name}: report`);
    const check2 = await sling.predict(resnet, r.adversarial, 'int8-ref');
    check(check2.top1 === r.adversarialPrediction, `${name}: adversarial prediction reproduces`);
  }
  const zero = await attack('pgd', im.x, im.label, { eps: 0 });
  check(!zero.success && zero.distortion.linf === 0 && zero.adversarialPrediction === im.label, 'eps 0 changed the input');
  const defended = await attack('pgd', im.x, im.label, { eps: '8/255', max_iter: 5 }, { defenses: ['bit_depth:bits=4'] });
  check(defended.report.gradient === 'bpda over ste' && defended.report.defenses[0].spec === 'bit_depth:bits=4', 'defense report');
  const diva = await attack('diva', im.x, im.label, { eps: '8/255', max_iter: 5 });
  check(diva.report.reference.engine === 'float', 'diva has its float reference');
  const square = await attack('square', im.x, im.label, { eps: '8/255', max_queries: 200, p_init: 0.1 });
  check(square.queries.gradients === 0 && square.queries.predictions <= 201, 'square is black-box within budget');
});

await test('errors: bad inputs throw Errors with the core message and the module keeps working', async () => {
  const im = correct[0];
  const cases = [
    [() => attack('nosuch', im.x, im.label), "unknown attack 'nosuch'"],
    [() => attack('pgd', im.x, im.label, { eps: -0.1 }), 'eps must be a finite number >= 0'],
    [() => attack('pgd', im.x.subarray(0, 100), im.label), 'input holds 100 values'],
    [() => attack('pgd', im.x, 42), 'request.label must be a whole number in [0, 9]'],
    [() => attack('mifgsm', im.x, im.label, { momentum: 1 }), "has no setting 'momentum' (it takes: decay)"],
    [() => attack('simba', im.x, im.label, { basis: 'wavelet' }), "'wavelet' is not one of"],
    [() => attack('pgd', im.x, im.label, { max_iter: NaN }), 'params.max_iter is NaN'],
    [() => attack('patch', im.x, im.label), 'trains a universal patch'],
    [() => attack('pgd', im.x, im.label, {}, { defenses: ['median:size=3'] }), "unknown defense 'median'"],
    [() => attack('pgd', im.x, im.label, {}, { engine: 'xnnpack' }), 'xnnpack'],
    [() => attack('pgd', im.x.map((v, i) => (i === 5 ? NaN : v)), im.label, { pixel_valid: false }), 'NaN'],
    [() => attack('pgd', im.x.map((v) => v * 0.999), im.label), 'off the k/255 grid'],
    [() => sling.loadModel(new Uint8Array([8, 0, 0, 0, 0, 0, 0, 0, 123, 125]), 'corrupt'), 'corrupt'],
    [() => sling.loadModel(new Uint8Array(0), 'empty'), 'empty'],
    [() => sling.predict(resnet, im.x, 'int9'), "int9"],
    [() => sling.decodeImage(new Uint8Array([1, 2, 3, 4]), 32, 32, 3), 'image'],
    [() => sling.decodeImage(bytesOf(`models/housenum/eval/${im.file}`), 0, 32, 3), 'outside 1..'],
    [() => sling.decodeImage(bytesOf(`models/housenum/eval/${im.file}`), 32, 32, 2), 'channels must be 1 or 3'],
    [() => sling.decodeWav(bytesOf(`models/housenum/eval/${im.file}`)), 'RIFF'],
  ];
  for (const [call, text] of cases) {
    await expectError(call(), text);
    const ok = await sling.predict(resnet, im.x, 'int8-ref');
    check(ok.top1 === im.label, `module broken after "${text}"`);
  }
  // A PNG claiming a huge size is refused before decoding.
  const png = bytesOf(`models/housenum/eval/${im.file}`).slice();
  new DataView(png.buffer).setUint32(16, 100000);
  await expectError(sling.decodeImage(png, 32, 32, 3), 'image');
  await expectError(sling.predict(9999, im.x), 'no loaded model has id 9999');
});

await test('robustnessCurve: eps 0 is clean accuracy, bit-exact engines agree, live lines, cancel, errors', async () => {
  const set = correct.slice(0, 6);
  const inputs = new Float32Array(set.length * 3072);
  set.forEach((im, i) => inputs.set(im.x, i * 3072));
  const labels = set.map((im) => im.label);
  const int4 = await sling.loadModel(bytesOf('models/housenum/resnet8_int4.safetensors'), 'resnet8_int4');
  const request = { modelId: resnet, attack: 'fgsm', inputs, labels, eps: [0, '2/255', '8/255'],
    lines: [{ name: 'int8-ref', engine: 'int8-ref' }, { name: 'int8-simd', engine: 'int8-simd' },
      { name: 'int4', modelId: int4.id, engine: 'int8-ref' }] };
  const events = [];
  const r = await sling.robustnessCurve(request, { onProgress: (e) => events.push(e) });
  check(r.lines.length === 3 && r.samples === 6 && r.eps.length === 3 && r.norm === 'inf', 'curve shape');
  const [ref, simd, four] = r.lines;
  check(ref.cleanAccuracy === 1 && ref.points[0].robustAccuracy === 1, `eps 0: ${ref.points[0].robustAccuracy}, not clean accuracy`);
  check(ref.points[0].successRate === 0 && ref.points[0].meanDistortion.linf === 0, 'eps 0 changed an input');
  check(ref.points[2].robustAccuracy < 0.5, `FGSM at 8/255 left ${ref.points[2].robustAccuracy}`);
  check(ref.points.every((pt, i) => pt.robustAccuracy === simd.points[i].robustAccuracy), 'int8-simd line != int8-ref line');
  check(four.points[0].robustAccuracy === four.cleanAccuracy, 'int4: eps 0 is clean accuracy');
  const finished = events.filter((e) => e.lines);
  check(finished.length === 9, `${finished.length} finished-point events, not 9`);
  // Eps by eps, every line in turn, so a live plot grows all lines together.
  finished.forEach((e, k) => check(e.line === k % 3 && e.point === Math.floor(k / 3), `event ${k}: line ${e.line}, point ${e.point}`));
  check(events.every((e, k) => k === 0 || e.fraction >= events[k - 1].fraction), 'fraction went backwards');
  check(Math.abs(finished[8].fraction - 1) < 1e-9 && finished[8].lines[2].points.length === 3, 'last event');

  const controller = new AbortController();
  const long = sling.robustnessCurve({ ...request, attack: 'pgd', params: { max_iter: 100000 } },
    { signal: controller.signal });
  setTimeout(() => controller.abort(), 300);
  const e = await long.then(() => null, (err) => err);
  check(e && e.name === 'AbortError', `expected an AbortError, got ${e}`);
  check((await sling.predict(resnet, set[0].x, 'int8-ref')).top1 === set[0].label, 'predict after a cancelled curve');

  const ds = await sling.loadModel(bytesOf('models/keywords/dscnn_int8.safetensors'), 'dscnn_int8');
  const bad = (patch, text) => expectError(sling.robustnessCurve({ ...request, ...patch }), text);
  await bad({ labels: labels.slice(1) }, 'one class per input (6)');
  await bad({ inputs: inputs.subarray(0, 100) }, 'not a whole number of');
  await bad({ eps: [] }, 'request.eps must be an array of 1 to 64');
  await bad({ eps: [-1] }, 'finite number >= 0');
  await bad({ lines: [] }, 'request.lines must be an array of 1 to 16');
  await bad({ lines: [{ modelId: ds.id }] }, "model 'dscnn_int8' takes");
  await bad({ lines: [{ engine: 'int9' }] }, 'int9');
  await bad({ attack: 'lavan' }, 'not bounded by eps');
  await sling.unloadModel(ds.id);
  await sling.unloadModel(int4.id);
});

await test('audioFeatures and cHeader: what the keyword model hears, and int8 tensors for an MCU test', async () => {
  const ds = await sling.loadModel(bytesOf('models/keywords/dscnn_int8.safetensors'), 'dscnn_int8');
  const wav = await sling.decodeWav(bytesOf(`models/keywords/eval/${labelsOf('models/keywords/eval')[0].file}`));
  const f = await sling.audioFeatures(wav);
  check(f.frames === 49 && f.coefficients === 10 && f.melBins === 40, 'feature sizes');
  check(f.mfcc.length === 490 && f.logMel.length === 1960 && f.mfcc.every(Number.isFinite), 'feature arrays');
  check(f.logMel.some((v) => v > Math.log(1e-6) + 1), 'a silent spectrogram');
  await expectError(sling.audioFeatures(wav.subarray(0, 100)), 'waveform holds 100 samples');

  const im = correct[0];
  const h = await sling.cHeader(resnet, im.x, 'adv_example', 'from the JS API test');
  const top = (await sling.predict(resnet, im.x, 'int8-ref')).top1;
  check(h.inputCodes.length === 3072 && h.outputCodes.length === 10 && h.expectedClass === top, 'header tensors');
  check(h.text.includes('adv_example') && h.text.includes('from the JS API test') && h.text.includes('#'), 'header text');
  // The codes of an 8-bit image are its pixels shifted by the input zero point.
  const shift = h.inputCodes[0] - Math.round(im.x[0] * 255);
  check(h.inputCodes.every((c, i) => c - Math.round(im.x[i] * 255) === shift), 'input codes are not the pixels');
  const kh = await sling.cHeader(ds.id, wav, 'keyword');
  check(kh.inputCodes.length === 490 && kh.expectedClass === (await sling.predict(ds.id, wav, 'int8-ref')).top1,
    'keyword header: MFCC codes and the int8-ref class');
  await expectError(sling.cHeader(resnet, im.x.map((v) => v * 0.999)), 'off the k/255 grid');
  await expectError(sling.cHeader(resnet, im.x, 'not a C name'), 'identifier');
  await sling.unloadModel(ds.id);
});

await test('memory: 500 attacks and 50 model loads leave the heap and the model count flat', async () => {
  const im = correct[0];
  const run = (i) => attack('fgsm', im.x, im.label, { eps: '2/255', seed: i });
  for (let i = 0; i < 20; i += 1) await run(i);  // warm-up: the heap grows to its working size
  const before = await sling.memoryStats();
  const modelsBefore = await sling.modelCount();
  const t0 = performance.now();
  for (let i = 0; i < 500; i += 1) await run(i);
  const seconds = (performance.now() - t0) / 1000;
  const after = await sling.memoryStats();
  check(after.heapBytes === before.heapBytes, `heap grew from ${before.heapBytes} to ${after.heapBytes} bytes over 500 attacks`);
  check(after.allocatedBytes === before.allocatedBytes,
    `allocated bytes went from ${before.allocatedBytes} to ${after.allocatedBytes} over 500 attacks`);
  check(await sling.modelCount() === modelsBefore, 'model count changed');
  const bytes = bytesOf('models/housenum/resnet8_int4.safetensors');
  for (let i = 0; i < 5; i += 1) await sling.unloadModel((await sling.loadModel(bytes, 'warm')).id);
  const beforeLoads = await sling.memoryStats();
  for (let i = 0; i < 50; i += 1) await sling.unloadModel((await sling.loadModel(bytes, `m${i}`)).id);
  const afterLoads = await sling.memoryStats();
  check(afterLoads.heapBytes === beforeLoads.heapBytes, 'heap grew over 50 loads');
  check(afterLoads.allocatedBytes === beforeLoads.allocatedBytes,
    `allocated bytes went from ${beforeLoads.allocatedBytes} to ${afterLoads.allocatedBytes} over 50 loads`);
  check(await sling.modelCount() === modelsBefore, 'model count changed over loads');
  console.log(`  500 FGSM attacks (${(seconds / 500 * 1000).toFixed(1)} ms each): heap ${before.heapBytes} -> ${after.heapBytes} B, ` +
              `allocated ${before.allocatedBytes} -> ${after.allocatedBytes} B; 50 loads: heap ${beforeLoads.heapBytes} -> ` +
              `${afterLoads.heapBytes} B, allocated ${beforeLoads.allocatedBytes} -> ${afterLoads.allocatedBytes} B`);
});

await test('progress: events arrive with growing query counts', async () => {
  const im = correct[0];
  const events = [];
  const r = await sling.runAttack({ modelId: resnet, input: im.x, label: im.label, attack: 'square', engine: 'int8-ref',
    params: { eps: '1/255', max_queries: 400 } }, { onProgress: (e) => events.push(e) });
  check(events.length >= 2, `${events.length} progress events`);
  for (let i = 1; i < events.length; i += 1) {
    check(events[i].queries >= events[i - 1].queries && events[i].iteration > events[i - 1].iteration, 'counts decrease');
    check(events[i].fraction >= 0 && events[i].fraction <= 1, 'fraction');
  }
  check(events.some((e) => typeof e.bestMargin === 'number'), 'no margin reported');
  // Progress also counts the evaluation's clean and adversarial predictions.
  const last = events[events.length - 1].queries;
  check(last <= r.queries.predictions + 2 && last > 0, `final count ${last} vs ${r.queries.predictions}`);
});

async function cancelCheck(s, modelId, x, label) {
  const controller = new AbortController();
  let progressEvents = 0;
  const started = performance.now();
  const run = s.runAttack({ modelId, input: x, label, attack: 'pgd', engine: 'int8-ref',
    params: { eps: '8/255', max_iter: 100000, loss: 'cw' } }, {
    signal: controller.signal,
    onProgress: () => { progressEvents += 1; },
  });
  await new Promise((r) => setTimeout(r, 400));
  const abortAt = performance.now();
  controller.abort();
  const e = await run.then(() => null, (err) => err);
  const rejectMs = performance.now() - abortAt;
  check(e && e.name === 'AbortError', `expected an AbortError, got ${e}`);
  check(rejectMs < 100, `rejected ${rejectMs.toFixed(1)} ms after abort`);
  const p = await s.predict(modelId, x, 'int8-ref');
  const freeMs = performance.now() - abortAt;
  check(p.top1 === label, 'predict after cancel');
  check(progressEvents > 0, 'no progress before the cancel');
  check(performance.now() - started < 5000, 'run did not stop');
  return { rejectMs, freeMs };
}

await test('cancel: an aborted run rejects within 100 ms (shared flag), and the API works afterwards', async () => {
  check(sling.cancelMode === 'flag', `node should cancel by flag, got ${sling.cancelMode}`);
  const { rejectMs, freeMs } = await cancelCheck(sling, resnet, correct[0].x, correct[0].label);
  const again = await attack('fgsm', correct[0].x, correct[0].label, { eps: '8/255' });
  check(again.attacked, 'attack after cancel');
  console.log(`  flag: rejected ${rejectMs.toFixed(1)} ms after abort; worker free again ${freeMs.toFixed(1)} ms after abort`);
});

await test('cancel: terminate mode restarts the worker and keeps model ids', async () => {
  const s = await createSlingshot({ cancelMode: 'terminate' });
  try {
    const info = await s.loadModel(bytesOf('models/housenum/resnet8_int8.safetensors'), 'resnet8_int8');
    const { rejectMs, freeMs } = await cancelCheck(s, info.id, correct[0].x, correct[0].label);
    check(await s.modelCount() === 1, 'models reloaded once');
    console.log(`  terminate: rejected ${rejectMs.toFixed(1)} ms after abort; new worker ready ${freeMs.toFixed(1)} ms after abort`);
  } finally {
    s.terminate();
  }
});

sling.terminate();
console.log(failures ? `${failures} JS API test(s) failed` : 'all JS API tests passed');
process.exit(failures ? 1 : 0);
