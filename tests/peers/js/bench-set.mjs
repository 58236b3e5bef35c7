// The deterministic prom-client metric set shared by prom-client-serve.mjs
// (what the sidecar scrapes in tests/benchmarks) and prom-client-bench.mjs
// (prom-client's own exposition cost, the baseline the sidecar is compared
// against). Keeping one builder guarantees both measure the same bytes.

import client from 'prom-client';

export const DEFAULT_METRICS = 1000;
export const DEFAULT_SERIES = 10;

export const HISTOGRAM_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 25, 50,
];

const LABEL_NAMES = ['agent', 'series'];
const AGENT = 'bench-agent';

// Builds a fresh registry holding `metrics` families with `series` label sets
// each:
//   i % 3 == 0  histogram  bench_metric_<i>        observes (j+1)*0.01, (j+1)*0.1, (j+1)
//   i % 3 == 1  counter    bench_metric_<i>_total  inc(j+1)
//   i % 3 == 2  gauge      bench_metric_<i>        set(j*1.5)
// with labels {agent="bench-agent", series="s<j>"} for j in 0..series-1.
// Default process metrics are deliberately absent: they vary run to run and
// would make the exposition non-deterministic.
export function buildBenchRegistry({ metrics = DEFAULT_METRICS, series = DEFAULT_SERIES } = {}) {
  const registry = new client.Registry();
  const counts = { histograms: 0, counters: 0, gauges: 0 };

  for (let i = 0; i < metrics; i++) {
    const help = `Benchmark metric ${i}.`;
    const common = { help, labelNames: LABEL_NAMES, registers: [registry] };
    switch (i % 3) {
      case 0: {
        const histogram = new client.Histogram({ name: `bench_metric_${i}`, buckets: HISTOGRAM_BUCKETS, ...common });
        for (let j = 0; j < series; j++) {
          const labels = { agent: AGENT, series: `s${j}` };
          histogram.observe(labels, (j + 1) * 0.01);
          histogram.observe(labels, (j + 1) * 0.1);
          histogram.observe(labels, j + 1);
        }
        counts.histograms++;
        break;
      }
      case 1: {
        // prom-client's text format prints a counter's name verbatim, so the
        // conventional _total suffix has to be part of the name.
        const counter = new client.Counter({ name: `bench_metric_${i}_total`, ...common });
        for (let j = 0; j < series; j++) counter.inc({ agent: AGENT, series: `s${j}` }, j + 1);
        counts.counters++;
        break;
      }
      default: {
        const gauge = new client.Gauge({ name: `bench_metric_${i}`, ...common });
        for (let j = 0; j < series; j++) gauge.set({ agent: AGENT, series: `s${j}` }, j * 1.5);
        counts.gauges++;
      }
    }
  }

  // Each histogram series exposes one sample per bucket, +Inf, _sum and _count.
  const samples = series * (counts.histograms * (HISTOGRAM_BUCKETS.length + 3) + counts.counters + counts.gauges);
  return { registry, families: metrics, series, samples, ...counts };
}
