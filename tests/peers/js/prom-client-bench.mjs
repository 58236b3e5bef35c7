// In-process cost of prom-client exposition for the shared benchmark set
// (bench-set.mjs): the figure the sidecar's own Prometheus rendering is
// compared against. Prints one JSON line.
//
// Run with `node --expose-gc prom-client-bench.mjs ...` for the more precise
// heap figure; without it a fallback estimate is used (see measureHeap).

import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import { buildBenchRegistry, DEFAULT_METRICS, DEFAULT_SERIES } from './bench-set.mjs';

const USAGE =
  `usage: node [--expose-gc] prom-client-bench.mjs [--metrics ${DEFAULT_METRICS}] ` +
  `[--series ${DEFAULT_SERIES}] [--iterations 2000] [--warmup 200] [--heap-samples 200]`;

function fail(message) {
  process.stderr.write(`error: ${message}\n${USAGE}\n`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      metrics: { type: 'string', default: String(DEFAULT_METRICS) },
      series: { type: 'string', default: String(DEFAULT_SERIES) },
      iterations: { type: 'string', default: '2000' },
      warmup: { type: 'string', default: '200' },
      'heap-samples': { type: 'string', default: '200' },
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
const metrics = int('metrics', 1);
const series = int('series', 1);
const iterations = int('iterations', 1);
const warmup = int('warmup', 0);
const heapSamples = int('heap-samples', 1);

const set = buildBenchRegistry({ metrics, series });
const { registry } = set;

// Nearest-rank percentile over an ascending array.
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const round3 = (x) => Math.round(x * 1000) / 1000;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// Warm-up lets V8 optimise the exposition path before anything is timed.
let text = '';
for (let i = 0; i < warmup; i++) text = await registry.metrics();

// Timing phase: nothing but the scrape inside the timed region, and no forced
// GCs, so the distribution includes the GC pauses a real scrape would pay.
const durationsMs = new Array(iterations);
for (let i = 0; i < iterations; i++) {
  const t0 = process.hrtime.bigint();
  text = await registry.metrics();
  durationsMs[i] = Number(process.hrtime.bigint() - t0) / 1e6;
}
const sortedMs = [...durationsMs].sort((a, b) => a - b);
const bytesPerScrape = Buffer.byteLength(text, 'utf8');

const heap = await measureHeap();

const result = {
  peer: 'prom-client-bench',
  node: process.version,
  promClient: '15.1.3',
  metrics,
  series,
  families: set.families,
  histograms: set.histograms,
  counters: set.counters,
  gauges: set.gauges,
  samples: set.samples,
  warmup,
  iterations,
  meanMs: round3(durationsMs.reduce((a, b) => a + b, 0) / iterations),
  p50Ms: round3(percentile(sortedMs, 50)),
  p99Ms: round3(percentile(sortedMs, 99)),
  minMs: round3(sortedMs[0]),
  maxMs: round3(sortedMs[sortedMs.length - 1]),
  bytesPerScrape,
  heapDeltaBytesPerScrape: heap.perScrape,
  heapMethod: heap.method,
  heapSamples: heap.samples,
  retainedHeapBytesAfterRun: heap.retained,
};
process.stdout.write(`${JSON.stringify(result)}\n`);

// Heap figure: how many bytes of JS heap one scrape allocates. V8 exposes no
// allocation counter, so it is read as the growth of used heap across one
// scrape, which equals the allocation only if no GC ran inside the scrape.
//  * With --expose-gc: a full GC before each sampled scrape starts it from a
//    clean heap; the median growth over heapSamples scrapes is reported. A
//    scavenge inside a scrape can still lower a sample, hence the median.
//  * Without it: the per-iteration growth is sampled the same way without the
//    forced GC, samples where a GC shrank the heap are dropped, and the
//    median of the rest is reported; it is a rougher, lower-bound estimate.
// Both read v8.getHeapStatistics().used_heap_size (same figure as
// process.memoryUsage().heapUsed, without also sampling RSS).
async function measureHeap() {
  const used = () => v8.getHeapStatistics().used_heap_size;
  const hasGc = typeof globalThis.gc === 'function';
  const deltas = [];
  for (let i = 0; i < heapSamples; i++) {
    if (hasGc) globalThis.gc();
    const before = used();
    const out = await registry.metrics();
    const delta = used() - before;
    // Keeps `out` alive until after the reading so the string's own bytes are
    // counted, like a server that still holds the body while writing it.
    if (out.length === 0) throw new Error('empty exposition');
    if (hasGc || delta > 0) deltas.push(delta);
  }
  let retained = null;
  if (hasGc) {
    // Growth that survives a full GC after all scrapes: should be ~0; a large
    // value would mean the exposition path leaks.
    globalThis.gc();
    const baseline = used();
    for (let i = 0; i < 50; i++) await registry.metrics();
    globalThis.gc();
    retained = used() - baseline;
  }
  return {
    perScrape: deltas.length ? Math.round(median(deltas)) : null,
    method: hasGc
      ? `median over ${deltas.length} scrapes of v8 used_heap_size growth across one scrape, each after a forced full GC (--expose-gc)`
      : `median over ${deltas.length} of ${heapSamples} scrapes of v8 used_heap_size growth across one scrape, scrapes during which a GC shrank the heap dropped (no --expose-gc: rough lower bound)`,
    samples: deltas.length,
    retained,
  };
}
