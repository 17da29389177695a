// A small HTTP load balancer for the end-to-end tests, bound to 127.0.0.1: it sends each
// request to one of several server instances, chosen by a rule, and counts where each
// kind of call went. It proves the server keeps no state of its own between calls.
import http from 'node:http';
import { once } from 'node:events';

/**
 * Starts the balancer on `port` (0: any free one). `route(req, counts)` returns the index of the upstream to use;
 * `counts` is a `Map` from `"METHOD path-kind"` to per-upstream counters.
 */
export async function startBalancer(upstreams, route, port = 0) {
  const counts = new Map();
  const server = http.createServer((req, res) => {
    const i = route(req, counts);
    const kind = `${req.method} ${kindOf(req.url)}`;
    if (!counts.has(kind)) counts.set(kind, upstreams.map(() => 0));
    counts.get(kind)[i]++;
    const up = new URL(upstreams[i]);
    const forward = http.request({
      host: up.hostname, port: up.port, method: req.method, path: req.url,
      headers: { ...req.headers, host: up.host },
    }, (upRes) => {
      res.writeHead(upRes.statusCode, upRes.headers);
      upRes.pipe(res);
    });
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  const sockets = new Set();
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: server.address().port,
    counts,
    async close() {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

/** The API call a path is, with ids left out: `/api/uploads/{id}/parts` → `uploads/parts`. */
export function kindOf(url) {
  const path = url.split('?')[0];
  if (!path.startsWith('/api/')) return 'static';
  return path.slice(5).split('/').filter((seg, i) => i === 0 || !/[0-9a-f-]{16,}/.test(seg)).join('/');
}
