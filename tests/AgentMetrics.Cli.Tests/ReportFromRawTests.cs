using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using AgentMetrics.Rendering;
using AgentMetrics.Testing;
using Xunit;

namespace AgentMetrics.Cli.Tests;

/// <summary>
/// report over recorded series the operator's own hourly rules made: two days of raw series, scraped every
/// 30 minutes, the built-in hourly group backfilled over them by promtool (short, because promtool writes a
/// block per rule and per two hours), then a day against the day before. promtool evaluates the group at
/// its own offset within the hour, as Prometheus does, so a period's edges fall within an hour sample; the
/// agent works at one steady pace, which makes every hour's sample, and so each day's sum, exact.
/// </summary>
public sealed class ReportFromRawTests
{
    private static readonly DateTimeOffset End = ReportHistory.End;

    [Fact]
    public async Task TheHourlyRulesRecordWhatTheReportSums()
    {
        // Two hours more than the two days, so the first hour the report reads has raw samples on both sides.
        var start = End - TimeSpan.FromDays(2) - TimeSpan.FromHours(2);
        await using var prometheus = await PrometheusServer.StartWithHistoryAsync("global:\n  scrape_interval: 30m\n", Raw(start), "--storage.tsdb.retention.time=3650d");
        var work = ProcessRegistry.Current.CreateDirectory("report-raw");
        var blocks = Path.Combine(work, "blocks");
        Directory.CreateDirectory(blocks);
        var rules = Path.Combine(work, "rules.yaml");
        await File.WriteAllTextAsync(rules, RuleFile.Render([HourlyRules.Group()]));
        var backfill = await Command.TryRunAsync(
            Tools.Promtool,
            ["tsdb", "create-blocks-from", "rules", "--quiet", $"--url={prometheus.Url}", $"--output-dir={blocks}",
                $"--start={start.ToUnixTimeSeconds()}", $"--end={End.ToUnixTimeSeconds()}", rules],
            TimeSpan.FromMinutes(5));
        Assert.True(backfill.ExitCode == 0, backfill.Stderr + backfill.Stdout);
        await prometheus.StopAsync();
        foreach (var block in Directory.GetDirectories(blocks))
        {
            Directory.Move(block, Path.Combine(prometheus.Directory, "data", Path.GetFileName(block)));
        }

        await prometheus.StartAsync();

        var result = await Plugin.RunAsync(["report", "--prometheus", prometheus.Url.ToString(), "--since", "1d", "--at", ReportHistory.At, "-o", "json"]);

        Assert.True(result.ExitCode == 0, result.Stderr);
        var agent = JsonNode.Parse(result.Stdout)!["agents"]!.AsArray().Single()!;
        foreach (var side in new[] { "current", "baseline" })
        {
            // 2 successes and 1 failure every 30 minutes: 144 tasks a day, a third failed.
            Assert.Equal(144, (double)agent[side]!["tasks"]!, 6);
            Assert.Equal(1.0 / 3, (double)agent[side]!["error_ratio"]!, 9);
            // Every task took 0.4-0.8 s: p99 is 99% of the way into that bucket.
            Assert.Equal(0.796, (double)agent[side]!["p99_seconds"]!, 9);
        }

        Assert.Equal("steady", (string?)agent["verdict"]);
    }

    // One agent at a steady pace: every 30 minutes 2 successes and 1 failure, each in the 0.4-0.8 s bucket.
    private static string Raw(DateTimeOffset start)
    {
        var steps = (int)((End - start) / TimeSpan.FromMinutes(30));
        var text = new StringBuilder();
        void Series(string name, string labels, double perStep)
        {
            for (var k = 0; k <= steps; k++)
            {
                var time = (start + (k * TimeSpan.FromMinutes(30))).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
                text.Append(CultureInfo.InvariantCulture, $"{name}{{namespace=\"support\",pod=\"a-0\",agent=\"a\",agent_version=\"v1\"{labels}}} {k * perStep} {time}\n");
            }
        }

        text.Append("# TYPE agent_tasks counter\n");
        Series("agent_tasks_total", ",outcome=\"success\"", 2);
        Series("agent_tasks_total", ",outcome=\"failure\"", 1);
        text.Append("# TYPE agent_task_duration_seconds histogram\n");
        Series("agent_task_duration_seconds_bucket", ",le=\"0.4\"", 0);
        Series("agent_task_duration_seconds_bucket", ",le=\"0.8\"", 3);
        Series("agent_task_duration_seconds_bucket", ",le=\"+Inf\"", 3);
        Series("agent_task_duration_seconds_count", "", 3);
        return text.Append("# EOF\n").ToString();
    }
}
