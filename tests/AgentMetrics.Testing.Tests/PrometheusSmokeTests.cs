using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Xunit;

namespace AgentMetrics.Testing.Tests;

/// <summary>Proves Prometheus and Alertmanager are the real servers, talking to endpoints the test serves.</summary>
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
