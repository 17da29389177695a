// partway-upload/manual: loads the widget's wasm only when asked, from where the page
// says. `import "partway-upload"` does the same at once, with the wasm next to it.
import init, { mountElement } from './wasm/partway.js';

let loading = null;

/**
 * Loads the wasm (once) and so registers <partway-upload>. `wasmUrl` defaults to the
 * file shipped next to this module.
 */
export function load(options = {}) {
  const wasmUrl = options.wasmUrl ?? new URL('./wasm/partway_bg.wasm', import.meta.url);
  loading ??= init({ module_or_path: wasmUrl });
  return loading.then(() => customElements.get('partway-upload'));
}

/**
 * Creates a <partway-upload> inside `target`, configured by `options` (the attributes
 * in camelCase, plus `getToken`, `messages` and `wasmUrl`), and returns it.
 */
export async function mount(target, options = {}) {
  const { wasmUrl, ...settings } = options;
  await load({ wasmUrl });
  return mountElement(target, settings);
}
