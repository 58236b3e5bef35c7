namespace AgentMetrics.Api.Catalog;

/// <summary>The Prometheus metric types agent-metrics produces.</summary>
public enum MetricType
{
    Counter,
    Gauge,
    Histogram,
}

/// <summary>
/// One metric: its Prometheus name (counters without the <c>_total</c> suffix the exposition adds),
/// type, unit, help, the labels it may carry besides the identity labels, and histogram buckets.
/// </summary>
public sealed record MetricSpec(
    string Name,
    MetricType Type,
    string Unit,
    string Help,
    IReadOnlyList<string> Labels,
    IReadOnlyList<double>? Buckets = null,
    string? Convention = null)
{
    /// <summary>The name series carry: counters end in <c>_total</c>.</summary>
    public string SeriesName => Type == MetricType.Counter ? $"{Name}_total" : Name;
}
