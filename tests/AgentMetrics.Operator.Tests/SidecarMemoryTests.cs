using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using AgentMetrics.Api;
using AgentMetrics.Operator.Injection;
using AgentMetrics.Rendering;
using AgentMetrics.Testing;
using Xunit;
using Xunit.Abstractions;

namespace AgentMetrics.Operator.Tests;

/// <summary>
/// The injected sidecar at its limits on a real node: its agent sends OTLP metrics until the sidecar
/// holds all the metrics (1000) and series (50,000) it takes, then keeps every series changing while
/// the sidecar is scraped; the container stays under the memory limit the injector gives it, with no
/// OOM kill, as the kernel's cgroup (read through the kubelet's cAdvisor) measures it.
/// </summary>
[Collection(OperatorCollection.Name)]
public sealed class SidecarMemoryTests(ITestOutputHelper output)
{
    private const int Metrics = 1000;
    private const int SeriesPerMetric = 50;
    private const int MetricsPerRequest = 50;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan Load = TimeSpan.FromSeconds(15);
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    [Fact]
    public async Task ASidecarHoldingAllTheMetricsAndSeriesItTakesUnderLoadStaysUnderTheMemoryLimitItIsGiven()
    {
        var node = await LocalNode.SharedAsync();
        var plane = node.Plane;
        await using var system = await plane.CreateNamespaceAsync("memsys");
        await using var agents = await plane.CreateNamespaceAsync("mem", InjectionTests.OptedIn);
        await using var app = await OperatorHarness.ServeAsync(plane, system.Name, configure: s => s with { SidecarImage = NodeImages.Sidecar });
        await using var hook = await InjectionTests.RegisterAsync(plane, agents.Name, app.Url, plane.Pki.CaPem);
        await plane.Kubectl.RunWithInputAsync(Pod("heavy").ToJsonString(), "apply", "-n", agents.Name, "-f", "-");
        var agent = await NodeAgent.WaitUntilReadyAsync(plane, agents.Name, "heavy", Patience);
        var sidecar = agent.Pod["spec"]!["containers"]!.AsArray().Single(c => (string?)c!["name"] == Names.SidecarContainer)!;
        var limit = (string)sidecar["resources"]!["limits"]!["memory"]!;
        Assert.Equal(new SidecarOptions().Limits["memory"], limit);

        // Every series changes every round; a scrape a second reads them all, as Prometheus would.
        using var stop = new CancellationTokenSource();
        var scrapes = new List<(double Seconds, int Bytes)>();
        var scraping = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var took = Stopwatch.StartNew();
                var body = await Http.GetByteArrayAsync(agent.Metrics, CancellationToken.None);
                scrapes.Add((took.Elapsed.TotalSeconds, body.Length));
                await Task.Delay(1000, CancellationToken.None);
            }
        });

        var points = 0L;
        var rounds = 0;
        var loading = Stopwatch.StartNew();
        while (rounds == 0 || loading.Elapsed < Load)
        {
            rounds++;
            for (var first = 0; first < Metrics; first += MetricsPerRequest)
            {
                using var response = await agent.PostAsync("/v1/metrics", Request(first, rounds), "application/json");
                Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                points += MetricsPerRequest * SeriesPerMetric;
            }
        }

        await stop.CancelAsync();
        await scraping;

        // The sidecar is at its limits: it holds its series cap and has refused metrics past its metric cap.
        var exposition = await agent.ScrapeAsync();
        var held = Exposition.Sum(exposition, "agent_metrics_sidecar_series");
        var refusedMetrics = Exposition.Sum(exposition, "agent_metrics_sidecar_dropped_total", "reason=\"metric_limit\"");
        Assert.True(held >= 49_000, $"the sidecar holds {held} series, not its limit of 50000");
        Assert.True(refusedMetrics > 0, "no metric was refused for the metric limit: the sidecar was not at it");

        // The kernel's account of the container, through the kubelet: its limit, its peak, no kill.
        var cadvisor = await node.GetFromKubeletAsync("/metrics/cadvisor");
        var selector = $"container=\"{Names.SidecarContainer}\"";
        var podSelector = $"pod=\"heavy\"";
        double Series(string name) => cadvisor.Split('\n')
            .Where(line => line.StartsWith(name + "{", StringComparison.Ordinal)
                && line.Contains(selector, StringComparison.Ordinal) && line.Contains(podSelector, StringComparison.Ordinal)
                && line.Contains($"namespace=\"{agents.Name}\"", StringComparison.Ordinal))
            // After the labels: the value, then the kubelet's timestamp.
            .Select(line => double.Parse(line[(line.LastIndexOf('}') + 2)..].Split(' ')[0], CultureInfo.InvariantCulture))
            .DefaultIfEmpty(double.NaN).Max();
        var limitBytes = Series("container_spec_memory_limit_bytes");
        var peak = Series("container_memory_max_usage_bytes");
        var workingSet = Series("container_memory_working_set_bytes");
        var pod = JsonNode.Parse(await plane.Kubectl.RunAsync("get", "pod", "heavy", "-n", agents.Name, "-o", "json"))!;
        var status = pod["status"]!["containerStatuses"]!.AsArray().Single(s => (string?)s!["name"] == Names.SidecarContainer)!;
        output.WriteLine(
            $"{rounds} rounds of {Metrics} metrics x {SeriesPerMetric} series ({points} points in {loading.Elapsed.TotalSeconds:0} s, "
            + $"{points / loading.Elapsed.TotalSeconds:0} points/s); held {held} series, {refusedMetrics} metrics refused at the limit; "
            + $"{scrapes.Count} scrapes of up to {scrapes.Max(s => s.Bytes) / 1e6:0.0} MB, the slowest {scrapes.Max(s => s.Seconds):0.00} s; "
            + $"memory limit {limit} ({limitBytes / (1 << 20):0} MiB), peak usage {peak / (1 << 20):0.0} MiB, working set now {workingSet / (1 << 20):0.0} MiB; "
            + $"restarts {status["restartCount"]}");
        Assert.Equal(0, (int)status["restartCount"]!);
        Assert.Null(status["lastState"]?["terminated"]);
        Assert.Equal(SidecarMemory.LimitMebibytes * (double)(1 << 20), limitBytes);
        Assert.True(peak < limitBytes, $"the sidecar's peak memory {peak / (1 << 20):0.0} MiB reached its limit of {limit}");
    }

    /// <summary>The agent's pod: the example agent, taking work from the test, on the node.</summary>
    private static JsonObject Pod(string name) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Pod",
        ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = new JsonObject { ["app.kubernetes.io/name"] = name } },
        ["spec"] = new JsonObject
        {
            ["schedulerName"] = LocalNode.SchedulerName,
            ["serviceAccountName"] = "default",
            ["terminationGracePeriodSeconds"] = 5,
            ["containers"] = new JsonArray(NodeAgent.Container()),
        },
    };

    /// <summary>
    /// An OTLP/JSON request of metrics <paramref name="first"/> to <paramref name="first"/> + 49, each with
    /// <see cref="SeriesPerMetric"/> series: a third counters, a third gauges, a third histograms of ten
    /// bounds, every value moved by <paramref name="round"/>.
    /// </summary>
    private static byte[] Request(int first, int round)
    {
        var json = new StringBuilder("{\"resourceMetrics\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"heavy\"}}]},\"scopeMetrics\":[{\"metrics\":[");
        var bucket = round.ToString(CultureInfo.InvariantCulture);
        var buckets = string.Join(',', Enumerable.Repeat($"\"{bucket}\"", 10)) + ",\"0\"";
        for (var m = first; m < first + MetricsPerRequest; m++)
        {
            json.Append(m > first ? "," : "");
            var kind = m % 3;
            json.Append(CultureInfo.InvariantCulture, $"{{\"name\":\"load_metric_{m}\",\"unit\":\"{(kind == 2 ? "s" : "1")}\",");
            json.Append(kind switch
            {
                0 => "\"sum\":{\"aggregationTemporality\":2,\"isMonotonic\":true,\"dataPoints\":[",
                1 => "\"gauge\":{\"dataPoints\":[",
                _ => "\"histogram\":{\"aggregationTemporality\":2,\"dataPoints\":[",
            });
            for (var s = 0; s < SeriesPerMetric; s++)
            {
                json.Append(s > 0 ? "," : "");
                json.Append(CultureInfo.InvariantCulture, $"{{\"startTimeUnixNano\":\"1\",\"timeUnixNano\":\"{round + 1}000000000\",\"attributes\":[{{\"key\":\"shard\",\"value\":{{\"stringValue\":\"shard-{s}\"}}}}],");
                if (kind == 2)
                {
                    json.Append(CultureInfo.InvariantCulture, $"\"count\":\"{round * 10}\",\"sum\":{round * 2.5},\"bucketCounts\":[{buckets}],\"explicitBounds\":[0.005,0.01,0.025,0.05,0.1,0.25,0.5,1,2.5,5]}}");
                }
                else
                {
                    json.Append(CultureInfo.InvariantCulture, $"\"asDouble\":{round + s}}}");
                }
            }

            json.Append("]}}");
        }

        json.Append("]}]}]}");
        return Encoding.UTF8.GetBytes(json.ToString());
    }
}
