using System.Text;
using AgentMetrics.Sidecar.Metrics;
using AgentMetrics.Sidecar.Otlp;
using Xunit;

namespace AgentMetrics.Sidecar.Tests;

public class OtlpTests
{
    private const int Delta = 1;
    private const int Cumulative = 2;

    private static void Send(TestRegistry t, byte[] request) => t.Otlp.Record(OtlpProtobufDecoder.DecodeMetrics(request));

    [Fact]
    public void Cumulative_and_delta_sums_give_the_same_counter()
    {
        var cumulative = new TestRegistry();
        Send(cumulative, ProtoBuilder.MetricsRequest("svc", ProtoBuilder.Sum("jobs.done", 5, 100, true, Cumulative)));
        Send(cumulative, ProtoBuilder.MetricsRequest("svc", ProtoBuilder.Sum("jobs.done", 8, 100, true, Cumulative)));
        var delta = new TestRegistry();
        Send(delta, ProtoBuilder.MetricsRequest("svc", ProtoBuilder.Sum("jobs.done", 5, 100, true, Delta)));
        Send(delta, ProtoBuilder.MetricsRequest("svc", ProtoBuilder.Sum("jobs.done", 3, 200, true, Delta)));

        Assert.Equal(8, cumulative.Series("jobs_done").Value);
        Assert.Equal(8, delta.Series("jobs_done").Value);
    }

    [Fact]
    public void A_restarted_agent_stream_counts_from_zero_again_instead_of_going_down()
    {
        var t = new TestRegistry();
        Send(t, ProtoBuilder.MetricsRequest("svc", ProtoBuilder.Sum("jobs.done", 5, 100, true, Cumulative)));
        Send(t, ProtoBuilder.MetricsRequest("svc", ProtoBuilder.Sum("jobs.done", 8, 100, true, Cumulative)));
        Send(t, ProtoBuilder.MetricsRequest("svc", ProtoBuilder.Sum("jobs.done", 2, 900, true, Cumulative)));

        Assert.Equal(10, t.Series("jobs_done").Value);
    }

    [Fact]
    public void Non_monotonic_sums_become_gauges_that_follow_the_stream()
    {
        var t = new TestRegistry();
        Send(t, ProtoBuilder.MetricsRequest("svc", ProtoBuilder.Sum("queue.depth", 7, 1, false, Cumulative)));
        Send(t, ProtoBuilder.MetricsRequest("svc", ProtoBuilder.Sum("queue.depth", 4, 1, false, Cumulative)));

        Assert.Equal(4, t.Series("queue_depth").Value);
        Assert.Contains("# TYPE queue_depth gauge", t.Scrape(), StringComparison.Ordinal);
    }

    [Fact]
    public void Passed_through_metrics_get_prometheus_names_units_and_labels()
    {
        var t = new TestRegistry();
        var request = new ProtoBuilder().Message(1, rm => rm
            .Message(1, r => r.Attribute(1, "service.name", "svc").Attribute(1, "host.name", "h1"))
            .Message(2, sm => sm.Message(2, m => m.String(1, "http.client.duration").String(3, "s").Message(9, h => h
                .Message(1, p => p.Attribute(9, "http.method", "GET").Attribute(9, "namespace", "spoofed")
                    .Fixed64(2, 1).Fixed64(3, 2).Fixed64(4, 3).Double(5, 2.5)
                    .PackedFixed64(6, [1, 1, 1]).PackedDouble(7, [0.5, 1]))
                .Varint(2, Delta))))).ToArray();

        Send(t, request);

        var text = t.Scrape();
        Assert.Contains("http_client_duration_seconds_bucket{namespace=\"demo\",pod=\"agent-0\",agent=\"support\",exported_namespace=\"spoofed\",http_method=\"GET\",service_name=\"svc\",le=\"0.5\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("le=\"+Inf\"} 3", text, StringComparison.Ordinal);
        Assert.DoesNotContain("host_name", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Cumulative_histograms_add_only_what_is_new()
    {
        var t = new TestRegistry();
        byte[] Histogram(ulong[] counts, double sum) => ProtoBuilder.MetricsRequest("svc", m => m.String(1, "work.size").Message(9, h => h
            .Message(1, p => p.Fixed64(2, 1).Fixed64(3, 2).Fixed64(4, (ulong)counts.Sum(c => (long)c)).Double(5, sum).PackedFixed64(6, counts).PackedDouble(7, [1, 5]))
            .Varint(2, Cumulative)));

        Send(t, Histogram([1, 2, 0], 7));
        Send(t, Histogram([2, 2, 1], 20));

        var series = t.Series("work_size");
        Assert.Equal(5, series.Count);
        Assert.Equal(20, series.Sum);
        Assert.Contains("work_size_bucket{namespace=\"demo\",pod=\"agent-0\",agent=\"support\",service_name=\"svc\",le=\"5\"} 4", t.Scrape(), StringComparison.Ordinal);
    }

    [Fact]
    public void Exponential_histograms_land_in_the_definition_buckets()
    {
        var t = new TestRegistry();
        t.Custom.Apply([EventTests.Definition("lat", "llm_latency_seconds", "histogram", "OtlpMetric", "llm.latency", buckets: [1, 2, 4, 8])]);
        var request = ProtoBuilder.MetricsRequest("svc", m => m.String(1, "llm.latency").Message(10, h => h
            .Message(1, p => p.Fixed64(2, 1).Fixed64(3, 2).Fixed64(4, 6).Double(5, 9).SInt(6, 0).Fixed64(7, 1)
                .Message(8, b => b.SInt(1, 0).PackedVarint(2, [2, 3])))
            .Varint(2, Delta)));

        Send(t, request);

        var text = t.Scrape();
        Assert.Contains("llm_latency_seconds_bucket{namespace=\"demo\",pod=\"agent-0\",agent=\"support\",le=\"1\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("le=\"2\"} 3\n", text, StringComparison.Ordinal);
        Assert.Contains("le=\"4\"} 6\n", text, StringComparison.Ordinal);
        Assert.Equal(9, t.Series("llm_latency_seconds").Sum);
    }

    [Fact]
    public void A_custom_otlp_metric_keeps_only_its_labels_and_matching_points()
    {
        var t = new TestRegistry();
        t.Custom.Apply([EventTests.Definition("misses", "retrieval_cache_misses", "counter", "OtlpMetric", "retrieval.cache.misses",
            labels: ["index"], match: new() { ["deployment.environment"] = "production" })]);
        var request = new ProtoBuilder().Message(1, rm => rm
            .Message(1, r => r.Attribute(1, "deployment.environment", "production"))
            .Message(2, sm => sm
                .Message(2, ProtoBuilder.Sum("retrieval.cache.misses", 3, 1, true, Cumulative, ("index", "docs"), ("store", "redis")))
                .Message(2, ProtoBuilder.Sum("retrieval.cache.misses", 4, 1, true, Cumulative, ("index", "docs"), ("store", "pg"))))).ToArray();
        var staging = new ProtoBuilder().Message(1, rm => rm
            .Message(1, r => r.Attribute(1, "deployment.environment", "staging"))
            .Message(2, sm => sm.Message(2, ProtoBuilder.Sum("retrieval.cache.misses", 100, 1, true, Cumulative, ("index", "docs"))))).ToArray();

        Send(t, request);
        Send(t, staging);

        Assert.Equal(7, t.Series("retrieval_cache_misses", "index", "docs").Value);
        Assert.Equal(FamilyOrigin.Custom, t.Registry.Find("retrieval_cache_misses")!.Spec.Origin);
    }

    [Fact]
    public void Streams_from_two_resources_feed_one_series_each_counting_its_own_increments()
    {
        var t = new TestRegistry();
        Send(t, ProtoBuilder.MetricsRequest("svc", ProtoBuilder.Sum("jobs.done", 5, 100, true, Cumulative)));
        Send(t, ProtoBuilder.MetricsRequest("svc", ProtoBuilder.Sum("jobs.done", 8, 100, true, Cumulative, ("worker", "a"))));
        Send(t, ProtoBuilder.MetricsRequest("svc", ProtoBuilder.Sum("jobs.done", 7, 100, true, Cumulative)));
        Send(t, ProtoBuilder.MetricsRequest("svc", ProtoBuilder.Sum("jobs.done", 9, 100, true, Cumulative, ("worker", "a"))));

        Assert.Equal(7, t.Series("jobs_done").Value);
        Assert.Equal(9, t.Series("jobs_done", "worker", "a").Value);
    }

    [Fact]
    public void The_streams_of_a_replaced_custom_metric_stop_counting_toward_the_series_limit()
    {
        var t = new TestRegistry(new MetricLimits { MaxSeries = 50 });
        for (var round = 0; round < 30; round++)
        {
            // A new help text replaces the family, and with it the series and their streams: the first point of each counts whole.
            var definition = EventTests.Definition("misses", "retrieval_cache_misses", "counter", "OtlpMetric", "retrieval.cache.misses", labels: ["index"]);
            definition.Spec.Metric.Help = $"round {round}";
            t.Custom.Apply([definition]);
            Send(t, ProtoBuilder.MetricsRequest("svc", ProtoBuilder.Sum("retrieval.cache.misses", 3, 1, true, Cumulative, ("index", "docs"))));
            Send(t, ProtoBuilder.MetricsRequest("other", ProtoBuilder.Sum("retrieval.cache.misses", 4, 1, true, Cumulative, ("index", "docs"))));

            Assert.Equal(7, t.Series("retrieval_cache_misses", "index", "docs").Value);
        }

        Assert.Equal(0, t.Registry.Self.Dropped(DropReason.TotalSeriesLimit).Value);
    }

    [Fact]
    public void Summaries_and_points_without_values_are_dropped_and_counted()
    {
        var t = new TestRegistry();
        Assert.Equal(1, t.Otlp.Record(OtlpProtobufDecoder.DecodeMetrics(ProtoBuilder.MetricsRequest("svc", m => m.String(1, "rpc").Message(11, s => s.Message(1, p => p.Fixed64(3, 1)))))));
        Assert.Equal(1, t.Otlp.Record(OtlpProtobufDecoder.DecodeMetrics(ProtoBuilder.MetricsRequest("svc", m => m.String(1, "g").Message(5, g => g.Message(1, p => p.Fixed64(3, 1)))))));

        Assert.Equal(2, t.Registry.Self.Dropped(DropReason.UnsupportedPoint).Value);
    }

    [Fact]
    public void GenAI_spans_become_the_standard_agent_metrics()
    {
        var t = new TestRegistry();
        const ulong Start = 1_700_000_000_000_000_000;
        var request = new ProtoBuilder().Message(1, rs => rs
            .Message(1, r => r.Attribute(1, "service.name", "support-agent"))
            .Message(2, ss => ss
                .Message(2, s => s.String(5, "invoke_agent support-agent").Fixed64(7, Start).Fixed64(8, Start + 300_000_000)
                    .Attribute(9, "gen_ai.operation.name", "invoke_agent").Attribute(9, "gen_ai.request.model", "gpt-4o")
                    .Message(9, kv => kv.String(1, "gen_ai.usage.input_tokens").Message(2, a => a.Varint(3, 120))))
                .Message(2, s => s.String(5, "chat gpt-4o").Fixed64(7, Start).Fixed64(8, Start + 200_000_000)
                    .Attribute(9, "gen_ai.operation.name", "chat").Attribute(9, "gen_ai.provider.name", "openai").Attribute(9, "gen_ai.request.model", "gpt-4o")
                    .Message(9, kv => kv.String(1, "gen_ai.usage.output_tokens").Message(2, a => a.Varint(3, 40))))
                .Message(2, s => s.String(5, "execute_tool get_weather").Fixed64(7, Start).Fixed64(8, Start + 50_000_000)
                    .Attribute(9, "gen_ai.operation.name", "execute_tool").Attribute(9, "gen_ai.tool.name", "get_weather"))
                .Message(2, s => s.String(5, "chat gpt-4o").Fixed64(7, Start).Fixed64(8, Start + 1_000_000_000)
                    .Attribute(9, "gen_ai.operation.name", "chat").Attribute(9, "error.type", "timeout")
                    .Message(15, st => st.Varint(3, 2))))).ToArray();

        foreach (var resource in OtlpProtobufDecoder.DecodeTraces(request))
        {
            foreach (var span in resource.Spans)
            {
                t.Recorder.Record(span, resource.Resource);
            }
        }

        Assert.Equal(1, t.Series("agent_tasks", "outcome", "success").Value);
        Assert.Equal(0.3, t.Series("gen_ai_invoke_agent_duration_seconds", "gen_ai_request_model", "gpt-4o").Sum, 9);
        Assert.Equal(120, t.Series("agent_task_tokens", "gen_ai_token_type", "input").Value);
        Assert.Equal(0.2, t.Series("gen_ai_client_operation_duration_seconds", "gen_ai_provider_name", "openai").Sum, 9);
        Assert.Equal(40, t.Series("gen_ai_client_token_usage", "gen_ai_token_type", "output").Sum);
        Assert.Equal(0.05, t.Series("gen_ai_execute_tool_duration_seconds", "gen_ai_tool_name", "get_weather").Sum, 9);
        Assert.Equal(1, t.Series("gen_ai_client_operation_duration_seconds", "error_type", "timeout").Count);
        Assert.Equal(1, t.Series("agent_errors", "error_type", "timeout").Value);
    }

    [Fact]
    public void A_failed_span_that_is_no_genai_operation_is_no_agent_error()
    {
        var t = new TestRegistry();
        var request = new ProtoBuilder().Message(1, rs => rs.Message(2, ss => ss
            .Message(2, s => s.String(5, "GET /search").Fixed64(7, 1).Fixed64(8, 2).Attribute(9, "error.type", "500").Message(15, st => st.Varint(3, 2))))).ToArray();

        foreach (var resource in OtlpProtobufDecoder.DecodeTraces(request))
        {
            resource.Spans.ForEach(s => t.Recorder.Record(s, resource.Resource));
        }

        Assert.Equal(0, t.Registry.Find("agent_errors")!.SeriesCount);
    }

    [Fact]
    public void An_otlp_metric_named_like_a_standard_one_feeds_it_only_when_the_types_agree()
    {
        var t = new TestRegistry();
        Send(t, ProtoBuilder.MetricsRequest("svc", ProtoBuilder.Sum("agent.escalations", 2, 1, true, Delta, ("reason", "policy"))));
        Send(t, ProtoBuilder.MetricsRequest("svc", m => m.String(1, "agent.errors").Message(5, g => g.Message(1, p => p.Double(4, 3)))));

        Assert.Equal(2, t.Series("agent_escalations", "reason", "policy").Value);
        Assert.Equal(0, t.Registry.Find("agent_errors")!.SeriesCount);
    }

    public static TheoryData<byte[], string> Malformed => new()
    {
        { [0x0A, 0x05, 0x01], "runs past the end" },
        { [0x0A], "truncated varint" },
        { [0x13], "unsupported wire type 3" },
        { [0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], "varint longer than 10 bytes" },
        { [0x00], "invalid field number 0" },
        { ProtoBuilder.MetricsRequest("svc", m => m.Bytes(1, [0xC3, 0x28])), "not valid UTF-8" },
        { ProtoBuilder.MetricsRequest("svc", m => m.String(1, "x").Message(9, h => h.Message(1, p => p.Bytes(6, [1, 2, 3])))), "not a multiple of 8" },
        { ProtoBuilder.MetricsRequest("svc", m => m.Varint(1, 3)), "field 1 has wire type 0, expected 2" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_protobuf_is_refused_with_a_message(byte[] body, string message)
    {
        var e = Assert.Throws<ProtoException>(() => OtlpProtobufDecoder.DecodeMetrics(body));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Otlp_json_reads_string_integers_and_names_the_path_of_a_problem()
    {
        var t = new TestRegistry();
        var json = """
            {"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},
              "scopeMetrics":[{"scope":{"name":"x"},"metrics":[{"name":"jobs","sum":{"aggregationTemporality":2,"isMonotonic":true,
                "dataPoints":[{"asInt":"42","startTimeUnixNano":"1","timeUnixNano":"2","attributes":[{"key":"k","value":{"intValue":"7"}}]}]}}]}]}]}
            """;
        t.Otlp.Record(OtlpJsonDecoder.DecodeMetrics(Encoding.UTF8.GetBytes(json)));
        Assert.Equal(42, t.Series("jobs", "k", "7").Value);

        var bad = """{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"jobs","sum":{"dataPoints":[{"asInt":"forty"}]}}]}]}]}""";
        var e = Assert.Throws<OtlpJsonException>(() => OtlpJsonDecoder.DecodeMetrics(Encoding.UTF8.GetBytes(bad)));
        Assert.Equal("$.resourceMetrics[0].scopeMetrics[0].metrics[0].sum.dataPoints[0].asInt", e.Path);
    }
}
