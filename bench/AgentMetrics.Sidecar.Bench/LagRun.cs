using System.Diagnostics;
using System.Text;
using System.Text.Json;
using AgentMetrics.Api.Catalog;
using AgentMetrics.Sidecar.Delivery;
using AgentMetrics.Sidecar.Metrics;
using AgentMetrics.Testing;

namespace AgentMetrics.Sidecar.Bench;

/// <summary>Lag percentiles, in milliseconds.</summary>
internal sealed record Lag(int Samples, double P50, double P90, double P99, double Max, int TimedOut);

/// <summary>What the lag run measured; <paramref name="PushInterval"/> describes the delivery (push interval, or scrape interval).</summary>
internal sealed record LagFigures(string PushInterval, Lag Sidecar, Lag Direct, double QueryMs, string Mode = "push");

/// <summary>
/// End-to-end lag against a real Prometheus, in push mode or with Prometheus scraping every second:
/// from POST /v1/events returning to the value answering an instant query, each event sent 0–100 ms
/// (at random) after the previous was seen.
/// The peer, interleaved sample by sample: the same kind of gauge
/// remote-written straight to the same Prometheus by this process, which is the part of the lag
/// Prometheus and the polling account for.
/// </summary>
internal static class LagRun
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    public static async Task<LagFigures> RunAsync(int samples, string mode = "push")
    {
        var scrape = mode == "scrape";
        var started = await StartAsync(scrape);
        await using var prometheus = started.Prometheus;
        await using var sidecar = started.Sidecar;
        var events = started.Events;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

        var direct = new DirectWriter(http, prometheus.RemoteWriteUrl);
        var ours = new List<double>();
        var theirs = new List<double>();
        int oursTimedOut = 0, theirsTimedOut = 0;
        var queries = 0L;
        var queryTime = Stopwatch.StartNew();
        var total = samples + 20;
        var jitter = new Random(20261121);
        for (var i = 1; i <= total; i++)
        {
            // Events arrive at random moments of the push cycle, as an agent's do; back to back, each
            // POST would land just after the flush that made the previous one visible, always the worst case.
            await Task.Delay(jitter.Next(0, 100));

            // The first 20 of each warm up connections and code paths and are not counted.
            var value = 1_000_000 + i;
            using (var response = await http.PostAsync(events, new StringContent($$"""{"type":"gauge","queue_depth":{{value}}}""", Encoding.UTF8, "application/json")))
            {
                response.EnsureSuccessStatusCode();
            }

            var (lag, polls) = await VisibleAsync(http, prometheus.Url, $"agent_queue_depth == {value}");
            queries += polls;
            Record(i > 20, lag, ours, ref oursTimedOut);

            await direct.WriteAsync(value);
            (lag, polls) = await VisibleAsync(http, prometheus.Url, $"bench_direct_gauge == {value}");
            queries += polls;
            Record(i > 20, lag, theirs, ref theirsTimedOut);
            if (i % 100 == 0)
            {
                Console.WriteLine($"lag: {i}/{total} samples");
            }
        }

        var queryMs = queryTime.Elapsed.TotalMilliseconds / queries;
        return new LagFigures(
            scrape ? "scraped every 1s" : "100ms (default)", Summarize(ours, oursTimedOut), Summarize(theirs, theirsTimedOut), queryMs, mode);
    }

    /// <summary>A real Prometheus and the sidecar, pushing to it or scraped by it every second; and where the sidecar takes events.</summary>
    internal static async Task<(PrometheusServer Prometheus, PinnedProcess Sidecar, Uri Events)> StartAsync(bool scrape)
    {
        var ingest = LoopbackPorts.Next();
        var metrics = LoopbackPorts.Next();
        var prometheus = await PrometheusServer.StartAsync(scrape
            ? $"global: {{scrape_interval: 1s}}\nscrape_configs:\n- job_name: sidecar\n  honor_labels: true\n  static_configs: [{{targets: [\"127.0.0.1:{metrics}\"]}}]\n"
            : "global: {scrape_interval: 1m}\n");
        var sidecar = scrape
            ? await PinnedProcess.SidecarAsync(ingest, metrics)
            : await PinnedProcess.SidecarAsync(ingest, metrics, "--mode=push", $"--remote-write-url={prometheus.RemoteWriteUrl}");
        return (prometheus, sidecar, new Uri($"http://127.0.0.1:{ingest}/v1/events"));
    }

    private static void Record(bool counted, double? lag, List<double> into, ref int timedOut)
    {
        if (!counted)
        {
            return;
        }

        if (lag is { } ms)
        {
            into.Add(ms);
        }
        else
        {
            timedOut++;
        }
    }

    /// <summary>Polls the instant query back to back until it has a result; the lag in ms (null after the timeout) and the number of queries.</summary>
    private static async Task<(double? Lag, int Polls)> VisibleAsync(HttpClient http, Uri prometheus, string promql)
    {
        var url = new Uri(prometheus, $"/api/v1/query?query={Uri.EscapeDataString(promql)}");
        var clock = Stopwatch.StartNew();
        var polls = 0;
        while (clock.Elapsed < Timeout)
        {
            polls++;
            using var document = JsonDocument.Parse(await http.GetStringAsync(url));
            if (document.RootElement.GetProperty("data").GetProperty("result").GetArrayLength() > 0)
            {
                return (clock.Elapsed.TotalMilliseconds, polls);
            }
        }

        return (null, polls);
    }

    internal static Lag Summarize(List<double> lags, int timedOut)
    {
        double[] sorted = [.. lags.Order()];
        double At(double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
        return new Lag(sorted.Length, At(0.50), At(0.90), At(0.99), sorted.Length == 0 ? double.NaN : sorted[^1], timedOut);
    }

    /// <summary>Remote-writes one gauge sample at a time with the sidecar's own encoder, stamped now.</summary>
    private sealed class DirectWriter(HttpClient http, Uri url)
    {
        private readonly Series _series = new MetricRegistry([new("pod", "direct")])
            .GetOrDefine(new FamilySpec("bench_direct_gauge", MetricType.Gauge, "Direct.", null, [], [], 1, FamilyOrigin.Custom))!
            .GetOrAdd([])!;

        private readonly RemoteWriteEncoder _encoder = new(["pod", "direct"]);

        public async Task WriteAsync(double value)
        {
            _series.Set(value);
            _encoder.Reset();
            _encoder.Add(_series, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            var content = new ByteArrayContent(IronSnappy.Snappy.Encode(_encoder.Written));
            content.Headers.ContentType = new("application/x-protobuf");
            content.Headers.ContentEncoding.Add("snappy");
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = content };
            request.Headers.Add("X-Prometheus-Remote-Write-Version", "0.1.0");
            using var response = await http.SendAsync(request);
            response.EnsureSuccessStatusCode();
        }
    }
}

/// <summary>
/// The lag report: many events in flight, as a busy agent sends them. Each event sets the gauge to the
/// next number, 0–40 ms after the previous (at random); a poller queries Prometheus back to back, and an
/// event counts as visible at the first answer holding its number or a later one, because from then on a
/// query shows the state that event produced. Lag is from the event's POST returning to that answer.
/// </summary>
internal static class PipelinedLag
{
    public static async Task<Lag> RunAsync(int samples, string mode)
    {
        var scrape = mode == "scrape";
        var started = await LagRun.StartAsync(scrape);
        await using var prometheus = started.Prometheus;
        await using var sidecar = started.Sidecar;
        var events = started.Events;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var query = new Uri(prometheus.Url, $"/api/v1/query?query={Uri.EscapeDataString("max(agent_queue_depth)")}");

        const int Warmup = 20;
        var total = samples + Warmup;
        var returned = new double[total + 1];
        var visible = new double[total + 1];
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();
        var poller = Task.Run(async () =>
        {
            var seen = 0;
            while (!stop.IsCancellationRequested && seen < total)
            {
                using var document = JsonDocument.Parse(await http.GetStringAsync(query, stop.Token));
                var result = document.RootElement.GetProperty("data").GetProperty("result");
                if (result.GetArrayLength() == 0)
                {
                    continue;
                }

                var value = (int)double.Parse(result[0].GetProperty("value")[1].GetString()!, System.Globalization.CultureInfo.InvariantCulture);
                var now = clock.Elapsed.TotalMilliseconds;
                for (; seen < Math.Min(value, total); seen++)
                {
                    visible[seen + 1] = now;
                }
            }
        });

        var jitter = new Random(20261122);
        for (var i = 1; i <= total; i++)
        {
            await Task.Delay(jitter.Next(0, 40));
            using var response = await http.PostAsync(events, new StringContent($$"""{"type":"gauge","queue_depth":{{i}}}""", Encoding.UTF8, "application/json"));
            response.EnsureSuccessStatusCode();
            returned[i] = clock.Elapsed.TotalMilliseconds;
            if (i == Warmup)
            {
                // Counting starts once the pipeline is flowing: Prometheus's first scrape can come seconds after it starts.
                while (Volatile.Read(ref visible[Warmup]) == 0 && clock.Elapsed < TimeSpan.FromSeconds(30))
                {
                    await Task.Delay(5);
                }
            }
        }

        await Task.WhenAny(poller, Task.Delay(TimeSpan.FromSeconds(10)));
        await stop.CancelAsync();
        try
        {
            await poller;
        }
        catch (OperationCanceledException)
        {
        }

        var lags = new List<double>();
        var timedOut = 0;
        for (var i = Warmup + 1; i <= total; i++)
        {
            if (visible[i] == 0)
            {
                timedOut++;
            }
            else
            {
                lags.Add(Math.Max(0, visible[i] - returned[i]));
            }
        }

        return LagRun.Summarize(lags, timedOut);
    }
}
