using System.Diagnostics;
using System.Net;
using AgentMetrics.Api.Catalog;
using AgentMetrics.Testing;

namespace AgentMetrics.Sidecar.Bench;

/// <summary>One server's scrapes of the 1000 × 10 set, end to end over HTTP.</summary>
internal sealed record Scrape(string Server, string Encoding, int Scrapes, double P50Ms, double P90Ms, double P99Ms, double CpuMsPerScrape, long BytesOnWire, long BytesUncompressed);

/// <summary>What the scrape run measured: the sidecar asked for identity and for gzip, and each peer.</summary>
internal sealed record ScrapeFigures(int Warmup, int Scrapes, IReadOnlyList<Scrape> Rows);

/// <summary>
/// Scrapes as Prometheus makes them: one kept-alive connection, Prometheus' own Accept and
/// Accept-Encoding headers, the body read to its last byte and not decoded (decoding is the scraper's
/// cost, not the server's). The server is pinned to core 0 and this process runs on core 1; each server
/// holds the bench's 1000 × 10 set. The time is from the request's first byte to the response's last;
/// the server's CPU per scrape is its CPU time over the measured scrapes.
/// </summary>
internal static class ScrapeRun
{
    public static async Task<ScrapeFigures> RunAsync(int warmup, int scrapes)
    {
        var rows = new List<Scrape>();
        // Like for like: the peers' series carry two labels, so the sidecar's carry no identity labels here
        // (series and service_name are left). Then the shape it has in a pod, with its four identity labels.
        foreach (var identity in new[] { false, true })
        {
            var (sidecar, sidecarUrl) = await SidecarWithSetAsync(identity);
            await using (sidecar)
            {
                var name = identity ? "agent-metrics sidecar, with its identity labels" : "agent-metrics sidecar";
                if (!identity)
                {
                    rows.Add(await MeasureAsync(name, sidecar, sidecarUrl, gzip: false, warmup, scrapes));
                }

                rows.Add(await MeasureAsync(name, sidecar, sidecarUrl, gzip: true, warmup, scrapes));
                if (identity)
                {
                    rows.Add(await MeasureAsync(name, sidecar, sidecarUrl, gzip: false, warmup, scrapes));
                }
            }
        }

        foreach (var peer in new[] { "prometheus-net", "opentelemetry" })
        {
            var port = LoopbackPorts.Next();
            var url = new Uri($"http://127.0.0.1:{port}/metrics");
            await using var server = await PinnedProcess.StartAsync(
                peer, ["dotnet", PeersAssembly(), peer, $"{port}"], url, new Dictionary<string, string> { ["DOTNET_gcServer"] = "0" });
            rows.Add(await MeasureAsync(peer == "prometheus-net" ? "prometheus-net 8.2.1 KestrelMetricServer" : "OpenTelemetry .NET SDK 1.20 Prometheus exporter (HttpListener)", server, url, gzip: true, warmup, scrapes));
        }

        {
            var port = LoopbackPorts.Next();
            var url = new Uri($"http://127.0.0.1:{port}/metrics");
            await using var server = await PinnedProcess.StartAsync(
                "prom-client-serve", ["node", RepoPaths.Combine("tests", "peers", "js", "prom-client-serve.mjs"), "--port", $"{port}"], url);
            rows.Add(await MeasureAsync("prom-client 15.1.3 (Node)", server, url, gzip: true, warmup, scrapes));
        }

        return new ScrapeFigures(warmup, scrapes, rows);
    }

    private static async Task<Scrape> MeasureAsync(string name, PinnedProcess server, Uri url, bool gzip, int warmup, int scrapes)
    {
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1, AutomaticDecompression = DecompressionMethods.None, UseProxy = false })
        {
            Timeout = TimeSpan.FromSeconds(30),
        };
        var buffer = new byte[1 << 16];
        var times = new double[scrapes];
        long wire = 0;
        string encoding = "identity";
        double cpu = 0;
        for (var n = -warmup; n < scrapes; n++)
        {
            if (n == 0)
            {
                cpu = server.CpuSeconds();
            }

            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.TryAddWithoutValidation("Accept", PrometheusServer.ScrapeAccept);
            if (gzip)
            {
                request.Headers.TryAddWithoutValidation("Accept-Encoding", "gzip");
            }

            var clock = Stopwatch.StartNew();
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            response.EnsureSuccessStatusCode();
            await using var body = await response.Content.ReadAsStreamAsync();
            long bytes = 0;
            for (int read; (read = await body.ReadAsync(buffer)) > 0;)
            {
                bytes += read;
            }

            clock.Stop();
            if (n >= 0)
            {
                times[n] = clock.Elapsed.TotalMilliseconds;
                wire = bytes;
                encoding = response.Content.Headers.ContentEncoding.FirstOrDefault() ?? "identity";
            }
        }

        var cpuMs = (server.CpuSeconds() - cpu) * 1000 / scrapes;
        var uncompressed = await UncompressedBytesAsync(url);
        Array.Sort(times);
        var row = new Scrape(name, encoding, scrapes, Quantile(times, 0.5), Quantile(times, 0.9), Quantile(times, 0.99), cpuMs, wire, uncompressed);
        Console.WriteLine($"scrape: {row}");
        return row;
    }

    /// <summary>One scrape with Prometheus' headers (OpenMetrics first, gzip accepted), the body read and dropped.</summary>
    public static async Task AsPrometheusAsync(HttpClient http, Uri url)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.TryAddWithoutValidation("Accept", PrometheusServer.ScrapeAccept);
        request.Headers.TryAddWithoutValidation("Accept-Encoding", "gzip");
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        _ = await response.Content.ReadAsByteArrayAsync();
    }

    private static async Task<long> UncompressedBytesAsync(Uri url)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.TryAddWithoutValidation("Accept", PrometheusServer.ScrapeAccept);
        using var response = await http.SendAsync(request);
        return (await response.Content.ReadAsByteArrayAsync()).LongLength;
    }

    private static double Quantile(double[] sorted, double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];

    /// <summary>The published sidecar holding 1000 metrics (its built-in ones included) × 10 series, sent once over OTLP.</summary>
    private static async Task<(PinnedProcess Server, Uri Url)> SidecarWithSetAsync(bool identity)
    {
        var ingest = LoopbackPorts.Next();
        var metrics = LoopbackPorts.Next();
        var server = await PinnedProcess.SidecarAsync(ingest, metrics, identity);
        var otlpMetrics = 1000 - BuiltInMetrics.All.Count;
        const int Chunk = 50;
        using var http = new HttpClient();
        for (var first = 0; first < otlpMetrics; first += Chunk)
        {
            using var content = new ByteArrayContent(Bodies.Set("set", first, Math.Min(Chunk, otlpMetrics - first), 1));
            content.Headers.ContentType = new("application/x-protobuf");
            using var response = await http.PostAsync(new Uri($"http://127.0.0.1:{ingest}/v1/metrics"), content);
            response.EnsureSuccessStatusCode();
        }

        return (server, new Uri($"http://127.0.0.1:{metrics}/metrics"));
    }

    /// <summary>The peers' program, built beside this one (the bench project references it without linking it).</summary>
    private static string PeersAssembly() => Path.Combine(
        Path.GetDirectoryName(typeof(ScrapeRun).Assembly.Location)!.Replace("AgentMetrics.Sidecar.Bench", "AgentMetrics.Exposition.Peers", StringComparison.Ordinal),
        "AgentMetrics.Exposition.Peers.dll");
}
