// The foundation's end-to-end promise: files picked on the demo page reach storage in
// parallel, checksummed parts and come back byte for byte.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { launchBrowser, makeFile, sha256OfUrl, startServer, tempDir, WidgetPage } from './harness.mjs';

const MiB = 1024 * 1024;
let browser;
let dir;

before(async () => {
  browser = await launchBrowser();
  dir = tempDir('partway-files-');
});

after(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a 64 MiB file, a 3-byte file and an empty file upload in parallel parts and download back intact', async () => {
  const server = await startServer();
  try {
    const files = [
      await makeFile(dir, 'random-64mib.bin', 64 * MiB),
      await makeFile(dir, 'three.txt', 3),
      await makeFile(dir, 'empty.dat', 0),
    ];
    const page = await browser.newPage();
    const widget = new WidgetPage(page);
    await widget.open(`${server.page}/?user=alice`);
    await widget.pick(files.map((f) => f.path));

    // The bar never moves backwards while the big file goes up.
    let last = 0;
    const deadline = Date.now() + 180_000;
    while ((await widget.status(files[0].name)) !== 'done') {
      const status = await widget.status(files[0].name);
      assert.notEqual(status, 'failed', await widget.row(files[0].name).innerText());
      const pct = await widget.percent(files[0].name);
      assert.ok(pct >= last, `progress went back from ${last} to ${pct}`);
      last = pct;
      assert.ok(Date.now() < deadline, 'upload did not finish in 180 s');
      await page.waitForTimeout(50);
    }
    for (const f of files) {
      assert.equal(await widget.waitForStatus(f.name, ['done', 'failed']), 'done', await widget.row(f.name).innerText());
      assert.equal(await widget.percent(f.name), 100);
      assert.ok(await widget.row(f.name).getAttribute('data-upload-id'));
    }
    assert.equal(await widget.overall(), 100);

    // Each file's download link serves exactly the bytes that were picked.
    for (const f of files) {
      const href = await widget.row(f.name).locator('[data-testid=file-link]').getAttribute('href');
      assert.equal(await sha256OfUrl(href), f.sha256, `${f.name} came back different`);
    }

    // The API lists them for alice, with the SHA-256 the server computed, and a fresh
    // download URL works too.
    const token = await server.token('alice');
    const list = await server.get('/api/files', token);
    assert.equal(list.status, 200);
    for (const f of files) {
      const info = list.body.files.find((x) => x.name === f.name);
      assert.ok(info, `${f.name} missing from GET /api/files`);
      assert.equal(info.size, f.size);
      assert.equal(info.sha256, f.sha256);
      const one = await server.get(`/api/files/${info.id}`, token);
      assert.equal(await sha256OfUrl(one.body.download_url), f.sha256);
    }
    // Another user sees none of them.
    const bob = await server.get('/api/files', await server.token('bob'));
    assert.equal(bob.body.files.length, 0);

    // More than one part was in flight at once, counted by the server itself.
    const stats = await server.stats();
    assert.ok(stats.part_puts_max_in_flight > 1, JSON.stringify(stats));
    await page.close();
  } finally {
    await server.stop();
  }
});

test('a file over the size limit fails with a clear message on its row', async () => {
  const server = await startServer({ args: ['--max-file-size', String(MiB)] });
  try {
    const big = await makeFile(dir, 'too-big.bin', 2 * MiB);
    const small = await makeFile(dir, 'fine.bin', 1000);
    const page = await browser.newPage();
    const widget = new WidgetPage(page);
    await widget.open(`${server.page}/?user=carol`);
    await widget.pick([big.path, small.path]);
    assert.equal(await widget.waitForStatus(big.name, ['done', 'failed']), 'failed');
    const message = await widget.row(big.name).locator('[data-testid=file-error]').innerText();
    assert.match(message, /limit/i);
    // The other file is not held up by its neighbour's failure.
    assert.equal(await widget.waitForStatus(small.name, ['done', 'failed']), 'done');
    await page.close();
  } finally {
    await server.stop();
  }
});

test('a server that rate-limits the user slows the widget down, and every file still arrives', async () => {
  // One request a second, in bursts of ten: six files need twelve API calls.
  const server = await startServer({ args: ['--rate-limit-user', '1'] });
  try {
    const files = [];
    for (let i = 0; i < 6; i++) files.push(await makeFile(dir, `limited-${i}.bin`, 1000));
    const page = await browser.newPage();
    const widget = new WidgetPage(page);
    await widget.open(`${server.page}/?user=limited`);
    await widget.pick(files.map((f) => f.path));
    for (const f of files) {
      assert.equal(await widget.waitForStatus(f.name, ['done', 'failed'], 60_000), 'done',
        await widget.row(f.name).innerText());
    }
    const metrics = await (await fetch(`${server.api}/metrics`)).text();
    const refused = Number(/partway_api_errors_total\{code="rate_limited"\} (\d+)/.exec(metrics)?.[1] ?? 0);
    assert.ok(refused > 0, 'the server never refused a call: the limit was not exercised');
    console.log(`# rate limit: ${refused} calls answered 429, every file done`);
    await page.close();
  } finally {
    await server.stop();
  }
});

test('cancel stops a file in flight and storage frees its parts', async () => {
  const server = await startServer();
  try {
    const file = await makeFile(dir, 'cancel-me.bin', 96 * MiB);
    const page = await browser.newPage();
    // Slow the upload down so that there is something in flight to cancel.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false, latency: 20, downloadThroughput: -1, uploadThroughput: 8 * MiB,
    });
    const widget = new WidgetPage(page);
    await widget.open(`${server.page}/?user=dave`);
    await widget.pick([file.path]);
    const deadline = Date.now() + 60_000;
    while ((await widget.percent(file.name)) < 5) {
      assert.ok(Date.now() < deadline, 'never started');
      await page.waitForTimeout(50);
    }
    await widget.row(file.name).locator('[data-testid=file-cancel]').click();
    assert.equal(await widget.waitForStatus(file.name, ['cancelled', 'done', 'failed'], 10_000), 'cancelled');
    const uploadId = await widget.row(file.name).getAttribute('data-upload-id');
    assert.ok(uploadId);
    const token = await server.token('dave');
    // The abort is sent as the row turns cancelled; allow it a moment to land.
    let state;
    for (let i = 0; i < 50; i++) {
      state = (await server.get(`/api/uploads/${uploadId}`, token)).body;
      if (state.state === 'aborted') break;
      await page.waitForTimeout(100);
    }
    assert.equal(state.state, 'aborted', JSON.stringify(state));
    assert.deepEqual(state.parts, []);
    assert.equal((await server.get('/api/files', token)).body.files.length, 0);
    await page.close();
  } finally {
    await server.stop();
  }
});
