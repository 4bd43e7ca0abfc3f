#!/usr/bin/env node
// Tiny dependency-free static file server for the web page: binds 127.0.0.1 only, serves
// one directory with the MIME types wasm and ES modules need, and refuses paths outside it
// and hidden entries (.git, .ci, ...). The default root is the repository, so the page is
// at /web/ and can reach models/ and node_modules/ by relative URL; / redirects there.
// Usage: node scripts/serve.mjs [--root DIR] [--port N]   (defaults: repo root, 8737)
import { createServer } from 'node:http';
import { createReadStream, promises as fs, realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
function option(name, fallback) {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
}
const root = path.resolve(repoRoot, option('--root', '.'));
const port = Number(option('--port', process.env.SLING_PORT || 8737));
const host = '127.0.0.1';
let realRoot;
try {
  realRoot = realpathSync(root);
} catch {
  console.error(`serve: ${root} does not exist`);
  process.exit(2);
}
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`serve: bad --port ${option('--port')}`);
  process.exit(2);
}

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.wav': 'audio/wav',
  '.txt': 'text/plain; charset=utf-8',
  '.safetensors': 'application/octet-stream',
  '.bin': 'application/octet-stream',
};

async function exists(p) {
  return fs.access(p).then(() => true, () => false);
}

function send(res, status, text) {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

const server = createServer(async (req, res) => {
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed\n');
  let rel;
  try {
    rel = decodeURIComponent(new URL(req.url, 'http://localhost').pathname);
  } catch {
    return send(res, 400, 'bad request\n');
  }
  if (rel.includes('\0')) return send(res, 400, 'bad request\n');
  let file = path.resolve(root, '.' + path.posix.normalize('/' + rel));
  // Refuse anything that resolves outside the root, including through symlinks.
  const inside = (p, dir) => p === dir || p.startsWith(dir + path.sep);
  if (!inside(file, root)) return send(res, 403, 'forbidden\n');
  if (rel.split('/').some((part) => part.startsWith('.'))) return send(res, 404, 'not found\n');
  try {
    let stat = await fs.stat(file);
    if (stat.isDirectory()) {
      // Relative URLs in a page need the trailing slash; the bare root goes to the page.
      const target = !rel.endsWith('/') ? rel + '/' : rel === '/' && !(await exists(path.join(root, 'index.html')))
        && (await exists(path.join(root, 'web/index.html'))) ? '/web/' : null;
      if (target) {
        res.writeHead(302, { Location: target, 'Content-Length': 0 });
        return res.end();
      }
      file = path.join(file, 'index.html');
      stat = await fs.stat(file);
    }
    if (!inside(await fs.realpath(file), realRoot)) return send(res, 403, 'forbidden\n');
    res.writeHead(200, {
      'Content-Type': MIME[path.extname(file).toLowerCase()] || 'application/octet-stream',
      'Content-Length': stat.size,
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
      // Cross-origin isolation, so pages get SharedArrayBuffer and web/slingshot.js can
      // cancel a running attack through a shared flag instead of restarting its worker.
      // Everything is served from this one origin, so nothing else is blocked.
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
    });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file).pipe(res);
  } catch {
    send(res, 404, 'not found\n');
  }
});

server.on('error', (err) => {
  console.error(`serve: cannot listen on ${host}:${port}: ${err.message}`);
  process.exit(1);
});
server.listen(port, host, async () => {
  const page = (await exists(path.join(root, 'web/index.html'))) ? 'web/' : '';
  console.log(`Serving ${root} at http://${host}:${server.address().port}/${page}`);
});
