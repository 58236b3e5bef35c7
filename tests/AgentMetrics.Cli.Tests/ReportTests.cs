using System.Text.Json.Nodes;
using AgentMetrics.Testing;
using Xunit;

namespace AgentMetrics.Cli.Tests;

/// <summary>
/// report, run as the built program against a real Prometheus holding sixty days of a fleet whose answers
/// are known (<see cref="ReportHistory"/>) and the operator's hourly recorded series over them: exact figures,
/// the ranking, the anomalies, the four formats, versions compared, and bad flags refused.
/// </summary>
public sealed class ReportTests(ReportHistory history) : IClassFixture<ReportHistory>
{
    // The history's end is the report's, unless the test names its own --at.
    private Task<KubectlResult> Report(params string[] arguments) =>
        Plugin.RunAsync(["report", "--prometheus", history.Prometheus.Url.ToString(), .. arguments.Contains("--at") ? [] : new[] { "--at", ReportHistory.At }, .. arguments]);

    private async Task<JsonObject> Json(params string[] arguments)
    {
        var result = await Report([.. arguments, "--output", "json"]);
        Assert.True(result.ExitCode == 0, result.Stderr);
        return JsonNode.Parse(result.Stdout)!.AsObject();
    }

    private static JsonObject Row(JsonObject report, string list, string agent) =>
        report[list]!.AsArray().Single(r => (string?)r!["agent"] == agent)!.AsObject();

    [Fact]
    public async Task ThirtyDaysAgainstThePreviousThirtyGiveTheKnownFigures()
    {
        var report = await Json("--since", "30d", "--compare", "previous");

        Assert.Equal("2026-10-31T00:00:00Z", (string?)report["current"]!["start"]);
        Assert.Equal("2026-10-01T00:00:00Z", (string?)report["baseline"]!["start"]);
        Assert.Equal("2026-10-31T00:00:00Z", (string?)report["baseline"]!["end"]);
        var triage = Row(report, "agents", "triage");
        AssertFigures(triage["current"]!, tasks: 1200, completion: 0.95, errors: 0.05, p50: 0.8, p99: 4.8, costPerTask: 0.03, cost: 36, tokens: 1_440_000, escalations: 24, handoffs: 60);
        AssertFigures(triage["baseline"]!, tasks: 1000, completion: 0.99, errors: 0.01, p50: 0.8, p99: 1.6, costPerTask: 0.02, cost: 20, tokens: 1_200_000, escalations: 10, handoffs: 50);
        Assert.Equal(4.0, (double)triage["change"]!["error_ratio"]!, 9);
        Assert.Equal(0.2, (double)triage["change"]!["tasks"]!, 9);
        Assert.Equal("regression", (string?)triage["verdict"]);
        Assert.Equal("error_ratio", (string?)triage["ranked_by"]);

        // refunds: v1 and v2 together, p99 from their summed buckets (not an average of the two p99s).
        var refunds = Row(report, "agents", "refunds");
        AssertFigures(refunds["current"]!, tasks: 900, completion: 0.98, errors: 0.02, p50: 0.8, p99: 2.4, costPerTask: 0.05, cost: 45, tokens: 1_080_000, escalations: 9, handoffs: 45);
        Assert.Equal("p99_seconds", (string?)refunds["ranked_by"]);

        var support = report["namespaces"]!.AsArray().Single(r => (string?)r!["namespace"] == "support")!;
        Assert.Equal(3800, (double)support["current"]!["tasks"]!, 6);
        Assert.Equal(3700, (double)support["baseline"]!["tasks"]!, 6);
        Assert.Equal((1200 * 0.05 + 900 * 0.02 + 800 * 0.01 + 500 * 0.02 + 400 * 0.02) / 3800, (double)support["current"]!["error_ratio"]!, 9);
    }

    [Fact]
    public async Task RegressionsComeFirstLargestFirstThenImprovementsThenTheSteady()
    {
        var report = await Json();

        Assert.Equal(["triage", "refunds", "billing", "quotes", "search", "notes"], report["agents"]!.AsArray().Select(r => (string?)r!["agent"]));
        Assert.Equal(
            ["regression", "regression", "improvement", "steady", "steady", "steady"],
            report["agents"]!.AsArray().Select(r => (string?)r!["verdict"]));
        Assert.Equal(["support", "sales"], report["namespaces"]!.AsArray().Select(r => (string?)r!["namespace"]));
    }

    [Fact]
    public async Task AnAgentWhoseChangeIsFarBeyondItsFleetsIsAnAnomaly()
    {
        var report = await Json();

        var triage = Row(report, "agents", "triage")["anomalies"]!.AsArray();
        var errors = triage.Single(a => (string?)a!["column"] == "error_ratio")!;
        Assert.Equal("worse than the fleet", (string?)errors["direction"]);
        // The fleet's other changes in error rate are 0, 0, 0 and -50%: median 0, spread at its floor of 0.1.
        Assert.Equal(40, (double)errors["zscore"]!, 6);
        Assert.Contains(Row(report, "agents", "billing")["anomalies"]!.AsArray(), a => (string?)a!["column"] == "error_ratio" && (string?)a["direction"] == "better than the fleet");
        Assert.Empty(Row(report, "agents", "search")["anomalies"]!.AsArray());
        Assert.Empty(Row(report, "agents", "notes")["anomalies"]!.AsArray());
        // sales has one agent: no fleet to stand out from.
        Assert.Empty(Row(report, "agents", "quotes")["anomalies"]!.AsArray());
    }

    [Fact]
    public async Task WeekOverWeekComparesTheLastSevenDaysWithTheSevenBefore()
    {
        var report = await Json("--since", "7d", "--compare", "week-over-week", "--namespace", "support");

        Assert.Equal("2026-11-16T00:00:00Z", (string?)report["baseline"]!["start"]);
        Assert.Equal("2026-11-23T00:00:00Z", (string?)report["baseline"]!["end"]);
        // Both weeks lie in the current period, whose tasks are spread evenly: 1200 in 30 days is 280 a week.
        var triage = Row(report, "agents", "triage");
        Assert.Equal(280, (double)triage["current"]!["tasks"]!, 6);
        Assert.Equal(280, (double)triage["baseline"]!["tasks"]!, 6);
        Assert.All(report["agents"]!.AsArray(), r => Assert.Equal("steady", (string?)r!["verdict"]));
        Assert.DoesNotContain(report["agents"]!.AsArray(), r => (string?)r!["namespace"] == "sales");
    }

    [Fact]
    public async Task ByAgentVersionComparesEachVersionWithTheOneThatServedMostTasks()
    {
        var report = await Json("--by", "agent_version");

        var version = Assert.Single(report["versions"]!.AsArray())!;
        Assert.Equal("refunds", (string?)version["agent"]);
        Assert.Equal("v2", (string?)version["agent_version"]);
        Assert.Equal("v1", (string?)version["baseline_version"]);
        Assert.Equal(300, (double)version["current"]!["tasks"]!, 6);
        Assert.Equal(600, (double)version["baseline"]!["tasks"]!, 6);
        Assert.Equal(4.8, (double)version["current"]!["p99_seconds"]!, 9);
        Assert.Equal(1.6, (double)version["baseline"]!["p99_seconds"]!, 9);
        Assert.Equal("regression", (string?)version["verdict"]);
        var anomaly = Assert.Single(version["anomalies"]!.AsArray())!;
        Assert.Equal("p99_seconds", (string?)anomaly["column"]);
        Assert.Equal(2.0, (double)anomaly["change"]!, 9);
    }

    [Fact]
    public async Task TheTableMarkdownAndCsvShowTheSameRowsInTheSameOrder()
    {
        var table = await Report();
        Assert.True(table.ExitCode == 0, table.Stderr);
        var lines = table.Stdout.Split('\n');
        Assert.StartsWith("30d, 2026-10-31T00:00:00Z to 2026-11-30T00:00:00Z, against 2026-10-01T00:00:00Z to 2026-10-31T00:00:00Z (previous)", lines[0], StringComparison.Ordinal);
        var agents = Array.IndexOf(lines, "Agents:");
        Assert.Matches(@"^NAMESPACE\s+AGENT\s+TASKS\s+COMPLETED\s+ERRORS\s+P50\s+P99\s+COST/TASK\s+COST\s+TOKENS\s+ESCALATIONS\s+HANDOFFS\s+VERDICT\s+ANOMALIES$", lines[agents + 1]);
        Assert.Matches(@"^support\s+triage\s+1200 \(\+20%\)\s+95\.0% \(-4\.0pp\)\s+5\.0% \(\+4\.0pp\)\s+0\.8s \(\+0%\)\s+4\.8s \(\+200%\)\s+\$0\.03 \(\+50%\)", lines[agents + 2]);
        Assert.Contains("regression: error_ratio +400%", lines[agents + 2], StringComparison.Ordinal);
        // refunds' error rate is 2% in both periods, whatever the float sums say.
        Assert.Matches(@"^support\s+refunds\s+900 \(-10%\)\s+98\.0% \(\+0\.0pp\)\s+2\.0% \(\+0\.0pp\)", lines[agents + 3]);

        var markdown = await Report("--output", "markdown");
        Assert.True(markdown.ExitCode == 0, markdown.Stderr);
        var md = markdown.Stdout.Split('\n');
        var heading = Array.IndexOf(md, "### Agents");
        Assert.Equal("| namespace | agent | tasks | completed | errors | p50 | p99 | cost/task | cost | tokens | escalations | handoffs | verdict | anomalies |", md[heading + 2]);
        Assert.Equal("| --- | --- |" + string.Concat(Enumerable.Repeat(" ---: |", 10)) + " --- | --- |", md[heading + 3]);
        Assert.StartsWith("| support | triage | 1200 (+20%) |", md[heading + 4], StringComparison.Ordinal);

        var csv = await Report("--output", "csv");
        Assert.True(csv.ExitCode == 0, csv.Stderr);
        var rows = csv.Stdout.TrimEnd('\n').Split('\n');
        var header = rows[0].Split(',');
        Assert.Equal(["level", "namespace", "agent", "agent_version", "baseline_version", "tasks", "tasks_baseline", "tasks_change"], header[..8]);
        Assert.Equal(["verdict", "anomalies"], header[^2..]);
        Assert.Equal(2 + 6 + 1, rows.Length);
        Assert.StartsWith("namespace,support,,,,3800,3700,", rows[1], StringComparison.Ordinal);
        Assert.StartsWith("agent,support,triage,,,1200,1000,0.2,0.95,0.99,", rows[3], StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheAgentFilterKeepsOneAgentAndItsNamespaceTotalsOnlyOfIt()
    {
        var report = await Json("--agent", "search");

        Assert.Equal("search", (string?)Assert.Single(report["agents"]!.AsArray())!["agent"]);
        Assert.Equal(500, (double)Assert.Single(report["namespaces"]!.AsArray())!["current"]!["tasks"]!, 6);
    }

    [Theory]
    [InlineData("--since", "30x", "--since: 30x is not a Prometheus duration")]
    [InlineData("--since", "99999999y", "--since: 99999999y is not a Prometheus duration")]
    [InlineData("--since", "30m", "--since: 30m is not a Prometheus duration of at least 1h")]
    [InlineData("--compare", "yesterday", "--compare: yesterday is neither previous nor week-over-week")]
    [InlineData("--by", "pod", "--by: pod is not agent_version")]
    [InlineData("--output", "yaml", "--output: yaml is not one of table, markdown, csv, json")]
    [InlineData("--at", "yesterday", "--at: yesterday is neither an RFC 3339 time")]
    [InlineData("--at", "2026-11-30T00:00:00", "--at: 2026-11-30T00:00:00 is neither an RFC 3339 time")]
    public async Task ABadFlagExitsWithTwoNamingTheFlagAndTheRule(string flag, string value, string message)
    {
        var result = await Report(flag, value);

        Assert.Equal(2, result.ExitCode);
        Assert.Empty(result.Stdout);
        Assert.StartsWith($"kubectl-agentmetrics: {message}", result.Stderr, StringComparison.Ordinal);
        Assert.Single(result.Stderr.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task TheHelpListsReport()
    {
        var result = await Plugin.RunAsync(["--help"]);

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Matches(@"\n  report +Compare each namespace and agent over a period", result.Stdout);
    }

    [Fact]
    public async Task WeekOverWeekRefusesAPeriodLongerThanAWeek()
    {
        var result = await Report("--since", "30d", "--compare", "week-over-week");

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("kubectl-agentmetrics: --since: 30d is longer than 7d", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ABadPrometheusUrlIsBadUsage()
    {
        var result = await Plugin.RunAsync(["report", "--prometheus", "localhost:9090", "--since", "7d"]);

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("kubectl-agentmetrics: --prometheus must be an http or https URL", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task APrometheusNobodyAnswersAtExitsWithThreeAndNoStackTrace()
    {
        var result = await Plugin.RunAsync(["report", "--prometheus", $"http://127.0.0.1:{LoopbackPorts.Next()}", "--at", ReportHistory.At]);

        Assert.Equal(3, result.ExitCode);
        Assert.StartsWith("kubectl-agentmetrics: cannot reach Prometheus at http://127.0.0.1:", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AQueryPrometheusRefusesExitsWithThreeAndItsReason()
    {
        // A period longer than Prometheus can hold in one range selector is refused by Prometheus itself.
        var result = await Report("--since", "1000y");

        Assert.Equal(3, result.ExitCode);
        Assert.StartsWith("kubectl-agentmetrics: Prometheus at ", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("refused the query", result.Stderr, StringComparison.Ordinal);
    }

    private static void AssertFigures(
        JsonNode figures, double tasks, double completion, double errors, double p50, double p99, double costPerTask, double cost, double tokens, double escalations, double handoffs)
    {
        Assert.Equal(tasks, (double)figures["tasks"]!, 6);
        Assert.Equal(completion, (double)figures["completion_ratio"]!, 9);
        Assert.Equal(errors, (double)figures["error_ratio"]!, 9);
        Assert.Equal(p50, (double)figures["p50_seconds"]!, 9);
        Assert.Equal(p99, (double)figures["p99_seconds"]!, 9);
        Assert.Equal(costPerTask, (double)figures["cost_per_task_dollars"]!, 9);
        Assert.Equal(cost, (double)figures["cost_dollars"]!, 6);
        Assert.Equal(tokens, (double)figures["tokens"]!, 3);
        Assert.Equal(escalations, (double)figures["escalations"]!, 6);
        Assert.Equal(handoffs, (double)figures["handoffs"]!, 6);
    }
}
