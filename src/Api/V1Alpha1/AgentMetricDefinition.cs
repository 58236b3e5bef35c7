using System.Text.Json.Serialization;
using AgentMetrics.Api.Catalog;
using AgentMetrics.Kubernetes.Models;

namespace AgentMetrics.Api.V1Alpha1;

/// <summary>A custom metric collected from the agents its selector picks.</summary>
public sealed class AgentMetricDefinition : IKubernetesObject
{
    public static readonly ResourceType Type = new(ApiGroup.Group, ApiGroup.Version, "agentmetricdefinitions", "AgentMetricDefinition");

    public string? ApiVersion { get; set; } = ApiGroup.ApiVersion;

    public string? Kind { get; set; } = "AgentMetricDefinition";

    public ObjectMeta Metadata { get; set; } = new();

    public AgentMetricDefinitionSpec Spec { get; set; } = new();

    public AgentMetricDefinitionStatus? Status { get; set; }
}

public sealed class AgentMetricDefinitionSpec
{
    /// <summary>The agent pods (in this namespace) the metric is collected from.</summary>
    public LabelSelector Selector { get; set; } = new();

    public MetricDescription Metric { get; set; } = new();

    public MetricSource Source { get; set; } = new();

    /// <summary>The most series one agent may have of this metric; more are dropped and counted.</summary>
    public int SeriesLimit { get; set; } = 1000;

    public DashboardPanel? Dashboard { get; set; }
}

public sealed class MetricDescription
{
    public string Name { get; set; } = "";

    /// <summary>counter, gauge or histogram.</summary>
    public string Type { get; set; } = "";

    public string Help { get; set; } = "";

    public string? Unit { get; set; }

    public List<double>? Buckets { get; set; }

    /// <summary>The catalog type this description names, or null when it names none.</summary>
    [JsonIgnore]
    public MetricType? ParsedType => Type switch
    {
        "counter" => MetricType.Counter,
        "gauge" => MetricType.Gauge,
        "histogram" => MetricType.Histogram,
        _ => null,
    };
}

public sealed class MetricSource
{
    /// <summary>Event (the JSON events API), OtlpMetric or Span.</summary>
    public string Kind { get; set; } = "Event";

    /// <summary>The event name, OTLP metric name or span name.</summary>
    public string Name { get; set; } = "";

    /// <summary>The field or attribute holding the value; by default 1 per event, the point's value, or the span's duration.</summary>
    public string? ValueField { get; set; }

    /// <summary>Attribute keys kept as labels.</summary>
    public List<string>? Labels { get; set; }

    /// <summary>Only events whose attributes have these values count.</summary>
    public Dictionary<string, string>? MatchAttributes { get; set; }
}

public sealed class DashboardPanel
{
    /// <summary>timeseries, stat, gauge, heatmap or bargauge; by default what suits the metric type.</summary>
    public string? Panel { get; set; }

    public string? Title { get; set; }
}

public sealed class AgentMetricDefinitionStatus
{
    public long? ObservedGeneration { get; set; }

    public List<Condition>? Conditions { get; set; }

    public int? MatchedAgents { get; set; }

    /// <summary>How many of the matched agent pods carry the metrics sidecar.</summary>
    public int? InjectedAgents { get; set; }

    public long? SeriesEstimate { get; set; }
}
