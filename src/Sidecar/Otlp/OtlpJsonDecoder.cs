using System.Globalization;
using System.Text.Json;
using AgentMetrics.Sidecar.Ingest;

namespace AgentMetrics.Sidecar.Otlp;

/// <summary>Malformed OTLP/JSON input, naming the JSON path of the problem.</summary>
public sealed class OtlpJsonException(string path, string message) : Exception($"{path}: {message}")
{
    /// <summary>Where in the request the problem is.</summary>
    public string Path { get; } = path;
}

/// <summary>
/// Decodes OTLP/HTTP JSON export requests, per the OTLP JSON encoding: lowerCamelCase keys, 64-bit
/// integers as numbers or decimal strings, enums as integers, unknown fields ignored.
/// </summary>
public static class OtlpJsonDecoder
{
    private static readonly JsonDocumentOptions Options = new() { MaxDepth = 32 };

    /// <summary>Decodes an ExportMetricsServiceRequest.</summary>
    public static List<OtlpResourceMetrics> DecodeMetrics(ReadOnlyMemory<byte> body)
    {
        using var document = Parse(body);
        var result = new List<OtlpResourceMetrics>();
        foreach (var (resource, rPath) in Items(document.RootElement, "resourceMetrics", "$"))
        {
            var entry = new OtlpResourceMetrics { Resource = ResourceOf(resource, rPath) };
            foreach (var (scope, sPath) in Items(resource, "scopeMetrics", rPath))
            {
                foreach (var (metric, mPath) in Items(scope, "metrics", sPath))
                {
                    entry.Metrics.Add(Metric(metric, mPath));
                }
            }

            result.Add(entry);
        }

        return result;
    }

    /// <summary>Decodes an ExportTraceServiceRequest.</summary>
    public static List<OtlpResourceSpans> DecodeTraces(ReadOnlyMemory<byte> body)
    {
        using var document = Parse(body);
        var result = new List<OtlpResourceSpans>();
        foreach (var (resource, rPath) in Items(document.RootElement, "resourceSpans", "$"))
        {
            var entry = new OtlpResourceSpans { Resource = ResourceOf(resource, rPath) };
            foreach (var (scope, sPath) in Items(resource, "scopeSpans", rPath))
            {
                foreach (var (span, path) in Items(scope, "spans", sPath))
                {
                    entry.Spans.Add(new OtlpSpan
                    {
                        Name = String(span, "name", path),
                        StartTimeUnixNano = UInt64(span, "startTimeUnixNano", path),
                        EndTimeUnixNano = UInt64(span, "endTimeUnixNano", path),
                        Attributes = AttributesOf(span, "attributes", path),
                        StatusCode = span.TryGetProperty("status", out var status) && status.ValueKind == JsonValueKind.Object
                            ? (int)Int64(status, "code", path + ".status")
                            : 0,
                        StatusMessage = span.TryGetProperty("status", out status) && status.ValueKind == JsonValueKind.Object
                            ? String(status, "message", path + ".status")
                            : "",
                    });
                }
            }

            result.Add(entry);
        }

        return result;
    }

    private static JsonDocument Parse(ReadOnlyMemory<byte> body)
    {
        try
        {
            var document = JsonDocument.Parse(body, Options);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                document.Dispose();
                throw new OtlpJsonException("$", "must be a JSON object");
            }

            return document;
        }
        catch (JsonException e)
        {
            throw new OtlpJsonException("$", $"not valid JSON: {ClientText.Clip(e.Message, 4 * ClientText.MaxQuoted)}");
        }
    }

    private static OtlpMetric Metric(JsonElement element, string path)
    {
        var metric = new OtlpMetric
        {
            Name = String(element, "name", path),
            Description = String(element, "description", path),
            Unit = String(element, "unit", path),
        };
        foreach (var (key, kind) in new[]
        {
            ("gauge", OtlpDataKind.Gauge), ("sum", OtlpDataKind.Sum), ("histogram", OtlpDataKind.Histogram),
            ("exponentialHistogram", OtlpDataKind.ExponentialHistogram), ("summary", OtlpDataKind.Summary),
        })
        {
            if (!element.TryGetProperty(key, out var data) || data.ValueKind == JsonValueKind.Null)
            {
                continue;
            }

            var dataPath = $"{path}.{key}";
            if (data.ValueKind != JsonValueKind.Object)
            {
                throw new OtlpJsonException(dataPath, "must be an object");
            }

            metric.Kind = kind;
            if (kind == OtlpDataKind.Summary)
            {
                break;
            }

            metric.Temporality = (Temporality)(int)Int64(data, "aggregationTemporality", dataPath);
            metric.Monotonic = data.TryGetProperty("isMonotonic", out var monotonic) && monotonic.ValueKind == JsonValueKind.True;
            foreach (var (point, pointPath) in Items(data, "dataPoints", dataPath))
            {
                metric.Points.Add(Point(point, pointPath, kind));
            }

            break;
        }

        return metric;
    }

    private static OtlpPoint Point(JsonElement element, string path, OtlpDataKind kind)
    {
        var point = new OtlpPoint
        {
            Attributes = AttributesOf(element, "attributes", path),
            StartTimeUnixNano = UInt64(element, "startTimeUnixNano", path),
            TimeUnixNano = UInt64(element, "timeUnixNano", path),
            Flags = (uint)Int64(element, "flags", path),
        };
        switch (kind)
        {
            case OtlpDataKind.Gauge or OtlpDataKind.Sum:
                if (element.TryGetProperty("asDouble", out var d) && d.ValueKind != JsonValueKind.Null)
                {
                    point.Value = Double(d, path + ".asDouble");
                    point.HasValue = true;
                }
                else if (element.TryGetProperty("asInt", out var i) && i.ValueKind != JsonValueKind.Null)
                {
                    point.Value = Int64(element, "asInt", path);
                    point.HasValue = true;
                }

                break;
            case OtlpDataKind.Histogram:
                point.HasValue = true;
                point.Count = UInt64(element, "count", path);
                point.Sum = element.TryGetProperty("sum", out var sum) && sum.ValueKind != JsonValueKind.Null ? Double(sum, path + ".sum") : 0;
                foreach (var (bucket, bucketPath) in Items(element, "bucketCounts", path))
                {
                    point.BucketCounts.Add(UInt64Value(bucket, bucketPath));
                }

                foreach (var (bound, boundPath) in Items(element, "explicitBounds", path))
                {
                    point.ExplicitBounds.Add(Double(bound, boundPath));
                }

                break;
            case OtlpDataKind.ExponentialHistogram:
                point.HasValue = true;
                point.Count = UInt64(element, "count", path);
                point.Sum = element.TryGetProperty("sum", out var esum) && esum.ValueKind != JsonValueKind.Null ? Double(esum, path + ".sum") : 0;
                point.Scale = (int)Int64(element, "scale", path);
                point.ZeroCount = UInt64(element, "zeroCount", path);
                point.PositiveOffset = Buckets(element, "positive", path, point.PositiveCounts);
                point.NegativeOffset = Buckets(element, "negative", path, point.NegativeCounts);
                break;
        }

        return point;
    }

    private static int Buckets(JsonElement element, string name, string path, List<ulong> counts)
    {
        if (!element.TryGetProperty(name, out var buckets) || buckets.ValueKind == JsonValueKind.Null)
        {
            return 0;
        }

        var bucketsPath = $"{path}.{name}";
        if (buckets.ValueKind != JsonValueKind.Object)
        {
            throw new OtlpJsonException(bucketsPath, "must be an object");
        }

        foreach (var (count, countPath) in Items(buckets, "bucketCounts", bucketsPath))
        {
            counts.Add(UInt64Value(count, countPath));
        }

        return (int)Int64(buckets, "offset", bucketsPath);
    }

    private static Attributes ResourceOf(JsonElement element, string path) =>
        element.TryGetProperty("resource", out var resource) && resource.ValueKind == JsonValueKind.Object
            ? AttributesOf(resource, "attributes", path + ".resource")
            : new Attributes();

    private static Attributes AttributesOf(JsonElement element, string name, string path)
    {
        var attributes = new List<KeyValuePair<string, AttributeValue>>();
        foreach (var (pair, pairPath) in Items(element, name, path))
        {
            var key = String(pair, "key", pairPath);
            var value = pair.TryGetProperty("value", out var any) && any.ValueKind == JsonValueKind.Object
                ? AnyValue(any, pairPath + ".value")
                : AttributeValue.Of("");
            attributes.Add(new(key, value));
        }

        return new Attributes(attributes);
    }

    private static AttributeValue AnyValue(JsonElement any, string path)
    {
        foreach (var property in any.EnumerateObject())
        {
            switch (property.Name)
            {
                case "stringValue":
                    return AttributeValue.Of(String(any, "stringValue", path));
                case "boolValue":
                    return AttributeValue.Of(property.Value.ValueKind == JsonValueKind.True);
                case "intValue":
                    var integer = Int64(any, "intValue", path);
                    return new AttributeValue(integer.ToString(CultureInfo.InvariantCulture), integer);
                case "doubleValue":
                    return AttributeValue.Of(Double(property.Value, path + ".doubleValue"));
                case "bytesValue":
                    return AttributeValue.Of(String(any, "bytesValue", path));
                case "arrayValue" or "kvlistValue":
                    // Composite values are kept as their JSON text, as the Prometheus OTLP translation does.
                    return AttributeValue.Of(property.Value.GetRawText());
            }
        }

        return AttributeValue.Of("");
    }

    private static IEnumerable<(JsonElement Element, string Path)> Items(JsonElement element, string name, string path)
    {
        if (!element.TryGetProperty(name, out var array) || array.ValueKind == JsonValueKind.Null)
        {
            yield break;
        }

        if (array.ValueKind != JsonValueKind.Array)
        {
            throw new OtlpJsonException($"{path}.{name}", "must be an array");
        }

        var index = 0;
        foreach (var item in array.EnumerateArray())
        {
            yield return (item, $"{path}.{name}[{index++}]");
        }
    }

    private static string String(JsonElement element, string name, string path)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return "";
        }

        return value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new OtlpJsonException($"{path}.{name}", "must be a string");
    }

    private static long Int64(JsonElement element, string name, string path)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return 0;
        }

        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number))
        {
            return number;
        }

        if (value.ValueKind == JsonValueKind.String && long.TryParse(value.GetString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out number))
        {
            return number;
        }

        throw new OtlpJsonException($"{path}.{name}", "must be a 64-bit integer, as a number or a decimal string");
    }

    private static ulong UInt64(JsonElement element, string name, string path) =>
        element.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? UInt64Value(value, $"{path}.{name}") : 0;

    private static ulong UInt64Value(JsonElement value, string path)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetUInt64(out var number))
        {
            return number;
        }

        if (value.ValueKind == JsonValueKind.String && ulong.TryParse(value.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out number))
        {
            return number;
        }

        throw new OtlpJsonException(path, "must be an unsigned 64-bit integer, as a number or a decimal string");
    }

    private static double Double(JsonElement value, string path)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var number))
        {
            return number;
        }

        // The protobuf JSON mapping spells non-finite doubles as strings.
        if (value.ValueKind == JsonValueKind.String)
        {
            switch (value.GetString())
            {
                case "NaN":
                    return double.NaN;
                case "Infinity":
                    return double.PositiveInfinity;
                case "-Infinity":
                    return double.NegativeInfinity;
                case { } text when double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out number):
                    return number;
            }
        }

        throw new OtlpJsonException(path, "must be a number");
    }
}
