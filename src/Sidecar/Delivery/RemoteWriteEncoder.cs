using System.Buffers;
using System.Text;
using AgentMetrics.Api.Catalog;
using AgentMetrics.Sidecar.Metrics;

namespace AgentMetrics.Sidecar.Delivery;

/// <summary>
/// Encodes series as a Prometheus remote-write 1.0 <c>WriteRequest</c> (protobuf, before snappy):
/// <c>timeseries = 1</c> of <c>labels = 1</c> (name = 1, value = 2, sorted by name) and
/// <c>samples = 2</c> (value = 1 double, timestamp = 2 int64 milliseconds), and
/// <c>metadata = 3</c> (type = 1, metric_family_name = 2, help = 4, unit = 5). A histogram becomes its
/// <c>_bucket</c> (cumulative, one per <c>le</c>), <c>_sum</c> and <c>_count</c> series.
/// </summary>
public sealed class RemoteWriteEncoder
{
    /// <summary>The value Prometheus reads as a staleness marker.</summary>
    public static readonly double StaleNaN = BitConverter.UInt64BitsToDouble(0x7ff0000000000002);

    private readonly ArrayBufferWriter<byte> _buffer = new(64 * 1024);
    private readonly List<KeyValuePair<string, string>> _labels = [];
    private readonly string[] _identity;
    private long[] _counts = new long[32];

    /// <summary>Creates an encoder whose series carry <paramref name="identityPairs"/>.</summary>
    public RemoteWriteEncoder(string[] identityPairs) => _identity = identityPairs;

    /// <summary>Samples written since <see cref="Reset"/>.</summary>
    public int Samples { get; private set; }

    /// <summary>Starts a new request.</summary>
    public void Reset()
    {
        _buffer.ResetWrittenCount();
        Samples = 0;
    }

    /// <summary>The encoded request so far.</summary>
    public ReadOnlySpan<byte> Written => _buffer.WrittenSpan;

    /// <summary>Adds a series' current value(s), or staleness markers when <paramref name="stale"/>.</summary>
    public void Add(Series series, long timestampMs, bool stale = false)
    {
        var family = series.Family;
        if (family.Type != MetricType.Histogram)
        {
            var name = family.Type == MetricType.Counter ? family.Name + "_total" : family.Name;
            TimeSeries(name, series, null, stale ? StaleNaN : series.Value, timestampMs);
            return;
        }

        var bucketCount = family.Bounds.Length + 1;
        if (_counts.Length < bucketCount)
        {
            _counts = new long[bucketCount];
        }

        var total = series.ReadBuckets(_counts);
        long cumulative = 0;
        for (var i = 0; i < bucketCount; i++)
        {
            cumulative += _counts[i];
            TimeSeries(family.Name + "_bucket", series, family.LeValues[i], stale ? StaleNaN : cumulative, timestampMs);
        }

        TimeSeries(family.Name + "_count", series, null, stale ? StaleNaN : total, timestampMs);
        TimeSeries(family.Name + "_sum", series, null, stale ? StaleNaN : series.Sum, timestampMs);
    }

    /// <summary>Adds the metadata of a family (type, help, unit).</summary>
    public void AddMetadata(MetricFamily family)
    {
        var type = family.Type switch
        {
            MetricType.Counter => 1,
            MetricType.Gauge => 2,
            _ => 3,
        };
        var name = family.Type == MetricType.Counter ? family.Name + "_total" : family.Name;
        var size = VarintField(1, (ulong)type) + StringField(2, name) + StringField(4, family.Spec.Help) + StringField(5, family.Spec.Unit ?? "");
        Tag(3, 2);
        Varint((ulong)size);
        Tag(1, 0);
        Varint((ulong)type);
        WriteString(2, name);
        WriteString(4, family.Spec.Help);
        WriteString(5, family.Spec.Unit ?? "");
    }

    private void TimeSeries(string name, Series series, string? le, double value, long timestampMs)
    {
        _labels.Clear();
        _labels.Add(new("__name__", name));
        AddPairs(_identity);
        AddPairs(series.LabelPairs);
        if (le is not null)
        {
            _labels.Add(new("le", le));
        }

        _labels.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));

        var labelsSize = 0;
        foreach (var (k, v) in _labels)
        {
            var labelSize = StringField(1, k) + StringField(2, v);
            labelsSize += 1 + VarintSize((ulong)labelSize) + labelSize;
        }

        var sampleSize = 1 + 8 + VarintField(2, (ulong)timestampMs);
        var size = labelsSize + 1 + VarintSize((ulong)sampleSize) + sampleSize;

        Tag(1, 2);
        Varint((ulong)size);
        foreach (var (k, v) in _labels)
        {
            Tag(1, 2);
            Varint((ulong)(StringField(1, k) + StringField(2, v)));
            WriteString(1, k);
            WriteString(2, v);
        }

        Tag(2, 2);
        Varint((ulong)sampleSize);
        Tag(1, 1);
        var span = _buffer.GetSpan(8);
        BitConverter.TryWriteBytes(span, value);
        _buffer.Advance(8);
        Tag(2, 0);
        Varint((ulong)timestampMs);
        Samples++;
    }

    private void AddPairs(string[] pairs)
    {
        for (var i = 0; i + 1 < pairs.Length; i += 2)
        {
            // An empty value means the label is absent, as in the exposition.
            if (pairs[i + 1].Length > 0)
            {
                _labels.Add(new(pairs[i], pairs[i + 1]));
            }
        }
    }

    private static int StringField(int field, string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        return VarintSize((ulong)(field << 3)) + VarintSize((ulong)length) + length;
    }

    private static int VarintField(int field, ulong value) => VarintSize((ulong)(field << 3)) + VarintSize(value);

    private static int VarintSize(ulong value)
    {
        var size = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            size++;
        }

        return size;
    }

    private void WriteString(int field, string value)
    {
        Tag(field, 2);
        var length = Encoding.UTF8.GetByteCount(value);
        Varint((ulong)length);
        var span = _buffer.GetSpan(length);
        Encoding.UTF8.GetBytes(value, span);
        _buffer.Advance(length);
    }

    private void Tag(int field, int wireType) => Varint((ulong)((field << 3) | wireType));

    private void Varint(ulong value)
    {
        var span = _buffer.GetSpan(10);
        var i = 0;
        while (value >= 0x80)
        {
            span[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[i++] = (byte)value;
        _buffer.Advance(i);
    }
}
