// End-to-end test of .tflite files dropped on the playground page (web/index.html) in
// Debian's Chromium: the MLPerf Tiny ResNet-8 int8 file (read from ../shared/mlperf-tiny
// in node, dispatched as a DataTransfer drop) imports in the page, the model summary shows
// "imported int8 (TFLite)", and PGD at 8/255 through the float shadow changes the int8
// prediction of a gallery image labelled with the model's own answer; CIFAR-10 class names
// typed or read from a labels file name its classes in the page. The float file shows
// "imported float (TFLite)". Errors stay in the page as messages: a file that is no model,
// a truncated .tflite, an unsupported operator, and the anomaly autoencoder (no attack
// domain). A screenshot after the import goes to OUT_DIR (docs/screenshots/tflite-import.png
// is one). The MLPerf part is skipped, saying so, when the folder is absent.
// Usage: node tests/web/tflite_drop_e2e.mjs OUT_DIR   (exit 77: no wasm build)
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { launchChromium, pageTest, startStaticServer, staysOnOrigin } from '../../scripts/headless_browser.mjs';

const { root, outDir, check, log, finish } = pageTest('tflite_drop_e2e');
const mlperf = resolve(root, '../shared/mlperf-tiny');
const haveMlperf = existsSync(resolve(mlperf, 'pretrainedResnet_quant.tflite'));

// A copy of a TFLite file whose operator code `from` (a builtin code) becomes `to`: a
// minimal flatbuffer walk (Model field 1: operator_codes; OperatorCode fields 0 and 3:
// the deprecated int8 and the int32 builtin code).
function withOperatorCode(bytes, from, to) {
  const out = Uint8Array.from(bytes);
  const dv = new DataView(out.buffer);
  const field = (table, id) => {
    const vtable = table - dv.getInt32(table, true);
    const at = 4 + 2 * id;
    if (at >= dv.getUint16(vtable, true)) return 0;
    const off = dv.getUint16(vtable + at, true);
    return off ? table + off : 0;
  };
  const model = dv.getUint32(0, true);
  const codes = field(model, 1);
  const vector = codes + dv.getUint32(codes, true);
  let patched = 0;
  for (let i = 0; i < dv.getUint32(vector, true); ++i) {
    const slot = vector + 4 + 4 * i;
    const code = slot + dv.getUint32(slot, true);
    const deprecated = field(code, 0), builtin = field(code, 3);
    if (deprecated && dv.getInt8(deprecated) === from) { dv.setInt8(deprecated, to); ++patched; }
    if (builtin && dv.getInt32(builtin, true) === from) { dv.setInt32(builtin, to, true); ++patched; }
  }
  if (!patched) throw new Error(`no operator code ${from} to patch`);
  return out;
}

const server = await startStaticServer(9590);
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

  // Drops a file on the model drop zone as a browser does (dragover, then drop).
  const dropFile = async (bytes, name) => {
    await page.evaluate(({ data, fileName }) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([new Uint8Array(data)], fileName));
      const zone = document.getElementById('drop');
      zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: transfer, bubbles: true, cancelable: true }));
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }, { data: [...bytes], fileName: name });
  };
  const modelError = async (name) => {
    await page.waitForFunction((n) => document.getElementById('model-error').textContent.startsWith(n), name, { timeout: 20000 });
    return page.locator('#model-error').innerText();
  };

  await page.goto(`${origin}/web/index.html`);
  await page.waitForSelector('#status.ready', { timeout: 30000 });
  await idle();
  check((await page.getAttribute('#model-file', 'accept')).includes('.tflite'), 'the model file input does not accept .tflite');

  // Errors stay in the page: bytes that are no model at all.
  await dropFile(new TextEncoder().encode('not a model, just text'.repeat(4)), 'junk.tflite');
  const junk = await modelError('junk.tflite');
  check(/neither a Slingshot model file nor a \.tflite file/.test(junk), `junk file: ${junk}`);
  log(`junk: ${junk}`);

  if (!haveMlperf) {
    log(`skipped the MLPerf part: ${mlperf} is absent (the MLPerf Tiny .tflite files)`);
  } else {
    const resnet = readFileSync(resolve(mlperf, 'pretrainedResnet_quant.tflite'));
    // A truncated file, an unsupported operator (RESHAPE, 22, becomes SQUARED_DIFFERENCE,
    // 99), and a model no attack domain fits.
    await dropFile(resnet.subarray(0, 5000), 'cut.tflite');
    const cut = await modelError('cut.tflite');
    check(/malformed TFLite flatbuffer/.test(cut), `truncated file: ${cut}`);
    await dropFile(withOperatorCode(resnet, 22, 99), 'patched.tflite');
    const op = await modelError('patched.tflite');
    check(/operator \d+ \(SQUARED_DIFFERENCE\) is not supported/.test(op), `unsupported operator: ${op}`);
    await dropFile(readFileSync(resolve(mlperf, 'ad01_int8.tflite')), 'ad01_int8.tflite');
    const ad = await modelError('ad01_int8.tflite');
    check(/has no attack domain/.test(ad), `autoencoder: ${ad}`);
    log(`errors: ${cut} | ${op} | ${ad}`);
    check((await page.locator('body').getAttribute('data-state')) === 'idle', 'the page is not idle after the errors');

    // The int8 ResNet-8: imported, its engine label shown.
    await dropFile(resnet, 'pretrainedResnet_quant.tflite');
    await page.waitForFunction(() => document.getElementById('model-summary').textContent.includes('imported int8 (TFLite)'),
      null, { timeout: 30000 });
    await idle();
    check(await page.locator('#model-error').innerText() === '', 'an error is left after the import');
    const summary = await page.locator('#model-summary').innerText();
    check(summary.includes('12,501,632'), `MLPerf ResNet-8 MACs missing: ${summary}`);
    const desc = await page.locator('#model-desc').innerText();
    check(/0\.\.255/.test(desc) && /float shadow/.test(desc), `description: ${desc}`);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: resolve(outDir, 'tflite-import.png'), fullPage: false });
    const gradOptions = await page.$$eval('#grad option', (os) => os.map((o) => o.value));
    check(gradOptions.includes('ste') && gradOptions.includes('float'), `gradient sources: ${gradOptions}`);

    // PGD through the float shadow, judged on int8-ref, on a gallery image labelled with
    // the model's own clean answer (it was trained on CIFAR-10, not on digits).
    const attackedRow = 'attacked: pretrainedResnet_quant.tflite';
    const row = async () => page.locator(`#predictions tr[data-row="${attackedRow}"]`)
      .evaluate((tr) => ({ clean: Number(tr.dataset.clean), adv: Number(tr.dataset.adv) }));
    const run = async () => {
      await page.click('#run');
      await page.waitForSelector('body[data-state=running]', { timeout: 5000 }).catch(() => {});
      await idle();
      const err = await page.locator('#run-error').innerText();
      check(err === '', `run failed: ${err}`);
    };
    await page.click('.sample[data-file="housenum_test_00000.png"]');
    await page.selectOption('#attack', 'pgd');
    await page.fill('#p-eps', '0');
    await run();
    const clean = (await row()).clean;
    await page.selectOption('#label', String(clean));
    await page.selectOption('#engine', 'int8-ref');
    await page.selectOption('#grad', 'ste');
    await page.fill('#p-eps', '8');
    await page.fill('#p-max_iter', '20');
    await run();
    const pgd = await row();
    check(pgd.clean === clean && pgd.adv !== pgd.clean, `PGD 8/255 did not change the int8 prediction: ${JSON.stringify(pgd)}`);
    log(`PGD (ste, int8-ref): ${await page.locator('#verdict').innerText()}`);

    // The user names its classes (CIFAR-10): a wrong count is refused in the page, a
    // labels file is read, and the verdict and the label and target lists use the names.
    check(await page.locator('#class-names-row').isVisible(), 'no class-name field for an imported model');
    await page.fill('#class-names', 'cat, dog');
    await page.locator('#class-names').dispatchEvent('change');
    const wrong = await page.locator('#class-names-error').innerText();
    check(/2 class names for a model with 10 classes/.test(wrong), `wrong class-name count: ${wrong}`);
    const cifar = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
    await page.setInputFiles('#class-names-file', { name: 'labels.txt', mimeType: 'text/plain',
      buffer: Buffer.from(cifar.join('\n') + '\n') });
    await page.waitForFunction((n) => document.getElementById('verdict').textContent.includes(n), cifar[pgd.adv],
      { timeout: 10000 });
    check(await page.locator('#class-names-error').innerText() === '', 'an error is left after the labels file');
    const labelOptions = await page.$$eval('#label option', (os) => os.map((o) => o.textContent));
    check(labelOptions.join() === cifar.join(), `label options: ${labelOptions}`);
    check(await page.locator('#label').inputValue() === String(clean), 'the chosen label changed with the names');
    const targets = await page.$$eval('#p-target option', (os) => os.map((o) => o.textContent));
    check(targets.includes('class truck'), `target options: ${targets}`);
    // The re-rendered predictions table comes last, so the re-render is over here.
    await page.waitForFunction((n) => document.getElementById('predictions').textContent.includes(n), cifar[pgd.adv],
      { timeout: 10000 });
    await page.waitForTimeout(200);
    check(await page.locator('#p-eps').inputValue() === '8', 'naming the classes reset the attack settings');
    check(!(await page.locator('#results').getAttribute('class') ?? '').includes('stale'),
      'naming the classes marked the result stale');
    const galleryLabel = await page.locator('.sample[data-file="housenum_test_00000.png"] .sample-label').innerText();
    check(!cifar.includes(galleryLabel), `the gallery's digit label became a CIFAR name: ${galleryLabel}`);
    log(`named: ${await page.locator('#verdict').innerText()}`);
    await page.locator('#results').screenshot({ path: resolve(outDir, 'tflite-attack.png') });

    // The float file: the float engine, its own label.
    await dropFile(readFileSync(resolve(mlperf, 'vww_96_float.tflite')), 'vww_96_float.tflite');
    await page.waitForFunction(() => document.getElementById('model-summary').textContent.includes('imported float (TFLite)'),
      null, { timeout: 30000 });
    await idle();
    check(await page.locator('#model-error').innerText() === '', 'an error is left after the float import');
    log('float VWW imported');
  }
  check(foreign.length === 0, `requests outside the origin: ${foreign.join(', ')}`);
  check(consoleErrors.length === 0, `console errors: ${consoleErrors.join(' | ')}`);
} catch (e) {
  check(false, `stopped: ${String(e.message).split('\n')[0]}`);
} finally {
  await browser.close();
  server.stop();
}
finish();
