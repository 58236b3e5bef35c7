using System.Globalization;
using System.Text;
using AgentMetrics.Api.Catalog;

namespace AgentMetrics.Sidecar.Metrics;

/// <summary>Where a family comes from, which decides whether it counts toward the agent's metric limit.</summary>
public enum FamilyOrigin
{
    /// <summary>The shared catalog of standard agent metrics.</summary>
    BuiltIn,

    /// <summary>An AgentMetricDefinition that selects this pod.</summary>
    Custom,

    /// <summary>An OTLP metric no definition claims, passed through under its translated name.</summary>
    Otlp,

    /// <summary>The sidecar's own health and process metrics; never limited.</summary>
    Self,
}

/// <summary>
/// A metric family: name, type, help, unit, histogram bounds and its series. Label sets are looked up
/// without allocation once a series exists; new series are refused past the family's series limit
/// or the registry's total.
/// </summary>
public sealed class MetricFamily
{
    private const int MinSlots = 4;

    private readonly Lock _gate = new();
    private readonly MetricRegistry _registry;
    private Series[] _ordered = [];

    /// <summary>
    /// The series by key: open addressing with linear probing, at most half full. Slots are only ever
    /// filled (a full table is replaced by a larger copy), so a reader without the lock sees a series
    /// or an empty slot and never a torn entry; one that misses a series just added finds it under the
    /// lock. A slot costs a reference, where a dictionary entry costs a node object and its share of
    /// the bucket and lock tables, which for families of a few series is most of their size.
    /// </summary>
    private Series?[] _slots = new Series?[MinSlots];

    internal MetricFamily(MetricRegistry registry, FamilySpec spec)
    {
        _registry = registry;
        Spec = spec;
        var seriesName = spec.Type == MetricType.Counter ? spec.Name + "_total" : spec.Name;
        SampleName = Encoding.UTF8.GetBytes(seriesName);
        BucketName = Encoding.UTF8.GetBytes(spec.Name + "_bucket");
        SumName = Encoding.UTF8.GetBytes(spec.Name + "_sum");
        CountName = Encoding.UTF8.GetBytes(spec.Name + "_count");
        var type = spec.Type.ToString().ToLowerInvariant();
        TextHeader = Encoding.UTF8.GetBytes(
            $"# HELP {seriesName} {LabelText.EscapeHelp(spec.Help, openMetrics: false)}\n# TYPE {seriesName} {type}\n");
        var unit = spec.Unit is { Length: > 0 } u && spec.Name.EndsWith("_" + u, StringComparison.Ordinal) ? $"# UNIT {spec.Name} {u}\n" : "";
        OpenMetricsHeader = Encoding.UTF8.GetBytes(
            $"# TYPE {spec.Name} {type}\n{unit}# HELP {spec.Name} {LabelText.EscapeHelp(spec.Help, openMetrics: true)}\n");
        (LeLabels, LeValues) = registry.LeTexts(spec.Bounds);
    }

    /// <summary>What the family is.</summary>
    public FamilySpec Spec { get; }

    /// <summary>The family name (counters without <c>_total</c>).</summary>
    public string Name => Spec.Name;

    /// <summary>The metric type.</summary>
    public MetricType Type => Spec.Type;

    /// <summary>Histogram bucket upper bounds, +Inf excluded.</summary>
    public double[] Bounds => Spec.Bounds;

    /// <summary>The series, in the order they were created (stable from one scrape to the next).</summary>
    public ReadOnlySpan<Series> Series => Volatile.Read(ref _ordered);

    /// <summary>The series as an array that stays valid across awaits (never modified; replaced on change).</summary>
    internal Series[] SeriesSnapshot => Volatile.Read(ref _ordered);

    /// <summary>Number of series.</summary>
    public int SeriesCount => Volatile.Read(ref _ordered).Length;

    internal byte[] SampleName { get; }

    internal byte[] BucketName { get; }

    internal byte[] SumName { get; }

    internal byte[] CountName { get; }

    internal byte[] TextHeader { get; }

    internal byte[] OpenMetricsHeader { get; }

    internal byte[][] LeLabels { get; }

    internal string[] LeValues { get; }

    /// <summary>
    /// The series for <paramref name="key"/>: label values in the order of <see cref="FamilySpec.Labels"/>,
    /// or, for a family without declared labels, name/value pairs sorted by name. Null when a limit
    /// refuses a new series; the drop is counted.
    /// </summary>
    public Series? GetOrAdd(ReadOnlySpan<string> key)
    {
        var hash = LabelKeyComparer.Hash(key);
        return Find(Volatile.Read(ref _slots), key, hash) ?? Add(key, hash);
    }

    private static Series? Find(Series?[] slots, ReadOnlySpan<string> key, int hash)
    {
        var mask = slots.Length - 1;
        for (var i = hash & mask; ; i = (i + 1) & mask)
        {
            var series = Volatile.Read(ref slots[i]);
            if (series is null || (series.KeyHash == hash && LabelKeyComparer.Equals(key, series.Key)))
            {
                return series;
            }
        }
    }

    private Series? Add(ReadOnlySpan<string> key, int hash)
    {
        lock (_gate)
        {
            if (Find(_slots, key, hash) is { } existing)
            {
                return existing;
            }

            if (_ordered.Length >= Spec.SeriesLimit)
            {
                _registry.CountDrop(DropReason.SeriesLimit);
                return null;
            }

            if (!_registry.TryReserveSeries(Spec.Origin))
            {
                _registry.CountDrop(DropReason.TotalSeriesLimit);
                return null;
            }

            var values = key.ToArray();
            var pairs = Spec.Labels is { } names ? Pair(names, values) : values;
            var series = new Series(this, values, hash, pairs, LabelText.Encode([], pairs), Spec.Type == MetricType.Histogram ? Bounds.Length : 0);
            _ordered = [.. _ordered, series];
            if (_ordered.Length * 2 > _slots.Length)
            {
                // Built whole before it is published, so readers see either table complete.
                var slots = new Series?[_slots.Length * 2];
                foreach (var s in _ordered)
                {
                    Place(slots, s);
                }

                Volatile.Write(ref _slots, slots);
            }
            else
            {
                Place(_slots, series);
            }

            return series;
        }
    }

    private static void Place(Series?[] slots, Series series)
    {
        var mask = slots.Length - 1;
        var i = series.KeyHash & mask;
        while (slots[i] is not null)
        {
            i = (i + 1) & mask;
        }

        Volatile.Write(ref slots[i], series);
    }

    /// <summary>Forgets every series, giving their room back to the registry.</summary>
    internal Series[] Clear()
    {
        lock (_gate)
        {
            var removed = _ordered;
            Volatile.Write(ref _slots, new Series?[MinSlots]);
            _ordered = [];
            _registry.ReleaseSeries(Spec.Origin, removed.Length);
            return removed;
        }
    }

    private static string[] Pair(IReadOnlyList<string> names, string[] values)
    {
        var pairs = new string[names.Count * 2];
        for (var i = 0; i < names.Count; i++)
        {
            pairs[2 * i] = names[i];
            pairs[(2 * i) + 1] = i < values.Length ? values[i] : "";
        }

        return pairs;
    }

    /// <summary>A bucket bound as the <c>le</c> label writes it.</summary>
    internal static string FormatBound(double bound) =>
        double.IsPositiveInfinity(bound) ? "+Inf" : bound.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>What defines a family: name, type, help, unit, declared labels (null: any), bounds, series limit and origin.</summary>
public sealed record FamilySpec(
    string Name,
    MetricType Type,
    string Help,
    string? Unit,
    IReadOnlyList<string>? Labels,
    double[] Bounds,
    int SeriesLimit,
    FamilyOrigin Origin)
{
    /// <summary>Whether a sample shaped by <paramref name="other"/> can go into a family shaped by this spec.</summary>
    public bool IsCompatibleWith(FamilySpec other) =>
        Type == other.Type && Bounds.AsSpan().SequenceEqual(other.Bounds)
        && (Labels is null ? other.Labels is null : other.Labels is not null && Labels.SequenceEqual(other.Labels));

    /// <summary>The spec of a catalog metric.</summary>
    public static FamilySpec FromCatalog(MetricSpec metric, int seriesLimit) => new(
        metric.Name, metric.Type, metric.Help, metric.Unit, metric.Labels,
        metric.Buckets is { } buckets ? [.. buckets] : [], seriesLimit, FamilyOrigin.BuiltIn);
}
