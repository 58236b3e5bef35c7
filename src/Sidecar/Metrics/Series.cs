using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace AgentMetrics.Sidecar.Metrics;

/// <summary>
/// One time series: a counter or gauge value, or a histogram's buckets, sum and count. Every update
/// is a lock-free atomic operation with no allocation, so recording on an existing series is cheap
/// from any number of threads.
/// </summary>
public sealed class Series
{
    private readonly long[]? _buckets;
    private SeriesState? _state;
    private long _valueBits;
    private long _sumBits;
    private int _changed = 1;

    internal Series(MetricFamily family, string[] key, int keyHash, string[] labelPairs, byte[] encodedLabels, int bucketCount)
    {
        Family = family;
        Key = key;
        KeyHash = keyHash;
        LabelPairs = labelPairs;
        EncodedLabels = encodedLabels;
        if (bucketCount > 0)
        {
            // One slot per finite bound plus the +Inf bucket; counts are kept per bucket and made
            // cumulative when read.
            _buckets = new long[bucketCount + 1];
        }
    }

    /// <summary>The family this series belongs to.</summary>
    public MetricFamily Family { get; }

    /// <summary>The series' own labels as name, value, name, value… (identity labels excluded).</summary>
    public string[] LabelPairs { get; }

    /// <summary>
    /// The escaped UTF-8 text of the series' own labels, without braces; the identity labels every
    /// series shares are written before it from <see cref="MetricRegistry.IdentityLabels"/>.
    /// </summary>
    internal byte[] EncodedLabels { get; }

    /// <summary>The histogram's bucket counts (null for counters and gauges).</summary>
    internal long[]? BucketArray => _buckets;

    /// <summary>The key the family finds the series by (for a family without declared labels, the same array as <see cref="LabelPairs"/>).</summary>
    internal string[] Key { get; }

    /// <summary>The hash of <see cref="Key"/>.</summary>
    internal int KeyHash { get; }

    /// <summary>The state an input keeps beside this series; made on first use. Only one input (OTLP) keeps any.</summary>
    internal T State<T>()
        where T : SeriesState, new()
    {
        var state = Volatile.Read(ref _state);
        if (state is null)
        {
            var made = new T();
            state = Interlocked.CompareExchange(ref _state, made, null) ?? made;
        }

        return (T)state;
    }

    /// <summary>How many sources the input's state tracks for this series (cumulative OTLP streams).</summary>
    internal int StateSources => Volatile.Read(ref _state)?.Sources ?? 0;

    /// <summary>The counter or gauge value.</summary>
    public double Value => BitConverter.Int64BitsToDouble(Volatile.Read(ref _valueBits));

    /// <summary>The histogram's sum of observations.</summary>
    public double Sum => BitConverter.Int64BitsToDouble(Volatile.Read(ref _sumBits));

    /// <summary>Adds to a counter or gauge.</summary>
    public void Add(double amount)
    {
        AddBits(ref _valueBits, amount);
        MarkChanged();
    }

    /// <summary>Sets a gauge.</summary>
    public void Set(double value)
    {
        Interlocked.Exchange(ref _valueBits, BitConverter.DoubleToInt64Bits(value));
        MarkChanged();
    }

    /// <summary>Records one observation in a histogram.</summary>
    public void Observe(double value)
    {
        Interlocked.Increment(ref _buckets![BucketOf(Family.Bounds, value)]);
        AddBits(ref _sumBits, value);
        MarkChanged();
    }

    /// <summary>Adds already-bucketed observations (an OTLP delta) to a histogram.</summary>
    public void AddBuckets(ReadOnlySpan<long> bucketCounts, double sum)
    {
        var buckets = _buckets!;
        for (var i = 0; i < bucketCounts.Length && i < buckets.Length; i++)
        {
            if (bucketCounts[i] != 0)
            {
                Interlocked.Add(ref buckets[i], bucketCounts[i]);
            }
        }

        AddBits(ref _sumBits, sum);
        MarkChanged();
    }

    /// <summary>Copies the per-bucket counts (not cumulative) into <paramref name="destination"/> and returns the total count.</summary>
    public long ReadBuckets(Span<long> destination)
    {
        var buckets = _buckets!;
        long total = 0;
        for (var i = 0; i < buckets.Length; i++)
        {
            var count = Volatile.Read(ref buckets[i]);
            destination[i] = count;
            total += count;
        }

        return total;
    }

    /// <summary>The histogram's number of observations.</summary>
    public long Count
    {
        get
        {
            long total = 0;
            foreach (ref var count in _buckets.AsSpan())
            {
                total += Volatile.Read(ref count);
            }

            return total;
        }
    }

    /// <summary>Whether the series changed since the last call, clearing the mark.</summary>
    internal bool TakeChanged() => Interlocked.Exchange(ref _changed, 0) == 1;

    /// <summary>Marks the series changed, so the next push sends it again.</summary>
    internal void MarkChanged()
    {
        // Reading first keeps a hot series from writing the shared cache line on every update.
        if (Volatile.Read(ref _changed) == 0)
        {
            Volatile.Write(ref _changed, 1);
        }
    }

    /// <summary>
    /// The bucket of <paramref name="value"/>: how many of the ascending bounds lie below it (NaN: none).
    /// Counted eight or four bounds at a time rather than searched: no branch for the value to mispredict,
    /// so a value costs the same wherever it falls.
    /// </summary>
    internal static int BucketOf(double[] bounds, double value)
    {
        ref var first = ref MemoryMarshal.GetArrayDataReference(bounds);
        var index = 0;
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var point = Vector512.Create(value);
            for (; i + Vector512<double>.Count <= bounds.Length; i += Vector512<double>.Count)
            {
                index += BitOperations.PopCount(Vector512.GreaterThan(point, Vector512.LoadUnsafe(ref first, (nuint)i)).ExtractMostSignificantBits());
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var point = Vector256.Create(value);
            for (; i + Vector256<double>.Count <= bounds.Length; i += Vector256<double>.Count)
            {
                index += BitOperations.PopCount(Vector256.GreaterThan(point, Vector256.LoadUnsafe(ref first, (nuint)i)).ExtractMostSignificantBits());
            }
        }

        for (; i < bounds.Length; i++)
        {
            index += value > bounds[i] ? 1 : 0;
        }

        return index;
    }

    private static void AddBits(ref long location, double amount)
    {
        var current = Volatile.Read(ref location);
        while (true)
        {
            var next = BitConverter.DoubleToInt64Bits(BitConverter.Int64BitsToDouble(current) + amount);
            var seen = Interlocked.CompareExchange(ref location, next, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
