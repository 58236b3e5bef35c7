using System.Globalization;
using System.Text.Json;
using AgentMetrics.Api.Catalog;
using AgentMetrics.Api.V1Alpha1;

namespace AgentMetrics.Api.Validation;

/// <summary>The rules an AlertThreshold must follow, shared by the admission webhook, the reconciler and the CLI.</summary>
public static class ThresholdValidator
{
    public static readonly IReadOnlyList<string> Percentiles = ["p50", "p90", "p99"];
    public static readonly IReadOnlyList<string> TaskRatios = StatisticUnit.Ratios;
    public static readonly IReadOnlyList<string> Statistics = [.. Percentiles, "average", "rate", "value", .. TaskRatios];
    public static readonly IReadOnlyList<string> Comparisons = ["GreaterThan", "GreaterOrEqual", "LessThan", "LessOrEqual"];
    public static readonly IReadOnlyList<string> Severities = ["critical", "warning", "info"];

    /// <summary>Alert labels agent-metrics sets itself.</summary>
    public static readonly IReadOnlyList<string> OwnLabels = ["alertname", "severity", "threshold", "namespace", "agent", "pod", "agent_version"];

    /// <summary>Every rule <paramref name="threshold"/> breaks; empty when it is valid.</summary>
    public static IReadOnlyList<FieldError> Validate(AlertThreshold threshold, ValidationContext context)
    {
        var errors = new List<FieldError>();
        var spec = threshold.Spec;
        var metric = CheckMetric(spec, context, errors);
        if (!Comparisons.Contains(spec.Comparison))
        {
            errors.Add(new("spec.comparison", $"must be one of {string.Join(", ", Comparisons)}, got \"{spec.Comparison}\""));
        }

        if (!Severities.Contains(spec.Severity))
        {
            errors.Add(new("spec.severity", $"must be critical, warning or info, got \"{spec.Severity}\""));
        }

        CheckMode(spec, metric, errors);
        CheckDurations(spec, errors);
        foreach (var (key, _) in spec.Labels ?? [])
        {
            if (OwnLabels.Contains(key))
            {
                errors.Add(new($"spec.labels.{key}", $"\"{key}\" is set by agent-metrics"));
            }
            else if (PrometheusNames.CheckLabelName(key) is { } problem)
            {
                errors.Add(new($"spec.labels.{key}", problem));
            }
        }

        for (var i = 0; i < (spec.Agents?.Count ?? 0); i++)
        {
            if (string.IsNullOrWhiteSpace(spec.Agents![i]))
            {
                errors.Add(new($"spec.agents[{i}]", "must not be empty"));
            }
        }

        if (spec.RunbookUrl is { } url && !Uri.TryCreate(url, UriKind.Absolute, out _))
        {
            errors.Add(new("spec.runbookUrl", $"must be an absolute URL, got \"{url}\""));
        }

        return errors;
    }

    /// <summary>
    /// Null when <paramref name="threshold"/>'s metric is built in or defined by one of <paramref name="definitions"/>
    /// (those of its namespace); otherwise the problem. It is not a rule the spec breaks: the reconciler waits
    /// for the definition (reason MetricNotFound) and the CLI reports it as a warning.
    /// </summary>
    public static FieldError? MetricNotFound(AlertThreshold threshold, IEnumerable<AgentMetricDefinition> definitions) =>
        MetricCatalog.Resolve(threshold.Spec.Metric, definitions) is null
            ? new(
                "spec.metric",
                $"{threshold.Spec.Metric} is neither a built-in metric nor defined by an AgentMetricDefinition in namespace {threshold.Metadata.Namespace}; the alert is written once it is")
            : null;

    /// <summary>The threshold as a number, or the reason it is not a usable one.</summary>
    public static (double Value, string? Problem) ReadThreshold(JsonElement threshold)
    {
        double value;
        if (threshold.ValueKind == JsonValueKind.Number)
        {
            value = threshold.GetDouble();
        }
        else if (threshold.ValueKind == JsonValueKind.String
            && double.TryParse(threshold.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed))
        {
            value = parsed;
        }
        else if (threshold.ValueKind == JsonValueKind.String
            && threshold.GetString()!.Trim().TrimStart('+', '-') is var word
            && (word.Equals("Inf", StringComparison.OrdinalIgnoreCase) || word.Equals("Infinity", StringComparison.OrdinalIgnoreCase)))
        {
            value = double.PositiveInfinity;
        }
        else
        {
            return (0, $"must be a number, got {Describe(threshold)}");
        }

        return double.IsFinite(value) ? (value, null) : (0, $"must be a finite number, got {Describe(threshold)}: NaN and infinities cannot be crossed");
    }

    // The decoded value, not the raw JSON, which an API server may have re-escaped.
    private static string Describe(JsonElement value) =>
        value.ValueKind == JsonValueKind.String ? $"\"{value.GetString()}\"" : value.GetRawText();

    // The metric, when it is known and the statistic applies to it; null otherwise.
    private static MetricSpec? CheckMetric(AlertThresholdSpec spec, ValidationContext context, List<FieldError> errors)
    {
        if (spec.Metric.Contains('/', StringComparison.Ordinal))
        {
            errors.Add(new("spec.metric", $"\"{spec.Metric}\" refers to another namespace; an AlertThreshold may use built-in metrics and the AgentMetricDefinitions of its own namespace only"));
            return null;
        }

        if (PrometheusNames.CheckMetricName(spec.Metric) is { } problem)
        {
            errors.Add(new("spec.metric", problem));
            return null;
        }

        if (!Statistics.Contains(spec.Statistic))
        {
            errors.Add(new("spec.statistic", $"must be one of {string.Join(", ", Statistics)}, got \"{spec.Statistic}\""));
            return null;
        }

        var metric = MetricCatalog.Resolve(spec.Metric, context.Definitions);
        var type = metric?.Type;
        if (TaskRatios.Contains(spec.Statistic) && BuiltInMetrics.Find(spec.Metric) != BuiltInMetrics.Tasks)
        {
            errors.Add(new("spec.statistic", $"{spec.Statistic} is a ratio of task outcomes; use it with metric {BuiltInMetrics.Tasks.SeriesName}"));
            return null;
        }

        var fits = type switch
        {
            null => true,
            MetricType.Histogram => spec.Statistic is "p50" or "p90" or "p99" or "average" or "rate",
            MetricType.Counter => spec.Statistic is "rate" || TaskRatios.Contains(spec.Statistic),
            MetricType.Gauge => spec.Statistic is "value" or "average",
            _ => false,
        };
        if (!fits)
        {
            var allowed = type switch
            {
                MetricType.Histogram => "p50, p90, p99, average or rate",
                MetricType.Counter => "rate",
                _ => "value or average",
            };
            errors.Add(new("spec.statistic", $"{spec.Statistic} does not apply to {spec.Metric}, a {type.ToString()!.ToLowerInvariant()}; use {allowed}"));
            return null;
        }

        return metric;
    }

    private static void CheckMode(AlertThresholdSpec spec, MetricSpec? metric, List<FieldError> errors)
    {
        var hasThreshold = spec.Threshold is { ValueKind: not JsonValueKind.Null and not JsonValueKind.Undefined };
        if (hasThreshold == (spec.Anomaly is not null))
        {
            errors.Add(new("spec", "set exactly one of threshold (a fixed limit) and anomaly (a deviation from the baseline)"));
            return;
        }

        if (spec.Trend is not null && spec.Anomaly is not null)
        {
            errors.Add(new("spec.trend", "goes with threshold, the value the trend is predicted to cross; an anomaly has no threshold to cross"));
            return;
        }

        if (hasThreshold && ReadThreshold(spec.Threshold!.Value) is var (limit, problem))
        {
            if (problem is not null)
            {
                errors.Add(new("spec.threshold", problem));
            }
            else if (Percentiles.Contains(spec.Statistic) && metric?.Buckets is { Count: > 0 } buckets && limit > buckets[^1])
            {
                errors.Add(new("spec.threshold", string.Create(
                    CultureInfo.InvariantCulture,
                    $"{limit} is above {buckets[^1]}, the largest finite bucket bound of {spec.Metric}: a percentile above it cannot be measured, so the alert could never tell; use {buckets[^1]} or less, or give the metric larger buckets")));
            }
        }

        if (spec.Anomaly is { } anomaly)
        {
            CheckAnomaly(spec, anomaly, metric, errors);
        }

        if (spec.Trend is { } trend)
        {
            CheckTrend(spec, trend, errors);
        }
    }

    private static void CheckAnomaly(AlertThresholdSpec spec, AnomalyDetection anomaly, MetricSpec? metric, List<FieldError> errors)
    {
        if (!double.IsFinite(anomaly.Deviations) || anomaly.Deviations <= 0)
        {
            errors.Add(new("spec.anomaly.deviations", string.Create(CultureInfo.InvariantCulture, $"must be a finite number above 0, got {anomaly.Deviations}")));
        }

        if (anomaly.MinimumDeviation is { } minimum && (!double.IsFinite(minimum) || minimum < 0))
        {
            errors.Add(new("spec.anomaly.minimumDeviation", string.Create(CultureInfo.InvariantCulture, $"must be a finite number of at least 0, got {minimum}")));
        }
        else if (TaskRatios.Contains(spec.Statistic) && metric is not null && double.IsFinite(anomaly.Deviations)
            && anomaly.Deviations * (anomaly.MinimumDeviation ?? StatisticUnit.Of(spec.Statistic, metric).DefaultMinimumDeviation) >= 1)
        {
            var floor = anomaly.MinimumDeviation ?? StatisticUnit.Of(spec.Statistic, metric).DefaultMinimumDeviation;
            errors.Add(new("spec.anomaly.deviations", string.Create(
                CultureInfo.InvariantCulture,
                $"{anomaly.Deviations} deviations of at least {floor} each are more than a ratio can move, which is at most 1: the alert could never fire; lower deviations or minimumDeviation")));
        }

        if (!PrometheusDuration.TryParse(anomaly.BaselineWindow, out var baseline))
        {
            errors.Add(new("spec.anomaly.baselineWindow", $"must be a Prometheus duration such as 1d or 12h, got \"{anomaly.BaselineWindow}\""));
        }
        else if (PrometheusDuration.TryParse(spec.Window, out var window) && baseline <= window)
        {
            errors.Add(new("spec.anomaly.baselineWindow", $"must be longer than spec.window ({spec.Window}) for a baseline to mean anything"));
        }
    }

    private static void CheckTrend(AlertThresholdSpec spec, TrendPrediction trend, List<FieldError> errors)
    {
        if (!PrometheusDuration.TryParse(trend.Horizon, out var horizon) || horizon <= TimeSpan.Zero)
        {
            errors.Add(new("spec.trend.horizon", $"must be a Prometheus duration above 0 such as 4h or 7d, got \"{trend.Horizon}\""));
        }

        if (!PrometheusDuration.TryParse(trend.FitWindow, out var fit) || fit <= TimeSpan.Zero)
        {
            errors.Add(new("spec.trend.fitWindow", $"must be a Prometheus duration above 0 such as 1h or 1d, got \"{trend.FitWindow}\""));
        }
        else if (PrometheusDuration.TryParse(spec.EvaluationInterval, out var interval) && fit < 2 * interval)
        {
            errors.Add(new("spec.trend.fitWindow", $"{trend.FitWindow} holds fewer than two evaluations of {spec.EvaluationInterval}; a line needs at least two points"));
        }
    }

    private static void CheckDurations(AlertThresholdSpec spec, List<FieldError> errors)
    {
        var window = Duration(spec.Window, "spec.window", errors);
        var evaluation = Duration(spec.EvaluationInterval, "spec.evaluationInterval", errors);
        var @for = Duration(spec.For, "spec.for", errors);
        if (evaluation is { } every && every < TimeSpan.FromSeconds(1))
        {
            errors.Add(new("spec.evaluationInterval", "must be at least 1s"));
        }

        if (@for is { } wait && evaluation is { } interval && wait < interval)
        {
            errors.Add(new("spec.for", $"{spec.For} is shorter than the evaluation interval {spec.EvaluationInterval}; the alert cannot wait less than one evaluation"));
        }

        if (window is { } range && evaluation is { } step && range < step)
        {
            errors.Add(new("spec.window", $"{spec.Window} is shorter than the evaluation interval {spec.EvaluationInterval}; samples between evaluations would be missed"));
        }
    }

    private static TimeSpan? Duration(string value, string field, List<FieldError> errors)
    {
        if (PrometheusDuration.TryParse(value, out var duration))
        {
            return duration;
        }

        errors.Add(new(field, $"must be a Prometheus duration such as 30s, 5m or 1h, got \"{value}\""));
        return null;
    }
}
