using System.Text;

namespace AgentMetrics.Testing;

/// <summary>A real Alertmanager, clustering off, routing every alert to one webhook.</summary>
public sealed class AlertmanagerServer : LocalServer
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    private AlertmanagerServer(string directory)
        : base("alertmanager", directory)
    {
        Url = new Uri($"http://127.0.0.1:{LoopbackPorts.Next()}");
    }

    /// <summary>The web endpoint and API.</summary>
    public Uri Url { get; }

    /// <summary>The configuration file the server reads.</summary>
    public string ConfigPath => Path.Combine(Directory, "alertmanager.yml");

    /// <inheritdoc />
    protected override string FileName => Tools.Alertmanager;

    /// <inheritdoc />
    protected override IEnumerable<string> Arguments =>
    [
        $"--config.file={ConfigPath}",
        $"--storage.path={Path.Combine(Directory, "data")}",
        $"--web.listen-address={Url.Authority}",
        "--cluster.listen-address=",
        "--log.level=warn",
    ];

    /// <summary>
    /// Starts Alertmanager sending every alert, firing and resolved, to <paramref name="webhook"/>
    /// with no grouping delay.
    /// </summary>
    public static async Task<AlertmanagerServer> StartAsync(Uri webhook)
    {
        var server = new AlertmanagerServer(ProcessRegistry.Current.CreateDirectory("alertmanager"));
        await File.WriteAllTextAsync(server.ConfigPath, $"""
            route:
              receiver: test
              group_by: ['...']
              group_wait: 0s
              group_interval: 1s
              repeat_interval: 1h
            receivers:
            - name: test
              webhook_configs:
              - url: {webhook}
                send_resolved: true

            """);
        await server.StartAsync();
        return server;
    }

    /// <summary>Posts alerts (a JSON array in the v2 API's form) as a Prometheus server would.</summary>
    public async Task PostAlertsAsync(string alertsJson)
    {
        using var content = new StringContent(alertsJson, Encoding.UTF8, "application/json");
        using var response = await Http.PostAsync(new Uri(Url, "/api/v2/alerts"), content);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException(
                $"Alertmanager refused the alerts ({(int)response.StatusCode}): {await response.Content.ReadAsStringAsync()}");
        }
    }

    /// <inheritdoc />
    protected override Task<bool> IsReadyAsync(CancellationToken cancellationToken) =>
        AnswersOkAsync(Http, new Uri(Url, "/-/ready"), cancellationToken);
}
