using AgentMetrics.Sidecar.Metrics;

namespace AgentMetrics.Sidecar.Ingest;

/// <summary>Applies the label-value length cap, counting every value cut short.</summary>
public static class LabelValues
{
    /// <summary><paramref name="value"/>, cut to the registry's cap (the cut counted), or "" for null.</summary>
    public static string Cap(MetricRegistry registry, string? value)
    {
        if (value is null)
        {
            return "";
        }

        var max = registry.Limits.MaxLabelValueLength;
        if (value.Length <= max)
        {
            return value;
        }

        registry.CountDrop(DropReason.LabelValueTruncated);
        // Never cut a surrogate pair in half: the exposition must stay valid UTF-8.
        var cut = char.IsHighSurrogate(value[max - 1]) ? max - 1 : max;
        return value[..cut];
    }
}
