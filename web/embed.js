// The embeddable widget (embed.html, docs/embed.md): one shipped model, one evaluation
// sample and one attack, set by the query string. The keys are the playground's URL-hash
// vocabulary (app.js, updateUrl), so a playground hash pasted after `embed.html?` works
// as it is, and the "open in the playground" link is this state as a hash:
//   model, input, label, attack, engine, grad, defense (repeatable), dgrad, run=1,
//   p.NAME (an attack setting; a bare NAME that is no other key is shorthand for it),
// plus theme=light|dark. Every parameter is checked against zoo.json and the core's
// schemas before anything runs, and a mistake is shown in the widget, naming it.
import { createSlingshot } from './slingshot.js';
import { classLabel, drawHeat, drawImage, el, evalSamples, fetchBytes, wavBlob } from './shared.js';

const $ = (id) => document.getElementById(id);
const KEYS = new Set(['model', 'input', 'label', 'attack', 'engine', 'grad', 'defense', 'dgrad', 'run', 'theme']);

class ParamError extends Error {}

// {model, input, ..., defenses: [spec], settings: Map(name -> text)} from a query string.
function readQuery(search) {
  const q = new URLSearchParams(search);
  const cfg = { defenses: q.getAll('defense'), settings: new Map() };
  for (const [key, value] of q) {
    if (key === 'defense') continue;
    if (KEYS.has(key)) cfg[key] = value.trim();
    else cfg.settings.set(key.startsWith('p.') ? key.slice(2) : key, value.trim());
  }
  return cfg;
}

// The theme is swapped by turning dark.css on or off, so both themes share one palette.
function applyTheme(theme) {
  if (theme === undefined) return;
  if (theme !== 'light' && theme !== 'dark') throw new ParamError(`theme must be light or dark, not '${theme}'`);
  $('dark-css').media = theme === 'dark' ? 'all' : 'not all';
}

// A number as the core reads it: 0.03, 8/255, 1e-3 or inf; NaN for anything else.
function parseAmount(text) {
  if (/^[+]?inf(inity)?$/i.test(text)) return Infinity;
  const parts = text.split('/');
  const number = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
  if (parts.length > 2 || !parts.every((p) => number.test(p))) return NaN;
  return parts.length === 2 ? Number(parts[0]) / Number(parts[1]) : Number(parts[0]);
}

// Checks one setting of an attack or a defense (owner: its listing, with the schema) and
// returns {text, value}: text is what the core receives (fractions stay exact), value
// the number, boolean or choice it stands for.
function checkSetting(owner, name, text) {
  const spec = owner.params.find((p) => p.name === name);
  if (!spec) throw new ParamError(`${owner.name} has no setting '${name}' (it takes: ${owner.params.map((p) => p.name).join(', ')})`);
  const bad = (why) => new ParamError(`${owner.name}: ${name}=${text || "''"} ${why}`);
  if (spec.type === 'boolean') {
    if (!['true', 'false', '1', '0'].includes(text)) throw bad('is not true or false');
    return { spec, text, value: text === 'true' || text === '1' };
  }
  if (spec.type === 'choice') {
    if (!spec.choices.includes(text)) throw bad(`is not one of ${spec.choices.join(', ')}`);
    return { spec, text, value: text };
  }
  const value = parseAmount(text);
  if (Number.isNaN(value)) throw bad(spec.type === 'integer' ? 'is not a whole number' : 'is not a number (write e.g. 0.03, 8/255 or inf)');
  if (value === Infinity && !spec.allowInfinity) throw bad('must be finite');
  if (spec.type === 'integer' && !Number.isInteger(value)) throw bad('is not a whole number');
  const below = spec.minExclusive ? value <= spec.min : value < spec.min;
  const above = Number.isFinite(spec.max) && (spec.maxExclusive ? value >= spec.max : value > spec.max);
  if (below) throw bad(`must be ${spec.minExclusive ? 'above' : 'at least'} ${spec.min}`);
  if (above) throw bad(`must be ${spec.maxExclusive ? 'below' : 'at most'} ${spec.max}`);
  return { spec, text, value };
}

function oneOf(kind, name, names) {
  return new ParamError(`Unknown ${kind} '${name}'. Choose one of: ${names.join(', ')}.`);
}

// Everything the query names, checked against zoo.json and the core's listings (the
// model-dependent checks, engine and label, wait for the model).
function resolve(cfg, sling, zoo) {
  const models = zoo.families.flatMap((family) => family.models.map((entry) => ({ family, entry })));
  const modelId = cfg.model ?? models[0].entry.id;
  const found = models.find((m) => m.entry.id === modelId);
  if (!found) throw oneOf('model', modelId, models.map((m) => m.entry.id));
  const attacks = sling.attacks.filter((a) => !a.trainsOnDataset);
  const attack = attacks.find((a) => a.name === (cfg.attack ?? 'pgd'));
  if (!attack) throw oneOf('attack', cfg.attack, attacks.map((a) => a.name));
  const plain = sling.gradientSources.filter((g) => !g.defended).map((g) => g.name);
  const defended = sling.gradientSources.filter((g) => g.defended).map((g) => g.name);
  if (cfg.grad !== undefined && !plain.includes(cfg.grad)) throw oneOf('gradient source', cfg.grad, plain);
  if (cfg.dgrad !== undefined && !defended.includes(cfg.dgrad)) throw oneOf('defended gradient source', cfg.dgrad, defended);
  if (cfg.run !== undefined && cfg.run !== '0' && cfg.run !== '1') throw new ParamError(`run must be 0 or 1, not '${cfg.run}'`);
  const settings = new Map([...cfg.settings].map(([name, text]) => [name, checkSetting(attack, name, text)]));
  const defenses = cfg.defenses.map((spec) => {
    const [name, rest = ''] = spec.split(':');
    const defense = sling.defenses.find((d) => d.name === name);
    if (!defense) throw oneOf('defense', name, sling.defenses.map((d) => d.name));
    const values = rest.split(',').filter(Boolean).map((kv) => {
      const [k, v = ''] = kv.split('=');
      return [k, checkSetting(defense, k, v)];
    });
    return { name, spec, values };
  });
  return { ...found, attack, settings, defenses, grad: cfg.grad, dgrad: cfg.dgrad, run: cfg.run === '1' };
}

// A setting as the playground's form writes it in its hash: input-unit values of image
// models in 1/255 (an L0 eps counts values instead), everything else as it is.
function playgroundValue({ spec, text, value }, isImage, l0) {
  if (spec.unit !== 'input' || !isImage || (spec.name === 'eps' && l0)) return text;
  return value === Infinity ? 'inf' : `${+(value * 255).toFixed(6)}/255`;
}

// The widget's state as the playground's URL hash (app.js, restoreFromUrl reads it).
function playgroundHash(plan, withRun) {
  const isImage = plan.model.inputKind !== 'keywords';
  const l0 = plan.settings.get('norm')?.value === '0';
  const q = new URLSearchParams();
  q.set('model', plan.entry.id);
  q.set('input', plan.sample.file);
  q.set('label', String(plan.label));
  q.set('attack', plan.attack.name);
  q.set('engine', plan.engine);
  if (plan.grad && !plan.attack.blackBox) q.set('grad', plan.grad);
  for (const [name, s] of plan.settings) q.set(`p.${name}`, playgroundValue(s, isImage, l0));
  for (const d of plan.defenses) {
    const values = d.values.map(([k, s]) => `${k}=${playgroundValue(s, isImage, false)}`);
    q.append('defense', values.length ? `${d.name}:${values.join(',')}` : d.name);
  }
  if (plan.defenses.length && plan.dgrad) q.set('dgrad', plan.dgrad);
  if (withRun) q.set('run', '1');
  return q.toString();
}

// A disabled button loses the focus, so a keyboard user's focus moves with the run:
// Run -> Cancel while it runs, back to Run when it ends. Only within a widget the reader
// is using: a frame must not take the focus from its host page.
let focusFollowsRun = false;
function setState(state) {
  const focused = document.activeElement;
  document.body.dataset.state = state;
  $('run').disabled = state !== 'idle';
  $('cancel').disabled = state !== 'running';
  if (state === 'running') {
    focusFollowsRun = focused === $('run') && document.hasFocus();
    if (focusFollowsRun) $('cancel').focus();
  } else if (focusFollowsRun) {
    focusFollowsRun = false;
    if (focused === $('cancel') || focused === document.body) $('run').focus();
  }
}

function showError(e) {
  $('error').textContent = e instanceof ParamError ? `Cannot show this demo: ${e.message}` : e.message || String(e);
  $('status').hidden = true;
  setState('error');
}

// The host page (slingshot-demo.js) sizes its iframe to the widget; only a height is
// sent, so any target origin is fine.
function reportHeight() {
  if (window.parent === window) return;
  const post = () => window.parent.postMessage({ type: 'slingshot-demo:size', height: Math.ceil($('widget').getBoundingClientRect().height) }, '*');
  new ResizeObserver(post).observe($('widget'));
}

// ---------- the demo ----------

let sling;
let plan;
let controller = null;
const audioUrls = [];   // object URLs of the <audio> sources: the clean input's first

const className = (i) => classLabel(plan.family.classNames, i);
const isImage = () => plan.model.inputKind !== 'keywords';

// The engines shown: the attacked one and, for a quantized model, its float master.
function predictionEngines() {
  return plan.model.quantized && plan.engine !== 'float' ? [plan.engine, 'float'] : [plan.engine];
}

function predictionCell(p) {
  if (!p) return el('td', { className: 'pending', textContent: '—' });
  return el('td', {}, el('strong', { textContent: className(p.top1) }),
    el('span', { className: 'muted', textContent: ` ${(100 * p.probabilities[p.top1]).toFixed(0)}%` }));
}

async function showPredictions(adversarial) {
  const rows = [];
  for (const engine of predictionEngines()) {
    const clean = await sling.predict(plan.model.id, plan.input, engine);
    const adv = adversarial ? await sling.predict(plan.model.id, adversarial, engine) : null;
    const tr = el('tr', {}, el('th', { scope: 'row', textContent: engine }), predictionCell(clean), predictionCell(adv));
    if (engine === plan.engine) tr.classList.add('attacked');
    if (adv) tr.classList.add(adv.top1 !== clean.top1 ? 'changed' : 'same');
    Object.assign(tr.dataset, { engine, clean: String(clean.top1), adv: adv ? String(adv.top1) : '' });
    rows.push(tr);
  }
  $('predictions').tBodies[0].replaceChildren(...rows);
}

function setAudio(audio, samples) {
  const url = URL.createObjectURL(wavBlob(samples));
  audioUrls.push(url);
  audio.src = url;
}

function showInput() {
  if (isImage()) {
    drawImage($('view-clean'), plan.input, plan.model.inputShape);
  } else {
    setAudio($('audio-clean'), plan.input);
  }
}

async function showResult(result) {
  const attacked = plan.defenses.length ? `${plan.engine} + ${plan.defenses.map((d) => d.name).join(' + ')}` : plan.engine;
  $('verdict').hidden = false;
  $('verdict').className = `verdict ${result.success ? 'bad' : 'good'}`;
  $('verdict').textContent = !result.attacked
    ? `Not attacked: the clean input is already misclassified (${className(result.cleanPrediction)}).`
    : result.success
      ? `${plan.attack.name} fooled ${attacked}: ${className(result.cleanPrediction)} → ${className(result.adversarialPrediction)}`
      : `${plan.attack.name} did not fool ${attacked}: still ${className(result.adversarialPrediction)}`;
  if (isImage()) {
    drawImage($('view-adv'), result.adversarial, plan.model.inputShape);
    const max = drawHeat($('view-pert'), result.perturbation, plan.model.inputShape);
    $('pert-caption').textContent = max > 0 ? `perturbation ×${(1 / max).toFixed(1)}` : 'no perturbation';
  } else {
    for (const u of audioUrls.splice(1)) URL.revokeObjectURL(u);   // keep the clean input's
    setAudio($('audio-adv'), result.adversarial);
  }
  await showPredictions(result.adversarial);
  $('open').href = `index.html#${playgroundHash(plan, true)}`;
}

async function run() {
  if (document.body.dataset.state !== 'idle') return;
  $('error').textContent = '';
  controller = new AbortController();
  setState('running');
  $('progress').value = 0;
  $('progress-text').textContent = 'starting…';
  const request = {
    modelId: plan.model.id, input: plan.input, label: plan.label, attack: plan.attack.name, engine: plan.engine,
    params: Object.fromEntries([...plan.settings].map(([name, s]) => [name, s.spec.type === 'number' ? s.text : s.value])),
  };
  // As in the playground: with defenses, grad is the defended target's gradient over
  // the model's own (innerGrad); omitted ones take the core's defaults.
  if (plan.defenses.length) {
    request.defenses = plan.defenses.map((d) => d.spec);
    if (plan.dgrad) request.grad = plan.dgrad;
    if (plan.grad) request.innerGrad = plan.grad;
  } else if (plan.grad) {
    request.grad = plan.grad;
  }
  try {
    const result = await sling.runAttack(request, {
      signal: controller.signal,
      onProgress: (p) => {
        $('progress').value = Math.min(1, p.fraction);
        $('progress-text').textContent = `${Math.round(100 * p.fraction)}% · ${p.queries.toLocaleString('en-US')} queries`;
      },
    });
    $('progress').value = 1;
    const linf = isImage() ? `${(255 * result.distortion.linf).toFixed(2)}/255` : result.distortion.linf.toPrecision(3);
    $('progress-text').textContent = `done in ${result.seconds.toFixed(2)} s · L∞ ${linf}`;
    await showResult(result);
  } catch (e) {
    if (e.name === 'AbortError') {
      $('progress-text').textContent = 'cancelled';
    } else {
      $('error').textContent = e.message;
      $('progress-text').textContent = '';
    }
  } finally {
    controller = null;
    setState('idle');
  }
}

function describe() {
  const settings = [...plan.settings].map(([name, s]) => `${name}=${s.text}`);
  const defenses = plan.defenses.length ? ` · defenses ${plan.defenses.map((d) => d.spec).join(', ')}` : '';
  $('title').textContent = `${plan.attack.name} on ${plan.entry.id}`;
  $('status').textContent = `${[plan.engine, ...settings].join(' · ')}${defenses} · ${plan.sample.file}, label ${className(plan.label)}`;
  document.title = `Slingshot demo: ${plan.attack.name} on ${plan.entry.id}`;
}

async function main() {
  reportHeight();
  const cfg = readQuery(location.search);
  applyTheme(cfg.theme);
  let zoo;
  try {
    [sling, zoo] = await Promise.all([createSlingshot(), fetch('zoo.json').then((r) => r.json())]);
  } catch (e) {
    throw new Error(`The WebAssembly core failed to load: ${e.message || e}. This widget needs a browser with WebAssembly SIMD.`);
  }
  plan = resolve(cfg, sling, zoo);

  const samples = await evalSamples(plan.family);
  plan.sample = cfg.input === undefined ? samples[0] : samples.find((s) => s.file === cfg.input);
  if (!plan.sample) throw new ParamError(`no evaluation sample of ${plan.family.id} is called '${cfg.input}' (e.g. ${samples[0].file})`);
  const [model, bytes] = await Promise.all([fetchBytes(`../${plan.entry.file}`).then((b) => sling.loadModel(b, plan.entry.id)),
    fetchBytes(`../${plan.family.eval}${plan.sample.file}`)]);
  plan.model = model;
  const engines = sling.engines.filter((e) => model.quantized || (!e.integer && e.name !== 'fakequant')).map((e) => e.name);
  plan.engine = cfg.engine ?? (model.quantized ? 'int8-ref' : 'float');
  if (!engines.includes(plan.engine)) throw oneOf(`engine for ${plan.entry.id}`, plan.engine, engines);
  plan.label = cfg.label === undefined ? plan.sample.label : Number(cfg.label);
  if (!Number.isInteger(plan.label) || plan.label < 0 || plan.label >= model.classes || cfg.label === '')
    throw new ParamError(`label must be a class index from 0 to ${model.classes - 1}, not '${cfg.label}'`);
  plan.input = isImage() ? await sling.decodeImage(bytes, ...model.inputShape) : await sling.decodeWav(bytes);

  document.body.classList.toggle('audio', !isImage());
  describe();
  $('open').href = `index.html#${playgroundHash(plan, false)}`;
  // The rows are plain networks; the verdict is the defended target's.
  if (plan.defenses.length) $('predictions').tHead.rows[0].cells[0].textContent = 'engine, undefended';
  showInput();
  await showPredictions(null);
  $('demo').hidden = false;
  $('run').addEventListener('click', run);
  $('cancel').addEventListener('click', () => controller?.abort());
  setState('idle');
  if (plan.run) await run();
}

setState('loading');
main().catch(showError);
