using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text;
using AgentMetrics.Api.Catalog;

namespace AgentMetrics.Sidecar.Metrics;

/// <summary>The limits that keep one sidecar's memory bounded whatever the agent sends.</summary>
public sealed record MetricLimits
{
    /// <summary>The most metric families an agent may have (built-in, custom and OTLP), the sidecar's own excluded.</summary>
    public int MaxMetrics { get; init; } = 1000;

    /// <summary>The series limit of a metric whose definition sets none.</summary>
    public int DefaultSeriesLimit { get; init; } = 1000;

    /// <summary>The most series the sidecar holds in all.</summary>
    public int MaxSeries { get; init; } = 50_000;

    /// <summary>Label values longer than this many characters are cut short.</summary>
    public int MaxLabelValueLength { get; init; } = 256;
}

/// <summary>
/// Every metric family of one agent, the identity labels its series carry, and the limits. Families
/// are looked up by name without locking; defining one takes a lock.
/// </summary>
public sealed class MetricRegistry
{
    private readonly ConcurrentDictionary<string, MetricFamily> _families = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>The le texts of every set of bounds a family has had; families with the same bounds share them.</summary>
    private const int MaxSharedLeTexts = 256;

    private readonly List<(double[] Bounds, byte[][] Labels, string[] Values)> _leTexts = [];
    private MetricFamily[] _ordered = [];
    private int _limitedFamilies;
    private int _series;

    /// <summary>Creates a registry whose series all carry <paramref name="identity"/> (name/value pairs).</summary>
    public MetricRegistry(IReadOnlyList<KeyValuePair<string, string>> identity, MetricLimits? limits = null)
    {
        Limits = limits ?? new MetricLimits();
        IdentityPairs = [.. identity.SelectMany(p => new[] { p.Key, p.Value })];
        IdentityLabels = LabelText.Encode(IdentityPairs, []);
        Self = new SelfMetrics(this);
    }

    /// <summary>The limits in force.</summary>
    public MetricLimits Limits { get; }

    /// <summary>Identity labels as name, value, name, value…</summary>
    public string[] IdentityPairs { get; }

    /// <summary>The identity labels as escaped UTF-8 label text, without braces: the start of every series' labels.</summary>
    internal byte[] IdentityLabels { get; }

    /// <summary>The sidecar's own metrics.</summary>
    public SelfMetrics Self { get; }

    /// <summary>Every family, in the order they were defined.</summary>
    public ReadOnlySpan<MetricFamily> Families => Volatile.Read(ref _ordered);

    /// <summary>The families as an array that stays valid across awaits (never modified; replaced on change).</summary>
    internal MetricFamily[] FamilySnapshot => Volatile.Read(ref _ordered);

    /// <summary>Total series held.</summary>
    public int SeriesCount => Volatile.Read(ref _series);

    /// <summary>The family named <paramref name="name"/>, if defined.</summary>
    public MetricFamily? Find(string name) => _families.GetValueOrDefault(name);

    /// <summary>
    /// The family for <paramref name="spec"/>: the existing one when compatible, a new one when the
    /// metric limit allows, else null with the drop counted.
    /// </summary>
    public MetricFamily? GetOrDefine(FamilySpec spec)
    {
        if (_families.TryGetValue(spec.Name, out var existing))
        {
            return Compatible(existing, spec);
        }

        lock (_gate)
        {
            if (_families.TryGetValue(spec.Name, out existing))
            {
                return Compatible(existing, spec);
            }

            var limited = spec.Origin != FamilyOrigin.Self;
            if (limited && _limitedFamilies >= Limits.MaxMetrics)
            {
                CountDrop(DropReason.MetricLimit);
                return null;
            }

            var family = new MetricFamily(this, spec);
            _families[spec.Name] = family;
            _ordered = [.. _ordered, family];
            if (limited)
            {
                _limitedFamilies++;
            }

            return family;
        }
    }

    /// <summary>The <c>le</c> label texts (exposition) and values (remote write) of <paramref name="bounds"/> and +Inf; called under the lock, as a family is made.</summary>
    internal (byte[][] Labels, string[] Values) LeTexts(double[] bounds)
    {
        // Compared bit for bit: 0 and -0 are equal doubles but different le values.
        var bits = MemoryMarshal.Cast<double, long>(bounds.AsSpan());
        foreach (var (known, labels, values) in _leTexts)
        {
            if (MemoryMarshal.Cast<double, long>(known.AsSpan()).SequenceEqual(bits))
            {
                return (labels, values);
            }
        }

        string[] made = [.. bounds.Select(MetricFamily.FormatBound), "+Inf"];
        byte[][] encoded = [.. made.Select(v => Encoding.UTF8.GetBytes($"le=\"{v}\""))];
        if (_leTexts.Count < MaxSharedLeTexts)
        {
            _leTexts.Add((bounds.ToArray(), encoded, made));
        }

        return (encoded, made);
    }

    /// <summary>Removes a family and its series; returns the series it held (push mode marks them stale).</summary>
    public Series[] Remove(string name)
    {
        lock (_gate)
        {
            if (!_families.TryRemove(name, out var family))
            {
                return [];
            }

            _ordered = [.. _ordered.Where(f => f != family)];
            if (family.Spec.Origin != FamilyOrigin.Self)
            {
                _limitedFamilies--;
            }

            return family.Clear();
        }
    }

    /// <summary>Counts a dropped sample (or a truncated label) by reason.</summary>
    public void CountDrop(DropReason reason, long count = 1) => Self.Dropped(reason).Add(count);

    internal bool TryReserveSeries(FamilyOrigin origin)
    {
        if (origin == FamilyOrigin.Self)
        {
            return true;
        }

        while (true)
        {
            var current = Volatile.Read(ref _series);
            if (current >= Limits.MaxSeries)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _series, current + 1, current) == current)
            {
                return true;
            }
        }
    }

    internal void ReleaseSeries(FamilyOrigin origin, int count)
    {
        if (origin != FamilyOrigin.Self)
        {
            Interlocked.Add(ref _series, -count);
        }
    }

    private MetricFamily? Compatible(MetricFamily existing, FamilySpec spec)
    {
        if (existing.Spec.IsCompatibleWith(spec))
        {
            return existing;
        }

        CountDrop(DropReason.TypeConflict);
        return null;
    }

    /// <summary>Defines every catalog metric, so the standard families exist (and are documented) before the first event.</summary>
    public void DefineBuiltIns()
    {
        foreach (var metric in BuiltInMetrics.All)
        {
            GetOrDefine(FamilySpec.FromCatalog(metric, Limits.DefaultSeriesLimit));
        }
    }
}
