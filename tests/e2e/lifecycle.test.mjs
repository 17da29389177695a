// The element's life on a page: removed mid-upload it stops sending at once (and keeps
// its resume record), re-added it lists the unfinished upload; a token that expires
// mid-upload is renewed through getToken.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { launchBrowser, makeFile, resumeRecords, startServer, tempDir, throttle, WidgetPage, waitForPercent } from './harness.mjs';

const MiB = 1024 * 1024;
let browser;
let dir;

before(async () => {
  browser = await launchBrowser();
  dir = tempDir('partway-life-');
});

after(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('removing the element mid-upload stops its network activity within 2 s; re-adding it lists the upload', async () => {
  const server = await startServer();
  try {
    const file = await makeFile(dir, 'removed.bin', 64 * MiB);
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    await throttle(page, 4 * MiB);
    const widget = new WidgetPage(page);
    await widget.open(`${server.page}/?user=leaver`);
    await widget.pick([file.path]);
    // Past half way: with 4 parts of 8 MiB in flight, the first ones are stored.
    await waitForPercent(widget, file.name, 55, 60_000);

    await page.evaluate(() => { window.kept = document.querySelector('partway-upload'); window.kept.remove(); });
    const removedAt = Date.now();
    const seen = [];
    page.on('request', (r) => seen.push({ at: Date.now(), url: r.url() }));
    // Within 2 s nothing of the upload is in flight any more, counted by the server.
    let stats;
    for (;;) {
      stats = await server.stats();
      if (stats.part_puts_in_flight === 0) break;
      assert.ok(Date.now() - removedAt < 2000, `PUTs still in flight 2 s after removal: ${JSON.stringify(stats)}`);
      await page.waitForTimeout(50);
    }
    await page.waitForTimeout(3000);
    assert.deepEqual(seen.filter((s) => s.at - removedAt > 2000).map((s) => s.url), [], 'requests after removal');
    assert.equal((await server.stats()).part_puts_in_flight, 0);
    assert.deepEqual(errors, [], 'the page logged errors');
    // The resume record is kept.
    const records = await resumeRecords(page);
    assert.equal(records.length, 1);

    // Put back, the element lists the unfinished upload, and the same file goes on.
    await page.evaluate(() => document.body.append(window.kept));
    const unfinished = page.locator('[data-testid=unfinished-upload]').first();
    await unfinished.waitFor({ timeout: 10_000 });
    assert.match(await unfinished.innerText(), /removed\.bin/);
    await widget.pick([file.path]);
    const note = widget.row(file.name).locator('[data-testid=file-note]');
    await note.waitFor({ timeout: 30_000 });
    assert.match(await note.innerText(), /Resumed: [1-9]\d* of 8 parts/);
    assert.equal(await widget.waitForStatus(file.name, ['done', 'failed'], 120_000), 'done');
    await page.close();
  } finally {
    await server.stop();
  }
});

test('a token that expires mid-upload is renewed through getToken and the upload completes', async () => {
  // Tokens live 1 s (plus the server's 5 s leeway); the upload takes longer.
  const server = await startServer({ args: ['--token-ttl', '1'] });
  try {
    const file = await makeFile(dir, 'long.bin', 64 * MiB);
    const page = await browser.newPage();
    await throttle(page, 5 * MiB);
    const widget = new WidgetPage(page);
    await widget.open(`${server.page}/?user=renewer`);
    await page.evaluate(() => {
      const el = document.querySelector('partway-upload');
      const original = el.getToken;
      window.tokenCalls = 0;
      el.getToken = () => { window.tokenCalls += 1; return original(); };
    });
    await widget.pick([file.path]);
    assert.equal(await widget.waitForStatus(file.name, ['done', 'failed'], 120_000), 'done',
      await widget.row(file.name).innerText());
    assert.ok(await page.evaluate(() => window.tokenCalls) >= 2, 'getToken was not asked again after the 401');
    await page.close();
  } finally {
    await server.stop();
  }
});

test('a getToken whose fresh token is refused too fails the file with a clear message', async () => {
  const server = await startServer();
  try {
    const file = await makeFile(dir, 'forged.bin', 1000);
    const page = await browser.newPage();
    const widget = new WidgetPage(page);
    await widget.open(`${server.page}/?user=forger`);
    await page.evaluate(() => {
      window.tokenCalls = 0;
      document.querySelector('partway-upload').getToken = async () => { window.tokenCalls += 1; return 'forged.token.value'; };
    });
    await widget.pick([file.path]);
    assert.equal(await widget.waitForStatus(file.name, ['done', 'failed'], 30_000), 'failed');
    assert.match(await widget.row(file.name).locator('[data-testid=file-error]').innerText(), /sign-in/i);
    assert.equal(await page.evaluate(() => window.tokenCalls), 2, 'getToken: once first, once after the 401');
    await page.close();
  } finally {
    await server.stop();
  }
});
