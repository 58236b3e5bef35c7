using System.Globalization;
using System.Text;
using AgentMetrics.Sidecar.Ingest;

namespace AgentMetrics.Sidecar.Otlp;

/// <summary>
/// Decodes OTLP/HTTP protobuf export requests (<c>ExportMetricsServiceRequest</c>,
/// <c>ExportTraceServiceRequest</c>) into the sidecar's model. Field numbers follow the
/// opentelemetry-proto definitions; unknown fields are skipped, as protobuf requires.
/// </summary>
public static class OtlpProtobufDecoder
{
    private const int MaxAnyValueDepth = 8;

    /// <summary>Decodes an ExportMetricsServiceRequest.</summary>
    public static List<OtlpResourceMetrics> DecodeMetrics(ReadOnlySpan<byte> body)
    {
        var result = new List<OtlpResourceMetrics>();
        ForEachMessage(body, 1, bytes => result.Add(ResourceMetrics(bytes)));
        return result;
    }

    /// <summary>Decodes an ExportTraceServiceRequest.</summary>
    public static List<OtlpResourceSpans> DecodeTraces(ReadOnlySpan<byte> body)
    {
        var result = new List<OtlpResourceSpans>();
        ForEachMessage(body, 1, bytes => result.Add(ResourceSpans(bytes)));
        return result;
    }

    private delegate void MessageHandler(ReadOnlySpan<byte> message);

    /// <summary>Calls <paramref name="handle"/> with every occurrence of the embedded-message field <paramref name="field"/>, skipping the rest.</summary>
    private static void ForEachMessage(ReadOnlySpan<byte> data, int field, MessageHandler handle)
    {
        var reader = new ProtoReader(data);
        while (!reader.End)
        {
            var (number, wire) = reader.ReadTag();
            if (number == field)
            {
                handle(reader.ReadBytes(number, wire));
            }
            else
            {
                reader.Skip(wire);
            }
        }
    }

    private static OtlpResourceMetrics ResourceMetrics(ReadOnlySpan<byte> data)
    {
        var result = new OtlpResourceMetrics();
        var reader = new ProtoReader(data);
        while (!reader.End)
        {
            var (field, wire) = reader.ReadTag();
            switch (field)
            {
                case 1:
                    result.Resource = Resource(reader.ReadBytes(field, wire));
                    break;
                case 2:
                    ScopeMetrics(reader.ReadBytes(field, wire), result.Metrics);
                    break;
                default:
                    reader.Skip(wire);
                    break;
            }
        }

        return result;
    }

    private static OtlpResourceSpans ResourceSpans(ReadOnlySpan<byte> data)
    {
        var result = new OtlpResourceSpans();
        var reader = new ProtoReader(data);
        while (!reader.End)
        {
            var (field, wire) = reader.ReadTag();
            switch (field)
            {
                case 1:
                    result.Resource = Resource(reader.ReadBytes(field, wire));
                    break;
                case 2:
                    ScopeSpans(reader.ReadBytes(field, wire), result.Spans);
                    break;
                default:
                    reader.Skip(wire);
                    break;
            }
        }

        return result;
    }

    private static Attributes Resource(ReadOnlySpan<byte> data)
    {
        var attributes = new List<KeyValuePair<string, AttributeValue>>();
        ForEachMessage(data, 1, bytes => attributes.Add(KeyValue(bytes)));
        return new Attributes(attributes);
    }

    private static void ScopeMetrics(ReadOnlySpan<byte> data, List<OtlpMetric> metrics) =>
        ForEachMessage(data, 2, bytes => metrics.Add(Metric(bytes)));

    private static void ScopeSpans(ReadOnlySpan<byte> data, List<OtlpSpan> spans) =>
        ForEachMessage(data, 2, bytes => spans.Add(Span(bytes)));

    private static OtlpMetric Metric(ReadOnlySpan<byte> data)
    {
        var metric = new OtlpMetric();
        var reader = new ProtoReader(data);
        while (!reader.End)
        {
            var (field, wire) = reader.ReadTag();
            switch (field)
            {
                case 1:
                    metric.Name = reader.ReadRepeatedString(field, wire);
                    break;
                case 2:
                    metric.Description = reader.ReadRepeatedString(field, wire);
                    break;
                case 3:
                    metric.Unit = reader.ReadRepeatedString(field, wire);
                    break;
                case 5:
                    Data(reader.ReadBytes(field, wire), metric, OtlpDataKind.Gauge);
                    break;
                case 7:
                    Data(reader.ReadBytes(field, wire), metric, OtlpDataKind.Sum);
                    break;
                case 9:
                    Data(reader.ReadBytes(field, wire), metric, OtlpDataKind.Histogram);
                    break;
                case 10:
                    Data(reader.ReadBytes(field, wire), metric, OtlpDataKind.ExponentialHistogram);
                    break;
                case 11:
                    // Summaries are not converted, but their points are read so the refusal can count them.
                    Data(reader.ReadBytes(field, wire), metric, OtlpDataKind.Summary);
                    break;
                default:
                    reader.Skip(wire);
                    break;
            }
        }

        return metric;
    }

    /// <summary>Gauge, Sum, Histogram and ExponentialHistogram share the layout: points = 1, temporality = 2, monotonic = 3 (Sum only).</summary>
    private static void Data(ReadOnlySpan<byte> data, OtlpMetric metric, OtlpDataKind kind)
    {
        metric.Kind = kind;
        var reader = new ProtoReader(data);
        while (!reader.End)
        {
            var (field, wire) = reader.ReadTag();
            switch (field)
            {
                case 1:
                    var point = reader.ReadBytes(field, wire);
                    metric.Points.Add(kind switch
                    {
                        OtlpDataKind.Histogram => HistogramPoint(point),
                        OtlpDataKind.ExponentialHistogram => ExponentialPoint(point),
                        _ => NumberPoint(point),
                    });
                    break;
                case 2 when kind != OtlpDataKind.Gauge:
                    metric.Temporality = (Temporality)(int)reader.ReadVarint(field, wire);
                    break;
                case 3 when kind == OtlpDataKind.Sum:
                    metric.Monotonic = reader.ReadVarint(field, wire) != 0;
                    break;
                default:
                    reader.Skip(wire);
                    break;
            }
        }
    }

    /// <summary>The fields every kind of data point numbers alike: start (2) and time (3); histograms also count (4) and sum (5).</summary>
    private static bool ReadShared(ref ProtoReader reader, int field, int wire, OtlpPoint point, bool histogram)
    {
        switch (field)
        {
            case 2:
                point.StartTimeUnixNano = reader.ReadFixed64(field, wire);
                return true;
            case 3:
                point.TimeUnixNano = reader.ReadFixed64(field, wire);
                return true;
            case 4 when histogram:
                point.Count = reader.ReadFixed64(field, wire);
                return true;
            case 5 when histogram:
                point.Sum = reader.ReadDouble(field, wire);
                return true;
            default:
                return false;
        }
    }

    private static OtlpPoint NumberPoint(ReadOnlySpan<byte> data)
    {
        var point = new OtlpPoint();
        var attributes = new List<KeyValuePair<string, AttributeValue>>();
        var reader = new ProtoReader(data);
        while (!reader.End)
        {
            var (field, wire) = reader.ReadTag();
            switch (field)
            {
                case 7:
                    attributes.Add(KeyValue(reader.ReadBytes(field, wire)));
                    break;
                case 4:
                    point.Value = reader.ReadDouble(field, wire);
                    point.HasValue = true;
                    break;
                case 6:
                    point.Value = (long)reader.ReadFixed64(field, wire);
                    point.HasValue = true;
                    break;
                case 8:
                    point.Flags = (uint)reader.ReadVarint(field, wire);
                    break;
                default:
                    if (!ReadShared(ref reader, field, wire, point, histogram: false))
                    {
                        reader.Skip(wire);
                    }

                    break;
            }
        }

        point.Attributes = new Attributes(attributes);
        return point;
    }

    private static OtlpPoint HistogramPoint(ReadOnlySpan<byte> data)
    {
        var point = new OtlpPoint { HasValue = true };
        var attributes = new List<KeyValuePair<string, AttributeValue>>();
        var reader = new ProtoReader(data);
        while (!reader.End)
        {
            var (field, wire) = reader.ReadTag();
            switch (field)
            {
                case 9:
                    attributes.Add(KeyValue(reader.ReadBytes(field, wire)));
                    break;
                case 6:
                    ReadFixed64s(ref reader, field, wire, point.BucketCounts);
                    break;
                case 7:
                    ReadDoubles(ref reader, field, wire, point.ExplicitBounds);
                    break;
                case 10:
                    point.Flags = (uint)reader.ReadVarint(field, wire);
                    break;
                default:
                    if (!ReadShared(ref reader, field, wire, point, histogram: true))
                    {
                        reader.Skip(wire);
                    }

                    break;
            }
        }

        point.Attributes = new Attributes(attributes);
        return point;
    }

    private static OtlpPoint ExponentialPoint(ReadOnlySpan<byte> data)
    {
        var point = new OtlpPoint { HasValue = true };
        var attributes = new List<KeyValuePair<string, AttributeValue>>();
        var reader = new ProtoReader(data);
        while (!reader.End)
        {
            var (field, wire) = reader.ReadTag();
            switch (field)
            {
                case 1:
                    attributes.Add(KeyValue(reader.ReadBytes(field, wire)));
                    break;
                case 6:
                    point.Scale = ZigZag(reader.ReadVarint(field, wire));
                    break;
                case 7:
                    point.ZeroCount = reader.ReadFixed64(field, wire);
                    break;
                case 8:
                    point.PositiveOffset = Buckets(reader.ReadBytes(field, wire), point.PositiveCounts);
                    break;
                case 9:
                    point.NegativeOffset = Buckets(reader.ReadBytes(field, wire), point.NegativeCounts);
                    break;
                case 10:
                    point.Flags = (uint)reader.ReadVarint(field, wire);
                    break;
                default:
                    if (!ReadShared(ref reader, field, wire, point, histogram: true))
                    {
                        reader.Skip(wire);
                    }

                    break;
            }
        }

        point.Attributes = new Attributes(attributes);
        return point;
    }

    private static int Buckets(ReadOnlySpan<byte> data, List<ulong> counts)
    {
        var offset = 0;
        var reader = new ProtoReader(data);
        while (!reader.End)
        {
            var (field, wire) = reader.ReadTag();
            switch (field)
            {
                case 1:
                    offset = ZigZag(reader.ReadVarint(field, wire));
                    break;
                case 2 when wire == ProtoReader.LengthDelimited:
                    var packed = new ProtoReader(reader.ReadBytes());
                    while (!packed.End)
                    {
                        counts.Add(packed.ReadVarint());
                    }

                    break;
                case 2:
                    counts.Add(reader.ReadVarint(field, wire));
                    break;
                default:
                    reader.Skip(wire);
                    break;
            }

            if (counts.Count > MaxBuckets)
            {
                throw new ProtoException($"an exponential histogram holds more than {MaxBuckets} buckets");
            }
        }

        return offset;
    }

    private const int MaxBuckets = 4096;

    private static void ReadFixed64s(ref ProtoReader reader, int field, int wire, List<ulong> values)
    {
        if (wire == ProtoReader.LengthDelimited)
        {
            var packed = reader.ReadBytes();
            if (packed.Length % 8 != 0)
            {
                throw new ProtoException($"packed field {field} has {packed.Length} bytes, not a multiple of 8");
            }

            // Sized once: growing a list value by value leaves an array behind at every doubling.
            values.EnsureCapacity(values.Count + Math.Min(packed.Length / 8, MaxBuckets + 1));
            var inner = new ProtoReader(packed);
            while (!inner.End)
            {
                values.Add(inner.ReadFixed64());
            }
        }
        else
        {
            values.Add(reader.ReadFixed64(field, wire));
        }

        if (values.Count > MaxBuckets)
        {
            throw new ProtoException($"field {field} holds more than {MaxBuckets} values");
        }
    }

    /// <summary>
    /// Appends a repeated double field (packed or not) to <paramref name="values"/>; like
    /// <see cref="ReadFixed64s"/>, but the cap applies to what one occurrence of the field holds.
    /// </summary>
    private static void ReadDoubles(ref ProtoReader reader, int field, int wire, List<double> values)
    {
        if (wire == ProtoReader.LengthDelimited)
        {
            var packed = reader.ReadBytes();
            if (packed.Length % 8 != 0)
            {
                throw new ProtoException($"packed field {field} has {packed.Length} bytes, not a multiple of 8");
            }

            if (packed.Length / 8 > MaxBuckets)
            {
                throw new ProtoException($"field {field} holds more than {MaxBuckets} values");
            }

            values.EnsureCapacity(values.Count + (packed.Length / 8));
            var inner = new ProtoReader(packed);
            while (!inner.End)
            {
                values.Add(inner.ReadDouble());
            }
        }
        else
        {
            values.Add(reader.ReadDouble(field, wire));
        }
    }

    private static OtlpSpan Span(ReadOnlySpan<byte> data)
    {
        var span = new OtlpSpan();
        var attributes = new List<KeyValuePair<string, AttributeValue>>();
        var reader = new ProtoReader(data);
        while (!reader.End)
        {
            var (field, wire) = reader.ReadTag();
            switch (field)
            {
                case 5:
                    span.Name = reader.ReadString(field, wire);
                    break;
                case 7:
                    span.StartTimeUnixNano = reader.ReadFixed64(field, wire);
                    break;
                case 8:
                    span.EndTimeUnixNano = reader.ReadFixed64(field, wire);
                    break;
                case 9:
                    attributes.Add(KeyValue(reader.ReadBytes(field, wire)));
                    break;
                case 15:
                    Status(reader.ReadBytes(field, wire), span);
                    break;
                default:
                    reader.Skip(wire);
                    break;
            }
        }

        span.Attributes = new Attributes(attributes);
        return span;
    }

    private static void Status(ReadOnlySpan<byte> data, OtlpSpan span)
    {
        var reader = new ProtoReader(data);
        while (!reader.End)
        {
            var (field, wire) = reader.ReadTag();
            switch (field)
            {
                case 2:
                    span.StatusMessage = reader.ReadString(field, wire);
                    break;
                case 3:
                    span.StatusCode = (int)reader.ReadVarint(field, wire);
                    break;
                default:
                    reader.Skip(wire);
                    break;
            }
        }
    }

    private static KeyValuePair<string, AttributeValue> KeyValue(ReadOnlySpan<byte> data)
    {
        var key = "";
        var value = AttributeValue.Of("");
        var reader = new ProtoReader(data);
        while (!reader.End)
        {
            var (field, wire) = reader.ReadTag();
            switch (field)
            {
                case 1:
                    key = reader.ReadRepeatedString(field, wire);
                    break;
                case 2:
                    value = AnyValue(reader.ReadBytes(field, wire), 0);
                    break;
                default:
                    reader.Skip(wire);
                    break;
            }
        }

        return new(key, value);
    }

    /// <summary>A scalar keeps its type; arrays and key-value lists become their JSON text, as the Prometheus OTLP translation does.</summary>
    private static AttributeValue AnyValue(ReadOnlySpan<byte> data, int depth)
    {
        if (depth > MaxAnyValueDepth)
        {
            throw new ProtoException($"attribute value nested deeper than {MaxAnyValueDepth} levels");
        }

        var value = AttributeValue.Of("");
        var reader = new ProtoReader(data);
        while (!reader.End)
        {
            var (field, wire) = reader.ReadTag();
            switch (field)
            {
                case 1:
                    value = AttributeValue.Of(reader.ReadRepeatedString(field, wire));
                    break;
                case 2:
                    value = AttributeValue.Of(reader.ReadVarint(field, wire) != 0);
                    break;
                case 3:
                    var integer = (long)reader.ReadVarint(field, wire);
                    value = new AttributeValue(integer.ToString(CultureInfo.InvariantCulture), integer);
                    break;
                case 4:
                    value = AttributeValue.Of(reader.ReadDouble(field, wire));
                    break;
                case 5 or 6:
                    value = AttributeValue.Of(Composite(reader.ReadBytes(field, wire), field == 6, depth + 1));
                    break;
                case 7:
                    value = AttributeValue.Of(Convert.ToBase64String(reader.ReadBytes(field, wire)));
                    break;
                default:
                    reader.Skip(wire);
                    break;
            }
        }

        return value;
    }

    private static string Composite(ReadOnlySpan<byte> data, bool keyValues, int depth)
    {
        var text = new StringBuilder(keyValues ? "{" : "[");
        var first = true;
        var reader = new ProtoReader(data);
        while (!reader.End)
        {
            var (field, wire) = reader.ReadTag();
            if (field != 1)
            {
                reader.Skip(wire);
                continue;
            }

            var item = reader.ReadBytes(field, wire);
            text.Append(first ? "" : ",");
            first = false;
            if (keyValues)
            {
                var pair = KeyValueAt(item, depth);
                text.Append(Quote(pair.Key)).Append(':').Append(pair.Json);
            }
            else
            {
                text.Append(AnyValueJson(item, depth));
            }
        }

        return text.Append(keyValues ? '}' : ']').ToString();
    }

    private static (string Key, string Json) KeyValueAt(ReadOnlySpan<byte> data, int depth)
    {
        var key = "";
        var json = "null";
        var reader = new ProtoReader(data);
        while (!reader.End)
        {
            var (field, wire) = reader.ReadTag();
            if (field == 1 && wire == ProtoReader.LengthDelimited)
            {
                key = reader.ReadString();
            }
            else if (field == 2 && wire == ProtoReader.LengthDelimited)
            {
                json = AnyValueJson(reader.ReadBytes(), depth);
            }
            else
            {
                reader.Skip(wire);
            }
        }

        return (key, json);
    }

    /// <summary>An AnyValue inside an array or list, as JSON: strings quoted, everything else as its text.</summary>
    private static string AnyValueJson(ReadOnlySpan<byte> data, int depth)
    {
        var reader = new ProtoReader(data);
        var isString = false;
        while (!reader.End)
        {
            var (field, wire) = reader.ReadTag();
            isString = field is 1 or 7;
            reader.Skip(wire);
        }

        var value = AnyValue(data, depth);
        return isString ? Quote(value.Text) : value.Text.Length == 0 ? "null" : value.Text;
    }

    private static string Quote(string text) => System.Text.Json.JsonSerializer.Serialize(text, SidecarJsonContext.Default.String);

    private static int ZigZag(ulong raw) => (int)((uint)raw >> 1) ^ -(int)((uint)raw & 1);
}
