using System.Text.Json;
using AgentMetrics.Kubernetes.Models;

namespace AgentMetrics.Api.V1Alpha1;

/// <summary>An alert on an agent metric: a fixed threshold, or a deviation from the metric's own baseline.</summary>
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
}

public sealed class AlertThresholdStatus
{
    public long? ObservedGeneration { get; set; }

    public List<Condition>? Conditions { get; set; }

    /// <summary>The PromQL expression the alert evaluates.</summary>
    public string? Expression { get; set; }
}
