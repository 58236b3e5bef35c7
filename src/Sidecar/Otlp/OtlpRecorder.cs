using System.Text;
using AgentMetrics.Api.Catalog;
using AgentMetrics.Sidecar.Custom;
using AgentMetrics.Sidecar.Ingest;
using AgentMetrics.Sidecar.Metrics;

namespace AgentMetrics.Sidecar.Otlp;

/// <summary>
/// Records OTLP metrics. A metric an AgentMetricDefinition claims feeds that custom metric; one named
/// by the GenAI conventions feeds its standard metric; any other is passed through under its
/// Prometheus name. Cumulative streams are turned into increments per stream (a restart of the agent,
/// seen as a new start time or a value going down, counts from zero again), so several streams can
/// feed one series and delta and cumulative temporality give the same result.
/// </summary>
public sealed class OtlpRecorder
{
    /// <summary>Resource attributes that become labels of passed-through metrics unless configured otherwise.</summary>
    public static readonly IReadOnlyList<string> DefaultPromotedResourceAttributes =
        ["service.name", "service.namespace", "service.version", "deployment.environment", "deployment.environment.name"];

    private const int MaxPassThroughBuckets = 64;

    private static readonly Dictionary<string, string> UnitSuffixes = new(StringComparer.Ordinal)
    {
        ["s"] = "seconds",
        ["ms"] = "milliseconds",
        ["us"] = "microseconds",
        ["ns"] = "nanoseconds",
        ["By"] = "bytes",
        ["KiBy"] = "kibibytes",
        ["MiBy"] = "mebibytes",
        ["%"] = "percent",
    };

    private readonly MetricRegistry _registry;
    private readonly CustomMetrics _custom;
    private readonly IReadOnlyList<string> _promoted;
    private readonly Dictionary<string, MetricSpec> _conventions;
    private readonly Dictionary<string, StreamState> _streams = new(StringComparer.Ordinal);
    private readonly Lock _streamsGate = new();

    /// <summary>Creates a recorder; <paramref name="promotedResourceAttributes"/> become labels of passed-through metrics.</summary>
    public OtlpRecorder(MetricRegistry registry, CustomMetrics custom, IReadOnlyList<string>? promotedResourceAttributes = null)
    {
        _registry = registry;
        _custom = custom;
        _promoted = promotedResourceAttributes ?? DefaultPromotedResourceAttributes;
        _conventions = BuiltInMetrics.All.Where(m => m.Convention is not null).ToDictionary(m => m.Convention!, StringComparer.Ordinal);
    }

    /// <summary>Records a decoded request; returns how many data points could not be recorded.</summary>
    public long Record(List<OtlpResourceMetrics> request)
    {
        long rejected = 0;
        long accepted = 0;
        var set = _custom.Current;
        foreach (var resource in request)
        {
            foreach (var metric in resource.Metrics)
            {
                var route = RouteOf(metric, set);
                foreach (var point in metric.Points)
                {
                    if ((point.Flags & OtlpPoint.NoRecordedValue) != 0)
                    {
                        continue;
                    }

                    if (RecordPoint(metric, point, resource.Resource, route))
                    {
                        accepted++;
                    }
                    else
                    {
                        rejected++;
                    }
                }
            }
        }

        _registry.Self.Received("otlp_point", accepted);
        return rejected;
    }

    /// <summary>Where a metric's points go, worked out once per metric rather than once per point.</summary>
    private readonly record struct Route(CustomMetric[] Customs, MetricFamily? BuiltIn, string PassThroughName, MetricType Type);

    private Route RouteOf(OtlpMetric metric, CustomMetricSet set)
    {
        var type = TypeOf(metric);
        var name = PrometheusName(metric, type);

        // A metric the GenAI conventions name, or one whose Prometheus name is a standard agent metric's
        // (agent.queue.depth is agent_queue_depth), feeds that metric under its declared labels.
        var builtIn = _conventions.TryGetValue(metric.Name, out var convention)
            ? _registry.Find(convention.Name)
            : _registry.Find(name) is { Spec.Origin: FamilyOrigin.BuiltIn } named && named.Type == type ? named : null;
        return new Route(set.ForOtlpMetric(metric.Name), builtIn, name, type);
    }

    private bool RecordPoint(OtlpMetric metric, OtlpPoint point, Attributes resource, Route route)
    {
        if (metric.Kind is OtlpDataKind.Summary or OtlpDataKind.None || metric.Name.Length == 0
            || (metric.Kind is OtlpDataKind.Sum or OtlpDataKind.Gauge && !point.HasValue)
            || (metric.Kind is OtlpDataKind.Sum or OtlpDataKind.Histogram or OtlpDataKind.ExponentialHistogram
                && metric.Temporality is not (Temporality.Delta or Temporality.Cumulative)))
        {
            _registry.CountDrop(DropReason.UnsupportedPoint);
            return false;
        }

        var customs = route.Customs;
        if (customs.Length > 0)
        {
            var recorded = true;
            foreach (var custom in customs)
            {
                if (custom.Matches(point.Attributes, resource))
                {
                    recorded &= RecordCustom(custom, metric, point, resource);
                }
            }

            return recorded;
        }

        var builtIn = route.BuiltIn;
        if (builtIn is not null)
        {
            var labels = builtIn.Spec.Labels!;
            var key = new string[labels.Count];
            for (var i = 0; i < key.Length; i++)
            {
                key[i] = LabelValues.Cap(_registry, point.Attributes.Text(labels[i]));
            }

            return builtIn.GetOrAdd(key) is { } series && Apply(series, metric, point, metric.Name, resource);
        }

        return PassThrough(metric, point, resource, route);
    }

    private bool RecordCustom(CustomMetric custom, OtlpMetric metric, OtlpPoint point, Attributes resource)
    {
        if (custom.SeriesFor(point.Attributes, resource, _registry) is not { } series)
        {
            return false;
        }

        var isNumber = metric.Kind is OtlpDataKind.Sum or OtlpDataKind.Gauge;
        if (custom.ValueField is not null || (isNumber && custom.Family.Type == MetricType.Histogram))
        {
            // A value read from an attribute, or a number observed into a histogram: one sample per point.
            if (custom.ValueOf(point.Attributes, point.Value) is not { } value || !double.IsFinite(value))
            {
                _registry.CountDrop(DropReason.UnsupportedPoint);
                return false;
            }

            custom.Record(series, value, _registry);
            return true;
        }

        if (!isNumber && custom.Family.Type != MetricType.Histogram)
        {
            _registry.CountDrop(DropReason.UnsupportedPoint);
            return false;
        }

        return Apply(series, metric, point, custom.Family.Name + "\u0002" + metric.Name, resource);
    }

    private bool PassThrough(OtlpMetric metric, OtlpPoint point, Attributes resource, Route route)
    {
        var (type, name) = (route.Type, route.PassThroughName);
        var family = _registry.Find(name);
        if (family is null)
        {
            double[] bounds = type != MetricType.Histogram ? []
                : metric.Kind == OtlpDataKind.Histogram && point.ExplicitBounds.Count is > 0 and <= MaxPassThroughBuckets && IsAscending(point.ExplicitBounds)
                    ? [.. point.ExplicitBounds]
                    : CustomMetric.DefaultBuckets;
            var help = metric.Description.Length > 0 ? metric.Description : $"OTLP metric {metric.Name}.";
            family = _registry.GetOrDefine(new FamilySpec(name, type, help, null, null, bounds, _registry.Limits.DefaultSeriesLimit, FamilyOrigin.Otlp));
        }

        if (family is null || family.Type != type || family.Spec.Labels is not null)
        {
            if (family is not null)
            {
                _registry.CountDrop(DropReason.TypeConflict);
            }

            return false;
        }

        return family.GetOrAdd(PassThroughKey(point.Attributes, resource)) is { } series
            && Apply(series, metric, point, metric.Name, resource);
    }

    /// <summary>Sorted label pairs: the point's attributes, then promoted resource attributes; identity labels win clashes.</summary>
    private string[] PassThroughKey(Attributes attributes, Attributes resource)
    {
        var labels = new List<(string Key, string Value, int Order)>(attributes.Count + 2);
        foreach (var (key, value) in attributes.Items)
        {
            labels.Add((Exported(LabelNames.Translate(key)), LabelValues.Cap(_registry, value.Text), labels.Count));
        }

        foreach (var key in _promoted)
        {
            if (resource.TryGet(key, out var value))
            {
                labels.Add((Exported(LabelNames.Translate(key)), LabelValues.Cap(_registry, value.Text), labels.Count));
            }
        }

        // Sorted by name; where two attributes become one label, the first (a point's own before the resource's) wins.
        labels.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key) is var byName and not 0 ? byName : a.Order.CompareTo(b.Order));
        var pairs = new List<string>(labels.Count * 2);
        for (var i = 0; i < labels.Count; i++)
        {
            if (i > 0 && labels[i].Key == labels[i - 1].Key)
            {
                continue;
            }

            pairs.Add(labels[i].Key);
            pairs.Add(labels[i].Value);
        }

        return [.. pairs];
    }

    private string Exported(string label)
    {
        if (label.StartsWith("__", StringComparison.Ordinal))
        {
            label = "_" + label.TrimStart('_');
        }

        var identity = _registry.IdentityPairs;
        for (var i = 0; i < identity.Length; i += 2)
        {
            if (identity[i] == label || label == "le")
            {
                return "exported_" + label;
            }
        }

        return label;
    }

    private static MetricType TypeOf(OtlpMetric metric) => metric.Kind switch
    {
        OtlpDataKind.Sum when metric.Monotonic => MetricType.Counter,
        OtlpDataKind.Sum or OtlpDataKind.Gauge => MetricType.Gauge,
        _ => MetricType.Histogram,
    };

    private static string PrometheusName(OtlpMetric metric, MetricType type)
    {
        var name = LabelNames.TranslateMetric(metric.Name);
        if (UnitSuffixes.TryGetValue(metric.Unit, out var suffix) && !name.EndsWith("_" + suffix, StringComparison.Ordinal))
        {
            name += "_" + suffix;
        }
        else if (metric.Unit == "1" && type == MetricType.Gauge && !name.EndsWith("_ratio", StringComparison.Ordinal))
        {
            name += "_ratio";
        }

        while (type == MetricType.Counter && name.EndsWith("_total", StringComparison.Ordinal) && name.Length > 6)
        {
            name = name[..^6];
        }

        return name;
    }

    /// <summary>Adds one point to a series, turning a cumulative stream (named <paramref name="stream"/> plus its attributes) into increments.</summary>
    private bool Apply(Series series, OtlpMetric metric, OtlpPoint point, string stream, Attributes resource)
    {
        var family = series.Family;
        if (metric.Kind == OtlpDataKind.Gauge)
        {
            if (family.Type == MetricType.Histogram)
            {
                series.Observe(point.Value);
            }
            else
            {
                series.Set(point.Value);
            }

            return true;
        }

        if (metric.Kind == OtlpDataKind.Sum)
        {
            var delta = metric.Temporality == Temporality.Delta ? point.Value : SumDelta(StreamKey(stream, resource, point), point, metric.Monotonic);
            if (delta is null)
            {
                return false;
            }

            if (family.Type == MetricType.Counter && (delta < 0 || double.IsNaN(delta.Value)))
            {
                _registry.CountDrop(DropReason.NegativeCounterIncrement);
                return false;
            }

            if (family.Type == MetricType.Histogram)
            {
                series.Observe(point.Value);
            }
            else if (delta != 0)
            {
                series.Add(delta.Value);
            }

            return true;
        }

        if (family.Type != MetricType.Histogram)
        {
            _registry.CountDrop(DropReason.UnsupportedPoint);
            return false;
        }

        Span<long> mapped = family.Bounds.Length < 128 ? stackalloc long[family.Bounds.Length + 1] : new long[family.Bounds.Length + 1];
        Rebucket(point, metric.Kind, family.Bounds, mapped);
        var sum = double.IsFinite(point.Sum) ? point.Sum : 0;
        if (metric.Temporality == Temporality.Cumulative && !HistogramDelta(StreamKey(stream, resource, point), point, mapped, ref sum))
        {
            return false;
        }

        series.AddBuckets(mapped, sum);
        return true;
    }

    private double? SumDelta(string key, OtlpPoint point, bool monotonic)
    {
        lock (_streamsGate)
        {
            if (!_streams.TryGetValue(key, out var state))
            {
                if (_streams.Count >= _registry.Limits.MaxSeries)
                {
                    _registry.CountDrop(DropReason.TotalSeriesLimit);
                    return null;
                }

                _streams[key] = new StreamState { Start = point.StartTimeUnixNano, Last = point.Value };
                return point.Value;
            }

            var reset = state.Start != point.StartTimeUnixNano || (monotonic && point.Value < state.Last);
            var delta = reset ? point.Value : point.Value - state.Last;
            state.Start = point.StartTimeUnixNano;
            state.Last = point.Value;
            return delta;
        }
    }

    private bool HistogramDelta(string key, OtlpPoint point, Span<long> counts, ref double sum)
    {
        lock (_streamsGate)
        {
            if (!_streams.TryGetValue(key, out var state))
            {
                if (_streams.Count >= _registry.Limits.MaxSeries)
                {
                    _registry.CountDrop(DropReason.TotalSeriesLimit);
                    return false;
                }

                _streams[key] = new StreamState { Start = point.StartTimeUnixNano, Last = sum, Buckets = counts.ToArray() };
                return true;
            }

            var reset = state.Start != point.StartTimeUnixNano || state.Buckets is null || state.Buckets.Length != counts.Length;
            for (var i = 0; !reset && i < counts.Length; i++)
            {
                reset = counts[i] < state.Buckets![i];
            }

            var current = counts.ToArray();
            var currentSum = sum;
            if (!reset)
            {
                for (var i = 0; i < counts.Length; i++)
                {
                    counts[i] -= state.Buckets![i];
                }

                sum -= state.Last;
            }

            state.Start = point.StartTimeUnixNano;
            state.Last = currentSum;
            state.Buckets = current;
            return true;
        }
    }

    /// <summary>Puts each incoming bucket's count into the family bucket that holds its upper bound.</summary>
    private static void Rebucket(OtlpPoint point, OtlpDataKind kind, double[] bounds, Span<long> mapped)
    {
        if (kind == OtlpDataKind.Histogram)
        {
            for (var i = 0; i < point.BucketCounts.Count; i++)
            {
                var upper = i < point.ExplicitBounds.Count ? point.ExplicitBounds[i] : double.PositiveInfinity;
                mapped[IndexOf(bounds, upper)] += (long)Math.Min(point.BucketCounts[i], long.MaxValue);
            }

            return;
        }

        // Exponential: bucket k holds (base^k, base^(k+1)] with base = 2^(2^-scale).
        var scaleFactor = Math.Pow(2, -Math.Clamp(point.Scale, -10, 20));
        mapped[IndexOf(bounds, 0)] += (long)Math.Min(point.ZeroCount, long.MaxValue);
        for (var i = 0; i < point.PositiveCounts.Count; i++)
        {
            var upper = Math.Pow(2, (point.PositiveOffset + i + 1) * scaleFactor);
            mapped[IndexOf(bounds, upper)] += (long)Math.Min(point.PositiveCounts[i], long.MaxValue);
        }

        for (var i = 0; i < point.NegativeCounts.Count; i++)
        {
            var upper = -Math.Pow(2, (point.NegativeOffset + i) * scaleFactor);
            mapped[IndexOf(bounds, upper)] += (long)Math.Min(point.NegativeCounts[i], long.MaxValue);
        }
    }

    private static int IndexOf(double[] bounds, double upper)
    {
        var index = 0;
        while (index < bounds.Length && upper > bounds[index])
        {
            index++;
        }

        return index;
    }

    private static bool IsAscending(List<double> bounds)
    {
        for (var i = 0; i < bounds.Count; i++)
        {
            if (!double.IsFinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1]))
            {
                return false;
            }
        }

        return true;
    }

    private static string StreamKey(string name, Attributes resource, OtlpPoint point)
    {
        var key = new StringBuilder(name);
        foreach (var (k, v) in resource.Items)
        {
            key.Append('\u0000').Append(k).Append('=').Append(v.Text);
        }

        key.Append('\u0001');
        foreach (var (k, v) in point.Attributes.Items)
        {
            key.Append('\u0000').Append(k).Append('=').Append(v.Text);
        }

        return key.ToString();
    }

    private sealed class StreamState
    {
        public ulong Start { get; set; }

        public double Last { get; set; }

        public long[]? Buckets { get; set; }
    }
}
