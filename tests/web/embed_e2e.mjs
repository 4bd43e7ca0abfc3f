// End-to-end test of the embeddable widget (web/embed.html, web/slingshot-demo.js,
// docs/embed.md) in Debian's Chromium (playwright-core) behind scripts/serve.mjs:
// embed.html with run=1 attacks an image with PGD and the int8 prediction changes, in a
// 480 x 360 frame and at 320 px without overflowing; a keyword model plays its audio; a
// long run is cancelled by keyboard; unknown or malformed parameters are shown as an error naming
// them; the "open in the playground" link reproduces the form (and the result) on
// index.html; the sample documentation page shows both demos (an <iframe> and a
// <slingshot-demo> element, which follows attribute changes), and what its prose claims
// holds: FGSM at 2/255 leaves the int8 answer alone, PGD changes it. No request leaves the
// origin and the console stays clean. Screenshots go to OUT_DIR.
// Usage: node tests/web/embed_e2e.mjs OUT_DIR   (exit 77: no wasm build)
import { resolve } from 'node:path';
import { launchChromium, pageTest, startStaticServer, staysOnOrigin } from '../../scripts/headless_browser.mjs';

const { outDir, check, log, finish } = pageTest('embed_e2e');

// The shipped int8 ResNet-8 reads this sample as a 7; PGD at 8/255 changes that (checked
// below, as is everything the example page's prose says about 2/255).
const SAMPLE = 'housenum_test_00000.png';
const SAMPLE_LABEL = 7;
const PGD_QUERY = `model=resnet8_int8&input=${SAMPLE}&attack=pgd&eps=8/255&max_iter=20&engine=int8-simd`;

const server = await startStaticServer(9390);
const origin = server.origin;
const browser = await launchChromium();
const foreign = [];
const consoleErrors = [];
try {
  const context = await browser.newContext({ viewport: { width: 480, height: 360 } });
  context.on('request', (r) => { if (!staysOnOrigin(r.url(), origin)) foreign.push(r.url()); });
  context.on('page', (p) => {
    p.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(`${p.url()}: ${m.text()}`); });
    p.on('pageerror', (e) => consoleErrors.push(`${p.url()}: ${e}`));
  });
  const page = await context.newPage();

  // Waits until a widget (a page or a frame) has settled: idle with no run pending, or an error.
  const settled = (frame) => frame.waitForFunction(() => {
    const s = document.body.dataset.state;
    return s === 'error' || (s === 'idle' && !document.getElementById('progress-text').textContent.endsWith('…'));
  }, null, { timeout: 60000 });
  const widget = (frame) => frame.evaluate(() => ({
    state: document.body.dataset.state,
    error: document.getElementById('error').textContent,
    verdict: document.getElementById('verdict').textContent,
    progress: document.getElementById('progress-text').textContent,
    rows: Object.fromEntries([...document.querySelectorAll('#predictions tbody tr')].map((tr) => [tr.dataset.engine, { clean: tr.dataset.clean, adv: tr.dataset.adv }])),
    open: document.getElementById('open').href,
    height: document.getElementById('widget').getBoundingClientRect().height,
    overflow: document.documentElement.scrollWidth - window.innerWidth,
    background: getComputedStyle(document.body).backgroundColor,
  }));
  const openEmbed = async (query) => {
    await page.goto(`${origin}/web/embed.html?${query}`);
    await settled(page);
    return widget(page);
  };

  // (a) run=1: PGD at 8/255 changes the int8-simd prediction, in a 480 x 360 frame.
  const pgd = await openEmbed(`${PGD_QUERY}&run=1`);
  check(pgd.error === '', `PGD embed failed: ${pgd.error}`);
  check(pgd.rows['int8-simd']?.clean === String(SAMPLE_LABEL), `int8-simd misreads the clean sample: ${JSON.stringify(pgd.rows)}`);
  check(pgd.rows['int8-simd']?.adv !== '' && pgd.rows['int8-simd']?.adv !== String(SAMPLE_LABEL),
    `PGD 8/255 did not change the int8-simd prediction: ${JSON.stringify(pgd.rows)}`);
  check(pgd.rows.float?.clean === String(SAMPLE_LABEL), `no float row: ${JSON.stringify(pgd.rows)}`);
  check(/^pgd fooled int8-simd: 7 → \d$/.test(pgd.verdict), `verdict: ${pgd.verdict}`);
  check(/L∞ 8\.00\/255/.test(pgd.progress), `L∞ is not 8/255: ${pgd.progress}`);
  check(pgd.height <= 360 && pgd.overflow <= 0, `the widget does not fit 480 x 360: ${pgd.height} px high, ${pgd.overflow} px too wide`);
  const pixels = await page.evaluate(() => ['view-clean', 'view-adv', 'view-pert'].map((id) => {
    const c = document.getElementById(id);
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let sum = 0;
    for (let i = 0; i < d.length; i += 4) sum += d[i] + d[i + 1] + d[i + 2];
    return { w: c.width, mean: sum / (3 * c.width * c.height) };
  }));
  check(pixels.every((p) => p.w === 32 && p.mean > 10 && p.mean < 250), `canvases not drawn: ${JSON.stringify(pixels)}`);
  await page.screenshot({ path: resolve(outDir, 'embed_pgd_480x360_light.png') });
  log(`PGD embed: ${pgd.verdict} (${pgd.progress})`);

  // Forced dark theme, and a 320 px wide frame.
  await page.emulateMedia({ colorScheme: 'light' });
  const dark = await openEmbed(`${PGD_QUERY}&run=1&theme=dark`);
  check(dark.background === 'rgb(26, 31, 41)', `theme=dark on a light system: background ${dark.background}`);
  await page.screenshot({ path: resolve(outDir, 'embed_pgd_480x360_dark.png') });
  await page.setViewportSize({ width: 320, height: 520 });
  const narrow = await openEmbed(`${PGD_QUERY}&run=1`);
  check(narrow.overflow <= 0 && narrow.error === '', `at 320 px: ${narrow.overflow} px too wide, error '${narrow.error}'`);
  await page.screenshot({ path: resolve(outDir, 'embed_pgd_320_light.png') });
  await page.setViewportSize({ width: 480, height: 360 });

  // A keyword model: audio players instead of images; system dark theme.
  await page.emulateMedia({ colorScheme: 'dark' });
  const kw = await openEmbed('model=dscnn_int8&input=keywords_test_00001_go.wav&attack=fgsm&run=1');
  const audio = await page.evaluate(() => ['audio-clean', 'audio-adv'].map((id) => document.getElementById(id).src));
  check(kw.error === '' && audio.every((s) => s.startsWith('blob:')), `keyword embed: '${kw.error}', audio ${audio}`);
  check(kw.rows['int8-ref']?.clean === '1' && kw.rows.float?.adv !== '', `keyword rows: ${JSON.stringify(kw.rows)}`);
  check(kw.background === 'rgb(26, 31, 41)', `system dark theme not followed: ${kw.background}`);
  await page.screenshot({ path: resolve(outDir, 'embed_keywords_dark.png') });
  await page.emulateMedia({ colorScheme: 'light' });
  log(`keyword embed: ${kw.verdict}`);

  // Cancel a long run, by keyboard: Enter on Run, the focus moves to Cancel, Enter there;
  // idle again within a second, with the focus back on Run.
  await openEmbed(`${PGD_QUERY.replace('max_iter=20', 'max_iter=100000')}`);
  await page.focus('#run');
  await page.keyboard.press('Enter');
  await page.waitForSelector('body[data-state=running]');
  check(await page.evaluate(() => document.activeElement.id) === 'cancel', 'the focus did not move to Cancel during the run');
  await page.waitForTimeout(400);
  const t0 = Date.now();
  await page.keyboard.press('Enter');
  await page.waitForSelector('body[data-state=idle]', { timeout: 5000 });
  const cancelMs = Date.now() - t0;
  check(cancelMs < 1000 && (await page.locator('#progress-text').innerText()) === 'cancelled', `cancel took ${cancelMs} ms`);
  check(await page.evaluate(() => document.activeElement.id) === 'run', 'the focus did not return to Run after the cancel');
  log(`cancel: idle after ${cancelMs} ms`);

  // (c) Parameter mistakes are shown in the widget, naming the culprit.
  const mistakes = [
    ['attack=nope', /Unknown attack 'nope'.*pgd/],
    ['model=nope', /Unknown model 'nope'.*resnet8_int8/],
    ['eps=abc', /eps=abc is not a number/],
    ['eps=-1/255', /eps=-1\/255 must be at least 0/],
    ['attack=fgsm&max_iter=5', /fgsm has no setting 'max_iter'/],
    ['input=nope.png', /no evaluation sample .* 'nope\.png'/],
    ['engine=turbo', /Unknown engine .* 'turbo'/],
    ['defense=blur', /Unknown defense 'blur'/],
  ];
  for (const [query, want] of mistakes) {
    const w = await openEmbed(query);
    check(w.state === 'error' && want.test(w.error), `${query}: state ${w.state}, error '${w.error}'`);
    if (query === 'attack=nope') await page.screenshot({ path: resolve(outDir, 'embed_error.png') });
  }
  log(`${mistakes.length} parameter mistakes reported`);

  // (d) "open in the playground" carries the state (and the result) to index.html.
  await openEmbed(`${PGD_QUERY}&run=1&defense=bit_depth:bits=6`);
  const href = await page.getAttribute('#open', 'href');
  check(href.startsWith('index.html#') && href.includes('p.eps=8%2F255') && href.includes('run=1'), `playground link: ${href}`);
  const playground = await context.newPage();
  await playground.setViewportSize({ width: 1100, height: 900 });
  await playground.goto(new URL(href, page.url()).href);
  await playground.waitForSelector('#status.ready', { timeout: 30000 });
  await playground.waitForFunction(() => document.getElementById('verdict').textContent !== '', null, { timeout: 60000 });
  const form = await playground.evaluate(() => ({
    model: document.getElementById('model').value, attack: document.getElementById('attack').value,
    engine: document.getElementById('engine').value, eps: document.getElementById('p-eps').value,
    maxIter: document.getElementById('p-max_iter').value, label: document.getElementById('label').value,
    sample: document.querySelector('.sample[aria-selected=true]')?.dataset.file,
    defenses: document.querySelectorAll('#defense-list li').length, bits: document.getElementById('d0-bits')?.value,
    verdict: document.getElementById('verdict').textContent,
  }));
  const want = { model: 'resnet8_int8', attack: 'pgd', engine: 'int8-simd', eps: '8', maxIter: '20', label: String(SAMPLE_LABEL), sample: SAMPLE, defenses: 1, bits: '6' };
  check(Object.entries(want).every(([k, v]) => form[k] === v), `playground form from the embed link: ${JSON.stringify(form)}`);
  check(form.verdict.startsWith('pgd fooled int8-simd'), `the playground did not reproduce the run: ${form.verdict}`);
  await playground.screenshot({ path: resolve(outDir, 'playground_from_embed.png') });
  await playground.close();
  log(`playground from the link: ${form.verdict}`);

  // (b) The example documentation page: an <iframe> and a <slingshot-demo>, both run.
  await page.setViewportSize({ width: 1000, height: 900 });
  await page.goto(`${origin}/web/examples/fgsm-vs-pgd.html`);
  const element = page.locator('slingshot-demo');
  await element.scrollIntoViewIfNeeded();   // its iframe loads lazily
  const frames = { fgsm: page.frameLocator('iframe[src*="attack=fgsm"]'), pgd: page.frameLocator('slingshot-demo >> iframe') };
  // Frames are found by URL, polling: an iframe navigates (lazy load, a new src), and a
  // handle into its old document dies with it.
  const frameByUrl = async (part) => {
    for (const deadline = Date.now() + 30000; Date.now() < deadline; await page.waitForTimeout(100)) {
      const frame = page.frames().find((f) => f.url().includes(part));
      if (frame && await frame.evaluate(() => document.getElementById('status') !== null).catch(() => false)) return frame;
    }
    throw new Error(`no frame at a URL with '${part}' after 30 s`);
  };
  const frameUrls = { fgsm: 'attack=fgsm', pgd: 'attack=pgd' };
  const results = {};
  for (const [name, locator] of Object.entries(frames)) {
    const frame = await frameByUrl(frameUrls[name]);
    await settled(frame);
    await locator.locator('#run').click();
    await frame.waitForFunction(() => document.body.dataset.state === 'idle' &&
      document.getElementById('progress-text').textContent.startsWith('done'), null, { timeout: 60000 });
    results[name] = await widget(frame);
  }
  check(results.fgsm.rows['int8-ref']?.adv === String(SAMPLE_LABEL) && results.fgsm.verdict.includes('did not fool'),
    `the page says FGSM at 2/255 leaves the int8 answer alone: ${JSON.stringify(results.fgsm.rows)} ${results.fgsm.verdict}`);
  check(results.pgd.rows['int8-ref']?.adv !== String(SAMPLE_LABEL) && results.pgd.verdict.includes('fooled int8-ref'),
    `the page says PGD at 2/255 changes the int8 answer: ${JSON.stringify(results.pgd.rows)} ${results.pgd.verdict}`);
  await page.waitForTimeout(200);   // the element's iframe follows the widget's reported height
  const iframeHeight = await page.locator('slingshot-demo >> iframe').evaluate((f) => f.getBoundingClientRect().height);
  check(Math.abs(iframeHeight - Math.ceil(results.pgd.height)) <= 1, `element iframe ${iframeHeight} px for a ${results.pgd.height} px widget`);
  await page.screenshot({ path: resolve(outDir, 'example_page.png'), fullPage: true });
  log(`example page: FGSM '${results.fgsm.verdict}', PGD '${results.pgd.verdict}'`);

  // The element follows its attributes: a new eps reloads its widget with it.
  await element.evaluate((e) => { e.setAttribute('eps', '8/255'); e.setAttribute('max_iter', '5'); });
  const src = await page.locator('slingshot-demo >> iframe').getAttribute('src');
  check(src.includes('eps=8%2F255') && src.includes('max_iter=5'), `the element's iframe did not follow its attributes: ${src}`);
  const reloaded = await frameByUrl('max_iter=5');
  await reloaded.waitForFunction(() => document.getElementById('status').textContent.includes('eps=8/255 · max_iter=5'), null, { timeout: 30000 });
} catch (e) {
  check(false, `stopped: ${String(e.message).split('\n')[0]}`);
} finally {
  await browser.close();
  server.stop();
}
check(foreign.length === 0, `requests outside the origin: ${foreign.join(', ')}`);
check(consoleErrors.length === 0, `console errors: ${consoleErrors.join(' | ')}`);
finish();
