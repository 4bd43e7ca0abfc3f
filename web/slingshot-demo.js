// <slingshot-demo model="resnet8_int8" attack="pgd" eps="8/255" ...>: the embeddable
// widget (embed.html, docs/embed.md) as a custom element. It takes the widget's query
// parameters as attributes and renders embed.html in an iframe, which keeps the host
// page's styles out of the widget (and the widget's out of the page) and gives every demo
// its own worker, so two demos on one page never wait for each other. The iframe follows
// the widget's height, which embed.js reports by postMessage.
const EMBED_URL = new URL('./embed.html', import.meta.url);

// Attributes that belong to the element itself, not to the demo.
const GLOBAL = /^(id|class|style|title|hidden|slot|part|lang|dir|tabindex|is|role|data-.*|aria-.*)$/;

class SlingshotDemo extends HTMLElement {
  #iframe;
  #pending = false;
  #observer;

  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    const style = document.createElement('style');
    style.textContent = ':host { display: block; max-width: 560px; }' +
      ' :host([hidden]) { display: none; }' +
      ' iframe { display: block; width: 100%; height: 360px; border: 0; }';
    this.#iframe = document.createElement('iframe');
    this.#iframe.loading = 'lazy';
    root.append(style, this.#iframe);
  }

  // Any attribute can be an attack setting (eps, max_iter, p_init, ...), so a
  // MutationObserver watches all of them: observedAttributes needs a fixed list.
  connectedCallback() {
    this.#observer = new MutationObserver(() => this.#update());
    this.#observer.observe(this, { attributes: true });
    window.addEventListener('message', this.#onMessage);
    this.#update();
  }

  disconnectedCallback() {
    this.#observer.disconnect();
    window.removeEventListener('message', this.#onMessage);
  }

  /** The embed.html URL this element shows. */
  get src() {
    const q = new URLSearchParams();
    for (const { name, value } of this.attributes) {
      if (GLOBAL.test(name)) continue;
      // An attribute cannot repeat, so several defenses share one, separated by spaces.
      if (name === 'defense') for (const spec of value.split(/\s+/).filter(Boolean)) q.append(name, spec);
      else q.append(name, value);
    }
    const url = new URL(EMBED_URL);
    url.search = q.toString();
    return url.href;
  }

  // Several attribute changes in one task reload the iframe once.
  #update() {
    if (this.#pending) return;
    this.#pending = true;
    queueMicrotask(() => {
      this.#pending = false;
      const src = this.src;
      if (this.#iframe.src !== src) this.#iframe.src = src;
      this.#iframe.title = this.getAttribute('title') ??
        `Slingshot demo: ${this.getAttribute('attack') ?? 'pgd'} on ${this.getAttribute('model') ?? 'the default model'}`;
    });
  }

  #onMessage = (event) => {
    if (event.source !== this.#iframe.contentWindow || event.origin !== EMBED_URL.origin) return;
    const { type, height } = event.data ?? {};
    if (type === 'slingshot-demo:size' && Number.isFinite(height) && height > 0) this.#iframe.style.height = `${height}px`;
  };
}

if (!customElements.get('slingshot-demo')) customElements.define('slingshot-demo', SlingshotDemo);
