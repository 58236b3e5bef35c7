using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace AgentMetrics.Dashboards.Bench;

/// <summary>What one query cost: wall time through the HTTP API per repetition, samples Prometheus read, and series answered.</summary>
/// <param name="Milliseconds">Each timed repetition's wall time.</param>
/// <param name="Samples">stats=all's totalQueryableSamples.</param>
/// <param name="Series">Series in the answer.</param>
/// <param name="Error">Prometheus' error, when it refused the query.</param>
public sealed record QueryCost(List<double> Milliseconds, long Samples, int Series, string? Error)
{
    /// <summary>The value at quantile <paramref name="q"/> of the wall times (nearest rank).</summary>
    public double Quantile(double q)
    {
        var sorted = Milliseconds.Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Count) - 1, 0, sorted.Count - 1)];
    }
}

/// <summary>Runs a query through Prometheus' HTTP API as Grafana does: a range query at the panel's step over the hour, or an instant query at its end.</summary>
public sealed class QueryTimer(Uri prometheus, DateTimeOffset end) : IDisposable
{
    /// <summary>A query that takes longer than this on its untimed first run is timed fewer times, to bound the run.</summary>
    private static readonly TimeSpan Slow = TimeSpan.FromSeconds(3);

    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromMinutes(5) };

    /// <summary>One untimed run (which also reads the samples and series), then <paramref name="repetitions"/> timed ones (3 when the first took over 3 s).</summary>
    public async Task<QueryCost> MeasureAsync(string expr, TimeSpan? step, int repetitions)
    {
        var first = Stopwatch.StartNew();
        // Prometheus answers a refused query with a 4xx and its error in the same JSON shape.
        using var answer = await _http.GetAsync(Url(expr, step, stats: true));
        using var document = JsonDocument.Parse(await answer.Content.ReadAsStringAsync());
        first.Stop();
        var root = document.RootElement;
        if (root.GetProperty("status").GetString() != "success")
        {
            return new QueryCost([], 0, 0, root.GetProperty("error").GetString());
        }

        var data = root.GetProperty("data");
        var samples = data.GetProperty("stats").GetProperty("samples").GetProperty("totalQueryableSamples").GetInt64();
        var series = data.GetProperty("result").ValueKind == JsonValueKind.Array ? data.GetProperty("result").GetArrayLength() : 1;
        var times = new List<double>();
        var runs = first.Elapsed > Slow ? Math.Min(3, repetitions) : repetitions;
        for (var i = 0; i < runs; i++)
        {
            var clock = Stopwatch.StartNew();
            using var response = await _http.GetAsync(Url(expr, step, stats: false), HttpCompletionOption.ResponseContentRead);
            await response.Content.ReadAsByteArrayAsync();
            times.Add(clock.Elapsed.TotalMilliseconds);
        }

        return new QueryCost(times, samples, series, null);
    }

    private Uri Url(string expr, TimeSpan? step, bool stats)
    {
        var query = $"query={Uri.EscapeDataString(expr)}{(stats ? "&stats=all" : "")}";
        return step is { } s
            ? new Uri(prometheus, string.Create(CultureInfo.InvariantCulture,
                $"/api/v1/query_range?{query}&start={(end - DashboardQueries.Range).ToUnixTimeSeconds()}&end={end.ToUnixTimeSeconds()}&step={s.TotalSeconds}"))
            : new Uri(prometheus, string.Create(CultureInfo.InvariantCulture, $"/api/v1/query?{query}&time={end.ToUnixTimeSeconds()}"));
    }

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();
}
