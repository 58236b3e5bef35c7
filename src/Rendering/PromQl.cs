using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using AgentMetrics.Api.Catalog;

namespace AgentMetrics.Rendering;

/// <summary>Builds the PromQL of each statistic, for one agent at a time or for a whole namespace.</summary>
public static class PromQl
{
    /// <summary>Group by agent (each agent its own series).</summary>
    public const string PerAgent = "namespace, agent";

    /// <summary>Group by namespace (the fleet of a namespace).</summary>
    public const string PerNamespace = "namespace";

    /// <summary>The ratio statistics: the task outcome each counts.</summary>
    public static readonly IReadOnlyDictionary<string, string> RatioOutcomes = new Dictionary<string, string>
    {
        ["errorRate"] = "failure",
        ["completionRate"] = "success",
        ["timeoutRate"] = "timeout",
        ["escalationRate"] = "escalated",
    };

    /// <summary>The expression of <paramref name="statistic"/> of a metric of <paramref name="type"/>.</summary>
    public static string Statistic(string metric, MetricType type, string statistic, string selector, string window, string by)
    {
        var bare = BareName(metric, type);
        string Rate(string series, string extra = "") =>
            $"sum by ({by}) (rate({series}{Selector(selector, extra)}[{window}]))";
        return (statistic, type) switch
        {
            ("p50" or "p90" or "p99", MetricType.Histogram) =>
                $"histogram_quantile({Quantile(statistic)}, sum by ({by}, le) (rate({bare}_bucket{Selector(selector)}[{window}])))",
            ("average", MetricType.Histogram) => $"{Rate($"{bare}_sum")} / {Rate($"{bare}_count")}",
            ("average", MetricType.Gauge) => $"avg by ({by}) (avg_over_time({bare}{Selector(selector)}[{window}]))",
            ("rate", MetricType.Counter) => Rate($"{bare}_total"),
            ("rate", MetricType.Histogram) => Rate($"{bare}_count"),
            ("value", MetricType.Gauge) => $"max by ({by}) ({bare}{Selector(selector)})",
            // "or … * 0" makes an outcome that never happened count as 0 rather than leave the ratio empty,
            // so an agent whose every task fails still has a completion rate, of 0.
            (_, MetricType.Counter) when RatioOutcomes.TryGetValue(statistic, out var outcome) =>
                $"({Rate($"{bare}_total", $"outcome=\"{outcome}\"")} or {Rate($"{bare}_total")} * 0) / {Rate($"{bare}_total")}",
            _ => throw new ArgumentException($"{statistic} does not apply to a {type.ToString().ToLowerInvariant()}", nameof(statistic)),
        };
    }

    /// <summary>A metric's name without the <c>_total</c> a counter's series carry.</summary>
    public static string BareName(string metric, MetricType type) =>
        type == MetricType.Counter && metric.EndsWith("_total", StringComparison.Ordinal) ? metric[..^6] : metric;

    /// <summary>
    /// The name of the recording rule of <paramref name="statistic"/> over <paramref name="window"/>, in
    /// Prometheus' level:metric:operations form. A value is the latest sample, whatever the window, so its
    /// name carries none (<c>namespace_agent:agent_queue_depth:max</c>, not <c>max_5m</c>).
    /// </summary>
    public static string RecordName(string level, string metric, string statistic, string window) =>
        statistic == "value" ? $"{level}:{metric}:{Token(statistic)}" : $"{level}:{metric}:{Token(statistic)}_{window}";

    /// <summary>The token a recording rule's name uses for a statistic.</summary>
    public static string Token(string statistic) => statistic switch
    {
        "average" => "avg",
        "value" => "max",
        "errorRate" => "error_ratio",
        "completionRate" => "completion_ratio",
        "timeoutRate" => "timeout_ratio",
        "escalationRate" => "escalation_ratio",
        _ => statistic,
    };

    /// <summary>A label matcher for the namespace, and for some agents when named.</summary>
    public static string Scope(string? @namespace, IReadOnlyList<string>? agents)
    {
        var parts = new List<string>();
        if (@namespace is not null)
        {
            parts.Add($"namespace={String(@namespace)}");
        }

        if (agents is { Count: > 0 })
        {
            parts.Add($"agent=~{String(string.Join('|', agents.Select(Regex.Escape)))}");
        }

        return string.Join(", ", parts);
    }

    /// <summary>A PromQL double-quoted string literal.</summary>
    public static string String(string text)
    {
        var quoted = new StringBuilder("\"");
        foreach (var c in text)
        {
            quoted.Append(c switch
            {
                '\\' => "\\\\",
                '"' => "\\\"",
                '\n' => "\\n",
                _ => c.ToString(),
            });
        }

        return quoted.Append('"').ToString();
    }

    /// <summary>A number as PromQL writes it.</summary>
    public static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string Selector(string selector, string extra = "")
    {
        var all = string.Join(", ", new[] { selector, extra }.Where(s => s.Length > 0));
        return all.Length == 0 ? "" : $"{{{all}}}";
    }

    /// <summary>
    /// The share of a histogram's observations at or below one of its bucket bounds, over the window:
    /// the bucket of that bound against the count. The bound is written as the sidecar writes <c>le</c>.
    /// </summary>
    public static string FractionAtOrBelow(string bare, string selector, double bound, string window, string by) =>
        $"sum by ({by}) (rate({bare}_bucket{Selector(selector, $"le={String(Number(bound))}")}[{window}])) / sum by ({by}) (rate({bare}_count{Selector(selector)}[{window}]))";

    /// <summary>The quantile of a percentile statistic (p99 is 0.99).</summary>
    public static string Quantile(string statistic) => statistic switch
    {
        "p50" => "0.5",
        "p90" => "0.9",
        _ => "0.99",
    };
}
