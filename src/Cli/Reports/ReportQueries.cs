using System.Globalization;
using AgentMetrics.Cli.Prometheus;
using AgentMetrics.Rendering;

namespace AgentMetrics.Cli.Reports;

/// <summary>One sample of an instant query's vector: its labels and its value (null when Prometheus answers NaN or an infinity).</summary>
public sealed record VectorSample(IReadOnlyDictionary<string, string> Labels, double? Value)
{
    /// <summary>The value of <paramref name="name"/>, or "" when the sample has no such label.</summary>
    public string Label(string name) => Labels.TryGetValue(name, out var value) ? value : "";
}

/// <summary>Who a row is: a namespace (agent and version empty), an agent (version empty) or an agent version.</summary>
public sealed record RowKey(string Namespace, string Agent, string Version);

/// <summary>
/// The report's queries: sums over a period of the operator's hourly recorded increases
/// (<see cref="HourlyRules"/>), never the raw series, so a 90-day period reads 2160 samples a series.
/// Percentiles are taken from the period's summed buckets, so they are the period's, not an average of
/// hourly ones. A period's edges are resolved to the hour: a sample counts where its evaluation time falls,
/// and covers the hour before it.
/// </summary>
public sealed class ReportQueries(PrometheusClient client, ReportRequest request)
{
    /// <summary>
    /// Each row's figures over the period of <see cref="ReportRequest.Since"/> ending <paramref name="shift"/> before
    /// the report's end: per agent (or agent version), and per namespace.
    /// </summary>
    public async Task<Dictionary<RowKey, Figures>> FiguresAsync(TimeSpan shift, CancellationToken cancellationToken)
    {
        var by = request.ByVersion ? HourlyRules.PerVersion : "namespace, agent";
        var rows = new Dictionary<RowKey, Figures>();
        Figures Row(RowKey key) => rows.TryGetValue(key, out var figures) ? figures : rows[key] = new Figures();
        RowKey Key(VectorSample s) => new(s.Label("namespace"), s.Label("agent"), request.ByVersion ? s.Label("agent_version") : "");

        foreach (var sample in await QueryAsync($"sum by ({by}, outcome) ({Summed(HourlyRules.Tasks, shift)})", cancellationToken))
        {
            var figures = Row(Key(sample));
            var count = sample.Value ?? 0;
            figures.Tasks += count;
            if (sample.Label("outcome") == "success")
            {
                figures.Succeeded += count;
            }
            else if (sample.Label("outcome") == "failure")
            {
                figures.Failed += count;
            }
        }

        var sums = new (HourlySeries Series, Action<Figures, double> Add)[]
        {
            (HourlyRules.CostSum, (f, v) => f.CostSum += v),
            (HourlyRules.CostCount, (f, v) => f.CostCount += v),
            (HourlyRules.Tokens, (f, v) => f.Tokens += v),
            (HourlyRules.Escalations, (f, v) => f.Escalations += v),
            (HourlyRules.Handoffs, (f, v) => f.Handoffs += v),
        };
        foreach (var (series, add) in sums)
        {
            foreach (var sample in await QueryAsync($"sum by ({by}) ({Summed(series, shift)})", cancellationToken))
            {
                add(Row(Key(sample)), sample.Value ?? 0);
            }
        }

        // A namespace's counts are its agents' sums; its percentiles come from its own summed buckets.
        foreach (var (key, figures) in rows.ToList())
        {
            Row(key with { Agent = "", Version = "" }).AddCounts(figures);
        }

        foreach (var (quantile, set) in new (string, Action<Figures, double?>)[] { ("0.5", (f, v) => f.P50 = v), ("0.99", (f, v) => f.P99 = v) })
        {
            foreach (var level in new[] { by, "namespace" })
            {
                var promql = $"histogram_quantile({quantile}, sum by ({level}, le) ({Summed(HourlyRules.DurationBuckets, shift)}))";
                foreach (var sample in await QueryAsync(promql, cancellationToken))
                {
                    var key = Key(sample);
                    set(Row(level == "namespace" ? key with { Agent = "", Version = "" } : key), sample.Value);
                }
            }
        }

        return rows;
    }

    /// <summary>
    /// The sum over the period of one hourly series, per series. The range is a second short of the period,
    /// so an hourly sample landing exactly on the boundary of two periods counts in one of them, not both
    /// (Prometheus before 3.0 includes both ends of a range).
    /// </summary>
    public string Summed(HourlySeries series, TimeSpan shift)
    {
        var range = Seconds(request.Since - TimeSpan.FromSeconds(1));
        var offset = shift > TimeSpan.Zero ? $" offset {Seconds(shift)}" : "";
        return $"sum_over_time({series.Record}{Selector()}[{range}]{offset})";
    }

    private string Selector()
    {
        var matchers = new List<string>();
        if (request.Namespace is { } @namespace)
        {
            matchers.Add($"namespace={PromQl.String(@namespace)}");
        }

        if (request.Agent is { } agent)
        {
            matchers.Add($"agent={PromQl.String(agent)}");
        }

        return matchers.Count == 0 ? "" : $"{{{string.Join(", ", matchers)}}}";
    }

    private static string Seconds(TimeSpan span) => ((long)span.TotalSeconds).ToString(CultureInfo.InvariantCulture) + "s";

    private async Task<IReadOnlyList<VectorSample>> QueryAsync(string promql, CancellationToken cancellationToken) =>
        [.. (await client.QueryAsync(promql, request.At, cancellationToken)).Select(s => new VectorSample(s.Labels, double.IsFinite(s.Value) ? s.Value : null))];
}
