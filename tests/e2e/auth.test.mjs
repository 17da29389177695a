// A token minted by a site's own code, exactly as the README says, against the real
// server binary: the README's code block is extracted and run as written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, startServer, tempDir } from './harness.mjs';

const SECRET = 'a secret the site and the server share';

async function readmeExample() {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = readme.match(/<!-- token-example -->\s*```js\n([\s\S]*?)```/);
  assert.ok(block, 'the README has its token example');
  const dir = tempDir('partway-readme-');
  const file = join(dir, 'token.mjs');
  writeFileSync(file, block[1]);
  const module = await import(pathToFileURL(file).href);
  rmSync(dir, { recursive: true, force: true });
  return module.uploadToken;
}

test("a token minted as the README says is accepted; one with another secret is not", async () => {
  const uploadToken = await readmeExample();
  const server = await startServer({ args: ['--secret', SECRET] });
  try {
    const files = (token) => fetch(`${server.api}/api/files`, { headers: { authorization: `Bearer ${token}` } });
    const ok = await files(uploadToken('site-user', SECRET));
    const body = await ok.text();
    assert.equal(ok.status, 200, body);
    assert.deepEqual(JSON.parse(body), { files: [] });
    const forged = await files(uploadToken('site-user', 'another secret'));
    assert.equal(forged.status, 401);
    assert.equal((await forged.json()).error.code, 'unauthorized');
    const tooLong = await files(uploadToken('site-user', SECRET, 2 * 86_400));
    assert.equal(tooLong.status, 401);
    assert.match((await tooLong.json()).error.message, /86400 seconds/);
  } finally {
    await server.stop();
  }
});
