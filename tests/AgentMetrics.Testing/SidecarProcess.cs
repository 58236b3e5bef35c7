using System.Net.Http.Headers;
using System.Text;

namespace AgentMetrics.Testing;

/// <summary>
/// The real sidecar executable (agent-metrics-sidecar.dll beside the test assembly, from a reference
/// to the sidecar project), started as its own process on free loopback ports, stopped when disposed.
/// </summary>
public sealed class SidecarProcess : IAsyncDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private readonly string[] _arguments;
    private readonly Dictionary<string, string> _environment;
    private readonly string _directory;

    private SidecarProcess(string directory, string[] arguments, Dictionary<string, string> environment, string metricsHost = "127.0.0.1", int? metricsPort = null)
    {
        _directory = directory;
        _arguments = arguments;
        _environment = environment;
        IngestPort = LoopbackPorts.Next();
        GrpcPort = LoopbackPorts.Next();
        MetricsHost = metricsHost;
        MetricsPort = metricsPort ?? LoopbackPorts.Next();
    }

    public int IngestPort { get; }

    /// <summary>The loopback port of OTLP/gRPC (a free one, so sidecars of parallel tests do not share 4317).</summary>
    public int GrpcPort { get; }

    /// <summary>The loopback address the metrics port listens on: 127.0.0.1, or a pod's own address.</summary>
    public string MetricsHost { get; }

    public int MetricsPort { get; }

    public Uri Ingest => new($"http://127.0.0.1:{IngestPort}");

    public Uri Grpc => new($"http://127.0.0.1:{GrpcPort}");

    public Uri Metrics => new($"http://{MetricsHost}:{MetricsPort}");

    public ManagedProcess? Process { get; private set; }

    /// <summary>Starts a sidecar for pod <paramref name="pod"/> with extra command-line arguments, and waits until it is ready.</summary>
    public static Task<SidecarProcess> StartAsync(string pod, IReadOnlyDictionary<string, string>? environment = null, params string[] arguments) =>
        StartAsync(pod, "127.0.0.1", null, environment, arguments);

    /// <summary>
    /// Starts a sidecar for pod <paramref name="pod"/> whose metrics port listens on <paramref name="metricsHost"/>:<paramref name="metricsPort"/>,
    /// as a pod's would on its own address (each of 127.0.0.0/8 is this machine's), and waits until it is ready.
    /// </summary>
    public static async Task<SidecarProcess> StartAsync(
        string pod, string metricsHost, int? metricsPort, IReadOnlyDictionary<string, string>? environment = null, params string[] arguments)
    {
        var env = new Dictionary<string, string>
        {
            ["AGENTMETRICS_NAMESPACE"] = "demo",
            ["AGENTMETRICS_POD"] = pod,
            ["AGENTMETRICS_AGENT"] = "support-agent",
            ["AGENTMETRICS_AGENT_VERSION"] = "1.4.2",
            ["DOTNET_gcServer"] = "0",
        };
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            env[key] = value;
        }

        var sidecar = new SidecarProcess(ProcessRegistry.Current.CreateDirectory("sidecar"), arguments, env, metricsHost, metricsPort);
        await sidecar.StartAsync();
        return sidecar;
    }

    /// <summary>
    /// How to run the sidecar: the published executable (NativeAOT, as it ships) named
    /// by AGENT_METRICS_SIDECAR, which <c>make test</c> and the benchmarks publish; otherwise the
    /// framework-dependent build beside this assembly, through <c>dotnet</c>.
    /// </summary>
    public static (string File, string[] Arguments) Command()
    {
        if (Environment.GetEnvironmentVariable("AGENT_METRICS_SIDECAR") is { Length: > 0 } published)
        {
            return File.Exists(published)
                ? (published, [])
                : throw new InvalidOperationException($"AGENT_METRICS_SIDECAR names {published}, which does not exist; run make publish-sidecar");
        }

        return ("dotnet", [Path.Combine(AppContext.BaseDirectory, "agent-metrics-sidecar.dll")]);
    }

    /// <summary>Starts (or starts again, on the same ports) and waits for /readyz.</summary>
    public async Task StartAsync()
    {
        var (file, prefix) = Command();
        Process = ManagedProcess.Start(
            "agent-metrics-sidecar",
            file,
            [.. prefix, $"--ingest-listen=http://127.0.0.1:{IngestPort}", $"--grpc-listen=http://127.0.0.1:{GrpcPort}", $"--metrics-listen=http://{MetricsHost}:{MetricsPort}", .. _arguments],
            Path.Combine(_directory, "sidecar.log"),
            _environment);
        await Eventually.UntilAsync(
            async () =>
            {
                if (Process.HasExited)
                {
                    throw new InvalidOperationException($"the sidecar exited at start:\n{Process.LogTail()}");
                }

                try
                {
                    using var response = await Http.GetAsync(new Uri(Metrics, "/readyz"));
                    return response.IsSuccessStatusCode;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            },
            TimeSpan.FromSeconds(30),
            "the sidecar to be ready");
    }

    /// <summary>Stops with SIGTERM, as the kubelet does, and waits for the graceful shutdown.</summary>
    public Task StopAsync() => Process?.StopAsync(TimeSpan.FromSeconds(20)) ?? Task.CompletedTask;

    public Task<HttpResponseMessage> PostEventsAsync(string json) =>
        Http.PostAsync(new Uri(Ingest, "/v1/events"), new StringContent(json, Encoding.UTF8, "application/json"));

    public Task<HttpResponseMessage> PostAsync(string path, byte[] body, string contentType)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return Http.PostAsync(new Uri(Ingest, path), content);
    }

    /// <summary>GET /metrics, in OpenMetrics when asked.</summary>
    public async Task<string> ScrapeAsync(bool openMetrics = false)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(Metrics, "/metrics"));
        if (openMetrics)
        {
            request.Headers.Accept.ParseAdd("application/openmetrics-text; version=1.0.0");
        }

        using var response = await Http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>The value of one sample line of the text exposition, found by its name and label text.</summary>
    public async Task<double?> ValueAsync(string nameAndLabels)
    {
        foreach (var line in (await ScrapeAsync()).Split('\n'))
        {
            if (line.StartsWith(nameAndLabels, StringComparison.Ordinal))
            {
                return double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return null;
    }

    /// <summary>The process's peak resident memory (VmHWM), in bytes.</summary>
    public long PeakResidentBytes() => StatusField("VmHWM");

    /// <summary>The process's resident memory now (VmRSS), in bytes.</summary>
    public long ResidentBytes() => StatusField("VmRSS");

    private long StatusField(string field)
    {
        foreach (var line in File.ReadLines($"/proc/{Process!.Identity.Pid}/status"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new InvalidOperationException($"{field} not in /proc status");
    }

    public async ValueTask DisposeAsync()
    {
        if (Process is not null)
        {
            await Process.DisposeAsync();
        }
    }
}
