// partway-upload: importing this module registers <partway-upload>, loading the wasm
// that sits next to it. For a wasm served from elsewhere, use "partway-upload/manual".
import { load } from './manual.js';

export { load, mount } from './manual.js';

load();
