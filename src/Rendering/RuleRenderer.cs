using System.Text;
using AgentMetrics.Api.Catalog;
using AgentMetrics.Api.V1Alpha1;
using AgentMetrics.Api.Validation;

namespace AgentMetrics.Rendering;

/// <summary>Renders the Prometheus rules of definitions, thresholds and the built-in catalog; pure functions of their input.</summary>
public static class RuleRenderer
{
    /// <summary>The window of the standing recording rules.</summary>
    public const string DefaultWindow = "5m";

    /// <summary>The interval of the standing recording rules.</summary>
    public const string DefaultInterval = "30s";

    private static readonly string[] Percentiles = ["p50", "p90", "p99"];

    /// <summary>
    /// The rules of a threshold: its statistic as a recording rule (per agent, labelled with the
    /// threshold's name so two thresholds never write the same series), and the alert. In anomaly
    /// mode also the baseline's average and standard deviation and the z-score, which the alert watches.
    /// </summary>
    public static RuleGroup ForThreshold(AlertThreshold threshold, MetricType type)
    {
        var spec = threshold.Spec;
        var name = threshold.Metadata.Name!;
        var @namespace = threshold.Metadata.Namespace!;
        var metric = PromQl.BareName(spec.Metric, type);
        var mine = $"threshold={PromQl.String(name)}";
        var own = new[] { Pair("threshold", name) };
        var statistic = $"namespace_agent:{metric}:{PromQl.Token(spec.Statistic)}_{spec.Window}";
        var rules = new List<Rule>
        {
            new(statistic, null, PromQl.Statistic(spec.Metric, type, spec.Statistic, PromQl.Scope(@namespace, spec.Agents), spec.Window, PromQl.PerAgent), Labels: own),
        };

        string condition;
        string describedLimit;
        if (spec.Anomaly is { } anomaly)
        {
            var baseline = anomaly.BaselineWindow;
            var average = $"{statistic}:avg_over_time_{baseline}";
            var deviation = $"{statistic}:stddev_over_time_{baseline}";
            var zscore = $"{statistic}:zscore_{baseline}";
            rules.Add(new(average, null, $"avg_over_time({statistic}{{{mine}}}[{baseline}])"));
            rules.Add(new(deviation, null, $"stddev_over_time({statistic}{{{mine}}}[{baseline}])"));
            rules.Add(new(zscore, null, $"({statistic}{{{mine}}} - {average}{{{mine}}}) / {deviation}{{{mine}}}"));
            condition = $"abs({zscore}{{{mine}}}) > {PromQl.Number(anomaly.Deviations)}";
            describedLimit = $"more than {PromQl.Number(anomaly.Deviations)} standard deviations from its {baseline} baseline";
        }
        else
        {
            var limit = ThresholdValidator.ReadThreshold(spec.Threshold!.Value).Value;
            condition = $"{statistic}{{{mine}}} {Operator(spec.Comparison)} {PromQl.Number(limit)}";
            describedLimit = $"{Words(spec.Comparison)} {PromQl.Number(limit)}";
        }

        var labels = new List<KeyValuePair<string, string>> { Pair("severity", spec.Severity), Pair("threshold", name) };
        labels.AddRange((spec.Labels ?? []).OrderBy(l => l.Key, StringComparer.Ordinal));
        var summary = spec.Summary ?? $"{spec.Statistic} of {spec.Metric} is {describedLimit} for agent {{{{ $labels.agent }}}}";
        var description = spec.Description
            ?? $"AlertThreshold {@namespace}/{name}: {spec.Statistic} of {spec.Metric} over {spec.Window} is {{{{ $value | humanize }}}} for agent {{{{ $labels.agent }}}} in {@namespace}, {describedLimit}, for {spec.For}.";
        var annotations = new List<KeyValuePair<string, string>> { Pair("summary", summary), Pair("description", description) };
        if (spec.RunbookUrl is { } runbook)
        {
            annotations.Add(Pair("runbook_url", runbook));
        }

        rules.Add(new(null, AlertName(name), condition, spec.For, labels, annotations));
        return new RuleGroup($"agentmetrics.{@namespace}.threshold.{name}", spec.EvaluationInterval, rules);
    }

    /// <summary>Per-agent and per-namespace recording rules for a custom metric, shaped by its type.</summary>
    public static RuleGroup ForDefinition(AgentMetricDefinition definition)
    {
        var metric = definition.Spec.Metric;
        var type = metric.ParsedType ?? throw new ArgumentException($"unknown metric type {metric.Type}", nameof(definition));
        var @namespace = definition.Metadata.Namespace!;
        var rules = Standing(metric.Name, type, PromQl.Scope(@namespace, null), [Pair("definition", definition.Metadata.Name!)]);
        return new RuleGroup($"agentmetrics.{@namespace}.definition.{definition.Metadata.Name}", DefaultInterval, rules);
    }

    /// <summary>Per-agent and per-namespace recording rules for every built-in metric, and the task outcome ratios.</summary>
    public static RuleGroup BuiltIn()
    {
        var rules = new List<Rule>();
        foreach (var metric in BuiltInMetrics.All)
        {
            rules.AddRange(Standing(metric.Name, metric.Type, "", null));
        }

        foreach (var by in new[] { PromQl.PerAgent, PromQl.PerNamespace })
        {
            foreach (var ratio in PromQl.RatioOutcomes.Keys)
            {
                rules.Add(new(
                    $"{Level(by)}:agent_tasks:{PromQl.Token(ratio)}_{DefaultWindow}", null,
                    PromQl.Statistic(BuiltInMetrics.Tasks.Name, MetricType.Counter, ratio, "", DefaultWindow, by)));
            }
        }

        // How far each agent stands from the rest of its namespace's fleet, in standard deviations: what the dashboards highlight.
        // Thresholds record the same names with a threshold label; only the standing series count.
        foreach (var series in FleetScored)
        {
            var standing = $"{series}{{threshold=\"\"}}";
            string PerNamespace(string aggregation) => $"on (namespace) group_left {aggregation} by (namespace) ({standing})";
            rules.Add(new(FleetZScore(series), null, $"({standing} - {PerNamespace("avg")}) / {PerNamespace("stddev")}"));
        }

        return new RuleGroup("agentmetrics.builtin", DefaultInterval, rules);
    }

    /// <summary>The per-agent recorded series the built-in rules also score against their namespace's fleet.</summary>
    public static readonly IReadOnlyList<string> FleetScored =
    [
        $"namespace_agent:agent_task_duration_seconds:p99_{DefaultWindow}",
        $"namespace_agent:agent_tasks:error_ratio_{DefaultWindow}",
        $"namespace_agent:agent_task_cost_dollars:avg_{DefaultWindow}",
    ];

    /// <summary>The recorded z-score of a per-agent series against the agents of its namespace.</summary>
    public static string FleetZScore(string series) => $"{series}:fleet_zscore";

    private static List<Rule> Standing(string name, MetricType type, string scope, IReadOnlyList<KeyValuePair<string, string>>? labels)
    {
        var statistics = type switch
        {
            MetricType.Histogram => [.. Percentiles, "average", "rate"],
            MetricType.Counter => ["rate"],
            _ => new[] { "value", "average" },
        };
        var rules = new List<Rule>();
        foreach (var by in new[] { PromQl.PerAgent, PromQl.PerNamespace })
        {
            foreach (var statistic in statistics)
            {
                rules.Add(new(
                    $"{Level(by)}:{name}:{PromQl.Token(statistic)}_{DefaultWindow}", null,
                    PromQl.Statistic(name, type, statistic, scope, DefaultWindow, by), Labels: labels));
            }
        }

        return rules;
    }

    /// <summary>The alert name of a threshold: its name in UpperCamelCase (support-p99-latency becomes SupportP99Latency).</summary>
    public static string AlertName(string thresholdName)
    {
        var name = new StringBuilder();
        foreach (var part in thresholdName.Split(['-', '.', '_'], StringSplitOptions.RemoveEmptyEntries))
        {
            name.Append(char.ToUpperInvariant(part[0])).Append(part.AsSpan(1));
        }

        return name.Length > 0 && char.IsAsciiLetter(name[0]) ? name.ToString() : $"Alert{name}";
    }

    private static string Level(string by) => by == PromQl.PerAgent ? "namespace_agent" : "namespace";

    private static string Operator(string comparison) => comparison switch
    {
        "GreaterOrEqual" => ">=",
        "LessThan" => "<",
        "LessOrEqual" => "<=",
        _ => ">",
    };

    private static string Words(string comparison) => comparison switch
    {
        "GreaterOrEqual" => "at or above",
        "LessThan" => "below",
        "LessOrEqual" => "at or below",
        _ => "above",
    };

    private static KeyValuePair<string, string> Pair(string key, string value) => new(key, value);
}
