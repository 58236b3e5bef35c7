using System.Globalization;
using System.Text;
using AgentMetrics.Rendering;
using AgentMetrics.Testing;
using Xunit;

namespace AgentMetrics.Cli.Tests;

/// <summary>
/// A fleet for <c>top</c>: four real sidecars (three agents in namespace shop, one in research) fed task
/// events over their JSON API for as long as the tests run, scraped every second by a real Prometheus that
/// evaluates the operator's built-in rules as the real renderer writes them. refund-agent is the outlier:
/// forty times slower than checkout-agent, half its tasks failing, ten times the cost.
/// </summary>
public sealed class TopFleet : IAsyncLifetime
{
    /// <summary>The test collection that shares one fleet.</summary>
    public const string Collection = "top";

    /// <summary>Each agent's traffic: tasks every half second, each task's duration, outcome mix and cost.</summary>
    public static readonly IReadOnlyList<Agent> Agents =
    [
        new("shop", "checkout-agent", TasksPerTick: 4, Seconds: 0.5, FailEvery: 0, Cost: 0.002),
        new("shop", "support-agent", TasksPerTick: 2, Seconds: 1.0, FailEvery: 0, Cost: 0.003),
        new("shop", "refund-agent", TasksPerTick: 1, Seconds: 20, FailEvery: 2, Cost: 0.02),
        new("research", "research-agent", TasksPerTick: 3, Seconds: 2.0, FailEvery: 0, Cost: 0.004),
    ];

    /// <summary>How often each sidecar is sent its tasks.</summary>
    public static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(500);

    /// <summary>Tokens in and out of every task.</summary>
    public const int TokensIn = 1000;

    public const int TokensOut = 200;

    private readonly List<SidecarProcess> _sidecars = [];
    private readonly CancellationTokenSource _stop = new();
    private Task? _feeding;

    /// <summary>One agent of the fleet and what it is sent.</summary>
    public sealed record Agent(string Namespace, string Name, int TasksPerTick, double Seconds, int FailEvery, double Cost)
    {
        /// <summary>The tasks per second it is sent.</summary>
        public double TaskRate => TasksPerTick / Tick.TotalSeconds;
    }

    /// <summary>The Prometheus every test queries.</summary>
    public PrometheusServer Prometheus { get; private set; } = null!;

    /// <summary>The scrape configuration of the sidecars and the built-in rule file, for a second Prometheus.</summary>
    public string Config { get; private set; } = "";

    public async Task InitializeAsync()
    {
        foreach (var agent in Agents)
        {
            _sidecars.Add(await SidecarProcess.StartAsync(
                $"{agent.Name}-0",
                new Dictionary<string, string> { ["AGENTMETRICS_NAMESPACE"] = agent.Namespace, ["AGENTMETRICS_AGENT"] = agent.Name }));
        }

        var rules = ProcessRegistry.Current.CreateDirectory("top-rules");
        // The operator's built-in rules as rendered, evaluated every 2 s instead of every 30 s (and 5 s), so the
        // fleet outlier scores exist within seconds rather than a minute.
        await File.WriteAllTextAsync(
            Path.Combine(rules, "builtin.yaml"), RuleFile.Render(RuleRenderer.BuiltIn().Select(g => g with { Interval = "2s" })));
        Config = $$"""
            global: {scrape_interval: 1s, evaluation_interval: 2s}
            rule_files: ["{{rules}}/*.yaml"]
            scrape_configs:
            - job_name: agents
              honor_labels: true
              static_configs: [{targets: [{{string.Join(", ", _sidecars.Select(s => $"\"{s.Metrics.Authority}\""))}}]}]

            """;
        Prometheus = await PrometheusServer.StartAsync(Config);
        var fed = DateTimeOffset.UtcNow;
        _feeding = Task.Run(() => FeedAsync(_stop.Token));

        // Ready once every agent has a task rate and the outlier has its score: the rules have run on data.
        await Prometheus.WaitForResultAsync("namespace_agent:agent_tasks:error_ratio_5m:fleet_zscore{agent=\"refund-agent\"} > 2", TimeSpan.FromSeconds(60));
        await Eventually.UntilAsync(
            async () => (await Prometheus.QueryAsync("sum by (agent) (rate(agent_tasks_total[30s]))")).GetArrayLength() == Agents.Count,
            TimeSpan.FromSeconds(30),
            "a task rate for every agent");
        // A rate over a window longer than the series' life is extrapolated only part of the way: wait until
        // the 30 s window of the rows is full of samples, so the rates shown are near what is sent.
        var full = fed + TimeSpan.FromSeconds(35) - DateTimeOffset.UtcNow;
        if (full > TimeSpan.Zero)
        {
            await Task.Delay(full);
        }
    }

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_feeding is not null)
        {
            await _feeding;
        }

        if (Prometheus is not null)
        {
            await Prometheus.DisposeAsync();
        }

        foreach (var sidecar in _sidecars)
        {
            await sidecar.DisposeAsync();
        }

        _stop.Dispose();
    }

    private async Task FeedAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(Tick);
        var sent = 0;
        do
        {
            sent++;
            await Task.WhenAll(Agents.Select((agent, i) => PostAsync(_sidecars[i], agent, sent)));
        }
        while (await Wait(timer, stop));
    }

    private static async Task PostAsync(SidecarProcess sidecar, Agent agent, int tick)
    {
        try
        {
            using var response = await sidecar.PostEventsAsync(Batch(agent, tick));
            response.EnsureSuccessStatusCode();
        }
        catch (HttpRequestException e)
        {
            Console.Error.WriteLine($"feeding {agent.Name}: {e.Message}");
        }
    }

    private static async Task<bool> Wait(PeriodicTimer timer, CancellationToken stop)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stop);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static string Batch(Agent agent, int tick)
    {
        var events = new StringBuilder("[");
        for (var t = 0; t < agent.TasksPerTick; t++)
        {
            var fails = agent.FailEvery > 0 && ((tick * agent.TasksPerTick) + t) % agent.FailEvery == 0;
            events.Append(events.Length > 1 ? "," : "").Append(CultureInfo.InvariantCulture, $$"""
                {"type":"task","task_type":"answer","outcome":"{{(fails ? "failure" : "success")}}","duration_seconds":{{agent.Seconds}},"tokens_in":{{TokensIn}},"tokens_out":{{TokensOut}},"cost":{{agent.Cost}},"model":"gpt-4o"}
                """);
        }

        return events.Append(']').ToString();
    }
}

/// <summary>The tests of top share one fleet, and run one after another.</summary>
[CollectionDefinition(TopFleet.Collection)]
public sealed class TopFleetCollection : ICollectionFixture<TopFleet>;
