namespace AgentMetrics.Testing;

/// <summary>A single-member etcd on loopback.</summary>
public sealed class EtcdServer : LocalServer
{
    private static readonly HttpClient Http = new();
    private readonly int _peerPort = LoopbackPorts.Next();

    private EtcdServer(string directory)
        : base("etcd", directory)
    {
        ClientUrl = new Uri($"http://127.0.0.1:{LoopbackPorts.Next()}");
    }

    /// <summary>Where clients (the API server) connect.</summary>
    public Uri ClientUrl { get; }

    /// <inheritdoc />
    protected override string FileName => Tools.Etcd;

    /// <inheritdoc />
    protected override IEnumerable<string> Arguments =>
    [
        "--name=test",
        $"--data-dir={Path.Combine(Directory, "data")}",
        $"--listen-client-urls={ClientUrl.GetLeftPart(UriPartial.Authority)}",
        $"--advertise-client-urls={ClientUrl.GetLeftPart(UriPartial.Authority)}",
        $"--listen-peer-urls=http://127.0.0.1:{_peerPort}",
        $"--initial-advertise-peer-urls=http://127.0.0.1:{_peerPort}",
        $"--initial-cluster=test=http://127.0.0.1:{_peerPort}",
        "--log-level=warn",
        "--logger=zap",
    ];

    /// <summary>Starts etcd with its data in <paramref name="directory"/>.</summary>
    public static async Task<EtcdServer> StartAsync(string directory)
    {
        var server = new EtcdServer(directory);
        await server.StartAsync();
        return server;
    }

    /// <inheritdoc />
    protected override async Task<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        var health = await Http.GetStringAsync(new Uri(ClientUrl, "/health"), cancellationToken);
        return health.Contains("\"health\":\"true\"", StringComparison.Ordinal);
    }
}
