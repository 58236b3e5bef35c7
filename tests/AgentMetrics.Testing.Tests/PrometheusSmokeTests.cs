using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Xunit;

namespace AgentMetrics.Testing.Tests;

/// <summary>Proves Prometheus, Alertmanager and VictoriaMetrics are the real servers, talking to endpoints the test serves.</summary>
public sealed class PrometheusSmokeTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task PrometheusScrapesATargetServedByTheTestAndAnswersAQuery()
    {
        await using var target = await LoopbackHttpServer.StartAsync(app => app.MapGet("/metrics", () => Results.Text(
            "# HELP smoke_answer An answer the test serves.\n# TYPE smoke_answer gauge\nsmoke_answer{kind=\"smoke\"} 42\n",
            "text/plain; version=0.0.4")));
        await using var prometheus = await PrometheusServer.StartAsync(ScrapeConfig(target.Url));

        var result = await prometheus.WaitForResultAsync("smoke_answer{kind=\"smoke\"}", Patience);

        var value = result[0].GetProperty("value")[1].GetString();
        Assert.Equal(42, double.Parse(value!, CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task VictoriaMetricsTakesImportedSamplesAndAnswersAPrometheusQueryAtOnce()
    {
        await using var victoria = await VictoriaMetricsServer.StartNewAsync();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

        using var imported = await http.PostAsync(
            new Uri(victoria.Url, "/api/v1/import/prometheus"), new StringContent("smoke_answer{kind=\"victoria\"} 42\n"));
        Assert.True(imported.IsSuccessStatusCode, $"import answered {(int)imported.StatusCode}");

        // With no latency offset a sample is queryable once the store has made it searchable (about a second).
        var value = 0.0;
        await Eventually.UntilAsync(
            async () =>
            {
                using var document = JsonDocument.Parse(await http.GetStringAsync(
                    new Uri(victoria.Url, $"/api/v1/query?query={Uri.EscapeDataString("smoke_answer{kind=\"victoria\"}")}")));
                var result = document.RootElement.GetProperty("data").GetProperty("result");
                value = result.GetArrayLength() == 0 ? 0 : double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
                return value != 0;
            },
            Patience,
            "the imported sample from VictoriaMetrics");
        Assert.Equal(42, value);
    }

    [Fact]
    public async Task PrometheusReloadsANewConfiguration()
    {
        await using var target = await LoopbackHttpServer.StartAsync(app => app.MapGet("/metrics", () => Results.Text(
            "smoke_reloaded 1\n", "text/plain; version=0.0.4")));
        await using var prometheus = await PrometheusServer.StartAsync("global:\n  scrape_interval: 1s\n");

        await prometheus.ReloadAsync(ScrapeConfig(target.Url));

        await prometheus.WaitForResultAsync("smoke_reloaded", Patience);
        await Assert.ThrowsAsync<InvalidOperationException>(() => prometheus.ReloadAsync("scrape_configs: [{]"));
    }

    [Fact]
    public async Task AnAlertPostedToAlertmanagerReachesTheWebhookReceiver()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var alertmanager = await AlertmanagerServer.StartAsync(receiver.Url);

        await alertmanager.PostAlertsAsync(
            """[{"labels": {"alertname": "SmokeAlert", "severity": "warning"}, "annotations": {"summary": "from the test"}}]""");

        var delivery = await receiver.WaitForAsync(
            d => d.GetProperty("status").GetString() == "firing"
                && d.GetProperty("alerts").EnumerateArray().Any(
                    a => a.GetProperty("labels").GetProperty("alertname").GetString() == "SmokeAlert"),
            Patience,
            "Alertmanager to deliver SmokeAlert");
        var alert = delivery.GetProperty("alerts")[0];
        Assert.Equal("from the test", alert.GetProperty("annotations").GetProperty("summary").GetString());
        Assert.Equal(JsonValueKind.String, delivery.GetProperty("groupKey").ValueKind);
    }

    private static string ScrapeConfig(Uri target) => $"""
        global:
          scrape_interval: 1s
        scrape_configs:
        - job_name: smoke
          static_configs:
          - targets: ['{target.Authority}']

        """;
}
