using System.Buffers;
using System.Globalization;
using AgentMetrics.Api.Catalog;
using AgentMetrics.Sidecar.Metrics;

namespace AgentMetrics.Sidecar.Exposition;

/// <summary>
/// Writes a registry in the Prometheus text format 0.0.4 or in OpenMetrics 1.0: one HELP and TYPE per
/// family, families and series in a stable order, histogram buckets made cumulative, and +Inf, -Inf
/// and NaN spelled as both formats require. Names and label text are encoded once, when a series is
/// created (the identity labels once for the registry), so a scrape only formats numbers.
/// </summary>
public static class ExpositionWriter
{
    /// <summary>The content type of the text format 0.0.4.</summary>
    public const string TextContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>The content type of OpenMetrics 1.0.</summary>
    public const string OpenMetricsContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8";

    /// <summary>How many series ahead a series object is fetched into the cache.</summary>
    private const int SeriesAhead = 4;

    /// <summary>How many series ahead a series' label text and bucket counts are fetched.</summary>
    private const int PartsAhead = 2;

    private static readonly byte[] Eof = "# EOF\n"u8.ToArray();

    /// <summary>Whether an Accept header asks for OpenMetrics.</summary>
    public static bool WantsOpenMetrics(string? accept) =>
        accept is not null && accept.Contains("application/openmetrics-text", StringComparison.OrdinalIgnoreCase);

    /// <summary>Writes every family that has series.</summary>
    public static void Write(MetricRegistry registry, bool openMetrics, IBufferWriter<byte> output)
    {
        Span<long> counts = stackalloc long[64];
        long[]? rentedCounts = null;
        Span<byte> start = stackalloc byte[1024];
        byte[]? rentedStart = null;
        var identity = registry.IdentityLabels;
        var lines = new Lines(output);
        var families = registry.Families;
        for (var f = 0; f < families.Length; f++)
        {
            // Two families ahead the family object, one ahead its series array (the object is in cache by then).
            if (f + 2 < families.Length)
            {
                CacheHint.Fetch(families[f + 2]);
            }

            if (f + 1 < families.Length)
            {
                CacheHint.Fetch(families[f + 1].SeriesSnapshot);
            }

            var family = families[f];
            var series = family.Series;
            if (series.Length == 0)
            {
                continue;
            }

            lines.Put(openMetrics ? family.OpenMetricsHeader : family.TextHeader);
            var histogram = family.Type == MetricType.Histogram;
            var bucketCount = histogram ? family.Bounds.Length + 1 : 0;
            var bucketBytes = histogram ? 16 + (8 * bucketCount) : 0;
            var buffer = counts;
            if (bucketCount > counts.Length)
            {
                rentedCounts ??= ArrayPool<long>.Shared.Rent(bucketCount);
                buffer = rentedCounts.Length >= bucketCount ? rentedCounts : (rentedCounts = new long[bucketCount]);
            }

            var name = histogram ? family.BucketName : family.SampleName;
            for (var k = 0; k < SeriesAhead && k < series.Length; k++)
            {
                CacheHint.Fetch(series[k]);
            }

            for (var k = 0; k < series.Length; k++)
            {
                // The series object a few ahead; what it points to (read from it, so it must be in cache
                // already) fewer ahead.
                if (k + SeriesAhead < series.Length)
                {
                    CacheHint.Fetch(series[k + SeriesAhead]);
                }

                if (k + PartsAhead < series.Length)
                {
                    var next = series[k + PartsAhead];
                    CacheHint.Fetch(next.EncodedLabels);
                    if (histogram)
                    {
                        CacheHint.Fetch(next.BucketArray, bucketBytes);
                    }
                }

                var s = series[k];
                var needed = name.Length + identity.Length + s.EncodedLabels.Length + 3;
                if (needed > start.Length)
                {
                    if (rentedStart is not null)
                    {
                        ArrayPool<byte>.Shared.Return(rentedStart);
                    }

                    rentedStart = ArrayPool<byte>.Shared.Rent(needed);
                    start = rentedStart;
                }

                // "name{identity,labels", joined once for all of the series' lines.
                var length = Start(start, name, identity, s.EncodedLabels);
                var labels = start[(name.Length + 1)..length];
                if (!histogram)
                {
                    lines.Sample(labels.IsEmpty ? name : start[..length], !labels.IsEmpty, s.Value);
                    continue;
                }

                // Bucket lines repeat "name_bucket{labels," and add le="…"} and the count.
                if (!labels.IsEmpty)
                {
                    start[length++] = (byte)',';
                }

                var bucketStart = start[..length];
                var le = family.LeLabels;
                var total = s.ReadBuckets(buffer);
                long cumulative = 0;
                for (var i = 0; i < bucketCount; i++)
                {
                    cumulative += buffer[i];
                    lines.Bucket(bucketStart, le[i], cumulative);
                }

                lines.Count(family.CountName, labels, total);
                lines.Sample(family.SumName, labels, s.Sum);
            }
        }

        if (openMetrics)
        {
            lines.Put(Eof);
        }

        lines.Flush();
        if (rentedCounts is not null && rentedCounts.Length <= 1024)
        {
            ArrayPool<long>.Shared.Return(rentedCounts);
        }

        if (rentedStart is not null)
        {
            ArrayPool<byte>.Shared.Return(rentedStart);
        }
    }

    /// <summary>Writes "name{identity,labels" (the comma only between two non-empty parts); returns its length.</summary>
    private static int Start(Span<byte> into, byte[] name, byte[] identity, byte[] labels)
    {
        name.CopyTo(into);
        var written = name.Length;
        into[written++] = (byte)'{';
        identity.CopyTo(into[written..]);
        written += identity.Length;
        if (labels.Length > 0)
        {
            if (identity.Length > 0)
            {
                into[written++] = (byte)',';
            }

            labels.CopyTo(into[written..]);
            written += labels.Length;
        }

        return written;
    }

    /// <summary>
    /// Lines written straight into large spans of the output, advanced once per span rather than once
    /// per line: a scrape is tens of thousands of short lines.
    /// </summary>
    private ref struct Lines(IBufferWriter<byte> output)
    {
        private const int Chunk = 64 * 1024;
        private Span<byte> _span;
        private int _used;

        public void Put(scoped ReadOnlySpan<byte> bytes)
        {
            bytes.CopyTo(Room(bytes.Length));
            _used += bytes.Length;
        }

        /// <summary>"start} value", or "start value" when the series has no labels (start is then the bare name).</summary>
        public void Sample(scoped ReadOnlySpan<byte> start, bool braced, double value)
        {
            var span = Room(start.Length + 2 + 32 + 1);
            start.CopyTo(span);
            var written = start.Length;
            if (braced)
            {
                span[written++] = (byte)'}';
            }

            span[written++] = (byte)' ';
            written += FormatDouble(value, span[written..]);
            span[written++] = (byte)'\n';
            _used += written;
        }

        /// <summary>"name{labels} value" or "name value".</summary>
        public void Sample(byte[] name, scoped ReadOnlySpan<byte> labels, double value)
        {
            var span = Room(name.Length + labels.Length + 3 + 32 + 1);
            var written = Name(span, name, labels);
            written += FormatDouble(value, span[written..]);
            span[written++] = (byte)'\n';
            _used += written;
        }

        /// <summary>"name{labels} count" or "name count".</summary>
        public void Count(byte[] name, scoped ReadOnlySpan<byte> labels, long count)
        {
            var span = Room(name.Length + labels.Length + 3 + 20 + 1);
            var written = Name(span, name, labels);
            written += FormatCount(count, span[written..]);
            span[written++] = (byte)'\n';
            _used += written;
        }

        /// <summary>"name_bucket{labels,le="bound"} count", the start up to the comma given.</summary>
        public void Bucket(scoped ReadOnlySpan<byte> start, byte[] le, long count)
        {
            var span = Room(start.Length + le.Length + 2 + 20 + 1);
            start.CopyTo(span);
            var written = start.Length;
            le.CopyTo(span[written..]);
            written += le.Length;
            span[written++] = (byte)'}';
            span[written++] = (byte)' ';
            written += FormatCount(count, span[written..]);
            span[written++] = (byte)'\n';
            _used += written;
        }

        public void Flush()
        {
            if (_used > 0)
            {
                output.Advance(_used);
            }

            _used = 0;
            _span = default;
        }

        private Span<byte> Room(int needed)
        {
            if (_span.Length - _used < needed)
            {
                Flush();
                _span = output.GetSpan(Math.Max(needed, Chunk));
            }

            return _span[_used..];
        }

        /// <summary>Writes the name, <c>{labels}</c> unless there are none, and the space before the value.</summary>
        private static int Name(Span<byte> span, byte[] name, ReadOnlySpan<byte> labels)
        {
            name.CopyTo(span);
            var written = name.Length;
            if (labels.Length > 0)
            {
                span[written++] = (byte)'{';
                labels.CopyTo(span[written..]);
                written += labels.Length;
                span[written++] = (byte)'}';
            }

            span[written++] = (byte)' ';
            return written;
        }
    }

    /// <summary>Formats a count; a single digit, the commonest bucket count, without the general formatter.</summary>
    private static int FormatCount(long value, Span<byte> destination)
    {
        if ((ulong)value < 10)
        {
            destination[0] = (byte)('0' + value);
            return 1;
        }

        value.TryFormat(destination, out var written, default, CultureInfo.InvariantCulture);
        return written;
    }

    /// <summary>Formats a sample value as both formats spell it; returns the bytes written.</summary>
    internal static int FormatDouble(double value, Span<byte> destination)
    {
        ReadOnlySpan<byte> special = value switch
        {
            double.PositiveInfinity => "+Inf"u8,
            double.NegativeInfinity => "-Inf"u8,
            _ when double.IsNaN(value) => "NaN"u8,
            _ => default,
        };
        if (!special.IsEmpty)
        {
            special.CopyTo(destination);
            return special.Length;
        }

        // Whole numbers (counts, most counters and many gauges) print the same digits as integers,
        // at a fraction of the cost of the shortest round-trip search; -0 keeps its sign.
        int written;
        if (Math.Abs(value) < 1e15 && value == Math.Floor(value) && (value != 0 || !double.IsNegative(value)))
        {
            ((long)value).TryFormat(destination, out written, default, CultureInfo.InvariantCulture);
            return written;
        }

        // A value with a few decimal places (0.25, 1.5, 99.95: seconds, prices and their sums) is an
        // integer m over 10^k. When m / 10^k gives back the same double, the decimal m·10^-k reads back
        // as the value, and with at most 15 significant digits it is the only decimal that short which
        // does: it is the shortest round-trip text, found without the general search.
        var magnitude = Math.Abs(value);
        if (magnitude >= 1e-3 && magnitude < 1e9)
        {
            double scale = 10;
            for (var places = 1; places <= 6; places++, scale *= 10)
            {
                var scaled = value * scale;
                if (scaled == Math.Floor(scaled) && scaled / scale == value)
                {
                    return WriteDecimal((long)scaled, places, destination);
                }
            }
        }

        value.TryFormat(destination, out written, "R", CultureInfo.InvariantCulture);
        return written;
    }

    /// <summary>Writes <paramref name="units"/> / 10^<paramref name="places"/> in fixed notation without trailing zeros.</summary>
    private static int WriteDecimal(long units, int places, Span<byte> destination)
    {
        while (units % 10 == 0)
        {
            units /= 10;
            places--;
        }

        var written = 0;
        if (units < 0)
        {
            destination[written++] = (byte)'-';
            units = -units;
        }

        Span<byte> digits = stackalloc byte[20];
        units.TryFormat(digits, out var count, default, CultureInfo.InvariantCulture);
        if (count <= places)
        {
            // 0.0…0digits
            destination[written++] = (byte)'0';
            destination[written++] = (byte)'.';
            destination.Slice(written, places - count).Fill((byte)'0');
            written += places - count;
            digits[..count].CopyTo(destination[written..]);
            return written + count;
        }

        var whole = count - places;
        digits[..whole].CopyTo(destination[written..]);
        written += whole;
        destination[written++] = (byte)'.';
        digits[whole..count].CopyTo(destination[written..]);
        return written + places;
    }
}
