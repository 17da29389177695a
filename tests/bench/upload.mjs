// Benchmark (a script, not a test): one generated file uploaded, in the same run and
// against the same store, by each uploader a developer could pick, rounds interleaved:
//
//   partway  the demo page (<partway-upload>) at its defaults: SHA-256 per part
//   partway-crc  the same with checksum="crc64nvme": CRC-64/NVME per part and whole file
//   partway-whole  the defaults with file-sha256: the whole file's SHA-256 streamed besides
//   raw      a plain loop of N parallel XHR PUTs to URLs hashed and signed beforehand: the ceiling
//   uppy5    Uppy 5 (@uppy/core 5.2.0 + @uppy/aws-s3 5.1.0) at its defaults, no checksums
//   uppy6    Uppy 6 (@uppy/core 6.3.1 + @uppy/aws-s3 6.3.1) at its defaults, no checksums
//   raw-hash-blob    the raw loop with each part read and SHA-256'd in a Worker just before
//            its PUT, which sends the part's Blob: Partway's pipeline without the widget
//   raw-hash-buffer  the same, but the Worker PUTs the bytes it read (no second read of
//            the file); measured at a tenth of the speed, so not how Partway sends
//   read, read-sha256  no upload: the file's 8 MiB parts read into a Worker (and SHA-256'd
//            there), one after another: what checksumming costs any uploader, on its own
//
//   node bench/upload.mjs [--size-mib 1024] [--rounds 3] [--garage] [--modes partway,partway-crc,raw,uppy5,uppy6]
//                         [--raw-parallel 6] [--partway-query 'parallel=6&part_mib=16'] [--trace]
//
// --trace records a Chromium trace of each run and prints, for each long task of the
// page's main thread, its wall time and the CPU time the thread spent in it: a long task
// of little CPU is the thread waiting for one of the machine's cores, not the page's work.
//
// With --garage (source tests/services/garage.sh first) everything stores into that Garage;
// the Uppy modes need it (their backend, bench/uppy-backend.mjs, is an S3 client). The
// bench's own npm packages (bench/package.json, bench/uppy5, bench/uppy6) are installed
// on first use. Figures are ratios within one run: the machines are shared and noisy.
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { cpuSeconds, cpuSince } from './cpu.mjs';
import { uppyBundles } from './uppy-bundle.mjs';
import { longTasks, TRACE_CATEGORIES } from './trace.mjs';
import {
  freePort, garageArgs, launchBrowser, makeFile, ROOT, serviceEnv, setupCors, startServer, tempDir,
  WidgetPage,
} from '../e2e/harness.mjs';

const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '1024' },
    rounds: { type: 'string', default: '3' },
    garage: { type: 'boolean', default: false },
    modes: { type: 'string' },
    'raw-parallel': { type: 'string', default: '6' },
    'partway-query': { type: 'string', default: '' },
    trace: { type: 'boolean', default: false },
  },
});
const MiB = 1024 * 1024;
const size = Number(values['size-mib']) * MiB;
const rounds = Number(values.rounds);
const rawParallel = Number(values['raw-parallel']);
const rawPartSize = 8 * MiB;
const modes = (values.modes ?? (values.garage ? 'partway,partway-crc,raw,uppy5,uppy6' : 'partway,partway-crc,raw')).split(',');
if (!values.garage && modes.some((m) => m.startsWith('uppy'))) throw new Error('the Uppy modes need --garage');

const bundles = await uppyBundles(['uppy5', 'uppy6'].filter((m) => modes.includes(m)));
const { startUppyBackend } = await import('./uppy-backend.mjs');

execFileSync('cargo', ['build', '--profile', 'server', '-p', 'partway-server'], { cwd: ROOT, stdio: 'inherit' });
const binary = join(ROOT, 'target', 'server', 'partway-server');

/** Counts long tasks (> 50 ms) from page load; `window.benchLongTasks()` reads and resets. */
function watchLongTasks() {
  let tasks = [];
  new PerformanceObserver((list) => { for (const e of list.getEntries()) tasks.push(e.duration); })
    .observe({ type: 'longtask' });
  window.benchLongTasks = () => { const t = tasks; tasks = []; return t; };
}

/** The raw loop, run inside the page: hash and sign first (untimed), then time the PUTs. */
async function rawLoop({ partSize, parallel, hashIn = '' }) {
  const file = document.getElementById('bench-input').files[0];
  const json = (res) => { if (!res.ok) throw new Error(`${res.url}: ${res.status}`); return res.json(); };
  const { token } = await json(await fetch('/api/dev/token', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'bench-raw' }),
  }));
  const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const count = Math.max(1, Math.ceil(file.size / partSize));
  const b64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf)));
  const checksums = [];
  for (let i = 0; i < count; i++) {
    const buf = await file.slice(i * partSize, (i + 1) * partSize).arrayBuffer();
    checksums.push({ part_number: i + 1, sha256: b64(await crypto.subtle.digest('SHA-256', buf)) });
  }
  const created = await json(await fetch('/api/uploads', {
    method: 'POST', headers: auth,
    body: JSON.stringify({ name: file.name, size: file.size, content_type: file.type, part_size: partSize, parts: [] }),
  }));
  const signed = [];
  for (let i = 0; i < count; i += 50) {
    const res = await json(await fetch(`/api/uploads/${created.upload_id}/parts`, {
      method: 'POST', headers: auth, body: JSON.stringify({ parts: checksums.slice(i, i + 50) }),
    }));
    signed.push(...res.parts);
  }
  signed.sort((a, b) => a.part_number - b.part_number);
  window.benchLongTasks();

  const put = (p) => new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', p.url);
    for (const [k, v] of Object.entries(p.headers)) xhr.setRequestHeader(k, v);
    xhr.onload = () => (xhr.status < 300 ? resolve(xhr.getResponseHeader('ETag')) : reject(new Error(`PUT ${xhr.status}`)));
    xhr.onerror = () => reject(new Error(`PUT part ${p.part_number}: network error`));
    const start = (p.part_number - 1) * partSize;
    xhr.send(file.slice(start, start + partSize));
  });
  const etags = new Array(count);
  let next = 0;
  // hashIn: '' PUTs alone; 'blob' reads and hashes each part in a Worker, then PUTs the
  // part's Blob from the page; 'buffer' reads, hashes and PUTs the bytes read, in the Worker.
  const worker = hashIn ? new Worker(URL.createObjectURL(new Blob([`
    self.onmessage = async (e) => {
      const { id, blob, put } = e.data;
      const buf = await blob.arrayBuffer();
      await crypto.subtle.digest('SHA-256', buf);
      if (!put) { self.postMessage({ id }); return; }
      try {
        const res = await fetch(put.url, { method: 'PUT', headers: put.headers, body: buf });
        self.postMessage({ id, etag: res.headers.get('ETag'), status: res.status });
      } catch { self.postMessage({ id, status: 0 }); }
    };`], { type: 'text/javascript' }))) : null;
  const waiting = new Map();
  if (worker) worker.onmessage = (e) => { waiting.get(e.data.id)(e.data); waiting.delete(e.data.id); };
  const inWorker = (i, put) => new Promise((resolve) => {
    waiting.set(i, resolve);
    const start = i * partSize;
    worker.postMessage({ id: i, blob: file.slice(start, start + partSize), put });
  });
  const t0 = performance.now();
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < count) {
      const i = next++;
      if (hashIn === 'buffer') {
        const r = await inWorker(i, { url: signed[i].url, headers: signed[i].headers });
        if (r.status >= 300 || r.status === 0) throw new Error(`PUT ${r.status}`);
        etags[i] = r.etag;
      } else {
        if (hashIn === 'blob') await inWorker(i, null);
        etags[i] = await put(signed[i]);
      }
    }
  }));
  worker?.terminate();
  const seconds = (performance.now() - t0) / 1000;
  await json(await fetch(`/api/uploads/${created.upload_id}/complete`, {
    method: 'POST', headers: auth,
    body: JSON.stringify({ parts: etags.map((etag, i) => ({ part_number: i + 1, etag })) }),
  }));
  return { seconds, longTasks: window.benchLongTasks() };
}

/** Reads every part into a Worker, summing it with `algo` ('sha256' or none). */
async function readLoop({ partSize, algo }) {
  const file = document.getElementById('bench-input').files[0];
  const code = `self.onmessage = async (e) => {
    const buf = await e.data.arrayBuffer();
    if (${JSON.stringify(algo)} === 'sha256') await crypto.subtle.digest('SHA-256', buf);
    self.postMessage(buf.byteLength);
  };`;
  const worker = new Worker(URL.createObjectURL(new Blob([code], { type: 'text/javascript' })));
  window.benchLongTasks();
  const t0 = performance.now();
  for (let start = 0; start < file.size; start += partSize) {
    await new Promise((resolve) => {
      worker.onmessage = resolve;
      worker.postMessage(file.slice(start, start + partSize));
    });
  }
  const seconds = (performance.now() - t0) / 1000;
  worker.terminate();
  return { seconds, longTasks: window.benchLongTasks() };
}

/** Partway, timed in the page from `partway-add` to `partway-complete`. */
async function partwayRun(page, file, query = '') {
  const widget = new WidgetPage(page);
  await widget.open(`${server.page}/?user=bench${values['partway-query'] ? `&${values['partway-query']}` : ''}${query}`);
  await page.evaluate(() => {
    const el = document.querySelector('partway-upload');
    window.benchDone = new Promise((resolve, reject) => {
      let t0;
      let sent;
      el.addEventListener('partway-add', () => { t0 = performance.now(); window.benchLongTasks(); });
      el.addEventListener('partway-progress', (e) => {
        if (sent === undefined && e.detail.percent >= 100) sent = performance.now();
      });
      el.addEventListener('partway-complete', () => {
        const end = performance.now();
        resolve({ seconds: (end - t0) / 1000, sentSeconds: ((sent ?? end) - t0) / 1000, longTasks: window.benchLongTasks() });
      });
      el.addEventListener('partway-error', (e) => reject(new Error(e.detail.message)));
    });
  });
  await widget.pick([file.path]);
  const result = await page.evaluate(() => window.benchDone);
  // Bytes sent again (parts retried after a failure or a stall): a slow round says why.
  // Read once the row shows its last change (rows redraw at most 100 ms late).
  await page.waitForTimeout(200);
  result.resent = Number(await widget.row(file.name).getAttribute('data-bytes-resent'));
  return result;
}

/**
 * A page on the server's origin (so the raw loop's API calls are same-origin) without the
 * widget: the health check's plain-text answer, rendered as a document.
 */
async function blank(page) {
  await page.goto(`${server.page}/healthz`);
}

async function inputWith(page, file) {
  await page.evaluate(() => {
    const input = document.createElement('input');
    input.type = 'file';
    input.id = 'bench-input';
    document.body.append(input);
  });
  await page.locator('#bench-input').setInputFiles(file.path);
}

const RUN = {
  partway: partwayRun,
  'partway-crc': (page, file) => partwayRun(page, file, '&checksum=crc64nvme'),
  'partway-whole': (page, file) => partwayRun(page, file, '&file_sha256=true'),
  async raw(page, file) {
    await blank(page);
    await inputWith(page, file);
    return page.evaluate(rawLoop, { partSize: rawPartSize, parallel: rawParallel });
  },
  async 'raw-hash-blob'(page, file) {
    await blank(page);
    await inputWith(page, file);
    return page.evaluate(rawLoop, { partSize: rawPartSize, parallel: rawParallel, hashIn: 'blob' });
  },
  async 'raw-hash-buffer'(page, file) {
    await blank(page);
    await inputWith(page, file);
    return page.evaluate(rawLoop, { partSize: rawPartSize, parallel: rawParallel, hashIn: 'buffer' });
  },
  async read(page, file) {
    await blank(page);
    await inputWith(page, file);
    return page.evaluate(readLoop, { partSize: rawPartSize, algo: '' });
  },
  async 'read-sha256'(page, file) {
    await blank(page);
    await inputWith(page, file);
    return page.evaluate(readLoop, { partSize: rawPartSize, algo: 'sha256' });
  },
  async uppy5(page, file) { return uppy(page, file, 'uppy5'); },
  async uppy6(page, file) { return uppy(page, file, 'uppy6'); },
};

async function uppy(page, file, version) {
  await blank(page);
  await page.addScriptTag({ content: bundles[version] });
  await inputWith(page, file);
  return page.evaluate(async (backend) => {
    const file = document.getElementById('bench-input').files[0];
    window.benchLongTasks();
    const out = await window.benchUppy({ backend, file });
    return { ...out, longTasks: window.benchLongTasks() };
  }, uppyBackend.url);
}

const dir = tempDir('partway-bench-');
let server;
let uppyBackend;
if (values.garage) {
  const prefix = `bench-${randomUUID()}/`;
  const port = await freePort();
  const origin = `http://localhost:${port}`;
  if (modes.some((m) => m.startsWith('uppy'))) {
    // One CORS rule for everyone (storage keeps one per bucket): Uppy 6 also needs POST and DELETE.
    uppyBackend = await startUppyBackend({
      prefix,
      origin,
      s3: {
        endpoint: serviceEnv('PARTWAY_TEST_S3_ENDPOINT'), region: serviceEnv('PARTWAY_TEST_S3_REGION'),
        bucket: serviceEnv('PARTWAY_TEST_S3_BUCKET'), accessKeyId: serviceEnv('PARTWAY_TEST_S3_ACCESS_KEY_ID'),
        secretAccessKey: serviceEnv('PARTWAY_TEST_S3_SECRET_ACCESS_KEY'),
      },
    });
  } else {
    setupCors(binary, prefix, origin);
  }
  server = await startServer({ binary, port, args: garageArgs(prefix) });
} else {
  server = await startServer({ binary });
}
const browser = await launchBrowser();
try {
  const file = await makeFile(dir, 'bench.bin', size);
  const results = Object.fromEntries(modes.map((m) => [m, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const mode of modes) {
      const page = await browser.newPage();
      await page.addInitScript(watchLongTasks);
      const before = cpuSeconds();
      if (values.trace) await browser.startTracing(page, { categories: TRACE_CATEGORIES });
      const r = await RUN[mode](page, file);
      r.cpu = cpuSince(before);
      if (values.trace) {
        const trace = JSON.parse((await browser.stopTracing()).toString());
        r.traced = longTasks(trace);
        // Each round's whole trace, for DevTools or a script: TRACE_OUT=dir.
        if (process.env.TRACE_OUT) writeFileSync(join(process.env.TRACE_OUT, `${mode}-${round}.json`), JSON.stringify(trace));
      }
      await page.close();
      results[mode].push(r);
      const tasks = r.longTasks;
      console.log(`round ${round} ${mode.padEnd(11)} ${(size / 1e6 / r.seconds).toFixed(1).padStart(6)} MB/s` +
        `  ${tasks.length} long tasks${tasks.length ? ` (max ${Math.round(Math.max(...tasks))} ms)` : ''}`
        + (r.resent ? `; ${(r.resent / 2 ** 20).toFixed(0)} MiB sent again` : '')
        + (r.traced ? `; traced: ${r.traced.map((t) => `${Math.round(t.wallMs)} ms wall/${Math.round(t.cpuMs)} ms CPU`).join(', ') || 'none'}` : ''));
    }
  }
  const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
  const mbps = (m) => size / 1e6 / median(results[m].map((r) => r.seconds));
  const what = {
    partway: `Partway, defaults${values['partway-query'] ? ` + ${values['partway-query']}` : ''}, SHA-256 per part, pick to done`,
    'partway-whole': `Partway, defaults + file-sha256 (whole file's SHA-256 streamed too), pick to done`,
    'partway-crc': `Partway, checksum=crc64nvme${values['partway-query'] ? ` + ${values['partway-query']}` : ''}, CRC per part and whole file, pick to done`,
    raw: `raw loop, ${rawParallel} XHR PUTs in flight, ${rawPartSize / MiB} MiB parts, PUTs alone`,
    'raw-hash-blob': `raw loop, each part read and SHA-256'd in a Worker, then its Blob PUT from the page`,
    'raw-hash-buffer': `raw loop, each part read, SHA-256'd and its bytes PUT from a Worker`,
    read: `no upload: ${rawPartSize / MiB} MiB parts read into a Worker, one at a time`,
    'read-sha256': `no upload: ${rawPartSize / MiB} MiB parts read into a Worker and SHA-256'd`,
    uppy5: 'Uppy 5.2 + @uppy/aws-s3 5.1, defaults, no checksums, add to done',
    uppy6: 'Uppy 6.3.1 + @uppy/aws-s3 6.3.1, defaults, no checksums, add to done',
  };
  console.log(`\n${values.garage ? 'Garage' : 'local storage'}, ${size / MiB} MiB, median of ${rounds} interleaved rounds (MB = 10^6 B):\n`);
  console.log('| uploader | MB/s | Partway / this | long tasks (max of rounds) |');
  console.log('| --- | --- | --- | --- |');
  for (const m of modes) {
    const longest = Math.max(0, ...results[m].flatMap((r) => r.longTasks));
    const most = Math.max(...results[m].map((r) => r.longTasks.length));
    const ratio = modes.includes('partway') ? (mbps('partway') / mbps(m)).toFixed(2) : '';
    console.log(`| ${what[m]} | ${mbps(m).toFixed(1)} | ${ratio} | ${most}${most ? ` (longest ${Math.round(longest)} ms)` : ''} |`);
  }
  const kinds = [...new Set(modes.flatMap((m) => results[m].flatMap((r) => Object.keys(r.cpu))))].sort();
  if (kinds.length) {
    console.log('\nCPU seconds per upload (mean of rounds), by process; setup of each mode included:\n');
    console.log(`| uploader | ${kinds.join(' | ')} |`);
    console.log(`| --- |${kinds.map(() => ' --- |').join('')}`);
    for (const m of modes) {
      const mean = (k) => results[m].reduce((a, r) => a + (r.cpu[k] ?? 0), 0) / results[m].length;
      console.log(`| ${m} | ${kinds.map((k) => mean(k).toFixed(1)).join(' | ')} |`);
    }
  }
  if (modes.includes('partway')) {
    const sent = size / 1e6 / median(results.partway.map((r) => r.sentSeconds));
    console.log(`\nPartway pick to 100% (every byte stored, before complete): ${sent.toFixed(1)} MB/s`);
  }
} finally {
  await browser.close();
  await server.stop();
  await uppyBackend?.stop();
  rmSync(dir, { recursive: true, force: true });
}
