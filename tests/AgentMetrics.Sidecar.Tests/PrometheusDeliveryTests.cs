using System.Globalization;
using System.Text.Json;
using AgentMetrics.Testing;
using Xunit;

namespace AgentMetrics.Sidecar.Tests;

/// <summary>The sidecar process against a real Prometheus: scraped, pushed to, restarted, and checked by promtool.</summary>
public class PrometheusDeliveryTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    internal static string ScrapeConfig(params int[] ports) => $$"""
        global: {scrape_interval: 1s, evaluation_interval: 1s}
        scrape_configs:
        - job_name: sidecar
          static_configs: [{targets: [{{string.Join(", ", ports.Select(p => $"'127.0.0.1:{p}'"))}}]}]
        """;

    [Fact]
    public async Task Prometheus_scrapes_every_event_through_the_openmetrics_exposition()
    {
        await using var sidecar = await SidecarProcess.StartAsync("scraped-0");
        await using var prometheus = await PrometheusServer.StartAsync(ScrapeConfig(sidecar.MetricsPort));

        var response = await sidecar.PostEventsAsync("""
            [{"type":"task","task_type":"triage","outcome":"success","duration_seconds":0.3,"tokens_in":100,"tokens_out":20,"cost":0.02,"model":"gpt-4o"},
             {"type":"task","task_type":"triage","outcome":"success","duration_seconds":0.7},
             {"type":"task","task_type":"triage","outcome":"failure","duration_seconds":4}]
            """);
        Assert.Equal(200, (int)response.StatusCode);

        var tasks = await prometheus.WaitForResultAsync("""agent_tasks_total{outcome="success",namespace="demo",pod="scraped-0",agent="support-agent",agent_version="1.4.2"} == 2""", Wait);
        Assert.Equal(1, tasks.GetArrayLength());
        var p50 = await prometheus.WaitForResultAsync("histogram_quantile(0.5, sum by (le) (agent_task_duration_seconds_bucket))", Wait);
        Assert.InRange(Value(p50[0]), 0.4, 0.8);
        await prometheus.WaitForResultAsync("""agent_task_cost_dollars_sum / agent_task_cost_dollars_count == 0.02""", Wait);
    }

    [Fact]
    public async Task Promtool_accepts_the_exposition_with_awkward_label_values()
    {
        await using var sidecar = await SidecarProcess.StartAsync("awkward-0");
        var awkward = new[] { "quote \" inside", "back\\slash", "new\nline", "ünïcödé 日本語 😀", "tab\tand\rreturn", "{}=,", "" };
        foreach (var reason in awkward)
        {
            var response = await sidecar.PostEventsAsync(JsonSerializer.Serialize(new Dictionary<string, string> { ["type"] = "error", ["error_type"] = reason.Length == 0 ? "x" : reason }));
            Assert.Equal(200, (int)response.StatusCode);
        }

        var text = await sidecar.ScrapeAsync();
        var (exitCode, output) = await Promtool.RunAsync(Path.GetTempPath(), text, "check", "metrics");

        Assert.True(exitCode == 0, $"promtool check metrics failed:\n{output}\n---\n{text}");
        Assert.Contains("error_type=\"quote \\\" inside\"", text, StringComparison.Ordinal);
        Assert.Contains("error_type=\"new\\nline\"", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Push_mode_delivers_by_remote_write_and_marks_series_stale_on_shutdown()
    {
        await using var prometheus = await PrometheusServer.StartAsync("global: {scrape_interval: 1m}\n");
        await using var sidecar = await SidecarProcess.StartAsync(
            "pushed-0", null, "--mode=push", $"--remote-write-url={prometheus.RemoteWriteUrl}", "--remote-write-headers=X-Scope-OrgID=team-a");

        await sidecar.PostEventsAsync("""[{"type":"escalation","reason":"policy"},{"type":"gauge","queue_depth":7},{"type":"llm_call","model":"m","provider":"p","duration_seconds":0.2}]""");

        await prometheus.WaitForResultAsync("""agent_escalations_total{reason="policy",pod="pushed-0",agent_version="1.4.2"} == 1""", Wait);
        await prometheus.WaitForResultAsync("""agent_queue_depth{pod="pushed-0"} == 7""", Wait);
        await prometheus.WaitForResultAsync("""gen_ai_client_operation_duration_seconds_bucket{pod="pushed-0",le="0.32"} == 1""", Wait);
        await prometheus.WaitForResultAsync("""agent_metrics_sidecar_remote_write_requests_total{result="success",pod="pushed-0"} > 0""", Wait);

        await sidecar.StopAsync();
        Assert.Contains("stopping on SIGTERM", sidecar.Process!.LogTail(200), StringComparison.Ordinal);
        Assert.Contains("stopped cleanly", sidecar.Process!.LogTail(200), StringComparison.Ordinal);

        // Staleness markers end the series at once instead of five minutes later.
        await Eventually.UntilAsync(
            async () => (await prometheus.QueryAsync("""agent_queue_depth{pod="pushed-0"}""")).GetArrayLength() == 0,
            Wait,
            "the pushed series to go stale after the sidecar stopped");
    }

    [Fact]
    public async Task Push_mode_rides_out_a_store_outage_and_delivers_the_latest_values_when_it_is_back()
    {
        await using var prometheus = await PrometheusServer.StartAsync("global: {scrape_interval: 1m}\n");
        await using var sidecar = await SidecarProcess.StartAsync("outage-0", null, "--mode=push", $"--remote-write-url={prometheus.RemoteWriteUrl}");
        await sidecar.PostEventsAsync("""{"type":"escalation","reason":"policy"}""");
        await prometheus.WaitForResultAsync("""agent_escalations_total{pod="outage-0"} == 1""", Wait);

        await prometheus.StopAsync();
        await sidecar.PostEventsAsync("""[{"type":"escalation","reason":"policy"},{"type":"escalation","reason":"policy"}]""");
        await Eventually.UntilAsync(
            async () => await sidecar.ValueAsync("agent_metrics_sidecar_remote_write_requests_total{namespace=\"demo\",pod=\"outage-0\",agent=\"support-agent\",agent_version=\"1.4.2\",result=\"retry\"}") > 0,
            Wait, "the sidecar to count failed pushes while the store is down");
        await prometheus.StartAsync();

        await prometheus.WaitForResultAsync("""agent_escalations_total{pod="outage-0"} == 3""", Wait);
    }

    [Fact]
    public async Task After_a_restart_counters_start_from_zero_and_rate_stays_right()
    {
        await using var sidecar = await SidecarProcess.StartAsync("restarted-0");
        await using var prometheus = await PrometheusServer.StartAsync(ScrapeConfig(sidecar.MetricsPort));
        const string Series = """agent_tasks_total{pod="restarted-0",outcome="success"}""";

        await sidecar.PostEventsAsync(Tasks(1));
        await prometheus.WaitForResultAsync($"{Series} == 1", Wait);
        await sidecar.PostEventsAsync(Tasks(4));
        await prometheus.WaitForResultAsync($"{Series} == 5", Wait);
        await sidecar.StopAsync();
        await sidecar.StartAsync();
        Assert.Null(await sidecar.ValueAsync("agent_tasks_total{"));
        await sidecar.PostEventsAsync(Tasks(3));
        await prometheus.WaitForResultAsync($"{Series} == 3", Wait);

        var samples = (await prometheus.QueryAsync($"{Series}[10m]"))[0].GetProperty("values").EnumerateArray()
            .Select(v => double.Parse(v[1].GetString()!, CultureInfo.InvariantCulture)).ToList();
        double increase = 0;
        for (var i = 1; i < samples.Count; i++)
        {
            increase += samples[i] >= samples[i - 1] ? samples[i] - samples[i - 1] : samples[i];
        }

        Assert.Equal(7, increase);
        Assert.Equal(1, Value((await prometheus.QueryAsync($"resets({Series}[10m])"))[0]));
        Assert.InRange(Value((await prometheus.QueryAsync($"increase({Series}[10m])"))[0]), 7, 7 * 1.5);
    }

    [Fact]
    public async Task Memory_stays_bounded_under_a_million_distinct_label_values()
    {
        // In a pod the container's memory limit caps the .NET heap; a 64 MiB heap limit stands in for it here. Without
        // a cap the collector lets the heap grow with the garbage rate (about 300 MiB here) though little of it survives;
        // the runtime itself takes about 70 MiB beside the heap.
        await using var sidecar = await SidecarProcess.StartAsync("flooded-0", new Dictionary<string, string> { ["DOTNET_GCHeapHardLimit"] = "0x4000000" });
        const int Requests = 100;
        const int PointsPerRequest = 10_000;
        for (var r = 0; r < Requests; r++)
        {
            var request = new ProtoBuilder().Message(1, rm => rm
                .Message(1, res => res.Attribute(1, "service.name", "flood"))
                .Message(2, sm => sm.Message(2, m => m.String(1, "requests.by.user").Message(7, sum =>
                {
                    for (var i = 0; i < PointsPerRequest; i++)
                    {
                        var user = $"user-{(r * PointsPerRequest) + i:D7}-{new string('x', 40)}";
                        sum.Message(1, p => p.Attribute(7, "user.id", user).Fixed64(2, 1).Fixed64(3, 2).Double(4, 1));
                    }

                    sum.Varint(2, 2).Varint(3, 1);
                })))).ToArray();
            using var response = await sidecar.PostAsync("/v1/metrics", request, "application/x-protobuf");
            Assert.Equal(200, (int)response.StatusCode);
        }

        Assert.Equal(1000, (await sidecar.ScrapeAsync()).Split('\n').Count(l => l.StartsWith("requests_by_user_total{", StringComparison.Ordinal)));
        Assert.Equal(999_000, await sidecar.ValueAsync("agent_metrics_sidecar_dropped_total{namespace=\"demo\",pod=\"flooded-0\",agent=\"support-agent\",agent_version=\"1.4.2\",reason=\"series_limit\"}"));
        var peak = sidecar.PeakResidentBytes();
        Assert.True(peak < 160 * 1024 * 1024, $"peak resident memory {peak / (1024 * 1024)} MiB is over the 160 MiB cap");
    }

    private static string Tasks(int count) =>
        "[" + string.Join(",", Enumerable.Repeat("""{"type":"task","outcome":"success","duration_seconds":1}""", count)) + "]";

    private static double Value(JsonElement sample) =>
        double.Parse(sample.GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
}
