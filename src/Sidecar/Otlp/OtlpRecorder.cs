using System.Collections.Concurrent;
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

    /// <summary>Attribute keys whose label names are remembered; past that many, names are worked out each time.</summary>
    private const int MaxCachedLabelNames = 10_000;

    /// <summary>Per-thread room for a series key being put together, so looking up an existing series allocates nothing.</summary>
    [ThreadStatic]
    private static string[]? t_key;

    [ThreadStatic]
    private static Label[]? t_labels;

    private readonly MetricRegistry _registry;
    private readonly CustomMetrics _custom;
    private readonly IReadOnlyList<string> _promoted;
    private readonly Dictionary<string, MetricSpec> _conventions;
    private readonly string[] _promotedLabels;
    private readonly ConcurrentDictionary<string, string> _labelNames = new(StringComparer.Ordinal);
    private readonly Func<bool> _admitStream;
    private int _labelNameCount;
    private int _streamCount;

    /// <summary>Creates a recorder; <paramref name="promotedResourceAttributes"/> become labels of passed-through metrics.</summary>
    public OtlpRecorder(MetricRegistry registry, CustomMetrics custom, IReadOnlyList<string>? promotedResourceAttributes = null)
    {
        _registry = registry;
        _custom = custom;
        _promoted = promotedResourceAttributes ?? DefaultPromotedResourceAttributes;
        _conventions = BuiltInMetrics.All.Where(m => m.Convention is not null).ToDictionary(m => m.Convention!, StringComparer.Ordinal);
        _promotedLabels = [.. _promoted.Select(key => Exported(LabelNames.Translate(key)))];
        _admitStream = AdmitStream;
        custom.SeriesRemoved += ForgetStreams;
    }

    /// <summary>Records a decoded request; returns how many data points could not be recorded.</summary>
    public long Record(List<OtlpResourceMetrics> request)
    {
        long rejected = 0;
        long accepted = 0;
        var set = _custom.Current;
        foreach (var resourceMetrics in request)
        {
            var resource = new OtlpResource(resourceMetrics.Resource);
            foreach (var metric in resourceMetrics.Metrics)
            {
                var route = RouteOf(metric, set);
                foreach (var point in metric.Points)
                {
                    if ((point.Flags & OtlpPoint.NoRecordedValue) != 0)
                    {
                        continue;
                    }

                    if (RecordPoint(metric, point, resource, ref route))
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
    private record struct Route(CustomMetric[] Customs, MetricFamily? BuiltIn, string PassThroughName, MetricType Type, double Factor, MetricAlias? Alias = null)
    {
        /// <summary>The pass-through family, once a point has found or defined it.</summary>
        public MetricFamily? PassThrough { get; set; }
    }

    /// <summary>A label of a passed-through series, with its place among the attributes (the first of two that clash wins).</summary>
    private readonly record struct Label(string Name, string Value, int Order);

    private Route RouteOf(OtlpMetric metric, CustomMetricSet set)
    {
        var type = TypeOf(metric);
        var unit = OtlpUnit.Of(metric.Unit);
        var name = PrometheusName(metric, type, unit);

        // A metric the GenAI conventions name (directly or through the alias table), or one whose Prometheus
        // name is a standard agent metric's (agent.queue.depth is agent_queue_depth), feeds that metric
        // under its declared labels.
        var alias = Conventions.MetricAlias(metric.Name);
        var builtIn = _conventions.TryGetValue(alias?.Feeds ?? metric.Name, out var convention)
            ? _registry.Find(convention.Name)
            : _registry.Find(name) is { Spec.Origin: FamilyOrigin.BuiltIn } named && named.Type == type ? named : null;
        return new Route(set.ForOtlpMetric(metric.Name), builtIn, name, type, unit.Factor, alias);
    }

    private bool RecordPoint(OtlpMetric metric, OtlpPoint point, OtlpResource resource, ref Route route)
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
                if (custom.Matches(point.Attributes, resource.Attributes))
                {
                    recorded &= RecordCustom(custom, metric, point, resource);
                }
            }

            return recorded;
        }

        var builtIn = route.BuiltIn;
        if (builtIn is not null)
        {
            // A standard metric has a unit of its own: a value in another unit of the same kind is
            // converted (ms to seconds), one in a unit of another kind cannot be and is dropped.
            var unit = OtlpUnit.Of(metric.Unit);
            if (unit.BaseUnit is not null && builtIn.Spec.Unit != unit.BaseUnit)
            {
                _registry.CountDrop(DropReason.UnsupportedPoint);
                return false;
            }

            var labels = builtIn.Spec.Labels!;
            var key = Scratch(ref t_key, labels.Count);
            var alias = route.Alias;
            for (var i = 0; i < labels.Count; i++)
            {
                // A per-direction token histogram says its gen_ai_token_type by its name, not by an attribute.
                key[i] = alias?.FixedLabel == labels[i]
                    ? alias.FixedValue!
                    : LabelValues.Cap(_registry, Conventions.Text(point.Attributes, labels[i]));
            }

            return builtIn.GetOrAdd(key.AsSpan(0, labels.Count)) is { } series && Apply(series, metric, point, resource, route.Factor);
        }

        return PassThrough(metric, point, resource, ref route);
    }

    private bool RecordCustom(CustomMetric custom, OtlpMetric metric, OtlpPoint point, OtlpResource resource)
    {
        if (custom.SeriesFor(point.Attributes, resource.Attributes, _registry) is not { } series)
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

        return Apply(series, metric, point, resource);
    }

    private bool PassThrough(OtlpMetric metric, OtlpPoint point, OtlpResource resource, ref Route route)
    {
        var (type, name) = (route.Type, route.PassThroughName);
        var family = route.PassThrough ??= _registry.Find(name);
        if (family is null)
        {
            var factor = route.Factor;
            double[] bounds = type != MetricType.Histogram ? []
                : metric.Kind == OtlpDataKind.Histogram && point.ExplicitBounds.Count is > 0 and <= MaxPassThroughBuckets && IsAscending(point.ExplicitBounds)
                    ? [.. point.ExplicitBounds.Select(b => b * factor)]
                    : metric.Kind == OtlpDataKind.ExponentialHistogram && ExponentialBounds(point, factor) is { } exponential
                        ? exponential
                        : CustomMetric.DefaultBuckets;
            var help = metric.Description.Length > 0 ? metric.Description : $"OTLP metric {metric.Name}.";
            family = route.PassThrough = _registry.GetOrDefine(new FamilySpec(name, type, help, null, null, bounds, _registry.Limits.DefaultSeriesLimit, FamilyOrigin.Otlp));
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
            && Apply(series, metric, point, resource, route.Factor);
    }

    /// <summary>
    /// Sorted label pairs: the point's attributes, then promoted resource attributes; identity labels win
    /// clashes. Put together in per-thread room, valid until the next call on the thread.
    /// </summary>
    private ReadOnlySpan<string> PassThroughKey(Attributes attributes, OtlpResource resource)
    {
        var promoted = resource.PromotedLabels ??= PromotedLabels(resource.Attributes);
        var labels = Scratch(ref t_labels, attributes.Count + promoted.Length);
        var count = 0;
        foreach (var (key, value) in attributes.AsSpan())
        {
            labels[count] = new(LabelName(key), LabelValues.Cap(_registry, value.Text), count);
            count++;
        }

        foreach (var (name, value) in promoted)
        {
            labels[count] = new(name, value, count);
            count++;
        }

        // Sorted by name; where two attributes become one label, the first (a point's own before the resource's) wins.
        // Insertion sort: a handful of labels, and no comparer to allocate.
        for (var i = 1; i < count; i++)
        {
            var label = labels[i];
            var j = i - 1;
            for (; j >= 0 && string.CompareOrdinal(labels[j].Name, label.Name) > 0; j--)
            {
                labels[j + 1] = labels[j];
            }

            labels[j + 1] = label;
        }

        var pairs = Scratch(ref t_key, count * 2);
        var length = 0;
        for (var i = 0; i < count; i++)
        {
            if (i > 0 && labels[i].Name == labels[i - 1].Name)
            {
                continue;
            }

            pairs[length++] = labels[i].Name;
            pairs[length++] = labels[i].Value;
        }

        return pairs.AsSpan(0, length);
    }

    /// <summary>The labels the promoted resource attributes become, worked out once per resource and request.</summary>
    private KeyValuePair<string, string>[] PromotedLabels(Attributes resource)
    {
        var labels = new List<KeyValuePair<string, string>>();
        for (var i = 0; i < _promoted.Count; i++)
        {
            if (resource.TryGet(_promoted[i], out var value))
            {
                labels.Add(new(_promotedLabels[i], LabelValues.Cap(_registry, value.Text)));
            }
        }

        return [.. labels];
    }

    /// <summary>
    /// The label name an attribute key becomes, remembered for the keys agents send again and again.
    /// A key that is a label name as it stands is remembered too, so the series made from many requests
    /// share one copy of the name rather than each keeping the string its request was decoded into.
    /// </summary>
    private string LabelName(string key)
    {
        if (_labelNames.TryGetValue(key, out var name))
        {
            return name;
        }

        var current = Conventions.CurrentKey(key);
        name = IsOwnLabelName(current) ? current : Exported(LabelNames.Translate(current));
        if (Volatile.Read(ref _labelNameCount) < MaxCachedLabelNames && _labelNames.TryAdd(key, name))
        {
            Interlocked.Increment(ref _labelNameCount);
        }

        return name;
    }

    /// <summary>Whether a key is a label name as it stands: nothing to translate, no clash with an identity label or le.</summary>
    private bool IsOwnLabelName(string key)
    {
        if (key.Length == 0 || char.IsAsciiDigit(key[0]) || key.StartsWith("__", StringComparison.Ordinal) || key == "le")
        {
            return false;
        }

        foreach (var c in key)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_')
            {
                return false;
            }
        }

        var identity = _registry.IdentityPairs;
        for (var i = 0; i < identity.Length; i += 2)
        {
            if (identity[i] == key)
            {
                return false;
            }
        }

        return true;
    }

    private static T[] Scratch<T>(ref T[]? room, int length)
    {
        if (room is null || room.Length < length)
        {
            room = new T[Math.Max(length, 16)];
        }

        return room;
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

    private static string PrometheusName(OtlpMetric metric, MetricType type, OtlpUnit unit)
    {
        var name = LabelNames.TranslateMetric(metric.Name);
        if (unit.BaseUnit is { } suffix && !name.EndsWith("_" + suffix, StringComparison.Ordinal))
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

    /// <summary>Adds one point to a series, turning a cumulative stream into increments; values are multiplied by <paramref name="factor"/> (the unit's conversion).</summary>
    private bool Apply(Series series, OtlpMetric metric, OtlpPoint point, OtlpResource resource, double factor = 1)
    {
        var family = series.Family;
        if (metric.Kind == OtlpDataKind.Gauge)
        {
            if (family.Type == MetricType.Histogram)
            {
                series.Observe(point.Value * factor);
            }
            else
            {
                series.Set(point.Value * factor);
            }

            return true;
        }

        if (metric.Kind == OtlpDataKind.Sum)
        {
            var delta = point.Value;
            if (metric.Temporality != Temporality.Delta
                && !series.State<CumulativeStreams>().TrySumDelta(metric.Name, resource, point, metric.Monotonic, _admitStream, out delta))
            {
                return false;
            }

            if (family.Type == MetricType.Counter && (delta < 0 || double.IsNaN(delta)))
            {
                _registry.CountDrop(DropReason.NegativeCounterIncrement);
                return false;
            }

            if (family.Type == MetricType.Histogram)
            {
                series.Observe(point.Value * factor);
            }
            else if (delta != 0)
            {
                series.Add(delta * factor);
            }

            return true;
        }

        if (family.Type != MetricType.Histogram)
        {
            _registry.CountDrop(DropReason.UnsupportedPoint);
            return false;
        }

        Span<long> mapped = family.Bounds.Length < 128 ? stackalloc long[family.Bounds.Length + 1] : new long[family.Bounds.Length + 1];
        Rebucket(point, metric.Kind, family.Bounds, mapped, factor);
        var sum = double.IsFinite(point.Sum) ? point.Sum * factor : 0;
        if (metric.Temporality == Temporality.Cumulative
            && !series.State<CumulativeStreams>().TryHistogramDelta(metric.Name, resource, point, mapped, ref sum, _admitStream))
        {
            return false;
        }

        series.AddBuckets(mapped, sum);
        return true;
    }

    /// <summary>Counts a new cumulative stream against the total series limit, or refuses it (the drop counted).</summary>
    private bool AdmitStream()
    {
        if (Interlocked.Increment(ref _streamCount) <= _registry.Limits.MaxSeries)
        {
            return true;
        }

        Interlocked.Decrement(ref _streamCount);
        _registry.CountDrop(DropReason.TotalSeriesLimit);
        return false;
    }

    /// <summary>The streams of removed series no longer count toward the limit.</summary>
    private void ForgetStreams(Series[] removed)
    {
        foreach (var series in removed)
        {
            Interlocked.Add(ref _streamCount, -series.StateSources);
        }
    }

    /// <summary>Puts each incoming bucket's count into the family bucket that holds its upper bound.</summary>
    private static void Rebucket(OtlpPoint point, OtlpDataKind kind, double[] bounds, Span<long> mapped, double factor)
    {
        if (kind == OtlpDataKind.Histogram)
        {
            for (var i = 0; i < point.BucketCounts.Count; i++)
            {
                var upper = i < point.ExplicitBounds.Count ? point.ExplicitBounds[i] * factor : double.PositiveInfinity;
                mapped[Series.BucketOf(bounds, upper)] += (long)Math.Min(point.BucketCounts[i], long.MaxValue);
            }

            return;
        }

        // Exponential: bucket k holds (base^k, base^(k+1)] with base = 2^(2^-scale).
        var scaleFactor = Math.Pow(2, -Math.Clamp(point.Scale, -10, 20));
        mapped[Series.BucketOf(bounds, 0)] += (long)Math.Min(point.ZeroCount, long.MaxValue);
        for (var i = 0; i < point.PositiveCounts.Count; i++)
        {
            var upper = Math.Pow(2, (point.PositiveOffset + i + 1) * scaleFactor) * factor;
            mapped[Series.BucketOf(bounds, upper)] += (long)Math.Min(point.PositiveCounts[i], long.MaxValue);
        }

        for (var i = 0; i < point.NegativeCounts.Count; i++)
        {
            var upper = -Math.Pow(2, (point.NegativeOffset + i) * scaleFactor) * factor;
            mapped[Series.BucketOf(bounds, upper)] += (long)Math.Min(point.NegativeCounts[i], long.MaxValue);
        }
    }

    /// <summary>
    /// Bounds for a passed-through exponential histogram, from its own scale: the upper bounds of the
    /// buckets its first point fills (every n-th when there are more than 64), in the converted unit,
    /// so millisecond or byte data keeps its resolution instead of landing in +Inf. Null when the point
    /// fills no positive bucket.
    /// </summary>
    private static double[]? ExponentialBounds(OtlpPoint point, double factor)
    {
        var count = point.PositiveCounts.Count;
        if (count == 0)
        {
            return null;
        }

        var scaleFactor = Math.Pow(2, -Math.Clamp(point.Scale, -10, 20));
        var stride = (count + MaxPassThroughBuckets - 1) / MaxPassThroughBuckets;
        var bounds = new List<double>(MaxPassThroughBuckets);
        for (var i = stride - 1; i < count; i += stride)
        {
            var bound = Math.Pow(2, (point.PositiveOffset + i + 1) * scaleFactor) * factor;
            if (double.IsFinite(bound) && (bounds.Count == 0 || bound > bounds[^1]))
            {
                bounds.Add(bound);
            }
        }

        return bounds.Count > 0 ? [.. bounds] : null;
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
}
