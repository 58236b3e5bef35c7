using AgentMetrics.Api.Catalog;
using AgentMetrics.Rendering;

namespace AgentMetrics.Cli.Commands;

/// <summary>
/// A figure <c>top</c> shows per agent: its --sort key, its heading, which end is worst (shown first), the
/// PromQL of its per-agent value for a selector, and how a value is written.
/// </summary>
internal sealed record TopColumn(string Key, string Heading, int Width, bool HighestFirst, Func<string, string> Query, Func<double, string> Format)
{
    /// <summary>The window of every per-agent rate: that of the fleet totals the fleet overview's "now" panels read, so rows add up to them.</summary>
    public const string Window = RuleRenderer.NowWindow;

    /// <summary>A fleet outlier score beyond this is highlighted, as the fleet overview draws outliers thick and red beyond it.</summary>
    public const double OutlierScore = RuleRenderer.FleetOutlierLimit;

    /// <summary>The columns, in the order they are shown.</summary>
    public static readonly IReadOnlyList<TopColumn> All =
    [
        new("pods", "PODS", 4, true, s => $"count by ({PromQl.PerAgent}) ({Pods}{{{s}}})", TopFormat.Count),
        new("tasks", "TASKS/S", 8, true, s => Statistic(BuiltInMetrics.Tasks, "rate", s), TopFormat.Rate),
        new("p50", "P50", 7, true, s => Statistic(BuiltInMetrics.TaskDuration, "p50", s), TopFormat.Seconds),
        new("p99", "P99", 7, true, s => Statistic(BuiltInMetrics.TaskDuration, "p99", s), TopFormat.Seconds),
        new("errors", "ERRORS", 7, true, s => Statistic(BuiltInMetrics.Tasks, "errorRate", s), TopFormat.Percent),
        new("completion", "DONE", 7, false, s => Statistic(BuiltInMetrics.Tasks, "completionRate", s), TopFormat.Percent),
        new("cost", "$/TASK", 9, true, s => Statistic(BuiltInMetrics.TaskCost, "average", s), TopFormat.Dollars),
        new("tokens", "TOKENS/S", 8, true, s => Statistic(BuiltInMetrics.TaskTokens, "rate", s), TopFormat.Rate),
        new("outlier", "OUTLIER", 13, true, LargestScore, TopFormat.Score),
    ];

    /// <summary>The series every sidecar reports, with the identity labels: an agent is listed as long as one of its pods reports.</summary>
    public const string Pods = "agent_metrics_sidecar_series";

    /// <summary>The --sort keys.</summary>
    public static IEnumerable<string> Keys => All.Select(c => c.Key);

    /// <summary>
    /// The recorded fleet outlier scores (robust z-scores against the agent's namespace) the fleet overview
    /// highlights, all of them: one series per scored statistic and agent, told apart by their names.
    /// </summary>
    public static string Scores(string selector) => $"{{__name__=~\"namespace_agent:.+:fleet_zscore\", {selector}}}";

    /// <summary>The short name of the statistic a fleet_zscore series scores (p99, errors, cost).</summary>
    public static string ScoredStatistic(string series) => series switch
    {
        _ when series.Contains(":agent_task_duration_seconds:", StringComparison.Ordinal) => "p99",
        _ when series.Contains(":agent_tasks:error_ratio", StringComparison.Ordinal) => "errors",
        _ when series.Contains(":agent_task_cost_dollars:", StringComparison.Ordinal) => "cost",
        _ => series,
    };

    // abs() drops the series' names, so each score keeps its own in a label first: without one, an agent's
    // scores would be several series of one label set, which Prometheus refuses.
    private static string LargestScore(string selector) =>
        $"max by ({PromQl.PerAgent}) (abs(label_replace({Scores(selector)}, \"score\", \"$1\", \"__name__\", \"(.+)\")))";

    private static string Statistic(MetricSpec metric, string statistic, string selector) =>
        PromQl.Statistic(metric.Name, metric.Type, statistic, selector, Window, PromQl.PerAgent);
}
