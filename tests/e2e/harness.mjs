// Shared by the end-to-end tests and the benchmark: a real partway-server on 127.0.0.1,
// the real built demo page (dist/), and headless Chromium driven by playwright-core.
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { createServer } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { chromium } from 'playwright-core';
import { crc64nvme } from '../../src/browser/hash_worker.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
// Flags from TOOLCHAIN.md: without the background-networking ones Chromium floods the
// closed network with refused connections.
const CHROMIUM_ARGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--no-first-run', '--disable-quic',
];

/** A free TCP port on 127.0.0.1. */
export async function freePort() {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address();
  srv.close();
  await once(srv, 'close');
  return port;
}

export function tempDir(prefix = 'partway-') {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * Starts partway-server in dev mode, serving the built page from dist/. The page is opened
 * at http://localhost:PORT while signed storage URLs point at http://127.0.0.1:PORT, so
 * every part PUT is cross-origin, as it is with real object storage.
 */
export async function startServer({ args = [], binary, port, publicUrl } = {}) {
  port = port ?? await freePort();
  const dataDir = tempDir('partway-data-');
  const bin = binary ?? process.env.PARTWAY_SERVER_BIN ?? join(ROOT, 'target', 'debug', 'partway-server');
  const api = `http://127.0.0.1:${port}`;
  let child;
  let log = '';

  async function launch() {
    child = spawn(bin, [
      '--dev', '--bind', `127.0.0.1:${port}`, '--data-dir', dataDir,
      '--static-dir', join(ROOT, 'dist'), '--public-url', publicUrl ?? api, ...args,
    ], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' } });
    child.stdout.on('data', (d) => { log += d; });
    child.stderr.on('data', (d) => { log += d; });
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`partway-server exited early:\n${log}`);
      try {
        if ((await fetch(`${api}/healthz`)).ok) return;
      } catch { /* not listening yet */ }
      if (Date.now() > deadline) { child.kill(); throw new Error(`partway-server not healthy in 30 s:\n${log}`); }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function halt(signal) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      await Promise.race([once(child, 'exit'), new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }

  await launch();
  return {
    api,
    port,
    page: `http://localhost:${port}`,
    dataDir,
    log: () => log,
    async token(user) {
      const res = await fetch(`${api}/api/dev/token`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user }),
      });
      if (!res.ok) throw new Error(`dev token: ${res.status}`);
      return (await res.json()).token;
    },
    async get(path, token) {
      const res = await fetch(`${api}${path}`, { headers: { authorization: `Bearer ${token}` } });
      return { status: res.status, body: await res.json() };
    },
    async stats() {
      return (await fetch(`${api}/api/dev/stats`)).json();
    },
    /**
     * Kills the process outright (no graceful shutdown) and starts it again on the same
     * port and data, with `newArgs` in place of its arguments if given.
     */
    async restart(downMs = 0, newArgs = undefined) {
      await halt('SIGKILL');
      await new Promise((r) => setTimeout(r, downMs));
      if (newArgs) args = newArgs;
      await launch();
    },
    async stop() {
      await halt('SIGTERM');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/**
 * Writes a file of `size` bytes in which every MiB differs (so no store can deduplicate
 * it) and returns its path and SHA-256.
 */
export async function makeFile(dir, name, size) {
  const path = join(dir, name);
  const out = createWriteStream(path);
  const hash = createHash('sha256');
  const chunk = 1024 * 1024;
  for (let written = 0; written < size; written += chunk) {
    const buf = randomBytes(Math.min(chunk, size - written));
    hash.update(buf);
    if (!out.write(buf)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return { path, name, size, sha256: hash.digest('hex') };
}

export async function sha256OfFile(path) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk);
  return hash.digest('hex');
}

/**
 * The CRC-64/NVME of a file, base64 as `x-amz-checksum-crc64nvme` carries it (by the
 * widget's own function; storage computes its value independently).
 */
export async function crc64nvmeOfFile(path) {
  const bytes = await readFile(path);
  const view = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
  return Buffer.from(crc64nvme(view)).toString('base64');
}

/** SHA-256 of what a URL serves, streamed. */
export async function sha256OfUrl(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url.split('?')[0]}: ${res.status}`);
  const hash = createHash('sha256');
  for await (const chunk of res.body) hash.update(chunk);
  return hash.digest('hex');
}

/** Page object of the widget, through its stable data-testid hooks. */
export class WidgetPage {
  constructor(page) {
    this.page = page;
  }

  async open(url) {
    await this.page.goto(url);
    await this.page.locator('[data-testid=file-input]').waitFor({ state: 'attached', timeout: 30_000 });
  }

  /**
   * Reloads the page once and waits for the widget. One load, not a reload and then a
   * goto: each load reads the resume store, and the first may already act on a record.
   */
  async reload() {
    await this.page.reload();
    await this.page.locator('[data-testid=file-input]').waitFor({ state: 'attached', timeout: 30_000 });
  }

  async pick(paths) {
    await this.page.locator('[data-testid=file-input]').setInputFiles(paths);
  }

  row(name) {
    return this.page.locator('[data-testid=file-row]', {
      has: this.page.locator('[data-testid=file-name]', { hasText: name }),
    });
  }

  async status(name) {
    return this.row(name).getAttribute('data-status');
  }

  async percent(name) {
    return Number(await this.row(name).locator('[data-testid=file-progress]').getAttribute('aria-valuenow'));
  }

  async overall() {
    return Number(await this.page.locator('[data-testid=overall-progress]').getAttribute('aria-valuenow'));
  }

  /** Waits, bounded, until the row's status is one of `wanted`; returns it. */
  async waitForStatus(name, wanted, timeoutMs = 120_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await this.status(name);
      if (wanted.includes(status)) return status;
      if (Date.now() > deadline) throw new Error(`${name}: status ${status} after ${timeoutMs} ms, wanted ${wanted}`);
      await this.page.waitForTimeout(100);
    }
  }
}

/** Throttles the page's network through CDP; `upload` in bytes per second. */
export async function throttle(page, upload) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false, latency: 5, downloadThroughput: -1, uploadThroughput: upload,
  });
  return {
    cdp,
    async offline(on) {
      await cdp.send('Network.emulateNetworkConditions', {
        offline: on, latency: 5, downloadThroughput: -1, uploadThroughput: upload,
      });
    },
  };
}

/** The resume records in the page's IndexedDB, as `[key, value]` pairs. */
export async function resumeRecords(page) {
  return page.evaluate(() => new Promise((resolve, reject) => {
    const open = indexedDB.open('partway', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('uploads');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const out = [];
      const tx = open.result.transaction('uploads', 'readonly');
      const cursor = tx.objectStore('uploads').openCursor();
      cursor.onsuccess = () => {
        const c = cursor.result;
        if (c) { out.push([c.key, c.value]); c.continue(); } else { open.result.close(); resolve(out); }
      };
      cursor.onerror = () => reject(cursor.error);
    };
  }));
}

/** Overwrites (or plants) a resume record with an arbitrary value. */
export async function writeResumeRecord(page, key, value) {
  await page.evaluate(([key, value]) => new Promise((resolve, reject) => {
    const open = indexedDB.open('partway', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('uploads');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const tx = open.result.transaction('uploads', 'readwrite');
      tx.objectStore('uploads').put(value, key);
      tx.oncomplete = () => { open.result.close(); resolve(); };
      tx.onerror = () => reject(tx.error);
    };
  }), [key, value]);
}

/** Waits, bounded, until the row shows at least `percent`. */
export async function waitForPercent(widget, name, percent, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await widget.percent(name);
    if (now >= percent) return now;
    const status = await widget.status(name);
    if (status === 'done' || status === 'failed') throw new Error(`${name} is ${status} before ${percent}%`);
    if (Date.now() > deadline) throw new Error(`${name} at ${now}% after ${timeoutMs} ms, wanted ${percent}%`);
    await widget.page.waitForTimeout(50);
  }
}

/** A setting the test services exported (tests/run starts them). */
export function serviceEnv(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run through tests/run, or source tests/services/garage.sh first`);
  return value;
}

/** A fresh database on the test PostgreSQL server (tests/services/postgres.sh); its URL. */
export function freshDatabase(prefix = 'partway_e2e') {
  const admin = serviceEnv('PARTWAY_TEST_POSTGRES_URL');
  const name = `${prefix}_${randomUUID().replaceAll('-', '')}`;
  execFileSync('psql', [admin, '-q', '-c', `CREATE DATABASE ${name}`]);
  return `${admin.slice(0, admin.lastIndexOf('/'))}/${name}`;
}

/** partway-server flags for the Garage that tests/services/garage.sh started. */
export function garageArgs(prefix) {
  return [
    '--storage', 's3',
    '--s3-endpoint', serviceEnv('PARTWAY_TEST_S3_ENDPOINT'),
    '--s3-region', serviceEnv('PARTWAY_TEST_S3_REGION'),
    '--s3-bucket', serviceEnv('PARTWAY_TEST_S3_BUCKET'),
    '--s3-access-key-id', serviceEnv('PARTWAY_TEST_S3_ACCESS_KEY_ID'),
    '--s3-secret-access-key', serviceEnv('PARTWAY_TEST_S3_SECRET_ACCESS_KEY'),
    '--s3-path-style', '--s3-prefix', prefix,
  ];
}

/** Lets pages on `origin` PUT into the bucket: the operator's `storage setup-cors`. */
export function setupCors(binary, prefix, origin) {
  return execFileSync(binary, [...garageArgs(prefix), 'storage', 'setup-cors', '--origin', origin]).toString();
}

const MIME = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.wasm': 'application/wasm', '.json': 'application/json', '.css': 'text/css',
};

/**
 * A plain static file server for `root` on 127.0.0.1 (the "any site" that embeds the
 * element), on another origin than the API. Returns its origin and `close()`.
 */
export async function serveStatic(root) {
  const server = createHttpServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    const file = join(root, path.endsWith('/') ? `${path}index.html` : path);
    if (!file.startsWith(root)) { res.writeHead(403).end(); return; }
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((r) => server.close(r)),
  };
}

/** The packed npm tarball that tests/run built (www/npm/build.sh). */
export function packedTarball() {
  const dir = join(ROOT, 'target', 'npm');
  const name = readdirSync(dir).find((f) => /^partway-upload-.*\.tgz$/.test(f));
  if (!name) throw new Error('no partway-upload tarball in target/npm: run www/npm/build.sh');
  return join(dir, name);
}

/** Records every partway-* event that reaches the document, in `window.partwayEvents`. */
export async function recordEvents(page) {
  await page.addInitScript(() => {
    window.partwayEvents = [];
    for (const type of ['add', 'reject', 'progress', 'complete', 'error', 'cancel', 'idle', 'remote']) {
      document.addEventListener(`partway-${type}`, (e) => {
        window.partwayEvents.push({ type, detail: e.detail, composed: e.composed, bubbles: e.bubbles });
      });
    }
  });
  return {
    all: () => page.evaluate(() => window.partwayEvents),
    /** Waits, bounded, for an event matching `pred`; returns it. */
    async waitFor(pred, timeoutMs = 60_000, what = 'event') {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = (await page.evaluate(() => window.partwayEvents)).find(pred);
        if (found) return found;
        if (Date.now() > deadline) {
          throw new Error(`no ${what} in ${timeoutMs} ms; saw ${JSON.stringify(await page.evaluate(() => window.partwayEvents.map((e) => e.type)))}`);
        }
        await page.waitForTimeout(50);
      }
    },
  };
}
