// Checksums off the main thread: each part's SHA-256 (WebCrypto) or CRC-64/NVME, and on
// request the whole file's SHA-256 as a stream. Chromium runs
// WebCrypto's digest on the calling thread (measured: about 16 ms of main thread per
// 8 MiB part, 2 s per GiB), so parts are summed in one dedicated Worker shared by every
// element on the page. Its script is inline (a blob: URL), so nothing has to be served
// beside the module. Where a Worker cannot start (a Content-Security-Policy without
// `worker-src blob:`), the same code runs on the main thread instead.

// CRC-64/NVME (reflected polynomial 0x9A6C9329AC4BC9B5, init and xorout all ones) of
// an ArrayBuffer, as its 8 big-endian bytes: what `x-amz-checksum-crc64nvme` carries.
// JavaScript has no 64-bit integers but BigInt, which is slow, so the CRC is kept as two
// 32-bit halves and the bytes go 8 at a time through 8 tables ("slicing by 8"). WebCrypto
// has no CRC; the Rust `crc` crate checks the same values on the server.
function crc64nvme(buffer) {
  const T = crc64nvme.tables || (crc64nvme.tables = (() => {
    const lo = new Uint32Array(8 * 256);
    const hi = new Uint32Array(8 * 256);
    for (let i = 0; i < 256; i++) {
      let l = i, h = 0;
      for (let b = 0; b < 8; b++) {
        const odd = l & 1;
        l = (l >>> 1) | ((h & 1) << 31);
        h = h >>> 1;
        if (odd) { h ^= 0x9a6c9329; l ^= 0xac4bc9b5; }
      }
      lo[i] = l; hi[i] = h;
    }
    for (let k = 1; k < 8; k++) {
      for (let i = 0; i < 256; i++) {
        const pl = lo[(k - 1) * 256 + i], ph = hi[(k - 1) * 256 + i];
        const j = pl & 0xff;
        lo[k * 256 + i] = ((pl >>> 8) | (ph << 24)) ^ lo[j];
        hi[k * 256 + i] = (ph >>> 8) ^ hi[j];
      }
    }
    return { lo, hi };
  })());
  const { lo: TL, hi: TH } = T;
  const bytes = new Uint8Array(buffer);
  let l = 0xffffffff, h = 0xffffffff;
  let i = 0;
  const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
  if (littleEndian && bytes.byteOffset % 4 === 0) {
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset, Math.floor(bytes.length / 8) * 2);
    for (let w = 0; w < words.length; w += 2) {
      const a = l ^ words[w], b = h ^ words[w + 1];
      const i7 = 7 * 256 + (a & 0xff), i6 = 6 * 256 + ((a >>> 8) & 0xff);
      const i5 = 5 * 256 + ((a >>> 16) & 0xff), i4 = 4 * 256 + (a >>> 24);
      const i3 = 3 * 256 + (b & 0xff), i2 = 2 * 256 + ((b >>> 8) & 0xff);
      const i1 = 256 + ((b >>> 16) & 0xff), i0 = b >>> 24;
      l = TL[i7] ^ TL[i6] ^ TL[i5] ^ TL[i4] ^ TL[i3] ^ TL[i2] ^ TL[i1] ^ TL[i0];
      h = TH[i7] ^ TH[i6] ^ TH[i5] ^ TH[i4] ^ TH[i3] ^ TH[i2] ^ TH[i1] ^ TH[i0];
    }
    i = words.length * 4;
  }
  for (; i < bytes.length; i++) {
    const j = (l ^ bytes[i]) & 0xff;
    l = ((l >>> 8) | (h << 24)) ^ TL[j];
    h = (h >>> 8) ^ TH[j];
  }
  const out = new DataView(new ArrayBuffer(8));
  out.setUint32(0, ~h >>> 0);
  out.setUint32(4, ~l >>> 0);
  return out.buffer;
}

// SHA-256 (FIPS 180-4) fed chunk by chunk, for the whole file: WebCrypto digests only a
// buffer held whole, and a file may be larger than memory. The round constants are the
// first 32 bits of the fractional parts of the cube roots of the first 64 primes, the
// initial state those of the square roots of the first 8; computed, not typed in.
function sha256Stream() {
  const primes = [];
  for (let n = 2; primes.length < 64; n++) if (primes.every((p) => n % p)) primes.push(n);
  // Int32Array throughout: V8 keeps 32-bit signed values as small integers, but reads
  // of a Uint32Array above 2^31 as doubles, which made this twice as slow.
  const frac = (x) => ((x - Math.floor(x)) * 2 ** 32) | 0;
  const K = Int32Array.from(primes, (p) => frac(Math.cbrt(p)));
  const H = Int32Array.from(primes.slice(0, 8), (p) => frac(Math.sqrt(p)));
  const W = new Int32Array(64);
  const block = new Uint8Array(64);
  const blockView = new DataView(block.buffer);
  let fill = 0;
  let length = 0;
  function compress(view, off) {
    for (let i = 0; i < 16; i++) W[i] = view.getInt32(off + 4 * i);
    for (let i = 16; i < 64; i++) {
      const x = W[i - 15], y = W[i - 2];
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
    }
    let a = H[0], b1 = H[1], c = H[2], d = H[3], e = H[4], f = H[5], g = H[6], h = H[7];
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i] + W[i]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (S0 + ((a & b1) ^ (a & c) ^ (b1 & c))) | 0;
      h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b1; b1 = a; a = (t1 + t2) | 0;
    }
    H[0] += a; H[1] += b1; H[2] += c; H[3] += d; H[4] += e; H[5] += f; H[6] += g; H[7] += h;
  }
  return {
    update(chunk) {
      length += chunk.length;
      let i = 0;
      if (fill > 0) {
        i = Math.min(64 - fill, chunk.length);
        block.set(chunk.subarray(0, i), fill);
        fill += i;
        if (fill < 64) return;
        compress(blockView, 0);
        fill = 0;
      }
      const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      for (; i + 64 <= chunk.length; i += 64) compress(view, i);
      block.set(chunk.subarray(i), 0);
      fill = chunk.length - i;
    },
    digest() {
      const bits = length * 8;
      block[fill++] = 0x80;
      if (fill > 56) {
        block.fill(0, fill);
        compress(blockView, 0);
        fill = 0;
      }
      block.fill(0, fill, 56);
      blockView.setUint32(56, Math.floor(bits / 2 ** 32));
      blockView.setUint32(60, bits >>> 0);
      compress(blockView, 0);
      const out = new DataView(new ArrayBuffer(32));
      H.forEach((word, i) => out.setUint32(4 * i, word));
      return out.buffer;
    },
  };
}

// The whole blob's SHA-256, or null once `stopped()` says so (checked between chunks).
async function streamSha256(blob, stopped) {
  const hasher = sha256Stream();
  const reader = blob.stream().getReader();
  for (;;) {
    if (stopped()) {
      await reader.cancel();
      return null;
    }
    const { done, value } = await reader.read();
    if (done) return hasher.digest();
    hasher.update(value);
  }
}

async function sum(algo, blob) {
  const buffer = await blob.arrayBuffer();
  return algo === 'crc64nvme' ? crc64nvme(buffer) : crypto.subtle.digest('SHA-256', buffer);
}

const SOURCE = `${crc64nvme.toString()}
${sum.toString()}
self.onmessage = async (e) => {
  const { id, algo, blob } = e.data;
  try {
    const digest = await sum(algo, blob);
    self.postMessage({ id, digest }, [digest]);
  } catch (err) {
    self.postMessage({ id, error: String((err && err.message) || err) });
  }
};`;

let worker; // undefined: not started yet; null: unavailable, sum on the main thread
let nextId = 0;
const pending = new Map();

function giveUp() {
  worker = null;
  for (const [id, job] of pending) {
    pending.delete(id);
    sum(job.algo, job.blob).then(job.resolve, job.reject);
  }
}

/** Settles the job a Worker answered for, if it still waits (not cancelled). */
function settle(jobs, { id, digest, error }) {
  const job = jobs.get(id);
  if (!job) return;
  jobs.delete(id);
  if (error === undefined) job.resolve(digest);
  else job.reject(new Error(error));
}

function start() {
  if (worker !== undefined) return worker;
  try {
    worker = new Worker(URL.createObjectURL(new Blob([SOURCE], { type: 'text/javascript' })));
    worker.onmessage = (e) => settle(pending, e.data);
    worker.onerror = giveUp;
    worker.onmessageerror = giveUp;
  } catch {
    worker = null;
  }
  return worker;
}

/**
 * The checksum of `blob` (`algo`: 'sha256' or 'crc64nvme') as a promise of an
 * ArrayBuffer, or null for SHA-256 when the page has no WebCrypto (not a secure
 * context) and the caller must hash by itself.
 */
export function partSum(algo, blob) {
  if (algo !== 'crc64nvme' && !(globalThis.crypto && crypto.subtle)) return null;
  const w = start();
  if (!w) return sum(algo, blob);
  return new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { algo, blob, resolve, reject });
    w.postMessage({ id, algo, blob });
  });
}

const FILE_SOURCE = `${sha256Stream.toString()}
${streamSha256.toString()}
const stop = new Set();
self.onmessage = async (e) => {
  const { id, blob, cancel } = e.data;
  if (cancel !== undefined) {
    stop.add(cancel);
    return;
  }
  try {
    const digest = await streamSha256(blob, () => stop.has(id));
    if (digest) self.postMessage({ id, digest }, [digest]);
  } catch (err) {
    self.postMessage({ id, error: String((err && err.message) || err) });
  } finally {
    stop.delete(id);
  }
};`;

// Whole files are streamed in a second Worker shared by every upload on the page, so that
// the parts' checksums never wait behind a whole file (undefined: not started; null:
// unavailable, streamed on the main thread a chunk per task).
let fileWorker;
const fileJobs = new Map(); // id -> { blob, resolve, reject, stopped }

function fileWorkerGone() {
  fileWorker = null;
  for (const [id, job] of fileJobs) streamHere(id, job);
}

function streamHere(id, job) {
  streamSha256(job.blob, () => job.stopped).then((digest) => {
    fileJobs.delete(id);
    if (digest) job.resolve(digest);
  }, (err) => {
    fileJobs.delete(id);
    job.reject(err);
  });
}

function startFileWorker() {
  if (fileWorker !== undefined) return fileWorker;
  try {
    fileWorker = new Worker(URL.createObjectURL(new Blob([FILE_SOURCE], { type: 'text/javascript' })));
    fileWorker.onmessage = (e) => settle(fileJobs, e.data);
    fileWorker.onerror = (e) => {
      // The Worker could not run (a Content-Security-Policy): stream here instead.
      e.preventDefault();
      fileWorkerGone();
    };
    fileWorker.onmessageerror = fileWorkerGone;
  } catch {
    fileWorker = null;
  }
  return fileWorker;
}

/**
 * The SHA-256 of a whole file, read as a stream, as a promise of an ArrayBuffer. `id`
 * names the job for `cancelFileSha256`, which rejects it.
 */
export function fileSha256(id, blob) {
  return new Promise((resolve, reject) => {
    const job = { blob, resolve, reject, stopped: false };
    fileJobs.set(id, job);
    const w = startFileWorker();
    if (w) w.postMessage({ id, blob });
    else streamHere(id, job);
  });
}

/** Stops streaming the file of job `id` (its upload ended): no more of it is read. */
export function cancelFileSha256(id) {
  const job = fileJobs.get(id);
  if (!job) return;
  fileJobs.delete(id);
  job.stopped = true;
  if (fileWorker) fileWorker.postMessage({ cancel: id });
  job.reject(new Error('cancelled'));
}

/** SHA-256 of the given chunks fed one after another (tests check the chunk seams). */
function sha256OfChunks(chunks) {
  const hasher = sha256Stream();
  for (const c of chunks) hasher.update(c);
  return hasher.digest();
}

export { crc64nvme, sha256OfChunks };
