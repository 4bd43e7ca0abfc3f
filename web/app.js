// The Slingshot page: loads the wasm core and renders what it reports. All numbers on
// the page come from the C++ core through the Embind API (src/bindings/embind.cpp).
import createSlingshot from './build/slingshot_web.js';

const $ = (id) => document.getElementById(id);
const fmt = (n) => Number(n).toLocaleString('en-US');
const shape = (s) => `[${s.join(', ')}]`;

function renderModel(description, summaryEl, tableEl) {
  summaryEl.innerHTML = '';
  const facts = [
    ['input', shape(description.inputShape)],
    ['output', shape(description.outputShape)],
    ['parameters', fmt(description.params)],
    ['MACs / inference', fmt(description.macs)],
    ['layers', description.layers.length],
  ];
  for (const [k, v] of facts) {
    const div = document.createElement('div');
    div.innerHTML = `<span class="k">${k}</span><span class="v">${v}</span>`;
    summaryEl.appendChild(div);
  }
  const maxMacs = Math.max(1, ...description.layers.map((l) => l.macs));
  tableEl.innerHTML = '<thead><tr><th>layer</th><th>type</th><th>output</th><th class="num">params</th>' +
    '<th class="num">MACs</th><th class="bar-col">share of compute</th></tr></thead>';
  const body = document.createElement('tbody');
  for (const l of description.layers) {
    const tr = document.createElement('tr');
    const pct = (100 * l.macs) / maxMacs;
    tr.innerHTML = `<td>${l.name}</td><td><span class="type">${l.type}</span></td><td>${shape(l.outputShape)}</td>` +
      `<td class="num">${fmt(l.params)}</td><td class="num">${fmt(l.macs)}</td>` +
      `<td class="bar-col">${l.macs > 0 ? `<div class="bar" style="width:${pct.toFixed(1)}%"></div>` : ""}</td>`;
    body.appendChild(tr);
  }
  tableEl.appendChild(body);
}

async function main() {
  let core;
  try {
    core = await createSlingshot();
  } catch (e) {
    $('status').textContent = `The WebAssembly core failed to load: ${e.message || e}. ` +
      'This page needs a browser with WebAssembly SIMD (Chrome 91+, Firefox 89+, Safari 16.4+).';
    $('status').className = 'status error';
    return;
  }
  $('status').textContent = 'WebAssembly SIMD core ready. Everything below runs locally.';
  $('status').className = 'status ready';
  $('version').textContent = `Slingshot ${core.version()}`;

  const archSelect = $('arch');
  for (const name of core.architectures()) {
    const opt = document.createElement('option');
    opt.value = name;
    opt.textContent = name;
    archSelect.appendChild(opt);
  }
  const showArch = () => {
    renderModel(core.describeArchitecture(archSelect.value), $('arch-summary'), $('arch-layers'));
    $('bench-result').textContent = '';
  };
  archSelect.addEventListener('change', showArch);
  archSelect.disabled = false;
  showArch();

  const bench = (simd) => {
    const runs = Number($('runs').value);
    try {
      const r = core.benchmarkForward(archSelect.value, runs, simd);
      $('bench-result').textContent =
        `${r.arch}: median ${r.medianMs.toFixed(2)} ms per float forward pass (batch 1, ${r.kernels} kernels, ${r.iterations} runs)`;
      $('bench-result').className = 'result';
    } catch (e) {
      $('bench-result').textContent = e.message;
      $('bench-result').className = 'result error';
    }
  };
  $('bench-simd').addEventListener('click', () => bench(true));
  $('bench-ref').addEventListener('click', () => bench(false));
  $('bench-simd').disabled = false;
  $('bench-ref').disabled = false;

  const readModel = async (file) => {
    $('file-error').textContent = '';
    $('file-summary').innerHTML = '';
    $('file-layers').innerHTML = '';
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      renderModel(core.describeModelFile(bytes), $('file-summary'), $('file-layers'));
    } catch (e) {
      $('file-error').textContent = `${file.name}: ${e.message}`;
    }
  };
  $('file').addEventListener('change', (ev) => ev.target.files[0] && readModel(ev.target.files[0]));
  const drop = $('drop');
  drop.addEventListener('dragover', (ev) => { ev.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (ev) => {
    ev.preventDefault();
    drop.classList.remove('over');
    if (ev.dataTransfer.files[0]) readModel(ev.dataTransfer.files[0]);
  });
}

main();
