// The Slingshot worker: loads the wasm core (build/slingshot_web.js next to this file)
// and runs the heavy calls of web/slingshot.js off the page's thread. It runs as a
// browser module Worker or a node worker_threads Worker; the protocol is the same.
//
//   in:  {id, op, args, cancel?: SharedArrayBuffer}       op: loadModel, unloadModel, ...
//   out: {type: 'ready', listings} | {type: 'failed', error}      once, at startup
//        {id, progress}                                    runAttack/robustnessCurve progress
//        {id, ok: true, result} | {id, ok: false, error: {name, message}}
//
// A run is cancelled through the shared flag `cancel` (Int32 at 0 set to 1), which the
// progress callback reads: the worker is inside a synchronous wasm call and cannot
// receive messages until it returns.

const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof self === 'undefined';

async function connect() {
  if (!isNode) return { post: (m) => self.postMessage(m), listen: (f) => { self.onmessage = (e) => f(e.data); } };
  const { parentPort } = await import('node:worker_threads');
  return { post: (m) => parentPort.postMessage(m), listen: (f) => parentPort.on('message', f) };
}

async function loadCore() {
  const moduleUrl = new URL('./build/slingshot_web.js', import.meta.url);
  if (!isNode) {
    const { default: create } = await import(moduleUrl.href);
    return create({ locateFile: (file) => new URL(`./build/${file}`, import.meta.url).href });
  }
  // Emscripten 3.1.6's ES6 output refers to CommonJS globals under node; giving it the
  // wasm bytes directly also keeps it away from node's fetch.
  const { createRequire } = await import('node:module');
  const { readFile } = await import('node:fs/promises');
  const { fileURLToPath } = await import('node:url');
  const path = await import('node:path');
  globalThis.require = createRequire(moduleUrl);
  globalThis.__dirname = path.dirname(fileURLToPath(moduleUrl));
  const wasmBinary = await readFile(new URL('./build/slingshot_web.wasm', import.meta.url));
  const { default: create } = await import(moduleUrl.href);
  return create({ wasmBinary });
}

function errorOf(e) {
  const message = e && e.message !== undefined ? String(e.message) : String(e);
  // The core's kCancelled status reads "cancelled: ...".
  return { name: message.startsWith('cancelled') ? 'AbortError' : 'Error', message };
}

const port = await connect();
let core;
try {
  core = await loadCore();
} catch (e) {
  port.post({ type: 'failed', error: errorOf(e) });
}

if (core) {
  const ops = {
    loadModel: (bytes, name) => core.loadModel(bytes, name),
    unloadModel: (id) => core.unloadModel(id),
    modelCount: () => core.modelCount(),
    decodeImage: (bytes, h, w, c) => core.decodeImage(bytes, h, w, c),
    decodeWav: (bytes) => core.decodeWav(bytes),
    predict: (id, input, engine) => core.predict(id, input, engine),
    memoryStats: () => core.memoryStats(),
    audioFeatures: (waveform) => core.audioFeatures(waveform),
    cHeader: (id, input, name, comment) => core.cHeader(id, input, name, comment),
  };

  port.listen((message) => {
    const { id, op, args = [], cancel, wantProgress } = message;
    try {
      let result;
      if (op === 'runAttack' || op === 'robustnessCurve') {
        const flag = cancel ? new Int32Array(cancel) : null;
        result = core[op](args[0], (event) => {
          // Never throw into wasm: a JS exception would unwind it without destructors.
          try {
            if (wantProgress) port.post({ id, progress: event });
            return !(flag && Atomics.load(flag, 0) !== 0);
          } catch {
            return false;
          }
        });
      } else if (ops[op]) {
        result = ops[op](...args);
      } else {
        throw new Error(`unknown operation '${op}'`);
      }
      port.post({ id, ok: true, result });
    } catch (e) {
      port.post({ id, ok: false, error: errorOf(e) });
    }
  });

  port.post({
    type: 'ready',
    listings: {
      version: core.version(),
      engines: core.engines(),
      gradientSources: core.gradientSources(),
      attacks: core.attacks(),
      defenses: core.defenses(),
    },
  });
}
