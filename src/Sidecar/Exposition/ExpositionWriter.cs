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

    private static readonly byte[] Eof = "# EOF\n"u8.ToArray();

    /// <summary>Whether an Accept header asks for OpenMetrics.</summary>
    public static bool WantsOpenMetrics(string? accept) =>
        accept is not null && accept.Contains("application/openmetrics-text", StringComparison.OrdinalIgnoreCase);

    /// <summary>Writes every family that has series.</summary>
    public static void Write(MetricRegistry registry, bool openMetrics, IBufferWriter<byte> output)
    {
        Span<long> counts = stackalloc long[64];
        long[]? rented = null;
        byte[]? rentedLabels = null;
        Span<byte> labels = stackalloc byte[1024];
        var identity = registry.IdentityLabels;
        var lines = new Lines(output);
        foreach (var family in registry.Families)
        {
            var series = family.Series;
            if (series.Length == 0)
            {
                continue;
            }

            lines.Put(openMetrics ? family.OpenMetricsHeader : family.TextHeader);
            var histogram = family.Type == MetricType.Histogram;
            var bucketCount = histogram ? family.Bounds.Length + 1 : 0;
            var buffer = counts;
            if (bucketCount > counts.Length)
            {
                rented ??= ArrayPool<long>.Shared.Rent(bucketCount);
                buffer = rented.Length >= bucketCount ? rented : (rented = new long[bucketCount]);
            }

            foreach (var s in series)
            {
                // The series' label text, "identity,labels", joined once for all of its lines.
                var needed = identity.Length + s.EncodedLabels.Length + 1;
                if (needed > labels.Length)
                {
                    if (rentedLabels is not null)
                    {
                        ArrayPool<byte>.Shared.Return(rentedLabels);
                    }

                    rentedLabels = ArrayPool<byte>.Shared.Rent(needed);
                    labels = rentedLabels;
                }

                var joined = Join(identity, s.EncodedLabels, labels);
                if (!histogram)
                {
                    lines.Sample(family.SampleName, joined, null, s.Value);
                    continue;
                }

                var total = s.ReadBuckets(buffer);
                long cumulative = 0;
                for (var i = 0; i < bucketCount; i++)
                {
                    cumulative += buffer[i];
                    lines.Count(family.BucketName, joined, family.LeLabels[i], cumulative);
                }

                lines.Count(family.CountName, joined, null, total);
                lines.Sample(family.SumName, joined, null, s.Sum);
            }
        }

        if (openMetrics)
        {
            lines.Put(Eof);
        }

        lines.Flush();
        if (rented is not null && rented.Length <= 1024)
        {
            ArrayPool<long>.Shared.Return(rented);
        }

        if (rentedLabels is not null)
        {
            ArrayPool<byte>.Shared.Return(rentedLabels);
        }
    }

    private static ReadOnlySpan<byte> Join(byte[] identity, byte[] labels, Span<byte> into)
    {
        identity.CopyTo(into);
        var written = identity.Length;
        if (labels.Length > 0)
        {
            if (written > 0)
            {
                into[written++] = (byte)',';
            }

            labels.CopyTo(into[written..]);
            written += labels.Length;
        }

        return into[..written];
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

        public void Sample(byte[] name, scoped ReadOnlySpan<byte> labels, byte[]? extra, double value)
        {
            var span = Room(name.Length + labels.Length + (extra?.Length ?? 0) + 32 + 5);
            var written = Name(span, name, labels, extra);
            written += FormatDouble(value, span[written..]);
            span[written++] = (byte)'\n';
            _used += written;
        }

        public void Count(byte[] name, scoped ReadOnlySpan<byte> labels, byte[]? extra, long value)
        {
            var span = Room(name.Length + labels.Length + (extra?.Length ?? 0) + 24 + 5);
            var written = Name(span, name, labels, extra);
            value.TryFormat(span[written..], out var digits, default, CultureInfo.InvariantCulture);
            written += digits;
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

        /// <summary>Writes the name and <c>{labels,extra}</c> (no braces when both are empty) and the space before the value.</summary>
        private static int Name(Span<byte> span, byte[] name, ReadOnlySpan<byte> labels, byte[]? extra)
        {
            name.CopyTo(span);
            var written = name.Length;
            if (labels.Length > 0 || extra is not null)
            {
                span[written++] = (byte)'{';
                labels.CopyTo(span[written..]);
                written += labels.Length;
                if (extra is not null)
                {
                    if (labels.Length > 0)
                    {
                        span[written++] = (byte)',';
                    }

                    extra.CopyTo(span[written..]);
                    written += extra.Length;
                }

                span[written++] = (byte)'}';
            }

            span[written++] = (byte)' ';
            return written;
        }
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

        value.TryFormat(destination, out written, "R", CultureInfo.InvariantCulture);
        return written;
    }
}
