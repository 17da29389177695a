// What a person does with the element besides picking: paste, drop a folder, hit a
// restriction, retry a failed file, use it in another language; and what an automated
// accessibility audit finds in it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ROOT, launchBrowser, makeFile, recordEvents, startServer, tempDir, throttle, WidgetPage, waitForPercent,
} from './harness.mjs';

const MiB = 1024 * 1024;
let browser;
let server;
let dir;

before(async () => {
  browser = await launchBrowser();
  server = await startServer();
  dir = tempDir('partway-input-');
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function open(user, query = '') {
  const page = await browser.newPage();
  const events = await recordEvents(page);
  const widget = new WidgetPage(page);
  await widget.open(`${server.page}/?user=${user}${query}`);
  return { page, events, widget };
}

test('files pasted into the drop zone upload', async () => {
  const { page, widget } = await open('paster');
  await page.evaluate(() => {
    const zone = document.querySelector('partway-upload').shadowRoot.querySelector('[data-testid=drop-zone]');
    zone.focus();
    const data = new DataTransfer();
    data.items.add(new File(['pasted bytes'], 'pasted.txt', { type: 'text/plain' }));
    zone.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  });
  assert.equal(await widget.waitForStatus('pasted.txt', ['done', 'failed'], 30_000), 'done');
  await page.close();
});

test('a dropped folder adds every file inside it, with its relative path', async () => {
  const folder = join(dir, 'album');
  mkdirSync(join(folder, 'day2'), { recursive: true });
  writeFileSync(join(folder, 'a.txt'), 'first');
  writeFileSync(join(folder, 'day2', 'b.txt'), 'second');
  const { page, events, widget } = await open('folder');
  // A real drag of a folder from the OS, through DevTools: entries come with it.
  const zone = page.locator('[data-testid=drop-zone]');
  const box = await zone.boundingBox();
  const cdp = await page.context().newCDPSession(page);
  const at = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  const data = { items: [], files: [folder], dragOperationsMask: 1 };
  for (const type of ['dragEnter', 'dragOver', 'drop']) {
    await cdp.send('Input.dispatchDragEvent', { type, ...at, data });
  }
  assert.equal(await widget.waitForStatus('album/a.txt', ['done', 'failed'], 30_000), 'done');
  assert.equal(await widget.waitForStatus('album/day2/b.txt', ['done', 'failed'], 30_000), 'done');
  const added = (await events.all()).filter((e) => e.type === 'add').map((e) => [e.detail.name, e.detail.relativePath]);
  assert.deepEqual(added.sort(), [['a.txt', 'album/a.txt'], ['b.txt', 'album/day2/b.txt']]);
  await page.close();
});

test('restrictions refuse a file on its row before any request', async () => {
  const { page, events, widget } = await open('restricted');
  await page.evaluate(() => {
    const el = document.querySelector('partway-upload');
    el.setAttribute('accept', 'image/*,.bin');
    el.setAttribute('max-total-size', '1 KB');
  });
  const text = await makeFile(dir, 'words.txt', 10);
  const first = await makeFile(dir, 'first.bin', 600);
  const second = await makeFile(dir, 'second.bin', 600);
  const apiCalls = [];
  page.on('request', (r) => { if (r.url().includes('/api/uploads')) apiCalls.push(r.url()); });
  await widget.pick([text.path]);
  assert.equal(await widget.waitForStatus(text.name, ['failed'], 5_000), 'failed');
  assert.match(await widget.row(text.name).locator('[data-testid=file-error]').innerText(), /type of file is not accepted/);
  await widget.pick([first.path, second.path]);
  assert.equal(await widget.waitForStatus(second.name, ['failed'], 5_000), 'failed');
  assert.match(await widget.row(second.name).locator('[data-testid=file-error]').innerText(), /may not exceed 1000 B/);
  assert.equal(await widget.waitForStatus(first.name, ['done', 'failed'], 30_000), 'done');
  const rejects = (await events.all()).filter((e) => e.type === 'reject').map((e) => [e.detail.name, e.detail.code]);
  assert.deepEqual(rejects, [[text.name, 'type_not_allowed'], [second.name, 'total_too_large']]);
  // Only the accepted file cost requests.
  assert.ok(apiCalls.length >= 1);
  assert.ok(apiCalls.every((u) => !u.includes(text.name) && !u.includes(second.name)));
  assert.equal(await widget.row(text.name).locator('[data-testid=file-retry]').count(), 0);
  await page.close();
});

test('a file that failed on the network goes up with "Retry" once the network is back', async () => {
  const { page, events, widget } = await open('retrier');
  const file = await makeFile(dir, 'flaky.bin', 12 * MiB);
  // Storage unreachable: every part PUT fails, until the retry budget is spent.
  await page.route('**/storage/parts/**', (route) => route.abort('connectionreset'));
  await widget.pick([file.path]);
  assert.equal(await widget.waitForStatus(file.name, ['done', 'failed'], 90_000), 'failed');
  const error = await events.waitFor((e) => e.type === 'error', 5_000, 'partway-error');
  assert.deepEqual([error.detail.code, error.detail.retryable], ['network', true]);
  await page.unroute('**/storage/parts/**');
  await widget.row(file.name).locator('[data-testid=file-retry]').click();
  assert.equal(await widget.waitForStatus(file.name, ['done', 'failed'], 60_000), 'done');
  await events.waitFor((e) => e.type === 'complete', 5_000, 'partway-complete');
  // Focus stays on the row whose button went away.
  assert.equal(await page.evaluate(() => document.querySelector('partway-upload').shadowRoot.activeElement?.dataset.testid), 'file-row');
  await page.close();
});

test('the locale words the widget, overrides win, and a change applies at once', async () => {
  const { page, widget } = await open('locale', '&locale=de');
  const zone = page.locator('[data-testid=drop-zone]');
  assert.match(await zone.getAttribute('aria-label'), /Dateien hierher ziehen/);
  await page.evaluate(() => { document.querySelector('partway-upload').messages = { download: 'Holen' }; });
  const file = await makeFile(dir, 'deutsch.bin', 1536);
  await widget.pick([file.path]);
  assert.equal(await widget.waitForStatus(file.name, ['done'], 30_000), 'done');
  const row = widget.row(file.name);
  assert.equal(await row.locator('.partway-size').innerText(), '1,5 KiB');
  assert.equal(await row.locator('.partway-status').innerText(), 'fertig');
  assert.equal(await row.locator('[data-testid=file-link]').innerText(), 'Holen');
  await page.evaluate(() => document.querySelector('partway-upload').setAttribute('locale', 'fr'));
  assert.equal(await row.locator('.partway-status').innerText(), 'terminé');
  assert.match(await zone.getAttribute('aria-label'), /Déposez des fichiers/);

  // A refusal by the server is worded in the person's language too, from its code.
  await page.route('**/api/uploads', (route) => route.fulfill({
    status: 413, contentType: 'application/json',
    body: JSON.stringify({ error: { code: 'file_too_large', message: 'The file is larger than the limit.' } }),
  }));
  await page.evaluate(() => document.querySelector('partway-upload').setAttribute('locale', 'de'));
  const refused = await makeFile(dir, 'zu-gross.bin', 2000);
  await widget.pick([refused.path]);
  assert.equal(await widget.waitForStatus(refused.name, ['done', 'failed'], 30_000), 'failed');
  assert.equal(await widget.row(refused.name).locator('[data-testid=file-error]').innerText(),
    'Diese Datei überschreitet die Größengrenze des Servers.');
  await page.close();
});

test('the drop zone opens the picker from the keyboard', async () => {
  const { page } = await open('keyboard');
  await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => document.querySelector('partway-upload').shadowRoot.activeElement?.dataset.testid);
  assert.equal(focused, 'drop-zone');
  // The picker opens through a click on the file input; count those clicks (waiting for
  // Playwright's filechooser event raced with its interception being switched on).
  await page.evaluate(() => {
    window.pickerClicks = 0;
    const input = document.querySelector('partway-upload').shadowRoot.querySelector('[data-testid=file-input]');
    input.addEventListener('click', (e) => { window.pickerClicks += 1; e.preventDefault(); });
  });
  for (const [key, n] of [['Enter', 1], ['Space', 2]]) {
    await page.keyboard.press(key);
    assert.equal(await page.evaluate(() => window.pickerClicks), n, `${key} did not open the picker`);
  }
  // Other keys do not.
  await page.keyboard.press('a');
  assert.equal(await page.evaluate(() => window.pickerClicks), 2);
  await page.close();
});

/** Serious and critical findings of axe-core on the page, shadow root included. */
async function audit(page) {
  await page.addScriptTag({ path: join(ROOT, 'tests', 'node_modules', 'axe-core', 'axe.min.js') });
  const violations = await page.evaluate(async () => (await window.axe.run(document)).violations);
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

test('axe-core finds no serious or critical violation idle, mid-upload and done', async () => {
  const { page, widget } = await open('audited');
  assert.deepEqual(await audit(page), [], 'idle');
  const file = await makeFile(dir, 'audited.bin', 24 * MiB);
  await throttle(page, 4 * MiB);
  await widget.pick([file.path]);
  await waitForPercent(widget, file.name, 5, 60_000);
  assert.deepEqual(await audit(page), [], 'mid-upload');
  assert.equal(await widget.waitForStatus(file.name, ['done', 'failed'], 120_000), 'done');
  assert.deepEqual(await audit(page), [], 'done');
  const announced = await page.locator('[data-testid=announcer]').innerText();
  assert.match(announced, /audited\.bin uploaded/);
  await page.close();
});
