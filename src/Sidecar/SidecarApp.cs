using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Sidecar.Custom;
using AgentMetrics.Sidecar.Delivery;
using AgentMetrics.Sidecar.Exposition;
using AgentMetrics.Sidecar.Http;
using AgentMetrics.Sidecar.Ingest;
using AgentMetrics.Sidecar.Metrics;
using AgentMetrics.Sidecar.Otlp;

namespace AgentMetrics.Sidecar;

/// <summary>
/// The sidecar process: the events and OTLP API on a loopback address, /metrics and the health
/// endpoints on another, push delivery and the definitions stream as background loops. SIGTERM or
/// SIGINT stops it: the servers finish what is in flight, then push mode flushes and marks its series stale.
/// </summary>
public sealed class SidecarApp : IAsyncDisposable
{
    private static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(15);
    private readonly HttpServer _ingest;
    private readonly HttpServer _metrics;
    private readonly List<BackgroundLoop> _loops;
    private readonly ILogger _logger;

    private SidecarApp(HttpServer ingest, HttpServer metrics, List<BackgroundLoop> loops, ILogger logger)
    {
        _ingest = ingest;
        _metrics = metrics;
        _loops = loops;
        _logger = logger;
    }

    /// <summary>Binds both addresses and wires the endpoints from settings; nothing runs until <see cref="RunAsync"/>.</summary>
    public static SidecarApp Build(SidecarSettings settings)
    {
        var logger = JsonLog.For<SidecarApp>();
        var registry = new MetricRegistry(settings.Identity, settings.Limits);
        var custom = new CustomMetrics(registry);
        var recorder = new AgentRecorder(registry, custom);
        var otlp = new OtlpRecorder(registry, custom, settings.PromoteResourceAttributes);
        var loops = new List<BackgroundLoop>();

        if (settings.Push)
        {
            var writer = new RemoteWriter(
                registry, settings.ToPushOptions(), new HttpClient(new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1) }),
                JsonLog.For<RemoteWriter>());
            custom.SeriesRemoved += writer.MarkStale;
            loops.Add(writer);
        }

        if (settings.OperatorUrl is { } operatorUrl)
        {
            loops.Add(new DefinitionsClient(
                OperatorClient(settings.OperatorCaFile, settings.OperatorCa), new Uri(operatorUrl.TrimEnd('/') + "/"), settings.Namespace, settings.Pod,
                settings.TokenFile, custom, registry, JsonLog.For<DefinitionsClient>()));
        }

        var api = new IngestApi(registry, recorder, otlp, new BodyReader(settings.MaxBodyBytes));
        var scrape = new Scraper(registry);
        var ok = "ok"u8.ToArray();
        var limits = new HttpServerLimits { RequestTimeout = settings.RequestTimeout };
        var ingest = Listen(settings.IngestListen, "--ingest-listen", limits,
        [
            new("POST", "/v1/events", api.EventsAsync),
            new("POST", "/v1/metrics", api.MetricsAsync),
            new("POST", "/v1/traces", api.TracesAsync),
        ], logger);
        HttpServer metrics;
        try
        {
            metrics = Listen(settings.MetricsListen, "--metrics-listen", limits,
            [
                new("GET", "/metrics", scrape.ServeAsync),
                new("GET", "/healthz", request => request.RespondAsync(200, "text/plain; charset=utf-8", ok)),
                new("GET", "/readyz", request => request.RespondAsync(200, "text/plain; charset=utf-8", ok)),
            ], logger);
        }
        catch
        {
            _ = ingest.DisposeAsync();
            throw;
        }

        return new SidecarApp(ingest, metrics, loops, logger);
    }

    /// <summary>Serves until SIGTERM or SIGINT (or <paramref name="stop"/>), then stops gracefully.</summary>
    public async Task RunAsync(CancellationToken stop = default)
    {
        var signalled = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var stopped = stop.Register(() => signalled.TrySetResult("a stop request"));
        _ingest.Start();
        _metrics.Start();
        foreach (var loop in _loops)
        {
            loop.Start();
        }

        _logger.LogInformation("serving the API on {Ingest} and /metrics on {Metrics}", _ingest.Endpoint, _metrics.Endpoint);
        var reason = await signalled.Task;
        _logger.LogInformation("stopping on {Reason}: finishing requests in flight, then flushing", reason);
        using var timeout = new CancellationTokenSource(ShutdownTimeout);
        await Task.WhenAll(_ingest.StopAsync(TimeSpan.FromSeconds(5)), _metrics.StopAsync(TimeSpan.FromSeconds(5)));
        foreach (var loop in _loops)
        {
            await loop.StopAsync(timeout.Token);
        }

        _logger.LogInformation("stopped cleanly");

        void OnSignal(PosixSignalContext context)
        {
            // The process exits when RunAsync returns, after the flush, not at the signal.
            context.Cancel = true;
            signalled.TrySetResult(context.Signal.ToString());
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _ingest.DisposeAsync();
        await _metrics.DisposeAsync();
        foreach (var loop in _loops)
        {
            loop.Dispose();
        }
    }

    private static HttpServer Listen(string address, string flag, HttpServerLimits limits, Route[] routes, ILogger logger)
    {
        var uri = new Uri(address);
        try
        {
            return new HttpServer(new IPEndPoint(IPAddress.Parse(uri.Host.Trim('[', ']')), uri.Port), routes, logger, limits);
        }
        catch (SocketException e)
        {
            throw new ArgumentException($"{flag}: cannot listen on {address}: {e.Message}", e);
        }
    }

    private static HttpClient OperatorClient(string? caFile, string? caPem)
    {
        var handler = new SocketsHttpHandler();
        if (caFile is not null || caPem is not null)
        {
            var trusted = new X509Certificate2Collection();
            if (caFile is not null)
            {
                trusted.ImportFromPemFile(caFile);
            }

            if (caPem is not null)
            {
                trusted.ImportFromPem(caPem);
            }

            handler.SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                    errors == SslPolicyErrors.None || CertificateTrust.TrustedBy(trusted, certificate, errors),
            };
        }

        return new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>Serves /metrics from one reused segmented buffer, in the format the Accept header asks for.</summary>
    private sealed class Scraper(MetricRegistry registry)
    {
        private readonly SemaphoreSlim _gate = new(1, 1);
        private readonly SegmentedBuffer _buffer = new();
        private readonly List<ReadOnlyMemory<byte>> _segments = [];

        public async ValueTask ServeAsync(HttpRequest request)
        {
            var openMetrics = ExpositionWriter.WantsOpenMetrics(request.Accept);
            await _gate.WaitAsync(request.Aborted);
            try
            {
                registry.Self.Refresh();
                _buffer.Reset();
                ExpositionWriter.Write(registry, openMetrics, _buffer);
                _buffer.Written(_segments);
                await request.RespondSegmentsAsync(200, openMetrics ? ExpositionWriter.OpenMetricsContentType : ExpositionWriter.TextContentType, _segments);
            }
            finally
            {
                _gate.Release();
            }
        }
    }
}

/// <summary>The ingestion endpoints: read a capped body, parse it whole, then record it, or refuse it whole with a JSON answer.</summary>
internal sealed class IngestApi(MetricRegistry registry, AgentRecorder recorder, OtlpRecorder otlp, BodyReader bodies)
{
    private const string JsonType = "application/json; charset=utf-8";

    public async ValueTask EventsAsync(HttpRequest request)
    {
        // curl -d sends application/x-www-form-urlencoded unless told otherwise; the body is read as JSON all the same.
        if (!IsJson(request.ContentType, allowMissing: true)
            && !(request.ContentType ?? "").StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase))
        {
            await RefuseAsync(request, "events", 415, $"Content-Type must be application/json, got \"{ClientText.Clip(request.ContentType)}\"");
            return;
        }

        var (body, problem) = await bodies.ReadAsync(request);
        if (body is null)
        {
            await RefuseAsync(request, "events", problem!);
            return;
        }

        using (body)
        {
            var errors = new List<IngestError>();
            var events = EventParser.Parse(body.Data, errors);
            if (errors.Count > 0)
            {
                await RefuseAsync(request, "events", 400, "the request was refused whole; nothing was recorded", errors);
                return;
            }

            var undefined = recorder.CheckObservations(events);
            if (undefined.Count > 0)
            {
                await RefuseAsync(request, "events", 422, "the request was refused whole; nothing was recorded", undefined);
                return;
            }

            foreach (var e in events)
            {
                recorder.Record(e);
            }

            registry.Self.Received("event", events.Count);
            await request.RespondAsync(200, JsonType, JsonSerializer.SerializeToUtf8Bytes(new EventsAccepted(events.Count), SidecarJsonContext.Readable.EventsAccepted));
        }
    }

    public ValueTask MetricsAsync(HttpRequest request) => OtlpAsync(request, "metrics", (data, json) =>
    {
        var request = json ? OtlpJsonDecoder.DecodeMetrics(data) : OtlpProtobufDecoder.DecodeMetrics(data.Span);
        return (otlp.Record(request), "data points");
    });

    public ValueTask TracesAsync(HttpRequest request) => OtlpAsync(request, "traces", (data, json) =>
    {
        var request = json ? OtlpJsonDecoder.DecodeTraces(data) : OtlpProtobufDecoder.DecodeTraces(data.Span);
        long spans = 0;
        foreach (var resource in request)
        {
            foreach (var span in resource.Spans)
            {
                recorder.Record(span, resource.Resource);
                spans++;
            }
        }

        registry.Self.Received("span", spans);
        return (0L, "spans");
    });

    private async ValueTask OtlpAsync(HttpRequest request, string endpoint, Func<ReadOnlyMemory<byte>, bool, (long Rejected, string What)> handle)
    {
        var contentType = request.ContentType;
        var json = IsJson(contentType, allowMissing: false);
        if (!json && !(contentType ?? "").StartsWith("application/x-protobuf", StringComparison.OrdinalIgnoreCase))
        {
            await RefuseAsync(request, endpoint, 415,
                $"Content-Type must be application/x-protobuf or application/json, got \"{ClientText.Clip(contentType)}\"");
            return;
        }

        var (body, problem) = await bodies.ReadAsync(request);
        if (body is null)
        {
            await RefuseAsync(request, endpoint, problem!);
            return;
        }

        using (body)
        {
            long rejected;
            string what;
            try
            {
                (rejected, what) = handle(body.Data, json);
            }
            catch (ProtoException e)
            {
                await RefuseAsync(request, endpoint, 400, $"not a valid OTLP protobuf request: {e.Message}");
                return;
            }
            catch (OtlpJsonException e)
            {
                await RefuseAsync(request, endpoint, 400, "not a valid OTLP JSON request", [new IngestError(e.Path, e.Message[(e.Path.Length + 2)..])]);
                return;
            }

            await OtlpSuccessAsync(request, json, rejected, what);
        }
    }

    /// <summary>An Export…ServiceResponse: empty, or with partial_success (field 1: rejected count = 1, error_message = 2).</summary>
    private static async ValueTask OtlpSuccessAsync(HttpRequest request, bool json, long rejected, string what)
    {
        var message = rejected > 0 ? $"{rejected} {what} were dropped by the sidecar's limits or could not be converted; see agent_metrics_sidecar_dropped_total" : null;
        if (json)
        {
            await request.RespondAsync(200, "application/json", Encoding.UTF8.GetBytes(message is null
                ? "{}"
                : $"{{\"partialSuccess\":{{\"{(what == "spans" ? "rejectedSpans" : "rejectedDataPoints")}\":\"{rejected}\",\"errorMessage\":{JsonSerializer.Serialize(message, SidecarJsonContext.Readable.String)}}}}}"));
            return;
        }

        if (message is null)
        {
            await request.RespondAsync(200, "application/x-protobuf", default);
            return;
        }

        var text = Encoding.UTF8.GetBytes(message);
        var inner = new List<byte> { 0x08 };
        AppendVarint(inner, (ulong)rejected);
        inner.Add(0x12);
        AppendVarint(inner, (ulong)text.Length);
        inner.AddRange(text);
        var outer = new List<byte> { 0x0A };
        AppendVarint(outer, (ulong)inner.Count);
        outer.AddRange(inner);
        await request.RespondAsync(200, "application/x-protobuf", outer.ToArray());
    }

    private static void AppendVarint(List<byte> bytes, ulong value)
    {
        while (value >= 0x80)
        {
            bytes.Add((byte)(value | 0x80));
            value >>= 7;
        }

        bytes.Add((byte)value);
    }

    private Task RefuseAsync(HttpRequest request, string endpoint, BodyProblem problem) =>
        RefuseAsync(request, endpoint, problem.Status, problem.Message, retryAfterSeconds: problem.RetryAfterSeconds);

    private async Task RefuseAsync(
        HttpRequest request, string endpoint, int status, string error, IReadOnlyList<IngestError>? details = null, int? retryAfterSeconds = null)
    {
        registry.Self.Rejected(endpoint, status);
        await request.RespondAsync(
            status, JsonType, JsonSerializer.SerializeToUtf8Bytes(new ErrorResponse(error, details), SidecarJsonContext.Readable.ErrorResponse),
            retryAfterSeconds: retryAfterSeconds);
    }

    private static bool IsJson(string? contentType, bool allowMissing) =>
        string.IsNullOrEmpty(contentType) ? allowMissing : contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase);
}
