// Never start over: uploads survive injected faults, going offline, a reload and a
// server restart, and lose at most the parts in flight.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startFaultProxy } from './fault-proxy.mjs';
import {
  crc64nvmeOfFile, freePort, launchBrowser, makeFile, resumeRecords, sha256OfUrl, startServer, tempDir, throttle,
  waitForPercent, WidgetPage, writeResumeRecord,
} from './harness.mjs';

const MiB = 1024 * 1024;
const PART = 8 * MiB;
let browser;
let dir;

before(async () => {
  browser = await launchBrowser();
  dir = tempDir('partway-resume-');
});

after(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A server whose signed part URLs point at a fault proxy in front of it. */
async function serverBehindProxy(proxyOptions = {}, args = []) {
  const port = await freePort();
  const proxy = await startFaultProxy({ upstream: `http://127.0.0.1:${port}`, ...proxyOptions });
  const server = await startServer({ port, publicUrl: proxy.url, args });
  return { server, proxy, async stop() { await proxy.close(); await server.stop(); } };
}

/**
 * Opens the demo as `user`, optionally throttled to `upload` bytes/s, picks `file`, and
 * waits until its bar shows `until` percent.
 */
async function begin(server, user, file, { upload, until, query = '' } = {}) {
  const page = await browser.newPage();
  const net = upload ? await throttle(page, upload) : null;
  const widget = new WidgetPage(page);
  await widget.open(`${server.page}/?user=${user}${query}`);
  await widget.pick([file.path]);
  if (until) await waitForPercent(widget, file.name, until);
  return { page, widget, net };
}

async function downloadMatches(widget, file) {
  const href = await widget.row(file.name).locator('[data-testid=file-link]').getAttribute('href');
  assert.equal(await sha256OfUrl(href), file.sha256, `${file.name} came back different`);
}

async function resent(widget, name) {
  return Number(await widget.row(name).getAttribute('data-bytes-resent'));
}

test('256 MiB through a proxy that faults 20% of part PUTs completes intact', async () => {
  const { server, proxy, stop } = await serverBehindProxy({ seed: 42, rate: 0.2, stallMs: 6000 });
  try {
    const file = await makeFile(dir, 'faulty-256.bin', 256 * MiB);
    const { page, widget } = await begin(server, 'faults', file, { query: '&part_timeout=4' });
    const status = await widget.waitForStatus(file.name, ['done', 'failed'], 300_000);
    assert.equal(status, 'done', await widget.row(file.name).innerText());
    await downloadMatches(widget, file);
    const bytesResent = await resent(widget, file.name);
    const s = proxy.stats;
    console.log(`# faults: ${s.faults} of ${s.puts} part PUTs (${s.resets} resets, ${s.errors} 5xx, ${s.stalls} stalls) ` +
      `on ${s.faultedParts.size} parts; bytes re-sent ${bytesResent} = ${(bytesResent / file.size * 100).toFixed(1)}% of the file`);
    assert.ok(s.faults > 0, 'the proxy injected no fault');
    assert.ok(bytesResent <= s.faults * PART, `re-sent ${bytesResent} bytes for ${s.faults} faulted attempts`);
    await page.close();
  } finally {
    await stop();
  }
});

test('going offline for 5 s pauses the upload, which goes on by itself', async () => {
  const server = await startServer();
  try {
    const file = await makeFile(dir, 'offline-128.bin', 128 * MiB);
    const { page, widget, net } = await begin(server, 'offline', file, { upload: 16 * MiB, until: 50 });
    await net.offline(true);
    const paused = await widget.waitForStatus(file.name, ['paused'], 10_000);
    assert.equal(paused, 'paused');
    await page.waitForTimeout(5000);
    assert.equal(await widget.status(file.name), 'paused');
    await net.offline(false);
    assert.equal(await widget.waitForStatus(file.name, ['done', 'failed'], 120_000), 'done');
    await downloadMatches(widget, file);
    await page.close();
  } finally {
    await server.stop();
  }
});

test('a reload at 60% continues from the stored parts once the file is picked again', async () => {
  const { server, proxy, stop } = await serverBehindProxy({ rate: 0 });
  try {
    const file = await makeFile(dir, 'reload-192.bin', 192 * MiB);
    const { page, widget } = await begin(server, 'reload', file, { upload: 24 * MiB, until: 60 });
    const uploadId = await widget.row(file.name).getAttribute('data-upload-id');
    await widget.reload();
    const sentBefore = proxy.stats.bytesForwarded;
    const token = await server.token('reload');
    const stored = (await server.get(`/api/uploads/${uploadId}`, token)).body.parts;
    const storedBytes = stored.reduce((sum, p) => sum + p.size, 0);

    // The page lists the unfinished upload before anything is picked.
    await page.locator('[data-testid=unfinished-upload]').first().waitFor({ timeout: 10_000 });
    assert.match(await page.locator('[data-testid=unfinished-upload]').first().innerText(), /reload-192\.bin/);

    await widget.pick([file.path]);
    assert.equal(await widget.waitForStatus(file.name, ['done', 'failed'], 180_000), 'done');
    assert.equal(await widget.row(file.name).getAttribute('data-upload-id'), uploadId, 'a new upload was started');
    await downloadMatches(widget, file);
    const sentAfter = proxy.stats.bytesForwarded - sentBefore;
    const remainder = file.size - storedBytes;
    console.log(`# reload: ${stored.length} parts stored at reload; sent after reload ${sentAfter} bytes ` +
      `for a remainder of ${remainder} (${((sentAfter - remainder) / file.size * 100).toFixed(1)}% of the file extra)`);
    assert.ok(sentAfter <= remainder + 4 * PART, `sent ${sentAfter} after the reload for a remainder of ${remainder}`);
    assert.deepEqual(await resumeRecords(page), [], 'the record is cleared once done');
    await page.close();
  } finally {
    await stop();
  }
});

test('a page that went away while its upload was completing gets the file, sending nothing again', async () => {
  const server = await startServer();
  const context = await browser.newContext();
  try {
    const file = await makeFile(dir, 'gone-at-complete.bin', 24 * MiB);
    const first = await context.newPage();
    const before = new WidgetPage(first);
    await before.open(`${server.page}/?user=late`);
    // The server completes the upload, but its answer never reaches the page, which
    // is closed meanwhile.
    let completedOnServer;
    const completed = new Promise((resolve) => { completedOnServer = resolve; });
    await first.route('**/api/uploads/*/complete', async (route) => {
      const answer = await route.fetch();
      completedOnServer(answer.status());
      await new Promise(() => {});
    });
    await before.pick([file.path]);
    assert.equal(await completed, 200);
    const uploadId = await before.row(file.name).getAttribute('data-upload-id');
    await first.close();

    const page = await context.newPage();
    const widget = new WidgetPage(page);
    await widget.open(`${server.page}/?user=late`);
    await page.locator('[data-testid=unfinished-upload]').first().waitFor({ timeout: 10_000 });
    await widget.pick([file.path]);
    assert.equal(await widget.waitForStatus(file.name, ['done', 'failed'], 60_000), 'done',
      await widget.row(file.name).innerText());
    assert.equal(await widget.row(file.name).getAttribute('data-upload-id'), uploadId, 'a new upload was started');
    assert.equal(await resent(widget, file.name), 0, 'bytes were sent again');
    const token = await server.token('late');
    const files = (await server.get('/api/files', token)).body.files.filter((f) => f.name === file.name);
    assert.equal(files.length, 1, 'one file, not two');
    await downloadMatches(widget, file);
    assert.deepEqual(await resumeRecords(page), [], 'the record is cleared once done');
  } finally {
    await context.close();
    await server.stop();
  }
});

test('pause aborts the parts in flight and keeps the upload; resume finishes it', async () => {
  const server = await startServer();
  try {
    const file = await makeFile(dir, 'pause-96.bin', 96 * MiB);
    const { page, widget } = await begin(server, 'pauser', file, { upload: 16 * MiB, until: 20 });
    await widget.row(file.name).locator('[data-testid=file-pause]').click();
    assert.equal(await widget.waitForStatus(file.name, ['paused'], 5000), 'paused');
    const held = await widget.percent(file.name);
    await page.waitForTimeout(1500);
    const stats = await server.stats();
    assert.equal(stats.part_puts_in_flight, 0, 'PUTs still in flight while paused');
    assert.equal(await widget.percent(file.name), held, 'progress moved while paused');
    assert.equal((await resumeRecords(page)).length, 1, 'the record is kept while paused');
    await widget.row(file.name).locator('[data-testid=file-resume]').click();
    assert.equal(await widget.waitForStatus(file.name, ['done', 'failed'], 120_000), 'done');
    await downloadMatches(widget, file);
    await page.close();
  } finally {
    await server.stop();
  }
});

test('an upload that storage no longer knows starts over, and says so', async () => {
  const server = await startServer();
  try {
    const file = await makeFile(dir, 'gone-64.bin', 64 * MiB);
    const { page, widget } = await begin(server, 'gone', file, { upload: 16 * MiB, until: 30 });
    const uploadId = await widget.row(file.name).getAttribute('data-upload-id');
    await widget.reload();
    // Meanwhile the upload is aborted elsewhere (another tab, or the server's sweep).
    const token = await server.token('gone');
    const res = await fetch(`${server.api}/api/uploads/${uploadId}`, {
      method: 'DELETE', headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 204);
    await widget.pick([file.path]);
    const note = widget.row(file.name).locator('[data-testid=file-note]');
    await note.waitFor({ timeout: 10_000 });
    assert.match(await note.innerText(), /no longer in storage/);
    assert.equal(await widget.waitForStatus(file.name, ['done', 'failed'], 120_000), 'done');
    assert.notEqual(await widget.row(file.name).getAttribute('data-upload-id'), uploadId);
    await downloadMatches(widget, file);
    await page.close();
  } finally {
    await server.stop();
  }
});

test('killing and restarting the server at 40% does not stop the upload', async () => {
  const { server, proxy, stop } = await serverBehindProxy({ rate: 0 });
  try {
    const file = await makeFile(dir, 'restart-160.bin', 160 * MiB);
    const { page, widget } = await begin(server, 'restart', file, { upload: 24 * MiB, until: 40 });
    await server.restart(1000);
    assert.equal(await widget.waitForStatus(file.name, ['done', 'failed'], 180_000), 'done',
      await widget.row(file.name).innerText());
    await downloadMatches(widget, file);
    const bytesResent = await resent(widget, file.name);
    console.log(`# restart: bytes re-sent ${bytesResent} = ${(bytesResent / file.size * 100).toFixed(1)}% of the file; ` +
      `${proxy.stats.bytesForwarded} bytes sent for ${file.size}`);
    await page.close();
  } finally {
    await stop();
  }
});

test('cancel frees the parts in storage and clears the resume record', async () => {
  const server = await startServer();
  try {
    const file = await makeFile(dir, 'cancel-96.bin', 96 * MiB);
    const { page, widget } = await begin(server, 'canceller', file, { upload: 16 * MiB, until: 30 });
    assert.equal((await resumeRecords(page)).length, 1, 'a record is kept while uploading');
    await widget.row(file.name).locator('[data-testid=file-cancel]').click();
    assert.equal(await widget.waitForStatus(file.name, ['cancelled'], 10_000), 'cancelled');
    const uploadId = await widget.row(file.name).getAttribute('data-upload-id');
    const token = await server.token('canceller');
    let state;
    for (let i = 0; i < 50; i++) {
      state = (await server.get(`/api/uploads/${uploadId}`, token)).body;
      if (state.state === 'aborted') break;
      await page.waitForTimeout(100);
    }
    assert.equal(state.state, 'aborted');
    assert.deepEqual(state.parts, []);
    let records = await resumeRecords(page);
    for (let i = 0; i < 20 && records.length > 0; i++) {
      await page.waitForTimeout(100);
      records = await resumeRecords(page);
    }
    assert.deepEqual(records, []);
    await page.close();
  } finally {
    await server.stop();
  }
});

test('a corrupt resume record is reported and dropped, and the same file uploads fresh', async () => {
  const server = await startServer();
  try {
    const file = await makeFile(dir, 'corrupt-48.bin', 48 * MiB);
    const { page, widget } = await begin(server, 'corrupt', file, { upload: 16 * MiB, until: 30 });
    const [[key]] = await resumeRecords(page);
    await widget.reload();
    // This page reads the store once on load; corrupting the record before that read would
    // let this page, not the next, report and delete it.
    await page.locator('[data-testid=unfinished-upload]').first().waitFor({ timeout: 10_000 });
    await writeResumeRecord(page, key, '{"schema":1,"fingerprint":garbage');
    await writeResumeRecord(page, 'not-even-text', { some: 'object' });
    await widget.reload();
    const notice = page.locator('[data-testid=resume-notice]').first();
    await notice.waitFor({ timeout: 10_000 });
    assert.match(await notice.innerText(), /could not be read/);
    assert.deepEqual(await resumeRecords(page), [], 'unusable records are deleted');
    await widget.pick([file.path]);
    assert.equal(await widget.waitForStatus(file.name, ['done', 'failed'], 120_000), 'done');
    await downloadMatches(widget, file);
    await page.close();
  } finally {
    await server.stop();
  }
});

test('a stored part whose checksum differs from the recorded one is sent again on resume', async () => {
  const { server, proxy, stop } = await serverBehindProxy({ rate: 0 });
  try {
    const file = await makeFile(dir, 'mismatch-48.bin', 48 * MiB);
    // Four 8 MiB parts share the link, so the first ones end together at two thirds.
    const { page, widget } = await begin(server, 'mismatch', file, { upload: 16 * MiB, until: 75 });
    const uploadId = await widget.row(file.name).getAttribute('data-upload-id');
    for (let i = 0; i < 50 && !JSON.parse((await resumeRecords(page))[0][1]).parts.length; i++) {
      await page.waitForTimeout(100);
    }
    await widget.reload();
    // This page reads the store on load: let it, before the record is changed under it.
    await page.locator('[data-testid=unfinished-upload]').first().waitFor({ timeout: 10_000 });
    const [[key, text]] = await resumeRecords(page);
    const record = JSON.parse(text);
    const [tampered] = record.parts;
    assert.ok(tampered, 'a part was recorded before the reload');
    tampered.sha256 = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
    await writeResumeRecord(page, key, JSON.stringify(record));
    const token = await server.token('mismatch');
    const stored = (await server.get(`/api/uploads/${uploadId}`, token)).body.parts;
    const n = tampered.part_number;
    assert.ok(stored.some((p) => p.part_number === n && p.sha256), `storage lists part ${n} with its checksum`);
    const storedBytes = stored.reduce((sum, p) => sum + p.size, 0);

    await widget.reload();
    const sentBefore = proxy.stats.bytesForwarded;
    await widget.pick([file.path]);
    assert.equal(await widget.waitForStatus(file.name, ['done', 'failed'], 120_000), 'done');
    assert.equal(await widget.row(file.name).getAttribute('data-upload-id'), uploadId, 'a new upload was started');
    await downloadMatches(widget, file);
    const sentAfter = proxy.stats.bytesForwarded - sentBefore;
    const remainder = file.size - storedBytes;
    assert.ok(sentAfter >= remainder + PART, `part ${n} was not sent again: ${sentAfter} bytes for a remainder of ${remainder}`);
    assert.ok(sentAfter <= remainder + 5 * PART, `sent ${sentAfter} for a remainder of ${remainder}`);
    await page.close();
  } finally {
    await stop();
  }
});

test('with 2-second URLs a 64 MiB upload completes, signing parts again as needed', async () => {
  const server = await startServer({ args: ['--url-ttl', '2'] });
  try {
    const file = await makeFile(dir, 'short-urls-64.bin', 64 * MiB);
    const { page, widget } = await begin(server, 'expiry', file, { upload: 12 * MiB });
    assert.equal(await widget.waitForStatus(file.name, ['done', 'failed'], 120_000), 'done',
      await widget.row(file.name).innerText());
    await downloadMatches(widget, file);
    await page.close();
  } finally {
    await server.stop();
  }
});

test('in CRC-64/NVME mode a reloaded upload combines the recorded and new parts into the whole CRC', async () => {
  const { server, stop } = await serverBehindProxy({ rate: 0 });
  try {
    const file = await makeFile(dir, 'reload-crc.bin', 96 * MiB + 5);
    const query = '&checksum=crc64nvme';
    const { page, widget } = await begin(server, 'crc', file, { upload: 24 * MiB, until: 50, query });
    const uploadId = await widget.row(file.name).getAttribute('data-upload-id');
    await widget.reload();
    await widget.pick([file.path]);
    assert.equal(await widget.waitForStatus(file.name, ['done', 'failed'], 180_000), 'done',
      await widget.row(file.name).innerText());
    assert.equal(await widget.row(file.name).getAttribute('data-upload-id'), uploadId, 'a new upload was started');
    const token = await server.token('crc');
    const info = (await server.get('/api/files', token)).body.files.find((f) => f.name === file.name);
    assert.equal(info.checksum_mode, 'crc64nvme');
    assert.equal(info.checksum, await crc64nvmeOfFile(file.path));
    await downloadMatches(widget, file);
    await page.close();
  } finally {
    await stop();
  }
});
