using System.Globalization;
using System.Text;
using System.Text.Json;

namespace AgentMetrics.Sidecar.Bench;

/// <summary>The line prom-client-bench.mjs prints (the fields the report uses).</summary>
internal sealed record PromClientFigures(string Node, int Iterations, int Samples, double MeanMs, double P50Ms, double P99Ms, long BytesPerScrape, long? HeapDeltaBytesPerScrape);

/// <summary>Writes the figures table of bench/results/sidecar.md: each figure beside its target and its peer.</summary>
internal static class Report
{
    public static string Write(string artifacts, PromClientFigures promClient, LoadFigures? load, LagFigures? lag, ScrapeFigures? scrape = null)
    {
        var micro = ReadBenchmarks(Path.Combine(artifacts, "results"));
        var text = new StringBuilder();
        void Row(string what, string target, string ours, string peer, string ratio, bool? pass) =>
            text.AppendLine(CultureInfo.InvariantCulture, $"| {what} | {target} | {ours} | {peer} | {ratio} | {(pass is null ? "—" : pass.Value ? "pass" : "**miss**")} |");

        text.AppendLine("| measure | target | agent-metrics sidecar | peer (same run) | ours ÷ peer | verdict |");
        text.AppendLine("| --- | --- | --- | --- | --- | --- |");

        foreach (var (kind, otel, lookup, cached) in new[] { ("counter", "OtelCounter", "CounterLookup", "CounterCached"), ("16-bucket histogram", "OtelHistogram", "HistogramLookup", "HistogramCached") })
        {
            if (micro.TryGetValue(otel, out var peer))
            {
                foreach (var (how, method) in new[] { ("family.GetOrAdd(key)", lookup), ("cached Series", cached) })
                {
                    if (micro.TryGetValue(method, out var ours))
                    {
                        var ratio = ours.MeanNs / peer.MeanNs;
                        Row($"a. {kind}, 3 labels, {how}: time / allocated", "≤ ⅓ of OpenTelemetry's time, 0 B",
                            $"{ours.MeanNs:0.0} ns / {ours.Bytes} B", $"OpenTelemetry .NET SDK {peer.MeanNs:0.0} ns / {peer.Bytes} B", $"{ratio:0.00}",
                            ratio <= 1.0 / 3 && ours.Bytes == 0);
                    }
                }
            }
        }

        foreach (var (format, method) in new[] { ("text 0.0.4", "Text"), ("OpenMetrics", "OpenMetrics") })
        {
            if (micro.TryGetValue(method, out var ours))
            {
                var peer = format == "text 0.0.4"
                    ? $"prom-client {promClient.MeanMs:0.00} ms mean (p50 {promClient.P50Ms:0.00}, p99 {promClient.P99Ms:0.00}) / ≈{promClient.HeapDeltaBytesPerScrape / 1048576.0:0.0} MiB heap"
                    : "prom-client: text format only";
                var ratio = format == "text 0.0.4" ? (ours.MeanNs / 1e6 / promClient.MeanMs).ToString("0.000", CultureInfo.InvariantCulture) : "—";
                Row($"b. exposition of 1000 × 10, {format}: time / allocated per scrape", "< 5 ms",
                    $"{ours.MeanNs / 1e6:0.00} ms / {ours.Bytes} B", peer, ratio, ours.MeanNs / 1e6 < 5);
            }
        }

        if (load is not null)
        {
            Row($"c. JSON events over HTTP ({load.EventsPerRequest} per POST, {load.Connections} connections)", "≥ 200,000 events/s",
                $"{load.Events.PerSecond:N0} events/s ({load.Events.ServerCores:0.00} cores used)",
                $"HTTP floor (read and discard) {load.EventsFloor.PerSecond:N0} events/s", $"{load.Events.PerSecond / load.EventsFloor.PerSecond:0.000}",
                load.Events.PerSecond >= 200_000 && load.Events.Failed == 0);
            foreach (var (how, rate) in new[] { ("cumulative", load.OtlpCumulative), ("delta", load.OtlpDelta) })
            {
                Row($"d. OTLP protobuf, {load.PointsPerRequest} {how} sum points per POST on existing series, {load.Connections} connections", "≥ 500,000 points/s",
                    $"{rate.PerSecond:N0} points/s ({rate.ServerCores:0.00} cores used)",
                    $"HTTP floor {load.OtlpFloor.PerSecond:N0} points/s", $"{rate.PerSecond / load.OtlpFloor.PerSecond:0.000}",
                    rate.PerSecond >= 500_000 && rate.Failed == 0);
            }

            var idle = load.Shipped?.IdleBytes ?? load.IdleBytes;
            var parts = load.Shipped is { IdleAnonBytes: > 0 } split
                ? $" = {Size(split.IdleAnonBytes)} anonymous (the pod's own) + {Size(split.IdleFileBytes)} file pages (the executable's, shared by every sidecar on the node)"
                : "";
            Row("e. VmRSS idle (5 s after ready)", "< 10 MB", Size(idle) + parts,
                load.Baseline is { } baselineIdle ? $"the same code as a trimmed ReadyToRun build: {Size(baselineIdle.IdleBytes)}" : "—",
                load.Baseline is { } b ? $"{(double)idle / b.IdleBytes:0.00}" : "—", idle < 10_000_000);
            if (load.WithoutGrpc is { } off)
            {
                Row("e. VmRSS idle with OTLP/gRPC turned off (`--grpc-listen=`): what serving gRPC costs", "(no target)",
                    $"{Size(off.IdleBytes)} = {Size(off.IdleAnonBytes)} anonymous + {Size(off.IdleFileBytes)} file pages",
                    $"gRPC served: {Size(idle)}", $"{(double)off.IdleBytes / idle:0.00}", null);
            }

            if (load.Shipped is { } shipped)
            {
                Row($"e. start → /readyz answers 200: median and slowest of {shipped.Runs} fresh processes", "< 50 ms",
                    $"p50 {shipped.P50Ms:0.0} ms, max {shipped.MaxMs:0.0} ms",
                    load.Baseline is { } r2r ? $"ReadyToRun build: p50 {r2r.P50Ms:0.0} ms, max {r2r.MaxMs:0.0} ms" : "—",
                    load.Baseline is { } r ? $"{shipped.P50Ms / r.P50Ms:0.00}" : "—", shipped.P50Ms < 50);
            }

            if (load.Steady is { } steady)
            {
                Row($"e. VmRSS holding {steady.Metrics} metrics, {steady.Series:N0} series, under steady OTLP ingest (every series updated each second, {steady.PointsPerSecond:N0} points/s) and a scrape a second: max sampled",
                    "< 40 MB", $"{Size(steady.MaxBytes)} (end {Size(steady.EndBytes)}, VmHWM {Size(steady.PeakBytes)})",
                    $"prom-client (Node {promClient.Node}) holding the same set, scraped once a second: {Size(load.PromClient.MaxBytes)}",
                    $"{(double)steady.MaxBytes / load.PromClient.MaxBytes:0.00}", steady.MaxBytes < 40_000_000);
            }

            Row($"e. stress: VmRSS holding {load.Set.Metrics} metrics, {load.Set.Series:N0} series, under OTLP ingest as fast as it goes ({load.Set.PointsPerSecond:N0} points/s): max sampled",
                "(no target)", $"{Size(load.Set.MaxBytes)} (end {Size(load.Set.EndBytes)}, VmHWM {Size(load.Set.PeakBytes)})",
                $"prom-client holding the set: {Size(load.PromClient.MaxBytes)}",
                $"{(double)load.Set.MaxBytes / load.PromClient.MaxBytes:0.00}", null);
        }

        if (lag is not null)
        {
            Row($"f. lag, POST /v1/events returns → Prometheus instant query sees it; push interval {lag.PushInterval}, {lag.Sidecar.Samples} samples",
                "p99 < 250 ms",
                $"p50 {lag.Sidecar.P50:0.0} ms, p99 {lag.Sidecar.P99:0.0} ms (p90 {lag.Sidecar.P90:0.0}, max {lag.Sidecar.Max:0.0}; {lag.Sidecar.TimedOut} not seen in 5 s)",
                $"remote write straight to the same Prometheus: p50 {lag.Direct.P50:0.0} ms, p99 {lag.Direct.P99:0.0} ms",
                $"p50 {lag.Sidecar.P50 / lag.Direct.P50:0.0}, p99 {lag.Sidecar.P99 / lag.Direct.P99:0.0}",
                lag.Sidecar.P99 < 250 && lag.Sidecar.TimedOut == 0);
        }

        if (scrape is not null)
        {
            var peer = scrape.Rows.First(r => r.Server.StartsWith("prometheus-net", StringComparison.Ordinal));
            foreach (var ours in scrape.Rows.Where(r => r.Server == "agent-metrics sidecar"))
            {
                Row($"g. scrape of 1000 × 10 over HTTP, end to end, one kept-alive connection, {(ours.Encoding == "gzip" ? "gzip (Prometheus asks for it)" : "uncompressed")}: p50 (CPU per scrape, bytes sent)",
                    "p50 < 3 ms", $"{ours.P50Ms:0.0} ms, p99 {ours.P99Ms:0.0} ms ({ours.CpuMsPerScrape:0.0} ms CPU, {ours.BytesOnWire / 1e6:0.00} MB)",
                    $"{peer.Server}: {peer.P50Ms:0.0} ms, p99 {peer.P99Ms:0.0} ms ({peer.CpuMsPerScrape:0.0} ms CPU, {peer.BytesOnWire / 1e6:0.00} MB, no gzip)",
                    $"{ours.P50Ms / peer.P50Ms:0.00}", ours.P50Ms < 3);
            }
        }

        return text.ToString();
    }

    /// <summary>Every server's scrapes, one row each: the table under "g." in bench/results/sidecar.md.</summary>
    public static string ScrapeTable(ScrapeFigures scrape)
    {
        var text = new StringBuilder();
        text.AppendLine("| server | Content-Encoding | p50 | p90 | p99 | CPU per scrape | bytes sent | bytes uncompressed |");
        text.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var r in scrape.Rows)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Server} | {r.Encoding} | {r.P50Ms:0.00} ms | {r.P90Ms:0.00} ms | {r.P99Ms:0.00} ms | {r.CpuMsPerScrape:0.00} ms | {r.BytesOnWire:N0} | {r.BytesUncompressed:N0} |");
        }

        return text.ToString();
    }

    private static string Size(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e6:0.0} MB ({bytes / 1048576.0:0.0} MiB)");

    private sealed record Measured(double MeanNs, long Bytes);

    private static Dictionary<string, Measured> ReadBenchmarks(string results)
    {
        var measured = new Dictionary<string, Measured>(StringComparer.Ordinal);
        if (!Directory.Exists(results))
        {
            return measured;
        }

        foreach (var file in Directory.GetFiles(results, "*-report-full.json"))
        {
            using var document = JsonDocument.Parse(File.ReadAllText(file));
            foreach (var benchmark in document.RootElement.GetProperty("Benchmarks").EnumerateArray())
            {
                measured[benchmark.GetProperty("Method").GetString()!] = new Measured(
                    benchmark.GetProperty("Statistics").GetProperty("Mean").GetDouble(),
                    benchmark.GetProperty("Memory").GetProperty("BytesAllocatedPerOperation").GetInt64());
            }
        }

        return measured;
    }
}
