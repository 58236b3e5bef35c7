using AgentMetrics.Sidecar.Ingest;

namespace AgentMetrics.Sidecar.Otlp;

/// <summary>The OTLP metric data kinds.</summary>
public enum OtlpDataKind
{
    None,
    Gauge,
    Sum,
    Histogram,
    ExponentialHistogram,
    Summary,
}

/// <summary>OTLP aggregation temporality (values as in the protocol).</summary>
public enum Temporality
{
    Unspecified = 0,
    Delta = 1,
    Cumulative = 2,
}

/// <summary>The metrics of one resource, as an OTLP export request carries them.</summary>
public sealed class OtlpResourceMetrics
{
    public Attributes Resource { get; set; } = new();

    public List<OtlpMetric> Metrics { get; } = [];
}

/// <summary>One OTLP metric with its data points.</summary>
public sealed class OtlpMetric
{
    public string Name { get; set; } = "";

    public string Description { get; set; } = "";

    public string Unit { get; set; } = "";

    public OtlpDataKind Kind { get; set; }

    public Temporality Temporality { get; set; }

    public bool Monotonic { get; set; }

    public List<OtlpPoint> Points { get; } = [];
}

/// <summary>
/// One data point of any kind: a number (gauge, sum), an explicit-bucket histogram or an exponential
/// histogram; which fields are set follows the metric's kind. The bucket lists are created on first
/// use, so number points (most of them) do not carry four empty lists.
/// </summary>
public sealed class OtlpPoint
{
    /// <summary>The flag that marks a point without a recorded value.</summary>
    public const uint NoRecordedValue = 1;

    public Attributes Attributes { get; set; } = new();

    public ulong StartTimeUnixNano { get; set; }

    public ulong TimeUnixNano { get; set; }

    public double Value { get; set; }

    public bool HasValue { get; set; }

    public ulong Count { get; set; }

    public double Sum { get; set; }

    public List<double> ExplicitBounds => field ??= [];

    public List<ulong> BucketCounts => field ??= [];

    public int Scale { get; set; }

    public ulong ZeroCount { get; set; }

    public int PositiveOffset { get; set; }

    public List<ulong> PositiveCounts => field ??= [];

    public int NegativeOffset { get; set; }

    public List<ulong> NegativeCounts => field ??= [];

    public uint Flags { get; set; }
}

/// <summary>The spans of one resource.</summary>
public sealed class OtlpResourceSpans
{
    public Attributes Resource { get; set; } = new();

    public List<OtlpSpan> Spans { get; } = [];
}

/// <summary>One span: what the GenAI conventions need of it.</summary>
public sealed class OtlpSpan
{
    /// <summary>The status code for an error, as in the protocol.</summary>
    public const int StatusError = 2;

    public string Name { get; set; } = "";

    public ulong StartTimeUnixNano { get; set; }

    public ulong EndTimeUnixNano { get; set; }

    public Attributes Attributes { get; set; } = new();

    public int StatusCode { get; set; }

    public string StatusMessage { get; set; } = "";

    /// <summary>Duration in seconds, zero when the end precedes the start.</summary>
    public double DurationSeconds => EndTimeUnixNano > StartTimeUnixNano ? (EndTimeUnixNano - StartTimeUnixNano) / 1e9 : 0;
}
