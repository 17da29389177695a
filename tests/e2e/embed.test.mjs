// The embedding contract, as a web developer meets it: the packed npm tarball installed
// into a blank page with no build step, served by a plain static server on another
// origin than the API; the typed declarations checked by tsc.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ROOT, launchBrowser, makeFile, packedTarball, recordEvents, serveStatic, sha256OfUrl,
  startServer, tempDir,
} from './harness.mjs';

const MiB = 1024 * 1024;
let browser;
let dir;
let site;

before(async () => {
  browser = await launchBrowser();
  dir = tempDir('partway-embed-');
  site = join(dir, 'site');
  // A blank site that installs the package as any site would: from the tarball.
  execFileSync('mkdir', ['-p', site]);
  writeFileSync(join(site, 'package.json'), JSON.stringify({ name: 'blank-site', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', packedTarball()], { cwd: site });
});

after(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The blank page: one module script, one tag. */
function blankPage(api, attributes) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Blank site</title></head>
<body>
<h1>Any site</h1>
<partway-upload endpoint="${api}" ${attributes}></partway-upload>
<script type="module">
  import './node_modules/partway-upload/partway-upload.js';
  window.tokenCalls = 0;
  document.querySelector('partway-upload').getToken = async () => {
    window.tokenCalls += 1;
    const res = await fetch('${api}/api/dev/token', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'embedder' }),
    });
    return (await res.json()).token;
  };
</script>
</body></html>`;
}

test('a blank page with one tag, from the packed tarball, uploads into the API on another origin and gets every event', async () => {
  const server = await startServer({ args: ['--allowed-types', 'application/octet-stream'] });
  writeFileSync(join(site, 'index.html'), blankPage(server.api, 'max-file-size="20 MiB"'));
  const statics = await serveStatic(site);
  try {
    const good = await makeFile(dir, 'good.bin', 3 * MiB);
    const big = await makeFile(dir, 'big.bin', 21 * MiB);
    const text = await makeFile(dir, 'note.txt', 10);
    const slow = await makeFile(dir, 'slow.bin', 16 * MiB);
    const page = await browser.newPage();
    const events = await recordEvents(page);
    const requests = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`${statics.origin}/index.html`);
    assert.notEqual(new URL(statics.origin).port, String(server.port), 'page and API share an origin');
    const input = page.locator('partway-upload [data-testid=file-input]');
    await input.waitFor({ state: 'attached', timeout: 30_000 });

    // A file over the element's limit is refused with no request at all.
    await input.setInputFiles([big.path]);
    const reject = await events.waitFor((e) => e.type === 'reject', 10_000, 'partway-reject');
    assert.deepEqual(reject.detail, {
      name: big.name, size: big.size, code: 'file_too_large', message: reject.detail.message,
    });
    assert.match(reject.detail.message, /20\.0 MiB/);
    assert.ok(reject.bubbles && reject.composed);
    await page.waitForTimeout(300);
    assert.deepEqual(requests.filter((u) => u.startsWith(server.api)), [], 'a refused file made a request');
    assert.equal(await page.evaluate(() => window.tokenCalls), 0, 'getToken called for a refused file');

    // One file the server takes, one it refuses by type.
    await input.setInputFiles([good.path, text.path]);
    const idle = await events.waitFor((e) => e.type === 'idle', 60_000, 'partway-idle');
    assert.deepEqual(idle.detail, { done: 1, failed: 1, cancelled: 0 });
    const all = await events.all();
    const added = all.filter((e) => e.type === 'add').map((e) => e.detail);
    assert.deepEqual(added.map((a) => [a.name, a.size]), [[good.name, good.size], [text.name, text.size]]);
    const goodId = added[0].id;
    const complete = all.find((e) => e.type === 'complete');
    assert.equal(complete.detail.id, goodId);
    assert.equal(complete.detail.file.name, good.name);
    assert.equal(complete.detail.file.size, good.size);
    assert.equal(complete.detail.file.sha256, good.sha256);
    assert.match(complete.detail.downloadUrl, /^http:\/\/127\.0\.0\.1:\d+\//);
    assert.equal(await sha256OfUrl(complete.detail.downloadUrl), good.sha256);
    const progress = all.filter((e) => e.type === 'progress' && e.detail.id === goodId).map((e) => e.detail);
    assert.ok(progress.length >= 1);
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i].percent >= progress[i - 1].percent, 'percent went back');
    const last = progress.at(-1);
    assert.deepEqual([last.percent, last.bytesSent, last.bytesTotal], [100, good.size, good.size]);
    assert.ok(all.indexOf(all.find((e) => e === complete)) > all.findIndex((e) => e.type === 'progress' && e.detail.percent === 100));
    const error = all.find((e) => e.type === 'error');
    assert.deepEqual(
      [error.detail.id, error.detail.code, error.detail.retryable],
      [added[1].id, 'type_not_allowed', false],
    );
    assert.ok(error.detail.message.length > 0);
    assert.ok(await page.evaluate(() => window.tokenCalls) >= 1);

    // The files snapshot.
    const files = await page.evaluate(() => document.querySelector('partway-upload').files);
    assert.deepEqual(files.map((f) => [f.name, f.status]), [[big.name, 'failed'], [good.name, 'done'], [text.name, 'failed']]);
    assert.equal(files[1].file.sha256, good.sha256);
    assert.equal(files[0].error.code, 'file_too_large');

    // A slow file, cancelled through the method: partway-cancel, then idle again.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 5, downloadThroughput: -1, uploadThroughput: 2 * MiB });
    await input.setInputFiles([slow.path]);
    const slowAdd = await events.waitFor((e) => e.type === 'add' && e.detail.name === slow.name, 10_000, 'add of slow.bin');
    await events.waitFor((e) => e.type === 'progress' && e.detail.id === slowAdd.detail.id && e.detail.bytesSent > 0, 60_000, 'progress of slow.bin');
    await page.evaluate(() => document.querySelector('partway-upload').cancelAll());
    const cancel = await events.waitFor((e) => e.type === 'cancel', 10_000, 'partway-cancel');
    assert.equal(cancel.detail.id, slowAdd.detail.id);
    await events.waitFor((e) => e.type === 'idle' && e.detail.cancelled === 1, 10_000, 'second idle');
    const idles = (await events.all()).filter((e) => e.type === 'idle').map((e) => e.detail);
    assert.deepEqual(idles.at(-1), { done: 1, failed: 1, cancelled: 1 });

    // clear() drops finished rows and starts the counts again; the element goes on.
    await page.evaluate(() => document.querySelector('partway-upload').clear());
    assert.deepEqual(await page.evaluate(() => document.querySelector('partway-upload').files), []);
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    await input.setInputFiles([good.path]);
    await events.waitFor((e) => e.type === 'idle' && e.detail.done === 1 && e.detail.failed === 0, 30_000, 'idle after clear()');
    const again = await page.evaluate(() => document.querySelector('partway-upload').files);
    assert.deepEqual(again.map((f) => [f.name, f.status]), [[good.name, 'done']]);
    await page.close();
  } finally {
    await statics.close();
    await server.stop();
  }
});

test('mount() from the package builds a configured element for frameworks', async () => {
  const server = await startServer();
  writeFileSync(join(site, 'mount.html'), `<!doctype html><html lang="de"><head><meta charset="utf-8"><title>Mount</title></head>
<body><div id="app"></div>
<script type="module">
  import { mount } from './node_modules/partway-upload/manual.js';
  window.mounted = mount(document.getElementById('app'), {
    endpoint: '${server.api}', maxFiles: 1, parallel: 2, messages: { cancel: 'Stopp!' },
    getToken: async () => (await (await fetch('${server.api}/api/dev/token', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"user":"framework"}' })).json()).token,
  }).then((el) => el.tagName);
</script></body></html>`);
  const statics = await serveStatic(site);
  try {
    const a = await makeFile(dir, 'a.bin', 1000);
    const b = await makeFile(dir, 'b.bin', 1000);
    const page = await browser.newPage();
    const events = await recordEvents(page);
    await page.goto(`${statics.origin}/mount.html`);
    assert.equal(await page.evaluate(() => window.mounted), 'PARTWAY-UPLOAD');
    await page.locator('partway-upload [data-testid=file-input]').setInputFiles([a.path]);
    await events.waitFor((e) => e.type === 'complete', 30_000, 'partway-complete');
    // max-files counts finished rows until clear(): a second file is refused.
    await page.locator('partway-upload [data-testid=file-input]').setInputFiles([b.path]);
    const reject = await events.waitFor((e) => e.type === 'reject', 10_000, 'partway-reject');
    assert.equal(reject.detail.code, 'too_many_files');
    // The page's language (de) words the widget.
    assert.match(reject.detail.message, /höchstens 1 Dateien/);
    await page.close();
  } finally {
    await statics.close();
    await server.stop();
  }
});

test('two elements on one page work independently, and properties set before the module loads are kept', async () => {
  const server = await startServer();
  writeFileSync(join(site, 'two.html'), `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Two</title></head>
<body>
<partway-upload id="one" endpoint="${server.api}"></partway-upload>
<partway-upload id="two" endpoint="${server.api}" locale="fr"></partway-upload>
<script>
  // Plain script, before the module: the class is not defined yet.
  const token = (user) => async () => (await (await fetch('${server.api}/api/dev/token', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user }) })).json()).token;
  document.getElementById('one').getToken = token('first');
  document.getElementById('two').getToken = token('second');
  document.getElementById('two').messages = { cancel: 'Arrêter tout de suite' };
  window.seen = [];
  for (const id of ['one', 'two']) {
    // The files property is never behind the events (the rows may redraw a moment later).
    document.getElementById(id).addEventListener('partway-complete', (e) => window.seen.push([
      id, e.detail.file.name, e.currentTarget.files.find((f) => f.id === e.detail.id)?.status,
    ]));
  }
</script>
<script type="module" src="./node_modules/partway-upload/partway-upload.js"></script>
</body></html>`);
  const statics = await serveStatic(site);
  try {
    const a = await makeFile(dir, 'for-one.bin', 2 * MiB);
    const b = await makeFile(dir, 'for-two.bin', 3 * MiB);
    const page = await browser.newPage();
    await page.goto(`${statics.origin}/two.html`);
    await page.locator('#one [data-testid=file-input]').setInputFiles([a.path]);
    await page.locator('#two [data-testid=file-input]').setInputFiles([b.path]);
    // Both go up at once, each into its own user's files.
    const deadline = Date.now() + 60_000;
    while ((await page.evaluate(() => window.seen.length)) < 2) {
      assert.ok(Date.now() < deadline, 'both files did not complete');
      await page.waitForTimeout(50);
    }
    assert.deepEqual((await page.evaluate(() => window.seen)).sort(), [['one', a.name, 'done'], ['two', b.name, 'done']]);
    const names = (user) => server.token(user).then((t) => server.get('/api/files', t)).then((r) => r.body.files.map((f) => f.name));
    assert.deepEqual(await names('first'), [a.name]);
    assert.deepEqual(await names('second'), [b.name]);
    for (const [id, name] of [['one', a.name], ['two', b.name]]) {
      const files = await page.evaluate((id) => document.getElementById(id).files.map((f) => f.name), id);
      assert.deepEqual(files, [name]);
    }
    // The second element speaks French, with its own override kept from before the upgrade.
    assert.match(await page.locator('#two [data-testid=drop-zone]').getAttribute('aria-label'), /Déposez/);
    assert.match(await page.locator('#one [data-testid=drop-zone]').getAttribute('aria-label'), /Drop files/);
    assert.deepEqual(await page.evaluate(() => document.getElementById('two').messages), { cancel: 'Arrêter tout de suite' });
    // addFiles() from a script: the rows are listed by the time it returns.
    const listed = await page.evaluate(() => {
      const el = document.getElementById('one');
      const before = el.files.length;
      el.addFiles([new File(['hello'], 'scripted.txt', { type: 'text/plain' })]);
      return [before, el.files.length, el.files.at(-1).name];
    });
    assert.deepEqual(listed, [1, 2, 'scripted.txt']);
    await page.close();
  } finally {
    await statics.close();
    await server.stop();
  }
});

test('tsc accepts a consumer that uses the typed element, events and mount()', () => {
  writeFileSync(join(site, 'consumer.ts'), `
import { mount, type PartwayCompleteDetail, type PartwayUploadElement } from 'partway-upload';

const el = document.createElement('partway-upload');
const same: PartwayUploadElement = el;
el.getToken = async () => 'token';
el.messages = { cancel: 'Stop' };
el.addEventListener('partway-complete', (e) => {
  const detail: PartwayCompleteDetail = e.detail;
  const hash: string | null = detail.file.sha256;
  console.log(hash, detail.downloadUrl.toUpperCase());
});
el.addEventListener('partway-progress', (e) => {
  const left: number | null = e.detail.secondsLeft;
  console.log(e.detail.percent.toFixed(0), left);
});
el.addEventListener('partway-error', (e) => {
  if (e.detail.retryable) el.retry(e.detail.id);
});
el.addEventListener('partway-idle', (e) => console.log(e.detail.done + e.detail.failed + e.detail.cancelled));
const first = el.files[0];
if (first?.status === 'done') console.log(first.file?.size);
// @ts-expect-error percent is a number
const wrong: string = el.files[0].percent;
// @ts-expect-error no such event detail field
el.addEventListener('partway-add', (e) => e.detail.nope);

export async function start(target: HTMLElement) {
  const mounted = await mount(target, { endpoint: 'https://api.example', maxFileSize: '2 GiB', parallel: 4 });
  mounted.pauseAll();
  return [same, mounted, wrong];
}
`);
  writeFileSync(join(site, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      strict: true, noEmit: true, target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext',
      lib: ['es2022', 'dom'], skipLibCheck: false,
    },
    files: ['consumer.ts'],
  }));
  const tsc = join(ROOT, 'tests', 'node_modules', '.bin', 'tsc');
  try {
    execFileSync(tsc, ['-p', 'tsconfig.json'], { cwd: site, stdio: 'pipe' });
  } catch (e) {
    assert.fail(`tsc refused the consumer:\n${e.stdout}${e.stderr}`);
  }
});

test('npm publish --dry-run accepts the package, with the files a page needs', () => {
  const run = spawnSync('npm', ['publish', '--dry-run'], {
    cwd: join(ROOT, 'target', 'npm', 'partway-upload'), encoding: 'utf8', timeout: 60_000,
  });
  assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);
  assert.match(run.stdout, /\+ partway-upload@\d+\.\d+\.\d+/);
  for (const file of ['partway-upload.js', 'partway-upload.d.ts', 'manual.js', 'wasm/partway_bg.wasm', 'wasm/partway.js']) {
    assert.ok(run.stderr.includes(file), `${file} is not in the package`);
  }
});
