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

    [Theory]
    [InlineData("gen_ai.invoke_workflow.duration")]
    [InlineData("gen_ai.workflow.duration")]
    public void The_workflow_duration_under_its_current_or_first_name_feeds_the_standard_metric(string name)
    {
        var t = new TestRegistry();

        Send(t, Histogram(name, "s", [1, 10], [0, 1, 0], 4.5, ("gen_ai.workflow.name", "triage"), ("error.type", "timeout")));

        var series = t.Series("gen_ai_invoke_workflow_duration_seconds", "gen_ai_workflow_name", "triage", "error_type", "timeout");
        Assert.Equal(1, series.Count);
        Assert.Equal(4.5, series.Sum, 9);
        Assert.DoesNotContain("gen_ai_workflow_duration", t.Scrape(), StringComparison.Ordinal);

        // The standard metric, under its declared labels only: not a passed-through metric of the same name.
        Assert.Equal(FamilyOrigin.BuiltIn, t.Registry.Find("gen_ai_invoke_workflow_duration_seconds")!.Spec.Origin);
        Assert.DoesNotContain("service_name", t.Scrape(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("gen_ai.client.inference.operation.input_tokens", "input")]
    [InlineData("gen_ai.client.inference.operation.output_tokens", "output")]
    public void A_per_direction_token_histogram_feeds_gen_ai_client_token_usage_with_the_token_type_its_name_gives(string name, string type)
    {
        var t = new TestRegistry();

        Send(t, Histogram(name, "{token}", [100, 1000], [1, 1, 0], 650, ("gen_ai.operation.name", "chat"), ("gen_ai.provider.name", "openai")));

        var series = t.Series("gen_ai_client_token_usage", "gen_ai_operation_name", "chat", "gen_ai_provider_name", "openai", "gen_ai_token_type", type);
        Assert.Equal(2, series.Count);
        Assert.Equal(650, series.Sum, 9);
        Assert.Equal(1, t.Registry.Find("gen_ai_client_token_usage")!.SeriesCount);
    }

    [Theory]
    [InlineData("gen_ai.client.inference.usage.input_tokens", "gen_ai_client_inference_usage_input_tokens")]
    [InlineData("gen_ai.client.inference.usage.output_tokens", "gen_ai_client_inference_usage_output_tokens")]
    public void The_token_counters_feed_the_standard_token_counters(string name, string family)
    {
        var t = new TestRegistry();

        Send(t, ProtoBuilder.MetricsRequest("svc", m => m.String(1, name).String(3, "{token}").Message(7, sum => sum
            .Message(1, p => p.Attribute(7, "gen_ai.operation.name", "chat").Attribute(7, "gen_ai.system", "anthropic").Attribute(7, "gen_ai.token.modality", "text")
                .Fixed64(2, 1).Fixed64(3, 2).Double(4, 300))
            .Varint(2, Delta).Varint(3, 1))));

        Assert.Equal(300, t.Series(family, "gen_ai_operation_name", "chat", "gen_ai_provider_name", "anthropic").Value);
        Assert.Equal(FamilyOrigin.BuiltIn, t.Registry.Find(family)!.Spec.Origin);
        Assert.DoesNotContain("service_name", t.Scrape(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.provider.name")]
    [InlineData("gen_ai.usage.prompt_tokens", "gen_ai.usage.completion_tokens", "gen_ai.system")]
    public void Span_token_counts_under_current_or_older_keys_feed_the_token_metrics(string input, string output, string provider)
    {
        var t = new TestRegistry();
        var json = $$$"""
            {"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"chat gpt-4o","startTimeUnixNano":"1000000000","endTimeUnixNano":"1500000000","attributes":[
              {"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},
              {"key":"{{{provider}}}","value":{"stringValue":"openai"}},
              {"key":"gen_ai.request.model","value":{"stringValue":"gpt-4o"}},
              {"key":"{{{input}}}","value":{"intValue":"120"}},
              {"key":"{{{output}}}","value":{"intValue":"40"}}]}]}]}]}
            """;

        foreach (var resource in OtlpJsonDecoder.DecodeTraces(System.Text.Encoding.UTF8.GetBytes(json)))
        {
            resource.Spans.ForEach(span => t.Recorder.Record(span, resource.Resource));
        }

        string[] labels = ["gen_ai_operation_name", "chat", "gen_ai_provider_name", "openai", "gen_ai_request_model", "gpt-4o"];
        Assert.Equal(120, t.Series("gen_ai_client_inference_usage_input_tokens", labels).Value);
        Assert.Equal(40, t.Series("gen_ai_client_inference_usage_output_tokens", labels).Value);
        Assert.Equal(120, t.Series("gen_ai_client_token_usage", [.. labels, "gen_ai_token_type", "input"]).Sum);
        Assert.Equal(40, t.Series("gen_ai_client_token_usage", [.. labels, "gen_ai_token_type", "output"]).Sum);
    }

    [Fact]
    public void An_invoke_workflow_span_feeds_the_workflow_duration_not_the_model_call_duration()
    {
        var t = new TestRegistry();
        const string json = """
            {"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"invoke_workflow triage","startTimeUnixNano":"1000000000","endTimeUnixNano":"3500000000","attributes":[
              {"key":"gen_ai.operation.name","value":{"stringValue":"invoke_workflow"}},
              {"key":"gen_ai.workflow.name","value":{"stringValue":"triage"}}]}]}]}]}
            """;

        foreach (var resource in OtlpJsonDecoder.DecodeTraces(System.Text.Encoding.UTF8.GetBytes(json)))
        {
            resource.Spans.ForEach(span => t.Recorder.Record(span, resource.Resource));
        }

        Assert.Equal(2.5, t.Series("gen_ai_invoke_workflow_duration_seconds", "gen_ai_workflow_name", "triage", "error_type", "").Sum, 9);
        Assert.Equal(0, t.Registry.Find("gen_ai_client_operation_duration_seconds")!.SeriesCount);
    }
}
