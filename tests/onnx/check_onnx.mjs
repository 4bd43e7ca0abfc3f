// Runs exported ONNX models in onnxruntime-node on the inputs of a check file that
// `slingshot export-onnx --check-inputs N --check-out FILE` wrote, and compares the
// logits with our engines': the float export against the float engine (max |diff| /
// max |logit|), the int8 QDQ export against int8-ref (top-1 agreement, exact logits).
// Prints the figures as one JSON line; exits 1 with a message when a bound fails.
//
//   node check_onnx.mjs --check FILE.json [--float F.onnx] [--int8 Q.onnx] [--label NAME]
//                       [--max-rel 1e-4] [--min-agreement 0.995] [--min-images 600]
//                       [--int8-against int8-ref|fakequant]
// --int8-against fakequant compares with our float QDQ engine instead: for low-bit
// activations int8-ref and fakequant disagree by themselves (`slingshot eval` shows it),
// and ONNX's QDQ semantics are fakequant's.
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// onnxruntime-node lives in the repository's node_modules (scripts/setup.sh installs it).
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(join(repo, 'package.json'));
let ort;
try {
  ort = require('onnxruntime-node');
} catch (e) {
  console.error(`check_onnx: cannot load onnxruntime-node from ${repo}/node_modules (run scripts/setup.sh): ${e.message}`);
  process.exit(1);
}

function parseArgs(argv) {
  const o = { maxRel: 1e-4, minAgreement: 0.995, minImages: 600, label: '', against: 'int8-ref' };
  const names = { '--check': 'check', '--float': 'float', '--int8': 'int8', '--label': 'label', '--max-rel': 'maxRel',
                  '--min-agreement': 'minAgreement', '--min-images': 'minImages', '--int8-against': 'against' };
  for (let i = 0; i < argv.length; i += 2) {
    const key = names[argv[i]];
    if (!key || i + 1 >= argv.length) throw new Error(`unknown or incomplete argument '${argv[i]}'`);
    o[key] = ['maxRel', 'minAgreement', 'minImages'].includes(key) ? Number(argv[i + 1]) : argv[i + 1];
  }
  if (!o.check || (!o.float && !o.int8)) throw new Error('usage: --check FILE.json and --float and/or --int8 model');
  return o;
}

// {dtype: float32, shape, base64} -> {shape, data: Float32Array}.
function blob(j, what) {
  if (!j || j.dtype !== 'float32') throw new Error(`check file: ${what} is not a float32 blob`);
  const bytes = Buffer.from(j.base64, 'base64');
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  if (data.length !== j.shape.reduce((a, b) => a * b, 1)) throw new Error(`check file: ${what} size != shape`);
  return { shape: j.shape, data };
}

// Runs `path` over the inputs in batches; returns the logits (flat) and, when
// `optimizedPath` is given, ORT's optimized graph is written there.
async function run(path, inputs, optimizedPath) {
  // logSeverityLevel 3: ORT warns that a saved 'all'-level graph is machine specific; we only read it.
  const options = { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', logSeverityLevel: 3 };
  if (optimizedPath) {
    options.optimizedModelFilePath = optimizedPath;
    // On x86 ORT by default rewrites int8 activations to uint8, which fails for a tensor
    // with several consumers (ResNet shortcuts) and leaves their convs in float; this keeps
    // int8 and runs every QDQ group on its S8S8 kernels (see docs/onnx-export.md).
    options.extra = { session: { qdqisint8allowed: '1' } };
  }
  const session = await ort.InferenceSession.create(path, options);
  const [n, ...sample] = inputs.shape;
  const per = sample.reduce((a, b) => a * b, 1);
  const chunks = [];
  const batch = 100;
  for (let b = 0; b < n; b += batch) {
    const count = Math.min(batch, n - b);
    const x = new ort.Tensor('float32', inputs.data.subarray(b * per, (b + count) * per), [count, ...sample]);
    const out = await session.run({ [session.inputNames[0]]: x });
    chunks.push(out[session.outputNames[0]].data);
  }
  await session.release?.();
  const total = chunks.reduce((a, c) => a + c.length, 0);
  const logits = new Float32Array(total);
  let off = 0;
  for (const c of chunks) { logits.set(c, off); off += c.length; }
  return logits;
}

function argmax(z, row, k) {
  let best = 0;
  for (let j = 1; j < k; ++j) if (z[row * k + j] > z[row * k + best]) best = j;
  return best;
}

// Op types of the nodes in ORT's optimized graph, read from the serialized bytes: a
// NodeProto's op_type is field 4 (tag byte 0x22), then a length byte and the name.
function opTypes(path) {
  const text = readFileSync(path).toString('latin1');
  const counts = {};
  for (const m of text.matchAll(/\x22([\x02-\x3f])([A-Z][A-Za-z0-9]+)/g))
    // (all-caps strings are attribute values such as auto_pad NOTSET, whose field is also 4)
    if (m[1].charCodeAt(0) === m[2].length && /[a-z]/.test(m[2])) counts[m[2]] = (counts[m[2]] || 0) + 1;
  return counts;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const check = JSON.parse(readFileSync(o.check, 'utf8'));
  const inputs = blob(check.inputs, 'inputs');
  const n = inputs.shape[0];
  if (n < o.minImages) throw new Error(`the check file has ${n} images; at least ${o.minImages} are required`);
  const report = { label: o.label, model: check.model, data: check.data, n };
  const failures = [];

  if (o.float) {
    const ref = blob(check.logits?.float, 'logits.float');
    const got = await run(o.float, inputs);
    if (got.length !== ref.data.length) throw new Error(`float export returns ${got.length} logits, expected ${ref.data.length}`);
    let maxDiff = 0, maxAbs = 0;
    for (let i = 0; i < got.length; ++i) {
      maxDiff = Math.max(maxDiff, Math.abs(got[i] - ref.data[i]));
      maxAbs = Math.max(maxAbs, Math.abs(ref.data[i]));
    }
    const k = ref.shape[ref.shape.length - 1];
    let agree = 0;
    for (let r = 0; r < n; ++r) agree += argmax(got, r, k) === argmax(ref.data, r, k);
    const rel = maxAbs > 0 ? maxDiff / maxAbs : maxDiff;
    report.float = { max_abs_diff: maxDiff, max_abs_logit: maxAbs, max_rel_diff: rel, top1_agreement: agree / n };
    if (!(rel <= o.maxRel)) failures.push(`float export: max |diff| / max |logit| = ${rel.toExponential(3)} > ${o.maxRel}`);
  }

  if (o.int8) {
    const ref = blob(check.logits?.[o.against], `logits.${o.against} (export a quantized model)`);
    const dir = mkdtempSync(join(tmpdir(), 'slingshot-ort-'));
    let got, ops;
    try {
      const optimized = join(dir, 'optimized.onnx');
      got = await run(o.int8, inputs, optimized);
      ops = opTypes(optimized);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    if (got.length !== ref.data.length) throw new Error(`int8 export returns ${got.length} logits, expected ${ref.data.length}`);
    const k = ref.shape[ref.shape.length - 1];
    const lsb = check.output_lsb;
    let agree = 0, exact = 0, maxDiff = 0;
    for (let r = 0; r < n; ++r) {
      agree += argmax(got, r, k) === argmax(ref.data, r, k);
      let same = true;
      for (let j = 0; j < k; ++j) {
        const d = Math.abs(got[r * k + j] - ref.data[r * k + j]);
        maxDiff = Math.max(maxDiff, d);
        same = same && d === 0;
      }
      exact += same;
    }
    let vsFakeQuant = null;
    // Our fakequant engine computes ONNX's QDQ semantics in float: how far ORT's int8
    // kernels are from it says which differences are requantization rounding.
    if (check.logits?.fakequant) {
      const fq = blob(check.logits.fakequant, 'logits.fakequant').data;
      let a = 0, e = 0;
      for (let r = 0; r < n; ++r) {
        a += argmax(got, r, k) === argmax(fq, r, k);
        let same = true;
        for (let j = 0; j < k; ++j) same = same && got[r * k + j] === fq[r * k + j];
        e += same;
      }
      vsFakeQuant = { top1_agreement: a / n, exact_logits: e / n };
    }
    report.int8 = { against: o.against, top1_agreement: agree / n, exact_logits: exact / n, max_abs_diff: maxDiff,
                    max_abs_diff_lsb: lsb ? Math.round(maxDiff / lsb * 1000) / 1000 : null, vs_fakequant: vsFakeQuant,
                    ort_ops: ops };
    if (!(agree / n >= o.minAgreement))
      failures.push(`int8 export: top-1 agreement with ${o.against} ${(agree / n).toFixed(4)} < ${o.minAgreement}`);
    // Every conv and dense layer must run on an int8 kernel, none in float.
    const floatOps = ['Conv', 'FusedConv', 'Gemm', 'FusedGemm', 'MatMul', 'FusedMatMul'].filter((t) => ops[t]);
    const int8Ops = (ops.QLinearConv || 0) + (ops.QGemm || 0) + (ops.QLinearMatMul || 0);
    if (floatOps.length || !int8Ops)
      failures.push(`int8 export: onnxruntime runs ${floatOps.join(', ') || 'no op'} in float and ${int8Ops} ` +
                    'conv/dense layers on int8 kernels; every one should be int8');
  }

  console.log(JSON.stringify(report));
  if (failures.length) {
    for (const f of failures) console.error(`FAIL ${o.label ? o.label + ': ' : ''}${f}`);
    process.exit(1);
  }
}

main().catch((e) => {
  console.error(`check_onnx: ${e.message}`);
  process.exit(1);
});
