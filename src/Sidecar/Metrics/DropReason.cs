namespace AgentMetrics.Sidecar.Metrics;

/// <summary>Why the sidecar dropped a sample or part of one; the value of the <c>reason</c> label of its drop counter.</summary>
public enum DropReason
{
    /// <summary>The agent already has the most metrics it may have.</summary>
    MetricLimit,

    /// <summary>The metric already has the most series its limit allows.</summary>
    SeriesLimit,

    /// <summary>The sidecar holds the most series it may hold in all.</summary>
    TotalSeriesLimit,

    /// <summary>A label value was longer than the cap and was cut short (the sample was kept).</summary>
    LabelValueTruncated,

    /// <summary>A sample named a metric that already exists with another type or buckets.</summary>
    TypeConflict,

    /// <summary>An observation named a custom metric no definition declares.</summary>
    UndefinedMetric,

    /// <summary>An OTLP point carried no value, an unsupported type (summary) or a bad temporality.</summary>
    UnsupportedPoint,

    /// <summary>A counter was asked to go down.</summary>
    NegativeCounterIncrement,

    /// <summary>The remote-write store refused a batch for good (a 4xx other than 429).</summary>
    RemoteWriteRejected,
}

/// <summary>The label values of <see cref="DropReason"/>.</summary>
public static class DropReasons
{
    /// <summary>Every reason with its label value.</summary>
    public static readonly IReadOnlyList<(DropReason Reason, string Label)> All =
    [
        (DropReason.MetricLimit, "metric_limit"),
        (DropReason.SeriesLimit, "series_limit"),
        (DropReason.TotalSeriesLimit, "total_series_limit"),
        (DropReason.LabelValueTruncated, "label_value_truncated"),
        (DropReason.TypeConflict, "type_conflict"),
        (DropReason.UndefinedMetric, "undefined_metric"),
        (DropReason.UnsupportedPoint, "unsupported_point"),
        (DropReason.NegativeCounterIncrement, "negative_counter_increment"),
        (DropReason.RemoteWriteRejected, "remote_write_rejected"),
    ];

    /// <summary>The label value of <paramref name="reason"/>.</summary>
    public static string Label(DropReason reason) => All[(int)reason].Label;
}
