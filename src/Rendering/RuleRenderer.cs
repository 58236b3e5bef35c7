using System.Text;
using AgentMetrics.Api.Catalog;
using AgentMetrics.Api.V1Alpha1;
using AgentMetrics.Api.Validation;

namespace AgentMetrics.Rendering;

/// <summary>A per-agent recorded series scored against its namespace's fleet, and the smallest spread it is judged with.</summary>
public sealed record FleetScoredSeries(string Series, double Floor);

/// <summary>A raw series summed per namespace (and by <paramref name="By"/>, when set) for the "now" panels, recorded as <paramref name="Record"/>.</summary>
public sealed record NowSeries(string Series, string? By, string Record);

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
    /// threshold's name so two thresholds never write the same series), and the alert. In anomaly mode
    /// also the baseline (average, standard deviation and its floored spread) and the z-score; in trend
    /// mode the value the trend predicts. Every selector names the threshold's namespace as well as its
    /// name, so thresholds of one name in two namespaces never read or write each other's series.
    /// </summary>
    public static RuleGroup ForThreshold(AlertThreshold threshold, MetricSpec metric)
    {
        var spec = threshold.Spec;
        var name = threshold.Metadata.Name!;
        var @namespace = threshold.Metadata.Namespace!;
        var bare = PromQl.BareName(spec.Metric, metric.Type);
        var scope = PromQl.Scope(@namespace, spec.Agents);
        var statistic = PromQl.RecordName("namespace_agent", bare, spec.Statistic, spec.Window);
        string Mine(string series) => $"{series}{{namespace={PromQl.String(@namespace)}, threshold={PromQl.String(name)}}}";
        var rules = new List<Rule>
        {
            new(statistic, null, PromQl.Statistic(spec.Metric, metric.Type, spec.Statistic, scope, spec.Window, PromQl.PerAgent), Labels: [Pair("threshold", name)]),
        };

        var unit = StatisticUnit.Of(spec.Statistic, metric);
        var value = AlertTexts.Value(unit, "$value");
        var measured = $"{spec.Statistic} of {spec.Metric}";
        var over = spec.Statistic == "value" ? "" : $" over the last {spec.Window}";
        const string Where = "for agent {{ $labels.agent }} in namespace {{ $labels.namespace }}";
        var about = $"AlertThreshold {@namespace}/{name}: {measured}{over} is {value} {Where}";
        string condition, summary, description;
        if (spec.Anomaly is { } anomaly)
        {
            var baseline = anomaly.BaselineWindow;
            var recent = RecentPart(spec);
            var floor = anomaly.MinimumDeviation ?? unit.DefaultMinimumDeviation;
            var average = $"{statistic}:baseline_avg_{baseline}";
            var deviation = $"{statistic}:baseline_stddev_{baseline}";
            var spread = $"{statistic}:baseline_spread_{baseline}";
            var zscore = $"{statistic}:baseline_zscore_{baseline}";
            var relative = $"{PromQl.Number(RelativeFloor)} * abs({Mine(average)})";
            rules.Add(new(average, null, $"avg_over_time({Mine(statistic)}[{baseline}] offset {recent})"));
            rules.Add(new(deviation, null, $"stddev_over_time({Mine(statistic)}[{baseline}] offset {recent})"));
            rules.Add(new(spread, null, $"(clamp_min({Mine(deviation)}, {PromQl.Number(floor)}) > {relative}) or {relative}"));
            rules.Add(new(zscore, null, $"({Mine(statistic)} - {Mine(average)}) / {Mine(spread)}"));
            // The band the alert judges by, baseline ± the configured deviations: what the detail dashboard draws.
            rules.Add(new(BandName(statistic, "upper", baseline), null, $"{Mine(average)} + {PromQl.Number(anomaly.Deviations)} * {Mine(spread)}"));
            rules.Add(new(BandName(statistic, "lower", baseline), null, $"{Mine(average)} - {PromQl.Number(anomaly.Deviations)} * {Mine(spread)}"));
            condition = $"{Mine(statistic)} and on (namespace, agent) (abs({Mine(zscore)}) > {PromQl.Number(anomaly.Deviations)})";
            var deviations = PromQl.Number(anomaly.Deviations);
            summary = $"{measured} is {value} {Where}, more than {deviations} standard deviations from its {baseline} baseline";
            description = $"{about}, a z-score of {Queried(zscore, name, "{{ . | first | value | printf \"%.1f\" }}")} against its baseline of "
                + $"{Queried(average, name, unit)} (the average of the {baseline} before the last {recent}); "
                + $"it fires when the z-score stays beyond {deviations} for {spec.For}.";
        }
        else
        {
            var limit = ThresholdValidator.ReadThreshold(spec.Threshold!.Value).Value;
            var limitText = AlertTexts.Number(unit, limit);
            var bounds = PercentileBounds(spec, metric, limit);
            var note = bounds is { IsExact: false, Lower: { } lower, Upper: { } upper }
                ? $" {limitText} lies between the bucket bounds {AlertTexts.Number(unit, lower)} and {AlertTexts.Number(unit, upper)}, "
                    + $"so the {spec.Statistic} compared with it is interpolated within that bucket: an estimate."
                : "";
            if (spec.Trend is { } trend)
            {
                var predicted = $"{statistic}:predicted_in_{trend.Horizon}";
                PrometheusDuration.TryParse(trend.Horizon, out var horizon);
                rules.Add(new(predicted, null, $"predict_linear({Mine(statistic)}[{trend.FitWindow}], {PromQl.Number(horizon.TotalSeconds)})"));
                condition = $"{Mine(statistic)} and on (namespace, agent) ({Mine(predicted)} {Operator(spec.Comparison)} {PromQl.Number(limit)})";
                summary = $"{measured} is {value} {Where}, on course to be {Words(spec.Comparison)} {limitText} within {trend.Horizon}";
                description = $"{about}; the trend of the last {trend.FitWindow} puts it at {Queried(predicted, name, unit)} in {trend.Horizon}, "
                    + $"{Words(spec.Comparison)} the threshold of {limitText}; it fires when that holds for {spec.For}.{note}";
            }
            else
            {
                condition = bounds is { IsExact: true, Lower: { } bound }
                    ? $"{Mine(statistic)} and on (namespace, agent) ({PromQl.FractionAtOrBelow(bare, scope, bound, spec.Window, PromQl.PerAgent)} "
                        + $"{Operator(Mirrored(spec.Comparison))} {PromQl.Quantile(spec.Statistic)})"
                    : $"{Mine(statistic)} {Operator(spec.Comparison)} {PromQl.Number(limit)}";
                summary = $"{measured} is {value} {Where}, {Words(spec.Comparison)} {limitText}";
                description = $"{about}; it fires when that stays {Words(spec.Comparison)} {limitText} for {spec.For}.{note}";
            }
        }

        var labels = new List<KeyValuePair<string, string>> { Pair("severity", spec.Severity), Pair("threshold", name) };
        labels.AddRange((spec.Labels ?? []).OrderBy(l => l.Key, StringComparer.Ordinal));
        var annotations = new List<KeyValuePair<string, string>> { Pair("summary", spec.Summary ?? summary), Pair("description", spec.Description ?? description) };
        if (spec.RunbookUrl is { } runbook)
        {
            annotations.Add(Pair("runbook_url", runbook));
        }

        rules.Add(new(null, AlertName(name), condition, spec.For, labels, annotations));
        return new RuleGroup($"agentmetrics.{@namespace}.threshold.{name}", spec.EvaluationInterval, rules);
    }

    /// <summary>
    /// Where a percentile threshold stands among its histogram's bucket bounds; null for other statistics.
    /// On a bound the alert compares the fraction of observations at or below it, which is exact.
    /// </summary>
    public static BucketBounds? PercentileBounds(AlertThresholdSpec spec, MetricSpec metric, double limit) =>
        ThresholdValidator.Percentiles.Contains(spec.Statistic) && metric.Buckets is { Count: > 0 } buckets
            ? BucketBounds.Around(buckets, limit)
            : null;

    /// <summary>The share of a baseline's average its spread is never below, so a steady series is not judged by noise alone.</summary>
    public const double RelativeFloor = 0.1;

    /// <summary>
    /// What the baseline leaves out: the last window (over which the statistic smears a change) and the
    /// time the alert must hold, so a sustained change is never part of the baseline it is judged against.
    /// </summary>
    public static string RecentPart(AlertThresholdSpec spec)
    {
        PrometheusDuration.TryParse(spec.Window, out var window);
        PrometheusDuration.TryParse(spec.For, out var @for);
        return PrometheusDuration.Format(window + @for);
    }

    // A value this threshold's rules recorded for the alert's agent, read when the text is made; the
    // body prints it (as "." piped through "first | value"), and nothing is printed when there is none.
    private static string Queried(string series, string threshold, StatisticUnit unit) =>
        Queried(series, threshold, AlertTexts.Value(unit, ". | first | value"));

    private static string Queried(string series, string threshold, string body) =>
        $"{{{{ with printf \"{series}{{namespace=%q, agent=%q, threshold=%q}}\" $labels.namespace $labels.agent {PromQl.String(threshold)} | query }}}}"
        + $"{body}{{{{ end }}}}";

    /// <summary>Per-agent and per-namespace recording rules for a custom metric, shaped by its type.</summary>
    public static RuleGroup ForDefinition(AgentMetricDefinition definition)
    {
        var metric = definition.Spec.Metric;
        var type = metric.ParsedType ?? throw new ArgumentException($"unknown metric type {metric.Type}", nameof(definition));
        var @namespace = definition.Metadata.Namespace!;
        var rules = StandingRules(metric.Name, type, PromQl.Scope(@namespace, null), [Pair("definition", definition.Metadata.Name!)]);
        return new RuleGroup($"agentmetrics.{@namespace}.definition.{definition.Metadata.Name}", DefaultInterval, rules);
    }

    /// <summary>The name of a recorded edge of an anomaly threshold's band (<paramref name="edge"/> is upper or lower).</summary>
    public static string BandName(string statistic, string edge, string baseline) => $"{statistic}:baseline_{edge}_{baseline}";

    /// <summary>
    /// The built-in rules: the standing per-agent and per-namespace statistics, the fleet totals the "now"
    /// panels read, and the hourly increases per agent version the report reads.
    /// </summary>
    public static IReadOnlyList<RuleGroup> BuiltIn() => [Standing(), Now(), HourlyRules.Group()];

    /// <summary>The window of the fleet totals the dashboards' "now" panels read.</summary>
    public const string NowWindow = "30s";

    /// <summary>How often the fleet totals are evaluated: Grafana's default shortest refresh, so each refresh can show a new value.</summary>
    public const string NowInterval = "5s";

    /// <summary>
    /// What the fleet overview's "now" panels read: each built-in counter and the task-duration buckets
    /// summed per namespace, keeping only the label the panel splits by, over a short window and often.
    /// A panel then reads a few series per namespace instead of every agent's raw series.
    /// </summary>
    public static IReadOnlyList<NowSeries> NowTotals { get; } =
    [
        new(BuiltInMetrics.Tasks.Name + "_total", "outcome", $"namespace_outcome:agent_tasks:rate_{NowWindow}"),
        new(BuiltInMetrics.TaskDuration.Name + "_bucket", "le", $"namespace_le:agent_task_duration_seconds_bucket:rate_{NowWindow}"),
        new(BuiltInMetrics.TaskCost.Name + "_sum", null, $"namespace:agent_task_cost_dollars_sum:rate_{NowWindow}"),
        new(BuiltInMetrics.TaskCost.Name + "_count", null, $"namespace:agent_task_cost_dollars_count:rate_{NowWindow}"),
        new(BuiltInMetrics.Errors.Name + "_total", "error_type", $"namespace_error_type:agent_errors:rate_{NowWindow}"),
        new(BuiltInMetrics.TaskTokens.Name + "_total", "gen_ai_token_type", $"namespace_gen_ai_token_type:agent_task_tokens:rate_{NowWindow}"),
        new(BuiltInMetrics.Handoffs.Name + "_total", "outcome", $"namespace_outcome:agent_handoffs:rate_{NowWindow}"),
        new(BuiltInMetrics.Escalations.Name + "_total", "reason", $"namespace_reason:agent_escalations:rate_{NowWindow}"),
    ];

    /// <summary>The recorded count of pods whose sidecar reports, per namespace.</summary>
    public const string PodsReporting = "namespace:agent_metrics_sidecar_pods:count";

    /// <summary>The fleet totals, evaluated every <see cref="NowInterval"/>.</summary>
    public static RuleGroup Now()
    {
        var rules = new List<Rule>
        {
            new(PodsReporting, null, "count by (namespace) (count by (namespace, pod) (agent_metrics_sidecar_series))"),
        };
        foreach (var total in NowTotals)
        {
            var by = total.By is null ? PromQl.PerNamespace : $"{PromQl.PerNamespace}, {total.By}";
            rules.Add(new(total.Record, null, $"sum by ({by}) (rate({total.Series}[{NowWindow}]))"));
        }

        return new RuleGroup("agentmetrics.builtin.now", NowInterval, rules);
    }

    /// <summary>Per-agent and per-namespace recording rules for every built-in metric, and the task outcome ratios.</summary>
    public static RuleGroup Standing()
    {
        var rules = new List<Rule>();
        foreach (var metric in BuiltInMetrics.All)
        {
            rules.AddRange(StandingRules(metric.Name, metric.Type, "", null));
        }

        foreach (var by in new[] { PromQl.PerAgent, PromQl.PerNamespace })
        {
            foreach (var ratio in PromQl.RatioOutcomes.Keys)
            {
                rules.Add(new(
                    PromQl.RecordName(Level(by), "agent_tasks", ratio, DefaultWindow), null,
                    PromQl.Statistic(BuiltInMetrics.Tasks.Name, MetricType.Counter, ratio, "", DefaultWindow, by)));
            }
        }

        // How far each agent stands from the rest of its namespace's fleet: what the dashboards highlight.
        // Thresholds record the same names with a threshold label; only the standing series count.
        foreach (var scored in FleetScored)
        {
            rules.AddRange(FleetScoreRules(scored));
        }

        return new RuleGroup("agentmetrics.builtin", DefaultInterval, rules);
    }

    /// <summary>
    /// The per-agent recorded series the built-in rules also score against their namespace's fleet, each
    /// with the floor of its fleet spread: the smallest difference, in the series' unit, that can count.
    /// </summary>
    public static readonly IReadOnlyList<FleetScoredSeries> FleetScored =
    [
        new($"namespace_agent:agent_task_duration_seconds:p99_{DefaultWindow}", 0.01),
        new($"namespace_agent:agent_tasks:error_ratio_{DefaultWindow}", 0.01),
        new($"namespace_agent:agent_task_cost_dollars:avg_{DefaultWindow}", 0.001),
    ];

    /// <summary>The fewest agents a namespace needs for its agents to be scored: with two, neither can be told to be the odd one.</summary>
    public const int MinimumFleet = 3;

    /// <summary>Scales a median absolute deviation to the standard deviation it estimates for normally spread values.</summary>
    public const double MadToStandardDeviation = 1.4826;

    /// <summary>A fleet outlier score beyond this (either way) marks an outlier: drawn thick and red in the fleet overview, highlighted by top.</summary>
    public const int FleetOutlierLimit = 2;

    /// <summary>The recorded fleet outlier score (a robust z-score) of a per-agent series against the agents of its namespace.</summary>
    public static string FleetZScore(string series) => $"{series}:fleet_zscore";

    /// <summary>
    /// The robust z-score of each agent against its namespace: (value - median) / spread, where the spread
    /// is the median absolute deviation scaled to a standard deviation, never below a tenth of the median's
    /// size nor below the series' floor. Median and MAD are not pulled by the outlier itself, so one agent
    /// far from the rest scores by how far it is, in a fleet of 3 as in one of 5000; the floors keep
    /// agents that differ by a hair from scoring high when the rest are all alike.
    /// </summary>
    private static IEnumerable<Rule> FleetScoreRules(FleetScoredSeries scored)
    {
        var standing = $"{scored.Series}{{threshold=\"\"}}";
        var perNamespace = $"namespace:{scored.Series["namespace_agent:".Length..]}";
        var median = $"{perNamespace}:fleet_median";
        var spread = $"{perNamespace}:fleet_spread";
        var floor = $"clamp_min({PromQl.Number(RelativeFloor)} * abs({median}), {PromQl.Number(scored.Floor)})";
        yield return new(median, null,
            $"quantile by (namespace) (0.5, {standing}) and on (namespace) (count by (namespace) ({standing}) >= {MinimumFleet})");
        yield return new(spread, null,
            $"({PromQl.Number(MadToStandardDeviation)} * quantile by (namespace) (0.5, abs({standing} - on (namespace) group_left {median})) > {floor}) or {floor}");
        yield return new(FleetZScore(scored.Series), null,
            $"({standing} - on (namespace) group_left {median}) / on (namespace) group_left {spread}");
    }

    private static List<Rule> StandingRules(string name, MetricType type, string scope, IReadOnlyList<KeyValuePair<string, string>>? labels)
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
                    PromQl.RecordName(Level(by), name, statistic, DefaultWindow), null,
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

    // p > b exactly when fewer than the quantile's share of observations are at or below b, and so on.
    private static string Mirrored(string comparison) => comparison switch
    {
        "GreaterOrEqual" => "LessOrEqual",
        "LessThan" => "GreaterThan",
        "LessOrEqual" => "GreaterOrEqual",
        _ => "LessThan",
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
