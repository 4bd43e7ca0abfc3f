// What the browser tests and benchmarks share: the repository's static server
// (scripts/serve.mjs) on a random local port, and Debian's Chromium headless with the
// flags DESIGN.md lists (no background traffic, so every request is the page's own).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// Resolves to {port, origin, stop()} once the server listens on 127.0.0.1:port.
export async function startStaticServer(firstPort) {
  const port = firstPort + Math.floor(Math.random() * 200);
  const server = spawn(process.execPath, [resolve(repoRoot, 'scripts/serve.mjs'), '--port', String(port)],
                       { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((ok, bad) => {
    const timer = setTimeout(() => bad(new Error('static server did not start within 10 s')), 10000);
    server.stdout.on('data', (d) => { if (String(d).includes(`127.0.0.1:${port}`)) { clearTimeout(timer); ok(); } });
    server.on('exit', (code) => bad(new Error(`static server exited with ${code}`)));
  });
  return { port, origin: `http://127.0.0.1:${port}`, stop: () => server.kill() };
}

export async function launchChromium() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
           '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
}

// Whether a request stays on the page's origin: its own URLs, blob: URLs it created, and
// inline data: URLs (neither of the last two leaves the machine).
export function staysOnOrigin(url, origin) {
  return url.startsWith(`${origin}/`) || url.startsWith(`blob:${origin}/`) || url.startsWith('data:');
}

// The frame of a page test (tests/web/*_e2e.mjs): exits 77 while web/build/ has no wasm,
// makes the screenshot directory (argv[2], else build/NAME), and collects failed checks;
// finish() prints them and exits 1, or prints the summary.
export function pageTest(name) {
  if (!existsSync(resolve(repoRoot, 'web/build/slingshot_web.wasm'))) {
    console.error('web/build/slingshot_web.wasm is missing: build the wasm preset first');
    process.exit(77);
  }
  const outDir = resolve(process.argv[2] ?? resolve(repoRoot, `build/${name}`));
  mkdirSync(outDir, { recursive: true });
  const problems = [];
  const started = Date.now();
  const seconds = () => ((Date.now() - started) / 1000).toFixed(1);
  return {
    root: repoRoot,
    outDir,
    check: (ok, message) => { if (!ok) problems.push(message); return ok; },
    log: (m) => console.log(`[${seconds()} s] ${m}`),
    finish() {
      if (problems.length) {
        for (const p of problems) console.error(`FAIL ${p}`);
        process.exit(1);
      }
      console.log(`${name.replace(/_/g, ' ')} test passed in ${seconds()} s; screenshots in ${outDir}`);
    },
  };
}
