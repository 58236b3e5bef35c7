using System.Diagnostics;
using System.Net.Http.Headers;
using AgentMetrics.Api.Catalog;
using AgentMetrics.Testing;

namespace AgentMetrics.Sidecar.Bench;

/// <summary>Items per second through one server under a fixed number of concurrent senders.</summary>
internal sealed record Rate(double PerSecond, long Items, long Requests, long Failed, double Seconds, double ServerCores);

/// <summary>Resident memory of a process holding the 1000 × 10 set, sampled while it works.</summary>
internal sealed record Memory(long StartBytes, long MaxBytes, long EndBytes, long PeakBytes, int Metrics, int Series, double PointsPerSecond);

/// <summary>What the load runs measured.</summary>
internal sealed record LoadFigures(
    int Connections,
    double Seconds,
    int EventsPerRequest,
    int PointsPerRequest,
    long IdleBytes,
    Rate Events,
    Rate EventsFloor,
    Rate OtlpCumulative,
    Rate OtlpDelta,
    Rate OtlpFloor,
    Memory Set,
    Memory PromClient,
    Memory? Steady = null,
    Startup? Shipped = null,
    Startup? Baseline = null,
    Startup? WithoutGrpc = null);

/// <summary>
/// Load against the real sidecar process, pinned to core 0 while this process sends from core 1:
/// JSON events, OTLP protobuf, and resident memory idle and holding 1000 metrics × 10 series.
/// </summary>
internal static class LoadRun
{
    private const int EventsPerRequest = 1000;
    private const int SumMetrics = 200;
    private const int SeriesPerMetric = 10;
    private const int Rounds = 32;
    private const int StartupRuns = 10;

    public static async Task<LoadFigures> RunAsync(int connections, TimeSpan measure)
    {
        var warmup = TimeSpan.FromSeconds(5);
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = connections }) { Timeout = TimeSpan.FromSeconds(30) };

        // The build as it ships, and the same code as a trimmed ReadyToRun build when hack/bench-sidecar.sh made one.
        var shipped = await StartupRun.RunAsync("shipped", SidecarProcess.Command(), StartupRuns);
        var withoutGrpc = await StartupRun.RunAsync("shipped, OTLP/gRPC off", SidecarProcess.Command(), 3, grpc: false);
        var baseline = Environment.GetEnvironmentVariable("AGENT_METRICS_SIDECAR_BASELINE") is { Length: > 0 } readyToRun
            ? await StartupRun.RunAsync("ReadyToRun", (readyToRun, []), StartupRuns)
            : null;

        long idle;
        Rate events;
        await using (var sidecar = await StartSidecarAsync())
        {
            await Task.Delay(TimeSpan.FromSeconds(5));
            idle = sidecar.Server.ResidentBytes();
            Console.WriteLine($"idle sidecar: VmRSS {idle / 1048576.0:0.0} MiB");
            var body = Bodies.Events(EventsPerRequest);
            events = await DriveAsync(http, sidecar.Server, new Uri(sidecar.Ingest, "/v1/events"), "application/json", (_, _) => body, EventsPerRequest, connections, warmup, measure);
            Console.WriteLine($"events: {events}");
        }

        var eventsBody = Bodies.Events(EventsPerRequest);
        var cumulative = Enumerable.Range(0, connections).Select(c => Enumerable.Range(1, Rounds).Select(r => Bodies.Sums($"conn-{c}", SumMetrics, SeriesPerMetric, r, delta: false)).ToArray()).ToArray();
        var delta = Enumerable.Range(0, connections).Select(c => Bodies.Sums($"conn-{c}", SumMetrics, SeriesPerMetric, 1, delta: true)).ToArray();
        var points = SumMetrics * SeriesPerMetric;

        Rate eventsFloor;
        Rate otlpFloor;
        await using (var floor = await StartFloorAsync())
        {
            eventsFloor = await DriveAsync(http, floor.Server, new Uri(floor.Ingest, "/v1/events"), "application/json", (_, _) => eventsBody, EventsPerRequest, connections, warmup, measure);
            Console.WriteLine($"events, HTTP floor: {eventsFloor}");
            otlpFloor = await DriveAsync(http, floor.Server, new Uri(floor.Ingest, "/v1/metrics"), "application/x-protobuf", (c, n) => cumulative[c][n % Rounds], points, connections, warmup, measure);
            Console.WriteLine($"OTLP, HTTP floor: {otlpFloor}");
        }

        Rate otlpCumulative;
        Rate otlpDelta;
        await using (var sidecar = await StartSidecarAsync())
        {
            otlpCumulative = await DriveAsync(http, sidecar.Server, new Uri(sidecar.Ingest, "/v1/metrics"), "application/x-protobuf", (c, n) => cumulative[c][n % Rounds], points, connections, warmup, measure);
            Console.WriteLine($"OTLP cumulative: {otlpCumulative}");
            otlpDelta = await DriveAsync(http, sidecar.Server, new Uri(sidecar.Ingest, "/v1/metrics"), "application/x-protobuf", (c, _) => delta[c], points, connections, warmup, measure);
            Console.WriteLine($"OTLP delta: {otlpDelta}");
        }

        var set = await SetMemoryAsync(http, measure, steady: false);
        var steady = await SetMemoryAsync(http, measure, steady: true);
        Console.WriteLine($"sidecar holding the set under steady ingest: {steady}");
        Console.WriteLine($"1000 x 10 set: {set}");
        var peer = await PromClientMemoryAsync(measure);
        Console.WriteLine($"prom-client holding the set: {peer}");
        return new LoadFigures(connections, measure.TotalSeconds, EventsPerRequest, points, idle, events, eventsFloor, otlpCumulative, otlpDelta, otlpFloor, set, peer, steady, shipped, baseline, withoutGrpc);
    }

    /// <summary>Idle and steady-ingest memory only, with VmRSS split into its parts: for finding where memory goes.</summary>
    public static async Task MemoryAsync(TimeSpan measure)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        await using (var sidecar = await StartSidecarAsync())
        {
            await Task.Delay(TimeSpan.FromSeconds(5));
            Console.WriteLine($"idle: {sidecar.Server.ResidentParts()}");
        }

        var steady = await SetMemoryAsync(http, measure, steady: true);
        Console.WriteLine($"steady: max VmRSS {steady.MaxBytes / 1048576.0:0.0} MiB, {steady.Series} series, {steady.PointsPerSecond:0} points/s");
    }

    /// <summary>
    /// The sidecar holding 1000 metrics (the default --max-metrics, its built-in ones included) × 10
    /// series, fed by OTLP and scraped once a second as Prometheus scrapes (gzip accepted), its VmRSS sampled. Steady: every series gets a new
    /// value once a second (10,000 points/s, an agent that changes everything it has every second);
    /// otherwise as fast as the sidecar takes it, the stress case.
    /// </summary>
    private static async Task<Memory> SetMemoryAsync(HttpClient http, TimeSpan measure, bool steady)
    {
        var otlpMetrics = 1000 - BuiltInMetrics.All.Count;
        const int Chunk = 50;
        var chunks = (otlpMetrics + Chunk - 1) / Chunk;
        var bodies = Enumerable.Range(1, 8).Select(round => Enumerable.Range(0, chunks)
            .Select(k => Bodies.Set("set", k * Chunk, Math.Min(Chunk, otlpMetrics - (k * Chunk)), round)).ToArray()).ToArray();

        await using var sidecar = await StartSidecarAsync();
        var url = new Uri(sidecar.Ingest, "/v1/metrics");
        var start = sidecar.Server.ResidentBytes();
        foreach (var body in bodies[0])
        {
            using var response = await PostAsync(http, url, body, "application/x-protobuf");
            response.EnsureSuccessStatusCode();
        }

        // Two senders, each its own half of the chunks, so every stream's cumulative values stay in order.
        var sent = 0L;
        using var stop = new CancellationTokenSource(measure);
        var senders = Enumerable.Range(0, 2).Select(c => Task.Run(async () =>
        {
            var round = Stopwatch.StartNew();
            for (var n = 1; !stop.IsCancellationRequested; n++)
            {
                for (var k = c; k < chunks && !stop.IsCancellationRequested; k += 2)
                {
                    using var response = await PostAsync(http, url, bodies[n % bodies.Length][k], "application/x-protobuf");
                    response.EnsureSuccessStatusCode();
                    Interlocked.Add(ref sent, Math.Min(Chunk, otlpMetrics - (k * Chunk)) * 10);
                }

                if (steady && TimeSpan.FromSeconds(n) - round.Elapsed is { Ticks: > 0 } rest && !stop.IsCancellationRequested)
                {
                    try
                    {
                        await Task.Delay(rest, stop.Token);
                    }
                    catch (OperationCanceledException)
                    {
                    }
                }
            }
        })).ToList();
        var max = 0L;
        var clock = Stopwatch.StartNew();
        var nextScrape = TimeSpan.Zero;
        while (!stop.IsCancellationRequested)
        {
            if (clock.Elapsed >= nextScrape)
            {
                await ScrapeRun.AsPrometheusAsync(http, new Uri(sidecar.Metrics, "/metrics"));
                nextScrape += TimeSpan.FromSeconds(1);
            }

            max = Math.Max(max, sidecar.Server.ResidentBytes());
            await Task.Delay(100);
        }

        await Task.WhenAll(senders);
        var seconds = clock.Elapsed.TotalSeconds;
        var end = sidecar.Server.ResidentBytes();
        var parts = sidecar.Server.ResidentParts();

        // Read plain, after the figures: a plain scrape holds the whole text, which a gzip scrape never does.
        var text = await http.GetStringAsync(new Uri(sidecar.Metrics, "/metrics"));
        Console.WriteLine($"{(steady ? "steady" : "stress")}: {parts}; managed heap after the last GC {Sample(text, "dotnet_gc_heap_size_bytes") / 1048576.0:0.0} MiB");
        return new Memory(start, Math.Max(max, end), end, sidecar.Server.PeakResidentBytes(),
            (int)Sample(text, "agent_metrics_sidecar_metrics{"), (int)Sample(text, "agent_metrics_sidecar_series{"), sent / seconds);
    }

    /// <summary>The peer: prom-client holding the same 1000 × 10 set (bench-set.mjs), scraped once a second.</summary>
    private static async Task<Memory> PromClientMemoryAsync(TimeSpan measure)
    {
        var port = LoopbackPorts.Next();
        var url = new Uri($"http://127.0.0.1:{port}/metrics");
        await using var peer = await PinnedProcess.StartAsync(
            "prom-client-serve", ["node", RepoPaths.Combine("tests", "peers", "js", "prom-client-serve.mjs"), "--port", $"{port}"], url);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        await Task.Delay(TimeSpan.FromSeconds(2));
        var start = peer.ResidentBytes();
        var max = start;
        var clock = Stopwatch.StartNew();
        var nextScrape = TimeSpan.Zero;
        while (clock.Elapsed < measure)
        {
            if (clock.Elapsed >= nextScrape)
            {
                await ScrapeRun.AsPrometheusAsync(http, url);
                nextScrape += TimeSpan.FromSeconds(1);
            }

            max = Math.Max(max, peer.ResidentBytes());
            await Task.Delay(100);
        }

        var end = peer.ResidentBytes();
        return new Memory(start, Math.Max(max, end), end, peer.PeakResidentBytes(), 1000, 10_000, 0);
    }

    /// <summary>Sends from <paramref name="connections"/> concurrent loops; counts what completes with 2xx inside the measured window.</summary>
    private static async Task<Rate> DriveAsync(
        HttpClient http, PinnedProcess server, Uri url, string contentType, Func<int, int, byte[]> body, int itemsPerRequest,
        int connections, TimeSpan warmup, TimeSpan measure)
    {
        var measuring = 0;
        long requests = 0;
        long failed = 0;
        using var stop = new CancellationTokenSource();
        var loops = Enumerable.Range(0, connections).Select(c => Task.Run(async () =>
        {
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                using var response = await PostAsync(http, url, body(c, n), contentType);
                if (Volatile.Read(ref measuring) == 1)
                {
                    if (response.IsSuccessStatusCode && await Accepted(response))
                    {
                        Interlocked.Increment(ref requests);
                    }
                    else
                    {
                        Interlocked.Increment(ref failed);
                    }
                }
            }
        })).ToList();

        await Task.Delay(warmup);
        var cpu = server.CpuSeconds();
        var clock = Stopwatch.StartNew();
        Volatile.Write(ref measuring, 1);
        await Task.Delay(measure);
        Volatile.Write(ref measuring, 0);
        var seconds = clock.Elapsed.TotalSeconds;
        var cores = (server.CpuSeconds() - cpu) / seconds;
        await stop.CancelAsync();
        await Task.WhenAll(loops);
        return new Rate(requests * itemsPerRequest / seconds, requests * itemsPerRequest, requests, failed, seconds, cores);
    }

    /// <summary>A 2xx that dropped nothing: OTLP answers partial_success in the body when it rejected points.</summary>
    private static async Task<bool> Accepted(HttpResponseMessage response) =>
        response.Content.Headers.ContentType?.MediaType != "application/x-protobuf" || (await response.Content.ReadAsByteArrayAsync()).Length == 0;

    private static async Task<HttpResponseMessage> PostAsync(HttpClient http, Uri url, byte[] body, string contentType)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        return await http.PostAsync(url, content);
    }

    private static double Sample(string exposition, string prefix)
    {
        foreach (var line in exposition.Split('\n'))
        {
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                return double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return double.NaN;
    }

    private static async Task<Target> StartSidecarAsync()
    {
        var ingest = LoopbackPorts.Next();
        var metrics = LoopbackPorts.Next();
        return new Target(await PinnedProcess.SidecarAsync(ingest, metrics), new Uri($"http://127.0.0.1:{ingest}"), new Uri($"http://127.0.0.1:{metrics}"));
    }

    private static async Task<Target> StartFloorAsync()
    {
        var port = LoopbackPorts.Next();
        var url = new Uri($"http://127.0.0.1:{port}");
        var server = await PinnedProcess.StartAsync(
            "http-floor", ["dotnet", typeof(LoadRun).Assembly.Location, "floor", $"{port}"], new Uri(url, "/readyz"),
            new Dictionary<string, string> { ["DOTNET_gcServer"] = "0" });
        return new Target(server, url, url);
    }

    private sealed record Target(PinnedProcess Server, Uri Ingest, Uri Metrics) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Server.DisposeAsync();
    }
}
