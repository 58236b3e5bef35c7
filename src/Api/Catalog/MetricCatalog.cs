using AgentMetrics.Api.V1Alpha1;

namespace AgentMetrics.Api.Catalog;

/// <summary>Finds what a threshold's metric is: a built-in one, or one an AgentMetricDefinition of its namespace defines.</summary>
public static class MetricCatalog
{
    /// <summary>Prometheus' default histogram buckets, for definitions that name none.</summary>
    public static readonly IReadOnlyList<double> DefaultBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>The metric called <paramref name="name"/>, or null when neither the catalog nor <paramref name="definitions"/> has it.</summary>
    public static MetricSpec? Resolve(string name, IEnumerable<AgentMetricDefinition> definitions)
    {
        if (BuiltInMetrics.Find(name) is { } builtIn)
        {
            return builtIn;
        }

        foreach (var definition in definitions)
        {
            var metric = definition.Spec.Metric;
            if (metric.Name == name && metric.ParsedType is { } type)
            {
                return new MetricSpec(
                    metric.Name, type, metric.Unit ?? "", metric.Help, [.. definition.Spec.Source.Labels ?? []],
                    type == MetricType.Histogram ? (metric.Buckets is { Count: > 0 } buckets ? buckets : DefaultBuckets) : null);
            }
        }

        return null;
    }
}
