// Benchmark (a script, not a test): uploads one generated file through the demo page in
// headless Chromium, and, in the same run against the same server, the same parts through
// a plain JavaScript loop of N parallel XHR PUTs. Prints MB/s and the ratio.
//
//   node bench/upload.mjs [--size-mib 1024] [--parallel 4] [--rounds 2] [--garage]
//
// With --garage the server stores into the Garage that tests/services/garage.sh started
// (source it first), so both uploads go to a real S3 implementation.
//
// The server is the `server` profile build (tests/run builds debug; this script builds
// what it needs). Figures are ratios within one run: the machines are shared and noisy.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import {
  freePort, garageArgs, launchBrowser, makeFile, ROOT, setupCors, startServer, tempDir, WidgetPage,
} from '../e2e/harness.mjs';

const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '1024' },
    parallel: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '2' },
    garage: { type: 'boolean', default: false },
  },
});
const MiB = 1024 * 1024;
const size = Number(values['size-mib']) * MiB;
const parallel = Number(values.parallel);
const rounds = Number(values.rounds);
const partSize = 8 * MiB;

execFileSync('cargo', ['build', '--profile', 'server', '-p', 'partway-server'], { cwd: ROOT, stdio: 'inherit' });
const binary = join(ROOT, 'target', 'server', 'partway-server');

/** The raw loop, run inside the page: hash and sign first (untimed), then time the PUTs. */
async function rawLoop({ partSize, parallel }) {
  const file = document.getElementById('raw-input').files[0];
  const json = (res) => { if (!res.ok) throw new Error(`${res.url}: ${res.status}`); return res.json(); };
  const { token } = await json(await fetch('/api/dev/token', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'bench-raw' }),
  }));
  const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const count = Math.max(1, Math.ceil(file.size / partSize));
  const b64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf)));
  const checksums = [];
  const tHash = performance.now();
  for (let i = 0; i < count; i++) {
    const buf = await file.slice(i * partSize, (i + 1) * partSize).arrayBuffer();
    checksums.push({ part_number: i + 1, sha256: b64(await crypto.subtle.digest('SHA-256', buf)) });
  }
  const created = await json(await fetch('/api/uploads', {
    method: 'POST', headers: auth,
    body: JSON.stringify({ name: file.name, size: file.size, content_type: file.type, part_size: partSize, parts: [] }),
  }));
  const signed = [];
  console.log(`raw loop: ${count} parts hashed`);
  for (let i = 0; i < count; i += 50) {
    const res = await json(await fetch(`/api/uploads/${created.upload_id}/parts`, {
      method: 'POST', headers: auth, body: JSON.stringify({ parts: checksums.slice(i, i + 50) }),
    }));
    signed.push(...res.parts);
  }
  signed.sort((a, b) => a.part_number - b.part_number);
  const prepareSeconds = (performance.now() - tHash) / 1000;

  const put = (p) => new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', p.url);
    for (const [k, v] of Object.entries(p.headers)) xhr.setRequestHeader(k, v);
    xhr.onload = () => (xhr.status < 300 ? resolve(xhr.getResponseHeader('ETag')) : reject(new Error(`PUT ${xhr.status}`)));
    xhr.onerror = () => reject(new Error(`PUT part ${p.part_number}: network error`));
    xhr.timeout = 120_000;
    xhr.ontimeout = () => reject(new Error(`PUT part ${p.part_number}: no answer in 120 s`));
    const start = (p.part_number - 1) * partSize;
    xhr.send(file.slice(start, start + partSize));
  });
  const etags = new Array(count);
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < count) {
      const i = next++;
      etags[i] = await put(signed[i]);
      if (i % 32 === 31) console.log(`raw loop: ${i + 1} of ${count} parts stored`);
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  await json(await fetch(`/api/uploads/${created.upload_id}/complete`, {
    method: 'POST', headers: auth,
    body: JSON.stringify({ parts: etags.map((etag, i) => ({ part_number: i + 1, etag })) }),
  }));
  const completeSeconds = (performance.now() - t1) / 1000;
  return { seconds, prepareSeconds, completeSeconds };
}

const dir = tempDir('partway-bench-');
let server;
if (values.garage) {
  const prefix = `bench-${randomUUID()}/`;
  const port = await freePort();
  setupCors(binary, prefix, `http://localhost:${port}`);
  server = await startServer({ binary, port, args: garageArgs(prefix) });
} else {
  server = await startServer({ binary });
}
const browser = await launchBrowser();
try {
  const file = await makeFile(dir, 'bench.bin', size);
  const mbps = (s) => (size / 1e6 / s).toFixed(1);
  const results = [];
  for (let round = 1; round <= rounds; round++) {
    const page = await browser.newPage();
    const widget = new WidgetPage(page);
    await widget.open(`${server.page}/?user=bench&parallel=${parallel}&part_mib=${partSize / MiB}`);
    const t0 = Date.now();
    await widget.pick([file.path]);
    // Polled every 20 ms: when the bar reaches 100% every byte is stored, and what is
    // left is the server's complete.
    let sentSeconds = null;
    let status;
    for (const deadline = Date.now() + 30 * 60_000; Date.now() < deadline;) {
      status = await widget.status(file.name);
      if (sentSeconds === null && (await widget.percent(file.name)) >= 100) sentSeconds = (Date.now() - t0) / 1000;
      if (status === 'done' || status === 'failed') break;
      await page.waitForTimeout(20);
    }
    const widgetSeconds = (Date.now() - t0) / 1000;
    if (status !== 'done') throw new Error(await widget.row(file.name).innerText());

    await page.evaluate(() => {
      const input = document.createElement('input');
      input.type = 'file';
      input.id = 'raw-input';
      document.body.append(input);
    });
    await page.locator('#raw-input').setInputFiles(file.path);
    page.on('console', (m) => console.log(`  page: ${m.text()}`));
    const raw = await page.evaluate(rawLoop, { partSize, parallel });
    await page.close();
    const rawSeconds = raw.seconds;
    const rawTotal = raw.prepareSeconds + raw.seconds + raw.completeSeconds;
    results.push({ widgetSeconds, sentSeconds, rawSeconds, rawTotal });
    console.log(`round ${round}: widget ${widgetSeconds.toFixed(2)} s to done (${mbps(widgetSeconds)} MB/s), ` +
      `${sentSeconds.toFixed(2)} s to 100% (${mbps(sentSeconds)} MB/s); raw loop: hash+sign ${raw.prepareSeconds.toFixed(2)} s, ` +
      `PUTs ${rawSeconds.toFixed(2)} s (${mbps(rawSeconds)} MB/s), complete ${raw.completeSeconds.toFixed(2)} s`);
  }
  const best = (k) => Math.min(...results.map((r) => r[k]));
  const ratio = (a, b) => (best(b) / best(a)).toFixed(2);
  console.log(`\n${values.garage ? 'Garage' : 'local storage'}, ${size / MiB} MiB, ${parallel} parts in flight, ${partSize / MiB} MiB parts, best of ${rounds} (MB/s):`);
  console.log(`  widget, pick to done (hashing, signing, PUTs, complete):  ${mbps(best('widgetSeconds'))}`);
  console.log(`  raw loop, hash + sign + PUTs + complete, one after another: ${mbps(best('rawTotal'))}`);
  console.log(`  ratio widget / raw, end to end:                            ${ratio('widgetSeconds', 'rawTotal')}`);
  console.log(`  widget, pick to every byte stored (100%):                 ${mbps(best('sentSeconds'))}`);
  console.log(`  raw loop, PUTs alone (hashed and signed beforehand):      ${mbps(best('rawSeconds'))}`);
  console.log(`  ratio widget to 100% / raw PUTs alone:                    ${ratio('sentSeconds', 'rawSeconds')}`);
} finally {
  await browser.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
