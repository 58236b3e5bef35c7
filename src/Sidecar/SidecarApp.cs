using System.Buffers;
using System.IO.Compression;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Sidecar.Custom;
using AgentMetrics.Sidecar.Delivery;
using AgentMetrics.Sidecar.Exposition;
using AgentMetrics.Sidecar.Ingest;
using AgentMetrics.Sidecar.Metrics;
using AgentMetrics.Sidecar.Otlp;
using Microsoft.AspNetCore.Http.Features;

namespace AgentMetrics.Sidecar;

/// <summary>
/// The sidecar process: the events and OTLP API on a loopback address, /metrics and the health
/// endpoints on another, push delivery and the definitions stream as background services.
/// </summary>
public static class SidecarApp
{
    /// <summary>Builds the host from settings.</summary>
    public static WebApplication Build(SidecarSettings settings)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddJsonConsole();
        // ASP.NET Core logs four or five lines per request at Information: at thousands of requests a
        // second that is most of the work, and nothing anyone reads. Its warnings and errors still show.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        var ingest = new Uri(settings.IngestListen);
        var metrics = new Uri(settings.MetricsListen);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Parse(ingest.Host), ingest.Port);
            kestrel.Listen(IPAddress.Parse(metrics.Host), metrics.Port);
            // The API enforces its own cap so the refusal is a JSON body; Kestrel's is a backstop.
            kestrel.Limits.MaxRequestBodySize = (long)settings.MaxBodyBytes * 2;
        });
        builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = TimeSpan.FromSeconds(15));

        var registry = new MetricRegistry(settings.Identity, settings.Limits);
        var custom = new CustomMetrics(registry);
        var recorder = new AgentRecorder(registry, custom);
        var otlp = new OtlpRecorder(registry, custom, settings.PromoteResourceAttributes);
        builder.Services.AddSingleton(registry);
        builder.Services.AddSingleton(custom);

        if (settings.Push)
        {
            builder.Services.AddSingleton(new HttpClient(new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1) }));
            builder.Services.AddSingleton(services => new RemoteWriter(
                registry, settings.ToPushOptions(), services.GetRequiredService<HttpClient>(), services.GetRequiredService<ILogger<RemoteWriter>>()));
            builder.Services.AddHostedService(services => services.GetRequiredService<RemoteWriter>());
        }

        if (settings.OperatorUrl is { } operatorUrl)
        {
            builder.Services.AddHostedService(services => new DefinitionsClient(
                OperatorClient(settings.OperatorCaFile, settings.OperatorCa), new Uri(operatorUrl.TrimEnd('/') + "/"), settings.Namespace, settings.Pod,
                settings.TokenFile, custom, registry, services.GetRequiredService<ILogger<DefinitionsClient>>()));
        }

        var app = builder.Build();
        if (settings.Push)
        {
            var writer = app.Services.GetRequiredService<RemoteWriter>();
            custom.SeriesRemoved += writer.MarkStale;
        }

        var ingestHost = $"*:{ingest.Port}";
        var metricsHost = $"*:{metrics.Port}";
        var api = new IngestApi(registry, recorder, otlp, settings.MaxBodyBytes);
        app.MapPost("/v1/events", api.EventsAsync).RequireHost(ingestHost);
        app.MapPost("/v1/metrics", api.MetricsAsync).RequireHost(ingestHost);
        app.MapPost("/v1/traces", api.TracesAsync).RequireHost(ingestHost);

        var scrape = new Scraper(registry);
        app.MapGet("/metrics", scrape.ServeAsync).RequireHost(metricsHost);
        app.MapGet("/healthz", () => Results.Text("ok")).RequireHost(metricsHost);
        app.MapGet("/readyz", () => Results.Text("ok")).RequireHost(metricsHost);
        return app;
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

    /// <summary>Serves /metrics from one reused buffer, in the format the Accept header asks for.</summary>
    private sealed class Scraper(MetricRegistry registry)
    {
        private readonly SemaphoreSlim _gate = new(1, 1);
        private readonly ArrayBufferWriter<byte> _buffer = new(256 * 1024);

        public async Task ServeAsync(HttpContext context)
        {
            var openMetrics = ExpositionWriter.WantsOpenMetrics(context.Request.Headers.Accept);
            await _gate.WaitAsync(context.RequestAborted);
            try
            {
                registry.Self.Refresh();
                _buffer.ResetWrittenCount();
                ExpositionWriter.Write(registry, openMetrics, _buffer);
                context.Response.ContentType = openMetrics ? ExpositionWriter.OpenMetricsContentType : ExpositionWriter.TextContentType;
                context.Response.ContentLength = _buffer.WrittenCount;
                await context.Response.Body.WriteAsync(_buffer.WrittenMemory, context.RequestAborted);
            }
            finally
            {
                _gate.Release();
            }
        }
    }
}

/// <summary>The ingestion endpoints: read a capped body, parse it whole, then record it, or refuse it whole with a JSON answer.</summary>
internal sealed class IngestApi(MetricRegistry registry, AgentRecorder recorder, OtlpRecorder otlp, int maxBodyBytes)
{
    public async Task EventsAsync(HttpContext context)
    {
        // curl -d sends application/x-www-form-urlencoded unless told otherwise; the body is read as JSON all the same.
        if (!IsJson(context.Request.ContentType, allowMissing: true)
            && !(context.Request.ContentType ?? "").StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase))
        {
            await RefuseAsync(context, "events", StatusCodes.Status415UnsupportedMediaType, $"Content-Type must be application/json, got \"{context.Request.ContentType}\"");
            return;
        }

        var (body, length, problem) = await ReadAsync(context);
        if (problem is { } refused)
        {
            ArrayPool<byte>.Shared.Return(body);
            await RefuseAsync(context, "events", refused.Status, refused.Message);
            return;
        }

        try
        {
            var errors = new List<IngestError>();
            var events = EventParser.Parse(body.AsMemory(0, length), errors);
            if (errors.Count > 0)
            {
                await RefuseAsync(context, "events", StatusCodes.Status400BadRequest, "the request was refused whole; nothing was recorded", errors);
                return;
            }

            var undefined = recorder.CheckObservations(events);
            if (undefined.Count > 0)
            {
                await RefuseAsync(context, "events", StatusCodes.Status422UnprocessableEntity, "the request was refused whole; nothing was recorded", undefined);
                return;
            }

            foreach (var e in events)
            {
                recorder.Record(e);
            }

            registry.Self.Received("event", events.Count);
            await Results.Json(new EventsAccepted(events.Count), SidecarJsonContext.Readable.EventsAccepted).ExecuteAsync(context);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(body);
        }
    }

    public Task MetricsAsync(HttpContext context) => OtlpAsync(context, "metrics", (data, json) =>
    {
        var request = json ? OtlpJsonDecoder.DecodeMetrics(data) : OtlpProtobufDecoder.DecodeMetrics(data.Span);
        return (otlp.Record(request), "data points");
    });

    public Task TracesAsync(HttpContext context) => OtlpAsync(context, "traces", (data, json) =>
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

    private async Task OtlpAsync(HttpContext context, string endpoint, Func<ReadOnlyMemory<byte>, bool, (long Rejected, string What)> handle)
    {
        var contentType = context.Request.ContentType;
        var json = IsJson(contentType, allowMissing: false);
        if (!json && !(contentType ?? "").StartsWith("application/x-protobuf", StringComparison.OrdinalIgnoreCase))
        {
            await RefuseAsync(context, endpoint, StatusCodes.Status415UnsupportedMediaType,
                $"Content-Type must be application/x-protobuf or application/json, got \"{contentType}\"");
            return;
        }

        var (body, length, problem) = await ReadAsync(context);
        if (problem is { } refused)
        {
            ArrayPool<byte>.Shared.Return(body);
            await RefuseAsync(context, endpoint, refused.Status, refused.Message);
            return;
        }

        try
        {
            long rejected;
            string what;
            try
            {
                (rejected, what) = handle(body.AsMemory(0, length), json);
            }
            catch (ProtoException e)
            {
                await RefuseAsync(context, endpoint, StatusCodes.Status400BadRequest, $"not a valid OTLP protobuf request: {e.Message}");
                return;
            }
            catch (OtlpJsonException e)
            {
                await RefuseAsync(context, endpoint, StatusCodes.Status400BadRequest, "not a valid OTLP JSON request", [new IngestError(e.Path, e.Message[(e.Path.Length + 2)..])]);
                return;
            }

            await OtlpSuccessAsync(context, json, rejected, what);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(body);
        }
    }

    /// <summary>An Export…ServiceResponse: empty, or with partial_success (field 1: rejected count = 1, error_message = 2).</summary>
    private static async Task OtlpSuccessAsync(HttpContext context, bool json, long rejected, string what)
    {
        var message = rejected > 0 ? $"{rejected} {what} were dropped by the sidecar's limits or could not be converted; see agent_metrics_sidecar_dropped_total" : null;
        if (json)
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(message is null
                ? "{}"
                : $"{{\"partialSuccess\":{{\"{(what == "spans" ? "rejectedSpans" : "rejectedDataPoints")}\":\"{rejected}\",\"errorMessage\":{System.Text.Json.JsonSerializer.Serialize(message, SidecarJsonContext.Readable.String)}}}}}");
            return;
        }

        context.Response.ContentType = "application/x-protobuf";
        if (message is null)
        {
            context.Response.ContentLength = 0;
            return;
        }

        var text = System.Text.Encoding.UTF8.GetBytes(message);
        var inner = new List<byte> { 0x08 };
        AppendVarint(inner, (ulong)rejected);
        inner.Add(0x12);
        AppendVarint(inner, (ulong)text.Length);
        inner.AddRange(text);
        var outer = new List<byte> { 0x0A };
        AppendVarint(outer, (ulong)inner.Count);
        outer.AddRange(inner);
        await context.Response.Body.WriteAsync(outer.ToArray());
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

    /// <summary>Reads the body (gunzipping it when so encoded) into a pooled array, refusing more than the cap.</summary>
    private async Task<(byte[] Body, int Length, (int Status, string Message)? Problem)> ReadAsync(HttpContext context)
    {
        var declared = context.Request.ContentLength;
        var gzip = context.Request.Headers.ContentEncoding.ToString().Equals("gzip", StringComparison.OrdinalIgnoreCase);
        // A plain body of a declared length fits one buffer with a byte to spare, so the read that finds its end copies nothing.
        var buffer = ArrayPool<byte>.Shared.Rent(declared <= maxBodyBytes && !gzip ? (int)declared.Value + 1 : Math.Min(maxBodyBytes + 1, 64 * 1024));
        (int, string) tooLarge = (StatusCodes.Status413PayloadTooLarge, $"the body is larger than the {maxBodyBytes}-byte cap (--max-body-bytes)");
        if (declared > maxBodyBytes)
        {
            return (buffer, 0, tooLarge);
        }

        context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize = null;
        var source = context.Request.Body;
        await using var stream = gzip ? new GZipStream(source, CompressionMode.Decompress, leaveOpen: true) : source;
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length > maxBodyBytes)
                    {
                        return (buffer, 0, tooLarge);
                    }

                    var larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, maxBodyBytes + 1));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                var read = await stream.ReadAsync(buffer.AsMemory(length), context.RequestAborted);
                if (read == 0)
                {
                    break;
                }

                length += read;
                if (length > maxBodyBytes)
                {
                    return (buffer, 0, tooLarge);
                }
            }
        }
        catch (InvalidDataException)
        {
            return (buffer, 0, (StatusCodes.Status400BadRequest, "the body is not valid gzip"));
        }

        return (buffer, length, null);
    }

    private async Task RefuseAsync(HttpContext context, string endpoint, int status, string error, IReadOnlyList<IngestError>? details = null)
    {
        registry.Self.Rejected(endpoint, status);
        await Results.Json(new ErrorResponse(error, details), SidecarJsonContext.Readable.ErrorResponse, statusCode: status).ExecuteAsync(context);
    }

    private static bool IsJson(string? contentType, bool allowMissing) =>
        string.IsNullOrEmpty(contentType) ? allowMissing : contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase);
}
