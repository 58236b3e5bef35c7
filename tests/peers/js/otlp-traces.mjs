// OTLP/HTTP (protobuf) traces peer built on the official OpenTelemetry JS SDK.
//
// It sends a small, fixed agent run described with the OpenTelemetry GenAI
// semantic conventions (see README.md), with explicit start/end timestamps so
// the span durations the sidecar derives are exact.

import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as OTLPGrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { ATTR_ERROR_TYPE, ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import {
  EXIT_OK,
  exitSoonAfterShutdown,
  installStderrDiagLogger,
  parseCommonArgs,
  recordExportResults,
  reportExportFailure,
  resourceAttributesOf,
} from './otlp-common.mjs';

const USAGE = 'usage: node otlp-traces.mjs --endpoint http://127.0.0.1:PORT [--protocol http/protobuf|grpc] [--timeout-ms MS] [--verbose]';

const SERVICE_NAME = 'js-peer-agent';
const TRACER_NAME = 'js-peer-agent';
const TRACER_VERSION = '1.0.0';

// GenAI attribute keys are spelled out rather than imported from
// '@opentelemetry/semantic-conventions/incubating': that entry point is
// explicitly unstable and may rename keys in a patch release, while these
// strings are what the sidecar is tested against.
const GEN_AI_OPERATION_NAME = 'gen_ai.operation.name';
const GEN_AI_AGENT_NAME = 'gen_ai.agent.name';
const GEN_AI_PROVIDER_NAME = 'gen_ai.provider.name';
const GEN_AI_REQUEST_MODEL = 'gen_ai.request.model';
const GEN_AI_USAGE_INPUT_TOKENS = 'gen_ai.usage.input_tokens';
const GEN_AI_USAGE_OUTPUT_TOKENS = 'gen_ai.usage.output_tokens';
const GEN_AI_TOOL_NAME = 'gen_ai.tool.name';
const GEN_AI_TOOL_TYPE = 'gen_ai.tool.type';

// Offsets in milliseconds from the run's base time. The failed chat call is
// its own trace: it lasts longer than the 300 ms agent span, so it could not
// be a well-formed child of it.
const SPANS = [
  {
    key: 'agent',
    name: 'invoke_agent support-agent',
    kind: SpanKind.INTERNAL,
    startMs: 0,
    endMs: 300,
    attributes: {
      [GEN_AI_OPERATION_NAME]: 'invoke_agent',
      [GEN_AI_AGENT_NAME]: 'support-agent',
      [GEN_AI_REQUEST_MODEL]: 'gpt-4o',
      [GEN_AI_USAGE_INPUT_TOKENS]: 120,
      [GEN_AI_USAGE_OUTPUT_TOKENS]: 45,
    },
  },
  {
    key: 'chat',
    parent: 'agent',
    name: 'chat gpt-4o',
    kind: SpanKind.CLIENT,
    startMs: 20,
    endMs: 220,
    attributes: {
      [GEN_AI_OPERATION_NAME]: 'chat',
      [GEN_AI_PROVIDER_NAME]: 'openai',
      [GEN_AI_REQUEST_MODEL]: 'gpt-4o',
      [GEN_AI_USAGE_INPUT_TOKENS]: 100,
      [GEN_AI_USAGE_OUTPUT_TOKENS]: 40,
    },
  },
  {
    key: 'tool',
    parent: 'agent',
    name: 'execute_tool get_weather',
    kind: SpanKind.INTERNAL,
    startMs: 230,
    endMs: 280,
    attributes: {
      [GEN_AI_OPERATION_NAME]: 'execute_tool',
      [GEN_AI_TOOL_NAME]: 'get_weather',
      [GEN_AI_TOOL_TYPE]: 'function',
    },
  },
  {
    key: 'failedChat',
    name: 'chat gpt-4o',
    kind: SpanKind.CLIENT,
    startMs: 500,
    endMs: 1500,
    attributes: {
      [GEN_AI_OPERATION_NAME]: 'chat',
      [GEN_AI_PROVIDER_NAME]: 'openai',
      [GEN_AI_REQUEST_MODEL]: 'gpt-4o',
      [ATTR_ERROR_TYPE]: 'timeout',
    },
    status: { code: SpanStatusCode.ERROR, message: 'request timed out' },
  },
];

const args = parseCommonArgs(USAGE);
installStderrDiagLogger(args.verbose);

// OTLP/gRPC takes the endpoint as it is; everything else is left at the exporter's defaults.
const url = args.protocol === 'grpc' ? args.endpoint : `${args.endpoint}/v1/traces`;
const { exporter, stats } = recordExportResults(
  args.protocol === 'grpc'
    ? new OTLPGrpcTraceExporter({ url, timeoutMillis: args.timeoutMs })
    : new OTLPTraceExporter({ url, timeoutMillis: args.timeoutMs }),
);

const resource = defaultResource().merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: SERVICE_NAME }));

// A batch processor sends all four spans in one request, which is both what a
// production setup does and what makes "the sidecar received one request with
// four spans" a stable assertion.
const provider = new BasicTracerProvider({
  resource,
  spanProcessors: [
    new BatchSpanProcessor(exporter, {
      // Flushing is explicit; the long delay keeps the timer from splitting
      // the batch across two requests.
      scheduledDelayMillis: 10 * 60 * 1000,
      // Longer than the exporter's own budget so the exporter's result (and
      // its error message) is what gets recorded for a slow request.
      exportTimeoutMillis: args.timeoutMs + 1000,
    }),
  ],
});
const tracer = provider.getTracer(TRACER_NAME, TRACER_VERSION);

// Whole milliseconds, placed in the recent past so every span has ended
// "before now" as a receiver would expect from a real run. HrTime tuples are
// used so no float millisecond conversion can blur the exact durations.
const baseMs = Date.now() - 5000;
const hrTimeAt = (offsetMs) => {
  const ms = baseMs + offsetMs;
  return [Math.floor(ms / 1000), (ms % 1000) * 1e6];
};
const unixNanosAt = (offsetMs) => (BigInt(baseMs + offsetMs) * 1000000n).toString();

const started = new Map();
for (const def of SPANS) {
  const parentContext = def.parent ? trace.setSpan(ROOT_CONTEXT, started.get(def.parent)) : ROOT_CONTEXT;
  const span = tracer.startSpan(
    def.name,
    { kind: def.kind, attributes: def.attributes, startTime: hrTimeAt(def.startMs) },
    parentContext,
  );
  if (def.status) span.setStatus(def.status);
  started.set(def.key, span);
}
// Children end before their parent, as they would in a real run.
for (const def of [...SPANS].reverse()) started.get(def.key).end(hrTimeAt(def.endMs));

try {
  await provider.forceFlush();
} catch {
  // The failure itself is recorded by recordExportResults and reported below.
}
await provider.shutdown();
exitSoonAfterShutdown();

if (!reportExportFailure('otlp-traces', url, stats)) {
  const spans = SPANS.map((def) => {
    const ctx = started.get(def.key).spanContext();
    return {
      name: def.name,
      kind: SpanKind[def.kind],
      traceId: ctx.traceId,
      spanId: ctx.spanId,
      parentSpanId: def.parent ? started.get(def.parent).spanContext().spanId : null,
      startTimeUnixNano: unixNanosAt(def.startMs),
      endTimeUnixNano: unixNanosAt(def.endMs),
      durationMs: def.endMs - def.startMs,
      status: def.status
        ? { code: SpanStatusCode[def.status.code], message: def.status.message }
        : { code: SpanStatusCode[SpanStatusCode.UNSET], message: '' },
      attributes: def.attributes,
    };
  });
  const summary = {
    peer: 'otlp-traces',
    ok: true,
    url,
    protocol: 'http/protobuf',
    exports: { attempted: stats.attempted, succeeded: stats.succeeded, failed: stats.failed },
    resource: resourceAttributesOf(resource),
    scope: { name: TRACER_NAME, version: TRACER_VERSION },
    traces: new Set(spans.map((s) => s.traceId)).size,
    spans,
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  process.exitCode = EXIT_OK;
}
