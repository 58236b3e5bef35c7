using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography.X509Certificates;
using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Sidecar.Custom;
using AgentMetrics.Sidecar.Delivery;
using AgentMetrics.Sidecar.Grpc;
using AgentMetrics.Sidecar.Handlers;
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
    private readonly OtlpGrpcServer? _grpc;
    private readonly List<BackgroundLoop> _loops;
    private readonly ILogger _logger;

    private SidecarApp(HttpServer ingest, HttpServer metrics, OtlpGrpcServer? grpc, List<BackgroundLoop> loops, ILogger logger)
    {
        _ingest = ingest;
        _metrics = metrics;
        _grpc = grpc;
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

        var intake = new OtlpIntake(registry, recorder, otlp);
        var bodies = new BodyReader(settings.MaxBodyBytes);
        var api = new IngestApi(registry, recorder, intake, bodies);
        var scrape = new Scraper(registry, settings.MetricsCompression == "gzip");
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

        OtlpGrpcServer? grpc = null;
        if (settings.GrpcListen is { } grpcAddress)
        {
            try
            {
                grpc = ListenGrpc(grpcAddress, intake, registry.Self, bodies);
            }
            catch
            {
                _ = ingest.DisposeAsync();
                _ = metrics.DisposeAsync();
                throw;
            }
        }

        return new SidecarApp(ingest, metrics, grpc, loops, logger);
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

        _logger.LogInformation("serving the API on {Ingest}, OTLP/gRPC on {Grpc} and /metrics on {Metrics}", _ingest.Endpoint, _grpc?.Endpoint.ToString() ?? "(off)", _metrics.Endpoint);
        var reason = await signalled.Task;
        _logger.LogInformation("stopping on {Reason}: finishing requests in flight, then flushing", reason);
        using var timeout = new CancellationTokenSource(ShutdownTimeout);
        await Task.WhenAll(_ingest.StopAsync(TimeSpan.FromSeconds(5)), _metrics.StopAsync(TimeSpan.FromSeconds(5)), _grpc?.StopAsync(TimeSpan.FromSeconds(5)) ?? Task.CompletedTask);
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
        if (_grpc is not null)
        {
            await _grpc.DisposeAsync();
        }

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

    // Kestrel binds when it starts, so it starts here: a port in use is refused like the other addresses, before anything runs.
    private static OtlpGrpcServer ListenGrpc(string address, OtlpIntake intake, SelfMetrics self, BodyReader bodies)
    {
        var uri = new Uri(address);
        var server = new OtlpGrpcServer(new IPEndPoint(IPAddress.Parse(uri.Host.Trim('[', ']')), uri.Port), intake, self, bodies);
        try
        {
            server.StartAsync().GetAwaiter().GetResult();
            return server;
        }
        catch (IOException e)
        {
            throw new ArgumentException($"--grpc-listen: cannot listen on {address}: {e.Message}", e);
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
}
