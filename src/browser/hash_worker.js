// SHA-256 of blobs off the main thread. Chromium runs WebCrypto's digest on the calling
// thread (measured: about 16 ms of main thread per 8 MiB part, 2 s per GiB), so parts are
// hashed in one dedicated Worker shared by every element on the page. Its script is
// inline (a blob: URL), so nothing has to be served beside the module. Where a Worker
// cannot start (a Content-Security-Policy without `worker-src blob:`), the same digest
// runs on the main thread instead.

const SOURCE = `self.onmessage = async (e) => {
  const { id, blob } = e.data;
  try {
    const digest = await crypto.subtle.digest('SHA-256', await blob.arrayBuffer());
    self.postMessage({ id, digest }, [digest]);
  } catch (err) {
    self.postMessage({ id, error: String((err && err.message) || err) });
  }
};`;

let worker; // undefined: not started yet; null: unavailable, hash on the main thread
let nextId = 0;
const pending = new Map();

async function onMainThread(blob) {
  return crypto.subtle.digest('SHA-256', await blob.arrayBuffer());
}

function giveUp() {
  worker = null;
  for (const [id, job] of pending) {
    pending.delete(id);
    onMainThread(job.blob).then(job.resolve, job.reject);
  }
}

function start() {
  if (worker !== undefined) return worker;
  try {
    worker = new Worker(URL.createObjectURL(new Blob([SOURCE], { type: 'text/javascript' })));
    worker.onmessage = (e) => {
      const job = pending.get(e.data.id);
      if (!job) return;
      pending.delete(e.data.id);
      if (e.data.error === undefined) job.resolve(e.data.digest);
      else job.reject(new Error(e.data.error));
    };
    worker.onerror = giveUp;
    worker.onmessageerror = giveUp;
  } catch {
    worker = null;
  }
  return worker;
}

/**
 * The SHA-256 of `blob` as a promise of an ArrayBuffer, or null when the page has no
 * WebCrypto (not a secure context) and the caller must hash by itself.
 */
export function sha256(blob) {
  if (!(globalThis.crypto && crypto.subtle)) return null;
  const w = start();
  if (!w) return onMainThread(blob);
  return new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { blob, resolve, reject });
    w.postMessage({ id, blob });
  });
}
