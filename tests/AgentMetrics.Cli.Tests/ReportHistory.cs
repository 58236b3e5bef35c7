using System.Globalization;
using System.Text;
using AgentMetrics.Api.Catalog;
using AgentMetrics.Rendering;
using AgentMetrics.Testing;
using Xunit;

namespace AgentMetrics.Cli.Tests;

/// <summary>How one agent version worked through one 30-day period: its tasks and what each task was like.</summary>
internal sealed record PeriodSpec(double Tasks, double ErrorShare, (double Upper, double Share)[] Durations, double CostPerTask, double EscalationsPerTask = 0.01)
{
    /// <summary>50% of tasks take 0.4-0.8 s, 49% 0.8-1.6 s, 1% 1.6-3.2 s: p50 is 0.8 s and p99 1.6 s, exactly.</summary>
    public static readonly (double, double)[] Fast = [(0.8, 0.5), (1.6, 0.49), (3.2, 0.01)];

    /// <summary>50% 0.4-0.8 s, 48% 0.8-1.6 s, 2% 3.2-6.4 s: p50 0.8 s, p99 4.8 s (halfway into the 3.2-6.4 bucket).</summary>
    public static readonly (double, double)[] Slow = [(0.8, 0.5), (1.6, 0.48), (6.4, 0.02)];

    /// <summary>Input tokens per task; output tokens are a fifth of that.</summary>
    public const double InputTokensPerTask = 1000;

    /// <summary>Hand-offs per task.</summary>
    public const double HandoffsPerTask = 0.05;
}

/// <summary>One agent version's history: the previous 30 days, then the current 30 days (null: not running then).</summary>
internal sealed record AgentHistory(string Namespace, string Agent, string Version, PeriodSpec? Previous, PeriodSpec? Current);

/// <summary>
/// Sixty days of a small fleet whose answers are known, backfilled into a real Prometheus as the operator's
/// hourly rules (<see cref="HourlyRules"/>) record it: one sample an hour per series, each the hour's increase,
/// each period's tasks spread evenly. The series are written here rather than evaluated by
/// <c>promtool tsdb create-blocks-from rules</c> over raw history, which writes a block per rule and per
/// two hours (60 days took over five minutes); that the rules record exactly these increases from the raw
/// series, and that an hour's samples tile time, is the promtool unit test hourly-increases.test.yaml.
/// </summary>
public sealed class ReportHistory : IAsyncLifetime
{
    /// <summary>The end of the history, and of the reports' current period.</summary>
    public static readonly DateTimeOffset End = new(2026, 11, 30, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The length of each period.</summary>
    public static readonly TimeSpan Period = TimeSpan.FromDays(30);

    internal static readonly AgentHistory[] Fleet =
    [
        // Worse in every judged way: error rate 1% to 5%, p99 1.6 s to 4.8 s, cost per task $0.02 to $0.03.
        new("support", "triage", "v1", new(1000, 0.01, PeriodSpec.Fast, 0.02), new(1200, 0.05, PeriodSpec.Slow, 0.03, EscalationsPerTask: 0.02)),
        // v2 rolled out beside v1 in the current period, and is slower: together p99 goes 1.6 s to 2.4 s.
        new("support", "refunds", "v1", new(1000, 0.02, PeriodSpec.Fast, 0.05), new(600, 0.02, PeriodSpec.Fast, 0.05)),
        new("support", "refunds", "v2", null, new(300, 0.02, PeriodSpec.Slow, 0.05)),
        // Better: error rate 2% to 1%.
        new("support", "billing", "v1", new(800, 0.02, PeriodSpec.Fast, 0.01), new(800, 0.01, PeriodSpec.Fast, 0.01)),
        new("support", "search", "v1", new(500, 0.02, PeriodSpec.Fast, 0.01), new(500, 0.02, PeriodSpec.Fast, 0.01)),
        new("support", "notes", "v1", new(400, 0.02, PeriodSpec.Fast, 0.01), new(400, 0.02, PeriodSpec.Fast, 0.01)),
        // Twice the tasks, each as before: volume is shown, not judged, so this is steady.
        new("sales", "quotes", "v3", new(300, 0.02, PeriodSpec.Fast, 0.01), new(600, 0.02, PeriodSpec.Fast, 0.01)),
    ];

    private PrometheusServer? _prometheus;

    /// <summary>The Prometheus holding the history.</summary>
    public PrometheusServer Prometheus => _prometheus ?? throw new InvalidOperationException("the history is not loaded");

    /// <summary>The end as unix seconds, for --at.</summary>
    public static string At => End.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        _prometheus = await PrometheusServer.StartAsync("global:\n  scrape_interval: 1h\n", "--storage.tsdb.retention.time=3650d");
        var work = ProcessRegistry.Current.CreateDirectory("report-history");
        var history = Path.Combine(work, "history.om");
        await File.WriteAllTextAsync(history, OpenMetrics());

        // promtool reads its input once per block it writes, so blocks of a month rather than the default 2h
        // keep the import to seconds; no head overlaps them, as nothing is scraped.
        var blocks = Path.Combine(work, "blocks");
        Directory.CreateDirectory(blocks);
        var result = await Command.TryRunAsync(
            Tools.Promtool, ["tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=744h", history, blocks], TimeSpan.FromMinutes(5));
        Assert.True(result.ExitCode == 0, $"promtool could not write the blocks: {result.Stderr}{result.Stdout}");

        // Prometheus takes in blocks moved into its data folder when it starts.
        await _prometheus.StopAsync();
        foreach (var block in Directory.GetDirectories(blocks))
        {
            Directory.Move(block, Path.Combine(_prometheus.Directory, "data", Path.GetFileName(block)));
        }

        await _prometheus.StartAsync();
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_prometheus is not null)
        {
            await _prometheus.DisposeAsync();
        }
    }

    /// <summary>The fleet's hourly recorded series over both periods, as OpenMetrics with timestamps.</summary>
    internal static string OpenMetrics()
    {
        var start = End - 2 * Period;
        var hours = (int)(2 * Period / TimeSpan.FromHours(1));
        var perPeriod = hours / 2;
        var text = new StringBuilder();
        void Family(HourlySeries recorded, IEnumerable<(string Labels, Func<PeriodSpec, double> PerTask)> series)
        {
            text.Append(CultureInfo.InvariantCulture, $"# TYPE {recorded.Record} gauge\n");
            foreach (var agent in Fleet)
            {
                foreach (var (labels, perTask) in series)
                {
                    var identity = $"namespace=\"{agent.Namespace}\",agent=\"{agent.Agent}\",agent_version=\"{agent.Version}\"";
                    var all = labels.Length == 0 ? identity : $"{identity},{labels}";
                    // Sample h is the increase over the hour before it; a version not running in a period has no samples there.
                    for (var h = 1; h <= hours; h++)
                    {
                        if ((h <= perPeriod ? agent.Previous : agent.Current) is { } spec)
                        {
                            var time = (start + TimeSpan.FromHours(h)).ToUnixTimeSeconds();
                            text.Append(CultureInfo.InvariantCulture, $"{recorded.Record}{{{all}}} {PromQl.Number(spec.Tasks / perPeriod * perTask(spec))} {time}\n");
                        }
                    }
                }
            }
        }

        Family(HourlyRules.Tasks, [("outcome=\"success\"", p => 1 - p.ErrorShare), ("outcome=\"failure\"", p => p.ErrorShare)]);
        Family(HourlyRules.DurationBuckets,
        [
            .. BuiltInMetrics.TaskDuration.Buckets!.Append(double.PositiveInfinity).Select(le => (
                $"le=\"{(double.IsPositiveInfinity(le) ? "+Inf" : PromQl.Number(le))}\"",
                (Func<PeriodSpec, double>)(p => p.Durations.Where(d => d.Upper <= le).Sum(d => d.Share)))),
        ]);
        Family(HourlyRules.CostSum, [("", p => p.CostPerTask)]);
        Family(HourlyRules.CostCount, [("", _ => 1)]);
        Family(HourlyRules.Tokens,
        [
            ("gen_ai_token_type=\"input\"", _ => PeriodSpec.InputTokensPerTask),
            ("gen_ai_token_type=\"output\"", _ => PeriodSpec.InputTokensPerTask / 5),
        ]);
        Family(HourlyRules.Escalations, [("", p => p.EscalationsPerTask)]);
        Family(HourlyRules.Handoffs, [("", _ => PeriodSpec.HandoffsPerTask)]);
        return text.Append("# EOF\n").ToString();
    }
}
