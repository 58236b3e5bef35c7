using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using AgentMetrics.Testing;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Xunit;

namespace AgentMetrics.Sidecar.Tests;

/// <summary>The OpenTelemetry .NET SDK's own OTLP/HTTP protobuf exporter as the client, checked in a real Prometheus.</summary>
public class OpenTelemetryDotnetPeerTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(MetricReaderTemporalityPreference.Cumulative, "cumulative")]
    [InlineData(MetricReaderTemporalityPreference.Delta, "delta")]
    public async Task Sdk_metrics_show_up_in_prometheus_whatever_the_temporality(MetricReaderTemporalityPreference temporality, string pod)
    {
        await using var sidecar = await SidecarProcess.StartAsync(pod);
        await using var prometheus = await PrometheusServer.StartAsync(PrometheusDeliveryTests.ScrapeConfig(sidecar.MetricsPort));
        using var meter = new Meter($"peer.{pod}");
        var orders = meter.CreateCounter<long>("orders.processed");
        var latency = meter.CreateHistogram<double>("order.latency", unit: "s");
        var queue = meter.CreateUpDownCounter<long>("queue.size");
        meter.CreateObservableGauge("memory.fill", () => 0.5);
        using var provider = Sdk.CreateMeterProviderBuilder()
            .SetResourceBuilder(ResourceBuilder.CreateEmpty().AddService("dotnet-peer-agent").AddAttributes([new("deployment.environment", "test")]))
            .AddMeter(meter.Name)
            .AddView("order.latency", new ExplicitBucketHistogramConfiguration { Boundaries = [0.1, 0.5, 1] })
            .AddOtlpExporter((exporter, reader) =>
            {
                exporter.Endpoint = new Uri(sidecar.Ingest, "/v1/metrics");
                exporter.Protocol = OtlpExportProtocol.HttpProtobuf;
                reader.TemporalityPreference = temporality;
                reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = 600_000;
            })
            .Build();

        orders.Add(3, new KeyValuePair<string, object?>("channel", "web"));
        latency.Record(0.05);
        latency.Record(0.3);
        queue.Add(5);
        Assert.True(provider.ForceFlush(10_000), "the first export failed");
        orders.Add(2, new KeyValuePair<string, object?>("channel", "web"));
        latency.Record(2);
        queue.Add(-2);
        Assert.True(provider.ForceFlush(10_000), "the second export failed");

        var selector = $"pod=\"{pod}\",service_name=\"dotnet-peer-agent\"";
        await prometheus.WaitForResultAsync($"orders_processed_total{{{selector},channel=\"web\"}} == 5", Wait);
        await prometheus.WaitForResultAsync($"order_latency_seconds_count{{{selector}}} == 3", Wait);
        await prometheus.WaitForResultAsync($"order_latency_seconds_bucket{{{selector},le=\"0.5\"}} == 2", Wait);
        await prometheus.WaitForResultAsync($"order_latency_seconds_sum{{{selector}}} == 2.35", Wait);
        await prometheus.WaitForResultAsync($"queue_size{{{selector}}} == 3", Wait);
        await prometheus.WaitForResultAsync($"memory_fill{{{selector}}} == 0.5", Wait);
    }

    [Fact]
    public async Task Sdk_genai_spans_become_agent_metrics_in_prometheus()
    {
        await using var sidecar = await SidecarProcess.StartAsync("traced-0");
        await using var prometheus = await PrometheusServer.StartAsync(PrometheusDeliveryTests.ScrapeConfig(sidecar.MetricsPort));
        using var source = new ActivitySource("peer.agent");
        using (var provider = Traces(sidecar, source))
        {
            var start = DateTimeOffset.UtcNow;
            using (var invoke = source.StartActivity("invoke_agent support-agent", ActivityKind.Internal, default(ActivityContext), startTime: start)!)
            {
                invoke.SetTag("gen_ai.operation.name", "invoke_agent");
                invoke.SetTag("gen_ai.request.model", "gpt-4o");
                invoke.SetTag("gen_ai.usage.input_tokens", 120);
                using (var chat = source.StartActivity("chat gpt-4o", ActivityKind.Client, invoke.Context, startTime: start)!)
                {
                    chat.SetTag("gen_ai.operation.name", "chat");
                    chat.SetTag("gen_ai.provider.name", "openai");
                    chat.SetTag("gen_ai.request.model", "gpt-4o");
                    chat.SetTag("gen_ai.usage.output_tokens", 40);
                    chat.SetEndTime(start.AddMilliseconds(200).UtcDateTime);
                }

                using (var failed = source.StartActivity("chat gpt-4o", ActivityKind.Client, invoke.Context, startTime: start)!)
                {
                    failed.SetTag("gen_ai.operation.name", "chat");
                    failed.SetTag("error.type", "timeout");
                    failed.SetStatus(ActivityStatusCode.Error);
                    failed.SetEndTime(start.AddSeconds(1).UtcDateTime);
                }

                invoke.SetEndTime(start.AddMilliseconds(1300).UtcDateTime);
            }

            Assert.True(provider.ForceFlush(10_000), "the span export failed");
        }

        await prometheus.WaitForResultAsync("""agent_tasks_total{pod="traced-0",outcome="success"} == 1""", Wait);
        await prometheus.WaitForResultAsync("""agent_task_tokens_total{pod="traced-0",gen_ai_token_type="input",gen_ai_request_model="gpt-4o"} == 120""", Wait);
        await prometheus.WaitForResultAsync("""gen_ai_client_operation_duration_seconds_count{pod="traced-0",gen_ai_provider_name="openai"} == 1""", Wait);
        await prometheus.WaitForResultAsync("""gen_ai_client_token_usage_sum{pod="traced-0",gen_ai_token_type="output"} == 40""", Wait);
        await prometheus.WaitForResultAsync("""agent_errors_total{pod="traced-0",error_type="timeout"} == 1""", Wait);
        var duration = await prometheus.WaitForResultAsync("""gen_ai_invoke_agent_duration_seconds_sum{pod="traced-0"}""", Wait);
        Assert.Equal(1.3, double.Parse(duration[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture), 6);
    }

    [Fact]
    public async Task Sdk_genai_metrics_under_current_and_older_names_feed_the_standard_metrics_in_prometheus()
    {
        const string pod = "genai-names";
        await using var sidecar = await SidecarProcess.StartAsync(pod);
        await using var prometheus = await PrometheusServer.StartAsync(PrometheusDeliveryTests.ScrapeConfig(sidecar.MetricsPort));
        using var meter = new Meter("peer.genai");
        var operation = meter.CreateHistogram<double>("gen_ai.client.operation.duration", unit: "s");
        var invokeAgent = meter.CreateHistogram<double>("gen_ai.invoke_agent.duration", unit: "s");
        var executeTool = meter.CreateHistogram<double>("gen_ai.execute_tool.duration", unit: "s");
        var workflow = meter.CreateHistogram<double>("gen_ai.invoke_workflow.duration", unit: "s");
        var olderWorkflow = meter.CreateHistogram<double>("gen_ai.workflow.duration", unit: "s");
        var olderTokenUsage = meter.CreateHistogram<long>("gen_ai.client.token.usage", unit: "{token}");
        var outputTokensPerOperation = meter.CreateHistogram<long>("gen_ai.client.inference.operation.output_tokens", unit: "{token}");
        var inputTokens = meter.CreateCounter<long>("gen_ai.client.inference.usage.input_tokens", unit: "{token}");
        var outputTokens = meter.CreateCounter<long>("gen_ai.client.inference.usage.output_tokens", unit: "{token}");
        using var provider = Sdk.CreateMeterProviderBuilder()
            .SetResourceBuilder(ResourceBuilder.CreateEmpty().AddService("dotnet-peer-agent"))
            .AddMeter(meter.Name)
            .AddOtlpExporter((exporter, reader) =>
            {
                exporter.Endpoint = new Uri(sidecar.Ingest, "/v1/metrics");
                exporter.Protocol = OtlpExportProtocol.HttpProtobuf;
                reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = 600_000;
            })
            .Build();

        KeyValuePair<string, object?> Tag(string key, string value) => new(key, value);
        operation.Record(1.5, Tag("gen_ai.operation.name", "invoke_agent"), Tag("gen_ai.provider.name", "openai"));
        operation.Record(0.2, Tag("gen_ai.operation.name", "execute_tool"));
        invokeAgent.Record(2, Tag("gen_ai.request.model", "gpt-4o"));
        executeTool.Record(0.25, Tag("gen_ai.tool.name", "search"), Tag("gen_ai.tool.type", "function"));
        workflow.Record(5, Tag("gen_ai.workflow.name", "triage"));
        olderWorkflow.Record(3, Tag("gen_ai.workflow.name", "triage"));
        olderTokenUsage.Record(100, Tag("gen_ai.operation.name", "chat"), Tag("gen_ai.system", "anthropic"), Tag("gen_ai.token.type", "input"));
        outputTokensPerOperation.Record(30, Tag("gen_ai.operation.name", "chat"), Tag("gen_ai.provider.name", "anthropic"));
        inputTokens.Add(100, Tag("gen_ai.operation.name", "chat"), Tag("gen_ai.provider.name", "anthropic"), Tag("gen_ai.token.modality", "text"));
        outputTokens.Add(30, Tag("gen_ai.operation.name", "chat"), Tag("gen_ai.system", "anthropic"));
        Assert.True(provider.ForceFlush(10_000), "the first export failed");
        inputTokens.Add(50, Tag("gen_ai.operation.name", "chat"), Tag("gen_ai.provider.name", "anthropic"), Tag("gen_ai.token.modality", "text"));
        Assert.True(provider.ForceFlush(10_000), "the second export failed");

        var at = $"pod=\"{pod}\"";
        await prometheus.WaitForResultAsync($"gen_ai_client_operation_duration_seconds_count{{{at},gen_ai_operation_name=\"invoke_agent\",gen_ai_provider_name=\"openai\"}} == 1", Wait);
        await prometheus.WaitForResultAsync($"gen_ai_client_operation_duration_seconds_count{{{at},gen_ai_operation_name=\"execute_tool\"}} == 1", Wait);
        await prometheus.WaitForResultAsync($"gen_ai_invoke_agent_duration_seconds_sum{{{at},gen_ai_request_model=\"gpt-4o\"}} == 2", Wait);
        await prometheus.WaitForResultAsync($"gen_ai_execute_tool_duration_seconds_sum{{{at},gen_ai_tool_name=\"search\",gen_ai_tool_type=\"function\"}} == 0.25", Wait);
        await prometheus.WaitForResultAsync($"gen_ai_invoke_workflow_duration_seconds_count{{{at},gen_ai_workflow_name=\"triage\"}} == 2", Wait);
        await prometheus.WaitForResultAsync($"gen_ai_invoke_workflow_duration_seconds_sum{{{at},gen_ai_workflow_name=\"triage\"}} == 8", Wait);
        await prometheus.WaitForResultAsync($"gen_ai_client_token_usage_sum{{{at},gen_ai_provider_name=\"anthropic\",gen_ai_token_type=\"input\"}} == 100", Wait);
        await prometheus.WaitForResultAsync($"gen_ai_client_token_usage_sum{{{at},gen_ai_provider_name=\"anthropic\",gen_ai_token_type=\"output\"}} == 30", Wait);
        await prometheus.WaitForResultAsync($"gen_ai_client_inference_usage_input_tokens_total{{{at},gen_ai_provider_name=\"anthropic\"}} == 150", Wait);
        await prometheus.WaitForResultAsync($"gen_ai_client_inference_usage_output_tokens_total{{{at},gen_ai_provider_name=\"anthropic\"}} == 30", Wait);
        await prometheus.WaitForResultAsync($"absent(gen_ai_workflow_duration_seconds_count{{{at}}}) == 1", Wait);
    }

    [Fact]
    public async Task Sdk_spans_with_older_genai_keys_and_workflow_spans_feed_the_standard_metrics_in_prometheus()
    {
        await using var sidecar = await SidecarProcess.StartAsync("traced-older");
        await using var prometheus = await PrometheusServer.StartAsync(PrometheusDeliveryTests.ScrapeConfig(sidecar.MetricsPort));
        using var source = new ActivitySource("peer.older");
        using (var provider = Traces(sidecar, source))
        {
            var start = DateTimeOffset.UtcNow;
            using (var run = source.StartActivity("invoke_workflow triage", ActivityKind.Internal, default(ActivityContext), startTime: start)!)
            {
                run.SetTag("gen_ai.operation.name", "invoke_workflow");
                run.SetTag("gen_ai.workflow.name", "triage");
                using (var chat = source.StartActivity("chat gpt-4o", ActivityKind.Client, run.Context, startTime: start)!)
                {
                    // Keys as instrumentations on semconv 1.26 and earlier send them.
                    chat.SetTag("gen_ai.operation.name", "chat");
                    chat.SetTag("gen_ai.system", "openai");
                    chat.SetTag("gen_ai.request.model", "gpt-4o");
                    chat.SetTag("gen_ai.usage.prompt_tokens", 120);
                    chat.SetTag("gen_ai.usage.completion_tokens", 40);
                    chat.SetEndTime(start.AddMilliseconds(200).UtcDateTime);
                }

                run.SetEndTime(start.AddMilliseconds(2500).UtcDateTime);
            }

            Assert.True(provider.ForceFlush(10_000), "the span export failed");
        }

        const string chatLabels = "pod=\"traced-older\",gen_ai_operation_name=\"chat\",gen_ai_provider_name=\"openai\",gen_ai_request_model=\"gpt-4o\"";
        await prometheus.WaitForResultAsync($"gen_ai_client_inference_usage_input_tokens_total{{{chatLabels}}} == 120", Wait);
        await prometheus.WaitForResultAsync($"gen_ai_client_inference_usage_output_tokens_total{{{chatLabels}}} == 40", Wait);
        await prometheus.WaitForResultAsync($"gen_ai_client_token_usage_sum{{{chatLabels},gen_ai_token_type=\"input\"}} == 120", Wait);
        await prometheus.WaitForResultAsync("""gen_ai_invoke_workflow_duration_seconds_count{pod="traced-older",gen_ai_workflow_name="triage"} == 1""", Wait);
        var duration = await prometheus.WaitForResultAsync("""gen_ai_invoke_workflow_duration_seconds_sum{pod="traced-older"}""", Wait);
        Assert.Equal(2.5, double.Parse(duration[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture), 6);
        await prometheus.WaitForResultAsync("""absent(gen_ai_client_operation_duration_seconds_count{pod="traced-older",gen_ai_operation_name="invoke_workflow"}) == 1""", Wait);
    }

    /// <summary>The SDK's tracer provider for <paramref name="source"/>, exporting each span over OTLP/HTTP protobuf to the sidecar as it ends.</summary>
    private static TracerProvider Traces(SidecarProcess sidecar, ActivitySource source) =>
        Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(ResourceBuilder.CreateEmpty().AddService("dotnet-peer-agent"))
            .AddSource(source.Name)
            .AddOtlpExporter(exporter =>
            {
                exporter.Endpoint = new Uri(sidecar.Ingest, "/v1/traces");
                exporter.Protocol = OtlpExportProtocol.HttpProtobuf;
                exporter.ExportProcessorType = ExportProcessorType.Simple;
            })
            .Build();
}
