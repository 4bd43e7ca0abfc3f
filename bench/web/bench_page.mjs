// What the browser benchmarks share: the repository root (the static server's root, so
// pages reach web/, models/ and node_modules/ by relative URL) and running a bench page
// that publishes its result as window.benchResult ({error} when it failed).
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

// The URL path of a file under the repository.
export function urlPath(p) {
  const r = relative(root, resolve(p));
  if (r.startsWith('..')) throw new Error(`${p} must lie under ${root}`);
  return `/${r}`;
}

export async function runBenchPage(browser, url, timeoutMs = 600000) {
  const page = await browser.newPage();
  try {
    await page.goto(url);
    await page.waitForFunction(() => window.benchResult !== undefined, null, { timeout: timeoutMs });
    const r = await page.evaluate(() => window.benchResult);
    if (r.error) throw new Error(`${url}: ${r.error}`);
    return r;
  } finally {
    await page.close();
  }
}
