// Benchmark (a script, not a test) of the companion server alone, release build, local
// storage, on this machine: part URLs signed per second, and small files created, sent
// and completed per second. No browser: a few concurrent clients in this process.
//
//   node bench/server.mjs [--seconds 10] [--clients 8] [--binary PATH]
//
// --binary measures another build (e.g. an earlier commit's) the same way; rate limits
// are turned off where the build has them, so that the figures are the server's own.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, startServer } from '../e2e/harness.mjs';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    clients: { type: 'string', default: '8' },
    binary: { type: 'string' },
  },
});
const seconds = Number(values.seconds);
const clients = Number(values.clients);
const MiB = 1024 * 1024;

let binary = values.binary;
if (!binary) {
  execFileSync('cargo', ['build', '--profile', 'server', '-p', 'partway-server'], { cwd: ROOT, stdio: 'inherit' });
  binary = join(ROOT, 'target', 'server', 'partway-server');
}
const help = execFileSync(binary, ['--help'], { encoding: 'utf8' });
const args = help.includes('--rate-limit-user') ? ['--rate-limit-user', '0', '--rate-limit-address', '0'] : [];
const server = await startServer({ binary, args });

const b64 = (bytes) => createHash('sha256').update(bytes).digest('base64');
async function call(method, path, token, body) {
  const res = await fetch(`${server.api}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** Runs `once` from `clients` loops for the set time; returns how many ran per second. */
async function rate(once) {
  const until = Date.now() + seconds * 1000;
  let count = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, async (_, client) => {
    while (Date.now() < until) {
      // Not `count += await …`: that reads `count` before the await, losing the other
      // clients' counts.
      const done = await once(client);
      count += done;
    }
  }));
  return count / ((performance.now() - t0) / 1000);
}

try {
  // Signing: batches of 100 parts of a 10 GiB upload, signed again and again.
  const signer = await server.token('bench-sign');
  const partSize = 5 * MiB;
  const partCount = 2048;
  const sums = Array.from({ length: 100 }, () => b64(randomBytes(16)));
  const uploads = [];
  for (let c = 0; c < clients; c++) {
    const created = await call('POST', '/api/uploads', signer, {
      name: `big-${c}.bin`, size: partSize * partCount, part_size: partSize, content_type: '', parts: [],
    });
    uploads.push(created.upload_id);
  }
  const signed = await rate(async (client) => {
    const first = 1 + Math.floor(Math.random() * (partCount - 100));
    const parts = sums.map((sha256, i) => ({ part_number: first + i, sha256 }));
    const answer = await call('POST', `/api/uploads/${uploads[client]}/parts`, signer, { parts });
    return answer.parts.length;
  });

  // Small files: create (its one part signed), PUT, complete.
  const users = await Promise.all(Array.from({ length: clients }, (_, c) => server.token(`bench-files-${c}`)));
  const body = randomBytes(1024);
  const sha256 = b64(body);
  const files = await rate(async (client) => {
    const token = users[client];
    const created = await call('POST', '/api/uploads', token, {
      name: 'small.bin', size: body.length, part_size: partSize, content_type: '', parts: [{ part_number: 1, sha256 }],
    });
    const part = created.parts[0];
    const put = await fetch(part.url, { method: 'PUT', headers: part.headers, body });
    if (!put.ok) throw new Error(`PUT: ${put.status} ${await put.text()}`);
    const etag = put.headers.get('etag');
    await call('POST', `/api/uploads/${created.upload_id}/complete`, token, { parts: [{ part_number: 1, etag }] });
    return 1;
  });
  console.log(`${binary}: ${clients} clients, ${seconds} s each`);
  console.log(`  part URLs signed: ${signed.toFixed(0)} per second`);
  console.log(`  small files created, sent and completed: ${files.toFixed(0)} per second`);
} finally {
  await server.stop();
}
