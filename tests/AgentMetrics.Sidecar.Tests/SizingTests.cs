using System.Diagnostics;
using System.Globalization;
using System.Text;
using AgentMetrics.Api;
using AgentMetrics.Api.Catalog;
using AgentMetrics.Testing;
using Xunit;
using Xunit.Abstractions;

namespace AgentMetrics.Sidecar.Tests;

/// <summary>
/// The sidecar as it ships, under the heap limit .NET derives from the injected memory limit, filled
/// to a metric set and kept busy (every series changes every round, scraped once a second, as
/// Prometheus would): it takes every request and its peak resident size stays under the container
/// limit the injector gives it. The peaks printed are what the injector's defaults are sized from.
/// </summary>
public sealed class SizingTests(ITestOutputHelper output)
{
    private const int MetricsPerRequest = 41;
    private static readonly TimeSpan Load = TimeSpan.FromSeconds(15);

    /// <summary>The OTLP metrics that fit beside the built-in ones under the default --max-metrics of 1000.</summary>
    private static readonly int PassThrough = 1000 - BuiltInMetrics.All.Count;

    [Theory]
    [InlineData(10)]
    [InlineData(50)]
    public async Task A_sidecar_holding_a_full_metric_set_under_load_stays_under_the_injected_memory_limit(int seriesPerMetric)
    {
        await using var sidecar = await SidecarProcess.StartAsync(
            $"sizing-{seriesPerMetric}",
            new Dictionary<string, string> { ["DOTNET_GCHeapHardLimit"] = SidecarMemory.HeapHardLimitBytes.ToString("x", CultureInfo.InvariantCulture) });
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var stop = new CancellationTokenSource();
        var scrapes = 0;
        var scraping = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await sidecar.ScrapeAsync();
                scrapes++;
                await Task.Delay(1000, CancellationToken.None);
            }
        });

        var rounds = 0;
        var points = 0L;
        var loading = Stopwatch.StartNew();
        while (rounds == 0 || loading.Elapsed < Load)
        {
            rounds++;
            for (var first = 0; first < PassThrough; first += MetricsPerRequest)
            {
                var count = Math.Min(MetricsPerRequest, PassThrough - first);
                using var response = await sidecar.PostAsync("/v1/metrics", Request(first, count, seriesPerMetric, rounds), "application/json");
                var body = await response.Content.ReadAsStringAsync();
                Assert.True(response.IsSuccessStatusCode && !body.Contains("partialSuccess", StringComparison.Ordinal), $"{(int)response.StatusCode}: {body}");
                points += count * seriesPerMetric;
            }
        }

        await stop.CancelAsync();
        await scraping;
        Assert.Equal(PassThrough * seriesPerMetric, await sidecar.ValueAsync("agent_metrics_sidecar_series{"));
        var heap = await sidecar.ValueAsync("dotnet_gc_heap_size_bytes{") ?? double.NaN;
        var peak = sidecar.PeakResidentBytes();
        var limit = SidecarMemory.LimitMebibytes * 1048576L;
        output.WriteLine(
            $"{PassThrough} metrics x {seriesPerMetric} series: {rounds} rounds, {points / loading.Elapsed.TotalSeconds:0} points/s, {scrapes} scrapes; "
            + $"VmRSS now {sidecar.ResidentBytes() / 1048576.0:0.0} MiB, VmHWM {peak / 1048576.0:0.0} MiB, managed heap after the last collection {heap / 1048576.0:0.0} MiB; limit {SidecarMemory.Limit}, request {SidecarMemory.Request}");
        Assert.True(peak < limit, $"the peak resident size {peak / 1048576.0:0.0} MiB reached the injected limit {SidecarMemory.Limit}");
    }

    /// <summary>
    /// An OTLP/JSON request of metrics <paramref name="first"/> to <paramref name="first"/> + <paramref name="count"/> − 1,
    /// each with <paramref name="series"/> series: a third counters, a third gauges, a third histograms of 16 bounds,
    /// every value moved by <paramref name="round"/>.
    /// </summary>
    private static byte[] Request(int first, int count, int series, int round)
    {
        var json = new StringBuilder("{\"resourceMetrics\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"sizing\"}}]},\"scopeMetrics\":[{\"metrics\":[");
        var bucket = round.ToString(CultureInfo.InvariantCulture);
        var buckets = string.Join(',', Enumerable.Repeat($"\"{bucket}\"", 16)) + ",\"0\"";
        const string Bounds = "[0.005,0.01,0.025,0.05,0.075,0.1,0.25,0.5,0.75,1,2.5,5,7.5,10,25,50]";
        for (var m = first; m < first + count; m++)
        {
            json.Append(m > first ? "," : "");
            var kind = m % 3;
            json.Append(CultureInfo.InvariantCulture, $"{{\"name\":\"sizing_metric_{m}\",\"unit\":\"{(kind == 2 ? "s" : "1")}\",");
            json.Append(kind switch
            {
                0 => "\"sum\":{\"aggregationTemporality\":2,\"isMonotonic\":true,\"dataPoints\":[",
                1 => "\"gauge\":{\"dataPoints\":[",
                _ => "\"histogram\":{\"aggregationTemporality\":2,\"dataPoints\":[",
            });
            for (var s = 0; s < series; s++)
            {
                json.Append(s > 0 ? "," : "");
                json.Append(CultureInfo.InvariantCulture, $"{{\"startTimeUnixNano\":\"1\",\"timeUnixNano\":\"{round + 1}000000000\",\"attributes\":[{{\"key\":\"shard\",\"value\":{{\"stringValue\":\"shard-{s}\"}}}}],");
                json.Append(kind == 2
                    ? string.Create(CultureInfo.InvariantCulture, $"\"count\":\"{round * 16}\",\"sum\":{round * 2.5},\"bucketCounts\":[{buckets}],\"explicitBounds\":{Bounds}}}")
                    : string.Create(CultureInfo.InvariantCulture, $"\"asDouble\":{round + s}}}"));
            }

            json.Append("]}}");
        }

        json.Append("]}]}]}");
        return Encoding.UTF8.GetBytes(json.ToString());
    }
}
