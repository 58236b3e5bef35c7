using AgentMetrics.Testing;
using Xunit;

namespace AgentMetrics.Sidecar.Tests;

/// <summary>
/// The OpenTelemetry JS SDK's OTLP exporters (from npm) as clients, over OTLP/HTTP protobuf and over
/// OTLP/gRPC (on @grpc/grpc-js, the exporter's defaults otherwise), checked in a real Prometheus.
/// </summary>
public class OpenTelemetryJsPeerTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("cumulative", "http/protobuf")]
    [InlineData("delta", "http/protobuf")]
    [InlineData("cumulative", "grpc")]
    [InlineData("delta", "grpc")]
    public async Task Js_sdk_metrics_show_up_in_prometheus_whatever_the_temporality_and_protocol(string temporality, string protocol)
    {
        var pod = $"js-{temporality}-{(protocol == "grpc" ? "grpc" : "http")}";
        await using var sidecar = await SidecarProcess.StartAsync(pod);
        await using var prometheus = await PrometheusServer.StartAsync(PrometheusDeliveryTests.ScrapeConfig(sidecar.MetricsPort));

        var (exitCode, output, errors) = await JsPeers.RunAsync(
            "otlp-metrics.mjs", TimeSpan.FromSeconds(60), "--endpoint", Endpoint(sidecar, protocol), "--protocol", protocol, "--temporality", temporality, "--rounds", "2");
        Assert.True(exitCode == 0, $"the JS peer failed ({exitCode}):\n{errors}\n{output}");

        var job = $"pod=\"{pod}\",service_name=\"js-peer-agent\"";
        await prometheus.WaitForResultAsync($"retrieval_cache_misses_total{{{job},index=\"products\",store=\"redis\"}} == 6", Wait);
        await prometheus.WaitForResultAsync($"retrieval_cache_misses_total{{{job},index=\"docs\"}} == 2", Wait);
        await prometheus.WaitForResultAsync($"agent_memory_fill_ratio{{{job}}} == 0.5", Wait);
        await prometheus.WaitForResultAsync($"refund_amount_bucket{{{job},reason=\"damaged\",le=\"25\"}} == 4", Wait);
        await prometheus.WaitForResultAsync($"refund_amount_count{{{job},reason=\"damaged\"}} == 6", Wait);
        await prometheus.WaitForResultAsync($"refund_amount_sum{{{job},reason=\"damaged\"}} == 170", Wait);
        // An exponential histogram keeps bounds from its own scale: some bound lies between 0.2 and 0.4 and holds 4 of the 6.
        await prometheus.WaitForResultAsync($"count(llm_latency_bucket{{{job}}} == 4) > 0 and count(llm_latency_bucket{{{job}}}) > 12", Wait);
        await prometheus.WaitForResultAsync($"llm_latency_bucket{{{job},le=\"+Inf\"}} == 6", Wait);
        await prometheus.WaitForResultAsync($"llm_latency_count{{{job}}} == 6", Wait);
        await prometheus.WaitForResultAsync($"abs(llm_latency_sum{{{job}}} - 1.4) < 1e-9", Wait);

        // agent.queue.depth is the standard agent_queue_depth, so it lands there, under the identity labels only.
        await prometheus.WaitForResultAsync($"agent_queue_depth{{pod=\"{pod}\"}} == 7", Wait);
    }

    [Theory]
    [InlineData("http/protobuf")]
    [InlineData("grpc")]
    public async Task Js_sdk_genai_spans_become_agent_metrics_in_prometheus(string protocol)
    {
        await using var sidecar = await SidecarProcess.StartAsync("js-traced");
        await using var prometheus = await PrometheusServer.StartAsync(PrometheusDeliveryTests.ScrapeConfig(sidecar.MetricsPort));

        var (exitCode, output, errors) = await JsPeers.RunAsync(
            "otlp-traces.mjs", TimeSpan.FromSeconds(60), "--endpoint", Endpoint(sidecar, protocol), "--protocol", protocol);
        Assert.True(exitCode == 0, $"the JS peer failed ({exitCode}):\n{errors}\n{output}");

        await prometheus.WaitForResultAsync("""agent_tasks_total{pod="js-traced",outcome="success"} == 1""", Wait);
        await prometheus.WaitForResultAsync("""agent_task_tokens_total{pod="js-traced",gen_ai_token_type="output",gen_ai_request_model="gpt-4o"} == 45""", Wait);
        await prometheus.WaitForResultAsync("""abs(gen_ai_invoke_agent_duration_seconds_sum{pod="js-traced"} - 0.3) < 1e-9""", Wait);
        await prometheus.WaitForResultAsync("""sum(gen_ai_client_operation_duration_seconds_count{pod="js-traced",gen_ai_provider_name="openai"}) == 2""", Wait);
        await prometheus.WaitForResultAsync("""gen_ai_client_operation_duration_seconds_count{pod="js-traced",error_type="timeout"} == 1""", Wait);
        await prometheus.WaitForResultAsync("""abs(gen_ai_execute_tool_duration_seconds_sum{pod="js-traced",gen_ai_tool_name="get_weather",gen_ai_tool_type="function"} - 0.05) < 1e-9""", Wait);
        await prometheus.WaitForResultAsync("""agent_errors_total{pod="js-traced",error_type="timeout"} == 1""", Wait);
    }

    /// <summary>Where the sidecar takes the protocol: OTLP/HTTP on the API port, OTLP/gRPC on its own.</summary>
    private static string Endpoint(SidecarProcess sidecar, string protocol) => (protocol == "grpc" ? sidecar.Grpc : sidecar.Ingest).ToString();
}
