// The checks after upload are durable: jobs queued by an instance that dies before
// running them are run once it is back. The first server runs no job workers (an
// API-only instance), so the jobs are certainly still queued when it is killed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchBrowser, startServer, tempDir, WidgetPage } from './harness.mjs';

let browser;
let dir;

before(async () => {
  browser = await launchBrowser();
  dir = tempDir('partway-processing-');
});

after(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function processing(server, token) {
  const files = (await server.get('/api/files', token)).body.files;
  return Object.fromEntries(files.map((f) => [f.name, f.processing]));
}

test('jobs queued before a crash run after the restart: a text file passes, a fake photo is quarantined', async () => {
  const server = await startServer({ args: ['--job-workers', '0'] });
  try {
    const page = await browser.newPage();
    const widget = new WidgetPage(page);
    await widget.open(`${server.page}/?user=crash`);
    // Plain words (random bytes might start like some format's signature).
    const text = { name: 'notes.txt', path: join(dir, 'notes.txt') };
    writeFileSync(text.path, 'Remember the milk.\n'.repeat(500));
    const fake = { name: 'photo.jpg', path: join(dir, 'photo.jpg') };
    writeFileSync(fake.path, 'Not a photo at all.\n'.repeat(1000));
    await widget.pick([text.path, fake.path]);
    for (const file of [text, fake]) {
      assert.equal(await widget.waitForStatus(file.name, ['done', 'failed'], 60_000), 'done');
    }
    const token = await server.token('crash');
    assert.deepEqual(await processing(server, token), { 'notes.txt': 'pending', 'photo.jpg': 'pending' });

    await server.restart(0, ['--job-workers', '1']);
    const deadline = Date.now() + 20_000;
    let now;
    for (;;) {
      now = await processing(server, token);
      if (!Object.values(now).includes('pending') || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.deepEqual(now, { 'notes.txt': 'done', 'photo.jpg': 'quarantined' });
    const files = (await server.get('/api/files', token)).body.files;
    const photo = files.find((f) => f.name === 'photo.jpg');
    const refused = await server.get(`/api/files/${photo.id}`, token);
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, 'quarantined');
    await page.close();
  } finally {
    await server.stop();
  }
});
