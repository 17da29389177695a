// Live sync across devices: two browser pages of one user, on two server instances that
// share one PostgreSQL database. A file uploaded on one appears on the other through the
// event stream (PostgreSQL NOTIFY between the instances); a file uploaded while the
// other's server is down arrives after it comes back, replayed from the database.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freshDatabase, launchBrowser, makeFile, recordEvents, startServer, tempDir, WidgetPage } from './harness.mjs';

let browser;
let dir;

before(async () => {
  browser = await launchBrowser();
  dir = tempDir('partway-live-');
});

after(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function openDevice(server, user) {
  const page = await browser.newPage();
  const events = await recordEvents(page);
  const widget = new WidgetPage(page);
  await widget.open(`${server.page}/?user=${user}`);
  return { page, events, widget };
}

async function uploadOn(device, file) {
  await device.widget.pick([file.path]);
  assert.equal(await device.widget.waitForStatus(file.name, ['done', 'failed'], 60_000), 'done',
    await device.widget.row(file.name).innerText());
}

function remoteFileCreated(name) {
  return (e) => e.type === 'remote' && e.detail.type === 'file.created' && e.detail.file?.name === name;
}

test('a file uploaded on one device appears on the other, through another server instance, and after a restart', async () => {
  const shared = ['--database-url', freshDatabase('partway_live'), '--secret', 'one-secret-for-both-instances'];
  const a = await startServer({ args: shared });
  // Local storage is each instance's own disk: only A, which holds the bytes, runs the
  // jobs after upload (B serves the API, as an instance with --job-workers 0 does).
  const b = await startServer({ args: [...shared, '--job-workers', '0'] });
  try {
    const laptop = await openDevice(a, 'traveller');
    const phone = await openDevice(b, 'traveller');
    // The phone's stream is open once it has asked for a ticket and connected; give it
    // a moment, as a person would.
    await phone.page.waitForTimeout(1000);

    // Words, not a photo (random bytes might start like some image format's signature).
    const first = { name: 'holiday-1.jpg', path: join(dir, 'holiday-1.jpg'), size: 200_000 };
    writeFileSync(first.path, 'x'.repeat(first.size));
    await uploadOn(laptop, first);
    const seen = await phone.events.waitFor(remoteFileCreated(first.name), 20_000, 'partway-remote on the phone');
    assert.equal(seen.bubbles && seen.composed, true, 'partway-remote bubbles out of the shadow root');
    assert.equal(seen.detail.file.size, first.size);
    await phone.page.locator('[data-testid=your-file]', { hasText: first.name }).waitFor({ timeout: 10_000 });
    // The "photo" is not one: the checks after upload quarantine it, and the row that
    // sent it says so and offers no download.
    const checked = laptop.widget.row(first.name).locator('[data-testid=file-processing]');
    await checked.filter({ hasText: /quarantined/ }).waitFor({ timeout: 20_000 });
    assert.match(await checked.innerText(), /declared as image\/jpeg/);
    assert.equal(await laptop.widget.row(first.name).locator('[data-testid=file-link]').count(), 0);
    // The laptop made it: it hears of it as partway-complete, not as a remote change.
    await laptop.page.waitForTimeout(500);
    assert.equal((await laptop.events.all()).filter(remoteFileCreated(first.name)).length, 0,
      'the uploading page was told of its own file as a remote change');

    // The phone's server goes away; meanwhile the laptop uploads another file. When the
    // server is back, the phone reconnects and the missed event is replayed.
    const second = await makeFile(dir, 'holiday-2.jpg', 300_000);
    const downtime = b.restart(4000);
    await uploadOn(laptop, second);
    await downtime;
    await phone.events.waitFor(remoteFileCreated(second.name), 60_000, 'the replayed partway-remote');
    await phone.page.locator('[data-testid=your-file]', { hasText: second.name }).waitFor({ timeout: 10_000 });

    // Deleting on the phone removes the file from the laptop's list.
    const row = phone.page.locator('[data-testid=your-file]', { hasText: first.name });
    await row.getByRole('button', { name: `Delete ${first.name}` }).click();
    await laptop.events.waitFor((e) => e.type === 'remote' && e.detail.type === 'file.deleted'
      && e.detail.file?.name === first.name, 20_000, 'file.deleted on the laptop');
    await laptop.page.locator('[data-testid=your-file]', { hasText: first.name }).waitFor({ state: 'detached', timeout: 10_000 });
    await laptop.page.close();
    await phone.page.close();
  } finally {
    await a.stop();
    await b.stop();
  }
});
