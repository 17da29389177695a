// The browser end to end against Garage (a real S3 implementation), through two
// partway-server processes that share one PostgreSQL database and one bucket: the
// upload is created on one, signed by both, completed on the other, and both list it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { startBalancer } from './balancer.mjs';
import {
  crc64nvmeOfFile, freePort, freshDatabase, garageArgs, launchBrowser, makeFile, ROOT, serviceEnv, setupCors, sha256OfUrl, startServer,
  tempDir, WidgetPage,
} from './harness.mjs';

const MiB = 1024 * 1024;
let browser;
let dir;

before(async () => {
  browser = await launchBrowser();
  dir = tempDir('partway-garage-e2e-');
});

after(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('256 MiB through two server instances into Garage, read back intact', async () => {
  const database = freshDatabase();
  const prefix = `e2e-${randomUUID()}/`;
  const shared = [...garageArgs(prefix), '--database-url', database, '--secret', 'shared-secret-of-both-instances'];
  const lbPort = await freePort();
  const origin = `http://localhost:${lbPort}`;
  // The operator's one-off step: let the page's origin PUT parts into the bucket.
  const bin = process.env.PARTWAY_SERVER_BIN ?? join(ROOT, 'target', 'debug', 'partway-server');
  assert.match(setupCors(bin, prefix, origin), /CORS set/);

  const a = await startServer({ args: shared });
  const b = await startServer({ args: shared });
  // Create on A, sign alternately on A and B, complete on B, everything else on A.
  let parts = 0;
  const lb = await startBalancer([a.api, b.api], (req) => {
    if (req.url.includes('/complete')) return 1;
    if (req.url.endsWith('/parts')) return parts++ % 2;
    return 0;
  }, lbPort);
  const page = await browser.newPage();
  try {
    const file = await makeFile(dir, 'garage-256.bin', 256 * MiB);
    const widget = new WidgetPage(page);
    await widget.open(`${origin}/?user=shared`);
    await widget.pick([file.path]);
    assert.equal(await widget.waitForStatus(file.name, ['done', 'failed'], 300_000), 'done',
      await widget.row(file.name).innerText());
    const href = await widget.row(file.name).locator('[data-testid=file-link]').getAttribute('href');
    assert.ok(href.startsWith(serviceEnv('PARTWAY_TEST_S3_ENDPOINT')), `download is not from Garage: ${href.split('?')[0]}`);
    assert.equal(await sha256OfUrl(href), file.sha256, 'Garage holds different bytes');

    const created = lb.counts.get('POST uploads');
    const signed = lb.counts.get('POST uploads/parts');
    const completed = lb.counts.get('POST uploads/complete');
    assert.deepEqual(created, [1, 0], 'created on A');
    assert.ok(signed[0] > 0 && signed[1] > 0, `signed by both: ${signed}`);
    assert.deepEqual(completed, [0, 1], 'completed on B');
    for (const server of [a, b]) {
      const token = await server.token('shared');
      const files = (await server.get('/api/files', token)).body.files;
      const info = files.find((f) => f.name === file.name);
      assert.ok(info, 'an instance does not list the file');
      assert.match(info.checksum, /-32$/, `storage's composite checksum of 32 parts: ${info.checksum}`);
    }

    // A small file is a one-part upload: the object has the type the server checked,
    // whatever type the browser sends with the part.
    const small = await makeFile(dir, 'garage-small.txt', 1000);
    await widget.pick([small.path]);
    assert.equal(await widget.waitForStatus(small.name, ['done', 'failed'], 60_000), 'done',
      await widget.row(small.name).innerText());
    const smallHref = await widget.row(small.name).locator('[data-testid=file-link]').getAttribute('href');
    const got = await fetch(smallHref);
    assert.equal(got.headers.get('content-type'), 'text/plain');
    assert.equal(Buffer.from(await got.arrayBuffer()).length, small.size);
  } finally {
    await page.close();
    await lb.close();
    await a.stop();
    await b.stop();
  }
});

/**
 * One server on Garage (its own prefix), and a file of `size` bytes uploaded through the
 * widget opened with `query` as `user` until done; `check` gets what it needs to look
 * closer, and the page and server are closed afterwards.
 */
async function uploadToGarage({ user, name, size, query }, check) {
  const prefix = `e2e-${user}-${randomUUID()}/`;
  const port = await freePort();
  const bin = process.env.PARTWAY_SERVER_BIN ?? join(ROOT, 'target', 'debug', 'partway-server');
  assert.match(setupCors(bin, prefix, `http://localhost:${port}`), /CORS set/);
  const server = await startServer({ port, args: garageArgs(prefix) });
  const page = await browser.newPage();
  try {
    const file = await makeFile(dir, name, size);
    const widget = new WidgetPage(page);
    await widget.open(`${server.page}/?user=${user}&${query}`);
    await widget.pick([file.path]);
    assert.equal(await widget.waitForStatus(file.name, ['done', 'failed'], 120_000), 'done',
      await widget.row(file.name).innerText());
    const token = await server.token(user);
    const info = async () => (await server.get('/api/files', token)).body.files.find((f) => f.name === file.name);
    await check({ file, widget, info });
  } finally {
    await page.close();
    await server.stop();
  }
}

test('in CRC-64/NVME mode Garage checks the whole file, and the file records the mode and its CRC', async () => {
  const upload = { user: 'crc', name: 'garage-crc.bin', size: 40 * MiB + 3, query: 'checksum=crc64nvme' };
  await uploadToGarage(upload, async ({ file, widget, info }) => {
    const stored = await info();
    assert.equal(stored.checksum_mode, 'crc64nvme');
    // Storage's own CRC of the object it joined, against one taken of the file on disk.
    assert.equal(stored.checksum, await crc64nvmeOfFile(file.path));
    const href = await widget.row(file.name).locator('[data-testid=file-link]').getAttribute('href');
    assert.equal(await sha256OfUrl(href), file.sha256, 'Garage holds different bytes');
  });
});

test('with file-sha256 the whole file is hashed as a stream, and the checks after upload confirm it in Garage', async () => {
  const upload = { user: 'whole', name: 'garage-whole.bin', size: 24 * MiB + 5, query: 'file_sha256=true' };
  await uploadToGarage(upload, async ({ file, info }) => {
    assert.equal((await info()).client_sha256, file.sha256, "the widget's claim is the file's SHA-256");
    // S3 keeps no SHA-256 of a multipart object: the job reads it back from Garage.
    let stored;
    for (let i = 0; i < 300; i++) {
      stored = await info();
      if (stored.processing !== 'pending') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(stored.processing, 'done', stored.processing_note);
    assert.equal(stored.sha256, file.sha256);
  });
});
