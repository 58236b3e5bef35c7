using System.Text.Json;
using System.Text.Json.Nodes;
using AgentMetrics.Testing;
using Xunit;

namespace AgentMetrics.Rendering.Tests;

/// <summary>
/// The dashboards as Grafana's own packages see them: tsc checks each against @grafana/schema's
/// Dashboard type and @prometheus-io/lezer-promql parses every expression (tests/peers/js/check-dashboards.mjs);
/// and each dashboard's JSON is a golden file, so a change to one shows in review.
/// </summary>
public sealed class DashboardSchemaTests
{
    private const string GoldenFolder = "tests/AgentMetrics.Rendering.Tests/golden/dashboards";
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    [Fact]
    public async Task EveryDashboardSatisfiesGrafanasSchemaAndEveryExpressionParses()
    {
        var dashboards = Dashboards.All(Samples.Definitions());

        var (exitCode, output) = await CheckAsync(dashboards);

        Assert.True(exitCode == 0, output);
        Assert.Contains($"checked {dashboards.Count} dashboards and ", output, StringComparison.Ordinal);
        Assert.EndsWith(": 0 problems", output.TrimEnd(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheCheckRefusesAFieldOfTheWrongTypeAndAnUnknownOne()
    {
        var fleet = Dashboards.FleetOverview();
        fleet["graphTooltip"] = "shared";
        fleet["panels"]![0]!["gridPos"]!["w"] = "wide";
        fleet["panels"]![1]!["tittle"] = "a misspelt title";

        var (exitCode, output) = await CheckAsync([fleet]);

        Assert.True(exitCode == 1, output);
        Assert.Contains("agent-metrics-fleet: schema: ", output, StringComparison.Ordinal);
        Assert.Contains("(at \"graphTooltip\": \"shared\",)", output, StringComparison.Ordinal);
        Assert.Contains("(at \"w\": \"wide\",)", output, StringComparison.Ordinal);
        Assert.Contains("'\"tittle\"' does not exist in type", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheCheckRefusesAnExpressionThatDoesNotParseNamingItsDashboardPanelAndExpression()
    {
        var detail = Dashboards.AgentDetail();
        var panel = detail["panels"]![1]!;
        const string Broken = "sum(rate(agent_tasks_total{agent=\"$agent\"}[$__rate_interval])";
        panel["targets"]![0]!["expr"] = Broken;
        var unknown = detail["panels"]![2]!;
        unknown["targets"]![0]!["expr"] = "sum(agent_tasks_in_flight{agent=\"$nosuchvariable\"})";

        var (exitCode, output) = await CheckAsync([detail]);

        Assert.True(exitCode == 1, output);
        Assert.Contains($"agent-metrics-agent: panel \"{panel["title"]}\" A: PromQL parse error at character ", output, StringComparison.Ordinal);
        Assert.Contains($": {Broken}\n", output, StringComparison.Ordinal);
        Assert.Contains($"agent-metrics-agent: panel \"{unknown["title"]}\" A: undefined variable $nosuchvariable", output, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryDashboardMatchesItsGoldenFile()
    {
        var dashboards = Dashboards.All(Samples.Definitions());

        foreach (var dashboard in dashboards)
        {
            Golden.AssertMatches($"{GoldenFolder}/{dashboard["uid"]}.json", Json(dashboard));
        }

        // A dashboard no longer rendered leaves no golden file behind.
        var files = Directory.GetFiles(RepoPaths.Combine(GoldenFolder.Split('/')), "*.json").Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal);
        Assert.Equal(dashboards.Select(d => (string)d["uid"]!).Order(StringComparer.Ordinal), files);
    }

    private static string Json(JsonObject dashboard) => dashboard.ToJsonString(Indented) + "\n";

    private static async Task<(int ExitCode, string Output)> CheckAsync(IEnumerable<JsonObject> dashboards)
    {
        var directory = ProcessRegistry.Current.CreateDirectory("dashboard-schema");
        foreach (var dashboard in dashboards)
        {
            await File.WriteAllTextAsync(Path.Combine(directory, $"{dashboard["uid"]}.json"), Json(dashboard));
        }

        var (exitCode, output, errors) = await JsPeers.RunAsync("check-dashboards.mjs", TimeSpan.FromMinutes(3), directory);
        return (exitCode, output + errors);
    }
}
