// OTLP/HTTP (protobuf) metrics peer built on the official OpenTelemetry JS SDK.
//
// It records a fixed, documented set of measurements (see README.md and the
// summary printed on stdout) so a test can compare what the sidecar received
// and re-exposed against what a real third-party SDK sent.

import { metrics } from '@opentelemetry/api';
import {
  AggregationTemporality,
  AggregationType,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
// The proto package does not re-export AggregationTemporalityPreference; its
// options also accept the sdk-metrics AggregationTemporality enum.
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPMetricExporter as OTLPGrpcMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import {
  EXIT_OK,
  exitSoonAfterShutdown,
  installStderrDiagLogger,
  parseCommonArgs,
  parsePositiveInt,
  recordExportResults,
  reportExportFailure,
  resourceAttributesOf,
  usageError,
} from './otlp-common.mjs';

const USAGE =
  'usage: node otlp-metrics.mjs --endpoint http://127.0.0.1:PORT [--protocol http/protobuf|grpc] ' +
  '[--temporality cumulative|delta] [--rounds N] [--timeout-ms MS] [--verbose]';

const SERVICE_NAME = 'js-peer-agent';
// The brief for these peers fixes the older key `deployment.environment`
// rather than the newer `deployment.environment.name`; tests assert on it.
const DEPLOYMENT_ENVIRONMENT = 'test';
const METER_NAME = 'js-peer-agent';
const METER_VERSION = '1.0.0';

const REFUND_BOUNDARIES = [1, 5, 10, 25, 50, 100];

// One round of measurements. Kept as data so the stdout summary is computed
// from the very same values the instruments were fed.
const CACHE_MISSES_PER_ROUND = [
  { attributes: { index: 'products', store: 'redis' }, increments: 3 },
  { attributes: { index: 'docs', store: 'redis' }, increments: 1 },
];
const QUEUE_DEPTH_FINAL = 7;
const MEMORY_FILL_RATIO = 0.5;
const REFUND_ATTRIBUTES = { reason: 'damaged' };
const REFUND_VALUES = [3, 12, 70];
const LLM_LATENCY_VALUES = [0.1, 0.2, 0.4];

const args = parseCommonArgs(USAGE, {
  temporality: { type: 'string', default: 'cumulative' },
  rounds: { type: 'string', default: '1' },
});
const rounds = parsePositiveInt(USAGE, 'rounds', args.rounds);
const temporalityPreference = {
  cumulative: AggregationTemporality.CUMULATIVE,
  delta: AggregationTemporality.DELTA,
}[args.temporality];
if (temporalityPreference === undefined) {
  usageError(USAGE, `--temporality must be cumulative or delta, got ${args.temporality}`);
}

installStderrDiagLogger(args.verbose);

// OTLP/gRPC takes the endpoint as it is; everything else is left at the exporter's defaults.
const url = args.protocol === 'grpc' ? args.endpoint : `${args.endpoint}/v1/metrics`;
const { exporter, stats } = recordExportResults(
  args.protocol === 'grpc'
    ? new OTLPGrpcMetricExporter({ url, temporalityPreference, timeoutMillis: args.timeoutMs })
    : new OTLPMetricExporter({ url, temporalityPreference, timeoutMillis: args.timeoutMs }),
);

const resource = defaultResource().merge(
  resourceFromAttributes({
    [ATTR_SERVICE_NAME]: SERVICE_NAME,
    'deployment.environment': DEPLOYMENT_ENVIRONMENT,
  }),
);

const meterProvider = new MeterProvider({
  resource,
  readers: [
    new PeriodicExportingMetricReader({
      exporter,
      // Exports are driven by the explicit forceFlush calls below; the long
      // interval keeps a timer tick from adding an extra export mid-run, which
      // would make the number of requests the sidecar sees nondeterministic.
      exportIntervalMillis: 10 * 60 * 1000,
      // Longer than the exporter's own budget so the exporter, not the
      // reader, decides a slow request has failed: only then does the
      // failure reach recordExportResults before the next round starts.
      exportTimeoutMillis: args.timeoutMs + 1000,
    }),
  ],
  views: [
    {
      instrumentName: 'refund.amount',
      aggregation: {
        type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM,
        options: { boundaries: REFUND_BOUNDARIES, recordMinMax: true },
      },
    },
    {
      instrumentName: 'llm.latency',
      aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM, options: { recordMinMax: true } },
    },
  ],
});
// Registering globally mirrors how applications obtain meters, so the peer
// exercises the same API path a real agent would.
metrics.setGlobalMeterProvider(meterProvider);
const meter = metrics.getMeter(METER_NAME, METER_VERSION);

const cacheMisses = meter.createCounter('retrieval.cache.misses', {
  description: 'Retrieval cache misses.',
});
const queueDepth = meter.createUpDownCounter('agent.queue.depth', {
  description: 'Items waiting in the agent queue.',
});
const memoryFill = meter.createObservableGauge('agent.memory.fill_ratio', {
  description: 'Fraction of the agent memory window in use.',
});
memoryFill.addCallback((result) => result.observe(MEMORY_FILL_RATIO));
const refundAmount = meter.createHistogram('refund.amount', {
  description: 'Refund amounts issued by the agent.',
});
const llmLatency = meter.createHistogram('llm.latency', {
  description: 'LLM call latency.',
});

// Sums are accumulated in recording order so that the expected floating-point
// sum is bit-identical to the one the SDK computes (0.1 + 0.2 + 0.4 is
// 0.7000000000000001, not 0.7).
const expected = {
  cacheMisses: CACHE_MISSES_PER_ROUND.map((s) => ({ attributes: s.attributes, value: 0 })),
  refund: { count: 0, sum: 0, bucketCounts: new Array(REFUND_BOUNDARIES.length + 1).fill(0) },
  llm: { count: 0, sum: 0 },
};

for (let round = 0; round < rounds; round++) {
  CACHE_MISSES_PER_ROUND.forEach((series, k) => {
    for (let n = 0; n < series.increments; n++) {
      cacheMisses.add(1, series.attributes);
      expected.cacheMisses[k].value += 1;
    }
  });

  // Two adds per round, one of them negative, so the instrument really is
  // used as an up/down counter; later rounds net to zero so the final value
  // is QUEUE_DEPTH_FINAL whatever --rounds is.
  if (round === 0) {
    queueDepth.add(QUEUE_DEPTH_FINAL + 3);
    queueDepth.add(-3);
  } else {
    queueDepth.add(2);
    queueDepth.add(-2);
  }

  for (const v of REFUND_VALUES) {
    refundAmount.record(v, REFUND_ATTRIBUTES);
    expected.refund.count++;
    expected.refund.sum += v;
    // Explicit buckets are upper-inclusive: bucket i counts (b[i-1], b[i]].
    const bucket = REFUND_BOUNDARIES.findIndex((b) => v <= b);
    expected.refund.bucketCounts[bucket === -1 ? REFUND_BOUNDARIES.length : bucket]++;
  }

  for (const v of LLM_LATENCY_VALUES) {
    llmLatency.record(v);
    expected.llm.count++;
    expected.llm.sum += v;
  }

  // One export per round: with delta temporality the receiver must add the
  // rounds up, with cumulative it must keep the latest value.
  await meterProvider.forceFlush();
  if (stats.failed > 0) break;
}

// shutdown() runs one more collect+export (see README: "requests sent").
await meterProvider.shutdown();
exitSoonAfterShutdown();

if (!reportExportFailure('otlp-metrics', url, stats)) {
  const summary = {
    peer: 'otlp-metrics',
    ok: true,
    url,
    protocol: 'http/protobuf',
    temporality: args.temporality,
    rounds,
    exports: { attempted: stats.attempted, succeeded: stats.succeeded, failed: stats.failed },
    resource: resourceAttributesOf(resource),
    scope: { name: METER_NAME, version: METER_VERSION },
    metrics: [
      {
        name: 'retrieval.cache.misses',
        instrument: 'Counter',
        otlpType: 'sum',
        monotonic: true,
        points: expected.cacheMisses,
      },
      {
        name: 'agent.queue.depth',
        instrument: 'UpDownCounter',
        otlpType: 'sum',
        monotonic: false,
        points: [{ attributes: {}, value: QUEUE_DEPTH_FINAL }],
      },
      {
        name: 'agent.memory.fill_ratio',
        instrument: 'ObservableGauge',
        otlpType: 'gauge',
        points: [{ attributes: {}, value: MEMORY_FILL_RATIO }],
      },
      {
        name: 'refund.amount',
        instrument: 'Histogram',
        otlpType: 'histogram',
        boundaries: REFUND_BOUNDARIES,
        points: [
          {
            attributes: REFUND_ATTRIBUTES,
            count: expected.refund.count,
            sum: expected.refund.sum,
            min: Math.min(...REFUND_VALUES),
            max: Math.max(...REFUND_VALUES),
            bucketCounts: expected.refund.bucketCounts,
          },
        ],
      },
      {
        name: 'llm.latency',
        instrument: 'Histogram',
        otlpType: 'exponential_histogram',
        points: [
          {
            attributes: {},
            count: expected.llm.count,
            sum: expected.llm.sum,
            min: Math.min(...LLM_LATENCY_VALUES),
            max: Math.max(...LLM_LATENCY_VALUES),
          },
        ],
      },
    ],
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  process.exitCode = EXIT_OK;
}
