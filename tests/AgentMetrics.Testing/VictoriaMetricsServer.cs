namespace AgentMetrics.Testing;

/// <summary>
/// A real single-node VictoriaMetrics: a Prometheus remote-write receiver and a Prometheus query API
/// on one port. Data is visible to queries as soon as it is searchable (no 30 s latency offset).
/// </summary>
public sealed class VictoriaMetricsServer : LocalServer
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    private VictoriaMetricsServer(string directory)
        : base("victoria-metrics", directory) =>
        Url = new Uri($"http://127.0.0.1:{LoopbackPorts.Next()}");

    /// <summary>The HTTP endpoint: query API, remote write and /metrics.</summary>
    public Uri Url { get; }

    /// <summary>The remote-write receiver endpoint.</summary>
    public Uri RemoteWriteUrl => new(Url, "/api/v1/write");

    /// <inheritdoc />
    protected override string FileName => Tools.VictoriaMetrics;

    /// <inheritdoc />
    protected override IEnumerable<string> Arguments =>
    [
        $"-storageDataPath={Path.Combine(Directory, "data")}",
        $"-httpListenAddr={Url.Authority}",
        "-retentionPeriod=1d",
        "-search.latencyOffset=0s",
        "-search.disableCache",
        "-loggerLevel=WARN",
    ];

    /// <summary>Starts a VictoriaMetrics with empty storage.</summary>
    public static async Task<VictoriaMetricsServer> StartNewAsync()
    {
        var server = new VictoriaMetricsServer(ProcessRegistry.Current.CreateDirectory("victoria-metrics"));
        await server.StartAsync();
        return server;
    }

    /// <inheritdoc />
    protected override Task<bool> IsReadyAsync(CancellationToken cancellationToken) =>
        AnswersOkAsync(Http, new Uri(Url, "/health"), cancellationToken);
}
