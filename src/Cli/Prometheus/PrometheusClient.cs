using System.Globalization;
using System.Text.Json.Nodes;

namespace AgentMetrics.Cli.Prometheus;

/// <summary>One sample of an instant query: its labels and value.</summary>
public sealed record InstantSample(IReadOnlyDictionary<string, string> Labels, double Value)
{
    /// <summary>A label's value, or "" when the sample has none (as PromQL treats a missing label).</summary>
    public string Label(string name) => Labels.TryGetValue(name, out var value) ? value : "";
}

/// <summary>One series of a range query: its labels and its points, oldest first.</summary>
public sealed record RangeSeries(IReadOnlyDictionary<string, string> Labels, IReadOnlyList<(DateTimeOffset Time, double Value)> Points)
{
    /// <summary>A label's value, or "" when the series has none.</summary>
    public string Label(string name) => Labels.TryGetValue(name, out var value) ? value : "";
}

/// <summary>
/// The Prometheus HTTP API's query endpoints (<c>/api/v1/query</c>, <c>/api/v1/query_range</c>), over a
/// <see cref="PrometheusConnection"/>. An error envelope, or no answer, throws <see cref="PrometheusException"/>.
/// </summary>
public sealed class PrometheusClient(PrometheusConnection connection) : IDisposable
{
    /// <summary>Where the queries go.</summary>
    public string Description => connection.Description;

    /// <summary>An instant query at <paramref name="time"/>: its vector (a scalar comes back as one sample without labels).</summary>
    public async Task<IReadOnlyList<InstantSample>> QueryAsync(string promql, DateTimeOffset time, CancellationToken cancellationToken = default)
    {
        var data = await DataAsync($"/api/v1/query?query={Uri.EscapeDataString(promql)}&time={Timestamp(time)}", promql, cancellationToken);
        var result = data["result"];
        return (string?)data["resultType"] switch
        {
            "vector" => [.. result!.AsArray().Select(s => new InstantSample(Labels(s!["metric"]), Value(s["value"]![1])))],
            "scalar" => [new InstantSample(new Dictionary<string, string>(), Value(result![1]))],
            var other => throw new PrometheusException($"query `{promql}` answered a {other}, not an instant vector", unreachable: false),
        };
    }

    /// <summary>A range query from <paramref name="start"/> to <paramref name="end"/>, a point every <paramref name="step"/>.</summary>
    public async Task<IReadOnlyList<RangeSeries>> QueryRangeAsync(
        string promql, DateTimeOffset start, DateTimeOffset end, TimeSpan step, CancellationToken cancellationToken = default)
    {
        var path = $"/api/v1/query_range?query={Uri.EscapeDataString(promql)}&start={Timestamp(start)}&end={Timestamp(end)}"
            + $"&step={step.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)}";
        var data = await DataAsync(path, promql, cancellationToken);
        return [.. data["result"]!.AsArray().Select(s => new RangeSeries(
            Labels(s!["metric"]),
            [.. s["values"]!.AsArray().Select(p => (DateTimeOffset.FromUnixTimeMilliseconds((long)(Seconds(p![0]) * 1000)), Value(p[1])))]))];
    }

    /// <inheritdoc />
    public void Dispose() => connection.Dispose();

    private async Task<JsonNode> DataAsync(string pathAndQuery, string promql, CancellationToken cancellationToken)
    {
        var envelope = await connection.GetAsync(pathAndQuery, cancellationToken);
        if ((string?)envelope["status"] != "success")
        {
            throw new PrometheusException(
                $"Prometheus at {connection.Description} refused the query `{promql}`: {(string?)envelope["errorType"]}: {(string?)envelope["error"]}", unreachable: false);
        }

        return envelope["data"] ?? throw new PrometheusException($"Prometheus answered `{promql}` without data", unreachable: false);
    }

    private static Dictionary<string, string> Labels(JsonNode? metric) =>
        metric is JsonObject labels ? labels.ToDictionary(l => l.Key, l => (string?)l.Value ?? "", StringComparer.Ordinal) : [];

    /// <summary>A sample value as the API writes it: a string, with NaN and ±Inf spelled as Go spells them.</summary>
    private static double Value(JsonNode? node) => (string?)node switch
    {
        "NaN" => double.NaN,
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        var text => double.Parse(text!, NumberStyles.Float, CultureInfo.InvariantCulture),
    };

    private static double Seconds(JsonNode? node) => node!.GetValue<double>();

    private static string Timestamp(DateTimeOffset time) =>
        (time.ToUnixTimeMilliseconds() / 1000.0).ToString("0.###", CultureInfo.InvariantCulture);
}
