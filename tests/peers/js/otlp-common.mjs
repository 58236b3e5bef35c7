// Helpers shared by the two OTLP peers (otlp-metrics.mjs, otlp-traces.mjs).
//
// Contract with the C# tests that spawn these peers:
//   * stdout carries exactly one JSON line, and only on success;
//   * every diagnostic (SDK warnings, our own errors) goes to stderr;
//   * the exit code is 0 only if every export request the SDK made succeeded.

import { diag, DiagLogLevel } from '@opentelemetry/api';
import { parseArgs } from 'node:util';

export const EXIT_OK = 0;
export const EXIT_EXPORT_FAILED = 1;
export const EXIT_USAGE = 2;

// The OpenTelemetry SDK only reports failed exports through `diag` and the
// global error handler, both of which are silent unless a logger is set. A
// logger that writes to stderr makes the reason visible in test output while
// keeping stdout free for the single JSON summary line.
export function installStderrDiagLogger(verbose) {
  const write = (level) => (message, ...args) => {
    const parts = [message, ...args].map((a) => describeDiagArg(a, verbose));
    process.stderr.write(`[otel ${level}] ${parts.join(' ')}\n`);
  };
  diag.setLogger(
    {
      error: write('error'),
      warn: write('warn'),
      info: write('info'),
      debug: write('debug'),
      verbose: write('verbose'),
    },
    { logLevel: verbose ? DiagLogLevel.DEBUG : DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
}

// The SDK's global error handler passes errors to diag as a JSON-serialised
// {stack, message, name} string; a stack trace into SDK internals buries the
// one line a test log reader needs, so only --verbose keeps it.
function describeDiagArg(arg, verbose) {
  if (arg instanceof Error) return verbose ? arg.stack ?? arg.message : arg.message;
  if (typeof arg !== 'string') return safeJson(arg);
  if (!verbose && arg.startsWith('{')) {
    try {
      const parsed = JSON.parse(arg);
      if (typeof parsed.message === 'string') return parsed.message;
    } catch {
      // Not the serialised-error shape: print it unchanged.
    }
  }
  return arg;
}

function safeJson(value) {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

// Wraps a real OTLP exporter (metrics or traces: both have the same
// export(items, callback) shape) and records every result. The SDK readers and
// span processors swallow export failures, so this record is how the peer
// decides its exit code. All other members (selectAggregation,
// selectAggregationTemporality, forceFlush, shutdown, ...) are forwarded so the
// SDK sees the wrapped exporter's real behaviour.
//
// Once one export has failed, later ones are answered FAILED without touching
// the network: each real attempt against a refused port spends the exporter's
// whole retry budget, and the outcome of the run is already decided.
export function recordExportResults(exporter) {
  const stats = { attempted: 0, succeeded: 0, failed: 0, skipped: 0, errors: [] };
  const proxy = new Proxy(exporter, {
    get(target, prop, receiver) {
      if (prop === 'export') {
        return (items, resultCallback) => {
          if (stats.failed > 0) {
            stats.skipped++;
            resultCallback({ code: 1, error: new Error('not sent: an earlier export already failed') });
            return;
          }
          stats.attempted++;
          target.export(items, (result) => {
            // ExportResultCode.SUCCESS is 0 in @opentelemetry/core.
            if (result.code === 0) {
              stats.succeeded++;
            } else {
              stats.failed++;
              stats.errors.push(describeError(result.error));
            }
            resultCallback(result);
          });
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { exporter: proxy, stats };
}

function describeError(error) {
  if (!error) return 'unknown error';
  const code = error.code !== undefined ? ` (code ${error.code})` : '';
  const cause = error.cause ? `; cause: ${describeError(error.cause)}` : '';
  return `${error.name ?? 'Error'}: ${error.message}${code}${cause}`;
}

// Parses the flags both OTLP peers share plus any peer-specific ones.
// Unknown flags are a usage error rather than silently ignored, so a typo in
// a test's command line fails loudly.
export function parseCommonArgs(usage, extraOptions = {}) {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        endpoint: { type: 'string' },
        // Lower than the SDK's 10 s default: the exporter retries a refused
        // connection with backoff until this budget is spent, and a test
        // asserting on a refused endpoint should not wait ~9 s for it.
        'timeout-ms': { type: 'string', default: '5000' },
        // http/protobuf (OTLP/HTTP, the signal path appended to --endpoint) or grpc
        // (OTLP/gRPC to --endpoint as it is), the two protocols the SDK's
        // OTEL_EXPORTER_OTLP_PROTOCOL chooses between.
        protocol: { type: 'string', default: 'http/protobuf' },
        verbose: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
        ...extraOptions,
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    usageError(usage, e.message);
  }
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    process.exit(EXIT_OK);
  }
  if (!values.endpoint) usageError(usage, '--endpoint is required');
  let base;
  try {
    base = new URL(values.endpoint);
  } catch {
    usageError(usage, `--endpoint is not a valid URL: ${values.endpoint}`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    usageError(usage, `--endpoint must be http(s): ${values.endpoint}`);
  }
  if (values.protocol !== 'http/protobuf' && values.protocol !== 'grpc') {
    usageError(usage, `--protocol must be http/protobuf or grpc, got ${values.protocol}`);
  }
  const timeoutMs = parsePositiveInt(usage, 'timeout-ms', values['timeout-ms']);
  // The OTLP/HTTP spec appends the signal path to a base endpoint; trimming a
  // trailing slash avoids "//v1/metrics", which some receivers route as 404.
  const endpoint = values.endpoint.replace(/\/+$/, '');
  return { ...values, endpoint, timeoutMs };
}

export function parsePositiveInt(usage, name, raw) {
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) usageError(usage, `--${name} must be a positive integer, got ${raw}`);
  return n;
}

export function usageError(usage, message) {
  process.stderr.write(`error: ${message}\n${usage}\n`);
  process.exit(EXIT_USAGE);
}

// Prints the failure reason and sets a non-zero exit code. Returns true when
// the run failed so callers can skip the success summary.
export function reportExportFailure(peer, url, stats) {
  if (stats.attempted === 0) {
    process.stderr.write(`${peer}: export FAILED: the SDK never called the exporter for ${url}\n`);
  } else if (stats.failed > 0) {
    process.stderr.write(
      `${peer}: export FAILED: ${stats.failed} of ${stats.attempted} request(s) to ${url} failed` +
        `${stats.skipped ? ` (${stats.skipped} later export(s) not attempted)` : ''}: ${stats.errors.join(' | ')}\n`,
    );
  } else {
    return false;
  }
  process.exitCode = EXIT_EXPORT_FAILED;
  return true;
}

// Exporter transports and SDK timers are unref'd or closed by shutdown(), so
// the process normally exits by itself. This guard exists so that a future SDK
// change that leaves a handle open makes the peer exit late rather than hang a
// test run forever; being unref'd it never delays a clean exit.
export function exitSoonAfterShutdown() {
  setTimeout(() => process.exit(), 5000).unref();
}

export function resourceAttributesOf(resource) {
  return Object.fromEntries(Object.entries(resource.attributes).sort(([a], [b]) => a.localeCompare(b)));
}
