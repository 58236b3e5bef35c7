using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentMetrics.Rendering;
using AgentMetrics.Testing;

namespace AgentMetrics.Sidecar.Bench;

/// <summary>
/// Event → visible in the fleet overview's "Tasks per second" stat, which reads the fleet totals the
/// operator's built-in rules record every 5 s (agentmetrics.builtin.now), not the raw series. A real
/// Prometheus evaluates those rules as the operator renders them; the sidecar pushes every 100 ms.
/// </summary>
internal static class DashboardLag
{
    // The namespace PinnedProcess gives the sidecar.
    private const string Namespace = "bench";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>The stat's expression as the overview renders it, with its namespace variable substituted as Grafana would.</summary>
    public static string StatQuery()
    {
        var panels = Dashboards.FleetOverview()["panels"]!.AsArray().OfType<JsonObject>()
            .SelectMany(p => p["panels"] is JsonArray inner ? inner.OfType<JsonObject>().Prepend(p) : [p]);
        var stat = panels.Single(p => (string?)p["title"] == "Tasks per second");
        return ((string)stat["targets"]![0]!["expr"]!).Replace("$namespace", Namespace, StringComparison.Ordinal);
    }

    /// <summary>
    /// Each sample: wait 0–5 s at random (so events land anywhere in the rules' 5 s cycle), POST one task
    /// event, see its raw counter in Prometheus, then poll until the recorded series the stat reads has
    /// been evaluated after the raw sample was there. Lag is from the POST returning to that answer.
    /// </summary>
    public static async Task<Lag> RunAsync(int samples)
    {
        var directory = ProcessRegistry.Current.CreateDirectory("dashboard-lag");
        var rules = Path.Combine(directory, "builtin.rules.yaml");
        await File.WriteAllTextAsync(rules, RuleFile.Render(RuleRenderer.BuiltIn()));
        await using var prometheus = await PrometheusServer.StartAsync($"global: {{scrape_interval: 1m}}\nrule_files: [\"{rules}\"]\n");
        var ingest = LoopbackPorts.Next();
        await using var sidecar = await PinnedProcess.SidecarAsync(
            ingest, LoopbackPorts.Next(), "--mode=push", $"--remote-write-url={prometheus.RemoteWriteUrl}");
        var events = new Uri($"http://127.0.0.1:{ingest}/v1/events");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var stat = StatQuery();
        var recorded = $"max(timestamp(namespace_outcome:agent_tasks:rate_30s{{namespace=\"{Namespace}\"}}))";
        var raw = $"sum(agent_tasks_total{{namespace=\"{Namespace}\"}})";

        const int Warmup = 3;
        var lags = new List<double>();
        var timedOut = 0;
        var jitter = new Random(20261207);
        for (var i = 1; i <= samples + Warmup; i++)
        {
            await Task.Delay(jitter.Next(0, 5000));
            using var response = await http.PostAsync(events, new StringContent(
                """{"type":"task","task_type":"bench","outcome":"success","duration_seconds":0.1}""", Encoding.UTF8, "application/json"));
            response.EnsureSuccessStatusCode();
            var clock = Stopwatch.StartNew();
            double? lag = null;
            long rawSeenAt = 0;
            while (clock.Elapsed < Timeout)
            {
                if (rawSeenAt == 0)
                {
                    if (await ValueAsync(http, prometheus.Url, raw) >= i)
                    {
                        rawSeenAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                    }
                }
                else if (await ValueAsync(http, prometheus.Url, recorded) * 1000 >= rawSeenAt && await ValueAsync(http, prometheus.Url, stat) > 0)
                {
                    lag = clock.Elapsed.TotalMilliseconds;
                    break;
                }
            }

            if (i > Warmup)
            {
                if (lag is { } ms)
                {
                    lags.Add(ms);
                }
                else
                {
                    timedOut++;
                }
            }
        }

        return LagRun.Summarize(lags, timedOut);
    }

    private static async Task<double> ValueAsync(HttpClient http, Uri prometheus, string promql)
    {
        using var document = JsonDocument.Parse(await http.GetStringAsync(new Uri(prometheus, $"/api/v1/query?query={Uri.EscapeDataString(promql)}")));
        var result = document.RootElement.GetProperty("data").GetProperty("result");
        return result.GetArrayLength() == 0 ? double.NaN : double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
    }
}
