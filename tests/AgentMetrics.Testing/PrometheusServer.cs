using System.Text.Json;

namespace AgentMetrics.Testing;

/// <summary>A real Prometheus with the lifecycle API and the remote-write receiver on, configured by the test.</summary>
public sealed class PrometheusServer : LocalServer
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly string[] _extraArguments;

    private PrometheusServer(string directory, string host, string[] extraArguments)
        : base("prometheus", directory)
    {
        Url = new Uri($"http://{host}:{LoopbackPorts.Next()}");
        _extraArguments = extraArguments;
    }

    /// <summary>The web endpoint: UI, query API, lifecycle and remote write.</summary>
    public Uri Url { get; }

    /// <summary>The Accept header Prometheus 2.x sends with every scrape (scrape_protocols left at their defaults).</summary>
    public const string ScrapeAccept =
        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

    /// <summary>The remote-write receiver endpoint.</summary>
    public Uri RemoteWriteUrl => new(Url, "/api/v1/write");

    /// <summary>The configuration file the server reads.</summary>
    public string ConfigPath => Path.Combine(Directory, "prometheus.yml");

    /// <inheritdoc />
    protected override string FileName => Tools.Prometheus;

    /// <inheritdoc />
    protected override IEnumerable<string> Arguments =>
    [
        $"--config.file={ConfigPath}",
        $"--storage.tsdb.path={Path.Combine(Directory, "data")}",
        $"--web.listen-address={Url.Authority}",
        "--web.enable-lifecycle",
        "--web.enable-remote-write-receiver",
        "--log.level=warn",
        .. _extraArguments,
    ];

    /// <summary>Starts Prometheus with <paramref name="configYaml"/> as its configuration.</summary>
    public static Task<PrometheusServer> StartAsync(string configYaml, params string[] extraArguments) =>
        StartWithHistoryAsync(configYaml, null, extraArguments);

    /// <summary>
    /// Starts Prometheus after backfilling <paramref name="openMetrics"/> (OpenMetrics text with timestamps, ending
    /// in # EOF) into its storage with promtool, the way history is imported into a new Prometheus.
    /// </summary>
    public static Task<PrometheusServer> StartWithHistoryAsync(string configYaml, string? openMetrics, params string[] extraArguments) =>
        StartOnAsync("127.0.0.1", configYaml, openMetrics, extraArguments);

    /// <summary>
    /// As <see cref="StartWithHistoryAsync"/>, listening on <paramref name="host"/>: a node's address,
    /// for sidecars in pods to push to.
    /// </summary>
    public static async Task<PrometheusServer> StartOnAsync(string host, string configYaml, string? openMetrics, params string[] extraArguments)
    {
        var server = new PrometheusServer(ProcessRegistry.Current.CreateDirectory("prometheus"), host, extraArguments);
        await File.WriteAllTextAsync(server.ConfigPath, configYaml);
        if (openMetrics is not null)
        {
            var input = Path.Combine(server.Directory, "history.om");
            await File.WriteAllTextAsync(input, openMetrics);
            var (exitCode, output) = await Promtool.RunAsync(
                server.Directory, null, "tsdb", "create-blocks-from", "openmetrics", input, Path.Combine(server.Directory, "data"));
            if (exitCode != 0)
            {
                throw new InvalidOperationException($"promtool could not backfill the history: {output}");
            }
        }

        await server.StartAsync();
        return server;
    }

    /// <summary>Replaces the configuration and reloads it through the lifecycle API; a rejected configuration throws.</summary>
    public async Task ReloadAsync(string configYaml)
    {
        await File.WriteAllTextAsync(ConfigPath, configYaml);
        using var response = await Http.PostAsync(new Uri(Url, "/-/reload"), null);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException(
                $"Prometheus refused the configuration: {await response.Content.ReadAsStringAsync()}");
        }
    }

    /// <summary>Runs an instant query and returns <c>data.result</c>.</summary>
    public async Task<JsonElement> QueryAsync(string promql)
    {
        var body = await Http.GetStringAsync(new Uri(Url, $"/api/v1/query?query={Uri.EscapeDataString(promql)}"));
        using var document = JsonDocument.Parse(body);
        return document.RootElement.GetProperty("data").GetProperty("result").Clone();
    }

    /// <summary>Queries until the result has at least one sample, and returns it.</summary>
    public async Task<JsonElement> WaitForResultAsync(string promql, TimeSpan timeout)
    {
        var result = default(JsonElement);
        await Eventually.UntilAsync(
            async () =>
            {
                result = await QueryAsync(promql);
                return result.GetArrayLength() > 0;
            },
            timeout,
            $"a result for `{promql}` from Prometheus");
        return result;
    }

    /// <inheritdoc />
    protected override Task<bool> IsReadyAsync(CancellationToken cancellationToken) =>
        AnswersOkAsync(Http, new Uri(Url, "/-/ready"), cancellationToken);
}
