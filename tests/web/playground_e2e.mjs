// End-to-end test of the playground page (web/index.html) in Debian's Chromium
// (playwright-core) behind scripts/serve.mjs: the page loads; a gallery image the int8
// model gets right is attacked with FGSM and then PGD at eps 8/255 until the int8
// prediction changes; a black-box Square attack moves the progress bar; a long run is
// cancelled (idle again within a second, and a new run works); a PNG is uploaded through
// the file input; the form survives a URL round-trip; no request leaves the origin and the
// console stays clean; without pixel_valid the perturbation is compared with its grid
// projection; a keyword model takes an uploaded WAV and shows its spectrograms and MFCCs;
// eps follows the norm; the robustness curve fills live with a line per network, each
// starting at its clean accuracy; the C header download holds the int8 tensors. Screenshots (desktop light and dark,
// phone width) go to OUT_DIR.
// Usage: node tests/web/playground_e2e.mjs OUT_DIR   (exit 77: no wasm build)
import { resolve } from 'node:path';
import { launchChromium, pageTest, startStaticServer, staysOnOrigin } from '../../scripts/headless_browser.mjs';

const { root, outDir, check, log, finish } = pageTest('playground_e2e');

// An eval image the shipped int8 model classifies correctly (checked below, not assumed).
const SAMPLE = 'housenum_test_00000.png';
const SAMPLE_LABEL = 7;

const server = await startStaticServer(9190);
const origin = server.origin;
const browser = await launchChromium();
try {
  const context = await browser.newContext({ viewport: { width: 1200, height: 1000 } });
  const page = await context.newPage();
  const foreign = [];
  const consoleErrors = [];
  page.on('request', (r) => { if (!staysOnOrigin(r.url(), origin)) foreign.push(r.url()); });
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));

  const idle = () => page.waitForSelector('body[data-state=idle]', { timeout: 60000 });
  const row = async (name) => page.locator(`#predictions tr[data-row="${name}"]`).evaluate((tr) => ({ clean: Number(tr.dataset.clean), adv: Number(tr.dataset.adv) }));
  const runAndWait = async () => {
    await page.click('#run');
    await page.waitForSelector('body[data-state=running]', { timeout: 5000 }).catch(() => {});
    await idle();
    const err = await page.locator('#run-error').innerText();
    check(err === '', `run failed: ${err}`);
  };
  const chooseAttack = async (name, values) => {
    await page.selectOption('#attack', name);
    for (const [k, v] of Object.entries(values)) await page.fill(`#p-${k}`, String(v));
  };

  // 1. The page loads, with the zoo and the core's listings.
  await page.goto(`${origin}/web/index.html`);
  await page.waitForSelector('#status.ready', { timeout: 30000 });
  await idle();
  const attackCount = await page.locator('#attack option').count();
  check(attackCount >= 15, `only ${attackCount} attacks offered`);
  check((await page.locator('#model-summary').innerText()).includes('12,501,632'), 'ResNet-8 MACs missing from the model card');
  check((await page.locator('#model-accuracy').innerText()).includes('int8-ref'), 'card accuracy table missing');
  log(`page ready, ${attackCount} attacks`);

  // 2. FGSM, then PGD at 8/255 on a correctly classified gallery image.
  await page.click(`.sample[data-file="${SAMPLE}"]`);
  check(await page.inputValue('#label') === String(SAMPLE_LABEL), 'gallery pick did not set the label');
  await chooseAttack('fgsm', { eps: 8 });
  await runAndWait();
  const fgsm = await row('int8');
  check(fgsm.clean === SAMPLE_LABEL, `int8 misclassifies the clean sample (${fgsm.clean})`);
  const rows = await page.locator('#predictions tbody tr').count();
  check(rows >= 5, `${rows} prediction rows (want float, int8, int4, ternary, binary)`);
  await page.screenshot({ path: resolve(outDir, 'playground_fgsm.png'), fullPage: true });
  await chooseAttack('pgd', { eps: 8, max_iter: 20 });
  await runAndWait();
  const pgd = await row('int8');
  check(pgd.clean === SAMPLE_LABEL && pgd.adv !== pgd.clean, `PGD 8/255 did not change the int8 prediction: ${JSON.stringify(pgd)}`);
  const linf = await page.locator('#stats').innerText();
  check(/8\.00\/255/.test(linf), `L-inf is not 8/255: ${linf}`);
  check((await page.locator('#quant-effect').innerText()).includes('on the 8-bit input grid'), 'input-quantization note missing');
  const reportHref = await page.getAttribute('#download-report', 'href');
  const report = await page.evaluate(async (u) => (await fetch(u)).json(), reportHref);
  check(report.attack === 'pgd' && report.engine === 'int8-ref', `JSON report: ${JSON.stringify(report).slice(0, 200)}`);
  const pngOk = await page.evaluate(async (u) => {
    const bytes = new Uint8Array(await (await fetch(u)).arrayBuffer());
    return bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
  }, await page.getAttribute('#download-adv', 'href'));
  check(pngOk, 'the adversarial download is not a PNG');
  const header = await page.evaluate(async (u) => (await fetch(u)).text(), await page.getAttribute('#download-header', 'href'));
  check(header.includes('adv_example') && header.includes('int8_t') && header.includes('pgd on resnet8_int8'),
    `C header download: ${header.slice(0, 200)}`);
  log(`FGSM int8 ${fgsm.clean}->${fgsm.adv}; PGD int8 ${pgd.clean}->${pgd.adv}`);
  await page.screenshot({ path: resolve(outDir, 'playground_desktop_light.png'), fullPage: true });

  // 2b. Eps follows the norm: L2 starts at its own default radius, back to 8/255 for Linf.
  await page.selectOption('#p-norm', '2');
  check(await page.inputValue('#p-eps') === '0.5', `L2 eps is ${await page.inputValue('#p-eps')}, not 0.5`);
  check(/L2 radius/.test(await page.locator('#curve-eps-unit').innerText()), 'curve eps unit did not follow the norm');
  await page.selectOption('#p-norm', 'inf');
  check(await page.inputValue('#p-eps') === '8', 'Linf eps did not return to 8/255');

  // 2c. The robustness curve: FGSM on 8 gallery images, a line per network, live.
  await page.selectOption('#attack', 'fgsm');
  await page.selectOption('#curve-n', '8');
  await page.fill('#curve-eps', '0, 2, 8');
  await page.click('#curve-run');
  const liveRows = await page.evaluate(async () => {
    const t0 = performance.now();
    let partial = false;
    while (performance.now() - t0 < 120000 && document.body.dataset.curve !== 'idle') {
      const cells = [...document.querySelectorAll('#curve-table tbody td')].map((td) => td.textContent);
      if (cells.includes('…') && cells.some((c) => c.endsWith('%'))) partial = true;
      await new Promise((r) => setTimeout(r, 20));
    }
    return partial;
  });
  check((await page.locator('#curve-error').innerText()) === '', `curve failed: ${await page.locator('#curve-error').innerText()}`);
  check(liveRows, 'the curve table never showed a partly finished curve (no live updates)');
  const curve = await page.$$eval('#curve-table tbody tr', (trs) => trs.map((tr) =>
    [...tr.querySelectorAll('td')].map((td) => Number(td.textContent.replace('%', '')))));
  check(curve.length >= 5, `${curve.length} curve lines (want float, int8, int4, ternary, binary)`);
  for (const [clean, eps0, , eps8] of curve) {
    check(clean === eps0, `a line's eps-0 accuracy ${eps0}% is not its clean accuracy ${clean}%`);
    check(eps8 <= clean, `a line gained accuracy under attack: ${clean}% -> ${eps8}%`);
  }
  check(curve.some(([clean, , , eps8]) => eps8 < clean), 'FGSM at 8/255 lowered no line');
  check(await page.locator('#curve-plot canvas').count() > 0, 'no curve plot');
  const curveJson = await page.evaluate(async (u) => (await fetch(u)).json(), await page.getAttribute('#curve-download', 'href'));
  check(curveJson.lines.length === curve.length && curveJson.evalFiles.length === 8, 'curve JSON download');
  await page.locator('#curve-section').screenshot({ path: resolve(outDir, 'playground_curve.png') });
  log(`curve: ${JSON.stringify(curve)}`);

  // 3. Square (black-box): the progress bar moves.
  await chooseAttack('square', { eps: 1, max_queries: 400 });
  await page.click('#run');
  const seen = await page.evaluate(async () => {
    const values = new Set();
    const t0 = performance.now();
    while (performance.now() - t0 < 60000) {
      values.add(document.getElementById('progress').value);
      if (document.body.dataset.state === 'idle' && performance.now() - t0 > 100) break;
      await new Promise((r) => setTimeout(r, 15));
    }
    return [...values];
  });
  const between = seen.filter((v) => v > 0 && v < 1);
  check(between.length >= 2, `progress bar did not move during Square: ${JSON.stringify(seen)}`);
  check((await page.locator('#run-error').innerText()) === '', 'Square failed');
  log(`square: ${between.length} intermediate progress values`);

  // 4. Cancel a long run: idle within a second, then a new run works.
  await chooseAttack('pgd', { eps: 8, max_iter: 100000 });
  await page.click('#run');
  await page.waitForSelector('body[data-state=running]');
  await page.waitForTimeout(600);
  const cancelMs = await page.evaluate(async () => {
    const t0 = performance.now();
    document.getElementById('cancel').click();
    while (document.body.dataset.state !== 'idle' && performance.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 5));
    return performance.now() - t0;
  });
  check(cancelMs < 1000, `UI idle ${cancelMs.toFixed(0)} ms after cancel`);
  check((await page.locator('#progress-text').innerText()) === 'cancelled', 'cancel not reported');
  await chooseAttack('fgsm', { eps: 8 });
  const t0 = Date.now();
  await runAndWait();
  check(Date.now() - t0 < 15000, 'run after cancel was slow');
  check((await page.locator('#verdict').innerText()).includes('fgsm'), 'run after cancel shows no result');
  log(`cancel: idle after ${cancelMs.toFixed(0)} ms`);

  // 5. Upload a PNG through the file input.
  await page.setInputFiles('#input-file', resolve(root, 'models/housenum/eval/housenum_test_00003.png'));
  await page.waitForFunction(() => document.getElementById('input-name').textContent.includes('housenum_test_00003.png'), null, { timeout: 10000 });
  check((await page.locator('#input-error').innerText()) === '', 'PNG upload error');
  await runAndWait();
  log('upload ok');

  // 6. URL round trip: the state in the hash restores the form after a reload.
  await page.selectOption('#model', 'resnet8_int4');
  await page.waitForFunction(() => document.getElementById('model-summary').textContent.includes('int4'));
  await idle();
  check(await page.locator('#curve-table tr').count() === 0 && await page.locator('#curve-plot canvas').count() === 0,
    'the curve of the previous model is still shown');
  await page.click('.sample[data-file="housenum_test_00004.png"]');
  await chooseAttack('pgd', { eps: 4, max_iter: 7 });
  await page.selectOption('#engine', 'int8-simd');
  await page.selectOption('#defense-pick', 'bit_depth');
  await page.click('#defense-add');
  await page.fill('#d0-bits', '5');
  await page.locator('#d0-bits').dispatchEvent('change');
  const form = () => page.evaluate(() => ({
    model: document.getElementById('model').value, attack: document.getElementById('attack').value,
    engine: document.getElementById('engine').value, eps: document.getElementById('p-eps').value,
    maxIter: document.getElementById('p-max_iter').value, label: document.getElementById('label').value,
    defenses: document.querySelectorAll('#defense-list li').length, bits: document.getElementById('d0-bits')?.value,
    sample: document.querySelector('.sample[aria-selected=true]')?.dataset.file,
  }));
  const before = await form();
  const url = page.url();
  check(url.includes('#') && url.includes('attack=pgd'), `URL holds no state: ${url}`);
  const fresh = await context.newPage();
  fresh.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  fresh.on('request', (r) => { if (!staysOnOrigin(r.url(), origin)) foreign.push(r.url()); });
  await fresh.goto(url);
  await fresh.waitForSelector('#status.ready', { timeout: 30000 });
  const after = await fresh.evaluate(() => ({
    model: document.getElementById('model').value, attack: document.getElementById('attack').value,
    engine: document.getElementById('engine').value, eps: document.getElementById('p-eps').value,
    maxIter: document.getElementById('p-max_iter').value, label: document.getElementById('label').value,
    defenses: document.querySelectorAll('#defense-list li').length, bits: document.getElementById('d0-bits')?.value,
    sample: document.querySelector('.sample[aria-selected=true]')?.dataset.file,
  }));
  check(JSON.stringify(before) === JSON.stringify(after), `URL round trip: ${JSON.stringify(before)} vs ${JSON.stringify(after)}`);
  check(before.eps === '4' && before.bits === '5' && before.model === 'resnet8_int4', `form before reload: ${JSON.stringify(before)}`);
  log(`url round trip: ${JSON.stringify(after)}`);
  await fresh.close();

  // 7. Screenshots: dark desktop, light and dark phone.
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: resolve(outDir, 'playground_desktop_dark.png'), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: resolve(outDir, 'playground_phone_dark.png'), fullPage: true });
  await page.emulateMedia({ colorScheme: 'light' });
  await page.screenshot({ path: resolve(outDir, 'playground_phone_light.png'), fullPage: true });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `the page is ${overflow} px wider than a 390 px phone`);

  // 8. Continuous perturbation (pixel_valid off): the page compares it with its grid projection.
  await page.setViewportSize({ width: 1200, height: 1000 });
  await page.locator('#defense-list button').click();
  await chooseAttack('pgd', { eps: 2.5, max_iter: 5 });
  await page.uncheck('#p-pixel_valid');
  await runAndWait();
  const effect = await page.locator('#quant-effect').innerText();
  check(/off the 8-bit input grid.*keeps [0-9.]+% of its L2 norm/.test(effect), `no grid comparison without pixel_valid: ${effect}`);

  // 9. The keyword model with an uploaded WAV.
  await page.selectOption('#model', 'dscnn_int8');
  await page.waitForFunction(() => document.getElementById('model-summary').textContent.includes('[16000]'), null, { timeout: 10000 });
  await idle();
  await page.setInputFiles('#input-file', resolve(root, 'models/keywords/eval/keywords_test_00001_go.wav'));
  await page.waitForFunction(() => document.getElementById('input-name').textContent.includes('go.wav'), null, { timeout: 10000 });
  await page.selectOption('#attack', 'fgsm');
  await runAndWait();
  const audioSrc = await page.getAttribute('#audio-adv', 'src');
  check(!!audioSrc && audioSrc.startsWith('blob:'), 'no adversarial audio');
  const spectra = await page.evaluate(() => ['mel-clean', 'mel-adv', 'mel-diff', 'mfcc-clean', 'mfcc-diff'].map((id) => {
    const c = document.getElementById(id);
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const colours = new Set();
    for (let i = 0; i < d.length; i += 4) colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    return [id, c.width, c.height, colours.size];
  }));
  for (const [id, w, h, colours] of spectra) check(w === 49 && colours > 8, `${id}: ${w}x${h} with ${colours} colours`);
  check(spectra[0][2] === 40 && spectra[3][2] === 10, 'spectrogram sizes');
  const kwHeader = await page.evaluate(async (u) => (await fetch(u)).text(), await page.getAttribute('#download-header', 'href'));
  check(kwHeader.includes('adv_example') && kwHeader.includes('490'), 'keyword C header holds no 49x10 MFCC tensor');
  await page.locator('#results').screenshot({ path: resolve(outDir, 'playground_keywords.png') });
  const kwRows = await page.$$eval('#predictions tbody tr', (trs) => trs.map((t) => t.dataset.row));
  check(kwRows.includes('float') && kwRows.includes('int8'), `keyword model: want float and int8 rows, got ${kwRows}`);
  log(`pixel_valid off: ${effect.slice(0, 90)}…; keyword FGSM: ${await page.locator('#verdict').innerText()}`);

  check(foreign.length === 0, `requests outside the origin: ${foreign.join(', ')}`);
  check(consoleErrors.length === 0, `console errors: ${consoleErrors.join(' | ')}`);
} catch (e) {
  check(false, `stopped: ${String(e.message).split('\n')[0]}`);
} finally {
  await browser.close();
  server.stop();
}
finish();
