using System.Text.Json;
using AgentMetrics.Kubernetes.Models;

namespace AgentMetrics.Api.V1Alpha1;

/// <summary>An alert on an agent metric: a fixed threshold, a deviation from the metric's own baseline, or a trend that is on course to cross a threshold.</summary>
public sealed class AlertThreshold : IKubernetesObject
{
    public static readonly ResourceType Type = new(ApiGroup.Group, ApiGroup.Version, "alertthresholds", "AlertThreshold");

    public string? ApiVersion { get; set; } = ApiGroup.ApiVersion;

    public string? Kind { get; set; } = "AlertThreshold";

    public ObjectMeta Metadata { get; set; } = new();

    public AlertThresholdSpec Spec { get; set; } = new();

    public AlertThresholdStatus? Status { get; set; }
}

public sealed class AlertThresholdSpec
{
    /// <summary>A built-in metric, or one an AgentMetricDefinition of this namespace defines.</summary>
    public string Metric { get; set; } = "";

    /// <summary>p50, p90, p99, average, rate, value, errorRate, completionRate, timeoutRate or escalationRate.</summary>
    public string Statistic { get; set; } = "";

    /// <summary>GreaterThan, GreaterOrEqual, LessThan or LessOrEqual.</summary>
    public string Comparison { get; set; } = "GreaterThan";

    /// <summary>A number, or a string holding one; NaN and infinities are refused.</summary>
    public JsonElement? Threshold { get; set; }

    public AnomalyDetection? Anomaly { get; set; }

    /// <summary>With a threshold: fire when the statistic is predicted to cross it within a horizon, instead of when it has.</summary>
    public TrendPrediction? Trend { get; set; }

    /// <summary>The range rates and percentiles are computed over (Prometheus duration).</summary>
    public string Window { get; set; } = "5m";

    /// <summary>How long the condition must hold before the alert fires (Prometheus duration).</summary>
    public string For { get; set; } = "1m";

    /// <summary>How often the rule is evaluated (Prometheus duration).</summary>
    public string EvaluationInterval { get; set; } = "30s";

    /// <summary>critical, warning or info.</summary>
    public string Severity { get; set; } = "warning";

    /// <summary>Agent names (the <c>agent</c> label) to watch; empty watches every agent in the namespace.</summary>
    public List<string>? Agents { get; set; }

    /// <summary>Extra labels on the alert, for Alertmanager routing.</summary>
    public Dictionary<string, string>? Labels { get; set; }

    public string? Summary { get; set; }

    public string? Description { get; set; }

    public string? RunbookUrl { get; set; }
}

public sealed class AnomalyDetection
{
    /// <summary>Fire when the statistic is this many standard deviations from its baseline.</summary>
    public double Deviations { get; set; } = 3;

    /// <summary>The span the baseline's average and standard deviation are taken over (Prometheus duration).</summary>
    public string BaselineWindow { get; set; } = "1d";

    /// <summary>
    /// The smallest spread, in the statistic's unit, a deviation is measured against, so a series that
    /// barely varied (or was idle) does not page for a small change; unset, a default for the unit.
    /// </summary>
    public double? MinimumDeviation { get; set; }
}

public sealed class TrendPrediction
{
    /// <summary>How far ahead the trend is projected (Prometheus duration).</summary>
    public string Horizon { get; set; } = "1h";

    /// <summary>The span the straight line is fitted over (Prometheus duration).</summary>
    public string FitWindow { get; set; } = "1h";
}

public sealed class AlertThresholdStatus
{
    public long? ObservedGeneration { get; set; }

    public List<Condition>? Conditions { get; set; }

    /// <summary>The PromQL expression the alert evaluates.</summary>
    public string? Expression { get; set; }
}
