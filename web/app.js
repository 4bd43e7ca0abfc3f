// The Slingshot playground: pick a model and an input, attack it, compare engines and
// bitwidths. Every number shown comes from the C++ core through web/slingshot.js (the
// worker API, docs/js-api.md) or from the model's .md card; forms are built from the
// core's schemas, so a new attack or defense in C++ appears here with no JS change.
import { createSlingshot } from './slingshot.js';
import { classLabel, drawHeat, drawImage, el, evalSamples, fetchBytes, paint, signedColour, wavBlob } from './shared.js';

const $ = (id) => document.getElementById(id);
const fmt = (n) => Number(n).toLocaleString('en-US');
const shape = (s) => `[${s.join(', ')}]`;

let sling;
let zoo;
const state = {
  family: null,        // zoo family of the current model (null for a user file)
  model: null,         // ModelInfo of the attacked model
  modelKey: '',        // zoo id or 'file:NAME'
  input: null,         // Float32Array
  inputKey: '',        // eval file name or 'upload:NAME'
  result: null,
  controller: null,
  trace: [],
};
const loaded = new Map();   // zoo id -> Promise<ModelInfo>

const isImage = () => state.model?.inputKind !== 'keywords';
// The model's output classes: names the user gave a file of theirs, else its family's.
const classNames = () => state.userClassNames ?? state.family?.classNames ??
  Array.from({ length: state.model?.classes ?? 0 }, (_, i) => String(i));
// The gallery's labels: always the classes of the data it shows.
const dataClassNames = () => state.family?.classNames ?? classNames();
const gridSteps = () => (isImage() ? 255 : 32768);

function setStatus(text, kind) {
  $('status').textContent = text;
  $('status').className = `status ${kind}`;
}

// ---------- models ----------

function loadZooModel(id) {
  if (!loaded.has(id)) {
    const entry = zoo.families.flatMap((f) => f.models).find((m) => m.id === id);
    loaded.set(id, fetchBytes(`../${entry.file}`).then((b) => sling.loadModel(b, id)));
  }
  return loaded.get(id);
}

// Reads the tables of a model card (.md): {"Accuracy per engine": [[engine, top-1], ...], ...}.
function parseCard(md) {
  const tables = {};
  let heading = '';
  for (const line of md.split('\n')) {
    const h = line.match(/^##\s+(.*)/);
    if (h) heading = h[1].trim();
    else if (line.startsWith('|') && !/^\|[-| ]+\|$/.test(line.trim())) {
      const cells = line.trim().replace(/^\||\|$/g, '').split('|').map((c) => c.trim());
      (tables[heading] ??= []).push(cells);
    }
  }
  const desc = md.split('\n').find((l, i) => i > 0 && l.trim() && !l.startsWith('#')) ?? '';
  return { tables, desc };
}

// A compact table of figures from the model card: column headers, then rows of values
// (the first cell of each a row header when `rowHeaders`).
function cardTable(caption, head, rows, rowHeaders) {
  const t = el('table', { className: 'compact' }, el('caption', { textContent: caption }));
  t.append(el('thead', {}, el('tr', {}, ...head.map((c) => el('th', { textContent: c, scope: 'col' })))),
    el('tbody', {}, ...rows.map((r) => el('tr', {}, ...r.map((v, i) => (rowHeaders && i === 0
      ? el('th', { textContent: v, scope: 'row' }) : el('td', { textContent: v, className: 'num' })))))));
  return el('div', { className: 'table-wrap' }, t);
}

function renderModel(info, card) {
  const facts = [
    ['input', info.inputKind === 'keywords' ? `${shape(info.inputShape)} samples → MFCC ${shape(info.modelInputShape)}` : shape(info.inputShape)],
    ['classes', info.classes],
    ['engine', info.engineLabel],
    ['weights', info.quantized ? `${info.weightScheme}, ${info.activationBits}-bit activations` : 'float32'],
    ['parameters', fmt(info.params)],
    ['MACs / inference', fmt(info.macs)],
    ['flash (weights, biases, scales)', `${fmt(info.footprint.totalBytes)} B`],
  ];
  const ram = card?.tables.Cost?.find((r) => /activation RAM/.test(r[0]));
  if (ram) facts.push(['activation RAM, int8', ram[1]]);
  summary($('model-summary'), facts);
  $('model-desc').textContent = card?.desc ?? (info.source === 'tflite' ? tfliteDescription(info)
    : `${info.name}: a model file read locally.`);
  const acc = card?.tables['Accuracy per engine'];
  $('model-accuracy').replaceChildren(...(acc && acc.length > 1
    ? [cardTable('Clean top-1 accuracy per engine (from the model card)', acc.slice(1).map((r) => r[0]),
      [acc.slice(1).map((r) => r[1])], false)]
    : []));
  // The card's Cortex-M section (scripts/footprint_table.sh): a header row naming each core,
  // then one row per figure (flash, RAM, instructions, latency).
  const mcu = card?.tables['On a Cortex-M'];
  $('model-mcu').replaceChildren(...(mcu && mcu.length > 1
    ? [cardTable('Deployed on an emulated Cortex-M (QEMU; latency at one instruction per cycle, from the model card)',
      mcu[0], mcu.slice(1), true)]
    : []));
  const maxMacs = Math.max(1, ...info.layers.map((l) => l.macs));
  const table = $('model-layers');
  table.innerHTML = '<thead><tr><th>layer</th><th>type</th><th>output</th><th class="num">params</th>' +
    '<th class="num">MACs</th><th class="bar-col">share of compute</th></tr></thead>';
  const body = el('tbody');
  for (const l of info.layers) {
    const bar = l.macs > 0 ? el('div', { className: 'bar' }) : '';
    if (bar) bar.style.width = `${((100 * l.macs) / maxMacs).toFixed(1)}%`;
    body.append(el('tr', {},
      el('td', { textContent: l.name }), el('td', {}, el('span', { className: 'type', textContent: l.type })),
      el('td', { textContent: shape(l.outputShape) }), el('td', { className: 'num', textContent: fmt(l.params) }),
      el('td', { className: 'num', textContent: fmt(l.macs) }), el('td', { className: 'bar-col' }, bar)));
  }
  table.append(body);
}

// What an imported .tflite file is and how our [0, 1] pixels reach its input.
function tfliteDescription(info) {
  const m = info.inputMapping;
  const input = m?.kind === 'pixels'
    ? `Pixels in [0, 1] reach the file's input as ${m.pixel_range[0]}..${m.pixel_range[1]}` +
      (info.quantized ? ' (pixel k is input code k − 128, as on the device).' : '.')
    : `Its input keeps the file's own domain (${m?.reason ?? 'no mapping'}).`;
  const shadow = info.quantized
    ? ' Gradients come from its float shadow (dequantized weights with fake-quant at the file\'s scales); attacks are judged on the integer engines.'
    : '';
  return `${info.name}: a TFLite model imported in this page. ${input}${shadow}`;
}

function summary(container, facts) {
  container.replaceChildren(...facts.map(([k, v]) =>
    el('div', {}, el('span', { className: 'k', textContent: k }), el('span', { className: 'v', textContent: v }))));
}

async function selectZooModel(id) {
  const family = zoo.families.find((f) => f.models.some((m) => m.id === id));
  if (!family) throw new Error(`no shipped model is called '${id}'`);
  $('model').value = id;
  const [info, md] = await Promise.all([loadZooModel(id),
    fetch(`../${family.models.find((m) => m.id === id).file.replace(/\.safetensors$/, '.md')}`).then((r) => (r.ok ? r.text() : ''))]);
  const familyChanged = state.family !== family;
  Object.assign(state, { family, model: info, modelKey: id, userClassNames: null });
  $('class-names-row').hidden = true;
  renderModel(info, md ? parseCard(md) : null);
  await afterModelChange(familyChanged);
}

async function selectModelFile(file) {
  $('model-error').textContent = '';
  try {
    const info = await sling.loadModel(new Uint8Array(await file.arrayBuffer()), file.name);
    const family = zoo.families.find((f) => f.classNames.length === info.classes &&
      (f.id === 'keywords') === (info.inputKind === 'keywords')) ?? null;
    const familyChanged = state.family !== family || state.model?.inputKind !== info.inputKind;
    Object.assign(state, { family, model: info, modelKey: `file:${file.name}`, userClassNames: null });
    $('class-names-row').hidden = !info.classes;
    $('class-names').value = '';
    $('class-names-error').textContent = '';
    const opt = el('option', { value: state.modelKey, textContent: `your file: ${file.name}` });
    $('model').querySelector('option[data-user]')?.remove();
    opt.dataset.user = '1';
    $('model').append(opt);
    $('model').value = state.modelKey;
    renderModel(info, null);
    await afterModelChange(familyChanged || !state.family);
  } catch (e) {
    $('model-error').textContent = `${file.name}: ${e.message}`;
  }
}

const targetOptions = () => [['', 'none (untargeted)'], ...classNames().map((n, i) => [String(i), `class ${n}`])];

// Class names typed or read from a labels file: one per line, or comma-separated on one
// line. Applied only when there is one per output class.
async function applyClassNames(text, source) {
  const lines = text.split(/\r?\n/).map((t) => t.trim()).filter(Boolean);
  const names = (lines.length === 1 ? lines[0].split(',') : lines).map((t) => t.trim()).filter(Boolean);
  const classes = state.model.classes;
  if (!names.length) {
    state.userClassNames = null;
    $('class-names-error').textContent = '';
  } else if (names.length !== classes) {
    $('class-names-error').textContent =
      `${source}: ${names.length} class name${names.length === 1 ? '' : 's'} for a model with ${classes} classes`;
    return;
  } else {
    state.userClassNames = names;
    $('class-names-error').textContent = '';
  }
  // Rename in place: the chosen label, target and attack settings stay as they are.
  const label = $('label').value;
  fillLabelSelect();
  $('label').value = label;
  const target = document.getElementById('p-target');
  if (target) {
    const chosen = target.value;
    fillSelect(target, targetOptions());
    target.value = chosen;
  }
  if (!state.result) return;
  // The same result under new names: re-rendered without marking it stale (the URL does
  // not hold class names, so updateUrl has nothing to record).
  restoring = true;
  try {
    await showResult(state.resultRequest, state.result);
  } finally {
    restoring = false;
  }
}

async function readClassNamesFile(file) {
  if (file.size > 1 << 20) {
    $('class-names-error').textContent = `${file.name}: ${file.size} bytes is too large for a labels file`;
    return;
  }
  const text = await file.text();
  $('class-names').value = text.split(/\r?\n/).map((t) => t.trim()).filter(Boolean).join(', ');
  await applyClassNames(text, file.name);
}

// A shown result no longer matches the form: hidden when the model or input changes,
// marked when only the attack settings do.
function invalidateResult(hide) {
  if (!state.result) return;
  if (hide) { $('results').hidden = true; state.result = null; return; }
  $('results').classList.add('stale');
}

async function afterModelChange(inputsChanged) {
  invalidateResult(true);
  document.body.classList.toggle('audio', !isImage());
  fillEngines();
  fillLabelSelect();
  buildAttackParams();
  fillCurveLines();
  clearCurve();
  for (const item of $('defense-list').children) item.refresh?.();
  if (inputsChanged) {
    await buildGallery();
  } else if (state.input && state.input.length !== state.model.inputShape.reduce((a, b) => a * b, 1)) {
    state.input = null;
  }
  if (!state.input) await pickFirstSample();
  updateUrl();
}

// ---------- inputs ----------

let evalLabels = [];   // [{file, label}]

async function buildGallery() {
  const gallery = $('gallery');
  gallery.replaceChildren();
  evalLabels = [];
  state.input = null;
  if (!state.family) return;
  evalLabels = await evalSamples(state.family);
  const names = dataClassNames();
  for (const { file, label } of evalLabels.slice(0, isImage() ? 60 : 36)) {
    const b = el('button', { type: 'button', className: 'sample', title: `${file} (label ${names[label]})` });
    b.setAttribute('role', 'option');
    b.dataset.file = file;
    if (isImage()) b.append(el('img', { src: `../${state.family.eval}${file}`, alt: `sample ${file}, label ${names[label]}`, loading: 'lazy' }));
    b.append(el('span', { className: 'sample-label', textContent: names[label] }));
    b.addEventListener('click', () => pickSample(file).catch(showInputError));
    gallery.append(b);
  }
}

async function decode(bytes, name) {
  if (isImage()) return sling.decodeImage(bytes, ...state.model.inputShape);
  if (!/\.wav$/i.test(name)) throw new Error('this keyword model takes 16 kHz mono WAV files');
  return sling.decodeWav(bytes);
}

async function pickSample(file) {
  const entry = evalLabels.find((e) => e.file === file);
  if (!entry) throw new Error(`no evaluation sample is called '${file}'`);
  const x = await decode(await fetchBytes(`../${state.family.eval}${file}`), file);
  setInput(x, file, entry.label, file);
}

async function pickFirstSample() {
  if (evalLabels.length) await pickSample(evalLabels[0].file);
}

function setInput(x, key, label, name) {
  if (key !== state.inputKey) invalidateResult(true);
  state.input = x;
  state.inputKey = key;
  $('input-error').textContent = '';
  if (label !== null) $('label').value = String(label);
  $('input-name').textContent = name;
  for (const b of $('gallery').children) b.setAttribute('aria-selected', String(b.dataset.file === key));
  if (!isImage()) {
    if ($('audio-input').src) URL.revokeObjectURL($('audio-input').src);
    $('audio-input').src = URL.createObjectURL(wavBlob(x));
  }
  $('run').disabled = false;
  updateUrl();
}

function showInputError(e) { $('input-error').textContent = e.message; }

async function uploadInput(file) {
  try {
    const x = await decode(new Uint8Array(await file.arrayBuffer()), file.name);
    let label = null;
    if (state.model.classes) {
      const p = await sling.predict(state.model.id, x);
      label = p.top1;   // a guess the user can correct: the model's own clean answer
    }
    setInput(x, `upload:${file.name}`, label, `${file.name} (label preset to the model's prediction; correct it if needed)`);
  } catch (e) {
    showInputError(new Error(`${file.name}: ${e.message}`));
  }
}

function fillLabelSelect() {
  const select = $('label');
  const old = select.value;
  select.replaceChildren(...classNames().map((n, i) => el('option', { value: String(i), textContent: n })));
  if (old && Number(old) < select.options.length) select.value = old;
}

// ---------- attack and defense forms, from the core's schemas ----------

function fillSelect(select, items, keep = true) {
  const old = select.value;
  select.replaceChildren(...items.map(([value, text, title]) => el('option', { value, textContent: text, title: title ?? '' })));
  if (keep && items.some(([v]) => v === old)) select.value = old;
}

function fillEngines() {
  const engines = sling.engines.filter((e) => state.model.quantized || !e.integer && e.name !== 'fakequant');
  fillSelect($('engine'), engines.map((e) => [e.name, e.name, e.doc]));
  if (!engines.some((e) => e.name === $('engine').value) || !$('engine').dataset.touched)
    $('engine').value = state.model.quantized ? 'int8-ref' : 'float';
}

const inputUnit = (spec) => spec.unit === 'input' && isImage();

// One form field for one ParamSpec. Returns {spec, row, get(all), raw(), set(value)}.
// Values in input units are shown in 1/255 for image models, with a slider for eps;
// opts.plain shows them as they are (an L2 or L1 radius is not a pixel value), and an L0
// eps (opts.count: the number of input values) counts changed values instead.
function paramField(spec, idPrefix, opts = {}) {
  const id = `${idPrefix}-${spec.name}`;
  const label = el('label', { htmlFor: id, textContent: spec.name.replaceAll('_', ' ') });
  const row = el('div', { className: 'param', title: spec.doc });
  let input;
  let slider = null;
  const scale = !opts.count && !opts.plain && inputUnit(spec) ? 255 : 1;
  if (spec.type === 'boolean') {
    input = el('input', { type: 'checkbox', id, checked: !!spec.default });
    row.classList.add('check');
    row.append(input, label);
  } else if (spec.type === 'choice' || spec.name === 'target') {
    input = el('select', { id });
    const options = spec.type === 'choice'
      ? spec.choices.map((c) => [c, c])
      : targetOptions();
    fillSelect(input, options, false);
    input.value = spec.type === 'choice' ? String(spec.default ?? spec.choices[0]) : '';
    row.append(label, input);
  } else {
    input = el('input', { id, type: spec.allowInfinity ? 'text' : 'number', inputMode: 'decimal' });
    if (!spec.allowInfinity) {
      if (Number.isFinite(spec.min)) input.min = spec.min * scale;
      if (Number.isFinite(spec.max)) input.max = spec.max * scale;
      input.step = spec.type === 'integer' ? 1 : 'any';
    }
    input.placeholder = spec.default === null ? 'auto' : '';
    const shown = spec.default === null ? '' : spec.default === Infinity ? 'inf'
      : opts.count ? String(Math.max(1, Math.round(spec.default))) : String(+(spec.default * scale).toFixed(6));
    input.value = shown;
    input.dataset.default = shown;
    row.append(label, input);
    // eps gets a slider: 0 to 32/255 in half steps for Linf, else 0 to 4x the default.
    const sliderRange = spec.name !== 'eps' || !Number(shown) ? null
      : scale !== 1 ? { max: 32, step: 0.5, label: 'eps in 1/255 steps' }
        : { max: 4 * Number(shown), step: opts.count ? 1 : Number(shown) / 20, label: 'eps' };
    if (sliderRange) {
      slider = el('input', { type: 'range', min: 0, max: sliderRange.max, step: sliderRange.step, value: Number(shown) || 0 });
      slider.setAttribute('aria-label', sliderRange.label);
      slider.addEventListener('input', () => { input.value = slider.value; input.dispatchEvent(new Event('change', { bubbles: true })); });
      input.addEventListener('input', () => { if (Number.isFinite(Number(input.value))) slider.value = input.value; });
    }
    if (scale !== 1) {
      row.append(el('span', { className: 'unit', textContent: '/255' }));
    } else if (opts.count) {
      row.append(el('span', { className: 'unit', textContent: `of ${fmt(opts.count)} values` }));
    } else if (spec.unit && spec.unit !== 'input') {
      row.append(el('span', { className: 'unit', textContent: spec.unit }));
    }
    if (slider) row.append(slider);
  }
  row.append(el('span', { className: 'doc', textContent: spec.doc }));
  const defaultValue = spec.type === 'boolean' ? !!spec.default : spec.type === 'choice' ? String(spec.default ?? spec.choices[0]) : input.dataset.default ?? '';
  return {
    spec,
    row,
    // The request value; undefined for an empty field, and (unless all) where the field
    // holds the schema default.
    get(all = false) {
      if (spec.type === 'boolean') return input.checked === defaultValue && !all ? undefined : input.checked;
      const v = input.value.trim();
      if (v === '' || (v === defaultValue && !all)) return undefined;
      if (spec.type === 'choice') return v;
      if (spec.name === 'target') return Number(v);
      if (/^[+]?inf(inity)?$/i.test(v)) return 'inf';
      return scale !== 1 ? `${v}/255` : Number(v);
    },
    raw() { return spec.type === 'boolean' ? input.checked : input.value; },
    set(value) {
      if (spec.type === 'boolean') input.checked = value === true || value === 'true';
      else {
        const s = String(value);
        input.value = scale !== 1 ? s.replace(/\/255$/, '') : s;
        if (slider) slider.value = input.value;
      }
    },
  };
}

let attackFields = [];
let fieldsNorm = null;   // the norm attackFields were built for

function availableAttacks() { return sling.attacks.filter((a) => !a.trainsOnDataset); }

function fillAttacks() {
  const families = new Map();
  for (const a of availableAttacks()) (families.get(a.family) ?? families.set(a.family, []).get(a.family)).push(a);
  const select = $('attack');
  select.replaceChildren();
  for (const [family, list] of families) {
    const group = el('optgroup', { label: family });
    for (const a of list) group.append(el('option', { value: a.name, textContent: a.name, title: a.doc }));
    select.append(group);
  }
  select.value = availableAttacks().some((a) => a.name === 'pgd') ? 'pgd' : availableAttacks()[0].name;
}

function currentAttack() { return sling.attacks.find((a) => a.name === $('attack').value); }

// keep: rebuild for the same attack (after a norm change), keeping the values entered.
function buildAttackParams(keep = false) {
  const attack = currentAttack();
  $('attack-doc').textContent = `${attack.family}: ${attack.doc}`;
  const previous = keep ? Object.fromEntries(attackFields.map((f) => [f.spec.name, f.raw()])) : {};
  const norm = String(previous.norm ?? attack.params.find((p) => p.name === 'norm')?.default ?? '');
  // A new norm starts from its own default radius (8/255 is no L2 radius).
  if (keep && norm !== fieldsNorm) { delete previous.eps; delete previous.eps_step; }
  fieldsNorm = norm;
  const inputSize = state.model.inputShape.reduce((a, b) => a * b, 1);
  const radius = (spec) => spec.name === 'eps' || spec.name === 'eps_step';
  attackFields = attack.params.map((spec) => {
    if (!radius(spec)) return paramField(spec, 'p');
    const own = spec.name === 'eps' && attack.defaultEps?.[norm] !== undefined ? { ...spec, default: attack.defaultEps[norm] } : spec;
    return paramField(own, 'p', norm === '0' && spec.name === 'eps' ? { count: inputSize } : { plain: norm !== 'inf' });
  });
  for (const f of attackFields) if (previous[f.spec.name] !== undefined) f.set(previous[f.spec.name]);
  $('attack-params').replaceChildren(...attackFields.map((f) => f.row));
  $('p-norm')?.addEventListener('change', () => buildAttackParams(true));
  resetCurveEps();
  const black = attack.blackBox;
  $('grad').disabled = black;
  $('defense-grad').disabled = black;
}

function fillGradients() {
  fillSelect($('grad'), sling.gradientSources.filter((g) => !g.defended).map((g) => [g.name, g.name, g.doc]));
  $('grad').value = 'ste';
  fillSelect($('defense-grad'), sling.gradientSources.filter((g) => g.defended).map((g) => [g.name, g.name, g.doc]));
}

function addDefense(name, values = {}) {
  const defense = sling.defenses.find((d) => d.name === name);
  if (!defense) throw new Error(`no defense is called '${name}'`);
  const n = $('defense-list').children.length;
  const item = el('li', { className: 'defense' });
  const remove = el('button', { type: 'button', className: 'secondary small', textContent: 'Remove' });
  remove.setAttribute('aria-label', `Remove ${name}`);
  remove.addEventListener('click', () => { item.remove(); defensesChanged(); });
  const fieldsBox = el('div', { className: 'params' });
  item.refresh = () => {
    item.fields = defense.params.map((spec) => paramField(spec, `d${n}`));
    fieldsBox.replaceChildren(...item.fields.map((f) => f.row));
  };
  item.refresh();
  for (const f of item.fields) if (values[f.spec.name] !== undefined) f.set(values[f.spec.name]);
  item.spec = () => {
    const kv = item.fields.map((f) => [f.spec.name, f.get()]).filter(([, v]) => v !== undefined);
    return kv.length ? `${name}:${kv.map(([k, v]) => `${k}=${v}`).join(',')}` : name;
  };
  item.append(el('div', { className: 'defense-head' }, el('strong', { textContent: name }),
    el('span', { className: 'muted', textContent: ` ${defense.doc}` }), remove), fieldsBox);
  $('defense-list').append(item);
  defensesChanged();
}

function defenseSpecs() { return [...$('defense-list').children].map((item) => item.spec()); }

function defensesChanged() {
  const any = $('defense-list').children.length > 0;
  $('defense-grad-wrap').hidden = !any;
  updateUrl();
}

// all: every value the form holds (the request: the schema's defaults are sent, not
// assumed); otherwise only those that differ from the defaults (the URL).
function collectParams(all = false) {
  const params = {};
  for (const f of attackFields) {
    const v = f.get(all);
    if (v !== undefined) params[f.spec.name] = v;
  }
  return params;
}

function buildRequest() {
  const attack = currentAttack();
  const request = {
    modelId: state.model.id, input: state.input, label: Number($('label').value), attack: attack.name,
    engine: $('engine').value, params: collectParams(true),
  };
  const defenses = defenseSpecs();
  if (defenses.length) {
    request.defenses = defenses;
    if (!attack.blackBox) { request.grad = $('defense-grad').value; request.innerGrad = $('grad').value; }
  } else if (!attack.blackBox) {
    request.grad = $('grad').value;
  }
  return request;
}

// ---------- URL state ----------

let restoring = false;

function updateUrl() {
  if (restoring || !state.model) return;
  if (document.body.dataset.state === 'idle') invalidateResult(false);
  const q = new URLSearchParams();
  q.set('model', state.modelKey.startsWith('file:') ? '' : state.modelKey);
  if (!state.inputKey.startsWith('upload:')) q.set('input', state.inputKey);
  q.set('label', $('label').value);
  q.set('attack', $('attack').value);
  q.set('engine', $('engine').value);
  if (!currentAttack().blackBox) q.set('grad', $('grad').value);
  for (const [k, v] of Object.entries(collectParams())) q.set(`p.${k}`, String(v));
  for (const spec of defenseSpecs()) q.append('defense', spec);
  if (defenseSpecs().length) q.set('dgrad', $('defense-grad').value);
  history.replaceState(null, '', `#${q.toString()}`);
}

async function restoreFromUrl() {
  const q = new URLSearchParams(location.hash.slice(1));
  if (!q.get('model')) return false;
  restoring = true;
  try {
    await selectZooModel(q.get('model'));
    if (q.get('attack')) { $('attack').value = q.get('attack'); buildAttackParams(); }
    if (q.get('engine')) { $('engine').value = q.get('engine'); $('engine').dataset.touched = '1'; }
    if (q.get('grad')) $('grad').value = q.get('grad');
    const setFromUrl = () => {
      for (const f of attackFields) {
        const v = q.get(`p.${f.spec.name}`);
        if (v !== null) f.set(v);
      }
    };
    setFromUrl();
    buildAttackParams(true);   // a norm from the URL may change what eps counts
    setFromUrl();
    $('defense-list').replaceChildren();
    for (const spec of q.getAll('defense')) {
      const [name, rest = ''] = spec.split(':');
      addDefense(name, Object.fromEntries(rest.split(',').filter(Boolean).map((kv) => kv.split('='))));
    }
    if (q.get('dgrad')) $('defense-grad').value = q.get('dgrad');
    if (q.get('input')) await pickSample(q.get('input'));
    if (q.get('label') !== null) $('label').value = q.get('label');
    fillCurveLines();
  } finally {
    restoring = false;
  }
  updateUrl();
  return q.get('run') === '1';
}

// ---------- running ----------

function setRunning(running) {
  document.body.dataset.state = running ? 'running' : 'idle';
  $('run').disabled = running || !state.input || document.body.dataset.curve === 'running';
  $('cancel').disabled = !running;
  $('curve-run').disabled = running || document.body.dataset.curve === 'running';
  for (const id of ['model', 'model-file', 'attack', 'input-file']) $(id).disabled = running;
}

function showProgress(p) {
  $('progress').value = Math.min(1, p.fraction);
  const parts = [`${Math.round(100 * p.fraction)}%`, `iteration ${p.iteration}`, `${fmt(p.queries)} queries`];
  if (p.loss !== null) parts.push(`loss ${p.loss.toFixed(3)}`);
  if (p.bestMargin !== null) parts.push(`best margin ${p.bestMargin.toFixed(3)}`);
  $('progress-text').textContent = parts.join(' · ');
  state.trace.push([p.iteration, p.loss, p.bestMargin]);
}

async function run() {
  if (!state.input || document.body.dataset.state === 'running') return;
  $('run-error').textContent = '';
  const controller = new AbortController();
  state.controller = controller;
  state.trace = [];
  setRunning(true);
  $('progress').value = 0;
  $('progress-text').textContent = 'starting…';
  const request = buildRequest();
  try {
    const result = await sling.runAttack(request, { signal: controller.signal, onProgress: showProgress });
    $('progress').value = 1;
    $('progress-text').textContent = `done in ${result.seconds.toFixed(2)} s`;
    Object.assign(state, { result, resultRequest: request });
    await showResult(request, result);
  } catch (e) {
    if (e.name === 'AbortError') {
      $('progress-text').textContent = 'cancelled';
    } else {
      $('run-error').textContent = e.message;
      $('progress-text').textContent = '';
    }
  } finally {
    if (state.controller === controller) state.controller = null;
    setRunning(false);
  }
}

// ---------- results ----------

// t in [0, 1]: a dark-blue-to-yellow ramp (viridis-like), for spectrogram magnitudes.
const RAMP = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
function rampColour(t) {
  const x = Math.max(0, Math.min(1, t)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(x));
  return RAMP[i].map((a, k) => Math.round(a + (RAMP[i + 1][k] - a) * (x - i)));
}

// A frame-major [frames][bins] feature matrix with time along x and bin 0 at the bottom.
function drawFeatures(canvas, values, frames, bins, colour) {
  paint(canvas, frames, bins, (i) => colour(values[(i % frames) * bins + (bins - 1 - Math.floor(i / frames))]));
}

// Original, adversarial and their difference, the first two on one shared scale.
function drawFeatureTriple(ids, clean, adv, frames, bins) {
  let lo = Infinity; let hi = -Infinity; let max = 0;
  for (let i = 0; i < clean.length; i++) {
    lo = Math.min(lo, clean[i], adv[i]);
    hi = Math.max(hi, clean[i], adv[i]);
    max = Math.max(max, Math.abs(adv[i] - clean[i]));
  }
  const scaled = (v) => rampColour(hi > lo ? (v - lo) / (hi - lo) : 0);
  drawFeatures($(ids[0]), clean, frames, bins, scaled);
  drawFeatures($(ids[1]), adv, frames, bins, scaled);
  const diff = clean.map((v, i) => adv[i] - v);
  drawFeatures($(ids[2]), diff, frames, bins, (v) => signedColour(max > 0 ? v / max : 0));
  return max;
}

async function showSpectra(clean, adv) {
  const [a, b] = await Promise.all([sling.audioFeatures(clean), sling.audioFeatures(adv)]);
  const melMax = drawFeatureTriple(['mel-clean', 'mel-adv', 'mel-diff'], a.logMel, b.logMel, a.frames, a.melBins);
  const mfccMax = drawFeatureTriple(['mfcc-clean', 'mfcc-adv', 'mfcc-diff'], a.mfcc, b.mfcc, a.frames, a.coefficients);
  $('mel-caption').textContent = `change (largest ${melMax.toPrecision(2)} in log energy; blue −, red +)`;
  $('mfcc-caption').textContent = `change (largest ${mfccMax.toPrecision(2)}; blue −, red +)`;
}

// The int8 tensors of the adversarial input for a test on the microcontroller.
async function offerCHeader(result) {
  const link = $('download-header');
  link.hidden = !state.model.quantized;
  if (link.hidden) return;
  const comment = `${result.report.attack} on ${result.report.model} (${result.report.engine}); ` +
    `clean class ${result.cleanPrediction}, adversarial class ${result.adversarialPrediction}`;
  try {
    const header = await sling.cHeader(state.model.id, result.adversarial, 'adv_example', comment);
    link.href = objectUrl(new Blob([header.text], { type: 'text/x-c' }));
    link.download = `adversarial-${result.report.attack}.h`;
  } catch (e) {
    // An input off the 8-bit grid (pixel_valid off) has no exact int8 codes.
    link.hidden = true;
    $('notes').append(el('li', { textContent: `No C header for the MCU: ${e.message.replace(/^invalid argument: /, '')}` }));
  }
}

let objectUrls = [];
function objectUrl(blob) {
  const u = URL.createObjectURL(blob);
  objectUrls.push(u);
  return u;
}

let wavePlot = null;
let marginPlot = null;
function plot(existing, container, title, xLabel, series, data) {
  existing?.destroy();
  if (typeof uPlot !== 'function') return null;
  const width = Math.max(240, Math.min(900, container.parentElement.clientWidth - 40));
  return new uPlot({ title, width, height: 180, series: [{ label: xLabel }, ...series], scales: { x: { time: false } },
    axes: [{ stroke: 'currentColor' }, { stroke: 'currentColor' }] }, data, container);
}

// Which rows to compare: the family's float/int8/int4/ternary/binary siblings, plus the
// attacked model on its attacked engine when it is not one of them.
function comparisonRows(request) {
  const rows = [];
  const own = { label: `attacked: ${state.modelKey.replace(/^file:/, '')}`, id: null, engine: request.engine };
  const siblings = state.family?.compare ?? [];
  const ownListed = siblings.some((s) => s.file === state.modelKey && s.engine === request.engine);
  if (!ownListed) rows.push(own);
  if (!state.family || state.modelKey.startsWith('file:')) {
    if (state.model.quantized && request.engine !== 'float') rows.push({ label: 'float master', id: null, engine: 'float' });
  }
  for (const s of state.family && !state.modelKey.startsWith('file:') ? siblings : []) {
    rows.push({ label: s.label, id: s.file, engine: s.engine, attacked: s.file === state.modelKey && s.engine === request.engine });
  }
  return rows;
}

async function showResult(request, result) {
  $('results').hidden = false;
  $('results').classList.remove('stale');
  const names = classNames();
  const shapeIn = state.model.inputShape;
  const clean = request.input;
  const attack = currentAttack();
  $('verdict').className = `verdict ${result.success ? 'bad' : 'good'}`;
  $('verdict').textContent = !result.attacked
    ? `Not attacked: the clean input is already misclassified (${classLabel(names, result.cleanPrediction)}) or the reference gets it wrong.`
    : result.success
      ? `${attack.name} fooled ${request.engine}: ${classLabel(names, result.cleanPrediction)} → ${classLabel(names, result.adversarialPrediction)}.`
      : `${attack.name} did not fool ${request.engine}: it still says ${classLabel(names, result.adversarialPrediction)}.`;

  for (const u of objectUrls) URL.revokeObjectURL(u);
  objectUrls = [];
  if (isImage()) {
    drawImage($('view-clean'), clean, shapeIn);
    drawImage($('view-adv'), result.adversarial, shapeIn);
    const max = drawHeat($('view-pert'), result.perturbation, shapeIn);
    $('pert-caption').textContent = max > 0 ? `perturbation ×${(1 / max).toFixed(1)} (blue −, red +)` : 'no perturbation';
    const blob = await new Promise((ok) => $('view-adv').toBlob(ok, 'image/png'));
    $('download-adv').href = objectUrl(blob);
    $('download-adv').download = `adversarial-${result.report.attack}.png`;
    $('download-adv').textContent = 'Download the adversarial PNG';
  } else {
    $('audio-clean').src = objectUrl(wavBlob(clean));
    $('audio-adv').src = objectUrl(wavBlob(result.adversarial));
    $('download-adv').href = $('audio-adv').src;
    $('download-adv').download = `adversarial-${result.report.attack}.wav`;
    $('download-adv').textContent = 'Download the adversarial WAV';
    const idx = Array.from({ length: clean.length }, (_, i) => i / 16000);
    wavePlot = plot(wavePlot, $('wave-plot'), 'waveform and perturbation', 'time (s)',
      [{ label: 'original', stroke: '#8a93a6' }, { label: 'perturbation', stroke: '#d1495b' }],
      [idx, Array.from(clean), Array.from(result.perturbation)]);
    await showSpectra(clean, result.adversarial);
  }
  $('download-report').href = objectUrl(new Blob([JSON.stringify(result.report, null, 2)], { type: 'application/json' }));

  const d = result.distortion;
  const steps = gridSteps();
  const unit = (v) => (isImage() ? `${(v * 255).toFixed(2)}/255` : v.toPrecision(3));
  summary($('stats'), [
    ['L∞', unit(d.linf)], ['L2', d.l2.toPrecision(3)], ['L1', d.l1.toPrecision(3)], ['L0 (values changed)', fmt(d.l0)],
    ['predictions', fmt(result.queries.predictions)], ['gradients', fmt(result.queries.gradients)],
    ['finite-difference evals', fmt(result.queries.fdEvaluations)], ['time', `${result.seconds.toFixed(2)} s`],
  ]);
  $('quant-effect').textContent = quantizationEffect(clean, result.adversarial, steps, request.params.pixel_valid !== false);
  $('notes').replaceChildren(...result.notes.map((n) => el('li', { textContent: n })));
  await offerCHeader(result);
  // Gradient attacks: the objective they ascend; query attacks: the best margin their
  // predictions have seen (only predict() outputs carry a margin).
  const useLoss = result.queries.gradients > 0 && state.trace.some((t) => t[1] !== null);
  const trace = state.trace.filter((t) => (useLoss ? t[1] : t[2]) !== null);
  marginPlot = trace.length >= 5
    ? plot(marginPlot, $('margin-plot'), useLoss ? 'attack objective during the run (mean of the last gradient)'
      : 'best margin z_y − max z_j seen during the run (below 0: fooled)', 'target call',
    [{ label: useLoss ? 'objective' : 'best margin', stroke: '#2f6fde' }], [trace.map((t) => t[0]), trace.map((t) => (useLoss ? t[1] : t[2]))])
    : (marginPlot?.destroy(), null);
  await showPredictions(request, result);
  updateUrl();
}

// How much of the perturbation survives the input grid (k/255 or k/32768).
function quantizationEffect(clean, adv, steps, pixelValid) {
  const n = clean.length;
  let off = 0; let cont = 0; let proj = 0; let vanished = 0; let changed = 0;
  for (let i = 0; i < n; i++) {
    const q = Math.round(adv[i] * steps) / steps;
    if (Math.abs(q - adv[i]) > 1e-6) off += 1;
    const dc = adv[i] - clean[i];
    const dq = q - clean[i];
    cont += dc * dc; proj += dq * dq;
    if (Math.abs(dc) > 1e-9) { changed += 1; if (Math.abs(dq) < 1e-9) vanished += 1; }
  }
  const grid = steps === 255 ? '8-bit input grid (k/255)' : '16-bit sample grid (k/32768)';
  if (pixelValid && off === 0)
    return `Input quantization: pixel_valid is on, so every value of the adversarial input lies on the ${grid}; ` +
      'the whole perturbation survives quantization, and the deployed model reads exactly this input.';
  const survive = cont > 0 ? Math.sqrt(proj / cont) : 1;
  return `Input quantization: ${fmt(off)} of ${fmt(n)} values are off the ${grid}. Projected onto it, the perturbation keeps ` +
    `${(100 * survive).toFixed(1)}% of its L2 norm; ${fmt(vanished)} of ${fmt(changed)} changed values round back to the clean value.`;
}

async function showPredictions(request, result) {
  const names = classNames();
  const table = $('predictions');
  table.innerHTML = '<thead><tr><th scope="col">network · engine</th><th scope="col">clean</th>' +
    '<th scope="col">adversarial</th><th scope="col">changed</th></tr></thead>';
  const body = el('tbody');
  table.append(body);
  const rows = comparisonRows(request);
  $('predictions-hint').textContent = request.defenses?.length
    ? `Each row runs a plain network on the same two inputs, without the defenses; the verdict above is the defended ` +
      `${request.engine} target's (${request.defenses.join(' → ')}).`
    : 'Each row is a different network or engine, run here on the same two inputs.';
  const bar = (p, top1) => {
    const b = el('div', { className: 'pbar' });
    const fill = el('div', { className: 'pfill' });
    fill.style.width = `${(100 * p.probabilities[top1]).toFixed(1)}%`;
    b.append(fill);
    return el('div', { className: 'pcell' }, el('span', { className: 'pclass', textContent: classLabel(names, top1) }),
      b, el('span', { className: 'pnum', textContent: `${(100 * p.probabilities[top1]).toFixed(0)}%` }));
  };
  for (const row of rows) {
    const info = row.id ? await loadZooModel(row.id) : state.model;
    const [pc, pa] = await Promise.all([sling.predict(info.id, request.input, row.engine),
      sling.predict(info.id, result.adversarial, row.engine)]);
    const tr = el('tr', {}, el('th', { scope: 'row', textContent: `${row.label} · ${row.engine}` }),
      el('td', {}, bar(pc, pc.top1)), el('td', {}, bar(pa, pa.top1)),
      el('td', { className: pc.top1 !== pa.top1 ? 'bad' : 'good', textContent: pc.top1 !== pa.top1 ? 'yes' : 'no' }));
    tr.dataset.row = row.label;
    tr.dataset.clean = String(pc.top1);
    tr.dataset.adv = String(pa.top1);
    if (row.attacked || !row.id) tr.classList.add('attacked');
    body.append(tr);
  }
}

// ---------- robustness curve ----------

const LINE_COLOURS = ['#2f6fde', '#d1495b', '#edae49', '#00798c', '#66a182', '#8d6cab', '#e07a1f', '#5b6474'];
const decodedSamples = new Map();   // `${family}:${file}` -> Float32Array
let curvePlot = null;
let curveController = null;

// The eps list's unit: 1/255 for Linf on images, the norm's own units otherwise.
const curveNorm = () => fieldsNorm || 'inf';
const curveInPixels = () => isImage() && curveNorm() === 'inf';

// Fills the eps list from the current norm's default radius d: 0, d/8, d/4, d/2, d, 2d
// (Linf on images: 0, 1, 2, 4, 8, 16 /255), unless the user has typed a list.
function resetCurveEps() {
  const field = $('curve-eps');
  const norm = curveNorm();
  $('curve-eps-unit').textContent = curveInPixels() ? 'in 1/255' : norm === '0' ? 'values changed (L0)' : `L${norm} radius`;
  if (field.dataset.touched && field.dataset.norm === norm) return;
  delete field.dataset.touched;
  field.dataset.norm = norm;
  const d = currentAttack().defaultEps?.[norm] ?? 8 / 255;
  const shown = curveInPixels() ? d * 255 : d;
  const round = (v) => (norm === '0' ? Math.round(v) : +v.toPrecision(3));
  field.value = [0, 1 / 8, 1 / 4, 1 / 2, 1, 2].map((f) => round(shown * f)).join(', ');
}

function parseCurveEps() {
  const parts = $('curve-eps').value.split(/[\s,;]+/).filter(Boolean);
  if (!parts.length) throw new Error('eps values: give at least one, e.g. 0, 2, 4, 8');
  if (parts.length > 64) throw new Error(`eps values: ${parts.length} given, at most 64`);
  return parts.map((p) => {
    const v = Number(p);
    if (!Number.isFinite(v) || v < 0) throw new Error(`eps values: '${p}' is not a number >= 0`);
    return curveInPixels() ? `${v}/255` : v;
  });
}

// One checkbox per network of the prediction table, all on by default.
function fillCurveLines() {
  const box = $('curve-lines');
  const before = new Map([...box.querySelectorAll('input')].map((i) => [i.value, i.checked]));
  const rows = comparisonRows({ engine: $('engine').value });
  box.replaceChildren(el('legend', { textContent: 'Lines' }));
  rows.forEach((row, k) => {
    const key = `${row.id ?? ''}|${row.engine}`;
    const input = el('input', { type: 'checkbox', value: key, checked: before.get(key) ?? true });
    input.row = row;
    const swatch = el('span', { className: 'swatch' });
    swatch.style.background = LINE_COLOURS[k % LINE_COLOURS.length];
    box.append(el('label', {}, input, swatch, `${row.label} · ${row.engine}`));
  });
}

async function curveSamples(n) {
  const out = [];
  for (const { file, label } of evalLabels.slice(0, n)) {
    const key = `${state.family.id}:${file}`;
    if (!decodedSamples.has(key)) decodedSamples.set(key, await decode(await fetchBytes(`../${state.family.eval}${file}`), file));
    out.push({ x: decodedSamples.get(key), label });
  }
  return out;
}

function drawCurve(eps, lines, colours) {
  const xs = eps.map((e) => (curveInPixels() ? e * 255 : e));
  const data = [xs, ...lines.map((l) => xs.map((_, k) => l.points[k]?.robustAccuracy ?? null))];
  const series = lines.map((l, k) => ({ label: l.name, stroke: colours[k], width: 2, points: { show: true, size: 6 } }));
  curvePlot?.destroy();
  curvePlot = null;
  if (typeof uPlot !== 'function') return;
  const container = $('curve-plot');
  const width = Math.max(260, Math.min(900, container.parentElement.clientWidth - 40));
  curvePlot = new uPlot({
    title: `robust accuracy against eps (${currentAttack().name}, ${curveInPixels() ? 'Linf, eps in 1/255' : `L${curveNorm()}`})`,
    width, height: 260, series: [{ label: 'eps' }, ...series],
    scales: { x: { time: false }, y: { range: [0, 1] } },
    axes: [{ stroke: 'currentColor', label: curveInPixels() ? 'eps (1/255)' : 'eps' },
      { stroke: 'currentColor', label: 'accuracy', values: (u, ticks) => ticks.map((t) => `${Math.round(t * 100)}%`) }],
  }, data, container);
}

function curveTable(eps, lines) {
  const table = $('curve-table');
  const head = el('tr', {}, el('th', { scope: 'col', textContent: 'line' }), el('th', { scope: 'col', textContent: 'clean' }),
    ...eps.map((e) => el('th', { scope: 'col', className: 'num',
      textContent: curveInPixels() ? `${+(e * 255).toFixed(2)}/255` : String(+e.toPrecision(3)) })));
  const pct = (v) => (v === null || v === undefined ? '…' : `${(100 * v).toFixed(0)}%`);
  const body = lines.map((l) => {
    const tr = el('tr', {}, el('th', { scope: 'row', textContent: l.name }), el('td', { className: 'num', textContent: pct(l.cleanAccuracy) }),
      ...eps.map((_, k) => el('td', { className: 'num', textContent: pct(l.points[k]?.robustAccuracy) })));
    tr.dataset.line = l.name;
    return tr;
  });
  table.replaceChildren(el('caption', { textContent: 'Robust accuracy per line and eps' }), el('thead', {}, head), el('tbody', {}, ...body));
}

async function runCurve() {
  if (curveController || !state.model) return;
  $('curve-error').textContent = '';
  const chosen = [...$('curve-lines').querySelectorAll('input:checked')];
  let eps;
  try {
    eps = parseCurveEps();
    if (!chosen.length) throw new Error('pick at least one line');
    if (!evalLabels.length) throw new Error('this model has no evaluation set to draw samples from');
  } catch (e) {
    $('curve-error').textContent = e.message;
    return;
  }
  const controller = new AbortController();
  curveController = controller;
  setCurveRunning(true);
  $('curve-progress').value = 0;
  $('curve-progress-text').textContent = 'decoding the samples…';
  $('curve-download').hidden = true;
  try {
    const samples = await curveSamples(Number($('curve-n').value));
    const per = state.model.inputShape.reduce((a, b) => a * b, 1);
    const inputs = new Float32Array(samples.length * per);
    samples.forEach((s, i) => inputs.set(s.x, i * per));
    const base = buildRequest();
    const allBoxes = [...$('curve-lines').querySelectorAll('input')];
    const colours = chosen.map((c) => LINE_COLOURS[allBoxes.indexOf(c) % LINE_COLOURS.length]);
    const lines = [];
    for (const c of chosen) {
      const info = c.row.id ? await loadZooModel(c.row.id) : state.model;
      const line = { name: `${c.row.label} · ${c.row.engine}`, modelId: info.id, engine: c.row.engine };
      // Each line is attacked on its own gradients: the float engine on float ones.
      if (!currentAttack().blackBox && !base.defenses) line.grad = c.row.engine === 'float' ? 'float' : base.grad;
      lines.push(line);
    }
    const request = { modelId: state.model.id, attack: base.attack, params: base.params, lines, inputs,
      labels: samples.map((s) => s.label), eps, defenses: base.defenses, innerGrad: base.innerGrad };
    if (base.defenses) request.grad = base.grad;
    const epsValues = eps.map((e) => (typeof e === 'string' ? Number(e.split('/')[0]) / 255 : e));
    const empty = lines.map((l) => ({ name: l.name, cleanAccuracy: null, points: [] }));
    drawCurve(epsValues, empty, colours);
    curveTable(epsValues, empty);
    const started = performance.now();
    const result = await sling.robustnessCurve(request, {
      signal: controller.signal,
      onProgress: (p) => {
        $('curve-progress').value = p.fraction;
        $('curve-progress-text').textContent = `${Math.round(100 * p.fraction)}% · ${((performance.now() - started) / 1000).toFixed(1)} s`;
        if (p.lines) { drawCurve(epsValues, p.lines, colours); curveTable(epsValues, p.lines); }
      },
    });
    drawCurve(result.eps, result.lines, colours);
    curveTable(result.eps, result.lines);
    $('curve-progress').value = 1;
    $('curve-progress-text').textContent = `done: ${result.samples} samples × ${result.eps.length} eps × ${result.lines.length} lines ` +
      `in ${result.seconds.toFixed(1)} s`;
    const saved = { ...result, model: state.modelKey, defenses: base.defenses ?? [], evalFiles: evalLabels.slice(0, samples.length).map((e) => e.file) };
    $('curve-download').href = objectUrl(new Blob([JSON.stringify(saved, null, 2)], { type: 'application/json' }));
    $('curve-download').hidden = false;
  } catch (e) {
    if (e.name === 'AbortError') $('curve-progress-text').textContent = 'cancelled';
    else { $('curve-error').textContent = e.message; $('curve-progress-text').textContent = ''; }
  } finally {
    curveController = null;
    setCurveRunning(false);
  }
}

// A curve belongs to the model it was computed for: a new model clears it.
function clearCurve() {
  curvePlot?.destroy();
  curvePlot = null;
  $('curve-table').replaceChildren();
  $('curve-download').hidden = true;
  $('curve-progress').value = 0;
  $('curve-progress-text').textContent = '';
  $('curve-error').textContent = '';
}

// The attack and the curve share one worker, so one waits while the other runs.
function setCurveRunning(running) {
  document.body.dataset.curve = running ? 'running' : 'idle';
  $('curve-run').disabled = running || document.body.dataset.state === 'running';
  $('curve-cancel').disabled = !running;
  $('run').disabled = running || document.body.dataset.state === 'running' || !state.input;
  for (const id of ['model', 'model-file', 'attack']) $(id).disabled = running;
}

// ---------- wiring ----------

function wire() {
  $('model').addEventListener('change', () => {
    if (!$('model').value.startsWith('file:')) selectZooModel($('model').value).catch((e) => { $('model-error').textContent = e.message; });
  });
  $('model-file').addEventListener('change', (ev) => ev.target.files[0] && selectModelFile(ev.target.files[0]));
  $('class-names').addEventListener('change', () => applyClassNames($('class-names').value, 'class names'));
  $('class-names-file').addEventListener('change', (ev) => ev.target.files[0] && readClassNamesFile(ev.target.files[0]));
  const drop = $('drop');
  drop.addEventListener('dragover', (ev) => { ev.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (ev) => {
    ev.preventDefault();
    drop.classList.remove('over');
    if (ev.dataTransfer.files[0]) selectModelFile(ev.dataTransfer.files[0]);
  });
  drop.addEventListener('keydown', (ev) => { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); $('model-file').click(); } });
  // Arrow keys move through the gallery; Enter or Space picks (they are buttons).
  $('gallery').addEventListener('keydown', (ev) => {
    const items = [...$('gallery').children];
    const i = items.indexOf(document.activeElement);
    if (i < 0) return;
    const perRow = Math.max(1, Math.round($('gallery').clientWidth / items[0].offsetWidth));
    const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: perRow, ArrowUp: -perRow }[ev.key];
    if (!step) return;
    ev.preventDefault();
    items[Math.max(0, Math.min(items.length - 1, i + step))].focus();
  });
  $('input-file').addEventListener('change', (ev) => ev.target.files[0] && uploadInput(ev.target.files[0]));
  $('attack').addEventListener('change', () => { buildAttackParams(); updateUrl(); });
  $('engine').addEventListener('change', () => { $('engine').dataset.touched = '1'; fillCurveLines(); updateUrl(); });
  for (const id of ['grad', 'defense-grad', 'label']) $(id).addEventListener('change', updateUrl);
  $('attack-params').addEventListener('change', updateUrl);
  $('defense-list').addEventListener('change', updateUrl);
  $('defense-add').addEventListener('click', () => addDefense($('defense-pick').value));
  $('run').addEventListener('click', run);
  $('curve-run').addEventListener('click', runCurve);
  $('curve-cancel').addEventListener('click', () => curveController?.abort());
  $('curve-eps').addEventListener('input', () => { $('curve-eps').dataset.touched = '1'; });
  $('cancel').addEventListener('click', () => state.controller?.abort());
  $('copy-link').addEventListener('click', async () => {
    const url = new URL(location.href);
    url.hash = `${location.hash.slice(1)}&run=1`;
    try {
      await navigator.clipboard.writeText(url.href);
      $('copy-link').textContent = 'Link copied';
    } catch {
      $('copy-link').textContent = 'Copy failed: use the address bar';
    }
  });
}

async function main() {
  try {
    [sling, zoo] = await Promise.all([createSlingshot(), fetch('zoo.json').then((r) => r.json())]);
  } catch (e) {
    setStatus(`The WebAssembly core failed to load: ${e.message || e}. This page needs a browser with WebAssembly SIMD ` +
      '(Chrome 91+, Firefox 89+, Safari 16.4+).', 'error');
    return;
  }
  $('version').textContent = `Slingshot ${sling.version}`;
  const select = $('model');
  for (const f of zoo.families) {
    const group = el('optgroup', { label: f.title });
    for (const m of f.models) group.append(el('option', { value: m.id, textContent: `${m.id} — ${m.label}` }));
    select.append(group);
  }
  fillAttacks();
  fillGradients();
  fillSelect($('defense-pick'), sling.defenses.map((d) => [d.name, d.name, d.doc]));
  wire();
  let autoRun = false;
  try {
    autoRun = await restoreFromUrl();
  } catch (e) {
    $('model-error').textContent = `The link could not be restored: ${e.message}`;
  }
  if (!state.model) await selectZooModel(zoo.families[0].models[0].id);
  select.disabled = false;
  setStatus(`Ready: ${availableAttacks().length} attacks and ${sling.defenses.length} defenses from the core, running locally ` +
    `(${sling.cancelMode === 'flag' ? 'instant cancel' : 'cancel restarts the worker'}).`, 'ready');
  setRunning(false);
  if (autoRun) run();
}

main();
