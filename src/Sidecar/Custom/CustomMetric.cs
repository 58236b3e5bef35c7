using AgentMetrics.Api.Catalog;
using AgentMetrics.Api.V1Alpha1;
using AgentMetrics.Sidecar.Ingest;
using AgentMetrics.Sidecar.Metrics;

namespace AgentMetrics.Sidecar.Custom;

/// <summary>
/// One AgentMetricDefinition in effect: which events, OTLP metrics or spans feed it, the filters and
/// labels it applies, and the family it records into.
/// </summary>
public sealed class CustomMetric
{
    /// <summary>Prometheus' default histogram buckets, for definitions that name none.</summary>
    public static readonly double[] DefaultBuckets = [.. MetricCatalog.DefaultBuckets];

    private readonly string[] _labels;
    private readonly KeyValuePair<string, string>[] _match;

    /// <summary>Creates the runtime form of <paramref name="definition"/>, recording into <paramref name="family"/>.</summary>
    public CustomMetric(AgentMetricDefinition definition, MetricFamily family)
    {
        Definition = definition;
        Family = family;
        _labels = [.. definition.Spec.Source.Labels ?? []];
        _match = [.. definition.Spec.Source.MatchAttributes ?? []];
        ValueField = definition.Spec.Source.ValueField;
    }

    /// <summary>The definition.</summary>
    public AgentMetricDefinition Definition { get; }

    /// <summary>The family it records into.</summary>
    public MetricFamily Family { get; }

    /// <summary>The field or attribute the value comes from, if any.</summary>
    public string? ValueField { get; }

    /// <summary>The family spec a definition asks for.</summary>
    public static FamilySpec SpecOf(AgentMetricDefinition definition)
    {
        var metric = definition.Spec.Metric;
        var type = metric.ParsedType ?? MetricType.Gauge;
        return new FamilySpec(
            metric.Name, type, metric.Help, metric.Unit, [.. definition.Spec.Source.Labels ?? []],
            type == MetricType.Histogram ? (metric.Buckets is { Count: > 0 } buckets ? [.. buckets] : DefaultBuckets) : [],
            definition.Spec.SeriesLimit > 0 ? definition.Spec.SeriesLimit : 1000,
            FamilyOrigin.Custom);
    }

    /// <summary>Whether every matchAttributes entry holds in <paramref name="fields"/> (or, failing that, the resource).</summary>
    public bool Matches(Attributes fields, Attributes? resource)
    {
        foreach (var (key, expected) in _match)
        {
            var found = fields.TryGet(key, out var value) || (resource?.TryGet(key, out value) ?? false);
            if (!found || value.Text != expected)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The value to record: the value field's number, or <paramref name="fallback"/> when there is no value field.</summary>
    public double? ValueOf(Attributes fields, double fallback)
    {
        if (ValueField is null)
        {
            return fallback;
        }

        return fields.TryGet(ValueField, out var value) ? value.Number : null;
    }

    /// <summary>The series for the labels found in <paramref name="fields"/> (then the resource).</summary>
    public Series? SeriesFor(Attributes fields, Attributes? resource, MetricRegistry registry)
    {
        var key = new string[_labels.Length];
        for (var i = 0; i < _labels.Length; i++)
        {
            var found = fields.TryGet(_labels[i], out var value) || (resource?.TryGet(_labels[i], out value) ?? false);
            key[i] = found ? LabelValues.Cap(registry, value.Text) : "";
        }

        return Family.GetOrAdd(key);
    }

    /// <summary>Records <paramref name="value"/> the way the metric's type asks: added, set or observed.</summary>
    public void Record(Series series, double value, MetricRegistry registry)
    {
        switch (Family.Type)
        {
            case MetricType.Counter when value < 0 || double.IsNaN(value):
                registry.CountDrop(DropReason.NegativeCounterIncrement);
                break;
            case MetricType.Counter:
                series.Add(value);
                break;
            case MetricType.Gauge:
                series.Set(value);
                break;
            default:
                series.Observe(value);
                break;
        }
    }
}
