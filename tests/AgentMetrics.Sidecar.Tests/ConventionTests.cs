using AgentMetrics.Sidecar.Metrics;
using AgentMetrics.Sidecar.Otlp;
using Xunit;

namespace AgentMetrics.Sidecar.Tests;

/// <summary>OTLP metrics read through the conventions' alias table and converted to base units.</summary>
public class ConventionTests
{
    private const int Delta = 1;

    private static void Send(TestRegistry t, byte[] request) => t.Otlp.Record(OtlpProtobufDecoder.DecodeMetrics(request));

    /// <summary>A delta explicit histogram point with the given unit, bounds, counts and sum, and string attributes.</summary>
    private static byte[] Histogram(string name, string unit, double[] bounds, ulong[] counts, double sum, params (string Key, string Value)[] attributes) =>
        ProtoBuilder.MetricsRequest("svc", m => m.String(1, name).String(3, unit).Message(9, h => h
            .Message(1, p =>
            {
                foreach (var (key, value) in attributes)
                {
                    p.Attribute(9, key, value);
                }

                p.Fixed64(2, 1).Fixed64(3, 2).Fixed64(4, (ulong)counts.Sum(c => (long)c)).Double(5, sum).PackedFixed64(6, counts).PackedDouble(7, bounds);
            })
            .Varint(2, Delta)));

    [Theory]
    [InlineData("gen_ai.system")]
    [InlineData("gen_ai.provider.name")]
    public void The_provider_attribute_under_either_name_fills_gen_ai_provider_name_on_metrics(string key)
    {
        var t = new TestRegistry();

        Send(t, Histogram("gen_ai.client.operation.duration", "s", [1, 10], [1, 0, 0], 0.5,
            ("gen_ai.operation.name", "chat"), (key, "openai"), ("gen_ai.request.model", "gpt-4o")));
        Send(t, ProtoBuilder.MetricsRequest("svc", ProtoBuilder.Sum("llm.calls", 1, 1, true, Delta, (key, "anthropic"))));

        Assert.Equal(1, t.Series("gen_ai_client_operation_duration_seconds", "gen_ai_operation_name", "chat", "gen_ai_provider_name", "openai", "gen_ai_request_model", "gpt-4o", "error_type", "").Count);
        Assert.Contains("gen_ai_provider_name=\"anthropic\"", t.Scrape(), StringComparison.Ordinal);
        Assert.DoesNotContain("gen_ai_system", t.Scrape(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_duration_in_milliseconds_is_recorded_in_seconds_on_the_standard_metric()
    {
        var t = new TestRegistry();

        // 3 calls: 40 ms, 700 ms and 2.5 s, with bounds in ms.
        Send(t, Histogram("gen_ai.client.operation.duration", "ms", [50, 1000, 5000], [1, 1, 1, 0], 3240, ("gen_ai.operation.name", "chat")));

        var series = t.Series("gen_ai_client_operation_duration_seconds", "gen_ai_operation_name", "chat", "gen_ai_provider_name", "", "gen_ai_request_model", "", "error_type", "");
        Assert.Equal(3, series.Count);
        Assert.Equal(3.24, series.Sum, 9);
        var text = t.Scrape();
        Assert.Contains("gen_ai_client_operation_duration_seconds_bucket{namespace=\"demo\",pod=\"agent-0\",agent=\"support\",gen_ai_operation_name=\"chat\",le=\"0.08\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("le=\"1.28\"} 2\n", text, StringComparison.Ordinal);
        Assert.Contains("le=\"5.12\"} 3\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_standard_metric_in_a_unit_of_another_kind_is_dropped_and_counted()
    {
        var t = new TestRegistry();

        Send(t, Histogram("gen_ai.client.operation.duration", "By", [1, 10], [1, 0, 0], 0.5, ("gen_ai.operation.name", "chat")));

        Assert.Equal(0, t.Registry.Find("gen_ai_client_operation_duration_seconds")!.SeriesCount);
        Assert.Equal(1, t.Registry.Self.Dropped(DropReason.UnsupportedPoint).Value);
    }

    [Theory]
    [InlineData("ms", 1500, "queue_wait_seconds", 1.5)]
    [InlineData("us", 250, "queue_wait_seconds", 0.00025)]
    [InlineData("KiBy", 2, "queue_wait_bytes", 2048)]
    [InlineData("s", 3, "queue_wait_seconds", 3)]
    public void Passed_through_metrics_are_converted_to_base_units(string unit, double value, string name, double expected)
    {
        var t = new TestRegistry();

        Send(t, ProtoBuilder.MetricsRequest("svc", m => m.String(1, "queue.wait").String(3, unit).Message(5, g => g.Message(1, p => p.Double(4, value)))));

        Assert.Equal(expected, t.Series(name).Value, 9);
    }

    [Fact]
    public void A_passed_through_exponential_histogram_gets_bounds_from_its_own_scale()
    {
        var t = new TestRegistry();

        // Scale 0 (base 2), in ms: buckets (64, 128], (128, 256], (256, 512] ms hold 1, 2 and 3 observations.
        var request = ProtoBuilder.MetricsRequest("svc", m => m.String(1, "step.latency").String(3, "ms").Message(10, h => h
            .Message(1, p => p.Fixed64(2, 1).Fixed64(3, 2).Fixed64(4, 6).Double(5, 1500).SInt(6, 0)
                .Message(8, b => b.SInt(1, 6).PackedVarint(2, [1, 2, 3])))
            .Varint(2, Delta)));

        Send(t, request);

        var family = t.Registry.Find("step_latency_seconds")!;
        Assert.Equal([0.128, 0.256, 0.512], family.Bounds);
        var text = t.Scrape();
        Assert.Contains("step_latency_seconds_bucket{namespace=\"demo\",pod=\"agent-0\",agent=\"support\",service_name=\"svc\",le=\"0.128\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("le=\"0.512\"} 6\n", text, StringComparison.Ordinal);
        Assert.Contains("le=\"+Inf\"} 6\n", text, StringComparison.Ordinal);
        Assert.Equal(1.5, t.Series("step_latency_seconds", "service_name", "svc").Sum, 9);
    }
}
