// Part checksums off the main thread: SHA-256 (WebCrypto) or CRC-64/NVME. Chromium runs
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

export { crc64nvme };
