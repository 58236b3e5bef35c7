using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using AgentMetrics.Api.Catalog;
using AgentMetrics.Sidecar.Delivery;
using AgentMetrics.Sidecar.Metrics;
using AgentMetrics.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentMetrics.Fleet.Bench;

/// <summary>
/// The data path at fleet size: simulated sidecars, each the sidecar's own MetricRegistry and
/// RemoteWriter (its encoder, snappy, batching, retries and interval) holding SERIES gauges that all
/// change every interval, push into a real VictoriaMetrics and a real Prometheus, one store at a time,
/// the store (a new one for each measurement) pinned to core 0 and this process to core 1. Measured per store, fleet size and interval:
/// samples per second the store accepted (its own counters), its CPU, and event → queryable lag of a
/// probe agent pushing beside the fleet with the same interval, polled through the store's query API.
/// </summary>
public static class Delivery
{
    private const int ProbeEvery = 200;

    /// <summary>Runs every combination and returns the report's rows.</summary>
    public static async Task<string> RunAsync(int[] fleets, int series, TimeSpan[] intervals, TimeSpan measure)
    {
        var rows = new StringBuilder();
        rows.AppendLine(CultureInfo.InvariantCulture, $"Each simulated agent holds {series} gauge series that all change every interval; a push carries at most 5000 samples (the sidecar's default).");
        rows.AppendLine();
        rows.AppendLine("| store | agents | push interval | samples/s offered | samples/s accepted | requests/s | store CPU (cores) | store CPU per 100k samples/s | lag p50 | lag p99 | store RSS |");
        rows.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var store in new[] { "VictoriaMetrics", "Prometheus" })
        {
            foreach (var agents in fleets)
            {
                foreach (var interval in intervals)
                {
                    // A store of its own for each cell, so an overload in one leaves no backlog for the next.
                    await using var server = await StartAsync(store);
                    using (Process.Start("taskset", ["-a", "-p", "-c", "0", server.Process!.Identity.Pid.ToString(CultureInfo.InvariantCulture)]))
                    {
                    }

                    Cell cell;
                    try
                    {
                        cell = await RunCellAsync(store, server, agents, series, interval, measure);
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                    {
                        // A store this load saturates stops answering even its own /metrics: that is the figure.
                        rows.AppendLine(CultureInfo.InvariantCulture,
                            $"| {store} | {agents} | {interval.TotalMilliseconds:0} ms | {(double)agents * series * 1000 / interval.TotalMilliseconds:0} | saturated: no answer from its /metrics or query API within 60 s | | | | | | |");
                        Console.WriteLine($"{store} {agents} agents at {interval.TotalMilliseconds} ms: {e.Message}");
                        continue;
                    }

                    rows.AppendLine(CultureInfo.InvariantCulture,
                        $"| {store} | {agents} | {interval.TotalMilliseconds:0} ms | {(double)agents * series * 1000 / interval.TotalMilliseconds:0} | {cell.Accepted:0} | {cell.Requests:0} | {cell.Cores:0.00} | {(cell.Accepted > 0 ? cell.Cores / (cell.Accepted / 100_000) : 0):0.00} | {cell.LagP50:0} ms | {cell.LagP99:0} ms | {cell.Rss / 1048576.0:0} MB |");
                    Console.WriteLine($"{store} {agents} agents at {interval.TotalMilliseconds} ms: {cell}");
                }
            }
        }

        return rows.ToString();
    }

    private static async Task<LocalServer> StartAsync(string store) =>
        store == "Prometheus"
            ? await PrometheusServer.StartAsync("global: {}\n", "--storage.tsdb.retention.time=1d")
            : await VictoriaMetricsServer.StartNewAsync();

    private static Uri UrlOf(LocalServer server) => server is PrometheusServer p ? p.Url : ((VictoriaMetricsServer)server).Url;

    private static async Task<Cell> RunCellAsync(string store, LocalServer server, int agents, int series, TimeSpan interval, TimeSpan measure)
    {
        var url = UrlOf(server);
        var write = new Uri(url, "/api/v1/write");
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 512, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
        {
            Timeout = TimeSpan.FromSeconds(10),
        };
        var cellId = $"{agents}-{interval.TotalMilliseconds:0}";
        var fleet = Enumerable.Range(0, agents).Select(i => Agent(cellId, i, series)).ToList();
        var writers = fleet.Select(a => new RemoteWriter(a.Registry, new PushOptions { Url = write, Interval = interval }, http, NullLogger<RemoteWriter>.Instance)).ToList();
        var probe = Agent(cellId, -1, 1);
        var probeWriter = new RemoteWriter(probe.Registry, new PushOptions { Url = write, Interval = interval }, http, NullLogger<RemoteWriter>.Instance);
        using var stop = new CancellationTokenSource();

        // Every interval every series changes, as an agent busy on every metric would make it.
        var changing = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(interval);
            var round = 0.0;
            while (await Tick(timer, stop.Token))
            {
                round++;
                foreach (var agent in fleet)
                {
                    foreach (var s in agent.Series)
                    {
                        s.Set(round);
                    }
                }
            }
        });
        writers.ForEach(w => w.Start());
        probeWriter.Start();
        try
        {
            // Warm up (the store registers every new series first), then measure: the store's counters and
            // CPU over the window, the probe's lag throughout.
            await Task.Delay(TimeSpan.FromSeconds(10));
            var pid = server.Process!.Identity.Pid;
            var (samplesBefore, requestsBefore) = await CountersAsync(store, url);
            var cpuBefore = Measure.CpuSeconds(pid);
            var clock = Stopwatch.StartNew();
            var lags = await ProbeAsync(url, probe.Series[0], measure, cellId);
            var elapsed = clock.Elapsed.TotalSeconds;
            var cores = (Measure.CpuSeconds(pid) - cpuBefore) / elapsed;
            var (samplesAfter, requestsAfter) = await CountersAsync(store, url);
            var rss = Measure.Memory(pid).Resident;

            return new Cell(
                (samplesAfter - samplesBefore) / elapsed, (requestsAfter - requestsBefore) / elapsed, cores,
                lags.Count == 0 ? double.NaN : Measure.Quantile(lags, 0.5), lags.Count == 0 ? double.NaN : Measure.Quantile(lags, 0.99), rss);
        }
        finally
        {
            await stop.CancelAsync();
            await changing;
            using var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await Task.WhenAll(writers.Append(probeWriter).Select(w => w.StopAsync(stopping.Token)));
            foreach (var w in writers.Append(probeWriter))
            {
                w.Dispose();
            }
        }
    }

    private static async Task<bool> Tick(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Sets the probe to 1, 2, 3… every 200 ms and polls the store until it answers each value; the lags in ms.</summary>
    private static async Task<List<double>> ProbeAsync(Uri store, Series probe, TimeSpan measure, string cellId)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var query = new Uri(store, $"/api/v1/query?query={Uri.EscapeDataString($"bench_probe{{cell=\"{cellId}\"}}")}");
        var setAt = new List<long>();
        var lags = new List<double>();
        var clock = Stopwatch.StartNew();
        var nextSet = TimeSpan.Zero;
        var seen = 0;
        while (clock.Elapsed < measure || seen < setAt.Count)
        {
            if (clock.Elapsed >= nextSet && clock.Elapsed < measure)
            {
                setAt.Add(Stopwatch.GetTimestamp());
                probe.Set(setAt.Count);
                nextSet += TimeSpan.FromMilliseconds(ProbeEvery);
            }

            if (clock.Elapsed > measure + TimeSpan.FromSeconds(30))
            {
                break;
            }

            var value = await LatestAsync(http, query);
            var now = Stopwatch.GetTimestamp();
            while (seen < setAt.Count && value >= seen + 1)
            {
                lags.Add(Stopwatch.GetElapsedTime(setAt[seen], now).TotalMilliseconds);
                seen++;
            }

            await Task.Delay(10);
        }

        return lags;
    }

    private static async Task<double> LatestAsync(HttpClient http, Uri query)
    {
        try
        {
            using var document = JsonDocument.Parse(await http.GetStringAsync(query));
            var result = document.RootElement.GetProperty("data").GetProperty("result");
            return result.GetArrayLength() == 0
                ? 0
                : double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
        {
            return 0;
        }
    }

    /// <summary>Samples the store accepted and remote-write requests it answered, from its own /metrics.</summary>
    private static async Task<(double Samples, double Requests)> CountersAsync(string store, Uri url)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var lines = (await http.GetStringAsync(new Uri(url, "/metrics"))).Split('\n');
        double Sum(Func<string, bool> pick) =>
            lines.Where(l => l.Length > 0 && l[0] != '#' && pick(l)).Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
        return store == "Prometheus"
            ? (Sum(l => l.StartsWith("prometheus_tsdb_head_samples_appended_total", StringComparison.Ordinal)),
                Sum(l => l.StartsWith("prometheus_http_requests_total{", StringComparison.Ordinal) && l.Contains("handler=\"/api/v1/write\"", StringComparison.Ordinal)))
            : (Sum(l => l.StartsWith("vm_rows_inserted_total{type=\"promremotewrite\"}", StringComparison.Ordinal)),
                Sum(l => l.StartsWith("vm_http_requests_total{", StringComparison.Ordinal) && l.Contains("path=\"/api/v1/write\"", StringComparison.Ordinal)));
    }

    private static (MetricRegistry Registry, Series[] Series) Agent(string cellId, int index, int series)
    {
        var name = index < 0 ? "bench-probe" : $"agent-{index:D5}";
        var registry = new MetricRegistry([new("namespace", "fleet-bench"), new("pod", name), new("agent", "bench"), new("cell", cellId)]);
        var family = registry.GetOrDefine(new FamilySpec(
            index < 0 ? "bench_probe" : "bench_value", MetricType.Gauge, "A value that changes every interval.", null, index < 0 ? [] : ["series"], [],
            series, FamilyOrigin.Custom))!;
        return (registry, [.. Enumerable.Range(0, series).Select(j => family.GetOrAdd(index < 0 ? [] : [$"s{j:D3}"])!)]);
    }

    private sealed record Cell(double Accepted, double Requests, double Cores, double LagP50, double LagP99, long Rss);
}
