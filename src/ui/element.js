// The <partway-upload> element's class. A custom element must be a JavaScript class
// extending HTMLElement, which Rust cannot declare; this shell only forwards the
// lifecycle, attribute changes and methods to the wasm `Host`, where the work is done.

// Properties that may have been set on the element before its class was defined.
const UPGRADED = ['messages'];

export function defineElement(tag, connect) {
  const existing = customElements.get(tag);
  if (existing) return existing;

  class PartwayUpload extends HTMLElement {
    static observedAttributes = ['locale', 'disabled', 'accept', 'multiple', 'live'];
    #host = null;
    #messages = {};

    constructor() {
      super();
      if (!this.shadowRoot) this.attachShadow({ mode: 'open' });
    }

    connectedCallback() {
      for (const name of UPGRADED) {
        if (Object.prototype.hasOwnProperty.call(this, name)) {
          const value = this[name];
          delete this[name];
          this[name] = value;
        }
      }
      if (!this.#host) this.#host = connect(this, this.shadowRoot);
    }

    disconnectedCallback() {
      // Moving the element disconnects and reconnects it within one task: only an
      // element still out of the page at the next microtask is torn down.
      queueMicrotask(() => {
        if (!this.isConnected && this.#host) {
          this.#host.free();
          this.#host = null;
        }
      });
    }

    attributeChangedCallback(name) {
      this.#host?.attributeChanged(name);
    }

    /** Per-element overrides of the widget's words, by message key. */
    get messages() { return this.#messages; }
    set messages(value) {
      this.#messages = value ?? {};
      this.#host?.attributeChanged('messages');
    }

    /** A snapshot of every row. */
    get files() { return this.#host ? this.#host.files() : []; }

    addFiles(files) { this.#connected('addFiles').addFiles(Array.from(files ?? [])); }
    pauseAll() { this.#host?.pauseAll(); }
    resumeAll() { this.#host?.resumeAll(); }
    cancelAll() { this.#host?.cancelAll(); }
    retry(id) { this.#host?.retry(String(id)); }
    clear() { this.#host?.clear(); }

    #connected(method) {
      if (!this.#host) throw new Error(`<${tag}>.${method}(): the element is not in the page`);
      return this.#host;
    }
  }

  customElements.define(tag, PartwayUpload);
  return PartwayUpload;
}
