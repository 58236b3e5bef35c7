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
        var identity = registry.IdentityLabels;
        foreach (var family in registry.Families)
        {
            var series = family.Series;
            if (series.Length == 0)
            {
                continue;
            }

            Put(output, openMetrics ? family.OpenMetricsHeader : family.TextHeader);
            if (family.Type != MetricType.Histogram)
            {
                foreach (var s in series)
                {
                    WriteSample(output, family.SampleName, identity, s.EncodedLabels, null, s.Value);
                }

                continue;
            }

            var bucketCount = family.Bounds.Length + 1;
            var buffer = counts;
            if (bucketCount > counts.Length)
            {
                rented ??= ArrayPool<long>.Shared.Rent(bucketCount);
                buffer = rented.Length >= bucketCount ? rented : (rented = new long[bucketCount]);
            }

            foreach (var s in series)
            {
                var total = s.ReadBuckets(buffer);
                long cumulative = 0;
                for (var i = 0; i < bucketCount; i++)
                {
                    cumulative += buffer[i];
                    WriteCount(output, family.BucketName, identity, s.EncodedLabels, family.LeLabels[i], cumulative);
                }

                WriteCount(output, family.CountName, identity, s.EncodedLabels, null, total);
                WriteSample(output, family.SumName, identity, s.EncodedLabels, null, s.Sum);
            }
        }

        if (openMetrics)
        {
            Put(output, Eof);
        }

        if (rented is not null && rented.Length <= 1024)
        {
            ArrayPool<long>.Shared.Return(rented);
        }
    }

    private static void WriteSample(IBufferWriter<byte> output, byte[] name, byte[] identity, byte[] labels, byte[]? extra, double value)
    {
        var span = StartLine(output, name, identity, labels, extra, 32);
        var written = WriteLabels(span, name, identity, labels, extra);
        written += FormatDouble(value, span[written..]);
        span[written++] = (byte)'\n';
        output.Advance(written);
    }

    private static void WriteCount(IBufferWriter<byte> output, byte[] name, byte[] identity, byte[] labels, byte[]? extra, long value)
    {
        var span = StartLine(output, name, identity, labels, extra, 24);
        var written = WriteLabels(span, name, identity, labels, extra);
        value.TryFormat(span[written..], out var digits, default, CultureInfo.InvariantCulture);
        written += digits;
        span[written++] = (byte)'\n';
        output.Advance(written);
    }

    private static Span<byte> StartLine(IBufferWriter<byte> output, byte[] name, byte[] identity, byte[] labels, byte[]? extra, int valueRoom) =>
        output.GetSpan(name.Length + identity.Length + labels.Length + (extra?.Length ?? 0) + valueRoom + 5);

    /// <summary>Writes the name and <c>{identity,labels,extra}</c>, each part that is not empty, comma-separated; no braces when all are.</summary>
    private static int WriteLabels(Span<byte> span, byte[] name, byte[] identity, byte[] labels, byte[]? extra)
    {
        name.CopyTo(span);
        var written = name.Length;
        if (identity.Length > 0 || labels.Length > 0 || extra is not null)
        {
            span[written++] = (byte)'{';
            identity.CopyTo(span[written..]);
            written += identity.Length;
            if (labels.Length > 0)
            {
                if (identity.Length > 0)
                {
                    span[written++] = (byte)',';
                }

                labels.CopyTo(span[written..]);
                written += labels.Length;
            }

            if (extra is not null)
            {
                if (identity.Length > 0 || labels.Length > 0)
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

        value.TryFormat(destination, out var written, "R", CultureInfo.InvariantCulture);
        return written;
    }

    private static void Put(IBufferWriter<byte> output, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(output.GetSpan(bytes.Length));
        output.Advance(bytes.Length);
    }
}
