using AgentMetrics.Api.V1Alpha1;
using AgentMetrics.Sidecar.Ingest;
using Xunit;

namespace AgentMetrics.Sidecar.Tests;

public class EventTests
{
    [Fact]
    public void A_task_feeds_the_task_count_response_time_tokens_and_cost()
    {
        var t = new TestRegistry();

        Assert.Empty(t.Post("""{"type":"task","task_type":"triage","outcome":"success","start":"2026-01-01T00:00:00Z","end":"2026-01-01T00:00:02.5Z","tokens_in":120,"tokens_out":30,"cost":0.02,"model":"gpt-4o"}"""));

        Assert.Equal(1, t.Series("agent_tasks", "outcome", "success", "task_type", "triage").Value);
        var duration = t.Series("agent_task_duration_seconds", "outcome", "success");
        Assert.Equal(1, duration.Count);
        Assert.Equal(2.5, duration.Sum);
        Assert.Equal(120, t.Series("agent_task_tokens", "gen_ai_token_type", "input", "gen_ai_request_model", "gpt-4o").Value);
        Assert.Equal(30, t.Series("agent_task_tokens", "gen_ai_token_type", "output").Value);
        Assert.Equal(0.02, t.Series("agent_task_cost_dollars", "task_type", "triage").Sum);
    }

    [Fact]
    public void Every_event_type_lands_in_its_metric()
    {
        var t = new TestRegistry();

        Assert.Empty(t.Post("""
            {"events":[
              {"type":"llm_call","provider":"openai","model":"gpt-4o","duration_seconds":0.8,"time_to_first_token_seconds":0.2,"tokens_in":100,"tokens_out":40,"error_type":"rate_limited"},
              {"type":"tool_call","tool":"search","duration_seconds":0.05},
              {"type":"handoff","target_agent":"billing","outcome":"failure","context_preserved":false},
              {"type":"escalation","reason":"policy"},
              {"type":"feedback","task_type":"triage","satisfaction":0.9,"accuracy":0.7},
              {"type":"gauge","queue_depth":4,"tasks_in_flight":2},
              {"type":"task","outcome":"timeout","duration_seconds":30},
              {"type":"error","error_type":"parse"}
            ]}
            """));

        Assert.Equal(1, t.Series("gen_ai_client_operation_duration_seconds", "gen_ai_operation_name", "chat", "error_type", "rate_limited").Count);
        Assert.Equal(100, t.Series("gen_ai_client_token_usage", "gen_ai_token_type", "input").Sum);
        Assert.Equal(40, t.Series("gen_ai_client_token_usage", "gen_ai_token_type", "output").Sum);
        Assert.Equal(0.2, t.Series("gen_ai_client_operation_time_to_first_chunk_seconds").Sum);
        Assert.Equal(1, t.Series("gen_ai_execute_tool_duration_seconds", "gen_ai_tool_name", "search", "gen_ai_tool_type", "function").Count);
        Assert.Equal(1, t.Series("agent_handoffs", "outcome", "failure", "target_agent", "billing", "context_preserved", "false").Value);
        Assert.Equal(1, t.Series("agent_escalations", "reason", "policy").Value);
        Assert.Equal(0.9, t.Series("agent_satisfaction_score").Sum);
        Assert.Equal(0.7, t.Series("agent_accuracy_score").Sum);
        Assert.Equal(4, t.Series("agent_queue_depth").Value);
        Assert.Equal(2, t.Series("agent_tasks_in_flight").Value);
        Assert.Equal(1, t.Series("agent_tasks", "outcome", "timeout").Value);
        Assert.Equal(1, t.Series("agent_errors", "error_type", "rate_limited").Value);
        Assert.Equal(1, t.Series("agent_errors", "error_type", "parse").Value);
    }

    public static TheoryData<string, string, string> Invalid => new()
    {
        { """{"type":"task","outcome":"done","duration_seconds":1}""", "outcome", "is not allowed; use one of success, failure, timeout, rework, escalated, cancelled" },
        { """{"type":"task","outcome":"success"}""", "duration_seconds", "is required (or start and end)" },
        { """{"type":"task","outcome":"success","duration_seconds":-1}""", "duration_seconds", "must be at least 0" },
        { """{"type":"task","outcome":"success","duration_seconds":"1s"}""", "duration_seconds", "must be a number, got the string \"1s\"" },
        { """{"type":"task","outcome":"success","duration_seconds":1,"tokens_in":1.5}""", "tokens_in", "must be a whole number" },
        { """{"type":"task","outcome":"success","duration_seconds":1,"tokens_in":-3}""", "tokens_in", "must not be negative" },
        { """{"type":"task","outcome":"success","duration_seconds":1e400}""", "duration_seconds", "out of range" },
        { """{"type":"task","outcome":"success","start":"2026-01-01T00:00:02Z","end":"2026-01-01T00:00:01Z"}""", "end", "must not be before start" },
        { """{"type":"task","outcome":"success","start":"yesterday","end":"2026-01-01T00:00:01Z"}""", "start", "is not an RFC 3339 time" },
        { """{"type":"task","outcome":"success","duration_seconds":1,"durationMs":3}""", "durationMs", "is not a field of this event type" },
        { """{"type":"feedback","satisfaction":1.5}""", "satisfaction", "must be between 0 and 1" },
        { """{"type":"handoff","outcome":"success"}""", "target_agent", "is required" },
        { """{"type":"escalation","reason":""}""", "reason", "must not be empty" },
        { """{"type":"gauge"}""", "queue_depth", "needs queue_depth or tasks_in_flight" },
        { """{"type":"observation","metric":"m"}""", "value", "is required" },
        { """{"type":"error","error_type":"x","attributes":{"nested":{"a":1}}}""", "attributes.nested", "must be a string, a finite number or a boolean" },
        { """{"type":"teleport"}""", "type", "is not an event type" },
        { """{"outcome":"success"}""", "type", "is required" },
        { """{"type":7}""", "type", "must be a string, got the number 7" },
        { "[]", "$", "holds no events" },
        { "42", "$", "must be an event object" },
        { "{\"type\":\"task\"", "$", "not valid JSON" },
        { """{"events":{}}""", "events", "must be an array of events" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Bad_input_is_refused_naming_the_field_and_the_rule(string json, string field, string message)
    {
        var t = new TestRegistry();
        var before = t.Scrape();

        var errors = t.Post(json);

        Assert.Contains(errors, e => e.Field == field && e.Message.Contains(message, StringComparison.Ordinal));
        Assert.Equal(before, t.Scrape());
    }

    [Theory]
    [InlineData(new byte[] { 0xC3, 0x28 })]
    [InlineData(new byte[] { (byte)'\\', (byte)'u', (byte)'D', (byte)'8', (byte)'0', (byte)'0' })]
    public void Text_that_cannot_be_decoded_refuses_the_request_whole(byte[] text)
    {
        byte[] body = [.. "[{\"type\":\"error\",\"error_type\":\"x\"},{\"type\":\"error\",\"error_type\":\""u8, .. text, .. "\"}]"u8];
        var errors = new List<IngestError>();

        var events = EventParser.Parse(body, errors);

        Assert.Empty(events);
        Assert.Equal("$", Assert.Single(errors).Field);
        Assert.StartsWith("not valid JSON: ", errors[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void One_bad_event_refuses_the_whole_batch_and_records_nothing()
    {
        var t = new TestRegistry();
        var before = t.Scrape();

        var errors = t.Post("""[{"type":"task","outcome":"success","duration_seconds":1},{"type":"task","outcome":"success","duration_seconds":-1}]""");

        Assert.Equal("[1].duration_seconds", Assert.Single(errors).Field);
        Assert.Equal(before, t.Scrape());
    }

    [Fact]
    public void An_observation_of_an_undefined_metric_is_refused_and_counted()
    {
        var t = new TestRegistry();

        var errors = t.Post("""{"events":[{"type":"observation","metric":"refund_amount_dollars","value":3}]}""");

        Assert.Equal("events[0].metric", Assert.Single(errors).Field);
        Assert.Contains("no AgentMetricDefinition", errors[0].Message, StringComparison.Ordinal);
        Assert.Equal(1, t.Registry.Self.Dropped(Metrics.DropReason.UndefinedMetric).Value);
    }

    [Fact]
    public void Custom_event_metrics_take_labels_filters_and_values_from_the_definition()
    {
        var t = new TestRegistry();
        t.Custom.Apply(
        [
            Definition("refunds", "refund_amount_dollars", "histogram", "Event", "refund_amount_dollars", labels: ["reason"], buckets: [10, 100]),
            Definition("big-tasks", "expensive_tasks", "counter", "Event", "task", match: new() { ["model"] = "gpt-4o" }),
            Definition("task-cost", "task_cost_seen_dollars", "gauge", "Event", "task", valueField: "cost"),
        ]);

        Assert.Empty(t.Post("""
            [{"type":"observation","metric":"refund_amount_dollars","value":42.5,"attributes":{"reason":"damaged"}},
             {"type":"observation","metric":"refund_amount_dollars","value":7,"attributes":{"reason":"late"}},
             {"type":"task","outcome":"success","duration_seconds":1,"model":"gpt-4o","cost":0.4},
             {"type":"task","outcome":"success","duration_seconds":1,"model":"small","cost":0.1}]
            """));

        var damaged = t.Series("refund_amount_dollars", "reason", "damaged");
        Assert.Equal(42.5, damaged.Sum);
        Assert.Equal(1, t.Series("expensive_tasks").Value);
        Assert.Equal(0.1, t.Series("task_cost_seen_dollars").Value);
        Assert.Contains("refund_amount_dollars_bucket{namespace=\"demo\",pod=\"agent-0\",agent=\"support\",reason=\"late\",le=\"10\"} 1", t.Scrape(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_changed_definition_replaces_its_family_and_a_removed_one_goes_away()
    {
        var t = new TestRegistry();
        var removed = new List<Metrics.Series>();
        t.Custom.SeriesRemoved += removed.AddRange;
        t.Custom.Apply([Definition("d", "queue_wait_seconds", "gauge", "Event", "wait")]);
        t.Post("""{"type":"observation","metric":"wait","value":3}""");

        t.Custom.Apply([Definition("d", "queue_wait_seconds", "histogram", "Event", "wait")]);
        Assert.Equal(Api.Catalog.MetricType.Histogram, t.Registry.Find("queue_wait_seconds")!.Type);
        Assert.Single(removed);

        t.Custom.Apply([]);
        Assert.Null(t.Registry.Find("queue_wait_seconds"));
        Assert.NotEmpty(t.Post("""{"type":"observation","metric":"wait","value":3}"""));
    }

    internal static AgentMetricDefinition Definition(
        string name, string metric, string type, string kind, string source, string[]? labels = null,
        Dictionary<string, string>? match = null, string? valueField = null, double[]? buckets = null, int seriesLimit = 1000) => new()
        {
            Metadata = new() { Name = name, Namespace = "demo" },
            Spec = new()
            {
                Metric = new() { Name = metric, Type = type, Help = $"{metric} help.", Buckets = buckets?.ToList() },
                Source = new() { Kind = kind, Name = source, Labels = labels?.ToList(), MatchAttributes = match, ValueField = valueField },
                SeriesLimit = seriesLimit,
            },
        };
}
