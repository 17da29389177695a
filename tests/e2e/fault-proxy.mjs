// A fault-injecting HTTP proxy for the end-to-end tests, bound to 127.0.0.1. It sits
// between the page and storage (the server's --public-url points at it) and, for a
// seeded share of part PUTs, resets the connection mid-body, answers 500/503 (some with
// Retry-After), or stalls past the client's timeout. With `stallApi`, the first API calls
// whose path matches are held unanswered until the proxy closes (a hung server). Everything
// else passes through.
import http from 'node:http';
import { once } from 'node:events';

/** A small seeded PRNG (mulberry32): the same seed gives the same faults. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PART_PUT = /^\/storage\/parts\/[^/]+\/(\d+)/;

/**
 * Starts the proxy. `rate` is the share of part PUT attempts to fault, `maxFaults` bounds
 * them in all, `stallMs` is how long a stall holds the connection before dropping it.
 */
export async function startFaultProxy({
  upstream, seed = 1, rate = 0.2, maxFaults = 1000, stallMs = 8000, stallApi = null,
}) {
  const random = prng(seed);
  const up = new URL(upstream);
  const stats = {
    puts: 0, faults: 0, resets: 0, errors: 0, stalls: 0, faultedParts: new Set(), bytesForwarded: 0,
    apiStalled: 0, apiCalls: [],
  };
  const sockets = new Set();

  const server = http.createServer((req, res) => {
    if (req.url.startsWith('/api/')) stats.apiCalls.push(`${req.method} ${req.url}`);
    if (stallApi && stats.apiStalled < stallApi.count && stallApi.match.test(req.url)) {
      stats.apiStalled++;
      req.resume();
      return; // never answered: the socket is destroyed when the proxy closes
    }
    const part = req.method === 'PUT' && PART_PUT.exec(req.url);
    if (part) stats.puts++;
    const fault = part && shouldFault() ? KINDS[(stats.faults + offset) % KINDS.length] : null;
    if (fault) {
      stats.faults++;
      stats.faultedParts.add(Number(part[1]));
      return inject(fault, req, res);
    }
    const upstreamReq = http.request({
      host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers,
    }, (upstreamRes) => {
      res.writeHead(upstreamRes.statusCode, upstreamRes.headers);
      upstreamRes.pipe(res);
    });
    upstreamReq.on('error', () => res.destroy());
    req.on('data', (chunk) => { if (part) stats.bytesForwarded += chunk.length; });
    req.pipe(upstreamReq);
  });

  // Exactly `rate` of the attempts so far (rounded), at seeded places: the faulted share
  // does not drift with luck, and the three kinds take turns so each one occurs.
  const KINDS = ['reset', 'error', 'stall'];
  const offset = Math.floor(random() * KINDS.length);
  let credit = random();
  function shouldFault() {
    if (stats.faults >= maxFaults) return false;
    credit += rate;
    if (credit < 1) return false;
    credit -= 1;
    return true;
  }

  function inject(fault, req, res) {
    const origin = req.headers.origin ?? '*';
    if (fault === 'reset') {
      stats.resets++;
      // Let some of the body arrive, then cut the connection.
      let seen = 0;
      req.on('data', (chunk) => {
        seen += chunk.length;
        if (seen > 256 * 1024) req.socket.destroy();
      });
      req.on('end', () => req.socket.destroy());
    } else if (fault === 'error') {
      stats.errors++;
      req.resume();
      req.on('end', () => {
        const status = random() < 0.5 ? 500 : 503;
        const headers = {
          'access-control-allow-origin': origin,
          'access-control-expose-headers': 'ETag, Retry-After',
          'content-type': 'application/xml',
        };
        if (status === 503 && random() < 0.5) headers['retry-after'] = '1';
        res.writeHead(status, headers);
        res.end('<Error><Code>SlowDown</Code><Message>Injected fault</Message></Error>');
      });
    } else {
      stats.stalls++;
      req.resume();
      setTimeout(() => req.socket.destroy(), stallMs).unref();
    }
  }

  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    port: server.address().port,
    stats,
    async close() {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
