using AgentMetrics.Sidecar.Metrics;
using AgentMetrics.Sidecar.Otlp;

namespace AgentMetrics.Sidecar.Ingest;

/// <summary>
/// What an OTLP export request does, whichever transport brought it (OTLP/HTTP or OTLP/gRPC): decode it
/// whole, then record it. Throws <see cref="ProtoException"/> or <see cref="OtlpJsonException"/> before
/// recording anything when the request does not decode.
/// </summary>
internal sealed class OtlpIntake(MetricRegistry registry, AgentRecorder recorder, OtlpRecorder otlp)
{
    /// <summary>Records an ExportMetricsServiceRequest; returns how many data points were dropped.</summary>
    public OtlpOutcome Metrics(ReadOnlyMemory<byte> data, bool json)
    {
        var request = json ? OtlpJsonDecoder.DecodeMetrics(data) : OtlpProtobufDecoder.DecodeMetrics(data.Span);
        return new(otlp.Record(request), OtlpSignal.Metrics);
    }

    /// <summary>Records an ExportTraceServiceRequest: each GenAI span becomes agent metrics.</summary>
    public OtlpOutcome Traces(ReadOnlyMemory<byte> data, bool json)
    {
        var request = json ? OtlpJsonDecoder.DecodeTraces(data) : OtlpProtobufDecoder.DecodeTraces(data.Span);
        long spans = 0;
        foreach (var resource in request)
        {
            foreach (var span in resource.Spans)
            {
                recorder.Record(span, resource.Resource);
                spans++;
            }
        }

        registry.Self.Received("span", spans);
        return new(0, OtlpSignal.Traces);
    }
}

/// <summary>The two OTLP signals the sidecar takes.</summary>
internal enum OtlpSignal
{
    Metrics,
    Traces,
}

/// <summary>What recording one export request dropped, for its partial_success answer.</summary>
internal readonly record struct OtlpOutcome(long Rejected, OtlpSignal Signal)
{
    /// <summary>The partial_success error message, or null when nothing was dropped.</summary>
    public string? Message => Rejected > 0
        ? $"{Rejected} {(Signal == OtlpSignal.Traces ? "spans" : "data points")} were dropped by the sidecar's limits or could not be converted; see agent_metrics_sidecar_dropped_total"
        : null;

    /// <summary>
    /// The Export…ServiceResponse as protobuf: empty, or partial_success (field 1) holding the rejected
    /// count (field 1) and error_message (field 2).
    /// </summary>
    public byte[] ToProtobuf()
    {
        if (Message is not { } message)
        {
            return [];
        }

        var text = System.Text.Encoding.UTF8.GetBytes(message);
        var inner = new List<byte> { 0x08 };
        AppendVarint(inner, (ulong)Rejected);
        inner.Add(0x12);
        AppendVarint(inner, (ulong)text.Length);
        inner.AddRange(text);
        var outer = new List<byte> { 0x0A };
        AppendVarint(outer, (ulong)inner.Count);
        outer.AddRange(inner);
        return [.. outer];
    }

    private static void AppendVarint(List<byte> bytes, ulong value)
    {
        while (value >= 0x80)
        {
            bytes.Add((byte)(value | 0x80));
            value >>= 7;
        }

        bytes.Add((byte)value);
    }
}
