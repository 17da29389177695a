// Links as people have them: a slow uplink that never stops moving must not cut parts,
// and a server that never answers one API call must not hang the upload.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startFaultProxy } from './fault-proxy.mjs';
import { launchBrowser, makeFile, startServer, tempDir, throttle, WidgetPage } from './harness.mjs';

const MiB = 1024 * 1024;
let browser;
let dir;

before(async () => {
  browser = await launchBrowser();
  dir = tempDir('partway-links-');
});

after(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('32 MiB at 1 Mbit/s completes, and no part is cut while it moves', async () => {
  const server = await startServer();
  try {
    const file = await makeFile(dir, 'slow-uplink.bin', 32 * MiB);
    const page = await browser.newPage();
    // 1 Mbit/s shared by 4 parts in flight: each 8 MiB part takes about 4.5 minutes,
    // more than twice any whole-request deadline the widget used to set.
    await throttle(page, 125_000);
    const widget = new WidgetPage(page);
    await widget.open(`${server.page}/?user=slow`);
    await widget.pick([file.path]);
    assert.equal(await widget.waitForStatus(file.name, ['done', 'failed'], 420_000), 'done',
      await widget.row(file.name).innerText());
    assert.equal(await widget.row(file.name).getAttribute('data-bytes-resent'), '0');
    await page.close();
  } finally {
    await server.stop();
  }
});

test('an API call that never answers is timed out and made again', async () => {
  const server = await startServer();
  // The page, its API calls and storage all go through the proxy, which holds the first
  // complete call for ever.
  const proxy = await startFaultProxy({
    upstream: server.api, rate: 0, stallApi: { match: /\/complete$/, count: 1 },
  });
  try {
    const file = await makeFile(dir, 'hung-api.bin', 20 * MiB);
    const page = await browser.newPage();
    const widget = new WidgetPage(page);
    await widget.open(`${proxy.url}/?user=hung&api_timeout=3`);
    await widget.pick([file.path]);
    assert.equal(await widget.waitForStatus(file.name, ['done', 'failed'], 60_000), 'done',
      await widget.row(file.name).innerText());
    assert.equal(proxy.stats.apiStalled, 1);
    const completes = proxy.stats.apiCalls.filter((c) => c.endsWith('/complete'));
    assert.equal(completes.length, 2, completes.join('\n'));
    await page.close();
  } finally {
    await proxy.close();
    await server.stop();
  }
});
