// Slingshot's JavaScript API (docs/js-api.md): an ES module for any page (no bundler)
// and for node >= 20. The wasm core runs in a worker (web/slingshot-worker.js: a module
// Worker in browsers, a worker_threads Worker in node), so attacks never block the page;
// every heavy call returns a Promise. Listings (engines, attacks, defenses with their
// parameter schemas) are fetched once at startup and are plain arrays.
//
// Cancelling a run (an AbortSignal) rejects it at once with an AbortError. The worker is
// busy inside a synchronous wasm call, so it is stopped one of two ways:
//   'flag'       a SharedArrayBuffer flag its progress callback reads (~every 40 ms);
//                needs crossOriginIsolated in browsers (scripts/serve.mjs sends the
//                COOP/COEP headers), always available in node;
//   'terminate'  the worker is terminated and a fresh one started, which reloads every
//                model from the bytes kept here (model ids stay valid).

const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';

function abortError(message = 'the run was cancelled') {
  const e = new Error(message);
  e.name = 'AbortError';
  return e;
}

async function startWorker(workerUrl) {
  let worker;
  if (isNode) {
    const { Worker } = await import('node:worker_threads');
    worker = new Worker(workerUrl);
  } else {
    worker = new Worker(workerUrl, { type: 'module' });
  }
  const listeners = new Set();
  const deliver = (data) => { for (const f of listeners) f(data); };
  if (isNode) {
    worker.on('message', deliver);
    worker.on('error', (e) => deliver({ type: 'crashed', error: { name: 'Error', message: String(e && e.message) } }));
  } else {
    worker.onmessage = (e) => deliver(e.data);
    worker.onerror = (e) => deliver({ type: 'crashed', error: { name: 'Error', message: e.message || 'worker error' } });
  }
  const listings = await new Promise((resolve, reject) => {
    // node: an idle worker must not keep the process alive; pending calls ref it again.
    const first = (m) => {
      if (m.type === 'ready') {
        if (isNode) worker.unref();
        resolve(m.listings);
      }
      else if (m.type === 'failed' || m.type === 'crashed') reject(new Error(`slingshot worker: ${m.error.message}`));
      else return;
      listeners.delete(first);
    };
    listeners.add(first);
  });
  return { worker, listeners, listings, post: (m) => worker.postMessage(m) };
}

class Slingshot {
  #workerUrl;
  #cancelMode;
  #current;            // {worker, listeners, post}
  #pending = new Map(); // request id -> {resolve, reject, onProgress}
  #nextId = 1;
  #models = new Map();  // public model id -> {bytes, name, workerId}
  #nextModelId = 1;
  #restarting = null;

  constructor(workerUrl, cancelMode, started) {
    this.#workerUrl = workerUrl;
    this.#cancelMode = cancelMode;
    this.#attach(started);
    const l = started.listings;
    /** @type {string} */ this.version = l.version;
    this.engines = l.engines;
    this.gradientSources = l.gradientSources;
    this.attacks = l.attacks;
    this.defenses = l.defenses;
    this.cancelMode = cancelMode;
  }

  #attach(started) {
    this.#current = started;
    started.listeners.add((m) => this.#onMessage(m));
  }

  #onMessage(m) {
    if (m.type === 'crashed') {
      for (const [id, p] of this.#pending) {
        this.#settle(id);
        p.reject(new Error(`slingshot worker crashed: ${m.error.message}`));
      }
      return;
    }
    const p = this.#pending.get(m.id);
    if (!p) return;
    if (m.progress) {
      if (p.onProgress) p.onProgress(m.progress);
      return;
    }
    this.#settle(m.id);
    if (m.ok) p.resolve(m.result);
    else p.reject(m.error.name === 'AbortError' ? abortError(m.error.message) : new Error(m.error.message));
  }

  // node keeps the process alive exactly while calls are pending.
  #track(id, entry) {
    this.#pending.set(id, entry);
    if (isNode && this.#pending.size === 1) this.#current.worker.ref();
  }
  #settle(id) {
    this.#pending.delete(id);
    if (isNode && this.#pending.size === 0) this.#current.worker.unref();
  }

  async #call(op, args, extra = {}) {
    if (this.#restarting) await this.#restarting;
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#track(id, { resolve, reject, onProgress: extra.onProgress });
      this.#current.post({ id, op, args, cancel: extra.cancel, wantProgress: !!extra.onProgress });
      if (extra.register) extra.register(id);
    });
  }

  #workerModelId(id) {
    const m = this.#models.get(id);
    if (!m) throw new Error(`no loaded model has id ${id}`);
    return m.workerId;
  }

  // Starts a fresh worker after a terminate-style cancel and reloads every model.
  async #restart() {
    this.#current.worker.terminate();
    this.#restarting = (async () => {
      const started = await startWorker(this.#workerUrl);
      this.#attach(started);
      for (const m of this.#models.values()) {
        const id = this.#nextId++;
        m.workerId = await new Promise((resolve, reject) => {
          this.#track(id, { resolve: (info) => resolve(info.id), reject });
          started.post({ id, op: 'loadModel', args: [m.bytes, m.name] });
        });
      }
    })();
    try {
      await this.#restarting;
    } finally {
      this.#restarting = null;
    }
  }

  /** Loads a model file's bytes; resolves to its description (with the id to use). */
  async loadModel(bytes, name = 'model') {
    const copy = bytes instanceof Uint8Array ? bytes.slice() : new Uint8Array(bytes);
    const info = await this.#call('loadModel', [copy, name]);
    const id = this.#nextModelId++;
    this.#models.set(id, { bytes: copy, name, workerId: info.id });
    return { ...info, id };
  }

  async unloadModel(id) {
    const workerId = this.#workerModelId(id);
    await this.#call('unloadModel', [workerId]);
    this.#models.delete(id);
    return true;
  }

  modelCount() { return this.#call('modelCount', []); }
  /** {heapBytes, allocatedBytes} of the wasm heap (for leak checks). */
  memoryStats() { return this.#call('memoryStats', []); }
  decodeImage(bytes, height, width, channels) { return this.#call('decodeImage', [bytes, height, width, channels]); }
  decodeWav(bytes) { return this.#call('decodeWav', [bytes]); }

  /** engine '' (default): int8-ref for quantized models, float for float ones. */
  async predict(modelId, input, engine = '') {
    return this.#call('predict', [this.#workerModelId(modelId), input, engine]);
  }

  /** One attack on one input; see docs/js-api.md for the request and the result. */
  runAttack(request, options = {}) {
    return this.#cancellable('runAttack', { ...request, modelId: this.#workerModelId(request.modelId) }, options);
  }

  /**
   * Robust accuracy against eps for several lines (models or engines) at once; progress
   * events carry the lines so far after every finished point.
   */
  robustnessCurve(request, options = {}) {
    const lines = (request.lines ?? []).map((l) =>
      (l && l.modelId !== undefined ? { ...l, modelId: this.#workerModelId(l.modelId) } : l));
    return this.#cancellable('robustnessCurve',
      { ...request, modelId: this.#workerModelId(request.modelId), lines }, options);
  }

  /** MFCC and log-mel features of a 1 s, 16 kHz waveform (what a keyword model hears). */
  audioFeatures(waveform) { return this.#call('audioFeatures', [waveform]); }

  /** A C header with the int8 input tensor of `input` and the int8 output it must give. */
  async cHeader(modelId, input, name = 'slingshot_example', comment = '') {
    return this.#call('cHeader', [this.#workerModelId(modelId), input, name, comment]);
  }

  // A long call with progress events that an AbortSignal stops: through the shared flag
  // the worker's progress callback reads, or by replacing the worker.
  async #cancellable(op, workerRequest, { onProgress, signal } = {}) {
    if (signal?.aborted) throw abortError();
    const flag = this.#cancelMode === 'flag' ? new SharedArrayBuffer(4) : undefined;
    let requestId = 0;
    let onAbort;
    const run = this.#call(op, [workerRequest], { onProgress, cancel: flag, register: (id) => { requestId = id; } });
    if (!signal) return run;
    const aborted = new Promise((_, reject) => {
      onAbort = () => {
        const pending = this.#pending.get(requestId);
        this.#settle(requestId);
        if (flag) {
          Atomics.store(new Int32Array(flag), 0, 1);
        } else {
          this.#restart().catch(() => {});
        }
        reject(abortError());
        if (pending) pending.reject(abortError());
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([run, aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** Stops the worker; the object is unusable afterwards. */
  terminate() {
    this.#current.worker.terminate();
    for (const [, p] of this.#pending) p.reject(new Error('slingshot was terminated'));
    this.#pending.clear();
  }
}

/**
 * Starts the worker and resolves once the core is loaded.
 * @param {{baseUrl?: string|URL, cancelMode?: 'flag'|'terminate'}} [options]
 */
export async function createSlingshot({ baseUrl, cancelMode } = {}) {
  const base = baseUrl ? new URL(baseUrl, isNode ? undefined : globalThis.location?.href) : new URL('./', import.meta.url);
  const workerUrl = new URL('slingshot-worker.js', base);
  const flagAvailable = typeof SharedArrayBuffer === 'function' && (isNode || globalThis.crossOriginIsolated === true);
  const mode = cancelMode ?? (flagAvailable ? 'flag' : 'terminate');
  if (mode === 'flag' && !flagAvailable)
    throw new Error("cancelMode 'flag' needs SharedArrayBuffer (a crossOriginIsolated page)");
  if (mode !== 'flag' && mode !== 'terminate') throw new Error(`unknown cancelMode '${mode}'`);
  const started = await startWorker(workerUrl);
  return new Slingshot(workerUrl, mode, started);
}
