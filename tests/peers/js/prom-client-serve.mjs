// Serves the deterministic benchmark metric set (bench-set.mjs) over HTTP with
// prom-client, standing in for a real Node.js application the sidecar scrapes.
//
// Prints "listening <port>" once the socket is bound, so a test can start it
// with --port 0 and read the port it actually got.

import http from 'node:http';
import { parseArgs } from 'node:util';
import { buildBenchRegistry, DEFAULT_METRICS, DEFAULT_SERIES } from './bench-set.mjs';

const USAGE = `usage: node prom-client-serve.mjs --port P [--metrics ${DEFAULT_METRICS}] [--series ${DEFAULT_SERIES}] [--host 127.0.0.1]`;

function fail(message) {
  process.stderr.write(`error: ${message}\n${USAGE}\n`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      port: { type: 'string' },
      metrics: { type: 'string', default: String(DEFAULT_METRICS) },
      series: { type: 'string', default: String(DEFAULT_SERIES) },
      // Loopback by default: the peer is only ever a local test fixture.
      host: { type: 'string', default: '127.0.0.1' },
    },
    strict: true,
  }));
} catch (e) {
  fail(e.message);
}
const int = (name, min) => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < min) fail(`--${name} must be an integer >= ${min}, got ${values[name]}`);
  return n;
};
if (values.port === undefined) fail('--port is required (0 picks a free port)');
const port = int('port', 0);
const { registry } = buildBenchRegistry({ metrics: int('metrics', 1), series: int('series', 1) });

const server = http.createServer(async (req, res) => {
  const path = new URL(req.url, 'http://localhost').pathname;
  if (path !== '/metrics') {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  try {
    const body = await registry.metrics();
    res.writeHead(200, {
      'content-type': registry.contentType,
      'content-length': Buffer.byteLength(body, 'utf8'),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  } catch (e) {
    res.writeHead(500, { 'content-type': 'text/plain' }).end(`${e.message}\n`);
  }
});

server.on('error', (e) => {
  process.stderr.write(`prom-client-serve: ${e.message}\n`);
  process.exit(1);
});

server.listen(port, values.host, () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});

// Test harnesses stop peers with SIGTERM (or SIGINT from a terminal); closing
// the server lets in-flight scrapes finish and yields exit code 0 rather than
// a signal death that would look like a crash in test logs.
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeIdleConnections?.();
    // A scraper holding a keep-alive connection open must not keep us alive.
    setTimeout(() => process.exit(0), 2000).unref();
  });
}
