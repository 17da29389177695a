// Benchmark (a script, not a test): many small files picked at once through the demo
// page in headless Chromium. Prints files per second from pick to the last file done,
// the long tasks (> 50 ms) on the page's main thread at the pick and in all, and the CPU
// seconds each kind of process used (page, browser, server) from the pick to the end.
//
//   node bench/files.mjs [--count 1000] [--size-kib 4] [--rounds 2] [--parallel-files N] [--garage]
//                        [--modes partway,uppy5,uppy6]
//                        [--profile] [--trace] [--hide-rows] [--query 'live=false'] [--server-args '--job-workers 0']
//
// --profile records a CPU profile of the page from the pick to the last file and prints
// where its main thread spent the time (self time by function, top 25). --trace records a
// Chromium trace instead and prints the main thread's self time by trace event, which
// also shows the browser's own work (style, layout, paint, requests) that a JavaScript
// profile lumps together as "(program)". With PROFILE_OUT=file.json the whole profile is
// also written, for DevTools; with TRACE_OUT=dir, each round's trace. --hide-rows hides
// the widget's rows: what they cost.
//
// With --garage the server stores into the Garage that tests/services/garage.sh started;
// the Uppy modes need it (Uppy 5 and 6 at their defaults, as in upload.mjs: for small
// files one signed PUT each, 6 at once), and run interleaved with Partway's.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes, randomUUID } from 'node:crypto';
import { cpuSeconds, cpuSince } from './cpu.mjs';
import { uppyBundles } from './uppy-bundle.mjs';
import { longTasks, printTrace, TRACE_CATEGORIES } from './trace.mjs';
import {
  garageArgs, launchBrowser, ROOT, serviceEnv, setupCors, startServer, tempDir, WidgetPage,
} from '../e2e/harness.mjs';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '1000' },
    'size-kib': { type: 'string', default: '4' },
    rounds: { type: 'string', default: '2' },
    'parallel-files': { type: 'string' },
    query: { type: 'string', default: '' },
    'server-args': { type: 'string', default: '' },
    garage: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    trace: { type: 'boolean', default: false },
    'hide-rows': { type: 'boolean', default: false },
    modes: { type: 'string', default: 'partway' },
  },
});
const modes = values.modes.split(',');
if (!values.garage && modes.some((m) => m.startsWith('uppy'))) throw new Error('the Uppy modes need --garage');
const bundles = await uppyBundles(modes.filter((m) => m.startsWith('uppy')));
const count = Number(values.count);
const size = Number(values['size-kib']) * 1024;
const rounds = Number(values.rounds);

execFileSync('cargo', ['build', '--profile', 'server', '-p', 'partway-server'], { cwd: ROOT, stdio: 'inherit' });
const binary = join(ROOT, 'target', 'server', 'partway-server');

const dir = tempDir('partway-files-bench-');
const paths = [];
mkdirSync(join(dir, 'many'));
for (let i = 0; i < count; i++) {
  const path = join(dir, 'many', `small-${String(i).padStart(5, '0')}.bin`);
  writeFileSync(path, randomBytes(size));
  paths.push(path);
}

const prefix = values.garage ? `bench-files-${randomUUID()}/` : null;
const serverArgs = values['server-args'].split(' ').filter(Boolean);
const server = await startServer({ binary, args: [...(prefix ? garageArgs(prefix) : []), ...serverArgs] });
let uppyBackend;
if (modes.some((m) => m.startsWith('uppy'))) {
  // Its CORS rule (storage keeps one per bucket) also serves Partway's PUTs. Imported
  // here: its packages are installed by uppyBundles.
  const { startUppyBackend } = await import('./uppy-backend.mjs');
  uppyBackend = await startUppyBackend({
    prefix,
    origin: server.page,
    s3: {
      endpoint: serviceEnv('PARTWAY_TEST_S3_ENDPOINT'), region: serviceEnv('PARTWAY_TEST_S3_REGION'),
      bucket: serviceEnv('PARTWAY_TEST_S3_BUCKET'), accessKeyId: serviceEnv('PARTWAY_TEST_S3_ACCESS_KEY_ID'),
      secretAccessKey: serviceEnv('PARTWAY_TEST_S3_SECRET_ACCESS_KEY'),
    },
  });
} else if (prefix) {
  setupCors(binary, prefix, server.page);
}
const browser = await launchBrowser();
try {
  // The floor: a plain <input type=file> given the same files on a fresh page, whose
  // page reads each file's name, size and type (as any uploader must).
  {
    const page = await browser.newPage();
    await page.setContent('<input type=file multiple>');
    await page.evaluate(() => {
      document.querySelector('input').addEventListener('change', (e) => {
        window.seen = [...e.target.files].map((f) => [f.name, f.size, f.type]).length;
      });
      window.longTasks = [];
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) window.longTasks.push(e.duration);
      }).observe({ type: 'longtask', buffered: true });
    });
    await page.locator('input').setInputFiles(paths);
    await page.waitForTimeout(1000);
    const tasks = await page.evaluate(() => window.longTasks);
    console.log(`floor: a plain <input type=file> reading name, size and type of the ${count} files: `
      + `longest task ${Math.max(0, ...tasks).toFixed(0)} ms`);
    await page.close();
  }
  for (let round = 1; round <= rounds; round++) for (const mode of modes) {
    const page = await browser.newPage();
    await page.addInitScript(() => {
      performance.setResourceTimingBufferSize(100_000);
      // Counted from the element's events: polling its `files` would itself load the page.
      window.ended = { done: 0, failed: 0 };
      document.addEventListener('partway-complete', () => { window.ended.done += 1; });
      document.addEventListener('partway-error', () => { window.ended.failed += 1; });
      // When the widget had handed the last picked file over to its uploader.
      document.addEventListener('partway-add', () => { window.lastAdd = performance.now(); });
      window.longTasks = [];
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) window.longTasks.push({ start: e.startTime, ms: e.duration });
      }).observe({ type: 'longtask', buffered: true });
    });
    const widget = new WidgetPage(page);
    if (mode === 'partway') {
      await widget.open(`${server.page}/?user=files-${round}${values["parallel-files"] ? `&parallel_files=${values["parallel-files"]}` : ""}${values.query ? `&${values.query}` : ""}`);
      // What the rows cost the page: the same run with none of them laid out or painted.
      if (values['hide-rows']) await page.addStyleTag({ content: 'partway-upload::part(row) { display: none }' });
    } else {
      // Uppy on a page of the server's origin, started by the pick as a site would.
      await page.goto(`${server.page}/healthz`);
      await page.addScriptTag({ content: bundles[mode] });
      await page.evaluate((backend) => {
        const input = Object.assign(document.createElement('input'), { type: 'file', multiple: true });
        document.body.append(input);
        window.uppyDone = new Promise((resolve, reject) => {
          input.addEventListener('change', () => {
            window.benchUppy({ backend, files: [...input.files] }).then(resolve, reject);
          });
        });
      }, uppyBackend.url);
    }
    let cdp;
    if (values.profile) {
      cdp = await page.context().newCDPSession(page);
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
      await cdp.send('Profiler.start');
    }
    if (values.trace) {
      await browser.startTracing(page, { categories: TRACE_CATEGORIES });
    }
    const cpuBefore = cpuSeconds();
    const pickAt = await page.evaluate(() => performance.now());
    const t0 = Date.now();
    if (mode !== 'partway') {
      await page.locator('input[type=file]').setInputFiles(paths);
      await page.evaluate(() => window.uppyDone);
    }
    const deadline = Date.now() + 600_000;
    if (mode === 'partway') await widget.pick(paths);
    while (mode === 'partway') {
      const { done, failed } = await page.evaluate(() => window.ended);
      if (done + failed === count) {
        if (failed) throw new Error(`${failed} files failed`);
        break;
      }
      if (Date.now() > deadline) throw new Error(`only ${done} of ${count} done in 600 s`);
      await page.waitForTimeout(20);
    }
    const seconds = (Date.now() - t0) / 1000;
    const cpu = cpuSince(cpuBefore);
    if (cdp) {
      const { profile } = await cdp.send('Profiler.stop');
      printProfile(profile);
      // The whole profile, for DevTools (Performance > Load profile) or a script.
      if (process.env.PROFILE_OUT) writeFileSync(process.env.PROFILE_OUT, JSON.stringify(profile));
    }
    if (values.trace) {
      const trace = JSON.parse((await browser.stopTracing()).toString());
      printTrace(trace);
      // Each round's whole trace, for DevTools or a script: TRACE_OUT=dir.
      if (process.env.TRACE_OUT) writeFileSync(join(process.env.TRACE_OUT, `${mode}-${round}.json`), JSON.stringify(trace));
      // A long task of little CPU is the thread waiting for a core, not the page's work.
      const long = longTasks(trace).map((t) => `${t.wallMs.toFixed(0)} ms (CPU ${t.cpuMs.toFixed(0)})`);
      console.log(`trace: long tasks, wall (CPU): ${long.join(', ') || 'none'}`);
    }
    if (process.env.TIMELINE) {
      const entries = await page.evaluate(() => performance.getEntriesByType('resource')
        .filter((e) => /\/api\/uploads|\/storage\//.test(e.name))
        .map((e) => ({ u: new URL(e.name).pathname, s: e.startTime, e: e.responseEnd })));
      console.log(JSON.stringify(entries.slice(0, 60)));
    }
    const tasks = await page.evaluate(() => window.longTasks);
    // Where a file's time goes: the mean duration of each kind of request.
    const kinds = await page.evaluate(() => {
      const out = {};
      for (const e of performance.getEntriesByType('resource')) {
        const u = new URL(e.name);
        const kind = u.pathname.startsWith('/storage/') ? 'part PUT'
          : u.pathname.endsWith('/complete') ? 'complete'
          : u.pathname === '/api/uploads' || u.pathname === '/api/uploads/batch' ? 'create' : null;
        if (!kind) continue;
        (out[kind] ??= []).push(e.duration);
      }
      return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, `${v.length} × ${(v.reduce((a, b) => a + b, 0) / v.length).toFixed(1)} ms`]));
    });
    const lastAdd = await page.evaluate(() => window.lastAdd);
    const handedOver = lastAdd === undefined ? '' : `all handed over ${((lastAdd - pickAt) / 1000).toFixed(2)} s after the pick; `;
    const atPick = tasks.filter((t) => t.start >= pickAt && t.start < pickAt + 2000);
    const longest = Math.max(0, ...tasks.map((t) => t.ms));
    console.log(`round ${round} ${mode}: ${count} files of ${size} B in ${seconds.toFixed(1)} s = ${(count / seconds).toFixed(0)} files/s; `
      + `long tasks: ${atPick.length} in the 2 s after the pick, ${tasks.length} in all, longest ${longest.toFixed(0)} ms (${tasks.map((t) => t.ms.toFixed(0)).join(', ')} ms); `
      + handedOver + `requests: ${JSON.stringify(kinds)}; CPU seconds: `
      + Object.entries(cpu).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', '));
    await page.close();
  }
} finally {
  await browser.close();
  await server.stop();
  await uppyBackend?.stop();
  rmSync(dir, { recursive: true, force: true });
}

/** Self time by function of a CPU profile, the 25 largest. */
function printProfile(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const gaps = profile.timeDeltas;
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id).callFrame;
    const file = frame.url ? frame.url.split('/').pop() : '';
    const name = `${frame.functionName || '(anonymous)'} ${file}`;
    self.set(name, (self.get(name) ?? 0) + (gaps[i] ?? 0) / 1000);
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  console.log(`profile: ${total.toFixed(0)} ms sampled`);
  for (const [name, ms] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
    console.log(`${ms.toFixed(0).padStart(7)} ms ${(100 * ms / total).toFixed(1).padStart(5)}%  ${name}`);
  }
}
